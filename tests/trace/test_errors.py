"""What cannot be traced fails loudly: the right built-in type, the user's file:line, the
operation, the shapes/dtypes, and a fix."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tracejit
from tracejit import errors


def line_of(fn, marker: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    for offset, line in enumerate(lines):
        if marker in line:
            return start + offset
    raise AssertionError(f"marker {marker!r} not found")


def check(exc_info, fn, marker: str, *fragments: str) -> None:
    message = str(exc_info.value)
    assert f"{__file__}:{line_of(fn, marker)}" in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "fix:" in message, message


def branch(x):
    if x.sum() > 0:  # <-- branch
        return x
    return -x


def to_float(x):
    return float(x[0])  # <-- float


def item(x):
    return x.item()  # <-- item


def mask_read(x):
    return x[x > 0]  # <-- mask


def nonzero(x):
    return np.nonzero(x)  # <-- nonzero


def unique(x):
    return np.unique(x)  # <-- unique


def sort(x):
    return np.sort(x)  # <-- sort


def broadcast(x, y):
    return x + y  # <-- broadcast


def matmul(x, y):
    return x @ y  # <-- matmul


def random(x):
    return x + np.random.rand(3)  # <-- random


def where_one(x):
    return np.where(x > 0)  # <-- where


def bad_reshape(x):
    return x.reshape(4, 4)  # <-- reshape


def out_of_bounds(x):
    return x[7]  # <-- bounds


@pytest.mark.parametrize("fn, marker, builtin, fragments", [
    (branch, "<-- branch", TypeError, ["bool()", "f64[3]", "np.where"]),
    (to_float, "<-- float", TypeError, ["float()"]),
    (item, "<-- item", TypeError, ["item()"]),
    (mask_read, "<-- mask", IndexError, ["boolean mask", "bool[3]", "np.where"]),
    (nonzero, "<-- nonzero", ValueError, ["np.nonzero", "depends on the values"]),
    (unique, "<-- unique", ValueError, ["np.unique"]),
    (sort, "<-- sort", TypeError, ["np.sort", "not supported"]),
    (random, "<-- random", TypeError, ["np.random.rand", "argument"]),
    (where_one, "<-- where", ValueError, ["np.where(condition)", "np.where(condition, x, y)"]),
    (bad_reshape, "<-- reshape", ValueError, ["size 3", "(4, 4)"]),
    (out_of_bounds, "<-- bounds", IndexError, ["index 7 is out of bounds", "size 3"]),
])
def test_untraceable_operations(fn, marker, builtin, fragments):
    with pytest.raises(builtin) as info:
        tracejit.jit(fn)(np.arange(3.0))
    assert isinstance(info.value, errors.TracejitError)
    check(info, fn, marker, *fragments)


def test_broadcast_mismatch_names_shapes():
    with pytest.raises(ValueError) as info:
        tracejit.jit(broadcast)(np.ones(3), np.ones(4))
    check(info, broadcast, "<-- broadcast", "np.add", "(3,)", "(4,)", "f64[3]", "f64[4]")


def test_matmul_mismatch_names_shapes():
    with pytest.raises(ValueError) as info:
        tracejit.jit(matmul)(np.ones((2, 3)), np.ones((4, 5), np.float32))
    check(info, matmul, "<-- matmul", "matmul", "(2, 3)", "(4, 5)", "[4,5]")


def test_object_and_string_arrays_are_rejected():
    f = tracejit.jit(lambda x: x)
    for bad in (np.array([1, "a"], dtype=object), np.array(["a", "b"])):
        with pytest.raises(TypeError) as info:
            f(bad)
        assert str(bad.dtype) in str(info.value)
        assert "fix:" in str(info.value)


def test_unhashable_static_argument():
    f = tracejit.jit(lambda x, opts: x * opts["scale"], static_argnames="opts")
    with pytest.raises(TypeError):
        f(np.ones(2), {"scale": 2.0})


def test_assigning_a_global_is_refused():
    def g(x):
        global COUNTER
        COUNTER = x
        return x

    with pytest.raises(TypeError) as info:
        tracejit.jit(g)(np.ones(2))
    assert "COUNTER" in str(info.value)


def test_overflowing_python_int_raises_like_numpy():
    f = tracejit.jit(lambda x: x + 1000)
    x = np.arange(3, dtype=np.int8)
    with pytest.raises(OverflowError):
        x + 1000
    with pytest.raises(OverflowError):
        f(x)


def test_inplace_unsafe_cast_raises_like_numpy():
    def f(x):
        x += 1.5
        return x

    with pytest.raises(TypeError):
        f(np.arange(3))
    with pytest.raises(TypeError) as info:
        tracejit.jit(f)(np.arange(3))
    assert "same_kind" in str(info.value)
