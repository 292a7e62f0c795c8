"""``keras.preprocessing.sequence`` on chainrule: ``pad_sequences`` (the same function as ``keras.utils``')."""
from chainrule.keras.utils import pad_sequences

__all__ = ["pad_sequences"]
