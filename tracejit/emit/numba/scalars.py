"""Per-element code for the Numba backend: one expression per elementwise equation, and
the accumulator rules of the reductions a loop can fold.

Every expression has exactly its equation's output dtype. The tracer has already cast
each operand to its ufunc loop's input dtype, so `np.<ufunc>(a, b)` on Numba scalars
selects the same loop NumPy did; plain operators are used only where Numba's scalar
typing is known to agree (same-dtype floats and complex; comparisons).
"""

from __future__ import annotations

import numpy as np

from tracejit.graph.elementwise import UFUNC_ROWS
from tracejit.graph.ir import Eqn

UFUNC_NAMES = {u.__name__ for u in UFUNC_ROWS}
#: ufuncs Numba has no scalar implementation of; these run as library calls
NO_SCALAR_UFUNC = frozenset({"spacing", "heaviside", "float_power", "frexp", "ldexp",
                             "divmod", "nextafter", "cbrt", "modf"})
OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
COMPARISONS = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=",
               "greater": ">", "greater_equal": ">="}
FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64),
          np.dtype(np.complex128))


#: transcendental functions with our own vectorizable implementations (vecmath.py):
#: Numba's own call libm per element, which LLVM cannot vectorize (no SVML here)
VECMATH = frozenset({"exp", "expm1", "log", "tanh"})
VECMATH_DTYPES = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def numba_dtype_ok(dtype: np.dtype) -> bool:
    """Dtypes Numba computes with natively (no float16, no datetimes, no objects)."""
    return dtype.kind in "biufc" and dtype != np.float16


def cast(dtype: np.dtype) -> str:
    """The Numba spelling of a scalar conversion to `dtype`."""
    return "np.bool_" if dtype == np.bool_ else f"np.{np.dtype(dtype).name}"


#: ufuncs whose Numba scalar versions differ from NumPy's at integer edge values
#: (division by zero, overflow, negative or oversized shifts and powers)
INTEGER_EDGES = frozenset({"floor_divide", "remainder", "fmod", "power", "left_shift",
                           "right_shift", "lcm", "gcd"})
#: the complex ufuncs Numba computes as NumPy does, infinities and NaNs included
COMPLEX_EXACT = frozenset({"add", "subtract", "multiply", "negative", "positive",
                           "conjugate", "equal", "not_equal", "isnan", "isinf", "isfinite"})


def inlinable(eqn: Eqn) -> bool:
    """Whether `scalar_expr` has a rule for this equation."""
    if not all(numba_dtype_ok(v.dtype) for v in eqn.inputs + eqn.outputs):
        return False
    if eqn.op in UFUNC_NAMES:
        kinds = {v.dtype.kind for v in eqn.inputs}
        if eqn.op in INTEGER_EDGES and kinds & set("biu"):
            return False
        if "c" in kinds and eqn.op not in COMPLEX_EXACT:
            return False
        # NumPy's float floor division is divmod-based; Numba's differs at the edges
        return eqn.op not in NO_SCALAR_UFUNC and eqn.op != "floor_divide"
    if eqn.op == "round":
        x = eqn.inputs[0].dtype
        return x.kind == "f" or (x.kind in "biu" and eqn.params["decimals"] >= 0)
    return eqn.op in ("real", "imag", "angle", "where", "clip", "complex", "astype")


