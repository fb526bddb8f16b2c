"""Derivatives of the SVD (`np.linalg.svd`, `svdvals` and the spectral norms) and of
`det` at singular matrices.

Checked against central differences, hand-derived values (exact cofactors of integer
matrices) and, where JAX is installed, `jax.grad`/`jax.vjp` in float64. The per-op
VJP/JVP checks of the same ops run from the op-case table (tests/grad/test_op_grads.py).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from support import num_jac

import tracejit
from tracejit import errors


def close(actual, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def rand(*shape, seed=0, complex_=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


# --- det at singular matrices ------------------------------------------------------------


def cofactors(a):
    """The cofactor matrix by its definition: signed minors (exact for small integers)."""
    n = a.shape[-1]
    c = np.empty_like(a, dtype=float)
    for i, j in itertools.product(range(n), repeat=2):
        minor = np.delete(np.delete(a, i, 0), j, 1)
        c[i, j] = (-1) ** (i + j) * (round(np.linalg.det(minor)) if n > 1 else 1.0)
    return c


SINGULAR = {
    "rank2": np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]),
    "one-to-nine": np.arange(1.0, 10).reshape(3, 3),
    "ones2": np.ones((2, 2)),
    "zero1": np.zeros((1, 1)),
    "rank1-3x3": np.outer([1.0, 2, 3], [1.0, -1, 2]),  # rank n-2: cofactors all 0
    "zero3": np.zeros((3, 3)),
}


@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_gradient_at_singular_matrices(name):
    """∂det/∂a = cof(a): finite and exact where a⁻¹ does not exist (it raised before)."""
    a = SINGULAR[name]
    g = tracejit.grad(np.linalg.det)(a)
    close(g, cofactors(a), atol=1e-13)


def test_det_gradient_batch_mixes_singular_and_regular():
    a = np.stack([SINGULAR["rank2"], np.array([[2.0, 1, 0], [1, 3, 1], [0, 1, 4]])])
    g = tracejit.grad(lambda a: (np.linalg.det(a) * [1.0, -2.0]).sum())(a)
    close(g[0], cofactors(a[0]), atol=1e-13)
    close(g[1], -2 * np.linalg.det(a[1]) * np.linalg.inv(a[1]).T, rtol=1e-13)


def test_det_regular_gradient_is_jacobis_formula():
    a = rand(4, 4, seed=3)
    close(tracejit.grad(np.linalg.det)(a), np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-13)


@pytest.mark.parametrize("name", ["rank2", "ones2", "zero1"])
def test_det_hessian_at_singular_matrices(name):
    """Second order through the SVD branch: the derivative of the cofactors."""
    a = SINGULAR[name]
    h = tracejit.hessian(np.linalg.det)(a)
    close(h, num_jac(cofactors_float, a), rtol=1e-7, atol=1e-7)


def cofactors_float(a):
    n = a.shape[-1]
    if n == 1:
        return np.ones_like(a)
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


def test_det_second_order_at_a_multiple_of_the_identity():
    """Repeated singular values: the unused SVD branch runs on diag(1..n), so the Jacobi
    branch's second derivative is not spoiled by 0 * inf."""
    h = tracejit.hessian(np.linalg.det)(2 * np.eye(3))
    close(h, num_jac(cofactors_float, 2 * np.eye(3)), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_gradient_vs_jax(jax_x64, name):
    a = SINGULAR[name]
    close(tracejit.grad(np.linalg.det)(a), jax_x64.grad(jax_x64.numpy.linalg.det)(a),
          atol=1e-13)


def test_det_complex_singular_vs_jax(jax_x64):
    a = rand(3, 3, seed=4, complex_=True)
    a[2] = (0.3 - 2j) * a[0]
    _, pullback = tracejit.vjp(np.linalg.det, a)
    _, jax_pullback = jax_x64.vjp(jax_x64.numpy.linalg.det, a)
    close(pullback(1.0 + 0j)[0], jax_pullback(1.0 + 0j)[0], atol=1e-13)


# --- svd, svdvals, spectral norms ----------------------------------------------------------


NORMS = {"2": 2, "-2": -2, "nuc": "nuc"}


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5)])
@pytest.mark.parametrize("ord", list(NORMS))
def test_spectral_norm_gradients(shape, ord):
    a = rand(*shape, seed=1)
    f = lambda a: np.linalg.norm(a, NORMS[ord])  # noqa: E731
    close(tracejit.grad(f)(a), num_jac(f, a), rtol=1e-6, atol=1e-8)


def test_norm2_gradient_is_the_top_singular_pair():
    a = rand(4, 3, seed=2)
    u, _, vh = np.linalg.svd(a)
    close(tracejit.grad(lambda a: np.linalg.norm(a, 2))(a), np.outer(u[:, 0], vh[0]))


