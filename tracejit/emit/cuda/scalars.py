"""Per-element code for the CUDA backend: one C++ expression per elementwise equation,
and the accumulator rules of the reductions a kernel folds.

Types. A dtype has a memory type (`ctype`) and a register type (`regtype`); they differ
only for float16, stored as `tj_half` and computed in float: each float16 op rounds its
float result to half (`tj_round_half`), as NumPy's float16 loops do. Every expression has
exactly its output's register type. The tracer has already cast each operand to its ufunc
loop's input dtypes, so an equation's dtypes are one of NumPy's loops; `inlinable`
checks that, and the rules rely on it (both operands of `add` have one type).

Exactness. Integer arithmetic wraps (it is done in the unsigned type of the width, so C's
signed overflow never happens); division and modulo by zero give 0, MIN // -1 gives MIN,
shifts by the width or more give 0 or -1, float -> int casts of NaN or out-of-range
values give x86-64's values: all as NumPy. Floats: +, -, *, /, sqrt, fmod, rint and the
other roundings, conversions, comparisons, min/max with NaN, floor_divide/remainder
(ported from NumPy's `npy_divmod`) and the rest agree with NumPy bitwise, if the kernel is
compiled without fast-math and without FMA contraction (nvcc/NVRTC `--fmad=false`; with
contraction `a * b + c` is rounded once, more accurately than NumPy). The ops in `LIBM`
call the device math library: special values (inf, NaN, signed zeros) as NumPy, finite
values within the library's few-ulp bounds, not bitwise.

Not inlinable (these run as CuPy calls):
- complex inputs or outputs, and `complex` itself;
- modf, frexp, divmod: two outputs per element;
- power of signed integers: NumPy raises ValueError on a negative exponent, a kernel cannot;
- equations whose dtypes are not one of NumPy's loops for their ufunc (built by hand).
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np

from tracejit.emit.cuda.prelude import PRELUDE
from tracejit.emit.cuda.rules import (
    BOOL_RULES,
    FLOAT_RULES,
    HALF_EXACT,
    HALF_RULES,
    INT_RULES,
    LIBM,
    MIXED_RULES,
    SIGNED_RULES,
    UNSIGNED_RULES,
)
from tracejit.graph.elementwise import UFUNC_ROWS
from tracejit.graph.ir import Eqn, Var

__all__ = ["PRELUDE", "LIBM", "ctype", "regtype", "load", "store", "literal", "inlinable",
           "scalar_expr", "foldable", "acc_type", "fold_init", "fold_value", "fold_combine",
           "fold_result"]

CTYPES = {"bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
          "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
          "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "tj_half",
          "float32": "float", "float64": "double"}
F16 = np.dtype(np.float16)
UFUNCS = {u.__name__: u for u in UFUNC_ROWS}


def dtype_ok(dtype: np.dtype) -> bool:
    """bool, the integers, float16/32/64: the dtypes kernels compute with."""
    return np.dtype(dtype).name in CTYPES


def ctype(dtype: np.dtype) -> str:
    """The C type of an element in memory."""
    return CTYPES[np.dtype(dtype).name]


def regtype(dtype: np.dtype) -> str:
    """The C type of an element in a register: float for float16, else `ctype`."""
    return "float" if dtype == F16 else ctype(dtype)


def load(dtype: np.dtype, ref: str) -> str:
    return f"tj_load_half({ref})" if dtype == F16 else ref


def store(dtype: np.dtype, expr: str) -> str:
    return f"tj_store_half({expr})" if dtype == F16 else expr


def wide(dtype: np.dtype) -> str:
    """The unsigned type integer arithmetic of `dtype` wraps in (C promotes narrower ones)."""
    return "unsigned long long" if dtype.itemsize == 8 else "unsigned int"


def float_tags(dtype: np.dtype) -> dict[str, str]:
    """`{S}`: the libm suffix (sinf, sin); `{T}`: the prelude helpers' suffix."""
    single = dtype != np.float64
    return {"S": "f" if single else "", "T": "f32" if single else "f64"}


# --- constants ------------------------------------------------------------------------


def literal(value: object, dtype: np.dtype) -> str:
    """A scalar constant of `dtype`, as C source of its register type."""
    dtype = np.dtype(dtype)
    with np.errstate(all="ignore"):
        value = np.asarray(value).astype(dtype)[()]  # wraps, as NumPy's casts do
    if dtype == np.bool_:
        return "true" if value else "false"
    if dtype.kind == "f":
        return float_literal(float(value), dtype)
    return int_literal(int(value), dtype)