def scalar_expr(eqn: Eqn, args: list[str]) -> str:
    """The expression computing `eqn` from its inputs' values `args`."""
    out = eqn.outputs[0].dtype
    ins = [v.dtype for v in eqn.inputs]
    op = eqn.op
    if op in OPERATORS and ins[0] in FLOATS and ins[0] == ins[1] == out:
        return f"{args[0]} {OPERATORS[op]} {args[1]}"
    if op in COMPARISONS and ins[0] == ins[1] and ins[0].kind in "biuf":
        return f"{args[0]} {COMPARISONS[op]} {args[1]}"
    if op == "power" and args[1] == literal(2, ins[1]):
        return f"{args[0]} * {args[0]}"  # what NumPy's power does for a square
    if op == "negative" and ins[0] in FLOATS:
        return f"-{args[0]}"
    if op in VECMATH and ins[0] == out and out in VECMATH_DTYPES:
        return f"vm.{op}_{VECMATH_DTYPES[out]}({args[0]})"
    if op in UFUNC_NAMES:
        return f"np.{op}({', '.join(args)})"
    return FUNCTIONS[op](eqn, args, out)


def real_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return f"{args[0]}.real" if eqn.inputs[0].dtype.kind == "c" else args[0]


def imag_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return f"{args[0]}.imag" if eqn.inputs[0].dtype.kind == "c" else f"{cast(out)}(0)"


def angle_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    x = args[0]
    if eqn.inputs[0].dtype.kind == "c":
        expr = f"np.arctan2({x}.imag, {x}.real)"
    else:
        expr = f"np.arctan2({cast(out)}(0), {cast(out)}({x}))"
    if eqn.params.get("deg"):
        expr = f"np.rad2deg({expr})"
    return f"{cast(out)}({expr})"


def round_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    """NumPy's rounding: scale by a power of ten, round half to even, scale back."""
    x, decimals = args[0], eqn.params["decimals"]
    if eqn.inputs[0].dtype.kind != "f":
        return x
    if decimals == 0:
        return f"np.rint({x})"
    f = f"{cast(out)}({10.0 ** abs(decimals)!r})"
    if decimals > 0:
        return f"np.rint({x} * {f}) / {f}"
    return f"np.rint({x} / {f}) * {f}"


def where_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    c, a, b = args
    return f"{cast(out)}({a}) if {c} else {cast(out)}({b})"


def clip_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    x, lo, hi = (f"{cast(out)}({a})" for a in args)
    return f"np.minimum(np.maximum({x}, {lo}), {hi})"


def complex_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return f"{cast(out)}(complex({args[0]}, {args[1]}))"


def astype_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    src, x = eqn.inputs[0].dtype, args[0]
    if src == out:
        return x
    if out == np.bool_:
        return f"({x} != 0)"
    if src.kind == "c" and out.kind != "c":
        return f"{cast(out)}({x}.real)"
    if src.kind == "f" and out.kind in "iu" and out.itemsize < 4:
        # NumPy's C cast converts to int first (x86), then wraps: -3.0 -> uint8 253
        return f"{cast(out)}(np.int32({x}))"
    if src.kind == "f" and out == np.uint32:
        return f"{cast(out)}(np.int64({x}))"
    return f"{cast(out)}({x})"


def literal(value: object, dtype: np.dtype) -> str:
    """A scalar constant of `dtype`, as source."""
    value = np.asarray(value).astype(dtype)[()]  # wraps, as NumPy's casts do
    if dtype == np.bool_:
        return repr(bool(value))
    if dtype.kind == "c":
        return f"{cast(dtype)}(complex({float_text(value.real)}, {float_text(value.imag)}))"
    if dtype.kind == "f":
        return f"{cast(dtype)}({float_text(value)})"
    return f"{cast(dtype)}({int(value)})"


def float_text(value: float) -> str:
    value = float(value)
    if value != value:
        return "np.nan"
    if value in (float("inf"), float("-inf")):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def full_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return literal(eqn.params["fill_value"], out)


def constant_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return literal(eqn.params["value"].array.reshape(-1)[0], out)


FUNCTIONS = {"real": real_expr, "imag": imag_expr, "angle": angle_expr, "round": round_expr,
             "where": where_expr, "clip": clip_expr, "complex": complex_expr,
             "astype": astype_expr, "full": full_expr, "constant": constant_expr}


# --- reductions folded into loops -----------------------------------------------------

