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


# --- second order -------------------------------------------------------------------------


def small(xp, lax):
    def f(a, x):
        def step(c, xi):
            c = xp.sin(c * a + xi)
            return c, c * c

        c, ys = lax.scan(step, x[0], x)
        return xp.sum(c) + xp.sum(ys * a)

    return f


def test_hessian_vs_jax(jax_x64):
    a = np.array([0.3, -0.7])
    x = np.random.default_rng(5).normal(size=(4, 2))
    got = tracejit.hessian(small(np, NumpyLax), argnums=(0, 1))(a, x)
    want = jax_x64.hessian(small(jax_x64.numpy, jax_x64.lax), argnums=(0, 1))(a, x)
    for g_row, w_row in zip(got, want, strict=True):
        close(g_row, w_row)


@pytest.mark.parametrize("name", ["reverse", "closed_over", "nested", "rnn"])
def test_model_hessian_vs_jax(name, jax_x64):
    f, args = tj_model(name), args_of(name)
    cs = output_weights(f, args)
    last = float_args(args)[-1]  # the per-step inputs
    got = tracejit.hessian(weighted_loss(f, cs), argnums=last)(*args)
    want = jax_x64.hessian(weighted_loss(jax_model(jax_x64, name), cs, jax_x64.numpy),
                           argnums=last)(*args)
    close([got], [want])


def test_grad_of_grad_vs_jax(jax_x64):
    a = np.array([0.3, -0.7])
    x = np.random.default_rng(5).normal(size=(4, 2))

    def outer(xp, grad, lax):
        f = small(xp, lax)
        return lambda a, x: xp.sum(xp.cos(grad(f)(a, x)))

    got = tracejit.grad(outer(np, tracejit.grad, NumpyLax))(a, x)
    want = jax_x64.grad(outer(jax_x64.numpy, jax_x64.grad, jax_x64.lax))(a, x)
    close([got], [want])


def test_hessian_vector_product_forward_over_reverse(jax_x64):
    a = np.array([0.3, -0.7])
    x = np.random.default_rng(5).normal(size=(4, 2))
    t = (np.array([1.0, 2.0]), np.random.default_rng(6).normal(size=(4, 2)))
    _, got = tracejit.jvp(tracejit.grad(small(np, NumpyLax)), (a, x), t)
    _, want = jax_x64.jvp(jax_x64.grad(small(jax_x64.numpy, jax_x64.lax)), (a, x), t)
    close([got], [want])


def test_second_order_against_differences_of_the_gradient():
    f = small(np, NumpyLax)
    a = np.array([0.3, -0.7])
    x = np.random.default_rng(5).normal(size=(4, 2))
    grad = tracejit.grad(f)
    hess = tracejit.hessian(f)(a, x)
    cols = [(grad(a + EPS * e, x) - grad(a - EPS * e, x)) / (2 * EPS) for e in np.eye(2)]
    np.testing.assert_allclose(hess, np.stack(cols, axis=-1), rtol=1e-6, atol=1e-8)


# --- edge cases ---------------------------------------------------------------------------


def zero_length(xp, lax):
    def f(a, x):
        c, ys = lax.scan(lambda c, xi: (c * a + xi, c * a), x[0] * 2.0, x[:0])
        return xp.sum(c * c * a) + xp.sum(ys)

    return f


def test_zero_length_scan(jax_x64):
    a, x = np.array([0.5, 1.5]), np.random.default_rng(7).normal(size=(3, 2))
    got = tracejit.grad(zero_length(np, NumpyLax), argnums=(0, 1))(a, x)
    want = jax_x64.grad(zero_length(jax_x64.numpy, jax_x64.lax), argnums=(0, 1))(a, x)
    close(got, want)
    np.testing.assert_allclose(got[1][0], 8.0 * x[0] * a)  # d/dx0 of 4 x0² a
    _, t = tracejit.jvp(zero_length(np, NumpyLax), (a, x), (np.ones(2), np.ones((3, 2))))
    np.testing.assert_allclose(t, np.sum(4 * x[0] ** 2 + 8 * x[0] * a))


def test_buffer_carry_in_place_write(jax_x64):
    """A body that writes an array in place: the buffer is a carry of the loop."""
    def f(x, w):
        y = x.copy()

        def step(c, _):
            y[1:] += w * np.sin(y[:-1])
            return c, None

        tracejit.scan(step, 0.0, None, length=3)
        return np.sum(y ** 2)

    def fj(x, w):
        jnp = jax_x64.numpy

        def step(y, _):
            return y.at[1:].add(w * jnp.sin(y[:-1])), None

        y, _ = jax_x64.lax.scan(step, x, None, length=3)
        return jnp.sum(y ** 2)

    x, w = np.linspace(0, 1, 5), 0.5
    got = tracejit.grad(f, argnums=(0, 1))(x, w)
    close(got, jax_x64.grad(fj, argnums=(0, 1))(x, w))
    _, t = tracejit.jvp(f, (x, w), (np.ones(5), 1.0))
    close([t], [jax_x64.jvp(fj, (x, w), (np.ones(5), 1.0))[1]])


