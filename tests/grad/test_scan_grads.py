"""Derivatives through `scan` (backprop through time, forward mode) and what `while`
refuses.

Each model is written once over a namespace (`np` with tracejit's loops, or `jax.numpy`
with `jax.lax`'s), so tracejit's derivatives are checked against central differences of
the plain loop (tracejit's loop API outside a trace is a Python loop) and against JAX in
float64. Graph-level tests check that the backward pass is a loop (no unrolling), what is
stored per step, and that the forward loop runs once.
"""

from __future__ import annotations

import numpy as np
import pytest

import tracejit
from tracejit import errors

EPS = 1e-6
RTOL = 1e-10  # against JAX: same formulas, float64

# --- models: f(*args) -> tuple of float arrays ---------------------------------------------


def carries_only(xp, lax):
    def f(c0, a):
        def step(c, _):
            u, v = c
            return (u * xp.sin(v) + a, v * 0.9 + xp.cos(u)), None

        (u, v), _ = lax.scan(step, (c0, c0 * 2.0), None, length=5)
        return u, v

    return f


def xs_and_ys(xp, lax, reverse=False):
    def f(c0, xs):
        def step(c, x):
            c = c * xp.tanh(x) + x * x
            return c, (xp.sum(c, axis=1), c * x)

        c, (s, p) = lax.scan(step, c0, xs, reverse=reverse)
        return c, s, p

    return f


def closed_over(xp, lax):
    """Weights from the enclosing function (active) and from a global (not)."""
    def f(W, h0, xs):
        def step(h, x):
            h = xp.sin(h @ W + x @ FIXED)
            return h, h[0]

        h, ys = lax.scan(step, h0, xs)
        return h, ys

    return f


def nested(xp, lax):
    def f(W, h0, xs):
        def inner(h, x):
            h = xp.sin(h @ W + x)
            return h, h

        def outer(h, row):
            h, hs = lax.scan(inner, h, row)
            return h * 0.5, xp.sum(hs, axis=0)

        h, ys = lax.scan(outer, h0, xs)
        return h, ys

    return f


def fori(xp, lax):
    def f(x, a):
        return (lax.fori_loop(1, 6, lambda i, v: v * xp.cos(v) + i * a, x),)

    return f


def rnn(xp, lax):
    """`for t: h = tanh(h @ W + xs[t] @ U + b)`, with the per-step states as outputs."""
    def f(W, U, b, h0, xs):
        def step(h, x):
            h = xp.tanh(h @ W + x @ U + b)
            return h, h

        h, hs = lax.scan(step, h0, xs)
        return h, hs

    return f


def int_operands(xp, lax):
    """An integer per-step input (indices), an integer carry and an integer const."""
    def f(table, h0):
        def step(carry, i):
            h, n = carry
            h = xp.sin(h * table[i] + table[(i + SHIFT[0]) % 4]) + n * 0.1
            return (h, n + 1), h

        (h, _), hs = lax.scan(step, (h0, np.int64(0)), INDICES)
        return h, hs

    return f


RNG = np.random.default_rng(0)
FIXED = RNG.normal(size=(2, 3))
INDICES = np.array([3, 0, 2, 2, 1])
SHIFT = np.array([1])


def args_of(name):
    rng = np.random.default_rng(1)
    n = rng.normal
    return {
        "carries_only": (n(size=3), n(size=3)),
        "xs_and_ys": (n(size=(2, 3)), n(size=(6, 2, 3))),
        "reverse": (n(size=(2, 3)), n(size=(6, 2, 3))),
        "closed_over": (0.5 * n(size=(3, 3)), n(size=3), n(size=(5, 2))),
        "nested": (0.5 * n(size=(2, 2)), n(size=2), n(size=(3, 4, 2))),
        "fori": (n(size=3), n(size=3)),
        "rnn": (0.5 * n(size=(4, 4)), 0.5 * n(size=(3, 4)), n(size=4), n(size=4),
                n(size=(7, 3))),
        "int_operands": (n(size=4), n(size=4)),
    }[name]


