"""``keras.constraints`` on chainrule: the projections applied to a weight after each optimizer
update, as :mod:`chainrule.nn.constraints` computes them (Keras 3's formulas, epsilon 1e-7):
``MaxNorm``/``max_norm``, ``MinMaxNorm``/``min_max_norm``, ``UnitNorm``/``unit_norm``,
``NonNeg``/``non_neg``, and ``get``/``serialize``.  A layer takes them as in Keras
(``Dense(64, kernel_constraint=constraints.MaxNorm(3))``).
"""
from chainrule.nn.constraints import (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm, get, max_norm,
                                      min_max_norm, non_neg, serialize, unit_norm)

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg",
           "unit_norm", "get", "serialize"]
