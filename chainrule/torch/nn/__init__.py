"""``torch.nn`` on chainrule: PyTorch's layer names and layouts (channels-first images,
``batch_first`` sequences) over the primitives of :mod:`chainrule.nn`.

Each family adds its names here with one import line.
"""
__all__ = []

from chainrule.torch.nn.recurrent import RNN, LSTM, GRU  # noqa: E402  (recurrent family)

__all__ += ["RNN", "LSTM", "GRU"]
