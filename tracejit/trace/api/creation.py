"""Array creation. The `_like` forms dispatch through `__array_function__`; the others
(np.zeros, np.arange, np.array, ...) take no array argument, so tracejit reaches them by
giving the traced function a `numpy` whose creation functions are these (`NUMPY_OVERRIDES`,
used by `capture.py`). Arrays built from static values become constants or creation ops."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tracejit import errors
from tracejit.trace.api import implements
from tracejit.trace.api.shapes import array_from_sequence, broadcast_to, contains_tracer
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, create, fresh, lift


def static_shape(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if np.ndim(shape) == 0 and not isinstance(shape, (tuple, list)) \
        else tuple(shape)
    return tuple(operator.index(d) for d in shape)


def static_scalar(value: Any, what: str) -> Any:
    if isinstance(value, Tracer):
        return value._concrete(what).item()
    return value


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kw: Any):
    shape = static_shape(shape)
    if isinstance(fill_value, Tracer) or np.ndim(fill_value) > 0:
        value = lift(fill_value)
        value = astype(value, dtype if dtype is not None else value.dtype)
        return bind("reshape", [broadcast_to(value, shape)], {"shape": shape}, kind="array")
    dtype = np.dtype(dtype) if dtype is not None else np.array(fill_value).dtype
    return create("full", {"shape": shape, "fill_value": np.array(fill_value, dtype).item(),
                           "dtype": dtype})


def zeros(shape: Any, dtype: Any = float, order: str = "C", **kw: Any) -> Tracer:
    return full(shape, 0, np.dtype(dtype))


def ones(shape: Any, dtype: Any = None, order: str = "C", **kw: Any) -> Tracer:
    return full(shape, 1, np.dtype(dtype if dtype is not None else float))


def empty(shape: Any, dtype: Any = float, order: str = "C", **kw: Any) -> Tracer:
    return full(shape, 0, np.dtype(dtype))  # zero-filled: deterministic garbage


def like_shape(a: Any, shape: Any) -> tuple[int, ...]:
    return lift(a).shape if shape is None else static_shape(shape)


@implements(np.zeros_like, np.empty_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kw):
    return full(like_shape(a, shape), 0, dtype if dtype is not None else lift(a).dtype)


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, **kw):
    return full(like_shape(a, shape), 1, dtype if dtype is not None else lift(a).dtype)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    return full(like_shape(a, shape), fill_value,
                dtype if dtype is not None else lift(a).dtype)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, **kw: Any):
    start, stop, step = (static_scalar(v, "np.arange bounds") for v in (start, stop, step))
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    if dtype is None:
        # NumPy's arange takes its bounds as Python numbers: float64 if any is a float
        # (np.float32 too), complex128 if any is complex, else int64
        kinds = {np.asarray(v).dtype.kind for v in (start, stop, step)}
        dtype = np.complex128 if "c" in kinds else np.float64 if "f" in kinds else np.int64
    return create("arange", {"start": start, "stop": stop, "step": step,
                             "dtype": np.dtype(dtype)})


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, **kw: Any):
    start, stop = (static_scalar(v, "np.linspace bounds") for v in (start, stop))
    if np.ndim(start) or np.ndim(stop) or axis != 0:
        raise errors.UnsupportedFunctionError(
            "np.linspace", "only scalar start/stop along axis 0 are supported",
            "build it from np.arange and broadcasting", user_source())
    if dtype is None:
        dtype = np.linspace(start, stop, 2).dtype
    result = create("linspace", {"start": start, "stop": stop, "num": operator.index(num),
                                 "endpoint": bool(endpoint), "dtype": np.dtype(dtype)})
    if retstep:
        div = (num - 1) if endpoint else num
        if div <= 0:
            return result, np.nan
        # NumPy's step is a NumPy scalar: the difference computed in the result type
        delta = np.subtract(stop, start, dtype=np.result_type(start, stop, float(num)))
        return result, delta / div
    return result


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, **kw: Any) -> Tracer:
    return create("eye", {"n": operator.index(N), "m": operator.index(N if M is None else M),
                          "k": operator.index(k), "dtype": np.dtype(dtype)})


def identity(n: int, dtype: Any = None, **kw: Any) -> Tracer:
    return eye(n, dtype=dtype if dtype is not None else float)


def array(obj: Any, dtype: Any = None, *, copy: bool = True, order: str = "K",
          subok: bool = False, ndmin: int = 0, **kw: Any) -> Any:
    if isinstance(obj, Tracer):
        result = astype(obj, dtype) if dtype is not None else obj
        if result is obj and copy is not False:
            result = fresh(obj._ctx, obj.sym, "array")
        elif result.kind != "array":
            result = fresh(result._ctx, result.sym, "array")
    elif isinstance(obj, (list, tuple)) and contains_tracer(obj):
        result = array_from_sequence(obj, dtype)
    else:
        return np.array(obj, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin)
    if result.ndim < ndmin:
        result = bind("reshape", [result], {"shape": (1,) * (ndmin - result.ndim) + result.shape},
                      kind="array")
    return result


def asarray(a: Any, dtype: Any = None, order: Any = None, **kw: Any) -> Any:
    if isinstance(a, Tracer):
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return astype(a, dtype, kind="array")
        return a if a.kind == "array" else fresh(a._ctx, a.sym, "array")
    if isinstance(a, (list, tuple)) and contains_tracer(a):
        return array_from_sequence(a, dtype)
    return np.asarray(a, dtype=dtype, order=order)


@implements(np.copy)
def copy(a: Any, order: str = "K", subok: bool = False) -> Tracer:
    a = lift(a)
    return fresh(a._ctx, a.sym, "array" if a.kind != "python" else "scalar")


@implements(np.astype)
def astype_fn(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Tracer:
    x = lift(x)
    result = astype(x, dtype, kind="array")
    return fresh(x._ctx, result.sym, "array") if result is x and copy else result


NUMPY_OVERRIDES = {
    "zeros": zeros, "ones": ones, "empty": empty, "full": full, "arange": arange,
    "linspace": linspace, "eye": eye, "identity": identity, "array": array,
    "asarray": asarray, "asanyarray": asarray, "ascontiguousarray": asarray,
}
