"""Keras' cell API (chainrule/nn/cells.py): SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells and RNN.
Gradients through the cells, RNN over a built-in cell equal to the layer of the same name bit for
bit, Keras 3 as the oracle with weights copied, training, saving, and the errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, ops
from chainrule.io import load_model, save_model
from chainrule.nn.masking import get_mask
from chainrule.parameter import Parameter

from .layer_checks import check_layer, flat_output


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small products run fastest on one thread (a test worker shares the cores with the others)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


PRIMITIVES = {"SimpleRNN": ops.recurrent.SimpleRNNSequence, "LSTM": ops.recurrent.LSTMSequence,
              "GRU": ops.recurrent.GRUSequence, "GRU-before": ops.recurrent.GRUSequence}
CELLS = {"SimpleRNN": (nn.SimpleRNNCell, nn.SimpleRNN, {}), "LSTM": (nn.LSTMCell, nn.LSTM, {}),
         "GRU": (nn.GRUCell, nn.GRU, {}), "GRU-before": (nn.GRUCell, nn.GRU, {"reset_after": False})}


class MinimalRNNCell(nn.Layer):
    """Keras' documentation's MinimalRNNCell with a tanh: h_t = tanh(x_t W + h_(t-1) U), written the Keras way
    (weights made in build, the step in call)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        rng = np.random.default_rng(1)
        dtype = cr.get_default_dtype()
        self.kernel = Parameter(rng.uniform(-0.5, 0.5, (input_shape[-1], self.units)).astype(dtype))
        self.recurrent_kernel = Parameter(rng.uniform(-0.5, 0.5, (self.units, self.units)).astype(dtype))
        return super().build(input_shape)

    def call(self, inputs, states):
        out = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
        return out, [out]

    def get_config(self):
        return {"units": self.units}


class NoConfigCell(MinimalRNNCell):
    """A custom cell that cannot describe itself (it takes units but has no get_config of its own)."""

    get_config = nn.Layer.get_config


def _cell(kind, units=2):
    if kind == "stacked":
        return [nn.LSTMCell(units), nn.GRUCell(units)]
    if kind == "custom":
        return MinimalRNNCell(units)
    cell, _, kw = CELLS[kind]
    return cell(units, **kw)


def _mask(N, T, rng):
    m = rng.random((N, T)) < 0.6
    m[:, -1] = True
    m[0, 0] = False
    return m


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU", "GRU-before", "stacked", "custom"])
def test_rnn_over_every_cell_passes_gradcheck_and_gradgradcheck(f64, kind):
    rng = np.random.default_rng(0)
    for T in (1, 3):
        for seqs in (False, True):
            x = rng.standard_normal((2, T, 2))
            check_layer(nn.RNN(_cell(kind), return_sequences=seqs, input_shape=(T, 2)), x)
    # the states of the last step, backwards, with a mask (the Python loop's and the primitive's masking)
    x = rng.standard_normal((2, 3, 2))
    check_layer(nn.RNN(_cell(kind), return_state=True, go_backwards=True, return_sequences=True, input_shape=(3, 2)),
                x, mask=_mask(2, 3, rng))


def test_one_step_of_each_cell_passes_gradcheck(f64):
    rng = np.random.default_rng(1)
    for kind in ("SimpleRNN", "LSTM", "GRU-before"):
        cell = _cell(kind, 3)
        cell.build((None, 2))
        n = 2 if kind == "LSTM" else 1
        arrays = [rng.standard_normal((2, 2))] + [rng.standard_normal((2, 3)) for _ in range(n)] + \
                 [p.data.copy() for p in cell.parameters()]

        def f(x, *rest):
            states, ws = list(rest[:n]), rest[n:]
            saved = dict(cell._parameters)
            cell._parameters.update(zip(saved, ws))
            try:
                return flat_output(cell(x, states))
            finally:
                cell._parameters.update(saved)
        assert cr.gradcheck(f, *arrays) and cr.gradgradcheck(f, *arrays)


