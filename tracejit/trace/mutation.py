"""Writes through views: the functionalization of in-place updates.

`assign(target, value)` makes the next version of `target`'s buffer: the write is replayed
backwards through the view's steps (`set_slice` for a slice, the inverse reshape or
transpose otherwise), so every other view of the same buffer sees it on its next read.
"""

from __future__ import annotations

import numpy as np

from tracejit import errors
from tracejit.graph.ir import Var
from tracejit.graph.ops import broadcast_shapes
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, create, is_py_scalar, lift, step_params
from tracejit.trace.views import inverse_permutation


class ReadOnlyError(errors.TracejitError, ValueError):
    """Writing into a read-only array (a broadcast view, or a read-only argument)."""


def check_target(target: Tracer, operation: str) -> None:
    if target.kind in ("scalar", "python"):
        raise TypeError(f"'numpy.{target.dtype.name}' object does not support item assignment")
    if not target._buf.writeable:
        raise ReadOnlyError(operation, f"assignment destination {target.dtype}"
                            f"{list(target.shape)} is read-only",
                            "write into a copy (x = x.copy()) or pass a writeable array",
                            user_source())


def conform(value: Tracer, shape: tuple[int, ...], dtype: np.dtype, operation: str,
            mode: str = "broadcast") -> Tracer:
    """`value` cast (unsafe, as NumPy's setitem does) and broadcast to `shape`. `mode` is
    "broadcast" (ufunc out=), "setitem" (setitem and copyto: NumPy first drops leading
    length-1 axes the target lacks) or "advanced" (index-array setitem: also an empty
    value with extra leading axes and the target's shape after them fills an empty
    target)."""
    extra = value.ndim - len(shape)
    trailing = value.shape[extra:] if extra > 0 else value.shape  # before dropping any
    if mode != "broadcast" and extra > 0 and all(d == 1 for d in value.shape[:extra]):
        value = bind("reshape", [value], {"shape": value.shape[extra:]})
    try:
        ok = broadcast_shapes(value.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok and mode == "advanced" and value.size == 0 and extra > 0 and \
            0 in shape and trailing == tuple(shape):
        # NumPy's index-array assignment ignores extra leading axes of an empty value
        return create("full", {"shape": tuple(shape), "fill_value": 0, "dtype": dtype})
    if not ok:
        raise errors.TraceShapeError(
            operation, f"could not broadcast input array from shape {value.shape} into "
            f"shape {tuple(shape)}", "make the value's shape match the target's",
            user_source())
    value = astype(value, dtype)
    if value.shape != tuple(shape):
        value = bind("broadcast_to", [value], {"shape": tuple(shape)})
    return value


def lift_value(value: object, dtype: np.dtype) -> Tracer:
    """The value of `x[...] = value`: Python scalars and lists convert to x's dtype as
    NumPy's setitem does (OverflowError out of range, ValueError for NaN into ints)."""
    if is_py_scalar(value) or isinstance(value, (list, tuple)):
        return lift(value, dtype)
    return lift(value)


def assign(target: Tracer, value: object, operation: str = "assignment",
           mode: str = "broadcast") -> None:
    """target[...] = value, through however many views target is of its buffer."""
    check_target(target, operation)
    new = conform(lift_value(value, target.dtype), target.shape, target.dtype, operation,
                  mode).sym
    write_var(target, new)


def write_var(target: Tracer, new: Var) -> None:
    """Make `new` (shape and dtype of `target`) the value seen through `target`."""
    ctx, buf = target._ctx, target._buf
    parents: list[Var] = [buf.var]
    for step in target._steps[:-1]:
        (nxt,) = ctx.record(step.op, [parents[-1]], step_params(step))
        parents.append(nxt)
    parents = parents[:len(target._steps)]  # no steps: the new value is the buffer's
    for step, parent in zip(reversed(target._steps), reversed(parents), strict=True):
        if step.op == "slice":
            (new,) = ctx.record("set_slice", [parent, new], {"triples": step.params})
        elif step.op == "reshape":
            (new,) = ctx.record("reshape", [new], {"shape": parent.shape})
        elif step.op == "real":  # z.real[...] = v: z = complex(v, z.imag)
            (im,) = ctx.record("imag", [parent], {})
            (new,) = ctx.record("complex", [new, im], {})
        elif step.op == "imag":
            (re,) = ctx.record("real", [parent], {})
            (new,) = ctx.record("complex", [re, new], {})
        else:
            (new,) = ctx.record("transpose", [new],
                                {"axes": inverse_permutation(step.params)})
    buf.var = new
