"""The CUDA ufunc rules as data: one format string per (ufunc, dtype family).

`{0}`, `{1}` are the operands (register values, parenthesized). Floats: `{S}` is libm's
suffix (`sinf` / `sin`), `{T}` the prelude helpers' (`f32` / `f64`); float16 uses the
float rules and `scalars.scalar_expr` rounds the result to half unless the op is in
`HALF_EXACT`. Integers: `{T}` is the C type, `{W}` the unsigned type its arithmetic
wraps in, `{B}` its width in bits. Which dtypes a ufunc takes is NumPy's business: a rule
is used only on one of the ufunc's own loops (`scalars.ufunc_loops`).
"""

#: ufuncs computed by the device math library: NumPy's special values, a few ulp otherwise
LIBM_NAMES = {"cbrt": "cbrt", "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log",
              "log2": "log2", "log10": "log10", "log1p": "log1p", "sin": "sin", "cos": "cos",
              "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
              "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh",
              "arccosh": "acosh", "arctanh": "atanh"}
LIBM_BINARY = {"power": "pow", "float_power": "pow", "arctan2": "atan2", "hypot": "hypot"}
LIBM = frozenset(LIBM_NAMES) | frozenset(LIBM_BINARY) | {"logaddexp", "logaddexp2"}

COMPARISONS = {"equal": "{0} == {1}", "not_equal": "{0} != {1}", "less": "{0} < {1}",
               "less_equal": "{0} <= {1}", "greater": "{0} > {1}",
               "greater_equal": "{0} >= {1}"}
#: truthiness as NumPy's: nonzero, NaN included
LOGICAL = {"logical_and": "{0} != 0 && {1} != 0", "logical_or": "{0} != 0 || {1} != 0",
           "logical_xor": "({0} != 0) != ({1} != 0)", "logical_not": "{0} == 0"}

FLOAT_RULES = {
    **COMPARISONS, **LOGICAL,
    **{op: f"{name}{{S}}({{0}})" for op, name in LIBM_NAMES.items()},
    **{op: f"{name}{{S}}({{0}}, {{1}})" for op, name in LIBM_BINARY.items()},
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}",
    "divide": "{0} / {1}", "negative": "-{0}", "positive": "{0}", "conjugate": "{0}",
    "absolute": "fabs{S}({0})", "fabs": "fabs{S}({0})", "square": "{0} * {0}",
    "reciprocal": "{one} / {0}", "sqrt": "sqrt{S}({0})", "floor": "floor{S}({0})",
    "ceil": "ceil{S}({0})", "trunc": "trunc{S}({0})", "rint": "rint{S}({0})",
    "fmod": "fmod{S}({0}, {1})", "copysign": "copysign{S}({0}, {1})",
    "nextafter": "nextafter{S}({0}, {1})", "ldexp": "ldexp{S}({0}, {1})",
    # NumPy's constants: pi / 180 and 180 / pi rounded in the loop's type (float for float16)
    "deg2rad": "{0} * {ratio}", "radians": "{0} * {ratio}",
    "rad2deg": "{0} * {ratio}", "degrees": "{0} * {ratio}",
    "isnan": "tj_isnan_{T}({0})", "isinf": "tj_isinf_{T}({0})",
    "isfinite": "tj_isfinite_{T}({0})", "signbit": "tj_signbit_{T}({0})",
    "sign": "tj_sign_{T}({0})", "spacing": "tj_spacing_{T}({0})",
    "maximum": "tj_maximum_{T}({0}, {1})", "minimum": "tj_minimum_{T}({0}, {1})",
    "fmax": "tj_fmax_{T}({0}, {1})", "fmin": "tj_fmin_{T}({0}, {1})",
    "heaviside": "tj_heaviside_{T}({0}, {1})", "floor_divide": "tj_floor_divide_{T}({0}, {1})",
    "remainder": "tj_remainder_{T}({0}, {1})", "logaddexp": "tj_logaddexp_{T}({0}, {1})",
    "logaddexp2": "tj_logaddexp2_{T}({0}, {1})",
}
#: float16 ops whose NumPy loops differ from float's (half bits; ties of max and min)
HALF_RULES = {"spacing": "tj_spacing_f16({0})", "nextafter": "tj_nextafter_f16({0}, {1})",
              **{op: f"tj_{op}_f16({{0}}, {{1}})" for op in ("maximum", "minimum", "fmax", "fmin")}}
