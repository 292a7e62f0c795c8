"""chainrule.numpy.linalg against HIPS autograd (PyTorch where autograd lacks the function or the
order): gradcheck, gradgradcheck, value, gradient, Hessian and JVP, on hypothesis-drawn matrices."""
import numpy as onp
import pytest
import torch
from hypothesis import given

import chainrule as cr
import chainrule.numpy as cnp
from npcheck import FAST, check, values


def well_conditioned(n, batch=()):
    """3 I + a perturbation in [-0.5, 0.5]: invertible, condition number below 2."""
    return values(batch + (n, n), -0.5, 0.5).map(lambda a: a + 3 * onp.eye(n))


def _spd(m, a):
    """A symmetric positive-definite matrix from any a: the derivative then sees every entry of a."""
    return m.matmul(a, m.swapaxes(a, -1, -2)) + 0.5 * onp.eye(a.shape[-1])


# f(m, A) written once for both libraries; torch oracles for what autograd lacks
LINALG = {
    "inv": (lambda m, a: m.linalg.inv(a), None),
    "det": (lambda m, a: m.linalg.det(a), None),
    "slogdet": (lambda m, a: m.linalg.slogdet(a)[1], None),
    "solve_vector": (lambda m, a: m.linalg.solve(a, m.sin(a[0, :, 0] if a.ndim == 3 else a[:, 0])), None),
    "solve_matrix": (lambda m, a: m.linalg.solve(a, m.sin(a[..., :2])), None),
    "cholesky": (lambda m, a: m.linalg.cholesky(_spd(m, a)), None),
    "eigh_values": (lambda m, a: m.linalg.eigh(_spd(m, a))[0], None),
    # squared: free of sign choices (autograd's own JVP trick drops the eigenvector part: torch)
    "eigh_vectors": (lambda m, a: m.linalg.eigh(_spd(m, a))[1] ** 2,
                     lambda a: torch.linalg.eigh(a @ a.mT + 0.5 * torch.eye(a.shape[-1])).eigenvectors ** 2),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(_spd(m, a)),
                 lambda a: torch.linalg.eigvalsh(a @ a.mT + 0.5 * torch.eye(a.shape[-1]))),
    "svd_values": (lambda m, a: m.linalg.svd(a, compute_uv=False), None),
    "svd_vectors": (lambda m, a: m.linalg.svd(a, full_matrices=False)[0] ** 2
                    + m.linalg.svd(a, full_matrices=False)[2] ** 2, None),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, 3), lambda a: torch.linalg.matrix_power(a, 3)),
    "matrix_power_neg": (lambda m, a: m.linalg.matrix_power(a, -2), lambda a: torch.linalg.matrix_power(a, -2)),
}


@pytest.mark.parametrize("batch", [(), (2,)], ids=str)
@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg(name, batch):
    f, torch_fn = LINALG[name]
    if name == "svd_vectors" and batch:
        pytest.skip("one shape is enough for the singular vectors")

    @FAST
    @given(well_conditioned(3, batch))
    def run(a):
        if name.startswith(("eigh", "eigv", "svd")):   # distinct eigen/singular values (else F is infinite)
            a = a + onp.diag([0.0, 0.7, 1.6])
            s = onp.linalg.svd(a, compute_uv=False)
            if onp.min(onp.abs(onp.diff(s, axis=-1))) < 0.1:
                return
        if name == "solve_vector" and batch:   # autograd's solve VJP cannot broadcast a vector b
            check(f, lambda t: torch.linalg.solve(t, torch.sin(t[0, :, 0])), a, kind="torch")
        elif torch_fn is None:
            check(f, f, a)
        else:
            check(f, torch_fn, a, kind="torch")
    run()


