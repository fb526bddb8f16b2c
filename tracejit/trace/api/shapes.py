"""Shape functions. Views (reshape when NumPy can, transpose, swapaxes, moveaxis,
expand_dims, squeeze, ravel, atleast_*, flip, split) are view steps on the same buffer,
so writes through them reach the original; the rest (concatenate, stack, tile, repeat,
roll, pad, diff, broadcast_to) build new values from the shape op rows."""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from tracejit import errors
from tracejit.graph.ops import normalize_axes, normalize_axis
from tracejit.trace import views
from tracejit.trace.api import implements
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, constant, fresh, lift
from tracejit.trace.views import Step


def shape_error(op: str, detail: str, fix: str = "") -> errors.TraceShapeError:
    return errors.TraceShapeError(op, detail, fix, user_source())


def view(t: Tracer, step: Step, shape: tuple[int, ...], strides: Any) -> Tracer:
    """A new view of t's buffer: t's steps plus one more."""
    return Tracer(t._ctx, t._buf, t._steps + (step,), tuple(shape), t.dtype, strides,
                  kind="array")


def resolve_shape(size: int, shape: Any, op: str = "np.reshape") -> tuple[int, ...]:
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    shape = tuple(operator.index(d) for d in shape)
    if shape.count(-1) > 1:
        raise shape_error(op, "can only specify one unknown dimension")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or size % known:
            raise shape_error(op, f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise shape_error(op, f"cannot reshape array of size {size} into shape {shape}",
                          "the new shape must have the same number of elements")
    return shape


@implements(np.reshape)
def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: Any = None) -> Tracer:
    a = lift(a)
    if order != "C":
        raise errors.UnsupportedFunctionError("np.reshape", f"order={order!r} is not supported",
                                              "use order='C'", user_source())
    shape = resolve_shape(a.size, newshape if shape is None else shape)
    if shape == a.shape and copy is not True:
        return a if a.kind == "array" else fresh(a._ctx, a.sym, "array")
    strides = views.reshape_strides(a.shape, a._strides, shape)
    if strides is None or copy is True or a.kind != "array":
        return bind("reshape", [a], {"shape": shape}, kind="array")
    return view(a, Step("reshape", shape), shape, strides)


