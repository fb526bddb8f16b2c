"""Semantics of `tracejit.grad` and friends (JAX's), on the NumPy interpreter backend.

Derivatives are checked against hand-derived values (exact where the arithmetic is) or
central finite differences (`num_jac`); subgradient conventions are JAX's.
A few tests run on the Numba backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import num_jac

import tracejit
from tracejit import errors
from tracejit.autodiff import rules
from tracejit.graph import OPS

# --- helpers ----------------------------------------------------------------------------


def close(actual, expected, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def rand(*shape, seed=0, low=None):
    """Reproducible test data: normal, or uniform on [low, 1) when `low` is given."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) if low is None else rng.uniform(low, 1, size=shape)


def spd(n, seed=0):
    m = rand(n, n, seed=seed)
    return m @ m.T + n * np.eye(n)


def set_items(x, idx, v):
    x = x.copy()
    x[idx] = v
    return x


def inplace_scale(x):
    x = x.copy()
    x[1:] *= 2
    return x.sum()


def add_at(x, v):
    x = x.copy()
    np.add.at(x, [0, 0, 2], v)
    return (x ** 2).sum()


# --- argnums, has_aux, value_and_grad -----------------------------------------------------


def test_grad_single_argnum_shape_and_dtype():
    for dtype in (np.float64, np.float32):
        x = np.arange(6, dtype=dtype).reshape(2, 3)
        g = tracejit.grad(lambda x: (x * x).sum() * 0.5)(x)
        assert type(g) is np.ndarray and g.shape == x.shape and g.dtype == dtype
        np.testing.assert_array_equal(g, x)


def test_grad_argnums_tuple_and_negative():
    f = lambda x, y, z: (x * y ** 2).sum() + z
    x, y = np.arange(3.0), np.array([1.0, 2.0, 3.0])
    gx, gz = tracejit.grad(f, argnums=(0, 2))(x, y, 5.0)
    np.testing.assert_array_equal(gx, y ** 2)
    assert gz == 1.0
    (gy,) = tracejit.grad(f, argnums=(1,))(x, y, 5.0)  # a 1-tuple stays a tuple
    np.testing.assert_array_equal(gy, 2 * x * y)
    np.testing.assert_array_equal(tracejit.grad(f, argnums=-2)(x, y, 5.0), 2 * x * y)
    with pytest.raises(TypeError, match="out of range"):
        tracejit.grad(lambda x: x, argnums=1)(2.0)
    with pytest.raises(ValueError):
        tracejit.grad(lambda x: x, argnums=())(2.0)


def test_has_aux_and_value_and_grad():
    f = lambda x: ((x ** 2).sum(), {"double": x * 2})
    x = np.array([1.0, -2.0])
    g, aux = tracejit.grad(f, has_aux=True)(x)
    np.testing.assert_array_equal(g, 2 * x)
    np.testing.assert_array_equal(aux["double"], 2 * x)
    (value, aux), g = tracejit.value_and_grad(f, has_aux=True)(x)
    assert value == 5.0
    np.testing.assert_array_equal(aux["double"], 2 * x)
    np.testing.assert_array_equal(g, 2 * x)
    value, (g0, g1) = tracejit.value_and_grad(lambda a, b: a @ b, argnums=(0, 1))(x, 3 * x)
    assert value == 15.0
    np.testing.assert_array_equal(g0, 3 * x)
    np.testing.assert_array_equal(g1, x)
    value, g = tracejit.value_and_grad(lambda a: (a * a).sum())(np.ones(3, np.float32))
    assert value.dtype == np.float32 and g.dtype == np.float32


# --- pytrees and scalar kinds ----------------------------------------------------------------


