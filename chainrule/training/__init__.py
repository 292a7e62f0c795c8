"""Keras-style training on any Module: the Trainer (compile, fit, evaluate, predict, summary,
one overridable ``train_step``), callbacks and History.

:class:`chainrule.nn.Module` is a :class:`Trainer`; the functions here are the same methods
called as ``training.fit(model, X, y, ...)``.
"""
from chainrule.training.callbacks import (History, Callback, EarlyStopping, ModelCheckpoint, LearningRateScheduler,
                                          TerminateOnNaN, ReduceLROnPlateau, CSVLogger)
from chainrule.training.summary import summary
from chainrule.training.trainer import Trainer, DivergenceWarning, compile, fit, evaluate, predict

__all__ = ["Trainer", "DivergenceWarning", "compile", "fit", "evaluate", "predict", "summary", "History", "Callback",
           "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "TerminateOnNaN", "ReduceLROnPlateau",
           "CSVLogger"]