FOLD_UFUNCS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
               "logical_or": "any", "logical_and": "all", "bitwise_and": "bitwise_and",
               "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "fmax": "fmax",
               "fmin": "fmin"}


#: float folds as `runtime` intrinsics: NaN-propagating max/min, NaN-ignoring fmax/fmin
FLOAT_FOLDS = {"max": "fmaximum", "min": "fminimum", "fmax": "fmaxnum", "fmin": "fminnum"}


def fold_kind(eqn: Eqn) -> str:
    return FOLD_UFUNCS[eqn.params["ufunc"]] if eqn.op == "reduce" else eqn.op


def foldable(eqn: Eqn) -> bool:
    """Reductions a loop accumulates in a register."""
    if eqn.op == "reduce" and eqn.params["ufunc"] not in FOLD_UFUNCS:
        return False
    acc = eqn.outputs[0].dtype
    if not (numba_dtype_ok(eqn.inputs[0].dtype) and numba_dtype_ok(acc)):
        return False
    kind = fold_kind(eqn)
    if acc.kind == "c" and kind not in ("sum", "prod", "any", "all"):
        return False
    if kind.startswith("bitwise") and acc.kind not in "biu":
        return False
    return True


def fold_init(eqn: Eqn) -> str:
    """The accumulator's starting value (the reduction's identity)."""
    acc = eqn.outputs[0].dtype
    kind = fold_kind(eqn)
    if kind in ("any", "bitwise_or", "bitwise_xor", "sum"):
        return literal(0, acc)
    if kind in ("all", "prod"):
        return literal(1, acc)
    if kind == "bitwise_and":
        return literal(True if acc == np.bool_ else -1, acc)
    if kind in ("fmax", "fmin"):
        return literal(np.nan, acc) if acc.kind == "f" else fold_init_extreme(kind[1:], acc)
    return fold_init_extreme(kind, acc)


def fold_init_extreme(kind: str, acc: np.dtype) -> str:
    if acc == np.bool_:
        return repr(kind == "min")
    if acc.kind == "f":
        return literal(-np.inf if kind == "max" else np.inf, acc)
    info = np.iinfo(acc)
    return literal(info.min if kind == "max" else info.max, acc)


def fold_value(eqn: Eqn, value: str, dtype: np.dtype) -> str:
    """An element converted to the accumulator's dtype."""
    acc = eqn.outputs[0].dtype
    if fold_kind(eqn) in ("any", "all"):
        return f"({value} != 0)"
    return value if dtype == acc else f"{cast(acc)}({value})"


def fold_combine(eqn: Eqn, acc: str, value: str) -> str:
    """The expression combining the accumulator with one converted element."""
    kind = fold_kind(eqn)
    dtype = eqn.outputs[0].dtype
    if dtype == np.bool_ and kind in ("sum", "prod"):
        return f"{acc} | {value}" if kind == "sum" else f"{acc} & {value}"
    if kind in ("sum", "prod"):
        expr = f"{acc} {'+' if kind == 'sum' else '*'} {value}"
        # Numba widens small integers; NumPy's accumulator wraps in its own dtype
        return f"{cast(dtype)}({expr})" if dtype.kind in "iu" else expr
    if dtype.kind == "f" and kind in FLOAT_FOLDS:  # LLVM intrinsics, which vectorize
        return f"rt.{FLOAT_FOLDS[kind]}({acc}, {value})"
    if kind == "max":  # NaN propagates, as in np.max
        return f"{value} if ({value} > {acc} or {value} != {value}) else {acc}"
    if kind == "min":
        return f"{value} if ({value} < {acc} or {value} != {value}) else {acc}"
    if kind == "any":
        return f"{acc} | {value}"
    if kind == "all":
        return f"{acc} & {value}"
    if kind in ("fmax", "fmin"):
        return f"np.{kind}({acc}, {value})"
    return f"{cast(dtype)}(np.{kind}({acc}, {value}))"