def float_literal(x: float, dtype: np.dtype) -> str:
    """The shortest decimal that reads back as `x` in its C type (float for float16, whose
    values are floats); NaN and inf through the prelude's macros."""
    single = dtype != np.float64
    if math.isnan(x) or math.isinf(x):
        text = ("TJ_NAN" if math.isnan(x) else "TJ_INF") + ("_F" if single else "")
        return f"(-{text})" if x < 0 else text
    text = (str(np.float32(x)) + "f") if single else repr(x)
    return f"({text})" if text.startswith("-") else text


def int_literal(n: int, dtype: np.dtype) -> str:
    if dtype.kind == "i" and dtype.itemsize >= 4 and n == np.iinfo(dtype).min:
        return "(-2147483647 - 1)" if dtype.itemsize == 4 else "(-9223372036854775807LL - 1)"
    suffix = {"int32": "", "uint32": "u", "int64": "LL", "uint64": "ull"}.get(dtype.name)
    if suffix is None:
        return f"(({ctype(dtype)}){n})"
    return f"({n}{suffix})" if n < 0 else f"{n}{suffix}"


def paren(arg: str) -> str:
    """`arg`, parenthesized unless it is a name, an element reference or a plain literal."""
    return arg if re.fullmatch(r"[\w.\[\]]+", arg) else f"({arg})"


# --- elementwise ------------------------------------------------------------------------


@functools.cache
def ufunc_loops(name: str) -> frozenset[tuple[np.dtype, ...]]:
    """NumPy's loops of ufunc `name` over the kernel dtypes, as (inputs..., outputs...)."""
    loops = set()
    for sig in UFUNCS[name].types:
        chars = sig.replace("->", "")
        if all(c in "?bhilqBHILQefd" for c in chars):
            loops.add(tuple(np.dtype(c) for c in chars))
    return frozenset(loops)


def ufunc_rule(op: str, ins: list[np.dtype]) -> str | None:
    """The format string (`{0}`, `{1}`: the operands) of ufunc `op` on dtypes `ins`."""
    x = ins[0]
    if x.kind == "f":
        if op == "ldexp" and ins[1] == np.int64:
            return "tj_ldexp_{T}({0}, {1})"
        return (x == F16 and HALF_RULES.get(op)) or FLOAT_RULES.get(op)
    if op in MIXED_RULES and x != ins[-1]:
        return MIXED_RULES[op]  # int64 against uint64, by value
    if x == np.bool_:
        return BOOL_RULES.get(op)
    own = SIGNED_RULES if x.kind == "i" else UNSIGNED_RULES
    return own.get(op) or INT_RULES.get(op)


def inlinable(eqn: Eqn) -> bool:
    """Whether `scalar_expr` has an exact rule for this equation."""
    dtypes = [v.dtype for v in eqn.inputs + eqn.outputs]
    if len(eqn.outputs) != 1 or not all(dtype_ok(d) for d in dtypes):
        return False
    if eqn.op in UFUNCS:
        return (tuple(dtypes) in ufunc_loops(eqn.op)
                and ufunc_rule(eqn.op, dtypes[:-1]) is not None)
    if eqn.op == "round":
        return eqn.inputs[0].dtype.kind in "iuf"
    return eqn.op in FUNCTIONS and eqn.op not in ("full", "constant")


def scalar_expr(eqn: Eqn, args: list[str]) -> str:
    """The expression computing `eqn` from its inputs' register values `args`."""
    out = eqn.outputs[0].dtype
    args = [paren(a) for a in args]
    if eqn.op not in UFUNCS:
        return FUNCTIONS[eqn.op](eqn, args, out)
    ins = [v.dtype for v in eqn.inputs]
    rule = ufunc_rule(eqn.op, ins)
    if rule is None:
        raise NotImplementedError(f"no CUDA rule for {eqn.op} on {ins}")
    x = ins[0]
    fields = float_tags(x) if x.kind == "f" else {"T": ctype(x), "W": wide(x),
                                                     "B": f"{x.itemsize * 8}u"}
    expr = rule.format(*args, **fields, **constants(eqn.op, x))
    if out == F16 and eqn.op not in HALF_EXACT:
        return f"tj_round_half({expr})"
    return f"({expr})"


