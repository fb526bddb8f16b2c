"""Elementwise functions that are not ufuncs: where, clip, round, real, imag, angle,
copyto; and the functions whose result shape depends on values, which are refused."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit import errors
from tracejit.trace.api import implements, unsupported
from tracejit.trace.mutation import assign, check_target
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, is_py_scalar, lift, weak_type
from tracejit.trace.ufuncs import apply_ufunc
from tracejit.trace.views import Step


def promote(*operands: Any) -> np.dtype:
    """NumPy 2's result_type with Python scalars (and weak tracers) kept weak."""
    types = []
    for o in operands:
        if isinstance(o, Tracer):
            wt = weak_type(o)
            types.append({float: 0.0, complex: 0j, int: 0}.get(wt, wt))
        elif is_py_scalar(o):
            types.append(o)
        else:
            types.append(lift(o).dtype)
    return np.result_type(*types)


def operand(x: Any, dtype: np.dtype) -> Tracer:
    if is_py_scalar(x):
        return lift(x, dtype)
    return astype(lift(x), dtype, kind="array")


def result_kind(*operands: Any) -> str:
    shapes = [np.shape(o) if not isinstance(o, Tracer) else o.shape for o in operands]
    return "scalar" if all(len(s) == 0 for s in shapes) else "array"


@implements(np.where)
def where(condition: Any, x: Any = np._NoValue, y: Any = np._NoValue) -> Any:
    if x is np._NoValue and y is np._NoValue:
        raise errors.DataDependentShapeError(
            "np.where(condition)", "with one argument np.where is np.nonzero, whose result "
            "shape depends on the values", "use np.where(condition, x, y)", user_source())
    dtype = promote(x, y)
    cond = astype(lift(condition), np.bool_)
    # np.where casts a Python scalar to the result dtype unsafely (300 → 44 in int8)
    x, y = (lift(np.asarray(v).astype(dtype)[()]) if is_py_scalar(v) else v
            for v in (x, y))
    return bind("where", [cond, operand(x, dtype), operand(y, dtype)], kind="array")


@implements(np.clip)
def clip(a: Any, a_min: Any = np._NoValue, a_max: Any = np._NoValue, out: Any = None,
         *, min: Any = np._NoValue, max: Any = np._NoValue, **kwargs: Any) -> Any:
    lo = min if a_min is np._NoValue else a_min
    hi = max if a_max is np._NoValue else a_max
    lo, hi = (None if v is np._NoValue else v for v in (lo, hi))
    if lo is None and hi is None:
        raise ValueError("One of max or min must be given")
    result = lift(a)
    if lo is not None and hi is not None:
        dtype = promote(a, lo, hi)
        result = bind("clip", [operand(a, dtype), operand(lo, dtype), operand(hi, dtype)])
    elif lo is not None:
        result = apply_ufunc(np.maximum, (a, lo))
    else:
        result = apply_ufunc(np.minimum, (a, hi))
    if out is not None:
        assign(lift(out), result, "np.clip(..., out=)")
        return out
    return result


@implements(np.round, np.around)
def round_(a: Any, decimals: int = 0, out: Any = None) -> Any:
    a = lift(a)
    # NumPy gives a NumPy scalar for any 0-d input (array, NumPy or Python scalar)
    result = bind("round", [a], {"decimals": int(decimals)}, kind="scalar" if a.ndim == 0
                  else "array")
    if out is not None:
        assign(lift(out), result, "np.round(..., out=)")
        return out
    return result


def part_view(val: Tracer, part: str) -> Tracer:
    """z.real / z.imag of a complex array: a view, so writes through it reach z."""
    dtype = np.empty(0, val.dtype).real.dtype
    return Tracer(val._ctx, val._buf, val._steps + (Step(part, ()),), val.shape, dtype,
                  None, kind="array")


@implements(np.real)
def real(val: Any) -> Tracer:
    val = lift(val)
    if val.dtype.kind != "c":
        return val
    return part_view(val, "real") if val.kind == "array" else bind("real", [val], kind=val.kind)


@implements(np.imag)
def imag(val: Any) -> Tracer:
    val = lift(val)
    if val.dtype.kind == "c" and val.kind == "array":
        return part_view(val, "imag")
    return bind("imag", [val], kind=val.kind)


@implements(np.angle)
def angle(z: Any, deg: bool = False) -> Tracer:
    z = lift(z)
    return bind("angle", [z], {"deg": bool(deg)}, kind="scalar" if z.ndim == 0 else "array")


@implements(np.copyto)
def copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    target = lift(dst)
    check_target(target, "np.copyto")
    src_t = lift(src)
    if not src_t.weak and not np.can_cast(src_t.dtype, target.dtype, casting):
        raise errors.TraceTypeError(
            "np.copyto", f"Cannot cast array data from {src_t.dtype!r} to {target.dtype!r} "
            f"according to the rule {casting!r}", "pass casting='unsafe' or cast first",
            user_source())
    if where is not True:
        src_t = np.where(where, src_t, target)
    assign(target, src_t, "np.copyto", mode="setitem")


@implements(np.shape)
def shape(a: Any) -> tuple[int, ...]:
    return lift(a).shape


@implements(np.ndim)
def ndim(a: Any) -> int:
    return lift(a).ndim


@implements(np.size)
def size(a: Any, axis: Any = None) -> int:
    a = lift(a)
    return a.size if axis is None else a.shape[axis]


@implements(np.result_type)
def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return promote(*arrays_and_dtypes)


@implements(np.isclose)
def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Any:
    a, b = lift(a), lift(b)
    dtype = promote(a, b, 1.0)
    a, b = astype(a, dtype), astype(b, dtype)
    close = np.abs(a - b) <= atol + rtol * np.abs(b)
    same_inf = np.isinf(a) & np.isinf(b) & (a == b)
    result = (close & np.isfinite(b)) | same_inf
    if equal_nan:
        result = result | (np.isnan(a) & np.isnan(b))
    return result


@implements(np.allclose)
def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Any:
    result = np.all(isclose(a, b, rtol, atol, equal_nan))
    result.kind = "python"  # NumPy returns bool(...): a Python bool
    return result


unsupported(np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.extract, np.compress,
            np.trim_zeros,
            why="its result shape depends on the values of its input, which are not known "
                "while tracing",
            fix="keep shapes static: use np.where(mask, x, 0) and reductions over masks, or "
                "call it outside the jitted function")
