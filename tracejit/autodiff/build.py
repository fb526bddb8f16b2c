"""Building blocks for derivative rules: tracer-level helpers that record graph ops.

Rules run inside a trace, on `Tracer`s, so what they build is an ordinary graph
(optimized, fused, compiled, and differentiable again). NumPy ufuncs and methods work
on tracers directly; these helpers cover what has no NumPy spelling that records the
op we want (a zero of a given aval, a slice by triples, summing back to a shape).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.graph.ir import Aval, Var
from tracejit.trace.context import TraceContext
from tracejit.trace.tracer import Tracer, astype, bind, constant, create, fresh


def is_inexact(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def tracer_of(ctx: TraceContext, var: Var) -> Tracer:
    """A read-only tracer over an existing graph value."""
    return fresh(ctx, var)


def full(aval: Aval, value: Any) -> Tracer:
    """A new array of `aval` filled with `value` (a fresh variable: never shared)."""
    return create("full", {"shape": tuple(aval.shape), "fill_value": value,
                           "dtype": np.dtype(aval.dtype)})


def zeros(aval: Aval) -> Tracer:
    return full(aval, 0)


def zeros_like(x: Tracer) -> Tracer:
    return full(Aval(x.shape, x.dtype), 0)


def reshape(x: Tracer, shape: tuple[int, ...]) -> Tracer:
    return x if x.shape == tuple(shape) else bind("reshape", [x], {"shape": tuple(shape)})


def broadcast_to(x: Tracer, shape: tuple[int, ...]) -> Tracer:
    if x.shape == tuple(shape):
        return x
    if x.ndim < len(shape):
        x = reshape(x, (1,) * (len(shape) - x.ndim) + x.shape)
    return bind("broadcast_to", [x], {"shape": tuple(shape)})


def transpose(x: Tracer, axes: tuple[int, ...]) -> Tracer:
    if tuple(axes) == tuple(range(x.ndim)):
        return x
    return bind("transpose", [x], {"axes": tuple(axes)})


def swap_last(x: Tracer) -> Tracer:
    """The matrix transpose of a stack of matrices."""
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, axes)


def sum_axes(x: Tracer, axes: tuple[int, ...], keepdims: bool = False) -> Tracer:
    if not axes:
        return x
    return bind("sum", [x], {"axes": tuple(sorted(axes)), "keepdims": keepdims,
                             "dtype": None})


def sum_to(x: Tracer, shape: tuple[int, ...]) -> Tracer:
    """Sum a broadcast result back to `shape` (the transpose of broadcasting): over extra
    leading axes and over axes where `shape` has 1. Axes where `x` has 1 and `shape` more
    stay 1 (`fit` broadcasts them)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    summed = [i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1]
    x = sum_axes(x, tuple(range(lead)) + tuple(lead + i for i in summed), keepdims=True)
    return reshape(x, x.shape[lead:])


def fit(ct: Tracer, aval: Aval) -> Tracer:
    """A cotangent or tangent made to match a value's aval: summed over broadcast axes,
    broadcast over axes it lacks, and cast (a complex one to a real value: its real part)."""
    if ct.shape != tuple(aval.shape):
        if ct.ndim >= len(aval.shape):
            ct = sum_to(ct, aval.shape)
        if ct.shape != tuple(aval.shape):
            ct = broadcast_to(ct, aval.shape)
    if ct.dtype != aval.dtype:
        if ct.dtype.kind == "c" and aval.dtype.kind != "c":
            ct = np.real(ct)
        ct = astype(ct, aval.dtype)
    return ct


def slice_(x: Tracer, triples: tuple) -> Tracer:
    return bind("slice", [x], {"triples": tuple(triples)})


def set_slice(x: Tracer, update: Tracer, triples: tuple) -> Tracer:
    return bind("set_slice", [x, update], {"triples": tuple(triples)})


def slice_axis(x: Tracer, axis: int, start: int, stop: int) -> Tracer:
    """x[..., start:stop, ...] on `axis`."""
    return slice_(x, tuple((start, stop, 1) if i == axis else (0, n, 1)
                           for i, n in enumerate(x.shape)))


def take_along(x: Tracer, idx: Tracer, axis: int) -> Tracer:
    """`np.take_along_axis(x, idx, axis)` as one gather: `idx` has x's shape except on
    `axis`; the other axes are indexed by broadcast ranges."""
    indices = []
    for k, n in enumerate(idx.shape):
        if k == axis:
            indices.append(idx)
        else:
            shape = tuple(n if i == k else 1 for i in range(idx.ndim))
            indices.append(constant(np.arange(n, dtype=np.intp).reshape(shape)))
    return bind("gather", [x, *indices], {"spec": (("a",),) * x.ndim})


def flip(x: Tracer, axis: int) -> Tracer:
    triples = tuple((n - 1, -1, -1) if i == axis else (0, n, 1)
                    for i, n in enumerate(x.shape))
    return slice_(x, triples)


def expand_reduced(ct: Tracer, shape: tuple[int, ...], axes: tuple[int, ...],
                   keepdims: bool) -> Tracer:
    """A reduction's cotangent with the reduced axes put back as length 1."""
    if keepdims:
        return ct
    return reshape(ct, tuple(1 if i in axes else d for i, d in enumerate(shape)))