@pytest.mark.parametrize("shape", [(2, 3), (3, 2)], ids=str)
def test_svd_of_rectangular_matrices(shape):
    a = onp.cos(onp.arange(6.0)).reshape(shape) + onp.eye(*shape) * onp.array([1.0, 2.5])[:min(shape)].sum()

    def f(m, x):
        u, s, vh = m.linalg.svd(x, full_matrices=False)
        return m.concatenate([m.ravel(u ** 2), s, m.ravel(vh ** 2)])
    check(f, f, a)
    with pytest.raises(ValueError, match="full_matrices=True on a non-square"):
        cnp.linalg.svd(cr.tensor(a, requires_grad=True))


VECTOR_ORDERS = [None, 2, 1, 3, 0.5, onp.inf, -onp.inf]
MATRIX_ORDERS = [None, "fro", "nuc", 1, -1, 2, -2, onp.inf, -onp.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDERS, ids=str)
def test_vector_norms(ord):
    x = onp.array([[0.3, -1.2, 0.8], [1.5, -0.4, 0.9]])
    f = lambda m, t: m.linalg.norm(t, ord=ord, axis=1)  # noqa: E731
    if ord is None or (ord not in (onp.inf, -onp.inf) and ord > 1):
        check(f, f, x)  # the orders HIPS autograd differentiates
    else:
        check(f, lambda t: torch.linalg.vector_norm(t, ord=2 if ord is None else ord, dim=1), x, kind="torch")


@pytest.mark.parametrize("ord", MATRIX_ORDERS, ids=str)
def test_matrix_norms(ord):
    a = onp.array([[0.3, -1.2, 0.8], [1.5, -0.4, 0.9], [-0.7, 0.2, 2.1]])
    f = lambda m, t: m.linalg.norm(t, ord=ord)  # noqa: E731
    if ord in (None, "fro", "nuc"):
        check(f, f, a)
    else:
        check(f, lambda t: torch.linalg.matrix_norm(t, ord=ord), a, kind="torch")
    check(lambda m, t: m.linalg.norm(t, ord=ord, axis=(2, 0), keepdims=True),
          lambda t: torch.linalg.matrix_norm(t, ord="fro" if ord is None else ord, dim=(2, 0), keepdim=True),
          onp.stack([a, a * 2]).transpose(1, 0, 2).copy(), kind="torch")


def test_cholesky_upper_and_eigh_upper_triangle():
    a = onp.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    U = cnp.linalg.cholesky(cr.tensor(a), upper=True).numpy()
    onp.testing.assert_allclose(U, onp.linalg.cholesky(a, upper=True), rtol=1e-12)
    # eigh reads one triangle only, so the gradient lives there (HIPS autograd's convention, which is
    # what finite differences of numpy.linalg.eigh see)
    g = cr.grad(lambda t: cnp.sum(cnp.linalg.eigh(t, UPLO="U")[0] ** 2))(a)
    assert onp.all(onp.tril(g, -1) == 0) and onp.any(onp.triu(g, 1) != 0)
    assert cr.gradcheck(lambda t: cnp.linalg.eigh(t, UPLO="U")[0], a)


def test_linalg_errors_name_the_function():
    with pytest.raises(ValueError, match=r"inv: expected a square matrix .* got shape \(2, 3\)"):
        cnp.linalg.inv(cr.tensor(onp.ones((2, 3))))
    for a in (onp.ones((2, 3)), onp.ones(3)):   # NumPy's own refusal is replaced by the clear message
        with pytest.raises(ValueError, match=r"solve: expected a square matrix .* got shape \(" + str(a.shape[0])):
            cnp.linalg.solve(cr.tensor(a, requires_grad=True), cr.tensor(onp.ones(2)))
    with pytest.raises(ValueError, match=r"solve: cannot apply to inputs of shapes \(2, 2\) and \(2,\) \(Singular"):
        cnp.linalg.solve(cr.tensor(onp.ones((2, 2)), requires_grad=True), onp.ones(2))
    with pytest.raises(ValueError, match=r"norm: invalid norm order 3 for matrices"):
        cnp.linalg.norm(cr.tensor(onp.eye(2)), ord=3)