MODELS = {
    "carries_only": carries_only,
    "xs_and_ys": xs_and_ys,
    "reverse": lambda xp, lax: xs_and_ys(xp, lax, reverse=True),
    "closed_over": closed_over,
    "nested": nested,
    "fori": fori,
    "rnn": rnn,
    "int_operands": int_operands,
}


class NumpyLax:
    """tracejit's loops under lax's names."""

    scan = staticmethod(tracejit.scan)
    fori_loop = staticmethod(tracejit.fori_loop)


def tj_model(name):
    return MODELS[name](np, NumpyLax)


@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_model(jax, name):
    return MODELS[name](jax.numpy, jax.lax)


# --- numeric helpers ----------------------------------------------------------------------


def dot(a, b) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(a, b, strict=True)))


def directional(f, xs, ts, eps=EPS):
    plus = f(*[x + eps * t for x, t in zip(xs, ts, strict=True)])
    minus = f(*[x - eps * t for x, t in zip(xs, ts, strict=True)])
    return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus,
                                                                        strict=True)]


def weighted_loss(f, cs, xp=np):
    """<cs, f(*args)>: a scalar loss with fixed random output weights."""
    def loss(*args):
        return sum(xp.sum(c * o) for c, o in zip(cs, f(*args), strict=True))

    return loss


def output_weights(f, args, seed=2):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=np.shape(o)) for o in f(*args)]


def close(actual, expected, rtol=RTOL, atol=1e-12):
    for a, e in zip(actual, expected, strict=True):
        assert np.shape(a) == np.shape(e)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def float_args(args):
    return [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]


# --- against central differences ---------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_vjp_inner_product(name):
    f, args = tj_model(name), args_of(name)
    rng = np.random.default_rng(3)
    ts = [rng.normal(size=np.shape(a)) for a in args]
    cs = output_weights(f, args)
    expected = dot(cs, directional(f, args, ts))
    out, pullback = tracejit.vjp(f, *args)
    close(out, f(*args), rtol=1e-13)
    got = dot(ts, pullback(tuple(cs)))
    assert np.isclose(got, expected, rtol=1e-6, atol=1e-8), (got, expected)


@pytest.mark.parametrize("name", MODELS)
def test_jvp(name):
    f, args = tj_model(name), args_of(name)
    rng = np.random.default_rng(3)
    ts = [rng.normal(size=np.shape(a)) for a in args]
    out, tangents = tracejit.jvp(f, args, ts)
    close(out, f(*args), rtol=1e-13)
    close(tangents, directional(f, args, ts), rtol=1e-6, atol=1e-8)


# --- against JAX --------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_grad_vs_jax(name, jax_x64):
    f, args = tj_model(name), args_of(name)
    cs = output_weights(f, args)
    nums = tuple(float_args(args))
    got = tracejit.grad(weighted_loss(f, cs), argnums=nums)(*args)
    want = jax_x64.grad(weighted_loss(jax_model(jax_x64, name), cs, jax_x64.numpy),
                        argnums=nums)(*args)
    close(got, want)


@pytest.mark.parametrize("name", MODELS)
def test_jvp_vs_jax(name, jax_x64):
    f, args = tj_model(name), args_of(name)
    rng = np.random.default_rng(4)
    ts = [rng.normal(size=np.shape(a)) for a in args]
    _, got = tracejit.jvp(f, args, ts)
    _, want = jax_x64.jvp(jax_model(jax_x64, name), tuple(args), tuple(ts))
    close(got, want)


def test_rnn_gradients_vs_jax(jax_x64):
    """The RNN's gradients with respect to W, U, b, h0 and xs, of a loss on the final
    state and on every state."""
    W, U, b, h0, xs = args_of("rnn")

    def make(xp, lax):
        f = rnn(xp, lax)

        def loss(W, U, b, h0, xs):
            h, hs = f(W, U, b, h0, xs)
            return xp.sum(h * h) + xp.sum(xp.sin(hs))

        return loss

    got = tracejit.grad(make(np, NumpyLax), argnums=(0, 1, 2, 3, 4))(W, U, b, h0, xs)
    want = jax_x64.grad(make(jax_x64.numpy, jax_x64.lax), argnums=(0, 1, 2, 3, 4))(
        W, U, b, h0, xs)
    close(got, want)
