"""``torch.nn`` on chainrule: PyTorch's layer names and layouts (channels-first images,
``batch_first`` sequences) over the primitives of :mod:`chainrule.nn`.

Each family adds its names here with one import line.
"""
__all__ = []