def test_pytree_arguments():
    def loss(p, x):
        return ((x @ p["w"] + p["b"]) ** 2).sum()

    p = {"w": rand(3, 2), "b": rand(2, seed=1)}
    x = rand(4, 3, seed=2)
    g = tracejit.grad(loss)(p, x)
    assert list(g) == ["w", "b"]
    r = 2 * (x @ p["w"] + p["b"])
    close(g["w"], x.T @ r)
    close(g["b"], r.sum(axis=0))
    f = lambda p: (p[0]["a"] * p[1][0]).sum() + 2 * p[1][1]
    p = [{"a": np.array([1.0, 2.0])}, (np.array([3.0, 4.0]), 3.0)]
    g = tracejit.grad(f)(p)
    assert isinstance(g, list) and isinstance(g[0], dict) and isinstance(g[1], tuple)
    np.testing.assert_array_equal(g[0]["a"], [3.0, 4.0])
    np.testing.assert_array_equal(g[1][0], [1.0, 2.0])
    assert type(g[1][1]) is float and g[1][1] == 2.0


def test_scalar_argument_kinds():
    g = tracejit.grad(lambda x, y: x * y ** 2, argnums=(0, 1))(2.0, 3.0)
    assert all(type(v) is float for v in g) and g == (9.0, 12.0)
    g = tracejit.grad(lambda x: x ** 2)(np.float64(3.0))
    assert type(g) is np.float64 and g == 6.0
    g = tracejit.grad(lambda x: x ** 2)(np.float32(3.0))
    assert type(g) is np.float32 and g == 6.0
    g = tracejit.grad(lambda x: x ** 2)(np.array(3.0))
    assert type(g) is np.ndarray and g.shape == () and g == 6.0


def test_complex_inputs_follow_jax_convention():
    z = np.array([1 + 2j, -0.5 + 0.3j])
    close(tracejit.grad(lambda z: np.abs(z).sum())(z), np.conj(z) / np.abs(z), rtol=1e-15)
    close(tracejit.grad(lambda z: np.real(z * np.conj(z)).sum())(z), 2 * np.conj(z))
    close(tracejit.grad(lambda z: np.real(z ** 2).sum())(z), 2 * z)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", [np.arange(3), np.ones(3, bool), 3], ids=["int", "bool", "pyint"])
def test_non_float_argument_raises(arg):
    assert issubclass(errors.NotDifferentiableError, TypeError)
    with pytest.raises(errors.NotDifferentiableError, match="floating-point"):
        tracejit.grad(lambda a: (a * 1.0).sum())(arg)


def test_non_float_argument_outside_argnums_is_fine():
    g = tracejit.grad(lambda x, i, n: (x[i] ** n).sum())(np.arange(4.0), np.array([0, 3]), 2)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 6.0])


def test_bad_outputs_and_ops_raise():
    with pytest.raises(TypeError, match="jacobian"):
        tracejit.grad(lambda a: a * 2.0)(np.ones(3))
    with pytest.raises(TypeError, match="vjp"):
        tracejit.grad(lambda a: a * 2.0)(np.ones(1))
    with pytest.raises(TypeError, match="scalar output"):
        tracejit.grad(lambda a: (a > 0).sum())(np.ones(3))
    with pytest.raises(errors.NotDifferentiableError, match="logaddexp"):
        tracejit.grad(lambda a: np.logaddexp.accumulate(a).sum())(np.ones(3))


# --- composition -------------------------------------------------------------------------


