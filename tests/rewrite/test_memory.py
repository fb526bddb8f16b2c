"""The memory plan: fused loops write into buffers nothing reads afterwards."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit
from tracejit.emit.numba import scalars
from tracejit.rewrite import optimize
from tracejit.rewrite.fusion import Call, plan_fusion
from tracejit.rewrite.memory import plan_memory

rng = np.random.default_rng(0)
X, W, B = rng.standard_normal((16, 8)), rng.standard_normal((8, 4)), rng.standard_normal(4)


def memory_plan(fn, *args):
    graph = optimize(tracejit.jit(fn).graph(*args)).graph
    plan = plan_fusion(graph, scalars.inlinable, scalars.foldable, frozenset())
    made = {v for k in plan.kernels for v in
            (k.eqn.outputs if isinstance(k, Call) else k.stores)}
    return plan, plan_memory(plan, lambda v: v in made)


def ops_of(plan, v):
    return next(k.eqn.op for k in plan.kernels if isinstance(k, Call) and v in k.eqn.outputs)


def layer(x, w, b):
    return np.tanh(x @ w + b)


def test_a_loop_writes_into_the_product_it_consumes():
    plan, reuse = memory_plan(layer, X, W, B)
    ((stored, taken),) = reuse.items()
    assert ops_of(plan, taken) == "matmul"
    assert stored is plan.graph.outputs[0]


def test_chains_of_dead_buffers_are_followed():
    def two(x, w, b):
        h = np.tanh(x @ w + b)
        return (h * 2).sum(), np.exp(h) - h

    plan, reuse = memory_plan(two, X, W, B)
    # h takes the product's buffer, and exp(h) - h takes h's: one allocation for three
    assert len(reuse) == 2
    out = plan.graph.outputs[1]
    assert reuse[out] in reuse


def shifted(x, w, b):
    y = x @ w
    return y[1:] - y[:-1]


def still_read(x, w, b):
    y = x @ w
    return np.tanh(y), y.sum(axis=0)


def an_output(x, w, b):
    y = x @ w
    return y, np.tanh(y)


def other_dtype(x, w, b):
    y = x @ w
    return (y > 0).astype(np.float32)


@pytest.mark.parametrize("fn", [shifted, still_read, an_output, other_dtype])
def test_no_reuse_where_the_buffer_is_still_needed_or_does_not_fit(fn):
    _, reuse = memory_plan(fn, X, W, B)
    assert reuse == {}


def test_inputs_are_never_overwritten_unless_donated():
    _, reuse = memory_plan(lambda x: np.exp(x) + 1, X)
    assert reuse == {}


@pytest.mark.parametrize("fn", [layer, shifted, still_read, an_output, other_dtype])
def test_values_with_the_memory_plan(fn):
    f = tracejit.jit(fn, backend="numba")
    got, want = f(X, W, B), fn(X, W, B)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
        assert g.dtype == w.dtype


def test_generated_source_says_which_buffer_it_reuses():
    source = tracejit.show_source(tracejit.jit(layer, backend="numba"), X, W, B)
    lines = source.splitlines()
    loop = next(i for i, line in enumerate(lines) if "fused loop storing" in line)
    assert lines[loop + 1].strip().endswith("# its buffer is dead")  # no allocation


# --- outputs stored straight into the argument they are written back into -----------


def fill(a, b, out):
    out[...] = 0.5 * (a + b) - a * b


def scale_in_place(a, b, out):
    out *= a + b


def reversed_read(a, b, out):
    out[...] = out[::-1] + a  # reads other elements of its home: a new buffer


def old_value_read_later(a, b, out):
    new = a * b
    total = out.sum()  # reads the home after the loop storing `new`
    out[...] = new
    return total


def other_dtype_home(a, b, out):
    out[...] = a + b  # float64 into float32: the traced assignment casts in the loop


HOMED = {fill: True, scale_in_place: True, reversed_read: False, old_value_read_later: False,
         other_dtype_home: True}


@pytest.mark.parametrize("fn", list(HOMED), ids=lambda fn: fn.__name__)
def test_a_written_back_output_is_stored_in_its_argument(fn):
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    out = rng.standard_normal(50).astype(np.float32 if fn is other_dtype_home else np.float64)
    f = tracejit.jit(fn, backend="numba")
    source = tracejit.show_source(f, a, b, out.copy())
    assert ("# the caller writes it back there" in source) == HOMED[fn]
    for _ in range(2):  # the first call compiles, the second runs the cached entry
        want_out, got_out = out.copy(), out.copy()
        want, got = fn(a, b, want_out), f(a, b, got_out)
        np.testing.assert_allclose(got_out, want_out, rtol=1e-12)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12)
