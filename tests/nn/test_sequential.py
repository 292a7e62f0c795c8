"""Sequential and Module bookkeeping."""
import numpy as np

from chainrule import nn


def test_built_is_false_until_every_lazy_layer_has_its_weights():
    model = nn.Sequential([nn.Dense(2)])
    assert not model.built and not model.layers[0].built
    model(np.ones((1, 3), np.float32))
    assert model.built and model.layers[0].built
    assert nn.Sequential([nn.Dense(2, input_dim=3)]).built
