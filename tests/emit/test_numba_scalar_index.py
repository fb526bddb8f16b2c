"""Indexing by 0-d integer values in the Numba backend: `x[i]`, `x[i, 1:]`, `x[:, i]`,
`x[i, j]`, `x[i] = v`, `x[i] += v` with a traced `i` (a loop counter: `for i in
range(n)` is a while node for a traced `n`, a scan for a Python int). The gather is a view
read at a run-time offset inside the fused loops, the scatter a slice update (in place
where the target is the loop's to overwrite); each index is wrapped when negative and
bounds-checked (IndexError, as NumPy). No object mode, no fallback to the interpreter
(two loops with object-mode blocks once made LLVM fail: "Instruction does not dominate
all uses").
"""

from __future__ import annotations

import re
import warnings

import cases
import numpy as np
import pytest

import tracejit

RNG = np.random.default_rng(20260514)


def copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def run_both(fn, *args, native=True):
    """`fn` on Numba against the interpreter (same types, dtypes and values, same
    argument updates) and against the plain function's values; with `native`, the
    generated source has no object mode. Returns the generated source."""
    expected = tracejit.jit(fn, backend="numpy")(*copies(args))
    plain_args = copies(args)
    plain = fn(*plain_args)
    jitted = tracejit.jit(fn, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
        for _ in range(2):
            jit_args = copies(args)
            got = jitted(*jit_args)
            cases.assert_same(got, expected, exact=False)  # sums may reassociate
            for g, p in zip(flat(got), flat(plain), strict=True):
                cases.assert_values(g, p, False, fn.__name__)
            for g, p in zip(jit_args, plain_args, strict=True):
                cases.assert_values(g, p, False, "arguments after the call")
    text = tracejit.show_source(jitted, *copies(args))
    if native:
        assert "objmode" not in text, text
    return text


def flat(tree) -> list:
    return [x for t in tree for x in flat(t)] if isinstance(tree, (tuple, list)) else [tree]


def raises_like_numpy(fn, *args):
    """NumPy raises IndexError; so does the compiled function, with NumPy's message (in
    the report of the user's line that raised it)."""
    with pytest.raises(IndexError) as numpy_error:
        fn(*copies(args))
    jitted = tracejit.jit(fn, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
        with pytest.raises(IndexError) as jit_error:
            jitted(*copies(args))
    assert str(numpy_error.value) in str(jit_error.value)  # and where it happened
    assert "objmode" not in tracejit.show_source(jitted, *copies(args))


# --- gathers in loops ----------------------------------------------------------------


def two_loops(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i]
    t = 0.0
    for i in range(n):
        t = t + x[i] * 2
    return s, t


@pytest.mark.parametrize("n", [np.asarray(5), 5, np.asarray(0)])
def test_two_loops(n):
    text = run_both(two_loops, np.arange(10.0), n)
    assert len(re.findall(r"index checks, reads are views", text)) == 2


def rows_and_columns(x, n):
    s = np.zeros(x.shape[1] - 1)
    c = 0.0
    for i in range(n):
        s = s + x[i, 1:] * x[-i - 1, :-1]
        c = c + x[:, i].sum() + x[i, 2] + x[i][i] + x[1:][i, ::-1][0]
    return s, c


@pytest.mark.parametrize("n", [np.asarray(3), 3])
def test_rows_columns_negative(n):
    run_both(rows_and_columns, RNG.standard_normal((4, 5)), n)


def views_of_views(x, n):
    out = 0.0
    for i in range(n):
        out = out + x[::-1][i, 1] * x[1::2][i, None, ::2].sum() + x.T[i, -1]
    return out


def test_views_around_the_index():
    run_both(views_of_views, RNG.standard_normal((6, 5)), np.asarray(3))


def two_indices(x, n, j):
    s = 0.0
    for i in range(n):
        s = s + x[i, j] - x[j, :, i].sum()
    return s


def test_two_traced_indices():
    run_both(two_indices, RNG.standard_normal((4, 3, 4)), np.asarray(4), np.asarray(-2))


def index_array_in_loops(x, idx, n):
    s = 0.0
    for i in range(n):
        s = s + x[idx].sum() * x[i]
    t = 0.0
    for i in range(n):
        t = t + x[idx][i]
    return s, t


def test_index_array_in_loops():
    run_both(index_array_in_loops, np.arange(10.0), np.array([3, -1, 2, 2]), np.asarray(4))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.uint64, np.int8])
def test_index_dtypes(dtype):
    def pick(x, i):
        return x[i], x[:, i] * 2

    x = RNG.standard_normal((3, 4))
    run_both(pick, x, np.asarray(2, dtype))
    if dtype is not np.uint64:
        raises_like_numpy(pick, x, np.asarray(-4 if np.dtype(dtype).kind == "i" else 9, dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.complex128, np.bool_])
def test_array_dtypes(dtype):
    def pick(x, n):
        out = x[0, ::2] * 0
        for i in range(n):
            out = out + x[i, ::2]
        return out, x[n - 1]

    x = (RNG.standard_normal((4, 6)) * 5).astype(dtype)
    run_both(pick, x, np.asarray(3))


def output_views(x, i):
    return x[i], x[None, i, ::2], x[i, 1:] + 1.0, x[1:][i]


def test_outputs_are_arrays():
    x = RNG.standard_normal((4, 5))
    run_both(output_views, x, np.asarray(-3))
    got = tracejit.jit(output_views, backend="numba")(x, np.asarray(1))
    assert not any(np.shares_memory(g, x) for g in got)