def constants(op: str, dtype: np.dtype) -> dict[str, str]:
    """Named constants some rules use, in `dtype`'s register type."""
    if op == "reciprocal":  # NumPy's integer loop casts 1.0 / x: 1 / 0 is x86's inf cast
        big = dtype.kind == "i" and dtype.itemsize >= 4
        return {"one": literal(1, dtype), "recip0": literal(np.iinfo(dtype).min if big else 0,
                                                            dtype)}
    if op in ("deg2rad", "radians", "rad2deg", "degrees"):
        f = np.float64 if dtype == np.float64 else np.float32  # float16 computes in float
        pi, half_turn = f(np.pi), f(180)
        ratio = pi / half_turn if op in ("deg2rad", "radians") else half_turn / pi
        return {"ratio": literal(ratio, f)}
    return {}


def convert(src: np.dtype, dst: np.dtype, x: str) -> str:
    """Register value `x` of `src` as `dst`, as NumPy's `astype` (C casts, made defined)."""
    if src == dst:
        return x
    if dst == np.bool_:
        return f"({x} != 0)"
    if src.kind == "f" and dst.kind in "iu":
        if dst.itemsize >= 4:  # tj_cast_i32, _u32, _i64, _u64
            return f"tj_cast_{dst.name[0]}{dst.itemsize * 8}({x})"
        return f"(({ctype(dst)})tj_cast_i32({x}))"  # x86 converts to int, then wraps
    if dst == F16:
        if src == np.float64:
            return f"tj_half_from_double({x})"  # one rounding, as NumPy's double -> half
        return f"tj_round_half((float){x})"
    return f"(({regtype(dst)}){x})"


def real_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return args[0]


def imag_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return literal(0, out)


def angle_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    """arctan2(0, x) of a real x: 0, pi where x's sign bit is set, NaN for NaN."""
    x, src = args[0], eqn.inputs[0].dtype
    pi, zero = literal(np.pi, out), literal(0, out)
    if src.kind == "f":
        expr = f"({x} != {x} ? {x} : tj_signbit_{float_tags(src)['T']}({x}) ? {pi} : {zero})"
    elif src.kind == "i":
        expr = f"({x} < 0 ? {pi} : {zero})"
    else:
        expr = zero
    if eqn.params.get("deg"):  # np.angle multiplies by the Python float 180/pi
        expr = f"{expr} * {literal(180 / np.pi, out)}"
        return f"tj_round_half({expr})" if out == F16 else f"({expr})"
    return expr


def round_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    """np.round: x * 10**d, rint, / 10**d (d < 0: / then *), each op in `out`'s type."""
    x, decimals = args[0], eqn.params["decimals"]
    if out.kind != "f" and decimals >= 0:
        return x
    if out.kind != "f":  # integers: x / 10**-d in float64, rint, * 10**-d, cast back
        scale = literal(power_of_ten(-decimals), np.float64)
        return convert(np.dtype(np.float64), out, f"(rint((double){x} / {scale}) * {scale})")
    rint = f"rint{float_tags(out)['S']}"
    if decimals == 0:
        return f"{rint}({x})"
    scale = literal(power_of_ten(abs(decimals)), out)
    first, then = ("*", "/") if decimals > 0 else ("/", "*")
    if out == F16:
        return f"tj_round_half({rint}(tj_round_half({x} {first} {scale})) {then} {scale})"
    return f"({rint}({x} {first} {scale}) {then} {scale})"


def power_of_ten(n: int) -> float:
    """NumPy's `power_of_ten` (multiarray/calculation.c): 1e9 times 10, n - 9 times."""
    if n < 9:
        return 10.0 ** n
    scale = 1e9
    for _ in range(n - 9):
        scale *= 10.0
    return scale


def where_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    (c, a, b), (tc, ta, tb) = args, (v.dtype for v in eqn.inputs)
    cond = c if tc == np.bool_ else f"{c} != 0"
    return f"({cond} ? {convert(ta, out, a)} : {convert(tb, out, b)})"


def clip_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    """np.clip: minimum(maximum(x, lo), hi), NaN in any of the three propagating."""
    x, lo, hi = (convert(v.dtype, out, a) for v, a in zip(eqn.inputs, args, strict=True))
    if out.kind == "f":
        t = float_tags(out)["T"]
        return f"tj_minimum_{t}(tj_maximum_{t}({x}, {lo}), {hi})"
    return f"tj_clip<{ctype(out)}>({x}, {lo}, {hi})"


