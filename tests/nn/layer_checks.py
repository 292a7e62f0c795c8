"""gradcheck and gradgradcheck of a whole layer or model, for the recurrent tests."""
import chainrule as cr
from chainrule import ops


def flat_output(y):
    """A layer's output as one Tensor (the nested lists of return_state flattened and concatenated)."""
    flat = []

    def walk(v):
        if isinstance(v, (list, tuple)):
            for a in v:
                walk(a)
        else:
            flat.append(ops.reshape(v, (v.shape[0], -1)))
    walk(y)
    return ops.concatenate(flat, axis=1) if len(flat) > 1 else flat[0]


def check_layer(model, x, **call):
    """gradcheck and gradgradcheck of model(x, **call) with respect to x and every weight."""
    named = list(model.named_parameters())
    modules = dict(model.named_modules())

    def f(x, *ws):
        saved = []
        for (name, _), w in zip(named, ws):
            mname, _, attr = name.rpartition(".")
            m = modules[mname]
            saved.append((m, attr, m._parameters[attr]))
            m._parameters[attr] = w
        try:
            return flat_output(model(x, **call))
        finally:
            for m, attr, p in saved:
                m._parameters[attr] = p
    arrays = [x] + [p.data.copy() for _, p in named]
    assert cr.gradcheck(f, *arrays)
    assert cr.gradgradcheck(f, *arrays)