# ------------------------------------------------------------------ the same as the layers
@pytest.mark.parametrize("kind", list(CELLS))
def test_rnn_of_a_cell_is_its_layer_bit_for_bit(kind):
    cell_cls, layer_cls, kw = CELLS[kind]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    x[0, 4:] = 0.0                # right padding
    x[1, :2] = 0.0                # left padding
    masked = nn.Masking(0.0)(x)
    for opts in ({}, {"return_sequences": True, "return_state": True}, {"go_backwards": True, "return_sequences": True},
                 {"return_state": True, "go_backwards": True}):
        cr.manual_seed(0)
        rnn = nn.RNN(cell_cls(4, **kw), **opts)
        rnn(x)
        cr.manual_seed(0)
        layer = layer_cls(4, **kw, **opts)
        layer(x)
        for a, b in zip(rnn.get_weights(), layer.get_weights()):     # the same initial weights from the same seed
            np.testing.assert_array_equal(a, b)
        h0 = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2 if kind == "LSTM" else 1)]
        for inp, call in ((x, {}), (masked, {}), (x, {"initial_state": h0}), (x, {"mask": get_mask(masked)})):
            mine, ref = rnn(inp, **call), layer(inp, **call)
            mine, ref = (mine, ref) if isinstance(mine, list) else ([mine], [ref])
            assert len(mine) == len(ref) == (1 + len(h0) if opts.get("return_state") else 1)
            for a, b in zip(mine, ref):
                np.testing.assert_array_equal(a.data, b.data)
        if not opts.get("return_state"):    # the whole sequence is one node: the layer's fused primitive
            node = rnn(x)._ctx
            assert type(node) is PRIMITIVES[kind] and node.parents[1] is rnn.cell.kernel
        if opts.get("return_sequences"):
            seq = rnn(masked)
            seq = seq[0] if isinstance(seq, list) else seq
            np.testing.assert_array_equal(get_mask(seq), get_mask(masked))   # the mask goes on with the sequence


