"""tracejit.scan / fori_loop / while_loop: JAX's semantics, inside and outside a trace.

Checked on the NumPy interpreter: the jitted function against the same function run
without jit (where the loop API runs as plain Python loops), and against the loops
written out by hand.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tracejit
from tracejit import fori_loop, scan, while_loop

RNG = np.random.default_rng(3)
State = namedtuple("State", "h c")


def both(fn, *args):
    """(jitted result, plain result)."""
    return tracejit.jit(fn)(*args), fn(*args)


def assert_tree_equal(a, b):
    la, ta = tracejit.tree.flatten(a)
    lb, tb = tracejit.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_pytree_carries_and_outputs():
    def f(xs, h0):
        def step(state, x):
            h = np.tanh(state.h + x["a"] * state.c)
            return State(h, state.c * 0.5), {"h": h, "sum": h.sum()}
        return scan(step, State(h0, 2.0), {"a": xs})

    xs, h0 = RNG.standard_normal((5, 3)), np.zeros(3)
    got, want = both(f, xs, h0)
    assert isinstance(got[0], State)
    assert_tree_equal(got, want)
    h = h0
    for t in range(5):
        h = np.tanh(h + xs[t] * 2.0 * 0.5 ** t)
    np.testing.assert_allclose(got[0].h, h, rtol=1e-12)


def test_reverse_consumes_and_stacks_from_the_end():
    def f(xs):
        return scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True)

    xs = RNG.standard_normal(4)
    (carry, ys), _ = both(f, xs)
    np.testing.assert_allclose(carry, xs.sum())
    np.testing.assert_allclose(ys, [xs[1:].sum(), xs[2:].sum(), xs[3:].sum(), 0.0],
                               atol=1e-15)


def test_length_without_xs_and_none_outputs():
    def f(x):
        return scan(lambda c, _: (c * 2, None), x, None, length=3)

    (carry, ys), (carry2, ys2) = both(f, np.ones(2))
    assert ys is None and ys2 is None
    np.testing.assert_array_equal(carry, 8 * np.ones(2))


@pytest.mark.parametrize("unroll", [1, 2, True])
def test_unroll_is_a_hint(unroll):
    def f(xs):
        return scan(lambda c, x: (c + x, c * x), 0.0, xs, unroll=unroll)

    xs = RNG.standard_normal(5)
    assert_tree_equal(*both(f, xs))


def test_closure_over_traced_values_and_outer_writes():
    def f(W, xs, log):
        def step(h, x):
            log[:] = log + 1  # an outer array written in the body: carried in place
            return np.tanh(h @ W + x), None
        return scan(step, np.zeros(W.shape[0]), xs)[0]

    W, xs = RNG.standard_normal((3, 3)), RNG.standard_normal((4, 3))
    l1, l2 = np.zeros(2), np.zeros(2)
    got = tracejit.jit(f)(W, xs, l1)
    want = f(W, xs, l2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_array_equal(l1, [4.0, 4.0])


def test_fori_loop_static_and_traced_bounds():
    def static(x):
        return fori_loop(2, 6, lambda i, v: v * i, x)

    def traced_bound(x, n):
        return fori_loop(0, n, lambda i, v: v + i, x)

    assert_tree_equal(*both(static, np.ones(2)))
    got = tracejit.jit(traced_bound)(np.zeros(2), np.int64(5))
    np.testing.assert_array_equal(got, [10.0, 10.0])


def test_while_loop_counts():
    def f(x):
        return while_loop(lambda s: s[1] < 100, lambda s: (s[0] + 1, s[1] * 2), (0, x))

    got, want = both(f, 3.0)
    assert got == (6, 192.0) == want


def test_nested_scans():
    def f(xs):
        def outer(c, row):
            inner, ys = scan(lambda a, x: (a + x * c, a), 0.0, row)
            return c + 1.0, (inner, ys)
        return scan(outer, 1.0, xs)

    assert_tree_equal(*both(f, RNG.standard_normal((3, 4))))


def test_zero_length_scan_gives_empty_outputs():
    def f(xs):
        return scan(lambda c, x: (c + x.sum(), x * 2), 0.0, xs)

    (c, ys), (c2, ys2) = both(f, np.zeros((0, 3)))
    assert ys.shape == ys2.shape == (0, 3) and c == c2 == 0.0


def test_structure_and_type_errors():
    def wrong_structure(xs):
        return scan(lambda c, x: ((c, c), x), 0.0, xs)

    def wrong_type(xs):
        return scan(lambda c, x: (np.concatenate([c, x[:1]]), x), np.zeros(2), xs)

    xs = np.ones((2, 2))
    with pytest.raises(TypeError, match="structure"):
        tracejit.jit(wrong_structure)(xs)
    with pytest.raises(TypeError, match=r"f64\[2\].*f64\[3\]") as info:
        tracejit.jit(wrong_type)(xs)
    assert __file__ in str(info.value)
    with pytest.raises(ValueError, match="leading axes"):
        tracejit.jit(lambda a, b: scan(lambda c, x: (c, x), 0.0, (a, b)))(xs, np.ones(3))


def test_escaping_body_value_is_refused():
    leaked = []

    def f(xs):
        def step(c, x):
            leaked.append(x)
            return c, None
        scan(step, 0.0, xs)
        return leaked[0] * 2

    with pytest.raises(ValueError, match="inside a loop body"):
        tracejit.jit(f)(np.ones((2, 2)))


def test_while_loop_is_not_differentiable():
    def f(x):
        return while_loop(lambda v: v.sum() < 10, lambda v: v * 2, x).sum()

    with pytest.raises(TypeError, match="while loop"):
        tracejit.grad(f)(np.ones(2))
