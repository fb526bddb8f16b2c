"""jit's calling convention and its trace cache."""

from __future__ import annotations

import warnings

import numpy as np

import tracejit


def test_issue_example_step():
    def step(U, V, Du, F):
        u = U[1:-1, 1:-1]
        Lu = U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * u
        u += Du * Lu - u * V[1:-1, 1:-1] ** 2 + F * (1 - u)
        return np.linalg.norm(u, axis=1), float(Du)

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        U, V = rng.random((8, 9)).astype(dtype), rng.random((8, 9)).astype(dtype)
        U_np, U_jit = U.copy(), U.copy()
        expected = step(U_np, V, 0.1, 0.04)
        jitted = tracejit.jit(step)
        got = jitted(U_jit, V, 0.1, 0.04)
        assert type(got) is tuple and type(got[1]) is float and got[1] == 0.1
        assert got[0].dtype == expected[0].dtype == dtype
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
        np.testing.assert_array_equal(U_jit, U_np)
        jitted(U_jit, V, 0.1, 0.04)
        info = jitted.cache_info()
        assert (info.hits, info.misses, info.size) == (1, 1, 1)


def test_retrace_counts():
    traces = []

    @tracejit.jit
    def f(x, n):
        traces.append(1)
        return x * n

    f(np.ones(3), 2)
    f(np.ones(3), 2)  # hit
    f(np.zeros(3), 2)  # same shape and dtype: hit
    assert len(traces) == 1
    f(np.ones(4), 2)  # new shape
    f(np.ones(3, np.float32), 2)  # new dtype
    f(np.ones(3), 3)  # new static int
    assert len(traces) == 4
    info = f.cache_info()
    assert (info.hits, info.misses, info.size) == (2, 4, 4)
    f.cache_clear()
    assert f.cache_info().size == 0
    f(np.ones(3), 2)
    assert len(traces) == 5


def test_floats_are_traced_not_static():
    traces = []

    @tracejit.jit
    def f(x, a):
        traces.append(1)
        return x * a

    for a in (0.5, 1.5, 2.5):
        np.testing.assert_array_equal(f(np.ones(2, np.float32), a), np.ones(2, np.float32) * a)
    assert len(traces) == 1
    assert f(np.ones(2, np.float32), 2.0).dtype == np.float32  # weak Python float


def test_float_used_concretely_becomes_static():
    @tracejit.jit
    def f(x, a):
        if a > 1.0:
            return x + a
        return x - a

    assert f(np.ones(2), 2.0).tolist() == [3.0, 3.0]
    assert f(np.ones(2), 0.5).tolist() == [0.5, 0.5]


def test_static_argnames_and_warning_after_many_values():
    @tracejit.jit
    def f(x, n):
        return x[:n].sum()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 11):
            assert f(np.arange(12.0), n) == np.arange(12.0)[:n].sum()
    recompiles = [w for w in caught if issubclass(w.category, tracejit.RecompilationWarning)]
    assert len(recompiles) == 1
    assert "np.asarray" in str(recompiles[0].message)

    g = tracejit.jit(lambda x, mode: x * 2 if mode == "double" else x,
                     static_argnames="mode")
    assert g(np.ones(2), "double").tolist() == [2.0, 2.0]
    assert g(np.ones(2), "same").tolist() == [1.0, 1.0]


def test_containers_keywords_and_defaults():
    @tracejit.jit
    def f(params, x, *, scale=2.0, flags=None):
        h = x @ params["w"] + params["b"]
        return {"h": h * scale, "parts": [h.sum(), (h.max(), 3)], "flags": flags}

    params = {"w": np.ones((3, 2)), "b": np.arange(2.0)}
    x = np.arange(6.0).reshape(2, 3)
    out = f(params, x, scale=0.5)
    assert list(out) == ["h", "parts", "flags"]
    assert isinstance(out["parts"], list) and isinstance(out["parts"][1], tuple)
    assert out["parts"][1][1] == 3 and out["flags"] is None
    assert isinstance(out["parts"][0], np.float64)
    np.testing.assert_array_equal(out["h"], (x @ params["w"] + params["b"]) * 0.5)


def test_scalar_kinds_match_numpy():
    def f(x, a):
        return x.sum(), x[0], x[0:1], np.sin(a), a * 2, x.reshape(()), np.float32(1) + a

    x = np.array([1.5])
    expected = f(x, 0.25)
    got = tracejit.jit(f)(x, 0.25)
    for e, g in zip(expected, got, strict=True):
        assert type(e) is type(g), (e, g)
        assert np.asarray(e).dtype == np.asarray(g).dtype
        np.testing.assert_array_equal(e, g)


def test_calls_inline_helpers_and_other_jitted_functions():
    @tracejit.jit
    def inner(x):
        return np.exp(x) - 1

    def helper(x):
        return inner(x) * 2

    @tracejit.jit
    def outer(x):
        return helper(x) + inner(x)

    x = np.linspace(0, 1, 5)
    np.testing.assert_allclose(outer(x), 3 * (np.exp(x) - 1))
    assert inner.cache_info().misses == 0  # inlined into outer's trace, never compiled


def test_methods_and_decorator_forms():
    class Model:
        def __init__(self):
            self.w = np.array([1.0, 2.0])

        @tracejit.jit
        def predict(self, x):
            return x * self.w

    model = Model()  # self is static (hashed by identity); self.w is read at call time
    assert model.predict(np.ones(2)).tolist() == [1.0, 2.0]
    model.w[:] = [3.0, 4.0]
    assert model.predict(np.ones(2)).tolist() == [3.0, 4.0]
    f = tracejit.jit(backend="numpy")(lambda x: x + 1)
    assert f(np.zeros(1)).tolist() == [1.0]


def test_numpy_scalars_are_strong_python_scalars_weak():
    def f(x):
        return x * np.float64(2), x * 2.0, x + np.int64(1), x + 1

    x = np.ones(3, np.float32)
    for got, expected in zip(tracejit.jit(f)(x), f(x), strict=True):
        assert got.dtype == expected.dtype
