"""BatchNorm, the fused primitive, against its composition and PyTorch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.normalization import BatchNorm, batch_norm_composed


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2), (2, 3, 3, 2)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_equals_its_composition_and_passes_gradchecks(f64, shape, affine):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, shape)
    gamma = rng.standard_normal(shape[-1]) if affine else None
    beta = rng.standard_normal(shape[-1]) if affine else None
    u = rng.standard_normal(shape)

    def fused(x, *gb):
        return BatchNorm.apply(x, *(gb or (None, None)), eps=1e-3)

    def composed(x, *gb):
        return batch_norm_composed(x, *(gb or (None, None)), 1e-3)

    args = (x, gamma, beta) if affine else (x,)
    np.testing.assert_allclose(fused(*args), composed(*args), rtol=1e-12, atol=1e-12)
    for k in range(len(args)):
        np.testing.assert_allclose(cr.grad(lambda *a: cr.sum(fused(*a) * u), k)(*args),
                                   cr.grad(lambda *a: cr.sum(composed(*a) * u), k)(*args), rtol=1e-9, atol=1e-12)
    assert cr.gradcheck(fused, *args)
    assert cr.gradgradcheck(fused, *args)


def test_batch_norm_with_running_statistics(f64):
    rng = np.random.default_rng(1)
    x, gamma, beta = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    f = lambda x, g, b: BatchNorm.apply(x, g, b, eps=1e-3, mean=mean, var=var)  # noqa: E731
    np.testing.assert_allclose(f(x, gamma, beta), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-12)
    assert cr.gradcheck(f, x, gamma, beta) and cr.gradgradcheck(f, x, gamma, beta)
    stats = []
    BatchNorm.apply(x, gamma, beta, eps=1e-3, stats=stats)
    np.testing.assert_allclose(stats[0], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats[1], x.var(axis=0), rtol=1e-12)


def test_batch_norm_equals_pytorch_over_the_channels_of_images():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 5, 3))  # channels last
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    g = rng.standard_normal(x.shape)
    ours = cr.tensor(x, requires_grad=True, dtype="float64")
    pg, pb = (cr.tensor(v, requires_grad=True, dtype="float64") for v in (gamma, beta))
    y = BatchNorm.apply(ours, pg, pb, eps=1e-3)
    y.backward(g)
    bn = torch.nn.BatchNorm2d(3, eps=1e-3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
    yt = bn(xt)
    yt.backward(torch.from_numpy(g.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grad, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pg.grad, bn.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(pb.grad, bn.bias.grad.numpy(), rtol=1e-10)
