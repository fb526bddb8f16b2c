"""Python loops in jitted functions: converted to loop nodes, traced once, NumPy's results.

Semantics are checked on the NumPy interpreter (the suite's default backend): the jitted
function must give what the plain function gives, including in-place effects on its
arguments, and the trace must hold one loop node whatever the trip count.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import same_as_numpy, traced

import tracejit

RNG = np.random.default_rng(7)
BODY_TRACES = []


def loop_ops(graph):
    return [e.op for e in graph.eqns if e.op in ("scan", "while")]


# --- the examples -------------------------------------------------------------------


def diffuse(u, tmp, steps):
    for _ in range(steps):
        tmp[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1 * (u[2:, 1:-1] + u[:-2, 1:-1]
                                                + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1])
        u[:, :] = tmp


def rnn_loss(W, U, b, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t] @ U + b)
    return (h ** 2).sum()


def gray_scott(U, V, Du, Dv, F, k, steps):
    u, v = U[1:-1, 1:-1], V[1:-1, 1:-1]
    for _ in range(steps):
        Lu = U[:-2, 1:-1] + U[1:-1, :-2] - 4 * u + U[1:-1, 2:] + U[2:, 1:-1]
        Lv = V[:-2, 1:-1] + V[1:-1, :-2] - 4 * v + V[1:-1, 2:] + V[2:, 1:-1]
        uvv = u * v * v
        u += Du * Lu - uvv + F * (1 - u)
        v += Dv * Lv + uvv - (F + k) * v


def test_diffusion_matches_numpy_and_is_one_scan():
    u = RNG.random((12, 10))
    same_as_numpy(diffuse, u, u.copy(), 25)
    graph = traced(diffuse, u, u.copy(), 25).graph
    assert [e.op for e in graph.eqns] == ["scan"]


def test_rnn_matches_numpy():
    W, U = RNG.standard_normal((8, 8)) * 0.3, RNG.standard_normal((4, 8))
    b, xs, h = RNG.standard_normal(8), RNG.standard_normal((10, 3, 4)), np.zeros((3, 8))
    same_as_numpy(rnn_loss, W, U, b, xs, h, exact=False, rtol=1e-6)
    assert loop_ops(traced(rnn_loss, W, U, b, xs, h).graph) == ["scan"]


def test_gray_scott_float32_views_match_numpy():
    n = 20
    U = np.ones((n, n), np.float32)
    V = np.zeros((n, n), np.float32)
    U[8:12, 8:12], V[8:12, 8:12] = 0.5, 0.25
    V += RNG.random((n, n)).astype(np.float32) * 0.05
    same_as_numpy(gray_scott, U, V, np.float32(0.16), np.float32(0.08), np.float32(0.035),
                  np.float32(0.065), 30)
    assert loop_ops(traced(gray_scott, U, V, np.float32(0.16), np.float32(0.08),
                           np.float32(0.035), np.float32(0.065), 30).graph) == ["scan"]


def counted_body(x, steps):
    for i in range(steps):
        BODY_TRACES.append(i)  # a Python side effect: runs once per trace of the body
        x = x * 0.5 + 1.0
    return x


@pytest.mark.parametrize("steps", [10, 10**6])
def test_body_traced_once_and_graph_size_independent_of_steps(steps):
    BODY_TRACES.clear()
    graph = traced(counted_body, np.ones(3), steps).graph
    assert len(BODY_TRACES) == 1
    (scan,) = [e for e in graph.eqns if e.op == "scan"]
    assert scan.params["length"] == steps
    sizes = {len(traced(diffuse, np.ones((6, 6)), np.ones((6, 6)), s).graph.eqns)
             for s in (10, steps)}
    assert len(sizes) == 1


# --- carried values ---------------------------------------------------------------------


def accumulate_python_float(xs):
    total = 0.0
    for x in xs:
        total = total + x
    return total


def accumulate_inplace(xs):
    acc = np.zeros(xs.shape[1:], xs.dtype)
    for row in xs:
        acc += row
    return acc


def enumerate_rows(xs):
    out = np.zeros(xs.shape[0])
    for i, row in enumerate(xs):
        out[i] = row.sum() * i
    return out


def unbound_before(x):
    for i in range(3):
        y = x * i
    return y, i


def dynamic_index(x, v):
    for i in range(1, x.shape[0]):
        x[i] += x[i - 1] * v[i]
    return x


def nested(x):
    s = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            s = s + x[i, j] * (i + 1)
    return s


def test_python_float_accumulator_settles_into_the_array_dtype():
    same_as_numpy(accumulate_python_float, RNG.random((5, 3)).astype(np.float32))
    same_as_numpy(accumulate_python_float, RNG.random(6))


def test_inplace_accumulator_over_rows():
    same_as_numpy(accumulate_inplace, RNG.random((5, 3)))


def test_enumerate_and_dynamic_update():
    same_as_numpy(enumerate_rows, RNG.random((4, 3)))
    same_as_numpy(dynamic_index, RNG.random((5, 2)), RNG.random(5))
    assert loop_ops(traced(dynamic_index, RNG.random((5, 2)), RNG.random(5)).graph) == \
        ["scan"]


def test_name_first_bound_in_the_loop_and_the_counter_after_it():
    same_as_numpy(unbound_before, RNG.random(3))


def test_nested_loops_are_nested_scans():
    x = RNG.random((3, 4))
    same_as_numpy(nested, x, exact=False, rtol=1e-6)
    (scan,) = [e for e in traced(nested, x).graph.eqns if e.op == "scan"]
    assert [e.op for e in scan.params["body"].eqns if e.op == "scan"] == ["scan"]


# --- while loops ------------------------------------------------------------------------


def halve_until_small(x, tol):
    err = np.abs(x).max()
    n = 0
    while err > tol:
        x = x * 0.5
        err = np.abs(x).max()
        n += 1
    return x, n


def python_while(x, n):
    while n > 0:
        x = x + 1
        n -= 1
    return x


def test_while_on_traced_condition_is_a_while_node():
    x = RNG.random(4) * 100
    got = same_as_numpy(halve_until_small, x, 0.01)
    assert isinstance(got[1], int)
    assert loop_ops(traced(halve_until_small, x, 0.01).graph) == ["while"]


def test_while_on_python_condition_runs_in_python():
    same_as_numpy(python_while, np.zeros(3), 4)
    assert loop_ops(traced(python_while, np.zeros(3), 4).graph) == []


# --- loops that run in Python -------------------------------------------------------------


def branch_on_counter(x):
    for i in range(4):
        if i % 2 == 0:
            x = x + i
        else:
            x = x * 2
    return x


def appends(x):
    rows = []
    for i in range(3):
        rows.append(x * i)
    return np.stack(rows)


def over_list(x, ws):
    for w in ws:
        x = x * w
    return x


def marked(x):
    for i in tracejit.unroll(range(3)):
        x = x + i
    return x


@pytest.mark.parametrize("fn,reason", [
    (branch_on_counter, "changes per iteration"),
    (appends, "mutates the Python list rows"),
    (marked, "marked tracejit.unroll"),
])
def test_loops_that_need_python_values_run_in_python(fn, reason):
    x = RNG.random(3)
    same_as_numpy(fn, x)
    t = traced(fn, x)
    assert loop_ops(t.graph) == []


def test_python_container_loop_runs_in_python():
    same_as_numpy(over_list, RNG.random(3), [1.5, 2.0])


def test_loop_record_says_why():
    seen = [[(r.kind, r.reason) for r in traced(fn, *args).loops] for fn, args in [
        (appends, (RNG.random(3),)),
        (rnn_loss, (np.eye(2), np.eye(2), np.zeros(2), np.ones((3, 1, 2)), np.zeros((1, 2)))),
        (branch_on_counter, (RNG.random(3),))]]
    assert seen[0] == [("python", "the body mutates the Python list rows")]
    assert seen[1] == [("scan", "")]
    assert seen[2][0][0] == "python" and "changes per iteration" in seen[2][0][1]


# --- errors -------------------------------------------------------------------------------


def grows(x):
    for _ in range(3):
        x = np.concatenate([x, x])
    return x


def breaks_on_value(x):
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            break
    return i


def breaks_in_try(x):
    for i in range(x.shape[0]):
        try:
            if x[i] > 0.5:
                break
        finally:
            pass
    return i


def test_carry_changing_shape_names_line_and_avals():
    with pytest.raises(TypeError) as info:
        tracejit.jit(grows)(np.ones(2))
    text = str(info.value)
    assert "f64[2]" in text and "f64[4]" in text and "unroll" in text
    assert f"{__file__}:" in text


def test_break_on_a_traced_value_is_a_while_loop():
    same_as_numpy(breaks_on_value, np.array([0.1, 0.7, 0.9]))
    assert loop_ops(traced(breaks_on_value, RNG.random(4)).graph) == ["while"]


def test_break_in_a_loop_that_stays_python_is_a_clear_error():
    with pytest.raises(TypeError) as info:
        tracejit.jit(breaks_in_try)(RNG.random(4))
    assert "if x[i] > 0.5" in str(info.value)
    first = breaks_in_try.__code__.co_firstlineno
    assert f"line {first + 1} runs in Python because it has `break` inside a try " \
        f"statement at line {first + 4}" in str(info.value)


def test_show_converted_is_readable_source():
    text = tracejit.show_converted(rnn_loss)
    assert "def _tj_body_" in text and "for_loop(" in text and "carried=('h',)" in text
    compile(text, "<converted>", "exec")


# --- asserts ------------------------------------------------------------------------------


def positive_log(x):
    assert x.min() > 0, "x must be positive"
    return np.log(x)


def test_assert_on_traced_value_checks_at_run_time():
    f = tracejit.jit(positive_log)
    np.testing.assert_array_equal(f(np.ones(3)), np.zeros(3))
    with pytest.raises(AssertionError) as info:
        f(-np.ones(3))
    assert "x must be positive" in str(info.value)
    assert "assert x.min() > 0" in str(info.value) and __file__ in str(info.value)


def test_assert_on_python_value_is_python():
    def f(x, n):
        assert n > 0, "n must be positive"
        return x * n
    with pytest.raises(AssertionError, match="n must be positive"):
        tracejit.jit(f)(np.ones(2), 0)


def python_counting(x):
    n = 1
    for i in range(3):
        n = n * 2 + i
    return np.zeros(n) + x.sum()  # n must still be a Python int here


def test_loop_over_python_values_only_runs_in_python():
    same_as_numpy(python_counting, RNG.random(3))
    assert loop_ops(traced(python_counting, RNG.random(3)).graph) == []
