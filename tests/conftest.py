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