@pytest.mark.parametrize("ord", list(NORMS))
def test_spectral_norm_gradients_vs_jax(jax_x64, ord):
    a = rand(4, 3, seed=1)
    jnp = jax_x64.numpy
    close(tracejit.grad(lambda a: np.linalg.norm(a, NORMS[ord]))(a),
          jax_x64.grad(lambda a: jnp.linalg.norm(a, NORMS[ord]))(a))


def test_svd_values_only_gradients():
    """Only s used: u/v's part of the rule (infinite at repeated singular values) is not
    built, so the identity's gradient is finite: d Σs = U Vh at a = I."""
    for f in (lambda a: np.linalg.svd(a)[1].sum(), lambda a: np.linalg.svdvals(a).sum(),
              lambda a: np.linalg.svd(a, compute_uv=False).sum()):
        close(tracejit.grad(f)(np.eye(3)), np.eye(3))
        a = rand(3, 4, seed=5)
        close(tracejit.grad(f)(a), num_jac(f, a), rtol=1e-6, atol=1e-8)


def gauge_free(a, xp=np):
    """A function of u and vh that their sign choice does not change."""
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return (u[..., :, 0] ** 2 * xp.arange(1.0, u.shape[-2] + 1)).sum() \
        + (vh[..., 1, :] ** 4).sum() + (s ** 3).sum()


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
def test_svd_vectors_gradients(shape):
    a = rand(*shape, seed=6)
    close(tracejit.grad(gauge_free)(a), num_jac(gauge_free, a), rtol=1e-6, atol=1e-8)


def test_svd_second_order():
    a = rand(3, 4, seed=7)
    f = lambda a: np.linalg.norm(a, "nuc") + gauge_free(a)  # noqa: E731
    close(tracejit.hessian(f)(a), num_jac(tracejit.grad(f), a), rtol=1e-6, atol=1e-7)


def test_svd_jvp_matches_jacobian():
    a, t = rand(4, 3, seed=8), rand(4, 3, seed=9)
    f = lambda a: np.linalg.svd(a, full_matrices=False)  # noqa: E731
    _, tangents = tracejit.jvp(lambda a: tuple(f(a)), (a,), (t,))
    for k, tangent in enumerate(tangents):
        jac = tracejit.jacobian(lambda a, k=k: f(a)[k])(a)
        close(tangent, np.tensordot(jac, t, 2), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
@pytest.mark.parametrize("complex_", [False, True], ids=["f8", "c16"])
def test_svd_vjp_vs_jax(jax_x64, shape, complex_):
    a = rand(*shape, seed=10, complex_=complex_)
    outs = np.linalg.svd(a, full_matrices=False)
    cts = tuple(rand(*o.shape, seed=11 + k, complex_=complex_ and o.dtype.kind == "c")
                for k, o in enumerate(outs))
    _, pullback = tracejit.vjp(lambda a: tuple(np.linalg.svd(a, full_matrices=False)), a)
    _, jax_pullback = jax_x64.vjp(
        lambda a: tuple(jax_x64.numpy.linalg.svd(a, full_matrices=False)), a)
    close(pullback(cts)[0], jax_pullback(cts)[0], rtol=1e-11, atol=1e-12)


def test_complex_svdvals_follow_jax_convention():
    """For a real function of complex a, grad is ∂f/∂Re a - i ∂f/∂Im a (as JAX's)."""
    a = rand(3, 2, seed=12, complex_=True)
    w = np.array([1.0, -2.0])
    f = lambda a: (np.linalg.svdvals(a) * w).sum()  # noqa: E731
    re = num_jac(lambda x: f(x + 1j * a.imag), a.real)
    im = num_jac(lambda y: f(a.real + 1j * y), a.imag)
    close(tracejit.grad(f)(a), re - 1j * im, rtol=1e-6, atol=1e-8)


def test_full_matrices_vectors_are_not_differentiable():
    with pytest.raises(errors.NotDifferentiableError, match="full_matrices=False"):
        tracejit.grad(lambda a: np.linalg.svd(a)[0].sum())(rand(3, 2))
    square = rand(3, 3)  # full and thin factors coincide
    f = lambda a: gauge_free(a) + (np.linalg.svd(a)[2][0] ** 2).sum()  # noqa: E731
    close(tracejit.grad(f)(square), num_jac(f, square), rtol=1e-6, atol=1e-8)


def test_svd_gradient_on_the_numba_backend():
    a = rand(4, 3, seed=13)
    g = tracejit.jit(tracejit.grad(gauge_free), backend="numba")(a)
    close(g, tracejit.grad(gauge_free)(a), rtol=1e-12, atol=1e-13)
    g = tracejit.jit(tracejit.grad(np.linalg.det), backend="numba")(SINGULAR["rank2"])
    close(g, cofactors(SINGULAR["rank2"]), atol=1e-13)