def test_grad_writes_the_argument_as_the_function_does():
    def f(x):
        def step(c, _):
            x[1:] += 0.5 * np.sin(x[:-1])
            return c, None

        tracejit.scan(step, 0, None, length=3)
        return np.sum(x ** 2)

    x0 = np.linspace(0, 1, 5)
    x, expected = x0.copy(), x0.copy()
    f(expected)  # a Python loop outside a trace
    g = tracejit.grad(f)(x)
    np.testing.assert_allclose(x, expected, rtol=1e-14)
    numeric = [(f(x0 + EPS * e) - f(x0 - EPS * e)) / (2 * EPS) for e in np.eye(5)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6)


def test_float32_derivatives_keep_dtypes():
    def f(a, x):
        c, ys = tracejit.scan(lambda c, xi: (np.sin(c * a + xi), c), x[0], x)
        return np.sum(c) + np.sum(ys)

    a, x = np.float32([0.3, 0.5]), np.ones((3, 2), np.float32)
    ga, gx = tracejit.grad(f, argnums=(0, 1))(a, x)
    assert ga.dtype == gx.dtype == np.float32
    g64 = tracejit.grad(f, argnums=(0, 1))(a.astype(float), x.astype(float))
    np.testing.assert_allclose(ga, g64[0], rtol=1e-5)
    np.testing.assert_allclose(gx, g64[1], rtol=1e-5)


def test_grad_inside_a_loop_body(jax_x64):
    """A gradient taken in a scan body (one step of gradient descent), differentiated."""
    def make(xp, lax, grad):
        def inner(w, x):
            return xp.sum(xp.sin(w * x))

        def outer(w, xs):
            w, _ = lax.scan(lambda w, x: (w - 0.1 * grad(inner)(w, x), None), w, xs)
            return xp.sum(w * w)

        return outer

    w, xs = np.array([0.2, -0.3]), np.random.default_rng(8).normal(size=(4, 2))
    got = tracejit.grad(make(np, NumpyLax, tracejit.grad))(w, xs)
    want = jax_x64.grad(make(jax_x64.numpy, jax_x64.lax, jax_x64.grad))(w, xs)
    close([got], [want])


# --- while: forward only ------------------------------------------------------------------


def loop_constant():
    """32.0, computed by a while loop on constants."""
    return tracejit.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * 2.0),
                               (0, 1.0))[1]


def test_while_without_active_values_is_no_obstacle():
    def f(x):
        unused = tracejit.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x)  # noqa: F841
        return np.sum(x * loop_constant())

    np.testing.assert_array_equal(tracejit.grad(f)(np.ones(3)), [32.0, 32.0, 32.0])
    # forward mode meets every equation a tangent reaches, used or not: no unused loop
    _, t = tracejit.jvp(lambda x: np.sum(x * loop_constant()), (np.ones(3),), (np.ones(3),))
    assert t == 96.0


def test_while_with_a_derivative_through_it_refuses():
    def f(x):
        return np.sum(tracejit.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x))

    with pytest.raises(errors.NotDifferentiableError, match="fixed trip count"):
        tracejit.grad(f)(np.ones(3))
    with pytest.raises(errors.NotDifferentiableError, match="fixed trip count"):
        tracejit.jvp(f, (np.ones(3),), (np.ones(3),))


# --- the graphs: loops, not unrolled; the forward loop runs once --------------------------


def scan_eqns(graph):
    return [e for e in graph.eqns if e.op == "scan"]


def rnn_loss(W, U, b, h0, xs):
    h, _ = rnn(np, NumpyLax)(W, U, b, h0, xs)
    return np.sum(h * h)


def test_backward_pass_is_a_loop_not_unrolled():
    W, U, b, h0, _ = args_of("rnn")
    g = tracejit.grad(rnn_loss, argnums=(0, 1, 2, 3, 4))
    sizes = []
    for steps in (3, 50):
        xs = np.random.default_rng(9).normal(size=(steps, 3))
        graph = g.graph(W, U, b, h0, xs)
        forward, backward = scan_eqns(graph)
        assert not forward.params["reverse"] and backward.params["reverse"]
        assert backward.params["length"] == steps
        sizes.append(len(graph.eqns) + sum(len(e.params["body"].eqns) for e in (forward,
                                                                                backward)))
    assert sizes[0] == sizes[1]