def floor_divisions(x, n):
    s = 0
    for i in range(n):
        s = s + x[i] // 3  # integer floor division runs in object mode
    t = 0
    for i in range(n):
        t = t + x[i] // 2
    return s, t


def test_object_mode_in_two_loops():
    """Numba sets up its Python API at the first object-mode block and reuses it in the
    others: the entry function opens one first, where it dominates them all."""
    text = run_both(floor_divisions, np.arange(10), np.asarray(5), native=False)
    assert text.count("with numba.objmode(") == 3, text


def literal_and_nested(x, idx, n):
    z = np.zeros(5)
    s = 0.0
    for i in range(n):
        s = s + z[i] + x[idx[i]]
    return s


def test_literal_array_and_nested_index():
    run_both(literal_and_nested, np.arange(5.0), np.array([4, -1, 2]), np.asarray(3))


def view_outlives_a_loop(a, i, n):
    x = a * 2
    row = x[i]
    for k in range(n):
        x[k] = 0.0
    return x, np.sin(row)


def test_view_of_a_buffer_a_loop_would_adopt():
    """The loop may take `x`'s array as its own only if nothing reads it afterwards:
    `row` reads it after the loop."""
    text = run_both(view_outlives_a_loop, np.arange(6.0), np.asarray(2), np.asarray(3))
    assert re.search(r"= e\.copy\(\)", text), text


# --- out of bounds ---------------------------------------------------------------------


def sum_to(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i]
    return s


def test_out_of_bounds_in_while():
    raises_like_numpy(sum_to, np.arange(10.0), np.asarray(11))


def test_out_of_bounds_in_scan():
    raises_like_numpy(sum_to, np.arange(10.0), 11)


def test_out_of_bounds_negative():
    def f(x, n):
        s = 0.0
        for i in range(n):
            s = s + x[-i - 1, 0]
        return s

    raises_like_numpy(f, np.ones((4, 2)), np.asarray(5))


def test_out_of_bounds_column_of_empty_slice():
    def f(x, i):
        return x[0:0, i]  # NumPy checks the index even where nothing is read

    raises_like_numpy(f, np.ones((3, 2)), np.asarray(2))


# --- updates -----------------------------------------------------------------------------


def fill(x, n):
    out = np.zeros(x.shape[0] + 1)
    for i in range(n):
        out[i] = x[i] * 2
        out[i + 1] += 1.0
    return out


@pytest.mark.parametrize("n", [np.asarray(4), 4])
def test_set_and_add_in_place(n):
    text = run_both(fill, np.arange(6.0), n)
    assert len(re.findall(r"scatter: fused slice update in place", text)) == 2, text
    assert ".copy()" not in text


def recurrence(x, n):
    for i in range(1, n):
        x[i] = x[i - 1] * 0.5 + x[i]
        x[i, 1:] += x[i - 1, :-1]
    return x


@pytest.mark.parametrize("n", [np.asarray(5), 5])
def test_recurrence_on_an_argument(n):
    run_both(recurrence, RNG.standard_normal((5, 4)), n)


def rows_and_columns_set(u, n):
    for i in range(n):
        u[:, i] = u[:, i] + i
        u[i] = u[i, ::-1]  # reads the row it writes, reversed: not in place
    return u.sum()


def test_rows_and_columns_set():
    run_both(rows_and_columns_set, RNG.standard_normal((4, 4)), np.asarray(4))


def reversed_rows(u, n):
    for i in range(n):
        u[i] = u[i, ::-1] + u[0]
    return u


@pytest.mark.parametrize("n", [np.asarray(4), 4])
def test_update_into_a_spare_buffer(n):
    """Not in place (the row is read reversed): the loop writes into its spare buffer,
    which must take the whole carry first, as the written row moves with i."""
    text = run_both(reversed_rows, RNG.standard_normal((4, 3)), n)
    assert re.search(r"^\s+rt\.copy_into\(\w+, \w+\)$", text, re.M), text


def old_value_read_after(x, i):
    old = x[i]
    x[i] = -1.0
    y = x * 1.0
    y[i] += old
    return old, y


def test_old_value_read_after_the_update():
    run_both(old_value_read_after, np.arange(5.0), np.asarray(-2))


def add_at(x, i, v):
    np.add.at(x, i, v)
    return x


def test_add_at_scalar_index():
    run_both(add_at, np.arange(5.0), np.asarray(-1), np.asarray(2.5))


def test_update_out_of_bounds():
    def f(x, n):
        for i in range(n):
            x[i + 1] = x[i]
        return x

    raises_like_numpy(f, np.arange(5.0), np.asarray(5))


# --- gradients through loops ----------------------------------------------------------


def energy(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x[i]) * x[i + 1]
    return s


def test_grad_through_a_scan():
    x = RNG.standard_normal(6)
    expected = tracejit.jit(tracejit.grad(energy), backend="numpy")(x, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
        got = tracejit.jit(tracejit.grad(energy), backend="numba")(x, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# --- the parallel variant ----------------------------------------------------------------


def columns(x, i):
    y = np.sin(x[:, i]) + x[i, 0]
    x[:, i - 1] = np.cos(x[:, i]) * 2
    return y, x


def test_parallel_variant():
    x = RNG.standard_normal((1 << 18, 4))
    text = run_both(columns, x, np.asarray(-1))
    assert "prange" in text