@pytest.mark.parametrize("kind", list(CELLS))
def test_the_python_loop_and_the_cell_step_by_step_equal_the_fused_sequence(f64, kind):
    """RNN([cell]) runs the cell step by step on the engine: the masking, go_backwards and
    zero_output_for_mask of the loop are those of the fused primitive (Keras')."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 2))
    mask = _mask(3, 5, rng)
    cell = _cell(kind, 3)
    for opts in ({"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
                 {"zero_output_for_mask": True, "return_sequences": True}, {"return_state": True}):
        fused, loop = nn.RNN(cell, **opts), nn.RNN([cell], **opts)
        a, b = fused(x, mask=mask), loop(x, mask=mask)
        if opts.get("return_state"):
            np.testing.assert_allclose(a[0].data, b[0].data, atol=1e-12)
            assert len(b) == 2 and len(b[1]) == len(a) - 1                # [output, [h, c]]: nested per cell
            for s, t in zip(a[1:], b[1]):
                np.testing.assert_allclose(s.data, t.data, atol=1e-12)
        else:
            np.testing.assert_allclose(a.data, b.data, atol=1e-12)
    states = cell.get_initial_state(batch_size=3)
    assert [s.shape for s in _flat(nn.RNN([cell, cell]).get_initial_state(batch_size=3))] == [(3, 3)] * 2 * len(states)
    assert [s.shape for s in states] == [(3, 3)] * len(states) and not any(np.any(s) for s in states)
    outs = []
    for t in range(5):
        out, states = cell(x[:, t], states)
        outs.append(out.data)
    np.testing.assert_allclose(np.stack(outs, 1), nn.RNN(cell, return_sequences=True)(x).data, atol=1e-12)
    assert cell.output_size == 3 and cell.state_size == ([3, 3] if kind == "LSTM" else 3)
    if kind != "LSTM":   # a single array as the state: a single array back, as in Keras
        out, h = cell(x[:, 0], np.zeros((3, 3)))
        assert isinstance(h, cr.Tensor) and np.array_equal(out.data, h.data)


def test_dropout_is_the_layers_and_one_mask_per_sequence(f64):
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((4, 5, 3)), requires_grad=True)
    rnn = nn.RNN(nn.LSTMCell(3, dropout=0.5, recurrent_dropout=0.3, seed=7), return_sequences=True)
    y = rnn(x)
    layer = nn.LSTM(3, dropout=0.5, recurrent_dropout=0.3, seed=7, return_sequences=True, input_shape=(5, 3))
    layer.set_weights(rnn.get_weights())
    np.testing.assert_array_equal(y.data, layer(x).data)          # the same seed, the same masks
    # stacked cells: each cell keeps one mask for the whole sequence, drawn again for the next one
    stack = nn.RNN([nn.GRUCell(3, dropout=0.5, seed=1), nn.SimpleRNNCell(2)], return_sequences=True)
    stack(x).sum().backward()
    dropped = np.all(x.grad == 0, axis=1)                           # (batch, features): at every step or none
    assert dropped.any() and not dropped.all()
    assert np.all((x.grad == 0) == dropped[:, None, :])
    first = stack(x).data
    assert not np.allclose(first, stack(x).data)                    # a new mask for the next sequence
    stack.eval()
    in_evaluation = stack(x).data
    stack.train()
    stack.cell.cells[0].dropout = 0.0
    np.testing.assert_array_equal(stack(x).data, in_evaluation)     # no dropout in evaluation


# ------------------------------------------------------------------ Keras 3
def _keras_minimal_cell(keras):
    class KerasMinimalRNNCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            out = keras.ops.tanh(keras.ops.matmul(inputs, self.kernel)
                                 + keras.ops.matmul(states[0], self.recurrent_kernel))
            return out, [out]
    return KerasMinimalRNNCell


def _flat(y):
    if isinstance(y, (list, tuple)):
        return [a for v in y for a in _flat(v)]
    return [y]


def test_rnn_and_cells_equal_keras_3_with_weights_copied(keras):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    masked_input = nn.Masking(0.0)(x)
    minimal = _keras_minimal_cell(keras)

    def compare(ours, theirs, masked):
        inp = keras.Input((5, 2))
        model = keras.Model(inp, theirs(keras.layers.Masking(0.0)(inp) if masked else inp))
        mine = ours(masked_input if masked else x)
        theirs.set_weights(ours.get_weights())
        ref = model(x)
        mine, ref = _flat(mine), _flat(ref)
        assert len(mine) == len(ref)
        for a, b in zip(mine, ref):
            np.testing.assert_allclose(a.data, keras.ops.convert_to_numpy(b), atol=1e-6)

    L = keras.layers
    pairs = [(lambda m, k=k: getattr(m, k + "Cell")(4), None) for k in ("SimpleRNN", "LSTM", "GRU")]
    pairs += [(lambda m: m.GRUCell(4, reset_after=False), None),
              (lambda m: [m.LSTMCell(3), m.GRUCell(2)], None),
              (None, "custom"), (None, "custom-stacked")]
    for make, custom in pairs:
        for opts, masked in (({}, False), ({"return_sequences": True, "go_backwards": True}, True),
                             ({"return_state": True}, True)):
            if custom == "custom":
                ours, theirs = nn.RNN(MinimalRNNCell(4), **opts), L.RNN(minimal(4), **opts)
            elif custom == "custom-stacked":
                ours, theirs = (nn.RNN([MinimalRNNCell(3), nn.LSTMCell(2)], **opts),
                                L.RNN([minimal(3), L.LSTMCell(2)], **opts))
            else:
                ours, theirs = nn.RNN(make(nn), **opts), L.RNN(make(L), **opts)
            compare(ours, theirs, masked)
    # the same structure of outputs and states as Keras' (states nested per cell for stacked cells)
    ours = nn.RNN([nn.LSTMCell(3), nn.GRUCell(2)], return_state=True)(x)
    theirs = L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_state=True)(x)
    shape = lambda y: [shape(v) for v in y] if isinstance(y, (list, tuple)) else tuple(y.shape)  # noqa: E731
    assert shape(ours) == shape(theirs) == [(3, 2), [(3, 3), (3, 3)], [(3, 2)]]
    # a cell called step by step, with Keras' cell on the same weights
    for name in ("SimpleRNNCell", "LSTMCell", "GRUCell"):
        cell, kcell = getattr(nn, name)(4), getattr(L, name)(4)
        kcell.build((None, 2))
        cell.build((None, 2))
        kcell.set_weights(cell.get_weights())
        states, kstates = cell.get_initial_state(batch_size=3), kcell.get_initial_state(batch_size=3)
        for t in range(5):
            out, states = cell(x[:, t], states)
            kout, kstates = kcell(x[:, t], kstates)
            assert len(states) == len(kstates)
            for a, b in zip([out, *states], [kout, *kstates]):
                np.testing.assert_allclose(a.data, keras.ops.convert_to_numpy(b), atol=1e-6)
    # shapes and parameter counts of a model, as Keras' summary shows them
    build = lambda m: [m.RNN(m.LSTMCell(4), return_sequences=True), m.RNN([m.GRUCell(3), m.SimpleRNNCell(5)]),  # noqa
                       m.Dense(1)]
    theirs = keras.Sequential([keras.Input((5, 2))] + build(L))
    ours = nn.Sequential(build(nn))
    ours(x)
    assert [layer.output_shape for layer in ours] == [tuple(layer.output.shape) for layer in theirs.layers]
    assert [layer.count_params() for layer in ours] == [layer.count_params() for layer in theirs.layers]
    assert ours[0].state_size == theirs.layers[0].state_size == [4, 4]
    assert ours[1].state_size == theirs.layers[1].state_size == [3, 5]


def test_bidirectional_rnn_of_a_cell_and_nested_states_in_the_functional_api_equal_keras_3(keras):
    """Bidirectional(RNN(cell)) and a functional model whose outputs are an RNN's states nested per cell
    (stacked cells with return_state), as Keras 3 builds and computes them, with the weights copied."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0                                     # padding: masked steps
    L = keras.layers
    shape = lambda y: [shape(v) for v in y] if isinstance(y, (list, tuple)) else tuple(y.shape)  # noqa: E731

    def compare(build):
        inp, kinp = nn.Input((5, 2)), keras.Input((5, 2))
        ours, theirs = nn.Model(inp, build(nn, nn.Masking(0.0)(inp))), keras.Model(kinp, build(L, L.Masking(0.0)(kinp)))
        assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
        theirs.set_weights(ours.get_weights())
        mine, ref = ours(x), theirs(x)
        assert shape(mine) == shape(ref)
        for a, b in zip(_flat(mine), _flat(ref)):
            np.testing.assert_allclose(a.data, keras.ops.convert_to_numpy(b), atol=1e-6)
        return ours, mine

    for merge in ("concat", "sum", None):
        compare(lambda m, h: m.Bidirectional(m.RNN(m.LSTMCell(4)), merge_mode=merge)(h))
    compare(lambda m, h: m.Bidirectional(m.RNN([m.GRUCell(3), m.SimpleRNNCell(2)], return_sequences=True))(h))
    ours, out = compare(lambda m, h: m.Bidirectional(m.RNN(m.LSTMCell(4), return_sequences=True,
                                                           return_state=True))(h))
    assert shape(out) == [(3, 5, 8), (3, 4), (3, 4), (3, 4), (3, 4)]
    # stacked cells with return_state: [output, [h, c] of the LSTM cell, h of the GRU cell], as in Keras
    ours, out = compare(lambda m, h: m.RNN(m.StackedRNNCells([m.LSTMCell(4), m.GRUCell(2)]), return_state=True)(h))
    assert shape(out) == [(3, 2), [(3, 4), (3, 4)], (3, 2)]
    again = nn.Model.from_config(ours.get_config())
    again.set_weights(ours.get_weights())
    for a, b in zip(_flat(again(x)), _flat(out)):
        np.testing.assert_array_equal(a.data, b.data)
    # the nested states feed another layer's initial_state
    inp = nn.Input((5, 2))
    _, (h, c), _ = nn.RNN([nn.LSTMCell(4), nn.GRUCell(2)], return_state=True)(inp)
    model = nn.Model(inp, nn.LSTM(4)(inp, initial_state=[h, c]))
    assert model(x).shape == (3, 4)


