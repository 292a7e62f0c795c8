"""Fixtures shared by the layer tests."""
import pytest

import chainrule as cr


@pytest.fixture
def f64():
    """Float64 by default (for gradchecks) and a fixed seed for the layers' initial weights."""
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    yield
    cr.set_default_dtype("float32")


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on its torch backend, the oracle for the Keras-style layers (skips where it is absent)."""
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("these comparisons run Keras on its torch backend")
    return k
