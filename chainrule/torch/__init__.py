"""PyTorch's names over chainrule: ``import chainrule.torch as torch``.

The front door of a PyTorch program (the issue titled "The notes' Keras and PyTorch
programs run with their imports changed"): the same classes as :mod:`chainrule.nn`,
under PyTorch's names and with PyTorch's semantics, never copies.
"""
from chainrule.torch import nn  # noqa: F401

__all__ = ["nn"]
