"""`x[index]` and `x[index] = value` on tracers, with NumPy's rules.

Basic indexing (ints, slices, None, Ellipsis) makes a *view*: slice and reshape steps on
the same buffer, so writes through it reach the base. Integer-array indexing makes a copy
(`gather`) and assigns with `scatter`. A traced boolean mask has a data-dependent result
shape and cannot be read; assigning a scalar through it is `np.where`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit import errors
from tracejit.trace import views
from tracejit.trace.mutation import assign, check_target, conform, lift_value, write_var
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, bind, constant, evaluate_constant, fresh, lift
from tracejit.trace.views import Step


def index_error(detail: str, fix: str = "indices must lie within the axis (negative ones "
                "count from the end), one per axis at most") -> errors.TraceIndexError:
    return errors.TraceIndexError("indexing", detail, fix, user_source())


def static_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, Tracer):
        return value.__index__()
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        raise index_error(f"{what} must be an integer or None, got {type(value).__name__}",
                          "slice bounds must be Python ints") from None


def parse(t: Tracer, index: Any, deferred: list | None = None) -> list[tuple]:
    """Items per index position: ("s", start, stop, step), ("i", k), ("n",), ("a", tracer),
    ("mask", tracer); Ellipsis expanded, missing trailing axes filled with full slices."""
    if not isinstance(index, tuple):
        index = (index,)
    raw: list[tuple] = []
    known: dict[int, np.ndarray] = {}  # concrete index arrays, bounds-checked below
    for item in index:
        if item is None or item is Ellipsis or isinstance(item, slice):
            raw.append(("raw", item))
        elif isinstance(item, (bool, np.bool_)):
            raise index_error("a Python bool as an index is not supported",
                              "use a boolean array of the indexed shape")
        elif isinstance(item, (int, np.integer)):
            raw.append(("i", int(item)))
        else:
            if isinstance(item, list):  # an empty list indexes like an empty intp array
                item = np.asarray(item) if item else np.zeros(0, np.intp)
            # a concrete index array is index data: snapshot it (masks need its values)
            arr = constant(item) if isinstance(item, np.ndarray) else lift(item)
            if arr.dtype == np.bool_:
                raw.append(("mask", arr))
            elif arr.dtype.kind in "iu":
                raw.append(("a", arr))
                if isinstance(item, np.ndarray):
                    known[id(arr)] = item
            else:
                raise index_error(
                    f"arrays used as indices must be of integer (or boolean) type, got "
                    f"{arr.dtype}", "cast the index with .astype(np.intp)")
    consumed = sum(1 if k in ("i", "a") else item.ndim if k == "mask" else
                   (0 if item is None or item is Ellipsis else 1) for k, item in raw)
    if sum(1 for k, item in raw if k == "raw" and item is Ellipsis) > 1:
        raise index_error("an index can only have a single ellipsis ('...')")
    if consumed > t.ndim:
        raise index_error(f"too many indices for array: array is {t.ndim}-dimensional, "
                          f"but {consumed} were indexed")
    items: list[tuple] = []
    axis = 0
    fill = t.ndim - consumed
    for kind, item in raw + ([] if any(k == "raw" and i is Ellipsis for k, i in raw)
                             else [("raw", Ellipsis)]):
        if kind == "raw" and item is Ellipsis:
            items.extend(("s", 0, t.shape[axis + k], 1) for k in range(fill))
            axis += fill
            fill = 0
        elif kind == "raw" and item is None:
            items.append(("n",))
        elif kind == "raw":
            start, stop, step = (static_int(item.start, "slice start"),
                                 static_int(item.stop, "slice stop"),
                                 static_int(item.step, "slice step"))
            if step == 0:
                raise index_error("slice step cannot be zero")
            items.append(("s",) + slice(start, stop, step).indices(t.shape[axis]))
            axis += 1
        elif kind == "i":
            size = t.shape[axis]
            if not -size <= item < size:
                raise index_error(f"index {item} is out of bounds for axis {axis} with size "
                                  f"{size}")
            items.append(("i", item % size))
            axis += 1
        else:
            if kind == "a":  # bounds: now, or (setitem) after the value's shape check
                check = (item, known.get(id(item)), t.shape[axis], axis)
                if deferred is None:
                    check_constant_index(*check)
                else:
                    deferred.append(check)
            items.append((kind, item))
            axis += item.ndim if kind == "mask" else 1
    return items


def check_constant_index(index: Tracer, values: np.ndarray | None, size: int,
                         axis: int) -> None:
    """A constant index array is bounds-checked while tracing, where NumPy checks it
    (at run time the gather may be dead code, or a scatter would not say which index)."""
    if values is None:
        if index._ctx.input_dependencies(index.sym):
            return
        values = np.asarray(evaluate_constant(index._ctx, index.sym))
    bad = values[(values < -size) | (values >= size)]
    if bad.size:
        raise index_error(f"index {bad.flat[0]} is out of bounds for axis {axis} with size "
                          f"{size}")


def basic_view(t: Tracer, items: list[tuple]) -> Tracer:
    """The view `t[items]` for basic items (slices, ints, new axes)."""
    triples = []
    shape: list[int] = []
    for item in items:
        if item[0] == "s":
            triples.append(item[1:])
            shape.append(len(range(*item[1:])))
        elif item[0] == "i":
            triples.append((item[1], item[1] + 1, 1))
        else:
            shape.append(1)
    steps = list(t._steps)
    strides = t._strides
    sliced = tuple(len(range(*tr)) for tr in triples)
    if any(tr != (0, d, 1) for tr, d in zip(triples, t.shape, strict=True)):
        steps.append(Step("slice", tuple(triples)))
        strides = None if strides is None else views.slice_strides(strides, tuple(triples))
    if tuple(shape) != sliced:
        strides = views.reshape_strides(sliced, strides, tuple(shape))
        steps.append(Step("reshape", tuple(shape)))
    if len(steps) == len(t._steps):
        return Tracer(t._ctx, t._buf, t._steps, t.shape, t.dtype, t._strides, kind="array",
                      weak=t.weak) if t._steps else view_of_base(t)
    return Tracer(t._ctx, t._buf, tuple(steps), tuple(shape), t.dtype, strides, kind="array")


def view_of_base(t: Tracer) -> Tracer:
    return Tracer(t._ctx, t._buf, (), kind="array", weak=t.weak)


def gather_spec(t: Tracer, items: list[tuple]) -> tuple[tuple, list[Tracer]]:
    spec, arrays = [], []
    for item in items:
        if item[0] == "s":
            spec.append(item)
        elif item[0] == "n":
            spec.append(("n",))
        elif item[0] == "i":
            spec.append(("a",))
            arrays.append(lift(np.intp(item[1])))
        elif item[0] == "a":
            spec.append(("a",))
            arrays.append(item[1])
    return tuple(spec), arrays


def expand_masks(items: list[tuple], t: Tracer, operation: str) -> list[tuple]:
    """Concrete boolean masks become integer arrays (their nonzero); traced ones cannot."""
    out = []
    for item in items:
        if item[0] != "mask":
            out.append(item)
            continue
        mask = item[1]
        try:
            concrete = np.asarray(mask._concrete(operation))
        except errors.ConcretizationError:
            raise errors.BooleanIndexError(
                operation, f"a boolean mask {mask.dtype}{list(mask.shape)} selects a number "
                f"of elements that depends on its values, so x[mask] has no static shape",
                "use np.where(mask, x, fill) to keep the shape, or x[mask] = value (which "
                "tracejit supports) to assign through it", user_source()) from None
        out.extend(("a", lift(idx)) for idx in np.nonzero(concrete))
    return out


def full_integer_index(index: Any, ndim: int) -> bool:
    """One integer per axis and nothing else (`x[()]` for 0-d): NumPy gives a scalar;
    with an Ellipsis or None it gives a 0-d array."""
    index = index if isinstance(index, tuple) else (index,)
    return len(index) == ndim and all(isinstance(i, (int, np.integer)) for i in index)


def getitem(t: Tracer, index: Any) -> Tracer:
    items = expand_masks(parse(t, index), t, "x[mask]")
    if not any(item[0] == "a" for item in items):
        view = basic_view(t, items)
        if all(item[0] == "i" for item in items) and full_integer_index(index, t.ndim):
            return fresh(t._ctx, view.sym, "scalar")  # NumPy returns a scalar copy
        return view
    spec, arrays = gather_spec(t, items)
    result = bind("gather", [t] + arrays, {"spec": spec})
    return result


def setitem(t: Tracer, index: Any, value: Any) -> None:
    check_target(t, "x[...] = value")
    deferred: list = []
    items = parse(t, index, deferred)
    masks = [item for item in items if item[0] == "mask"]
    if masks and items[0][0] == "mask" and all(  # x[mask] or x[mask, :, ...]
            item == ("s", 0, t.shape[masks[0][1].ndim + k], 1)
            for k, item in enumerate(items[1:])):
        mask = masks[0][1]
        value_t = lift_value(value, t.dtype)
        if value_t.ndim == 0:
            return assign_where(t, mask, value_t)
    items = expand_masks(items, t, "x[mask] = value with an array value")
    if not any(item[0] == "a" for item in items):
        value = lift_value(value, t.dtype)
        if value.ndim and full_integer_index(index, t.ndim) and not (
                t.dtype == np.bool_ and value.size == 1):  # NumPy takes bool(size-1 array)
            raise errors.TraceShapeError(
                "x[i, j] = value", f"setting an array element with a sequence (a value of "
                f"shape {value.shape} into a single element)",
                "assign a scalar, or index with x[i, j, ...] to assign into a 0-d view",
                user_source())
        return assign(basic_view(t, items), value, "x[...] = value", mode="setitem")
    spec, arrays = gather_spec(t, items)
    (region,) = t._ctx.record("gather", [t.sym] + [a.sym for a in arrays], {"spec": spec})
    update = conform(lift_value(value, t.dtype), region.shape, t.dtype,
                     "x[index_array] = value", mode="advanced")
    for check in deferred:
        check_constant_index(*check)
    (new,) = t._ctx.record("scatter", [t.sym, update.sym] + [a.sym for a in arrays],
                           {"spec": spec})
    write_var(view_of_base(t) if not t._steps else t, new)
    return None


def add_at(t: Tracer, index: Any, value: Any) -> None:
    """np.add.at(x, index, value): unbuffered, so repeated indices accumulate."""
    check_target(t, "np.add.at")
    items = expand_masks(parse(t, index), t, "np.add.at with a boolean mask")
    spec, arrays = gather_spec(t, items)
    if not arrays:  # basic indexing only: one index per element, a plain update
        view = basic_view(t, items)
        return assign(view, view + value, "np.add.at", mode="setitem")
    (region,) = t._ctx.record("gather", [t.sym] + [a.sym for a in arrays], {"spec": spec})
    value = lift_value(value, t.dtype) if not isinstance(value, Tracer) else value
    if not np.can_cast(value.dtype, t.dtype, "same_kind"):
        raise errors.TraceTypeError(
            "np.add.at", f"cannot add {value.dtype} values into a {t.dtype} array",
            "cast the values first: np.add.at(x, index, v.astype(x.dtype))", user_source())
    update = conform(value, region.shape, t.dtype, "np.add.at", mode="advanced")
    (new,) = t._ctx.record("scatter_add", [t.sym, update.sym] + [a.sym for a in arrays],
                           {"spec": spec})
    write_var(view_of_base(t) if not t._steps else t, new)
    return None


def assign_where(t: Tracer, mask: Tracer, value: Tracer) -> None:
    """x[mask] = scalar  →  x = np.where(mask, scalar, x) (mask may cover leading axes)."""
    if mask.shape != t.shape[: mask.ndim]:
        raise index_error(f"boolean index of shape {mask.shape} does not match the indexed "
                          f"array of shape {t.shape}")
    if mask.ndim < t.ndim:
        mask = bind("reshape", [mask], {"shape": mask.shape + (1,) * (t.ndim - mask.ndim)})
    value = conform(value, (), t.dtype, "x[mask] = value")
    new = np.where(mask, value, t)
    write_var(t, new.sym)