@pytest.mark.parametrize("f, d2", [
    (lambda x: np.sin(x), lambda x: -np.sin(x)),
    (lambda x: np.exp(x), np.exp),
    (lambda x: x ** 3, lambda x: 6 * x),
    (lambda x: np.tanh(x), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
], ids=["sin", "exp", "cube", "tanh"])
def test_second_derivatives(f, d2):
    for x in (0.7, -1.3):
        close(tracejit.grad(tracejit.grad(f))(x), d2(x), rtol=1e-14)


def test_third_derivative():
    d3 = tracejit.grad(tracejit.grad(tracejit.grad(lambda x: np.sin(x))))
    assert d3(0.4) == pytest.approx(-np.cos(0.4), rel=1e-14)


@pytest.mark.parametrize("f, x, want", [
    # jit/grad leave parameters at their defaults out of the call: a ufunc rejects
    # signature=None with dtype=None, np.max reads keepdims=np._NoValue as "not given"
    pytest.param(np.sin, 0.4, np.cos(0.4)),
    pytest.param(np.max, np.array([1.0, 3.0, 3.0]), [0, 0.5, 0.5]),
], ids=["sin", "max"])
def test_grad_of_numpy_function_directly(f, x, want):
    close(tracejit.grad(f)(x), want)


def test_jit_and_grad_compose():
    f = lambda x: np.tanh(x).sum()
    x = np.array([0.3, -1.0])
    want = 1 - np.tanh(x) ** 2
    close(tracejit.jit(tracejit.grad(f))(x), want, rtol=1e-15)
    close(tracejit.grad(tracejit.jit(f))(x), want, rtol=1e-15)
    inner = tracejit.jit(lambda x: np.exp(x))
    close(tracejit.grad(lambda x: inner(x).sum() * 2)(x), 2 * np.exp(x), rtol=1e-15)


@pytest.mark.filterwarnings("error::tracejit.errors.BackendFallbackWarning")
def test_numba_backend_composes():
    f = lambda x: (np.tanh(x) * x).sum()
    x = np.array([0.3, -1.0, 2.0])
    want = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    close(tracejit.jit(tracejit.grad(f), backend="numba")(x), want, rtol=1e-14)
    close(tracejit.grad(tracejit.jit(f, backend="numba"))(x), want, rtol=1e-14)


def test_hessian_quadratic_and_general():
    a, b = rand(3, 3), rand(3, seed=1)
    h = tracejit.hessian(lambda x: 0.5 * x @ a @ x + b @ x)(rand(3, seed=2))
    close(h, (a + a.T) / 2, rtol=1e-14)
    f = lambda x: np.sin(x).prod() + np.exp(x[0] * x[1])
    x = np.array([0.3, 0.5, 0.7])
    h = tracejit.hessian(f)(x)
    close(h, num_jac(tracejit.grad(f), x), rtol=1e-6)
    close(h, h.T, rtol=1e-14)


def test_jacobian_shapes_and_values():
    f = lambda x: np.stack([x[0] * x[1], np.sin(x[2])])
    x = np.array([2.0, 3.0, 0.5])
    j = tracejit.jacobian(f)(x)
    np.testing.assert_array_equal(j, [[3.0, 2.0, 0.0], [0.0, 0.0, np.cos(0.5)]])
    m = rand(2, 3)
    j = tracejit.jacobian(lambda m: np.tanh(m @ m.T))(m)
    assert j.shape == (2, 2, 2, 3)
    close(j, num_jac(lambda m: np.tanh(m @ m.T), m), rtol=1e-6)
    jx, jy = tracejit.jacobian(lambda x, y: x * y, argnums=(0, 1))(np.ones(2), np.arange(2.0))
    np.testing.assert_array_equal(jx, np.diag([0.0, 1.0]))
    np.testing.assert_array_equal(jy, np.eye(2))


# --- vjp, jvp ----------------------------------------------------------------------------


def test_vjp_tuple_of_cotangents_and_pytree_output():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    out, vjp_fn = tracejit.vjp(lambda x, y: x * y, x, y)
    np.testing.assert_array_equal(out, x * y)
    cts = vjp_fn(np.array([1.0, 10.0]))
    assert isinstance(cts, tuple) and len(cts) == 2
    np.testing.assert_array_equal(cts[0], [3.0, 50.0])
    np.testing.assert_array_equal(cts[1], [1.0, 20.0])
    with pytest.raises(ValueError, match="shape"):
        vjp_fn(np.ones(3))
    out, vjp_fn = tracejit.vjp(lambda x: {"a": x * 2, "b": (x ** 2).sum()}, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out["a"], [2.0, 4.0])
    (ct,) = vjp_fn({"a": np.array([1.0, 2.0]), "b": 1.0})
    np.testing.assert_array_equal(ct, [2.0 + 2.0, 4.0 + 4.0])


def test_vjp_of_a_function_that_mutates_an_argument():
    def f(x, buf):
        buf += 1.0
        return x * buf

    x, buf = np.array([1.0, 2.0]), np.zeros(2)
    out, vjp_fn = tracejit.vjp(f, x, buf)
    np.testing.assert_array_equal(buf, [1.0, 1.0])
    ct_x, _ = vjp_fn(np.ones(2))
    np.testing.assert_array_equal(buf, [1.0, 1.0])  # mutated once, as f(x, buf) would
    np.testing.assert_array_equal(ct_x, [1.0, 1.0])  # d out / d x at the buf out saw


def test_jvp_against_finite_differences_and_jacobian():
    f = lambda x: np.sin(x[:-1]) * np.exp(x[1:]) / (1 + x.sum())
    x, t = rand(4, low=0.1), rand(4, seed=1)
    out, t_out = tracejit.jvp(f, (x,), (t,))
    close(out, f(x), rtol=1e-15)
    close(t_out, num_jac(f, x) @ t, rtol=1e-6)
    close(t_out, tracejit.jacobian(f)(x) @ t, rtol=1e-13)
    assert tracejit.jvp(lambda x: x ** 2, (3.0,), (1.0,)) == (9.0, 6.0)


@pytest.mark.parametrize("name", ["max", "prod", "cumprod", "solve", "inv", "det", "chol",
                                  "gather", "scatter", "clip", "cummax", "svdvals"])
def test_jvp_derived_from_vjp(name):
    """Ops with no JVP rule get one by transposing the VJP: it must equal J @ t."""
    eye = 3 * np.eye(2)
    f = {"max": lambda x: np.max(x.reshape(2, 3), axis=1),
         "prod": lambda x: np.prod(x.reshape(2, 3), axis=0),
         "cumprod": np.cumprod,
         "solve": lambda x: np.linalg.solve(x[:4].reshape(2, 2) + eye, x[4:]),
         "inv": lambda x: np.linalg.inv(x[:4].reshape(2, 2) + eye).ravel(),
         "det": lambda x: np.linalg.det(x[:4].reshape(2, 2) + eye) * x[4:],
         "chol": lambda x: np.linalg.cholesky(x[:4].reshape(2, 2) + eye).ravel(),
         "gather": lambda x: x[[0, 0, 5]] * x[[1, 2, 3]],
         "scatter": lambda x: set_items(x[:4], [0, 0], x[4:]),
         "clip": lambda x: np.clip(x, 0.2, 0.8),
         "cummax": np.maximum.accumulate,
         "svdvals": lambda x: np.linalg.svdvals(x.reshape(2, 3))}[name]
    x, t = 0.8 * rand(6, low=0.1), rand(6, seed=1)
    out, t_out = tracejit.jvp(f, (x,), (t,))
    close(t_out, tracejit.jacobian(f)(x) @ t, rtol=1e-12)
    close(t_out, num_jac(f, x) @ t, rtol=1e-6)


# --- gradients through ops -------------------------------------------------------------------

EXACT = {  # f, args, argnums, expected gradient(s)
    "broadcast": (lambda a, b: (a + b).sum(), (np.ones((3, 1)), np.ones(4)), (0, 1),
                  (np.full((3, 1), 4.0), np.full(4, 3.0))),
    "sum_axis_keepdims": (lambda a: (a.sum(axis=1, keepdims=True) ** 2).sum(),
                          (np.arange(6.0).reshape(2, 3),), 0, np.repeat([[6.0], [24.0]], 3, 1)),
    "mean_axis": (lambda a: a.mean(axis=0).sum(), (np.ones((2, 3)),), 0, np.full((2, 3), 0.5)),
    "max_ties": (lambda x: np.max(x), (np.array([1.0, 3.0, 3.0]),), 0, [0.0, 0.5, 0.5]),
    "max_axis_ties": (lambda a: np.max(a, axis=1).sum(), (np.array([[1.0, 2, 2], [5, 3, 0]]),),
                      0, [[0.0, 0.5, 0.5], [1, 0, 0]]),
    "min_keepdims": (lambda a: (np.min(a, axis=0, keepdims=True) * [[1.0, 2, 3]]).sum(),
                     (np.array([[1.0, 2, 2], [5, 2, 0]]),), 0, [[1.0, 1, 0], [0, 1, 3]]),
    "maximum_tie": (lambda x, y: np.maximum(x, y), (2.0, 2.0), (0, 1), (0.5, 0.5)),
    "abs_at_0": (lambda x: np.abs(x), (0.0,), 0, 1.0),
    "clip": (lambda x: np.clip(x, 0.0, 1.0).sum(), (np.array([-1.0, 0, 0.5, 1, 2]),), 0,
             [0.0, 0.5, 1, 0.5, 0]),
    "slice": (lambda a: (a[1:, ::2] ** 2).sum(), (np.arange(12.0).reshape(3, 4),), 0,
              [[0.0, 0, 0, 0], [8, 0, 12, 0], [16, 0, 20, 0]]),
    "reverse": (lambda a: (a[::-1] * np.arange(4.0)).sum(), (np.ones(4),), 0, [3.0, 2, 1, 0]),
    "gather_repeated": (lambda x: x[[0, 0, 1]].sum(), (np.arange(4.0),), 0, [2.0, 1, 0, 0]),
    "setitem_repeated": (lambda x, v: (set_items(x, [0, 0, 2], v) * [1.0, 2, 3, 4]).sum(),
                         (np.ones(4), np.array([10.0, 20, 30])), (0, 1),
                         ([0.0, 2, 0, 4], [0.0, 1, 3])),  # v[0] is overwritten by v[1]
    "inplace_update": (inplace_scale, (np.ones(4),), 0, [1.0, 2, 2, 2]),
    "add_at": (add_at, (np.ones(4), np.array([1.0, 2, 3])), (0, 1), ([8.0, 2, 8, 2], [8.0] * 3)),
    "concatenate": (lambda a, b: (np.concatenate([a, b]) * np.arange(5.0)).sum(),
                    (np.ones(2), np.ones(3)), (0, 1), ([0.0, 1], [2.0, 3, 4])),
    "stack": (lambda a, b: (np.stack([a, b]) * np.arange(6.0).reshape(2, 3)).sum(),
              (np.ones(3), np.ones(3)), (0, 1), ([0.0, 1, 2], [3.0, 4, 5])),
    "split": (lambda a: (np.split(a, 3)[1] * 2).sum(), (np.ones(6),), 0, [0.0, 0, 2, 2, 0, 0]),
    "where": (lambda a: np.where(a > 0, a ** 2, -a).sum(), (np.array([-1.0, 2]),), 0, [-1.0, 4]),
    "matmul_1d": (lambda a, b: a @ b, (np.arange(3.0), np.ones(3)), (0, 1),
                  (np.ones(3), np.arange(3.0))),
    "matmul_batched": (lambda a, b: (a @ b).sum(), (np.ones((2, 3, 4)), np.ones((4, 5))), (0, 1),
                       (np.full((2, 3, 4), 5.0), np.full((4, 5), 6.0))),
    "einsum_ij_jk": (lambda a, b: np.einsum("ij,jk->ik", a, b).sum(),
                     (np.ones((2, 3)), np.arange(12.0).reshape(3, 4)), (0, 1),
                     (np.repeat([[6.0, 22, 38]], 2, 0), np.full((3, 4), 2.0))),
    "cumsum": (lambda a: (np.cumsum(a) * np.arange(4.0)).sum(), (np.ones(4),), 0, [6.0, 6, 5, 3]),
    "cumprod_zero": (lambda a: np.cumprod(a).sum(), (np.array([2.0, 0, 3, 4]),), 0,
                     [1.0, 32, 0, 0]),  # d/da1 = a0 + a0 a2 + a0 a2 a3
    "cumprod_axis_zero": (lambda a: np.cumprod(a, axis=1).sum(),
                          (np.array([[1.0, 0, 2], [2, 3, 0]]),), 0, [[1.0, 3, 0], [4, 2, 6]]),
    "prod_zero": (lambda x: np.prod(x), (np.array([2.0, 0, 3, 4]),), 0, [0.0, 24, 0, 0]),
    "prod_two_zeros": (lambda x: np.prod(x), (np.array([2.0, 0, 3, 0]),), 0, [0.0] * 4),
}


@pytest.mark.parametrize("name", list(EXACT))
def test_exact_gradients(name):
    f, args, argnums, want = EXACT[name]
    got = tracejit.grad(f, argnums=argnums)(*args)
    if isinstance(argnums, tuple):
        assert len(got) == len(want)
        for g, w, i in zip(got, want, argnums, strict=True):
            np.testing.assert_array_equal(g, w)
            assert np.shape(g) == np.shape(args[i])
    else:
        np.testing.assert_array_equal(got, want)
        assert np.shape(got) == np.shape(args[argnums])


@pytest.mark.parametrize("spec", ["ij->", "ij->i", "ij->j", "ij,k->", "ij,k->ik", "ii->",
                                  "ii->i"])
def test_einsum_reductions_and_diagonals(spec):
    """Letters only one operand has are summed away: their gradient comes back broadcast
    (a regression test: this raised TraceShapeError in the first version)."""
    x = np.arange(9.0).reshape(3, 3) / 9
    rest = (np.linspace(1, 2, 4),) if "," in spec else ()
    f = lambda a: (np.einsum(spec, a, *rest) ** 2).sum()
    close(tracejit.grad(f)(x), num_jac(f, x), rtol=1e-6)


LINALG = {
    "solve_vec": lambda a: (np.linalg.solve(a, np.arange(1.0, 4.0)) ** 2).sum(),
    "solve_mat": lambda a: (np.linalg.solve(a, a[:, :2] * 2 + 1) ** 2).sum(),
    "inv": lambda a: (np.linalg.inv(a) * np.arange(9.0).reshape(3, 3)).sum(),
    "det": lambda a: np.linalg.det(a),
    "slogdet": lambda a: np.linalg.slogdet(a)[1],
    "cholesky": lambda a: (np.linalg.cholesky(a) * np.arange(1.0, 10.0).reshape(3, 3)).sum(),
}


@pytest.mark.parametrize("name", list(LINALG))
def test_linalg_gradients(name):
    f, a = LINALG[name], spd(3)
    g = tracejit.grad(f)(a)
    close(g, num_jac(f, a), rtol=1e-6, atol=1e-8)
    if name == "cholesky":  # NumPy reads only the lower triangle
        assert np.all(g[np.triu_indices(3, 1)] == 0)
    if name == "det":
        close(g, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12)


def test_mutating_a_non_differentiated_argument():
    """grad(f) performs f's mutations of its arguments, on every call (traced or cached)."""

    def f(x, buf):
        buf += x
        return (x ** 2).sum()

    g, buf = tracejit.grad(f), np.zeros(2)
    for k in (1, 2):
        np.testing.assert_array_equal(g(np.array([1.0, 2.0]), buf), [2.0, 4.0])
        np.testing.assert_array_equal(buf, [k, 2.0 * k])

    def h(x):  # mutating the differentiated argument: differentiates the new value's use
        x *= 2
        return (x ** 2).sum()

    x = np.ones(2)
    np.testing.assert_array_equal(tracejit.grad(h)(x), [8.0, 8.0])
    np.testing.assert_array_equal(x, [2.0, 2.0])


# --- rule tables and graphs ------------------------------------------------------------------


def test_every_op_has_a_derivative_decision():
    covered = set(rules.VJP) | rules.NONDIFF | set(rules.NO_RULE)
    assert set(OPS) - covered == set()
    assert covered - set(OPS) == set(), "rules for ops that do not exist"
    assert set(rules.JVP) <= set(rules.VJP)  # the others derive theirs from the VJP
    assert not (set(rules.VJP) & rules.NONDIFF) and not (set(rules.VJP) & set(rules.NO_RULE))


def test_grad_graph_keeps_only_needed_forward_values():
    f = lambda x: np.sum(np.sin(x)) + np.sum(np.exp(x))
    x = np.linspace(0, 1, 5)
    ops = [e.op for e in tracejit.grad(f).graph(x).eqns]
    assert "sin" not in ops and "sum" not in ops  # the loss value is dead in grad
    assert "cos" in ops and "exp" in ops  # exp's output is its own derivative
    ops = [e.op for e in tracejit.value_and_grad(f).graph(x).eqns]
    assert "sin" in ops and "sum" in ops


def test_jvp_tangent_dtype_must_match_primal():
    with pytest.raises(TypeError, match="tangents must have their primals' dtypes"):
        tracejit.jvp(np.sin, (np.ones(3),), (np.ones(3, np.float32),))
    _, t = tracejit.jvp(np.sin, (np.zeros(3, np.float32),), (np.ones(3, np.float32),))
    assert t.dtype == np.float32
