"""Creation ops: constants and arrays built from static parameters (full, arange,
linspace, eye). They have no array inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, register


class ConstValue:
    """A constant array as a hashable static param (hashed by dtype, shape and bytes).

    `count`: the value is an element count of the traced arrays (the divisor of a mean),
    so it changes with their shapes; the compiled backends pass it at run time instead
    of writing it into the code, and a new shape needs no new code."""

    __slots__ = ("array", "count", "_hash")

    def __init__(self, array: Any, dtype: Any = None, count: bool = False) -> None:
        arr = np.array(array, dtype=dtype, copy=True)
        arr.setflags(write=False)
        self.array = arr
        self.count = count
        self._hash = hash((arr.dtype.str, arr.shape, arr.tobytes(), count))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ConstValue) and self._hash == other._hash
                and self.count == other.count and self.array.dtype == other.array.dtype
                and self.array.shape == other.array.shape
                and bool(np.array_equal(self.array, other.array, equal_nan=True)))

    def __repr__(self) -> str:
        if self.array.size <= 6:
            return np.array2string(self.array, separator=",").replace("\n", "")
        return f"<{self.array.dtype}{list(self.array.shape)} constant>"


def constant_impl(*, value: ConstValue) -> np.ndarray:
    return value.array.copy()


def constant_infer(*, value: ConstValue) -> list[Aval]:
    return [Aval(value.array.shape, value.array.dtype)]


def full_impl(*, shape: tuple[int, ...], fill_value: Any, dtype: np.dtype) -> np.ndarray:
    return np.full(shape, fill_value, dtype=dtype)


def full_infer(*, shape: tuple[int, ...], fill_value: Any, dtype: np.dtype) -> list[Aval]:
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    return [Aval(tuple(shape), np.dtype(dtype))]


def arange_impl(*, start: Any, stop: Any, step: Any, dtype: np.dtype) -> np.ndarray:
    return np.arange(start, stop, step, dtype=dtype)


def arange_length(start: Any, stop: Any, step: Any) -> int:
    if step == 0:
        raise ZeroDivisionError("arange: step must not be zero")
    if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
        return len(range(int(start), int(stop), int(step)))
    return max(0, math.ceil((stop - start) / step))


def arange_infer(*, start: Any, stop: Any, step: Any, dtype: np.dtype) -> list[Aval]:
    return [Aval((arange_length(start, stop, step),), np.dtype(dtype))]


def linspace_impl(*, start: Any, stop: Any, num: int, endpoint: bool,
                  dtype: np.dtype) -> np.ndarray:
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def linspace_infer(*, start: Any, stop: Any, num: int, endpoint: bool,
                   dtype: np.dtype) -> list[Aval]:
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    return [Aval((num,), np.dtype(dtype))]


def eye_impl(*, n: int, m: int, k: int, dtype: np.dtype) -> np.ndarray:
    return np.eye(n, m, k, dtype=dtype)


def eye_infer(*, n: int, m: int, k: int, dtype: np.dtype) -> list[Aval]:
    return [Aval((n, m), np.dtype(dtype))]


constant = register(Op("constant", constant_impl, constant_infer, "creation"))
full = register(Op("full", full_impl, full_infer, "creation", numpy_fn=np.full))
arange = register(Op("arange", arange_impl, arange_infer, "creation", numpy_fn=np.arange))
linspace = register(Op("linspace", linspace_impl, linspace_infer, "creation",
                       numpy_fn=np.linspace))
eye = register(Op("eye", eye_impl, eye_infer, "creation", numpy_fn=np.eye))
