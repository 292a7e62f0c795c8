"""``keras.models`` on chainrule: ``Sequential``, ``Model`` (functional and subclassed), ``load_model``.

``Sequential`` and ``Model`` are :class:`chainrule.nn.Sequential` and :class:`chainrule.nn.Model`;
``model.save(path)`` writes chainrule's safe ``.npz`` format (architecture as JSON, weights,
optimizer state; nothing is pickled) whatever the extension, and ``load_model`` reads it back.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chainrule._unsupported import missing
from chainrule.io import load_model as _load_model, save_model as _save_model
from chainrule.nn.graph import Model
from chainrule.nn.module import Module
from chainrule.nn.sequential import Sequential

if TYPE_CHECKING:
    from chainrule._typing import PathLike

__all__ = ["Model", "Sequential", "load_model", "save_model"]


def load_model(filepath: PathLike, custom_objects: Mapping[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Module:  # noqa: A002 (Keras' name)
    """Rebuild a model saved by ``model.save(filepath)`` (chainrule's ``.npz`` format).

    ``custom_objects`` is not needed for chainrule's own layers; a custom Layer or Model class is
    found by name once its module is imported.  Files written by Keras itself (``.keras``, ``.h5``)
    cannot be read.
    """
    if custom_objects:
        from chainrule.io import register_serializable
        for obj in custom_objects.values():
            if isinstance(obj, type):
                register_serializable(obj)
    return _load_model(filepath, compile=compile)


def save_model(model: Module, filepath: PathLike, overwrite: bool = True, **kwargs: Any) -> str:
    """``model.save(filepath)`` as a function."""
    if kwargs:
        raise TypeError(f"save_model: unexpected keyword arguments {sorted(kwargs)}")
    return _save_model(model, filepath)


__getattr__ = missing(__name__, "keras.models", {
    "clone_model": "rebuild the model from its config: type(m).from_config(m.get_config())",
    "model_from_json": "chainrule saves models with model.save(path) and reads them with load_model(path)",
})
