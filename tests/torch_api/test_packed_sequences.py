"""torch.nn.utils.rnn (chainrule/torch/nn/utils/rnn.py): padded and packed batches of sequences, and the
recurrent modules run on a PackedSequence, checked against PyTorch (state_dict loaded, float64) and by gradcheck."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as ctorch
from chainrule.torch.nn.utils import rnn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

LENGTHS = [(5, 3, 2), (2, 5, 1, 3), (3, 3, 1)]          # sorted, unsorted, with a tie


def _sequences(lengths, rng, features=3):
    return [rng.standard_normal((n, features)) for n in lengths]


def _same(ours, theirs, **kw):
    np.testing.assert_allclose(ours.data if isinstance(ours, cr.Tensor) else ours, theirs.detach().numpy(), **kw)


def test_pad_pack_and_unpack_as_pytorch():
    rng = np.random.default_rng(0)
    for lengths in LENGTHS:
        seqs = _sequences(lengths, rng)
        for batch_first in (False, True):
            for side in ("right", "left"):
                _same(rnn.pad_sequence(seqs, batch_first, -1.0, side),
                      trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, side))
            padded = rnn.pad_sequence(seqs, batch_first)
            tpadded = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first)
            ordered = list(lengths) == sorted(lengths, reverse=True)
            for enforce in ((True, False) if ordered else (False,)):
                ours = rnn.pack_padded_sequence(padded, lengths, batch_first, enforce)
                theirs = trnn.pack_padded_sequence(tpadded, torch.tensor(lengths), batch_first, enforce)
                _same(ours.data, theirs.data)
                assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
                for a, b in ((ours.sorted_indices, theirs.sorted_indices),
                             (ours.unsorted_indices, theirs.unsorted_indices)):
                    assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
                back, n = rnn.pad_packed_sequence(ours, batch_first, padding_value=7.0, total_length=6)
                tback, tn = trnn.pad_packed_sequence(theirs, batch_first, padding_value=7.0, total_length=6)
                _same(back, tback)
                assert n.data.tolist() == tn.tolist()
            packed = rnn.pack_sequence(seqs, enforce_sorted=False)
            _same(packed.data, trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False).data)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_recurrent_modules_run_a_packed_batch_as_pytorch(f64, name):
    """Outputs (packed), h_n (c_n) and the gradients to every weight, the inputs and h_0, for two stacked
    bidirectional layers and one plain layer, batch first or not, lengths sorted or not."""
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    lstm = name == "LSTM"
    for lengths, layers, bidirectional, batch_first in (((2, 5, 1, 3), 2, True, True), ((4, 4, 2), 1, False, False)):
        theirs = getattr(torch.nn, name)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                         batch_first=batch_first).double()
        ours = getattr(ctorch.nn, name)(3, 4, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
        ours.load_state_dict(theirs.state_dict())
        seqs = _sequences(lengths, rng)
        h0 = rng.standard_normal((layers * (2 if bidirectional else 1), len(lengths), 4))
        xt = [torch.tensor(s, requires_grad=True) for s in seqs]
        xc = [cr.tensor(s, requires_grad=True) for s in seqs]
        ht = [torch.tensor(h, requires_grad=True) for h in ((h0, 0.5 * h0) if lstm else (h0,))]
        hc = [cr.tensor(h, requires_grad=True) for h in ((h0, 0.5 * h0) if lstm else (h0,))]
        t_out, t_h = theirs(trnn.pack_sequence(xt, enforce_sorted=False), tuple(ht) if lstm else ht[0])
        c_out, c_h = ours(rnn.pack_sequence(xc, enforce_sorted=False), tuple(hc) if lstm else hc[0])
        assert isinstance(c_out, rnn.PackedSequence)
        assert c_out.batch_sizes.tolist() == t_out.batch_sizes.tolist()
        _same(c_out.data, t_out.data, atol=1e-12)
        for a, b in zip(c_h if lstm else [c_h], t_h if lstm else [t_h]):
            _same(a, b, atol=1e-12)
        # a loss on the padded outputs and the final states
        t_pad, _ = trnn.pad_packed_sequence(t_out, batch_first=True)
        c_pad, _ = rnn.pad_packed_sequence(c_out, batch_first=True)
        w = np.cos(np.arange(t_pad.numel())).reshape(t_pad.shape)
        last = (t_h[-1] if lstm else t_h), (c_h[-1] if lstm else c_h)
        ((t_pad * torch.tensor(w)).sum() + (last[0] ** 2).sum()).backward()
        ((c_pad * w).sum() + (last[1] ** 2).sum()).backward()
        for (n, p), q in zip(theirs.named_parameters(), ours.parameters()):
            np.testing.assert_allclose(q.grad, p.grad.numpy(), atol=1e-10, err_msg=n)
        for a, b in zip(xc + hc, xt + ht):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-10)


def test_packing_and_padding_pass_gradcheck_and_gradgradcheck(f64):
    def f(a, b):
        packed = rnn.pack_sequence([a, b], enforce_sorted=False)
        padded, _ = rnn.pad_packed_sequence(rnn.PackedSequence(packed.data * packed.data, *packed[1:]), True, 0.5)
        return padded
    args = (np.random.default_rng(2).standard_normal((2, 3)), np.random.default_rng(3).standard_normal((4, 3)))
    assert cr.gradcheck(f, *args)
    assert cr.gradgradcheck(f, *args)


def test_bad_batches_are_refused_by_name():
    x = np.zeros((4, 2, 3))
    with pytest.raises(ValueError, match="sorted in decreasing order when enforce_sorted=True"):
        rnn.pack_padded_sequence(x, [2, 3])
    with pytest.raises(ValueError, match=r"every length must lie in \[1, 4\]"):
        rnn.pack_padded_sequence(x, [5, 1], enforce_sorted=False)
    with pytest.raises(ValueError, match="lengths must be 2 integers"):
        rnn.pack_padded_sequence(x, [2])
    with pytest.raises(ValueError, match="total_length=1 is shorter"):
        rnn.pad_packed_sequence(rnn.pack_padded_sequence(x, [3, 2]), total_length=1)
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        rnn.pad_packed_sequence(x)
    with pytest.raises(ValueError, match="same trailing dimensions"):
        rnn.pad_sequence([np.zeros((2, 3)), np.zeros((2, 4))])
    lstm = ctorch.nn.LSTM(5, 2)
    with pytest.raises(ValueError, match=r"LSTM\(input_size=5\): got a packed input with 3 features"):
        lstm(rnn.pack_padded_sequence(x, [3, 2]))
