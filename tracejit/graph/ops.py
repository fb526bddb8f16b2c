"""The op table: one `Op` row per operation, looked up by name.

A row holds what every consumer of the graph needs to know about an op and nothing
backend-specific: its shape/dtype rule (`infer`) and its NumPy reference implementation
(`impl`). Backends and autodiff keep their own tables keyed by the same names, and a
completeness test checks that every row has an entry in each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tracejit.graph.ir import Aval

Impl = Callable[..., Any]
Infer = Callable[..., list[Aval]]

OPS: dict[str, Op] = {}


@dataclass(frozen=True)
class Op:
    """A row of the op table.

    `impl(*arrays, **params)` returns one array, or a tuple of `nout` arrays (`nout` -1:
    as many as the equation's params say, as for loops, whose bodies decide);
    `infer(*avals, **params)` returns the output avals, raising `ValueError`/`TypeError`
    with a plain description when the inputs are invalid for this op.
    """

    name: str
    impl: Impl
    infer: Infer
    family: str
    nout: int = 1
    numpy_fn: Any = None
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def register(op: Op) -> Op:
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} registered twice")
    OPS[op.name] = op
    return op


def run_impl(op: Op, arrays: list[Any], params: dict[str, Any]) -> list[np.ndarray]:
    """Call an op's NumPy implementation and always return a list of outputs."""
    out = op.impl(*arrays, **params)
    return [out] if op.nout == 1 else list(out or ())


# --- shared rule helpers -------------------------------------------------------------


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting; raises ValueError naming the shapes."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(
            "operands could not be broadcast together with shapes "
            + " ".join(str(tuple(s)) for s in shapes)
        ) from None


@functools.lru_cache(maxsize=4096)
def probe_dtypes(fn: Callable, in_dtypes: tuple[np.dtype, ...], ndims: tuple[int, ...],
                 params: tuple[tuple[str, Any], ...] = ()) -> tuple[np.dtype, ...]:
    """Output dtypes of `fn` found by calling it on tiny arrays of the given dtypes.

    Shapes are all ones, so the probe is cheap whatever the real sizes are; the result
    is cached per (function, dtypes, ndims, params).
    """
    args = [np.ones((1,) * nd, dtype=dt) for dt, nd in zip(in_dtypes, ndims, strict=True)]
    out = fn(*args, **dict(params))
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(np.asarray(o).dtype for o in outs)


def normalize_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """`None` → all axes; ints and tuples → sorted non-negative axes, no repeats."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = tuple(normalize_axis(int(a), ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))
