"""The loop ops compiled natively by the Numba backend (tracejit/scan/numba.py), against
the NumPy interpreter: scan with carries, per-step inputs and stacked outputs, reverse,
zero steps, fori_loop, while_loop, arrays written in place inside a body (buffer
carries, also through views), nested loops, float32/float64/int/bool, scalar and array
carries, and the ways carries can share buffers (swaps, one value in two carries,
constants carried). Also: the loop is compiled code, not object mode; a new trip count
reuses the compiled module; a body's loops pick their own parallel variant.

Compiled code is shared through the test run's disk cache (tests/conftest.py); each
function here is one structure, so one compile on a cold cache.
"""

from __future__ import annotations

import re
import warnings

import cases
import numba
import numpy as np
import pytest

import tracejit
from tracejit.emit.numba import Compiled
from tracejit.graph.ops import OPS

RNG = np.random.default_rng(20261121)


def floats(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def run_both(fn, *args, exact=False, plain=True):
    """`fn` on the interpreter and on Numba (twice: the compiled entry and the cached
    one): same results, same argument updates, also as the plain function's (whose
    loops run in Python outside a trace) unless not `plain`. Returns the Numba-jitted
    function."""
    interp, native = tracejit.jit(fn, backend="numpy"), tracejit.jit(fn, backend="numba")
    np_args = copies(args)
    expected = interp(*np_args)
    if plain:
        plain_args = copies(args)
        result = fn(*plain_args)
        for (path, got), (_, want) in zip(leaves(expected), leaves(result), strict=True):
            cases.assert_values(got, want, exact, f"interpreter vs plain: {path}")
        cases.assert_same(np_args, plain_args, exact, "interpreter's args vs plain")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
        for _ in range(2):
            jit_args = copies(args)
            got = native(*jit_args)
            cases.assert_same(got, expected, exact)
            cases.assert_same(jit_args, np_args, exact, "args after the call")
    return native


def leaves(tree) -> list:
    """(path, value) of every leaf; scalars and 0-d arrays alike (the plain function's
    loops may return Python or NumPy scalars where the jitted one returns NumPy's)."""
    if isinstance(tree, dict):
        return [(f"[{k!r}]{p}", v) for k in tree for p, v in leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [(f"[{i}]{p}", v) for i, t in enumerate(tree) for p, v in leaves(t)]
    return [("", tree)]


def source(f, *args) -> str:
    return tracejit.show_source(f, *copies(args))


def native_blas() -> bool:
    from tracejit.emit.numba import blas, calls

    return blas.available() or calls.numba_has_blas()


def assert_native(text: str, loops: int = 1) -> None:
    """The loops are compiled loops of the entry function, not calls in object mode
    (ops inside a body may still be: integer floor division, for one). Only where no
    BLAS can be called natively (neither NumPy's OpenBLAS nor SciPy's) does a loop whose
    body multiplies matrices run as one call."""
    if not native_blas() and re.search(r"# np (scan|while)\(", text):
        return  # checked where BLAS is native
    assert not re.search(r"# np (scan|while)\(", text)
    headers = re.findall(r"^\s*# .* = (?:scan|while): compiled loop", text, re.M)
    assert len(headers) == loops, text


# --- scan -----------------------------------------------------------------------------


def cumulative(x, h):
    def step(carry, xi):
        total, count = carry
        total = total + xi * h
        return (total, count + 1), {"total": total, "sq": np.sum(total * total)}

    return tracejit.scan(step, (np.zeros(x.shape[1:], x.dtype), 0), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_scan_carries_xs_ys(dtype):
    x = (floats(6, 3, 2) * 10).astype(dtype)
    h = np.asarray(3, dtype)
    f = run_both(cumulative, x, h)
    assert_native(source(f, x, h))


def reversed_scan(x, h, w):
    def step(c, xi):
        c = np.tanh(c @ w + xi)
        return c, c[0]

    return tracejit.scan(step, h, x, reverse=True)


def test_reverse_scan_indexes_xs_and_ys_by_step():
    x, h, w = floats(5, 4, 3), floats(4, 3), floats(3, 3) * 0.5
    f = run_both(reversed_scan, x, h, w)
    text = source(f, x, h, w)
    assert_native(text)
    assert re.search(r"for s1_\w+ in range\(d\d+ - 1, -1, -1\):", text) or (
        not native_blas() and re.search(r"# np scan\(", text))


def test_zero_steps():
    run_both(reversed_scan, floats(0, 4, 3), floats(4, 3), floats(3, 3))
    run_both(cumulative, floats(0, 2), np.asarray(2.0))


def counter_and_constants(x, y):
    def step(c, xi):
        k = c[0]
        return (k + 1, c[1] * 0.5 + xi[k % 3] + y), k * 2.0

    return tracejit.scan(step, (0, x[0]), x)


def test_counter_constants_and_python_scalar_carry():
    run_both(counter_and_constants, floats(4, 3), 1.5)


# --- fori_loop and while_loop --------------------------------------------------------


def fori_static(x, n):
    return tracejit.fori_loop(0, n, lambda i, v: v * 0.5 + i, x)


def fori_traced(x, n):
    return tracejit.fori_loop(0, n, lambda i, v: v * 0.5 + i, x)


def test_fori_loop_static_and_traced_bounds():
    x = floats(3, 2, dtype=np.float32)
    f = run_both(fori_static, x, 5)
    assert_native(source(f, x, 5))
    x = x.astype(np.float64)  # `v * 0.5 + i` with a traced int64 i is float64
    f = run_both(fori_traced, x, np.int64(4))
    text = source(f, x, np.int64(4))
    assert_native(text)
    assert re.search(r"= while: compiled loop", text)


def doubling(x, limit):
    return tracejit.while_loop(lambda v: v.sum() < limit, lambda v: v * 2, x)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0, 0.5]), np.array([1, 2, 3])], ids=["f8", "i8"])