def astype_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return convert(eqn.inputs[0].dtype, out, args[0])


def full_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return literal(eqn.params["fill_value"], out)


def constant_expr(eqn: Eqn, args: list[str], out: np.dtype) -> str:
    return literal(eqn.params["value"].array.reshape(-1)[0], out)


FUNCTIONS = {"real": real_expr, "imag": imag_expr, "angle": angle_expr, "round": round_expr,
             "where": where_expr, "clip": clip_expr, "astype": astype_expr, "full": full_expr,
             "constant": constant_expr}


# --- reductions folded into kernels -------------------------------------------------------

#: the `reduce` ufuncs a kernel folds, by fold kind (the Numba backend's table)
FOLD_UFUNCS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
               "logical_or": "any", "logical_and": "all", "bitwise_and": "bitwise_and",
               "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "fmax": "fmax",
               "fmin": "fmin"}
FOLD_OPS = frozenset({"sum", "prod", "max", "min", "any", "all", "reduce"})
#: the ufunc whose elementwise rule combines two accumulators of each fold kind
FOLD_COMBINE = {kind: ufunc for ufunc, kind in FOLD_UFUNCS.items()}


def fold_kind(eqn: Eqn) -> str:
    return FOLD_UFUNCS[eqn.params["ufunc"]] if eqn.op == "reduce" else eqn.op


def foldable(eqn: Eqn) -> bool:
    """Reductions a kernel accumulates in a register (then a block tree reduction)."""
    if eqn.op not in FOLD_OPS or (eqn.op == "reduce" and eqn.params["ufunc"] not in FOLD_UFUNCS):
        return False
    x, out = eqn.inputs[0].dtype, eqn.outputs[0].dtype
    if not (dtype_ok(x) and dtype_ok(out)):
        return False
    return not fold_kind(eqn).startswith("bitwise") or out.kind in "biu"


def acc_type(eqn: Eqn) -> str:
    """The accumulator's C type: float for float16 results (NumPy's float16 sums
    accumulate in float too), else the output's register type."""
    return regtype(acc_dtype(eqn))


def acc_dtype(eqn: Eqn) -> np.dtype:
    out = eqn.outputs[0].dtype
    if fold_kind(eqn) in ("any", "all"):
        return np.dtype(np.bool_)
    return np.dtype(np.float32) if out == F16 else out


def fold_init(eqn: Eqn) -> str:
    """The accumulator's starting value: the reduction's identity (+0.0 for float sums:
    NumPy's sum of [-0.0] is 0.0 too; NaN for fmax/fmin, which any number replaces)."""
    acc, kind = acc_dtype(eqn), fold_kind(eqn)
    if kind in ("max", "min") or (kind in ("fmax", "fmin") and acc.kind != "f"):
        high = kind.endswith("min")
        if acc.kind == "f":
            return literal(np.inf if high else -np.inf, acc)
        if acc == np.bool_:
            return literal(high, acc)
        info = np.iinfo(acc)
        return literal(info.max if high else info.min, acc)
    identity = {"sum": 0, "any": 0, "bitwise_or": 0, "bitwise_xor": 0, "prod": 1, "all": 1,
                "bitwise_and": -1, "fmax": np.nan, "fmin": np.nan}[kind]
    return literal(True if acc == np.bool_ and identity else identity, acc)


def fold_value(eqn: Eqn, value: str, dtype: np.dtype) -> str:
    """An element (a register value of `dtype`) converted to the accumulator."""
    if fold_kind(eqn) in ("any", "all"):
        return value if dtype == np.bool_ else f"({paren(value)} != 0)"
    out = eqn.outputs[0].dtype
    return convert(dtype, out, paren(value))  # float16: already the float accumulator


def fold_combine(eqn: Eqn, acc: str, value: str) -> str:
    """Two accumulators combined: the elementwise rule of the reduction's ufunc on the
    accumulator's dtype (max/min propagate NaN from either side: a tree may combine)."""
    dtype = acc_dtype(eqn)
    ufunc = FOLD_COMBINE[fold_kind(eqn)]
    var = Var((), dtype)
    return scalar_expr(Eqn(ufunc, (var, var), (Var((), dtype),)), [acc, value])


def fold_result(eqn: Eqn, acc: str) -> str:
    """The accumulator as the output's register value."""
    return f"tj_round_half({acc})" if eqn.outputs[0].dtype == F16 else acc