def test_bidirectional_over_a_cell_passes_gradcheck_and_gradgradcheck(f64):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 2))
    check_layer(nn.Bidirectional(nn.RNN(MinimalRNNCell(2), return_sequences=True), input_shape=(3, 2)), x,
                mask=_mask(2, 3, rng))
    check_layer(nn.Bidirectional(nn.RNN(nn.GRUCell(2)), merge_mode="sum", input_shape=(3, 2)), x)


def test_keras_namespace_has_the_cell_api():
    from chainrule.keras import layers
    assert layers.RNN is nn.RNN and layers.LSTMCell is nn.LSTMCell and layers.StackedRNNCells is nn.StackedRNNCells
    rnn = layers.RNN(layers.LSTMCell(4))
    assert rnn(np.ones((2, 3, 5), np.float32)).shape == (2, 4)
    assert [n for n, _ in rnn.named_parameters()] == ["cell.kernel", "cell.recurrent_kernel", "cell.bias"]
    assert [w.shape for w in rnn.get_weights()] == [(5, 16), (4, 16), (16,)]
    assert layers.GRUCell(3).name.startswith("gru_cell") and layers.RNN(layers.GRUCell(3)).name.startswith("rnn")


# ------------------------------------------------------------------ training, saving, state
def test_a_gru_cell_model_learns_a_sine_and_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    t = np.linspace(0, 8 * np.pi, 200, dtype=np.float32)
    series = np.sin(t)
    X = np.stack([series[i:i + 10] for i in range(120)])[..., None]
    y = series[10:130, None]
    model = nn.Sequential([nn.RNN(nn.GRUCell(8), input_shape=(10, 1)), nn.Dense(1)])
    model.compile(optimizer=cr.optim.Adam(lr=0.02), loss="mse")
    history = model.fit(X, y, epochs=12, batch_size=20, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    again = load_model(save_model(model, tmp_path / "sine"))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert "rnn" in model.summary(print_fn=None) and f"{3 * (1 * 8 + 8 * 8 + 2 * 8):,}" in model.summary(print_fn=None)


def test_every_cell_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    rng = np.random.default_rng(7)
    model = nn.Sequential([
        nn.Masking(0.0, input_shape=(4, 3)),
        nn.RNN(nn.LSTMCell(3, kernel_regularizer=nn.l2(1e-3), unit_forget_bias=False), return_sequences=True),
        nn.RNN([nn.GRUCell(3, reset_after=False), nn.SimpleRNNCell(2, activation="relu", dropout=0.1, seed=3)],
               return_sequences=True, go_backwards=True),
        nn.RNN(MinimalRNNCell(2)),
        nn.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mse")
    X = rng.standard_normal((6, 4, 3)).astype(np.float32)
    X[0, 2:] = 0
    model.fit(X, rng.standard_normal((6, 1)), epochs=1, batch_size=3, verbose=0)
    again = load_model(save_model(model, tmp_path / "cells"))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert again.get_config() == model.get_config()
    assert [n for n, _ in again.named_parameters()][3:6] == ["2.cell.0.kernel", "2.cell.0.recurrent_kernel",
                                                             "2.cell.0.bias"]
    assert model.regularization_loss().item() == pytest.approx(1e-3 * float((model[1].cell.kernel.data ** 2).sum()))
    # built on its first batch (no input_shape): rebuilt from the saved weights' shapes
    lazy = nn.Sequential([nn.RNN(nn.GRUCell(3), return_sequences=True), nn.RNN([nn.LSTMCell(2)]), nn.Dense(1)])
    lazy(X[:1])
    np.testing.assert_array_equal(load_model(save_model(lazy, tmp_path / "lazy")).predict(X), lazy.predict(X))
    with pytest.raises(TypeError, match="cannot save the custom cell NoConfigCell: it takes units but defines no "
                                        "get_config"):
        save_model(nn.Sequential([nn.RNN(NoConfigCell(2), input_shape=(4, 3))]), tmp_path / "custom")


@pytest.mark.parametrize("kind", ["LSTM", "stacked"])
def test_stateful_over_two_batches_equals_one_long_sequence(f64, kind):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 6, 2))
    cell = _cell(kind, 4)
    whole = nn.RNN(cell, return_sequences=True)
    stateful = nn.RNN(cell, return_sequences=True, stateful=True)
    first, second = stateful(x[:, :4]), stateful(x[:, 4:])
    np.testing.assert_allclose(np.concatenate([first.data, second.data], axis=1), whole(x).data, atol=1e-12)
    assert len(stateful.states) == (3 if kind == "stacked" else 2) and np.abs(stateful.states[0]).sum() > 0
    stateful.reset_states()
    assert np.abs(stateful.states[0]).sum() == 0
    np.testing.assert_allclose(stateful(x[:, :4]).data, first.data, atol=1e-12)
    with pytest.raises(ValueError, match=r"RNN\(.*stateful=True\): a stateful layer .* every batch must have 3 "
                                         r"samples, got 2"):
        stateful(x[:2])
    model = nn.Sequential([stateful, nn.Dense(1)])
    nn.recurrent.reset_states(model)
    assert all(np.abs(s).sum() == 0 for s in stateful.states)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="is stateful.*pass shuffle=False"):
        model.fit(x, np.zeros((3, 6, 1)), batch_size=3, verbose=0)
    h = [rng.standard_normal((3, 4)) for _ in stateful.states]
    stateful.reset_states(h)
    np.testing.assert_allclose(stateful(x[:, 4:]).data, whole(x[:, 4:], initial_state=h).data, atol=1e-12)


