"""chainrule.set_num_threads / get_num_threads / num_threads change what threadpoolctl reports."""
import pytest

import chainrule as cr

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_num_threads_context_sets_and_restores_blas_threads():
    import scipy.linalg  # noqa: F401  (num_threads loads SciPy's BLAS; load it first to compare the pools)
    before = _blas_threads()
    with cr.num_threads(1):
        assert _blas_threads() and set(_blas_threads()) == {1}
        assert cr.get_num_threads() == 1
    assert _blas_threads() == before


def test_set_num_threads_stays_until_changed():
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert set(_blas_threads()) == {1}
        assert cr.get_num_threads() == 1
    finally:
        threadpoolctl.threadpool_limits(limits=before)
    assert cr.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_thread_counts_are_validated(bad):
    with pytest.raises(ValueError, match="positive integer"):
        cr.set_num_threads(bad)
    with pytest.raises(ValueError, match="positive integer"):
        with cr.num_threads(bad):
            pass


def test_set_num_threads_reaches_scipys_blas_loaded_afterwards():
    # a fresh process, where SciPy's own OpenBLAS is not loaded yet when the limit is set (as in
    # `chainrule train --threads 1`, which loads scikit-learn and SciPy after setting it)
    import subprocess
    import sys
    code = ("import sys, chainrule as cr; assert 'scipy' not in sys.modules; cr.set_num_threads(1); "
            "import scipy.linalg, sklearn.preprocessing, threadpoolctl; "
            "print(sorted({i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'}), "
            "len([i for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[1]", out


def test_a_recurrent_step_loop_runs_its_small_products_on_one_blas_thread():
    """The step loop of a small recurrent layer limits the BLAS to one thread (its products take microseconds:
    a second thread costs more than it saves), a large one keeps the thread count, and the count in force
    comes back afterwards; the values do not depend on it."""
    import numpy as np
    from chainrule import nn
    from chainrule.ops.recurrent import LSTMSequence
    with cr.num_threads(2):
        if cr.get_num_threads() < 2:
            pytest.skip("this BLAS runs on one thread here")
        with LSTMSequence._step_threads(4 * 64, 66, 32):        # the LSTM(64) step of bench/rnn.py
            assert cr.get_num_threads() == 1
        with LSTMSequence._step_threads(4 * 512, 513, 256):      # 270 M multiply-adds a step: threads pay
            assert cr.get_num_threads() == 2
        assert cr.get_num_threads() == 2
        x = np.random.default_rng(0).standard_normal((8, 6, 3)).astype(np.float32)
        layer = nn.LSTM(16, return_sequences=True)
        out = layer(x)
        out.sum().backward()
        assert cr.get_num_threads() == 2
        grad = layer.kernel.grad.copy()
    layer.kernel.grad = None
    with cr.num_threads(1):
        again = layer(x)
        again.sum().backward()
    np.testing.assert_allclose(again.data, out.data, rtol=1e-6)
    np.testing.assert_allclose(layer.kernel.grad, grad, rtol=1e-5, atol=1e-7)