@implements(np.ravel)
def ravel(a: Any, order: str = "C") -> Tracer:
    a = lift(a)
    if order == "C" and a.kind == "array" and not views.is_c_contiguous(a.shape, a._strides):
        # NumPy's ravel copies unless C-contiguous, even where a reshape could view
        return bind("reshape", [a], {"shape": (a.size,)}, kind="array")
    return reshape(a, -1, order)


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Tracer:
    a = lift(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(normalize_axis(int(x), a.ndim) for x in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise shape_error("np.transpose", f"axes {axes} don't match array of {a.ndim} dims")
    if axes == tuple(range(a.ndim)):
        return view(a, Step("reshape", a.shape), a.shape, a._strides) if a.ndim else a
    shape = tuple(a.shape[i] for i in axes)
    return view(a, Step("transpose", axes), shape, views.transpose_strides(a._strides, axes))


@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Tracer:
    a = lift(a)
    axes = list(range(a.ndim))
    i, j = normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Tracer:
    a = lift(a)
    src = [normalize_axis(int(s), a.ndim) for s in np.atleast_1d(source)]
    dst = [normalize_axis(int(d), a.ndim) for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise shape_error("np.moveaxis", "`source` and `destination` arguments must have "
                          "the same number of elements")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Tracer:
    a = lift(a)
    out_ndim = a.ndim + (1 if np.ndim(axis) == 0 else len(axis))
    axes = normalize_axes(axis, out_ndim)
    dims = iter(a.shape)
    shape = tuple(1 if i in axes else next(dims) for i in range(out_ndim))
    return reshape(a, shape)


@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Tracer:
    a = lift(a)
    axes = tuple(i for i, d in enumerate(a.shape) if d == 1) if axis is None \
        else normalize_axes(axis, a.ndim)
    for i in axes:
        if a.shape[i] != 1:
            raise shape_error("np.squeeze", "cannot select an axis to squeeze out which has "
                              f"size not equal to one (axis {i} of shape {a.shape})")
    return reshape(a, tuple(d for i, d in enumerate(a.shape) if i not in axes))


def atleast(a: Any, ndim: int) -> Tracer:
    a = lift(a)
    if a.ndim >= ndim:
        return a if a.kind == "array" else reshape(a, a.shape)
    if ndim == 3 and a.ndim == 1:
        return reshape(a, (1,) + a.shape + (1,))
    if ndim == 3 and a.ndim == 2:
        return reshape(a, a.shape + (1,))
    return reshape(a, (1,) * (ndim - a.ndim) + a.shape)


@implements(np.atleast_1d)
def atleast_1d(*arys: Any):
    out = [atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_2d)
def atleast_2d(*arys: Any):
    out = [atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_3d)
def atleast_3d(*arys: Any):
    out = [atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Tracer:
    a = lift(array)
    shape = (shape,) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
    result = bind("broadcast_to", [a], {"shape": shape}, kind="array")
    result._buf.writeable = False  # NumPy's broadcast views are read-only
    return result


@implements(np.broadcast_arrays)
def broadcast_arrays(*args: Any, subok: bool = False):
    arrays = [lift(a) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return tuple(broadcast_to(a, shape) for a in arrays)


def common_dtype(arrays: Sequence[Tracer], dtype: Any = None) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else np.result_type(*(a.dtype for a in arrays))


@implements(np.concatenate)
def concatenate(arrays: Sequence[Any], axis: Any = 0, out: Any = None, dtype: Any = None,
                casting: str = "same_kind") -> Tracer:
    arrays = [lift(a) for a in arrays]
    if not arrays:
        raise shape_error("np.concatenate", "need at least one array to concatenate")
    if axis is None:
        arrays, axis = [reshape(a, -1) for a in arrays], 0
    dt = common_dtype(arrays, dtype)
    for a in arrays:
        if not np.can_cast(a.dtype, dt, casting):
            raise errors.TraceTypeError(
                "np.concatenate", f"Cannot cast array data from {a.dtype!r} to {dt!r} "
                f"according to the rule {casting!r}", "pass casting='unsafe'", user_source())
    result = bind("concatenate", [astype(a, dt) for a in arrays], {"axis": int(axis)},
                  kind="array")
    if out is not None:
        from tracejit.trace.mutation import assign

        assign(lift(out), result, "np.concatenate(..., out=)")
        return out
    return result


@implements(np.stack)
def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Tracer:
    arrays = [lift(a) for a in arrays]
    if len({a.shape for a in arrays}) > 1:
        raise shape_error("np.stack", "all input arrays must have the same shape, got "
                          + ", ".join(str(a.shape) for a in arrays))
    axis = normalize_axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, out, dtype, casting)


@implements(np.hstack)
def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Tracer:
    arrs = [atleast(a, 1) for a in tup]
    return concatenate(arrs, 0 if arrs and arrs[0].ndim == 1 else 1, dtype=dtype,
                       casting=casting)


@implements(np.vstack)
def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Tracer:
    return concatenate([atleast(a, 2) for a in tup], 0, dtype=dtype, casting=casting)


@implements(np.dstack)
def dstack(tup: Sequence[Any]) -> Tracer:
    return concatenate([atleast(a, 3) for a in tup], 2)


@implements(np.column_stack)
def column_stack(tup: Sequence[Any]) -> Tracer:
    arrs = [lift(a) for a in tup]
    return concatenate([reshape(a, (a.size, 1)) if a.ndim < 2 else a for a in arrs], 1)


def array_from_sequence(seq: Sequence[Any], dtype: Any = None) -> Tracer:
    """np.array of a (nested) list: a constant, or a stack where it holds tracers."""
    if not contains_tracer(seq):
        return constant(np.asarray(seq, dtype=dtype))
    items = [array_from_sequence(x) if isinstance(x, (list, tuple)) else lift(x) for x in seq]
    dt = dtype if dtype is not None else np.result_type(
        *(i.dtype if not i.weak else {"f": 0.0, "c": 0j, "i": 0}[i.dtype.kind] for i in items))
    return stack([astype(i, dt) for i in items])


def contains_tracer(seq: Any) -> bool:
    if isinstance(seq, Tracer):
        return True
    return isinstance(seq, (list, tuple)) and any(contains_tracer(x) for x in seq)


def split_points(size: int, sections: Any, even: bool, op: str) -> list[int]:
    if np.ndim(sections) == 0:
        n = operator.index(sections)
        if n <= 0:
            raise shape_error(op, "number sections must be larger than 0.")
        if even and size % n:
            raise shape_error(op, "array split does not result in an equal division",
                              "use np.array_split for unequal parts")
        each, extra = divmod(size, n)
        sizes = [each + 1] * extra + [each] * (n - extra)
        return list(np.cumsum([0] + sizes))
    return [0] + [min(max(int(i) if i >= 0 else size + int(i), 0), size) for i in sections] \
        + [size]


def split_impl(ary: Any, indices_or_sections: Any, axis: int, even: bool, op: str) -> list:
    a = lift(ary)
    axis = normalize_axis(axis, a.ndim)
    points = split_points(a.shape[axis], indices_or_sections, even, op)
    parts = []
    for start, stop in zip(points[:-1], points[1:], strict=True):
        index = [slice(None)] * a.ndim
        index[axis] = slice(start, max(start, stop))
        parts.append(a[tuple(index)])
    return parts


@implements(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    return split_impl(ary, indices_or_sections, axis, True, "np.split")


@implements(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    return split_impl(ary, indices_or_sections, axis, False, "np.array_split")


@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Tracer:
    m = lift(m)
    axes = normalize_axes(axis, m.ndim)
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))]


@implements(np.fliplr)
def fliplr(m: Any) -> Tracer:
    return flip(m, 1)


@implements(np.flipud)
def flipud(m: Any) -> Tracer:
    return flip(m, 0)


@implements(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Tracer:
    a = lift(a)
    if axis is None:
        return reshape(roll(reshape(a, -1), shift, 0), a.shape)
    shifts = np.broadcast_to(shift, np.broadcast_shapes(np.shape(shift), np.shape(axis)))
    axes = np.broadcast_to(axis, shifts.shape)
    total: dict[int, int] = {}
    for s, ax in zip(np.atleast_1d(shifts), np.atleast_1d(axes), strict=True):
        ax = normalize_axis(int(ax), a.ndim)
        total[ax] = total.get(ax, 0) + int(s)
    out = a
    for ax, s in total.items():
        n = a.shape[ax]
        if n == 0 or s % n == 0:
            continue
        k = s % n
        head = [slice(None)] * a.ndim
        tail = [slice(None)] * a.ndim
        head[ax], tail[ax] = slice(n - k, None), slice(None, n - k)
        out = concatenate([out[tuple(head)], out[tuple(tail)]], ax)
    return out if out is not a else bind("reshape", [a], {"shape": a.shape}, kind="array")


@implements(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue,
         append: Any = np._NoValue) -> Tracer:
    a = lift(a)
    if n < 0:
        raise shape_error("np.diff", f"order must be non-negative but got {n}")
    axis = normalize_axis(axis, a.ndim)
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not np._NoValue:
            e = lift(extra)
            shape = list(a.shape)
            shape[axis] = 1
            parts.append(broadcast_to(e, tuple(shape)) if e.ndim == 0 else e)
    if len(parts) > 1:
        a = concatenate(parts, axis)
    upper = [slice(None)] * a.ndim
    lower = [slice(None)] * a.ndim
    upper[axis], lower[axis] = slice(1, None), slice(None, -1)
    for _ in range(n):
        op = np.not_equal if a.dtype == np.bool_ else np.subtract
        a = op(a[tuple(upper)], a[tuple(lower)])
    return a


@implements(np.tile)
def tile(A: Any, reps: Any) -> Tracer:
    a = lift(A)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    nd = max(len(reps), a.ndim)
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    interleaved = tuple(x for r, d in zip(reps, a.shape, strict=True) for x in (1, d))
    tiled = tuple(x for r, d in zip(reps, a.shape, strict=True) for x in (r, d))
    b = broadcast_to(reshape(a, interleaved), tiled)
    return bind("reshape", [b], {"shape": tuple(r * d for r, d in zip(reps, a.shape, strict=True))},
                kind="array")


@implements(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Tracer:
    a = lift(a)
    if axis is None:
        a, axis = reshape(a, -1), 0
    axis = normalize_axis(axis, a.ndim)
    if isinstance(repeats, Tracer):
        repeats = repeats.__array__()
    counts = np.broadcast_to(np.asarray(repeats, dtype=np.intp), (a.shape[axis],))
    index = np.repeat(np.arange(a.shape[axis]), counts)
    return np.take(a, index, axis=axis)


@implements(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    a = lift(a)
    if mode != "raise":
        raise errors.UnsupportedFunctionError("np.take", f"mode={mode!r} is not supported",
                                              "use mode='raise'", user_source())
    if axis is None:
        a, axis = reshape(a, -1), 0
    axis = normalize_axis(axis, a.ndim)
    index = (slice(None),) * axis + (lift(indices),)
    return a[index]


@implements(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Tracer:
    a = lift(array)
    if mode != "constant" or set(kwargs) - {"constant_values"}:
        raise errors.UnsupportedFunctionError(
            "np.pad", f"mode={mode!r} is not supported (only 'constant')",
            "build the border with slicing and np.concatenate", user_source())
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (a.ndim, 2))
    values = np.broadcast_to(np.asarray(kwargs.get("constant_values", 0)), (a.ndim, 2))
    out = a
    for ax in range(a.ndim):
        for side in (0, 1):
            w = int(widths[ax, side])
            if w == 0:
                continue
            shape = list(out.shape)
            shape[ax] = w
            block = np.full(tuple(shape), values[ax, side], dtype=a.dtype)
            out = concatenate([constant(block), out] if side == 0 else [out, constant(block)],
                              ax)
    return out if out is not a else bind("reshape", [a], {"shape": a.shape}, kind="array")