def test_while_loop_array_carry(x):
    f = run_both(doubling, x, 100)
    assert_native(source(f, x, 100))
    run_both(doubling, x, 1)  # the condition fails at once: the initial value


def collatz(n):
    def body(s):
        k, steps = s
        return np.where(k % 2 == 0, k // 2, 3 * k + 1), steps + np.int32(1)

    return tracejit.while_loop(lambda s: s[0] != 1, body, (n, np.int32(0)))


def test_while_loop_scalar_carries_and_object_mode_inside():
    f = run_both(collatz, np.int64(27))
    assert_native(source(f, np.int64(27)))
    run_both(collatz, np.int64(1))


# --- arrays written inside a body: buffer carries -----------------------------------


def diffuse(u, tmp, steps):
    def body(i, c):
        tmp[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1 * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:]
                                                 + u[1:-1, :-2] - 4 * u[1:-1, 1:-1])
        u[:, :] = tmp
        return c

    tracejit.fori_loop(0, steps, body, 0)


@pytest.mark.parametrize("steps", [0, 1, 4, 5])
def test_buffers_written_in_place(steps):
    u, tmp = floats(9, 7), floats(9, 7)
    run_both(diffuse, u, tmp, steps, exact=True)


def test_tmp_updated_in_place_and_border_copied():
    """`tmp[1:-1, 1:-1] = f(u); u[:] = tmp` runs as the hand-written two-grid loop: the
    update written into tmp's buffer in place, the grids swapped, and only tmp's border
    copied per step."""
    u, tmp = floats(9, 7), floats(9, 7)
    text = source(tracejit.jit(diffuse, backend="numba"), u, tmp, 3)
    assert_native(text)
    body = loop_body(text)
    assert "set_slice: fused slice update in place" in body
    assert not re.search(r"np\.empty|\.copy\(\)", body), "the loop allocates"
    assert re.search(r"^\s+s1_c, s1_d = s1_\w+, s1_c$", body, re.M), "no swap"


def loop_body(text: str) -> str:
    """The lines of the first loop at the entry function's top level."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"    (for|while) ", line))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("     "))
    return "\n".join(lines[start + 1:end])


def diffuse_reversed(u, tmp, xs):
    def step(c, x):
        tmp[1:-1] = u[1:-1] * 0.5 + x * (u[2:] + u[:-2])
        u[:] = tmp
        return c + x, u[0]

    return tracejit.scan(step, 0.0, xs, reverse=True)


def test_buffers_written_in_place_in_while_and_reverse_loops():
    """The border copy made in the first iteration only: the first iteration of a
    reversed scan is the last step, a while loop's is known at run time."""
    u, tmp = floats(9, 7), floats(9, 7)
    for steps in (0, 1, 4):
        run_both(diffuse, u, tmp, np.int64(steps), exact=True)  # a traced bound: while
    for steps in (0, 1, 3):
        # plain scan over no steps calls the body once, for the type of its output,
        # and so writes the arrays (as the plain function; not so when traced)
        run_both(diffuse_reversed, floats(8), floats(8), floats(steps), exact=True,
                 plain=steps > 0)


