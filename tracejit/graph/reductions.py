"""Reductions (`sum`, `max`, `argmax`, `ufunc.reduce`, ...) and cumulative ops.

Params are normalized by the tracer: `axes` is a sorted tuple of non-negative axes,
`keepdims` a bool, `dtype` a NumPy dtype or None. Output dtypes come from NumPy itself,
probed on a tiny array, so accumulator rules (int8 sums in int64, ...) match NumPy.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, normalize_axis, probe_dtypes, register


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def reduction_row(name: str, fn: Callable, needs_identity: bool = False,
                  has_dtype: bool = True) -> Op:
    def impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool,
             dtype: Any = None) -> np.ndarray:
        kwargs = {"dtype": dtype} if has_dtype else {}
        return fn(x, axis=axes, keepdims=keepdims, **kwargs)

    def infer(x: Aval, *, axes: tuple[int, ...], keepdims: bool, dtype: Any = None) -> list:
        if needs_identity and any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"zero-size array to reduction operation {name} "
                             "which has no identity")
        params = (("axes", axes), ("keepdims", keepdims))
        if has_dtype:
            params += (("dtype", dtype),)
        (out_dtype,) = probe_dtypes(impl, (x.dtype,), (x.ndim,), params)
        return [Aval(reduced_shape(x.shape, axes, keepdims), out_dtype)]

    return register(Op(name, impl, infer, "reduction", numpy_fn=fn))


sum_ = reduction_row("sum", np.sum)
prod = reduction_row("prod", np.prod)
max_ = reduction_row("max", np.max, needs_identity=True, has_dtype=False)
min_ = reduction_row("min", np.min, needs_identity=True, has_dtype=False)
any_ = reduction_row("any", np.any, has_dtype=False)
all_ = reduction_row("all", np.all, has_dtype=False)


def ufunc_reduce_impl(x: np.ndarray, *, ufunc: str, axes: tuple[int, ...], keepdims: bool,
                      dtype: Any = None) -> np.ndarray:
    return getattr(np, ufunc).reduce(x, axis=axes, keepdims=keepdims, dtype=dtype)


def ufunc_reduce_infer(x: Aval, *, ufunc: str, axes: tuple[int, ...], keepdims: bool,
                       dtype: Any = None) -> list[Aval]:
    uf = getattr(np, ufunc)
    if uf.identity is None and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"zero-size array to reduction operation {ufunc} which has no identity")
    params = (("ufunc", ufunc), ("axes", axes), ("keepdims", keepdims), ("dtype", dtype))
    (out_dtype,) = probe_dtypes(ufunc_reduce_impl, (x.dtype,), (x.ndim,), params)
    return [Aval(reduced_shape(x.shape, axes, keepdims), out_dtype)]


reduce = register(Op("reduce", ufunc_reduce_impl, ufunc_reduce_infer, "reduction"))


def arg_row(name: str, fn: Callable) -> Op:
    def impl(x: np.ndarray, *, axis: int | None, keepdims: bool) -> np.ndarray:
        return fn(x, axis=axis, keepdims=keepdims)

    def infer(x: Aval, *, axis: int | None, keepdims: bool) -> list[Aval]:
        if (x.size if axis is None else x.shape[axis]) == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        if axis is None:
            shape = (1,) * x.ndim if keepdims else ()
        else:
            shape = reduced_shape(x.shape, (axis,), keepdims)
        return [Aval(shape, np.dtype(np.intp))]

    return register(Op(name, impl, infer, "reduction", numpy_fn=fn))


argmax = arg_row("argmax", np.argmax)
argmin = arg_row("argmin", np.argmin)


def cumulative_row(name: str, fn: Callable) -> Op:
    def impl(x: np.ndarray, *, axis: int, dtype: Any = None) -> np.ndarray:
        return fn(x, axis=axis, dtype=dtype)

    def infer(x: Aval, *, axis: int, dtype: Any = None) -> list[Aval]:
        normalize_axis(axis, x.ndim)
        params = (("axis", axis), ("dtype", dtype))
        (out_dtype,) = probe_dtypes(impl, (x.dtype,), (x.ndim,), params)
        return [Aval(x.shape, out_dtype)]

    return register(Op(name, impl, infer, "cumulative", numpy_fn=fn))


cumsum = cumulative_row("cumsum", np.cumsum)
cumprod = cumulative_row("cumprod", np.cumprod)


def accumulate_impl(x: np.ndarray, *, ufunc: str, axis: int, dtype: Any = None) -> np.ndarray:
    return getattr(np, ufunc).accumulate(x, axis=axis, dtype=dtype)


def accumulate_infer(x: Aval, *, ufunc: str, axis: int, dtype: Any = None) -> list[Aval]:
    normalize_axis(axis, x.ndim)
    params = (("ufunc", ufunc), ("axis", axis), ("dtype", dtype))
    (out_dtype,) = probe_dtypes(accumulate_impl, (x.dtype,), (x.ndim,), params)
    return [Aval(x.shape, out_dtype)]


accumulate = register(Op("accumulate", accumulate_impl, accumulate_infer, "cumulative"))
