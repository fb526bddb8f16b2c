"""Derivatives of the elementwise family, as data: one row per op.

A row gives the partial derivatives `d_i = ∂ans/∂x_i` as tracer expressions of the
answer and the inputs; the VJP is `ct * d_i` and the JVP `Σ t_i * d_i` (the transform
sums cotangents back over broadcast axes). For complex holomorphic functions this is
JAX's convention (the VJP is the transpose, not the adjoint, of the JVP). Subgradients
follow JAX: ties of maximum/minimum/clip split the derivative evenly, |x|' = 1 at 0.
"""

from __future__ import annotations

import math

import numpy as np

from tracejit.autodiff.build import zeros_like
from tracejit.autodiff.rules import defvjp, nondiff


def partials(name: str, d, real_valued: bool = False) -> None:
    """Register `d(ans, *xs) -> [∂ans/∂x_i or None]` as the op's VJP and JVP.

    `real_valued`: a real function of a possibly complex input (|z|, arg z), not
    holomorphic; `d` is then the coefficient c with ans' = Re(c t), as in JAX."""

    def vjp(ct, ans, *xs, **params):
        return [None if di is None else ct * di for di in d(ans, *xs, **params)]

    def jvp(ts, ans, *xs, **params):
        terms = [t * di for t, di in zip(ts, d(ans, *xs, **params), strict=True)
                 if t is not None and di is not None]
        if real_valued:
            terms = [np.real(t) for t in terms]
        return tangent_sum(*terms)

    defvjp(name, vjp, jvp)


def half_at_ties(x, y):
    """∂max(x, y)/∂x as JAX defines it: 1 where x wins, 1/2 at a tie, 0 where y wins."""
    return np.where(x > y, 1.0, np.where(x == y, 0.5, 0.0)).astype(x.dtype)


LN2, LN10 = math.log(2.0), math.log(10.0)

# --- unary: ∂ans/∂x ----------------------------------------------------------------------


def tangent_sum(*terms):
    terms = [t for t in terms if t is not None]
    return sum(terms[1:], terms[0]) if terms else None


def negate(t):
    return None if t is None else -t


# linear ones first: their cotangents need no multiplication
defvjp("negative", lambda ct, ans, x: [-ct], lambda ts, ans, x: -ts[0])
defvjp("positive", lambda ct, ans, x: [ct], lambda ts, ans, x: ts[0])
defvjp("add", lambda ct, ans, x, y: [ct, ct], lambda ts, ans, x, y: tangent_sum(*ts))
defvjp("subtract", lambda ct, ans, x, y: [ct, -ct],
       lambda ts, ans, x, y: tangent_sum(ts[0], negate(ts[1])))
defvjp("divide", lambda ct, ans, x, y: [ct / y, -(ct * ans) / y],
       lambda ts, ans, x, y: tangent_sum(None if ts[0] is None else ts[0] / y,
                                         None if ts[1] is None else -(ts[1] * ans) / y))


def abs_partials(ans, x):
    if x.dtype.kind == "c":  # |z|' t = Re(conj(z) t / |z|)
        return [np.conjugate(x) / np.where(ans == 0, 1.0, ans).astype(ans.dtype)]
    return [np.where(x >= 0, 1.0, -1.0).astype(x.dtype)]


partials("absolute", abs_partials, real_valued=True)
partials("fabs", abs_partials)
partials("reciprocal", lambda ans, x: [-(ans * ans)])
partials("square", lambda ans, x: [2.0 * x])
partials("sqrt", lambda ans, x: [0.5 / ans])
partials("cbrt", lambda ans, x: [1.0 / (3.0 * ans * ans)])
partials("exp", lambda ans, x: [ans])
partials("exp2", lambda ans, x: [ans * LN2])
partials("expm1", lambda ans, x: [ans + 1.0])
partials("log", lambda ans, x: [1.0 / x])
partials("log2", lambda ans, x: [1.0 / (x * LN2)])
partials("log10", lambda ans, x: [1.0 / (x * LN10)])
partials("log1p", lambda ans, x: [1.0 / (x + 1.0)])
partials("sin", lambda ans, x: [np.cos(x)])
partials("cos", lambda ans, x: [-np.sin(x)])
partials("tan", lambda ans, x: [1.0 + ans * ans])
partials("arcsin", lambda ans, x: [1.0 / np.sqrt(1.0 - x * x)])
partials("arccos", lambda ans, x: [-1.0 / np.sqrt(1.0 - x * x)])
partials("arctan", lambda ans, x: [1.0 / (1.0 + x * x)])
partials("sinh", lambda ans, x: [np.cosh(x)])
partials("cosh", lambda ans, x: [np.sinh(x)])
partials("tanh", lambda ans, x: [1.0 - ans * ans])
partials("arcsinh", lambda ans, x: [1.0 / np.sqrt(x * x + 1.0)])
partials("arccosh", lambda ans, x: [1.0 / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0))])
partials("arctanh", lambda ans, x: [1.0 / (1.0 - x * x)])
for _name in ("deg2rad", "radians"):
    partials(_name, lambda ans, x: [np.full_like(x, math.pi / 180.0)])
for _name in ("rad2deg", "degrees"):
    partials(_name, lambda ans, x: [np.full_like(x, 180.0 / math.pi)])