def relax(u, steps):
    def body(i, c):
        u[1:-1] += 0.25 * (u[2:] - 2 * u[1:-1] + u[:-2])
        return c

    tracejit.fori_loop(0, steps, body, 0)
    return u.sum()


def relax_view(big, steps):
    u = big[1:-1]  # a view of the argument, written through inside the body

    def body(i, c):
        u[1:-1] = u[1:-1] + 0.25 * (u[2:] - 2 * u[1:-1] + u[:-2])
        return c + u[0]

    return tracejit.fori_loop(0, steps, body, 0.0)


def test_buffers_written_through_views():
    run_both(relax, floats(12), 6)
    run_both(relax_view, floats(14), 6)


def scale_rows(a, steps):
    def body(i, c):
        a[i % a.shape[0]] *= 2
        return c

    return tracejit.fori_loop(0, steps, body, np.float32(0))


def test_int_buffer_indexed_by_counter():
    run_both(scale_rows, np.arange(12, dtype=np.int32).reshape(4, 3), 6, exact=True)


def relax_keep_old(u, steps):
    old = u.copy()
    relax(u, steps)
    return old, u, u[1:]


def relax_twice(u, steps):
    relax(u, steps)
    u[0] = u[-1]  # read after the first loop
    return relax(u, steps)


@pytest.mark.parametrize("steps", [0, 3, 4])
def test_loops_run_in_the_arguments_they_update(steps):
    """An argument the function updates (and does not return a copy of) is the loop's
    own buffer: no copy in, no copy back. What the function returns or reads later is
    still the old value where NumPy's would be."""
    u = floats(12)
    f = run_both(relax, u, steps)
    text = source(f, u, steps)
    assert re.search(r"^    s1_c = a$", text, re.M), text
    run_both(relax_keep_old, u, steps)
    run_both(relax_twice, u, steps)
    run_both(relax, floats(24)[::2], steps)  # strided


def swap_with_argument(u, h, steps):
    def body(i, c):
        old = u.copy()
        u[:] = c
        return old

    return tracejit.fori_loop(0, steps, body, h)


@pytest.mark.parametrize("steps", [1, 2])
def test_result_in_an_arguments_memory_is_returned_as_a_copy(steps):
    """The carry returned and the argument written swap buffers every step: after an
    odd number the result is the argument's own array, returned as a copy."""
    u, h = floats(5), floats(5)
    f = run_both(swap_with_argument, u, h, steps, exact=True)
    out = f(u, h, steps)
    assert not np.shares_memory(out, u)


# --- how carries share buffers --------------------------------------------------------


def swap(x, y, steps):
    return tracejit.fori_loop(0, steps, lambda i, c: (c[1], c[0] + 1), (x, y))


def same_value_twice(x, steps):
    def body(i, c):
        z = c[0] * 0.5 + c[1]
        return z, z

    return tracejit.fori_loop(0, steps, body, (x, x + 1))


def constant_carried(x, w, steps):
    return tracejit.fori_loop(0, steps, lambda i, c: (w, c[0] + c[1]), (x, x))


def carry_is_also_stacked(x):
    def step(c, xi):
        return c + xi, c

    return tracejit.scan(step, x[0], x)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_carries_sharing_buffers(steps):
    x, y, w = floats(4, 3), floats(4, 3), floats(4, 3)
    run_both(swap, x, y, steps, exact=True)
    run_both(same_value_twice, x, steps, exact=True)
    run_both(constant_carried, x, w, steps, exact=True)


