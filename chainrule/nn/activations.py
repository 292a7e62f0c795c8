"""Activation functions by name, as the layers and ``compile()`` accept them.

The table itself is :mod:`chainrule.ops.activations` (each activation is defined once, beside
its primitive in chainrule/ops/elementwise.py); this module is its name in ``chainrule.nn``.

>>> get('relu') is ops.relu
True
"""
from __future__ import annotations

from chainrule import ops
from chainrule.ops.activations import NAMES, fusable, get, name_of, spec

__all__ = ["NAMES", "get", "name_of", "spec", "fusable"]