# ------------------------------------------------------------------ errors
def test_errors_name_the_layer_and_say_what_is_expected():
    with pytest.raises(TypeError, match=r"RNN: expected an RNN cell: a layer with a state_size attribute .* and a "
                                        r"call\(inputs, states\) \(or forward\) method returning \(output, "
                                        r"new_states\).*got Dense\(.*which has no state_size attribute$"):
        nn.RNN(nn.Dense(3))
    class Stepless(nn.Layer):
        state_size = 2
    with pytest.raises(TypeError, match=r"got Stepless\(\), which has no call\(inputs, states\) or forward method"):
        nn.RNN(Stepless())
    with pytest.raises(TypeError, match=r"LSTM\(units=3\) is a whole recurrent layer .* give RNN its cell, "
                                        r"LSTMCell\(3\)"):
        nn.RNN(nn.LSTM(3))
    with pytest.raises(TypeError, match=r"RNN \(cell 1 of the list\): expected an RNN cell"):
        nn.RNN([nn.GRUCell(2), "gru"])
    with pytest.raises(ValueError, match="StackedRNNCells: expected a list of at least one RNN cell"):
        nn.StackedRNNCells([])
    bad = MinimalRNNCell(2)
    bad.state_size = 0
    with pytest.raises(ValueError, match="state_size of MinimalRNNCell.* must be a positive int"):
        nn.RNN(bad)
    with pytest.raises(ValueError, match="LSTMCell: units must be a positive integer, got 0"):
        nn.LSTMCell(0)
    with pytest.raises(ValueError, match=r"GRUCell: dropout must be a number in \[0, 1\), got 1.5"):
        nn.GRUCell(2, dropout=1.5)
    rnn = nn.RNN(nn.LSTMCell(4))
    with pytest.raises(ValueError, match=r"RNN\(LSTMCell\(units=4\)\): expected input of rank 3 \(batch, time, "
                                         r"features\), got shape \(64, 5\); reshape it to \(batch, time, features\): "
                                         r"x.reshape\(64, 5, 1\)"):
        rnn(np.ones((64, 5), np.float32))
    rnn(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"RNN\(LSTMCell\(units=4\)\): expected 5 features per time step, got input "
                                         r"of shape \(2, 3, 4\)"):
        rnn(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"RNN\(LSTMCell\(units=4\)\): initial_state must be a list of 2 states"):
        rnn(np.ones((2, 3, 5), np.float32), initial_state=[np.zeros((2, 4), np.float32)])
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\) = \(2, 3\)"):
        rnn(np.ones((2, 3, 5), np.float32), mask=np.ones((3, 2), bool))
    stack = nn.RNN([nn.LSTMCell(2), nn.GRUCell(3)])
    with pytest.raises(ValueError, match=r"initial_state must hold the cell's 3 states, of shapes \[\(2, 2\), "
                                         r"\(2, 2\), \(2, 3\)\]"):
        stack(np.ones((2, 3, 5), np.float32), initial_state=[np.zeros((2, 2), np.float32)])
    cell = nn.GRUCell(3)
    with pytest.raises(ValueError, match=r"GRUCell\(units=3\): expected one time step of shape \(batch, features\), "
                                         r"got shape \(2, 4, 5\); to run a whole sequence .* use RNN\(GRUCell"):
        cell(np.ones((2, 4, 5), np.float32), [np.zeros((2, 3), np.float32)])
    with pytest.raises(ValueError, match=r"LSTMCell\(units=3\): states must be the list \[h, c\] of 2 arrays"):
        nn.LSTMCell(3)(np.ones((2, 5), np.float32), [np.zeros((2, 3), np.float32)])

    class Broken(MinimalRNNCell):
        def call(self, inputs, states):
            return ops.matmul(inputs, self.kernel)
    with pytest.raises(TypeError, match=r"the cell Broken\(\) must return \(output, new_states\) from "
                                        r"call\(inputs, states\) \(or forward\), got a Tensor"):
        nn.RNN(Broken(2))(np.ones((2, 3, 5), np.float32))
