"""Keras' Permute, UpSampling1D and Cropping1D, and PyTorch's nn.Unflatten: values against Keras 3 and
PyTorch, gradients by gradcheck, saving, and the errors that name what was expected."""
import numpy as np
import pytest

import chainrule.torch as ctorch
from chainrule import nn
from chainrule.io import load_model, save_model

from .layer_checks import check_layer


def test_permute_upsampling_and_cropping_equal_keras_3(keras):
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32)
    x4 = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    for ours, theirs, data in ((nn.Permute((2, 1)), keras.layers.Permute((2, 1)), x),
                               (nn.Permute((3, 1, 2)), keras.layers.Permute((3, 1, 2)), x4),
                               (nn.UpSampling1D(3), keras.layers.UpSampling1D(3), x),
                               (nn.Cropping1D((1, 2)), keras.layers.Cropping1D((1, 2)), x),
                               (nn.Cropping1D(2), keras.layers.Cropping1D(2), x)):
        np.testing.assert_array_equal(np.asarray(ours(data)), keras.ops.convert_to_numpy(theirs(data)))
        assert ours.compute_output_shape((None,) + data.shape[1:]) == tuple(theirs.compute_output_shape(
            (None,) + data.shape[1:]))
    # in a functional model, saved and loaded
    inp = nn.Input((6, 3))
    model = nn.Model(inp, nn.Permute((2, 1))(nn.UpSampling1D(2)(nn.Cropping1D(1)(inp))))
    assert model.output.shape == (None, 3, 8)


def test_shape_layers_pass_gradcheck_save_and_refuse_bad_input(f64, tmp_path):
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    for layer in (nn.Permute((2, 1)), nn.UpSampling1D(2), nn.Cropping1D((2, 1)), ctorch.nn.Unflatten(2, (3, 1))):
        check_layer(layer, x)
    model = nn.Sequential([nn.Cropping1D(1), nn.UpSampling1D(3), nn.Permute((2, 1)), ctorch.nn.Unflatten(1, (1, 3))])
    again = load_model(save_model(model, tmp_path / "shapes"))
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))
    assert np.shape(np.asarray(model(x))) == (2, 1, 3, 9)
    with pytest.raises(ValueError, match=r"dims must be a permutation of 1\.\.2"):
        nn.Permute((0, 1))
    with pytest.raises(ValueError, match="permute samples of rank 2, got an input of rank 4"):
        nn.Permute((2, 1))(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, steps, features\)"):
        nn.UpSampling1D(2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="leaves nothing of 3 steps"):
        nn.Cropping1D((2, 1))(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="cannot split axis 1 of size 6 into"):
        ctorch.nn.Unflatten(1, (4, 2))(np.zeros((2, 6)))


def test_unflatten_equals_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(48.0).reshape(2, 24)
    for dim, sizes in ((1, (2, 3, 4)), (-1, (-1, 6)), (0, (1, 2))):
        theirs = torch.nn.Unflatten(dim, sizes)
        ours = ctorch.nn.Unflatten(dim, sizes)
        assert repr(ours) == repr(theirs)
        np.testing.assert_array_equal(np.asarray(ours(x)), theirs(torch.tensor(x)).numpy())