# --- binary: ∂ans/∂x, ∂ans/∂y ----------------------------------------------------------
partials("multiply", lambda ans, x, y: [y, x])
partials("remainder", lambda ans, x, y: [np.ones_like(ans), -np.floor_divide(x, y)])
partials("fmod", lambda ans, x, y: [np.ones_like(ans), -np.trunc(x / y)])
partials("logaddexp", lambda ans, x, y: [np.exp(x - ans), np.exp(y - ans)])
partials("logaddexp2", lambda ans, x, y: [np.exp2(x - ans), np.exp2(y - ans)])
partials("arctan2", lambda ans, x, y: [y / (x * x + y * y), -x / (x * x + y * y)])
partials("hypot", lambda ans, x, y: [x / ans, y / ans])
partials("copysign", lambda ans, x, y: [
    np.where(np.signbit(x) == np.signbit(ans), 1.0, -1.0).astype(ans.dtype), None])
partials("maximum", lambda ans, x, y: [half_at_ties(x, y), half_at_ties(y, x)])
partials("minimum", lambda ans, x, y: [half_at_ties(y, x), half_at_ties(x, y)])
partials("nextafter", lambda ans, x, y: [np.ones_like(ans), None])  # one ulp from x
partials("ldexp", lambda ans, x, n: [np.ldexp(np.ones_like(x), n), None])


def power_partials(ans, x, y):
    # x**y: ∂x = y x**(y-1) (0 where y == 0, so 0**0 has slope 0); ∂y = log(x) x**y,
    # with log(0) replaced by 0 (the limit of the product at x = 0, y > 0)
    dx = np.where(y == 0, 0.0, y * x ** (y - 1)).astype(ans.dtype)
    if y.dtype.kind not in "fc":
        return [dx, None]
    dy = np.log(np.where(x == 0, 1.0, x).astype(ans.dtype)) * ans
    return [dx, dy]


partials("power", power_partials)
partials("float_power", power_partials)


def pick_partials(ans, x, y):
    # fmax/fmin return the non-NaN operand; a tie splits evenly, as for maximum (JAX's
    # fmax gives it all to y; the even split is what a central difference measures)
    tie = (x == y).astype(ans.dtype)
    return [(ans == x).astype(ans.dtype) - 0.5 * tie,
            ((ans == y) | np.isnan(x)).astype(ans.dtype) - 0.5 * tie]


partials("fmax", pick_partials)
partials("fmin", pick_partials)


def clip_partials(ans, x, lo, hi):
    # clip(x, lo, hi) = minimum(maximum(x, lo), hi), with JAX's ties
    low = np.maximum(x, lo)
    a, b = half_at_ties(x, lo), half_at_ties(hi, low)
    return [a * b, (1.0 - a) * b, 1.0 - b]


partials("clip", clip_partials)


def where_vjp(ct, ans, cond, x, y):
    zero = np.zeros_like(ct)
    return [None, np.where(cond, ct, zero), np.where(cond, zero, ct)]


def where_jvp(ts, ans, cond, x, y):
    tx = ts[1] if ts[1] is not None else zeros_like(ans)
    ty = ts[2] if ts[2] is not None else zeros_like(ans)
    return np.where(cond, tx, ty)


defvjp("where", where_vjp, where_jvp)

# --- two outputs -------------------------------------------------------------------------


def modf_vjp(cts, ans, x):
    return [cts[0]]  # frac = x - trunc(x): slope 1; the integral part has slope 0


def frexp_vjp(cts, ans, x):
    mantissa, exponent = ans
    return [cts[0] * np.ldexp(np.ones_like(mantissa), -exponent)]  # m = x * 2**-e


def divmod_vjp(cts, ans, x, y):
    return [cts[1], -cts[1] * ans[0]]  # (x // y, x - y * (x // y)), the quotient flat


defvjp("modf", modf_vjp)
defvjp("frexp", frexp_vjp)
defvjp("divmod", divmod_vjp)

# --- casts and complex parts (JAX's conventions) ------------------------------------------


def astype_vjp(ct, ans, x, dtype):
    return [ct if x.dtype.kind in "fc" and np.dtype(dtype).kind in "fc" else None]


defvjp("astype", astype_vjp, lambda ts, ans, x, dtype: (
    ts[0].astype(dtype) if np.dtype(dtype).kind in "fc" else None))
defvjp("real", lambda ct, ans, x: [ct], lambda ts, ans, x: np.real(ts[0]))
defvjp("imag", lambda ct, ans, x: [None if x.dtype.kind != "c" else -1j * ct],
       lambda ts, ans, x: np.imag(ts[0]))
defvjp("conjugate", lambda ct, ans, x: [np.conjugate(ct)],
       lambda ts, ans, x: np.conjugate(ts[0]))


def complex_vjp(ct, ans, re, im):
    return [np.real(ct), -np.imag(ct)]


def complex_jvp(ts, ans, re, im):
    t_re = ts[0] if ts[0] is not None else zeros_like(re)
    t_im = ts[1] if ts[1] is not None else zeros_like(im)
    return t_re + 1j * t_im


defvjp("complex", complex_vjp, complex_jvp)


def angle_partials(ans, x, deg=False):
    # angle(z) = arctan2(imag z, real z): composing arctan2's partials with the
    # transposes of real and imag; piecewise constant (0 or pi) for real input
    if x.dtype.kind != "c":
        return [None]
    scale = 180.0 / math.pi if deg else 1.0
    re, im = np.real(x), np.imag(x)
    return [scale * (-im - 1j * re) / (re * re + im * im)]


partials("angle", angle_partials, real_valued=True)

# Zero derivative wherever one exists: rounding, sign bits, comparisons, integer and
# boolean ops, and the integer-valued outputs of floating-point decompositions.
nondiff(
    "floor", "ceil", "trunc", "rint", "round", "sign", "signbit", "spacing",
    "heaviside", "floor_divide", "logical_not", "invert", "isnan", "isinf", "isfinite",
    "gcd", "lcm", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "left_shift", "right_shift",
)
