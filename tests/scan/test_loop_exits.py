"""`break`, `continue`, `return` and `else:` in converted loops (scan/exits.py, branches.py).

Each jitted function must give what the plain function gives (values, types, the final
value of the loop variable, in-place effects on its arguments), and a loop that may stop
early on a traced value must be one `while` node whose body was traced once, not an
unrolled copy per iteration. Most checks run on the NumPy interpreter (the suite's
default backend); a representative few on the Numba backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import same_as_numpy, traced

import tracejit

RNG = np.random.default_rng(11)
BODY_TRACES: list[int] = []


def loop_ops(graph):
    """The loop nodes of a graph, nested ones after their loop."""
    out = []
    for e in graph.eqns:
        if e.op in ("scan", "while"):
            out.append(e.op)
            out += [f"{e.op}/{op}" for op in loop_ops(e.params["body"])]
    return out


def loop_records(fn, *args):
    """How each loop ran: [(kind, reason)] as the trace recorded them."""
    return [(r.kind, r.reason) for r in traced(fn, *args).loops]


def first_line(fn):
    return fn.__code__.co_firstlineno


# --- break ------------------------------------------------------------------------------


def f(x):
    return x ** 3 - 2.0


def fp(x):
    return 3 * x ** 2


def newton(x, tol):
    for i in range(100):  # noqa: B007 - its final value is returned
        dx = f(x) / fp(x)
        x = x - dx
        if np.abs(dx).max() < tol:
            break
    return x, i


def counted_newton(x, tol):
    for i in range(100):
        BODY_TRACES.append(i)
        dx = f(x) / fp(x)
        x = x - dx
        if np.abs(dx).max() < tol:
            break
    return x, i


@pytest.mark.parametrize("tol", [1e-10, -1.0])  # breaks early / runs all 100 steps
def test_newton_breaks_with_numpys_results_and_loop_variable(tol):
    x, i = same_as_numpy(newton, np.array([1.0, 2.0, 3.0]), tol)
    assert isinstance(i, int) and (i == 99) == (tol < 0)
    assert loop_ops(traced(newton, np.ones(3), tol).graph) == ["while"]


def test_body_traced_once_whatever_the_trip_count():
    for n in (10, 10**6):
        BODY_TRACES.clear()
        graph = traced(counted_newton, np.ones(n % 7 + 2), 1e-8).graph
        assert loop_ops(graph) == ["while"]
        (loop,) = [e for e in graph.eqns if e.op == "while"]
        assert loop.source.lineno == first_line(counted_newton) + 1  # the `for` line
        # once, then once more as the loop variable `i` (unbound before the loop)
        # settles into the counter's type
        assert len(BODY_TRACES) <= 2
    sizes = {len(traced(counted_newton, np.ones(3), t).graph.eqns) for t in (1e-3, 1e-12)}
    assert len(sizes) == 1


def while_true(x):
    n = 0
    while True:
        x = np.cos(x)
        n += 1
        if np.abs(np.cos(x) - x).max() < 1e-9:
            break
    return x, n


def break_on_counter(x):
    for i in range(10):
        x = x * 2
        if i == 5:
            break
    return x, i


def break_over_rows(xs, thr):
    total = np.zeros(xs.shape[1])
    for k, row in enumerate(xs):  # noqa: B007 - its final value is returned
        if row.sum() > thr:
            break
        total = total + row
    return total, k


def break_over_array(xs):
    s = 0.0
    for row in xs:
        s = s + row.max()
        if s > 2.0:
            break
    return s


def test_while_true_with_break_is_one_while_node():
    x, n = same_as_numpy(while_true, np.array([0.5, 1.0, 2.0]))
    assert isinstance(n, int) and n > 10
    assert loop_ops(traced(while_true, np.ones(3)).graph) == ["while"]


def test_break_on_the_counter_is_a_while_over_the_counter():
    same_as_numpy(break_on_counter, RNG.random(3))
    assert loop_ops(traced(break_on_counter, RNG.random(3)).graph) == ["while"]


@pytest.mark.parametrize("thr", [1.2, 100.0])
def test_break_in_loops_over_rows(thr):
    xs = RNG.random((6, 3))
    same_as_numpy(break_over_rows, xs, thr)
    same_as_numpy(break_over_array, xs * thr / 10)
    assert loop_ops(traced(break_over_rows, xs, thr).graph) == ["while"]


def traced_stop_break(x, n):
    for _ in range(n):
        x = x + 1.0
        if x.sum() > 20:
            break
    return x


def test_break_in_a_range_with_a_traced_bound():
    f = tracejit.jit(traced_stop_break, static_argnames=())
    for n in (3, 50):
        np.testing.assert_array_equal(f(np.zeros(2), np.int64(n)),
                                      traced_stop_break(np.zeros(2), n))


# --- continue -----------------------------------------------------------------------------


def skip_negative(xs):
    total = np.zeros(xs.shape[1])
    count = 0
    for row in xs:
        if row.min() < 0:
            continue
        total = total + row
        count += 1
    return total, count


def continue_and_break(x):
    i = 0
    while i < 20:
        i += 1
        x = x * 1.5
        if x.sum() < 3:
            continue
        x = x - 0.5
        if x.max() > 10:
            break
    return x, i


def test_continue_on_a_traced_value_is_a_scan_with_selects():
    xs = RNG.standard_normal((8, 3))
    total, count = same_as_numpy(skip_negative, xs)
    assert isinstance(count, int)
    assert loop_ops(traced(skip_negative, xs).graph) == ["scan"]


def test_continue_and_break_in_a_while_loop():
    same_as_numpy(continue_and_break, np.array([0.3, 0.1]))
    same_as_numpy(continue_and_break, np.array([2.0, 3.0]))
    assert loop_ops(traced(continue_and_break, np.ones(2)).graph) == ["while"]


# --- return -------------------------------------------------------------------------------


def find_first(x, thr):
    for i in range(x.shape[0]):
        if x[i] > thr:
            return i, x[i] * 2
    return -1, x[0] * 0


def return_in_while(x):
    steps = 0
    while True:
        x = x * 0.5
        steps += 1
        if x.max() < 1:
            return x, steps
        if steps > 50:
            break
    return -x, steps


def return_then_more_code(u, thr):
    for i in range(u.shape[0]):
        if u[i] > thr:
            return u[i]
    u[:] = 0.0  # runs only if the loop did not return
    return u.sum()


def bare_return(x):
    for i in range(x.shape[0]):
        if x[i] > 0.7:
            x[0] = -1
            return
        x[i] = x[i] * 2
    x[-1] = 9


def first_negative(x):
    for i in range(x.shape[0]):
        if x[i] < 0:
            return i
    return -1


def per_row(xs):
    out = np.zeros(xs.shape[0], np.int64)
    for k in range(xs.shape[0]):
        out[k] = first_negative(xs[k])  # a helper whose loop returns
    return out


@pytest.mark.parametrize("thr", [0.5, 2.0])
def test_return_inside_a_loop(thr):
    x = RNG.random(6)
    i, v = same_as_numpy(find_first, x, thr)
    assert isinstance(i, int)
    assert loop_ops(traced(find_first, x, thr).graph) == ["while"]
    same_as_numpy(return_then_more_code, x, thr)


def test_bare_return_and_a_helper_that_returns_from_its_loop():
    for x in (RNG.random(5), RNG.random(5) * 0.5):
        same_as_numpy(bare_return, x)
    assert loop_ops(traced(bare_return, RNG.random(5)).graph) == ["while"]
    xs = RNG.standard_normal((4, 5))
    same_as_numpy(per_row, xs)
    assert loop_ops(traced(per_row, xs).graph) == ["scan", "scan/while"]


def test_return_inside_a_while_loop():
    same_as_numpy(return_in_while, np.array([4.0, 100.0]))
    same_as_numpy(return_in_while, np.array([4.0, 1e300]))


# --- nested loops -------------------------------------------------------------------------


def inner_break(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] > 0.8:
                break
            out[i] += x[i, j]
    return out


def inner_return(x):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] > 0.9:
                return i, j
    return -1, -1


def outer_break_inner_continue(x):
    s = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] < 0.3:
                continue
            s = s + x[i, j]
        if s > 3:
            break
    return s, i


def test_break_in_an_inner_loop():
    x = RNG.random((4, 5))
    same_as_numpy(inner_break, x)
    assert loop_ops(traced(inner_break, x).graph) == ["scan", "scan/while"]


def test_return_from_an_inner_loop_stops_both():
    x = RNG.random((4, 5))
    same_as_numpy(inner_return, x)
    same_as_numpy(inner_return, x * 0.5)
    assert loop_ops(traced(inner_return, x).graph) == ["while", "while/while"]


def test_break_and_continue_at_two_levels():
    for scale in (0.5, 1.0, 3.0):
        same_as_numpy(outer_break_inner_continue, RNG.random((5, 4)) * scale)


# --- else, Python conditions, loops that stay Python ------------------------------------------


def for_else(x):
    for _ in range(5):
        x = x * 2
        if x.sum() > 10:
            break
    else:
        x = -x
    return x


def while_else(x):
    k = 0
    while k < 10:
        k += 1
        x = x * 1.3
        if x.max() > 5:
            break
    else:
        x = x - 100
    return x, k


def stepping_down(x):
    for i in range(10, 0, -3):
        x = x + i
        if x.sum() > 30:
            break
    return x, i


def python_only(x):
    n = 1
    for _ in range(10):
        n = n * 2
        if n > 100:
            break
    return np.zeros(n) + x.sum()  # n must still be a Python int here


def python_while_break(x, n):
    while n > 0:
        x = x + 1
        n -= 1
        if n == 2:
            break
    return x, n


def over_list(x, ws):
    for w in ws:
        x = x * w
        if x.sum() > 5:
            break
    return x


def in_try(x):
    for _ in range(3):
        try:
            x = x + 1
            break
        finally:
            x = x * 2
    return x


def test_loop_else_runs_when_no_break():
    for x in (np.array([0.1, 0.2]), np.array([1.0, 2.0])):
        same_as_numpy(for_else, x)
        same_as_numpy(while_else, x)
    assert loop_ops(traced(while_else, np.ones(2)).graph) == ["while"]


def test_break_in_a_range_with_a_negative_step():
    for x in (np.ones(2), np.ones(2) * 0.1):
        same_as_numpy(stepping_down, x)


def test_break_on_python_values_keeps_python_values():
    same_as_numpy(python_only, RNG.random(3))
    assert loop_ops(traced(python_only, RNG.random(3)).graph) == []
    x, n = same_as_numpy(python_while_break, np.zeros(2), 5)
    assert loop_ops(traced(python_while_break, np.zeros(2), 5).graph) == []


def test_python_loop_with_a_traced_break_selects_per_iteration():
    same_as_numpy(over_list, np.array([0.5, 1.0]), [2.0, 1.5, 3.0, 0.5])
    same_as_numpy(over_list, np.array([0.01, 0.01]), [2.0, 1.5])
    assert loop_records(over_list, np.ones(2), [2.0, 1.5]) == \
        [("python", "it iterates over a Python list")]


def test_break_inside_try_stays_a_python_loop():
    same_as_numpy(in_try, np.ones(2))
    (record,) = loop_records(in_try, np.ones(2))
    assert record == ("python", f"it has `break` inside a try statement at line "
                      f"{first_line(in_try) + 4}")


# --- in-place writes ----------------------------------------------------------------------


def clip_until(x, thr):
    for i in range(x.shape[0]):
        if x[i] > thr:
            x[i] = thr
            break
        x[i] *= 2
    return i


def view_write_in_branch(u, v):
    inner = u[1:-1]
    for k in range(10):  # noqa: B007 - its final value is returned
        if v.sum() > 1:
            inner[:] = inner + v
        else:
            inner += 1.0
        v = v * 1.5
        if u.max() > 6:
            break
    return k


def test_inplace_writes_in_traced_branches_are_selected():
    for thr in (0.3, 5.0):
        same_as_numpy(clip_until, RNG.random(6), thr)
    assert loop_ops(traced(clip_until, RNG.random(6), 0.5).graph) == ["while"]
    same_as_numpy(view_write_in_branch, np.zeros(5), np.full(3, 0.2))


def accumulate_unless_negative(u, xs):
    for row in xs:
        if row.min() < 0:
            continue
        u += row


def inner_loop_in_a_branch(x, out):
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            for j in range(3):
                out[i] += x[i] * j
        if out.sum() > 4:
            break


def elif_chain(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] < 0.2:
            s = s - x[i]
        elif x[i] < 0.5:
            continue
        elif x[i] > 0.95:
            break
        else:
            s = s + 2 * x[i]
    return s, i


def shape_per_iteration(x):
    for i in range(5):
        x = x + np.zeros(i + 1).sum() + 1.0
        if x.sum() > 7:
            break
    return x


def two_loops_that_return(x):
    for i in range(3):
        if x[i] > 0.9:
            return x[i]
    y = x * 2
    for j in range(3):
        if y[j] > 1.5:
            return y[j]
    return y.sum()


def test_inplace_update_skipped_by_continue():
    u = np.zeros(3)
    same_as_numpy(accumulate_unless_negative, u, RNG.standard_normal((6, 3)))
    assert loop_ops(traced(accumulate_unless_negative, u, np.ones((6, 3))).graph) == ["scan"]


def test_loop_inside_a_traced_branch_writes_selected():
    x = RNG.random(6)
    same_as_numpy(inner_loop_in_a_branch, x, np.zeros(6))
    same_as_numpy(inner_loop_in_a_branch, x * 4, np.zeros(6))


def test_elif_chains_with_exits():
    rng = np.random.default_rng(3)
    for _ in range(4):
        # the first step adds, so NumPy's s is a NumPy float whatever the draw (a loop
        # that never assigns s leaves the Python 0.0, which tracejit returns as float64)
        x = np.concatenate([[0.6], rng.random(7)])
        same_as_numpy(elif_chain, x, exact=False)


def test_body_needing_the_counters_value_runs_in_python_with_selected_exits():
    same_as_numpy(shape_per_iteration, np.ones(2))
    same_as_numpy(shape_per_iteration, np.ones(2) * 5)
    (record,) = loop_records(shape_per_iteration, np.ones(2))
    assert record[0] == "python" and "changes per iteration" in record[1]


def test_two_loops_that_return_in_sequence():
    for x in (np.array([0.1, 0.95, 0.2]), np.array([0.1, 0.8, 0.2]), np.zeros(3)):
        same_as_numpy(two_loops_that_return, x)


def test_grad_through_continue_is_the_select_derivative():
    def loss(w, xs):
        s = 0.0
        for x in xs:
            if (x * w).sum() < 0:
                continue
            s = s + np.tanh(x * w).sum()
        return s
    w, xs = RNG.standard_normal(3), RNG.standard_normal((5, 3))
    g = tracejit.grad(loss)(w, xs)
    eps, fd = 1e-6, np.zeros(3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = eps
        fd[k] = (loss(w + e, xs) - loss(w - e, xs)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


# --- errors ---------------------------------------------------------------------------------


def mismatched(x):
    for _ in range(3):
        if x.sum() > 1:
            y = x[:2]
        else:
            y = x
        x = x + y.sum()
        if x.max() > 100:
            break
    return x


def return_in_nested_block(x, flag):
    if flag:
        for i in range(3):
            if x[i] > 0.5:
                return x[i]
    return x.sum()


def appends_then_breaks(x):
    rows = []
    for i in range(5):
        rows.append(x * i)
        if x.sum() * i > 3:
            break
    return np.stack(rows)


def test_branches_of_another_shape_name_the_line():
    with pytest.raises(TypeError) as info:
        tracejit.jit(mismatched)(np.ones(3))
    text = str(info.value)
    line = first_line(mismatched) + 2
    assert f"{__file__}:{line} (in mismatched)" in text
    assert f"y (assigned in the if at line {line})" in text
    assert "f64[2]" in text and "f64[3]" in text and "fix:" in text


def test_return_in_a_nested_block_on_a_traced_value_is_an_error():
    with pytest.raises(TypeError) as info:
        tracejit.jit(return_in_nested_block)(RNG.random(3), True)
    assert f"loop at line {first_line(return_in_nested_block) + 2}" in str(info.value)
    assert "fix:" in str(info.value)


def test_traced_break_in_a_loop_that_appends_is_an_error():
    with pytest.raises(TypeError) as info:
        tracejit.jit(appends_then_breaks)(np.ones(2))
    assert "mutates the Python list rows" in str(info.value)


def test_grad_through_a_loop_that_may_break_is_refused():
    def loss(x):
        for _ in range(10):
            x = np.tanh(x) * 1.1
            if (x ** 2).sum() > 5:
                break
        return (x ** 2).sum()
    with pytest.raises(TypeError, match="while"):
        tracejit.grad(loss)(np.ones(3))


def test_show_converted_shows_the_flags():
    text = tracejit.show_converted(newton)
    assert "_tj_break_" in text and "if_stmt(" in text and "exit='_tj_break_" in text
    compile(text, "<converted>", "exec")
    assert "if_return(" in tracejit.show_converted(find_first)


# --- the Numba backend ----------------------------------------------------------------------


@pytest.mark.parametrize("fn,args", [
    (newton, (np.array([1.0, 2.0, 3.0]), 1e-10)),
    (while_true, (np.array([0.5, 1.0]),)),
    (skip_negative, (RNG.standard_normal((6, 3)),)),
    (find_first, (RNG.random(5), 0.6)),
    (clip_until, (RNG.random(5), 0.5)),
])
def test_numba_backend(fn, args):
    same_as_numpy(fn, *args, backend="numba", exact=False)
