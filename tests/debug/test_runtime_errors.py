"""Run-time errors NumPy raises (an index out of bounds, a singular matrix, ...) raised by
a compiled call are raised as the same exception type, located: the message starts with
the user's file:line and source line, then the op, its inputs' types and NumPy's message
(tracejit/debug/errors.py). On both backends, on the general and the fast call path,
inside loop bodies; a failed call writes nothing back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tracejit
from tracejit.debug.errors import RunError

BACKENDS = pytest.mark.parametrize("backend", ["numpy", "numba"])


def line_of(fn, offset: int) -> int:
    return fn.__code__.co_firstlineno + offset


def expect(info, kind: type, fn, offset: int, source: str, *parts: str) -> str:
    """The located error: its type, its first lines, and `parts` in its text."""
    error = info.value
    assert isinstance(error, kind) and isinstance(error, RunError)
    assert isinstance(error.__cause__, kind)  # what the compiled code raised
    text = str(error)
    first, second, *_ = text.splitlines()
    assert first.startswith(f"{__file__}:{line_of(fn, offset)} (in {fn.__name__})")
    assert second.strip() == source
    for part in parts:
        assert part in text, (part, text)
    return text


def take_twice(x, idx):
    return x[idx] * 2.0


@BACKENDS
@pytest.mark.parametrize(("index", "message"), [
    ([0, 7], "index 7 is out of bounds for axis 0 with size 5"),
    ([0, -9], "index -9 is out of bounds for axis 0 with size 5"),
])
def test_gather_out_of_bounds(backend, index, message):
    f = tracejit.jit(take_twice, backend=backend)
    x = np.arange(5.0)
    assert f(x, np.array([4, -5])).tolist() == [8.0, 0.0]
    with pytest.raises(IndexError) as info:
        f(x, np.array(index))
    expect(info, IndexError, take_twice, 1, "return x[idx] * 2.0",
           "gather(f64[5] in [0, 4], i64[2] in", f"IndexError: {message}", "fix: keep the indices")


def pick(x, k):
    i = k[0]
    return x[i] + 1.0


@BACKENDS
@pytest.mark.parametrize("k", [5, -6])
def test_traced_scalar_index_out_of_bounds(backend, k):
    f = tracejit.jit(pick, backend=backend)
    x = np.arange(5.0)
    assert f(x, np.array([-5])) == 1.0
    with pytest.raises(IndexError) as info:
        f(x, np.array([k]))
    expect(info, IndexError, pick, 2, "return x[i] + 1.0",
           f"index {k} is out of bounds for axis 0 with size 5")


def solve_twice(a, b):
    return np.linalg.solve(a, b) * 2.0


def invert(a):
    return np.linalg.inv(a) + 1.0


def factor(a):
    return np.linalg.cholesky(a) * 1.0


@BACKENDS
def test_singular_and_not_positive_definite_matrices(backend):
    singular = np.ones((2, 2))
    f = tracejit.jit(solve_twice, backend=backend)
    assert np.allclose(f(np.eye(2), np.ones(2)), 2.0)
    with pytest.raises(np.linalg.LinAlgError) as info:
        f(singular, np.ones(2))
    expect(info, np.linalg.LinAlgError, solve_twice, 1,
           "return np.linalg.solve(a, b) * 2.0",
           "solve(f64[2,2] in [1, 1], f64[2] in [1, 1]): LinAlgError: Singular matrix",
           "fix: the matrix is singular")
    with pytest.raises(np.linalg.LinAlgError) as info:
        tracejit.jit(invert, backend=backend)(singular)
    expect(info, np.linalg.LinAlgError, invert, 1, "return np.linalg.inv(a) + 1.0",
           "Singular matrix")
    with pytest.raises(np.linalg.LinAlgError) as info:
        tracejit.jit(factor, backend=backend)(-np.eye(2))
    expect(info, np.linalg.LinAlgError, factor, 1, "return np.linalg.cholesky(a) * 1.0",
           "Matrix is not positive definite")


def put(x, idx, v):
    x[idx] = v


def accumulate(x, idx, v):
    np.add.at(x, idx, v)


def put_copy(x, idx, v):
    y = x.copy()
    y[idx] = v
    return y


@BACKENDS
@pytest.mark.parametrize(("fn", "op", "source"), [
    (put, "scatter", "x[idx] = v"),
    (accumulate, "scatter_add", "np.add.at(x, idx, v)"),
    (put_copy, "scatter", "y[idx] = v"),
])
def test_scatter_out_of_bounds_writes_nothing_back(backend, fn, op, source):
    f = tracejit.jit(fn, backend=backend)
    x, v = np.zeros(5), np.array([7.0, 8.0])
    f(x.copy(), np.array([1, 4]), v)
    for index in ([1, 9], [1, -6]):
        with pytest.raises(IndexError) as info:
            f(x, np.array(index), v)
        offset = 2 if fn is put_copy else 1
        expect(info, IndexError, fn, offset, source, f"{op}(f64[5] in [0, 0]",
               f"index {index[1]} is out of bounds for axis 0 with size 5")
        assert x.tolist() == [0.0] * 5


def shifted_sums(x, idx):
    s = np.zeros(2)
    for k in range(3):
        s = s + x[idx + k]
    return s


def solve_repeatedly(a, b):
    for _ in range(3):
        b = np.linalg.solve(a, b)
        a = a - np.eye(2)
    return b


def grow_until(x, idx):
    k = 0
    total = 0.0
    while total < 100.0:
        total = total + x[idx + k].sum()
        k = k + 1
    return total


@BACKENDS
def test_inside_loops_names_the_iteration(backend):
    f = tracejit.jit(shifted_sums, backend=backend)
    x = np.arange(5.0)
    assert f(x, np.array([0, 1])).tolist() == [3.0, 6.0]
    with pytest.raises(IndexError) as info:
        f(x, np.array([0, 3]))
    expect(info, IndexError, shifted_sums, 3, "s = s + x[idx + k]",
           "i64[2] in [2, 5]", "index 5 is out of bounds",
           f"in iteration 2 of the scan loop at test_runtime_errors.py:{line_of(shifted_sums, 2)}")

    # a becomes singular in the second iteration: [[2, 1], [1, 2]] - I
    g = tracejit.jit(solve_repeatedly, backend=backend)
    with pytest.raises(np.linalg.LinAlgError) as info:
        g(np.array([[2.0, 1.0], [1.0, 2.0]]), np.ones(2))
    expect(info, np.linalg.LinAlgError, solve_repeatedly, 2, "b = np.linalg.solve(a, b)",
           "Singular matrix", "in iteration 1 of the scan loop")

    h = tracejit.jit(grow_until, backend=backend)
    with pytest.raises(IndexError) as info:
        h(np.arange(5.0), np.array([0, 1]))
    expect(info, IndexError, grow_until, 4, "total = total + x[idx + k].sum()",
           "index 5 is out of bounds", "of the while loop")


def test_fast_path_failure_is_located():
    f = tracejit.jit(take_twice, backend="numba")
    x = np.arange(5.0)
    for _ in range(3):
        f(x, np.array([0, 1]))
    assert f._fast_kinds is not None
    hits = f._fast_hits
    with pytest.raises(IndexError) as info:
        f(x, np.array([0, 5]))
    assert f._fast_hits == hits + 1  # the fast path ran the failing call
    expect(info, IndexError, take_twice, 1, "return x[idx] * 2.0", "index 5 is out of bounds")
    assert f(x, np.array([1, 2])).tolist() == [2.0, 4.0]


def log_twice(x):
    y = np.log(x)
    return y * 2


def test_floating_point_error_under_errstate_raise():
    f = tracejit.jit(log_twice, backend="numpy")
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError) as info:
        f(np.array([1.0, 0.0]))
    expect(info, FloatingPointError, log_twice, 1, "y = np.log(x)",
           "log(f64[2] in [0, 1]): FloatingPointError: divide by zero encountered in log")


def double_then_put(x, idx):
    x *= 2.0
    x[idx] = 0.0


@BACKENDS
def test_debug_nans_keeps_arguments_that_compiled_code_updates_in_place(backend):
    """Numba reuses the memory of an argument the function overwrites (x *= 2 runs in
    x's buffer); with debug_nans the snapshot taken before the call is put back."""
    f = tracejit.jit(double_then_put, backend=backend, debug_nans=True)
    x = np.arange(5.0)
    with pytest.raises(IndexError) as info:
        f(x, np.array([1, 9]))
    expect(info, IndexError, double_then_put, 2, "x[idx] = 0.0",
           "scatter(f64[5] in [0, 8]", "index 9 is out of bounds")
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "may hold part of this call's updates" not in str(info.value)


def test_without_debug_nans_an_updated_argument_is_said_to_be_touched():
    f = tracejit.jit(double_then_put, backend="numba")
    with pytest.raises(IndexError, match="may hold part of this call's updates"):
        f(np.arange(5.0), np.array([1, 9]))


def test_an_error_the_interpreter_does_not_reproduce_propagates_with_a_note():
    f = tracejit.jit(take_twice, backend="numba")
    x, idx = np.arange(5.0), np.array([0, 1])
    f(x, idx)
    ((key, entry),) = f._cache.items()

    def broken(*inputs):
        raise ValueError("boom")

    f._cache[key] = dataclasses.replace(entry, run=broken)
    f.drop_fast_path()
    with pytest.raises(ValueError) as info:
        f(x, idx)
    assert str(info.value) == "boom" and not isinstance(info.value, RunError)
    assert "the NumPy interpreter runs this call without error" in info.value.__notes__[0]


def checked_loop(x):
    for k in range(3):
        assert k < 2, "k too large"
        x = x + 1.0
    return x


def printed_then_failed(x, idx):
    tracejit.debug_print("x = {}", x)
    return x[idx]


@BACKENDS
def test_assertions_pass_through_and_prints_run_once(backend, capfd):
    with pytest.raises(AssertionError) as info:
        tracejit.jit(checked_loop, backend=backend)(np.zeros(2))
    assert not isinstance(info.value, RunError)
    f = tracejit.jit(printed_then_failed, backend=backend)
    with pytest.raises(IndexError):
        f(np.arange(3.0), np.array([3]))
    assert capfd.readouterr().out.count("x = ") == 1


def test_grad_of_a_failing_function_is_located():
    def loss(w, idx):
        return np.sum(w[idx] ** 2)

    with pytest.raises(IndexError) as info:
        tracejit.grad(tracejit.jit(loss))(np.ones(4), np.array([1, 7]))
    assert "index 7 is out of bounds for axis 0 with size 4" in str(info.value)
    assert str(info.value).startswith(f"{__file__}:{line_of(loss, 1)}")


def test_integer_ranges_are_exact():
    f = tracejit.jit(take_twice, backend="numpy")
    with pytest.raises(IndexError) as info:
        f(np.zeros(1_000_000), np.array([0, 1_000_000]))
    expect(info, IndexError, take_twice, 1, "return x[idx] * 2.0",
           "gather(f64[1000000] in [0, 0], i64[2] in [0, 1000000])")