#: float16 ops whose float result is already a half (or a bool): no rounding needed
HALF_EXACT = frozenset({
    *COMPARISONS, *LOGICAL, "negative", "positive", "conjugate", "absolute", "fabs", "floor",
    "ceil", "trunc", "rint", "copysign", "nextafter", "spacing", "isnan", "isinf", "isfinite",
    "signbit", "sign", "maximum", "minimum", "fmax", "fmin", "heaviside"})

INT_RULES = {
    **COMPARISONS, **LOGICAL,
    "add": "({T})(({W}){0} + ({W}){1})", "subtract": "({T})(({W}){0} - ({W}){1})",
    "multiply": "({T})(({W}){0} * ({W}){1})", "square": "({T})(({W}){0} * ({W}){0})",
    "negative": "({T})(({W})0 - ({W}){0})", "positive": "{0}", "conjugate": "{0}",
    "floor": "{0}", "ceil": "{0}", "trunc": "{0}", "invert": "({T})~{0}",
    "bitwise_and": "({T})({0} & {1})", "bitwise_or": "({T})({0} | {1})",
    "bitwise_xor": "({T})({0} ^ {1})",
    "left_shift": "({W}){1} < {B} ? ({T})(({W}){0} << {1}) : ({T})0",
    "maximum": "{0} > {1} ? {0} : {1}", "minimum": "{0} < {1} ? {0} : {1}",
    "fmax": "{0} > {1} ? {0} : {1}", "fmin": "{0} < {1} ? {0} : {1}",
    "isnan": "false", "isinf": "false", "isfinite": "true",
}
SIGNED_RULES = {
    "absolute": "{0} < 0 ? ({T})(({W})0 - ({W}){0}) : {0}",  # abs(MIN) == MIN
    "sign": "({T})(({0} > 0) - ({0} < 0))",
    "reciprocal": "{0} == 0 ? {recip0} : ({T})(1 / {0})",
    "floor_divide": "tj_floor_divide_s<{T}>({0}, {1})",
    "remainder": "tj_remainder_s<{T}>({0}, {1})", "fmod": "tj_fmod_s<{T}>({0}, {1})",
    "gcd": "tj_gcd_s<{T}, {W}>({0}, {1})", "lcm": "tj_lcm_s<{T}, {W}>({0}, {1})",
    "right_shift": "({W}){1} < {B} ? ({T})({0} >> {1}) : ({T})({0} < 0 ? -1 : 0)",
}
UNSIGNED_RULES = {
    "absolute": "{0}", "sign": "({T})({0} > 0)",
    "reciprocal": "{0} == 0 ? ({T})0 : ({T})(1 / {0})",
    "floor_divide": "{1} == 0 ? ({T})0 : ({T})({0} / {1})",
    "remainder": "{1} == 0 ? ({T})0 : ({T})({0} % {1})",
    "fmod": "{1} == 0 ? ({T})0 : ({T})({0} % {1})",
    "gcd": "({T})tj_gcd_w<{W}>({0}, {1})", "lcm": "({T})tj_lcm_w<{W}>({0}, {1})",
    "right_shift": "({W}){1} < {B} ? ({T})({0} >> {1}) : ({T})0",
    "power": "({T})tj_power_w<{W}>({0}, {1})",
}
BOOL_RULES = {
    **COMPARISONS,
    **dict.fromkeys(["add", "logical_or", "maximum", "fmax", "bitwise_or"], "{0} || {1}"),
    **dict.fromkeys(["multiply", "logical_and", "minimum", "fmin", "bitwise_and"],
                    "{0} && {1}"),
    **dict.fromkeys(["logical_xor", "bitwise_xor"], "{0} != {1}"),
    **dict.fromkeys(["absolute", "floor", "ceil", "trunc"], "{0}"),
    "invert": "!{0}", "logical_not": "!{0}",
    "isnan": "false", "isinf": "false", "isfinite": "true",
}
#: int64 against uint64 (NumPy's qQ->? and Qq->? loops) compares values, not bits
MIXED_RULES = {"less": "tj_lt({0}, {1})", "greater": "tj_lt({1}, {0})",
               "less_equal": "!tj_lt({1}, {0})", "greater_equal": "!tj_lt({0}, {1})",
               "equal": "tj_eq({0}, {1})", "not_equal": "!tj_eq({0}, {1})"}