def shuffled_carries(spec):
    """A loop over four carried arrays whose next values follow `spec`, one entry per
    carry: ("in", k) carry k's old value, ("new", k) a value computed from it, ("slice",
    k, j) carry k with its interior replaced by one computed from carry j, ("same", i)
    the next value of carry i (i earlier)."""

    def fn(a, b, c, d, steps):
        def body(i, xs):
            out = []
            for entry in spec:
                kind, k = entry[0], entry[1]
                if kind == "in":
                    out.append(xs[k])
                elif kind == "new":
                    out.append(xs[k] * 0.5 + 1)
                elif kind == "slice":
                    y = xs[k].copy()
                    y[1:-1, 1:-1] = xs[entry[2]][:-2, 2:] - 0.25 * y[1:-1, 1:-1]
                    out.append(y)
                else:
                    out.append(out[k])
            return tuple(out)

        return tracejit.fori_loop(0, steps, body, (a, b, c, d))

    return fn


SHUFFLES = [
    [("in", 1), ("in", 2), ("in", 3), ("in", 0)],  # rotation: no copies
    [("new", 1), ("same", 0), ("in", 0), ("slice", 3, 3)],
    [("slice", 0, 1), ("slice", 1, 0), ("same", 0), ("same", 1)],
    [("slice", 0, 0), ("in", 0), ("new", 2), ("in", 2)],
    [("slice", 2, 3), ("same", 0), ("slice", 3, 0), ("new", 3)],
]


@pytest.mark.parametrize("spec", SHUFFLES, ids=[str(k) for k in range(len(SHUFFLES))])
def test_carries_sharing_buffers_in_any_pattern(spec):
    arrays = [floats(5, 6) for _ in range(4)]
    for steps in (0, 1, 2, 5):
        run_both(shuffled_carries(spec), *arrays, steps, exact=True)


def test_carry_also_stacked():
    run_both(carry_is_also_stacked, floats(5, 2, 3), exact=True)


def bool_and_int32(x):
    def step(c, xi):
        flag, n = c
        return (flag ^ (xi > 0), n + np.int32(2)), flag

    return tracejit.scan(step, (np.zeros(x.shape[1:], bool), np.int32(1)), x)


def test_bool_and_int32_carries():
    run_both(bool_and_int32, floats(5, 4), exact=True)


# --- nesting ----------------------------------------------------------------------


def nested(x, w):
    def outer(c, xi):
        def inner(d, k):
            return d * 0.5 + k @ w, d.sum()

        d, sums = tracejit.scan(inner, c, xi)
        return d + 1, sums

    return tracejit.scan(outer, x[0, 0], x)


def test_nested_scans():
    x, w = floats(3, 4, 2, 3), floats(3, 3)
    f = run_both(nested, x, w)
    assert_native(source(f, x, w), loops=2)


# --- compiled once, native, parallel where it pays ------------------------------------


def test_new_trip_count_reuses_the_compiled_module():
    f = tracejit.jit(diffuse, backend="numba")
    u, tmp = floats(9, 7), floats(9, 7)
    texts = [source(f, u, tmp, n) for n in (3, 8)]
    assert texts[0] == texts[1]
    for n in (3, 8):
        f(*copies([u, tmp]), n)
    first, second = [entry.run for entry in f._cache.values()]
    assert isinstance(first, Compiled) and first.module is second.module
    dispatcher = getattr(first.module, first.fname)
    assert len(dispatcher.overloads) == 1


LOOP_CASES = [pytest.param(c, id=c.name) for c in cases.CASES
              if any(OPS[op].family == "loop" for op in c.ops if op in OPS)]


@pytest.mark.parametrize("case", LOOP_CASES)
def test_loop_cases_compile_natively(case):
    """Every loop case of the op table runs as a compiled loop (a fallback to object
    mode for the whole loop would still pass the per-case suite)."""
    args = next(a for a in case.args if a.raises is None)
    f = tracejit.jit(case.fn, backend="numba")
    text = source(f, *args.values)
    assert not re.search(r"# np (scan|while)\(", text), "the loop runs in object mode"
    assert re.search(r"= (?:scan|while): compiled loop", text)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread")
def test_body_picks_parallel_loops_from_one_iteration():
    """A body whose one iteration does enough work uses prange; a small body stays
    serial however many steps the loop runs."""
    small = source(tracejit.jit(diffuse, backend="numba"), floats(9, 7), floats(9, 7), 3)
    assert "prange(" not in small.split("def ")[1] and "parallel=True" not in small
    u, tmp = floats(1000, 600), floats(1000, 600)
    f = run_both(diffuse, u, tmp, 2, exact=True)
    large = source(f, u, tmp, 2)
    assert re.search(r"\bin prange\(", large) and "parallel=True" in large
