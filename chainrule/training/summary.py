"""``model.summary()``: a table of layers, output shapes and parameter counts, as Keras prints it.

Each row names a layer as Keras does (its ``name``, e.g. ``dense_1``, and its class); a functional
model with branches gets Keras' "Connected to" column, the layers each one reads.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chainrule.nn.module import Module

__all__ = ["summary"]


def _rows(model):
    rows_of = getattr(model, "_summary_rows", None)
    rows = rows_of() if rows_of is not None else None
    if rows is not None:
        return rows
    rows = []
    layers = list(model._modules.items()) if model._modules else [(type(model).__name__, model)]
    for key, layer in layers:
        name = getattr(layer, "name", None) or key
        out = getattr(layer, "output_shape", None)
        try:  # weights and buffers (BatchNormalization's moving statistics), as Keras counts them
            count = (sum(p.data.size for p in layer.parameters())
                     + sum(np.size(b) for _, b in layer.named_buffers()))
        except ValueError:
            count = None
        rows.append((f"{name} ({type(layer).__name__})", "?" if out is None else str(out if isinstance(out, list)
                                                                                    else tuple(out)),
                     "?" if count is None else f"{count:,}", None))
    return rows


def summary(model: Module, print_fn: Callable[[str], Any] | None = print) -> str:
    """Print and return a table of layers, output shapes and parameter counts (like Keras')."""
    rows = _rows(model)
    connected = any(r[3] is not None for r in rows)
    head = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected else ())
    cells = [tuple(r[:3]) + ((r[3] or "",) if connected else ()) for r in rows]
    widths = [max(len(r[i]) for r in cells + [head]) + 2 for i in range(len(head))]
    line = "".join(h.ljust(wd) for h, wd in zip(head, widths))
    rule = "=" * len(line)
    out = [f'Model: "{getattr(model, "name", None) or type(model).__name__}"', rule, line, rule]
    out += ["".join(c.ljust(wd) for c, wd in zip(r, widths)).rstrip() for r in cells]
    out.append(rule)
    try:
        params = list(model.parameters())
        trainable = sum(p.data.size for p in params if p.requires_grad)
        frozen = (sum(p.data.size for p in params if not p.requires_grad)
                  + sum(np.size(b) for _, b in model.named_buffers()))
        out.append(f"Total params: {trainable + frozen:,}")
        out.append(f"Trainable params: {trainable:,}")
        out.append(f"Non-trainable params: {frozen:,}")
    except ValueError:
        out.append("Total params: ? (not built: give input_dim or call the model once)")
    out.append("_" * len(line))
    text = "\n".join(out)
    if print_fn is not None:
        print_fn(text)
    return text
