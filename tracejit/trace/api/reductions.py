"""Reductions: sum, prod, mean, var, std, min, max, argmin, argmax, any, all, cumsum,
cumprod, and the ufunc methods reduce / accumulate / outer.

mean, var and std follow NumPy's own `_methods` formulas op for op (same accumulator
dtypes, same order of operations), so their values match NumPy's exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit import errors
from tracejit.graph.ops import normalize_axes, normalize_axis
from tracejit.trace.api import implements
from tracejit.trace.mutation import assign
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, constant, lift

_NO_VALUE = np._NoValue


def reject(name: str, **options: Any) -> None:
    for key, value in options.items():
        if value is not _NO_VALUE and value is not True and value is not None:
            raise errors.UnsupportedFunctionError(
                f"np.{name}(..., {key}=)", f"the {key}= argument is not supported in jitted "
                "code", "mask with np.where before reducing instead", user_source())


def finish(result: Tracer, out: Any) -> Any:
    if out is None:
        return result
    target = out[0] if isinstance(out, tuple) else out
    if lift(target).shape != result.shape:  # a reduction's out= must fit exactly
        raise errors.TraceShapeError(
            "reduction out=", f"output parameter has shape {lift(target).shape}, the "
            f"result has shape {result.shape}", "give out= the result's shape "
            "(keepdims=True keeps reduced axes as length 1)", user_source())
    assign(lift(target), result, "reduction out=")
    return target


def out_dtype(dtype: Any, out: Any) -> Any:
    """The accumulator dtype: dtype=, else out='s dtype (NumPy's rule), else None."""
    if dtype is None and out is not None:
        return lift(out[0] if isinstance(out, tuple) else out).dtype
    return dtype and np.dtype(dtype)


def reduction(op: str, a: Any, axis: Any, keepdims: bool, out: Any = None, **params: Any):
    a = lift(a)
    try:
        axes = normalize_axes(axis, a.ndim)
    except (np.exceptions.AxisError, ValueError) as exc:
        error = errors.TraceAxisError if isinstance(exc, np.exceptions.AxisError) \
            else errors.TraceShapeError
        raise error(f"np.{op}", f"{exc} (array {a.dtype}{list(a.shape)})",
                    "pick an axis the array has", user_source()) from None
    result = bind(op, [a], {"axes": axes, "keepdims": bool(keepdims), **params})
    return finish(result, out)


@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
         where=_NO_VALUE):
    reject("sum", initial=initial, where=where)
    return reduction("sum", a, axis, keepdims, out, dtype=out_dtype(dtype, out))


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE,
         where=_NO_VALUE):
    reject("prod", initial=initial, where=where)
    return reduction("prod", a, axis, keepdims, out, dtype=out_dtype(dtype, out))


@implements(np.max, np.amax)
def max_(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=_NO_VALUE):
    reject("max", initial=initial, where=where)
    return reduction("max", a, axis, keepdims, out)


@implements(np.min, np.amin)
def min_(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=_NO_VALUE):
    reject("min", initial=initial, where=where)
    return reduction("min", a, axis, keepdims, out)


@implements(np.any)
def any_(a, axis=None, out=None, keepdims=False, *, where=_NO_VALUE):
    reject("any", where=where)
    return reduction("any", a, axis, keepdims, out)


@implements(np.all)
def all_(a, axis=None, out=None, keepdims=False, *, where=_NO_VALUE):
    reject("all", where=where)
    return reduction("all", a, axis, keepdims, out)


def arg_reduction(op: str, a: Any, axis: Any, out: Any, keepdims: bool) -> Any:
    a = lift(a)
    if axis is not None:
        axis = normalize_axis(int(axis), a.ndim)
    return finish(bind(op, [a], {"axis": axis, "keepdims": bool(keepdims)}), out)


@implements(np.argmax)
def argmax(a, axis=None, out=None, *, keepdims=False):
    return arg_reduction("argmax", a, axis, out, keepdims)


@implements(np.argmin)
def argmin(a, axis=None, out=None, *, keepdims=False):
    return arg_reduction("argmin", a, axis, out, keepdims)


def count(a: Tracer, axis: Any) -> int:
    axes = normalize_axes(axis, a.ndim)
    return int(np.prod([a.shape[i] for i in axes], dtype=np.int64))


def divisor(n: int) -> Tracer:
    """An element count as the divisor of a mean: a Python int to NumPy's dtype rules,
    marked as a count so the compiled code reads it at run time (a mean over a new
    length then needs no new code)."""
    t = constant(n, kind="python", count=True)
    t.weak = True
    return t


def default_float(a: Tracer, dtype: Any) -> Any:
    if dtype is None and a.dtype.kind in "biu":
        return np.dtype(np.float64)
    return dtype and np.dtype(dtype)


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=_NO_VALUE):
    reject("mean", where=where)
    a = lift(a)
    n = count(a, axis)
    float16 = dtype is None and a.dtype == np.float16
    total = sum_(a, axis, np.float32 if float16 else out_dtype(default_float(a, dtype), out),
                 keepdims=keepdims)
    result = astype(total / divisor(n), total.dtype)
    return finish(astype(result, np.float16) if float16 else result, out)


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=_NO_VALUE,
        mean=_NO_VALUE, correction=_NO_VALUE):
    reject("var", where=where, mean=mean)
    if correction is not _NO_VALUE:
        ddof = correction
    return finish(variance(lift(a), axis, dtype, ddof, keepdims), out)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=_NO_VALUE,
        mean=_NO_VALUE, correction=_NO_VALUE):
    reject("std", where=where, mean=mean)
    if correction is not _NO_VALUE:
        ddof = correction
    return finish(np.sqrt(variance(lift(a), axis, dtype, ddof, keepdims)), out)


def variance(a: Tracer, axis: Any, dtype: Any, ddof: Any, keepdims: bool) -> Tracer:
    dtype = default_float(a, dtype)
    n = count(a, axis)
    total = sum_(a, axis, dtype, keepdims=True)
    centered = a - astype(total / divisor(n), total.dtype)
    if centered.dtype.kind == "c":
        squared = np.real(centered) * np.real(centered) + np.imag(centered) * np.imag(centered)
    else:
        squared = centered * centered
    ss = sum_(squared, axis, dtype, keepdims=keepdims)
    return astype(ss / divisor(max(n - ddof, 0)), ss.dtype)


def cumulative(op: str, a: Any, axis: Any, dtype: Any, out: Any) -> Any:
    a = lift(a)
    if axis is None or a.ndim == 0:  # NumPy treats a 0-d array as 1-d here
        a = bind("reshape", [a], {"shape": (a.size,)})
        axis = 0 if axis is None else axis
    axis = normalize_axis(int(axis), a.ndim)
    result = bind(op, [a], {"axis": axis, "dtype": out_dtype(dtype, out)}, kind="array")
    return finish(result, out)


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    return cumulative("cumsum", a, axis, dtype, out)


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    return cumulative("cumprod", a, axis, dtype, out)


def ufunc_reduce(ufunc: np.ufunc, a: Any, axis: Any = 0, dtype: Any = None,
                 keepdims: bool = False, initial: Any = _NO_VALUE, where: Any = _NO_VALUE):
    reject(f"{ufunc.__name__}.reduce", initial=initial, where=where)
    if ufunc.nin != 2 or ufunc.nout != 1:
        raise TypeError(f"reduce only supported for binary functions, not {ufunc.__name__}")
    return reduction("reduce", a, axis, keepdims, ufunc=ufunc.__name__,
                     dtype=dtype and np.dtype(dtype))


def ufunc_accumulate(ufunc: np.ufunc, a: Any, axis: int = 0, dtype: Any = None):
    a = lift(a)
    if a.ndim == 0:
        raise errors.TraceTypeError(f"np.{ufunc.__name__}.accumulate",
                                    "cannot accumulate on a scalar", "", user_source())
    axis = normalize_axis(int(axis), a.ndim)
    return bind("accumulate", [a], {"ufunc": ufunc.__name__, "axis": axis,
                                    "dtype": dtype and np.dtype(dtype)}, kind="array")


def ufunc_outer(ufunc: np.ufunc, a: Any, b: Any, dtype: Any = None):
    a, b = lift(a), lift(b)
    a = bind("reshape", [a], {"shape": a.shape + (1,) * b.ndim})
    return ufunc(a, b, dtype=dtype)
