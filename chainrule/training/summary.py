"""``model.summary()``: a table of layers, output shapes and parameter counts, as Keras prints it."""
from __future__ import annotations

import numpy as np

__all__ = ["summary"]


def summary(model, print_fn=print):
    """Print and return a table of layers, output shapes and parameter counts (like Keras')."""
    rows = []
    layers = list(model._modules.items()) if model._modules else [(type(model).__name__, model)]
    for name, layer in layers:
        out = getattr(layer, "output_shape", None)
        try:  # weights and buffers (BatchNormalization's moving statistics), as Keras counts them
            count = (sum(p.data.size for p in layer.parameters())
                     + sum(np.size(b) for _, b in layer.named_buffers()))
        except ValueError:
            count = None
        rows.append((f"{name} ({type(layer).__name__})", "?" if out is None else str(tuple(out)),
                     "?" if count is None else f"{count:,}"))
    head = ("Layer (type)", "Output Shape", "Param #")
    widths = [max(len(r[i]) for r in rows + [head]) + 2 for i in range(3)]
    line = "".join(h.ljust(wd) for h, wd in zip(head, widths))
    rule = "=" * len(line)
    out = [f'Model: "{type(model).__name__}"', rule, line, rule]
    out += ["".join(c.ljust(wd) for c, wd in zip(r, widths)) for r in rows]
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