def test_rnn_stores_two_states_per_step():
    """Per step the forward loop stores h (the matmul cotangents need it) and 1 - h'² (the
    tanh derivative): 2 × 4 values. xs[t] is read again from xs, W.T and U.T are computed
    once before the backward loop."""
    W, U, b, h0, xs = args_of("rnn")
    graph = tracejit.grad(rnn_loss, argnums=(0, 1, 2, 3, 4)).graph(W, U, b, h0, xs)
    forward, backward = scan_eqns(graph)
    n_carry = forward.params["n_carry"]
    residuals = forward.outputs[n_carry + 1:]  # after the carry and the stacked states
    assert [v.shape for v in residuals] == [(7, 4), (7, 4)]
    assert xs.shape in [v.shape for v in backward.inputs]  # xs itself, not a copy
    b_consts = backward.inputs[:backward.params["n_consts"]]
    assert sorted(v.shape for v in b_consts) == [(4, 3), (4, 4)]  # U.T, W.T


def test_forward_loop_runs_once():
    W, U, b, h0, xs = args_of("rnn")
    f = rnn(np, NumpyLax)
    loss = weighted_loss(f, output_weights(f, (W, U, b, h0, xs)))
    for transform in (tracejit.grad(loss, argnums=(0, 3)),
                      tracejit.value_and_grad(loss, argnums=(0, 3))):
        assert len(scan_eqns(transform.graph(W, U, b, h0, xs))) == 2
    pushforward = tracejit.autodiff.api.jvp_function(f)
    assert len(scan_eqns(pushforward.graph((W, U, b, h0, xs), (W, U, b, h0, xs)))) == 1


def test_jacobian_rows_share_the_forward_loop():
    def f(a, x):
        c, ys = tracejit.scan(lambda c, xi: (np.sin(c * a + xi), c * a), x[0], x)
        return c

    a, x = np.array([0.3, -0.7]), np.random.default_rng(5).normal(size=(4, 2))
    graph = tracejit.jacobian(f).graph(a, x)
    loops = scan_eqns(graph)
    assert [e.params["reverse"] for e in loops] == [False, True, True]  # one per row
    jac = tracejit.jacobian(f)(a, x)
    numeric = np.stack([(f(a + EPS * e, x) - f(a - EPS * e, x)) / (2 * EPS)
                        for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(jac, numeric, rtol=1e-6, atol=1e-9)


def test_only_active_operands_get_cotangent_carries():
    """W is not differentiated and FIXED is a global: neither gets a cotangent carry, and
    the stacked outputs nobody reads send no cotangent into the backward loop."""
    W, h0, xs = args_of("closed_over")

    def loss(W, h0, xs):
        h, _ = closed_over(np, NumpyLax)(W, h0, xs)
        return np.sum(h)

    graph = tracejit.grad(loss, argnums=1).graph(W, h0, xs)
    _, backward = scan_eqns(graph)
    assert backward.params["n_carry"] == 1  # the cotangent of h only
    assert len(backward.outputs) == 1  # no stacked cotangent of xs either
    per_step = backward.inputs[backward.params["n_consts"] + 1:]
    assert (5,) not in [v.shape for v in per_step]  # no zero cotangent of ys
    g = tracejit.grad(loss, argnums=1)(W, h0, xs)
    numeric = [(loss(W, h0 + EPS * e, xs) - loss(W, h0 - EPS * e, xs)) / (2 * EPS)
               for e in np.eye(3)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6)


def test_without_the_recorded_forward_loop_a_second_one_computes_residuals(monkeypatch):
    """Where the rule cannot find the forward scan in the current equation list, it
    records a second forward loop for the residuals (and the JVP a second loop)."""
    from tracejit.scan import autodiff as scan_ad

    monkeypatch.setattr(scan_ad, "recorded", lambda ctx, ans, xs: None)
    f, args = tj_model("rnn"), args_of("rnn")
    cs = output_weights(f, args)
    grad = tracejit.grad(weighted_loss(f, cs), argnums=(0, 1, 2, 3, 4))
    both = tracejit.value_and_grad(weighted_loss(f, cs), argnums=(0, 1, 2, 3, 4))
    assert len(scan_eqns(grad.graph(*args))) == 2  # the value's loop is dead
    assert len(scan_eqns(both.graph(*args))) == 3
    ts = [np.random.default_rng(3).normal(size=np.shape(a)) for a in args]
    expected = dot(cs, directional(f, args, ts))
    assert np.isclose(dot(ts, grad(*args)), expected, rtol=1e-6)
    _, tangents = tracejit.jvp(f, args, ts)
    close(tangents, directional(f, args, ts), rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("error::tracejit.errors.BackendFallbackWarning")
def test_rnn_gradient_on_the_numba_backend():
    W, U, b, h0, xs = args_of("rnn")
    grad = tracejit.grad(rnn_loss, argnums=(0, 1, 2, 3, 4))
    got = tracejit.jit(grad, backend="numba")(W, U, b, h0, xs)
    close(got, grad(W, U, b, h0, xs), rtol=1e-12)
