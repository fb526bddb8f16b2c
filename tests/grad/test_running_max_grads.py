"""Derivatives of the running max/min (`np.maximum.accumulate` and its kin).

Row i of the Jacobian is the max rule on x[:i+1]: the cotangent of y_i is shared evenly
by the elements of the prefix equal to y_i. Checked against hand-derived values (exact
shares at ties), central differences and, where JAX is installed, `jax.lax.cummax`.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import num_jac

import tracejit


def close(actual, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_cummax_ties_share_evenly():
    """Row i of the Jacobian is the max rule on x[:i+1]: equal shares of the ties."""
    jac = tracejit.jacobian(np.maximum.accumulate)(np.full(4, 2.0))
    np.testing.assert_array_equal(jac, np.tril(np.ones((4, 4))) / np.arange(1.0, 5)[:, None])


@pytest.mark.parametrize("name, f, x, want", [
    ("cummax", lambda x: (np.maximum.accumulate(x) * [1.0, 2, 3, 4]).sum(),
     [1.0, 3, 3, 2], [1.0, 5.5, 3.5, 0]),
    ("cummin-axis", lambda x: (np.minimum.accumulate(x, axis=1) * [1.0, 2, 3, 6, 4]).sum(),
     [[2.0, 1, 1, 1, 1], [0, 5, 0, -1, -1]], [[1.0, 6.5, 4.5, 3, 1], [4.5, 0, 1.5, 8, 2]]),
    ("cummax-axis0", lambda x: (np.maximum.accumulate(x, axis=0) * [[1.0], [2], [4]]).sum(),
     [[1.0, 2], [1, 3], [0, 3]], [[1.0 + 1 + 2, 1], [1 + 2, 2 + 2], [0, 2]]),
    ("nan-takes-its-own", lambda x: np.maximum.accumulate(x).sum(),
     [1.0, np.nan, 2, np.nan], [1.0, 1, 0, 1]),
    ("fmax-skips-nan", lambda x: np.fmax.accumulate(x).sum(), [np.nan, 2.0, np.nan, 1],
     [1.0, 3, 0, 0]),
    ("fmin", lambda x: np.fmin.accumulate(x).sum(), [3.0, 1, 2, 0], [1.0, 2, 0, 1]),
])
def test_running_max_min_exact_gradients(name, f, x, want):
    np.testing.assert_array_equal(tracejit.grad(f)(np.array(x)), want)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum])
def test_running_max_min_vs_finite_differences(ufunc, axis):
    x, c = rand(5, 6, seed=14), rand(5, 6, seed=15)
    f = lambda x: (ufunc.accumulate(x, axis=axis) * c).sum()  # noqa: E731
    close(tracejit.grad(f)(x), num_jac(f, x), rtol=1e-7, atol=1e-9)
    t = rand(5, 6, seed=16)
    _, tangent = tracejit.jvp(lambda x: ufunc.accumulate(x, axis=axis), (x,), (t,))
    close(tangent, np.tensordot(num_jac(lambda x: ufunc.accumulate(x, axis=axis), x), t, 2),
          rtol=1e-7, atol=1e-9)


def test_running_max_float32_and_empty():
    g = tracejit.grad(lambda x: np.maximum.accumulate(x).sum())(np.array([1.0, 3, 2], np.float32))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [1.0, 2, 0])
    g = tracejit.grad(lambda x: np.maximum.accumulate(x, axis=0).sum())(np.zeros((0, 3)))
    assert g.shape == (0, 3)


def test_running_max_second_order():
    """Piecewise linear: the Hessian of Σ cummax(x)² is 2 Jᵀ J."""
    x = np.array([1.0, 3, 2, 5])
    h = tracejit.hessian(lambda x: (np.maximum.accumulate(x) ** 2).sum())(x)
    jac = tracejit.jacobian(np.maximum.accumulate)(x)
    np.testing.assert_array_equal(h, 2 * jac.T @ jac)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "two-way-ties"])
def test_running_max_vs_jax(jax_x64, ties):
    """JAX's cummax splits a tie of two evenly too (wider ties: by its scan tree's shape)."""
    rng = np.random.default_rng(17)
    x = rng.permutation(40).reshape(5, 8).astype(float) if not ties else \
        np.array([[1.0, 3, 3, 0, 4, 2, 4, 5], [2, 2, 1, 0, 3, 1, 3, 0]])
    c = rand(*x.shape, seed=18)
    lax = jax_x64.lax
    want = jax_x64.grad(lambda x: (lax.cummax(x, axis=1) * c).sum())(x)
    close(tracejit.grad(lambda x: (np.maximum.accumulate(x, axis=1) * c).sum())(x), want)
    want = jax_x64.grad(lambda x: (lax.cummin(x, axis=0) * c).sum())(-x)
    close(tracejit.grad(lambda x: (np.minimum.accumulate(x, axis=0) * c).sum())(-x), want)


def test_running_max_on_the_numba_backend():
    x = np.array([[1.0, 3, 3, 2], [0, -1, 4, 4]])
    f = lambda x: (np.maximum.accumulate(x, axis=1) * [1.0, 2, 3, 4]).sum()  # noqa: E731
    np.testing.assert_array_equal(tracejit.jit(tracejit.grad(f), backend="numba")(x),
                                  tracejit.grad(f)(x))
