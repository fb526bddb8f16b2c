"""Ufuncs on tracers: `__array_ufunc__`, Python operators, `out=`, and NEP 50 promotion.

Operands are classified as NumPy's resolver sees them (a dtype, or `int`/`float`/
`complex` for weak Python scalars), NumPy resolves the loop, and every operand is cast
to its loop dtype before the equation is recorded. So `f32_array * 2.0` is float32,
`int8_array + 1000` raises OverflowError, and a traced Python float argument stays weak.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit import errors
from tracejit.graph.elementwise import UFUNC_ROWS, resolve_loop
from tracejit.graph.ops import broadcast_shapes
from tracejit.trace.mutation import check_target, write_var
from tracejit.trace.source import user_source
from tracejit.trace.tracer import (
    PY_SCALARS,
    Tracer,
    astype,
    bind,
    fresh,
    get_ctx,
    is_py_scalar,
    lift,
    weak_type,
)

COMPARISONS = {np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal}


def operand_type(x: Any) -> Any:
    if isinstance(x, Tracer):
        return weak_type(x)
    if isinstance(x, bool):
        return np.dtype(bool)
    if is_py_scalar(x):
        return type(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    return lift(x).dtype


def is_weak(x: Any) -> bool:
    return (is_py_scalar(x) and not isinstance(x, bool)) or \
        (isinstance(x, Tracer) and x.weak)


def is_python(x: Any) -> bool:
    return is_py_scalar(x) or (isinstance(x, Tracer) and x.kind == "python")


def as_operand(x: Any, dtype: np.dtype) -> Tracer:
    if is_py_scalar(x):
        return lift(x, dtype)
    return astype(lift(x), dtype, kind="array")


def resolve(ufunc: np.ufunc, operands: tuple, dtype: Any) -> tuple[np.dtype, ...]:
    types = tuple(operand_type(o) for o in operands)
    try:
        if dtype is not None:
            # dtype= is signature=(None, ..., dtype): it picks the loop, inputs are cast
            return ufunc.resolve_dtypes(types + (None,) * ufunc.nout, signature=(
                (None,) * ufunc.nin + (np.dtype(dtype),) * ufunc.nout))
        return resolve_loop(ufunc, types)
    except TypeError as exc:
        raise errors.TraceTypeError(f"np.{ufunc.__name__}", str(exc),
                                    "cast an operand with .astype(...)", user_source()) from None


def comparison_operands(ufunc: np.ufunc, operands: tuple, loop: tuple) -> tuple:
    """NumPy compares an integer array with an out-of-range Python int correctly (no
    overflow); do the same by widening the loop for that comparison."""
    for o, dt in zip(operands, loop, strict=False):
        if isinstance(o, int) and not isinstance(o, bool) and dt.kind in "iu":
            info = np.iinfo(dt)
            if not info.min <= o <= info.max:
                wide = np.dtype(np.int64) if -2**63 <= o < 2**63 else np.dtype(np.float64)
                return (wide,) * ufunc.nin + loop[ufunc.nin:]
    return loop


def apply_ufunc(ufunc: np.ufunc, operands: tuple, out: tuple | None = None,
                dtype: Any = None, python_op: bool = False) -> Any:
    if ufunc not in UFUNC_ROWS and ufunc is not np.matmul:
        raise errors.UnsupportedFunctionError(
            f"np.{ufunc.__name__}", "this ufunc is not supported inside a jitted function",
            "compute it outside the jitted function, or open an issue", user_source())
    loop = resolve(ufunc, operands, dtype)
    if ufunc in COMPARISONS:
        loop = comparison_operands(ufunc, operands, loop)
    tracers = [as_operand(o, loop[i]) for i, o in enumerate(operands)]
    if out is not None:  # NumPy checks out='s casting before the operands' shapes
        for dt, o in zip(loop[ufunc.nin:], out, strict=False):
            if o is not None:
                check_out_cast(ufunc, np.dtype(dt), lift(o).dtype)
    ctx = get_ctx()
    outs = ctx.record(ufunc.__name__, [t.sym for t in tracers], {})
    # only a Python operator on Python scalars gives a Python scalar (weak); np.sin(2.5)
    # or np.add(2.5, 1.0) give a NumPy scalar, which promotes strongly (NEP 50)
    weak = python_op and all(is_weak(o) for o in operands)
    if python_op and all(is_python(o) for o in operands):
        kind = "python"
    else:
        kind = "scalar" if outs[0].ndim == 0 else "array"
    results = [fresh(ctx, v, kind, weak) for v in outs]
    if out is not None:
        return tuple(write_out(ufunc, r, o) for r, o in zip(results, out, strict=True)) \
            if len(results) > 1 else write_out(ufunc, results[0], out[0])
    return tuple(results) if len(results) > 1 else results[0]


def check_out_cast(ufunc: np.ufunc, result: np.dtype, target: np.dtype) -> None:
    if not np.can_cast(result, target, "same_kind"):
        raise errors.TraceTypeError(
            f"np.{ufunc.__name__}(..., out=)", f"Cannot cast ufunc '{ufunc.__name__}' output "
            f"from {result!r} to {target!r} with casting rule 'same_kind'",
            "cast explicitly (x = (x + y).astype(x.dtype)) or use a wider output array",
            user_source())


def write_out(ufunc: np.ufunc, result: Tracer, out: Any) -> Any:
    """`out=` semantics: same_kind cast, broadcast into `out`, return `out` itself."""
    if out is None:
        return result
    target = lift(out)
    operation = f"np.{ufunc.__name__}(..., out=)"
    check_target(target, operation)
    check_out_cast(ufunc, result.dtype, target.dtype)  # NumPy checks this first
    if broadcast_shapes(result.shape, target.shape) != target.shape:
        raise errors.TraceShapeError(
            operation, f"non-broadcastable output operand with shape {target.shape} doesn't "
            f"match the broadcast shape {result.shape}", "give out= the result's shape",
            user_source())
    value = astype(result, target.dtype)
    if value.shape != target.shape:
        value = bind("broadcast_to", [value], {"shape": target.shape})
    write_var(target, value.sym)
    return out


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    out = kwargs.pop("out", None)
    if out is not None and any(o is not None and not isinstance(o, np.ndarray) and not (
            isinstance(o, Tracer) and o.kind == "array") for o in out):
        raise errors.TraceTypeError(  # a NumPy scalar (x[()], x.sum()) is not an array
            f"np.{ufunc.__name__}(..., out=)", "return arrays must be of ArrayType",
            "pass an array as out=, e.g. x[...] rather than x[()]", user_source())
    dtype = kwargs.pop("dtype", None)
    where = kwargs.pop("where", True)
    if where is not True:
        raise errors.UnsupportedFunctionError(
            f"np.{ufunc.__name__}(..., where=)", "the where= argument is not supported",
            "use np.where(cond, np.<ufunc>(...), fallback) instead", user_source())
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    kwargs.pop("subok", None)
    if method == "__call__":
        if kwargs:
            raise errors.UnsupportedFunctionError(
                f"np.{ufunc.__name__}", f"unsupported keyword arguments {sorted(kwargs)}",
                "call it without them", user_source())
        return apply_ufunc(ufunc, inputs, out, dtype)
    from tracejit.trace.api.reductions import ufunc_accumulate, ufunc_outer, ufunc_reduce

    if method == "at" and ufunc is np.add:
        from tracejit.trace.indexing import add_at

        return add_at(lift(inputs[0]), *inputs[1:])

    handlers = {"reduce": ufunc_reduce, "accumulate": ufunc_accumulate, "outer": ufunc_outer}
    if method not in handlers:
        raise errors.UnsupportedFunctionError(
            f"np.{ufunc.__name__}.{method}", "this ufunc method is not supported in jitted code",
            "of the .at methods only np.add.at is traced: rewrite the update with it, or "
            "call this one outside the jitted function",
            user_source())
    result = handlers[method](ufunc, *inputs, dtype=dtype, **kwargs)
    return result if out is None else write_out(ufunc, result, out[0])


# --- Python operators --------------------------------------------------------------

BINARY_OPERATORS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.divide,
    "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "matmul": np.matmul, "and": np.bitwise_and, "or": np.bitwise_or,
    "xor": np.bitwise_xor, "lshift": np.left_shift, "rshift": np.right_shift,
    "divmod": np.divmod,
}
COMPARISON_OPERATORS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less,
                        "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
UNARY_OPERATORS = {"neg": np.negative, "pos": np.positive, "abs": np.absolute,
                   "invert": np.invert}


def forward(ufunc: np.ufunc):
    def method(self: Tracer, other: Any) -> Any:
        if not is_operand(other):
            return NotImplemented
        return apply_ufunc(ufunc, (self, other), python_op=True)

    return method


def reflected(ufunc: np.ufunc):
    def method(self: Tracer, other: Any) -> Any:
        if not is_operand(other):
            return NotImplemented
        return apply_ufunc(ufunc, (other, self), python_op=True)

    return method


def inplace(ufunc: np.ufunc):
    def method(self: Tracer, other: Any) -> Any:
        if not is_operand(other):
            return NotImplemented
        if self.kind in ("scalar", "python"):  # immutable: x += y rebinds x
            return apply_ufunc(ufunc, (self, other), python_op=True)
        return apply_ufunc(ufunc, (self, other), out=(self,))

    return method


def unary(ufunc: np.ufunc):
    def method(self: Tracer) -> Any:
        return apply_ufunc(ufunc, (self,), python_op=True)

    return method


def is_operand(x: Any) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic, list, tuple) + PY_SCALARS)


for _name, _ufunc in BINARY_OPERATORS.items():
    setattr(Tracer, f"__{_name}__", forward(_ufunc))
    setattr(Tracer, f"__r{_name}__", reflected(_ufunc))
    if _name != "divmod":
        setattr(Tracer, f"__i{_name}__", inplace(_ufunc))
for _name, _ufunc in COMPARISON_OPERATORS.items():
    setattr(Tracer, f"__{_name}__", forward(_ufunc))
for _name, _ufunc in UNARY_OPERATORS.items():
    setattr(Tracer, f"__{_name}__", unary(_ufunc))
