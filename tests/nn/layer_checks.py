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


def keras_pair(keras, build):
    """The model ``build(L, M)`` (L, M: chainrule.keras' or Keras 3's layers and models) made in chainrule and
    in Keras 3, from fresh sessions and seed 0, chainrule's given Keras' initial weights: (ours, theirs)."""
    import chainrule.keras as ck
    ck.backend.clear_session()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    ours, theirs = build(ck.layers, ck.models), build(keras.layers, keras.models)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def same_as_keras(keras, build, X, Y=None, batch_size=32, epochs=2, weights_rtol=1e-4, atol=1e-6):
    """The model ``build(L, M)``, compiled with Adam and MSE, made in chainrule and in Keras 3 from Keras'
    initial weights (:func:`keras_pair`): equal predictions on X, then equal losses and weights after
    ``epochs`` epochs on the same batches (none: the predictions only).  Returns chainrule's."""
    import numpy as np

    def compiled(L, M):
        model = build(L, M)
        model.compile(optimizer="adam", loss="mse")
        return model
    ours, theirs = keras_pair(keras, compiled)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=atol)
    if not epochs:
        return ours
    h1 = ours.fit(X, Y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(X, Y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=weights_rtol, atol=1e-6)
    return ours


def trains_as_keras(keras, layers, input_shape, X, Y, batch_size, epochs=2, weights_rtol=1e-4):
    """:func:`same_as_keras` for the Sequential ``[Input(input_shape), *layers(L)]``."""
    return same_as_keras(keras, lambda L, M: M.Sequential([L.Input(shape=input_shape), *layers(L)]), X, Y,
                         batch_size, epochs, weights_rtol)
