"""Vectorizable exp, log, tanh and expm1 for Numba loops.

Numba lowers `np.exp` & co. on scalars to libm calls, which LLVM cannot vectorize. The
functions here use only arithmetic, integer bit manipulation and selects, so a loop that
calls them is vectorized (AVX2/AVX-512) by LLVM's loop vectorizer. Each takes and returns a
scalar of its own dtype, and is inlined into the caller (`inline="always"`); the
callers' `error_model` and `fastmath` do not matter as division is a raw `fdiv`
intrinsic.  Do not compile callers with `fastmath=True`: the round-to-integer trick
below and the NaN/inf handling rely on IEEE semantics.

Method
* exp: k = rint(x / ln2) by adding 1.5 * 2**(mantissa bits) (the integer lands in the low
  bits; no float-to-int conversion, so NaN is harmless); r = x - k*ln2 in two pieces
  (Cody-Waite: k*LN2_HI is exact); exp(r) = 1 + r + r**2 * P(r) on |r| <= ln2/2;
  2**k is built from exponent bits, as two factors 2**(k//2) * 2**(k - k//2) so that
  overflow gives inf and gradual underflow rounds once into subnormals.
* log: x = 2**k * m with m in [sqrt(1/2), sqrt(2)) by integer arithmetic on the bits
  (subnormals are scaled up first); f = m - 1, s = f / (2 + f),
  log(1 + f) = f - f**2/2 + s * (f**2/2 + s**2 * Q(s**2)) (Q approximates
  (2 atanh(s) / s - 2) / s**2); log(x) = k*ln2 + log(1 + f), ln2 in two pieces.
* tanh: |x| < T: x + x * z * R(z), z = x*x; else 1 - 2 / (exp(2|x|) + 1) with the sign of
  x (2|x| is clamped where tanh rounds to 1).
* expm1: |x| < ln2/2: r + r**2 * P(r) directly; else as exp, 2**k * (e**r - 1) + (2**k - 1).
Special values and signed zeros follow NumPy. Polynomials are least-squares fits on
Chebyshev nodes (mpmath, 80 digits), each coefficient rounded to the working precision
before the next is refitted. Max error against the exact result, measured: float32 exp
and log < 0.6 ulp (the float32 math is done in float32), tanh < 1 ulp; float64 < 1 ulp.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_i32, _i64 = ir.IntType(32), ir.IntType(64)


def _bitcast(name, src, dst, llvm_dst):
    def impl(typingctx, x):
        if not isinstance(x, src):
            return None

        def codegen(context, builder, sig, args):
            (v,) = args
            if isinstance(x, types.Integer) and x.bitwidth != dst.bitwidth:  # int64 -> i32
                resize = builder.trunc if x.bitwidth > dst.bitwidth else builder.sext
                v = resize(v, ir.IntType(dst.bitwidth))
            return builder.bitcast(v, llvm_dst)
        return dst(x), codegen
    impl.__name__ = name
    return intrinsic(impl)


f32_as_i32 = _bitcast("f32_as_i32", types.Float, types.int32, _i32)
f64_as_i64 = _bitcast("f64_as_i64", types.Float, types.int64, _i64)
i32_as_f32 = _bitcast("i32_as_f32", types.Integer, types.float32, ir.FloatType())
i64_as_f64 = _bitcast("i64_as_f64", types.Integer, types.float64, ir.DoubleType())


@intrinsic
def _fdiv(typingctx, a, b):
    """a / b as one IEEE division: no zero check whatever the caller's error model."""
    if a != b or not isinstance(a, types.Float):
        return None
    return a(a, b), lambda context, builder, sig, args: builder.fdiv(*args)


_jit = numba.njit(inline="always", error_model="numpy")
f4, f8 = np.float32, np.float64

# ---- float32 constants -------------------------------------------------------------
F_ONE, F_HALF, F_TWO = f4(1.0), f4(0.5), f4(2.0)
F_INF, F_NAN = f4(np.inf), f4(np.nan)
F_LOG2E = f4(1.4426950408889634)     # 1 / ln 2
F_SHIFT = f4(12582912.0)             # 1.5 * 2**23: x + F_SHIFT rounds x to an integer
F_LN2_HI = f4(0.693145751953125)     # ln 2 to 16 bits (0x3f317200): k * F_LN2_HI is exact
F_LN2_LO = f4(1.428606765330187e-06)  # ln 2 - F_LN2_HI
F_EXP_LO = f4(-104.0)                # exp(x) rounds to 0 below about -103.97
F_EXP_HI = f4(89.0)                  # exp(x) overflows above about 88.72
F_TINY = f4(1.1754943508222875e-38)  # smallest normal, 2**-126
F_2P23 = f4(8388608.0)               # 2**23: scales a subnormal up to a normal
F_TANH_T = f4(0.9)                   # tanh: polynomial below, exp-based at or above
F_TANH_CLAMP = f4(20.0)              # 2|x| above this: tanh(x) rounds to +-1 in float32
SQRT_HALF_I32 = 0x3F3504F3           # bits of float32 sqrt(1/2)
# exp(r) = 1 + r + r**2 * P(r), |r| <= ln2/2; coefficients of P, constant term first
F_EXP_P = (f4(0.5), f4(0.1666666716337204), f4(0.041666507720947266),
           f4(0.008333180099725723), f4(0.001393090351484716), f4(0.00019969804270658642))
# Q(z) ~ (2 atanh(s)/s - 2)/z, z = s**2 <= 0.0295
F_LOG_Q = (f4(0.6666666865348816), f4(0.3999955356121063), f4(0.2858933210372925),
           f4(0.225844606757164))
# R(z) ~ (tanh(x)/x - 1)/z, z = x**2 <= 0.81
F_TANH_R = (f4(-0.3333333432674408), f4(0.1333337426185608), f4(-0.05397285521030426),
            f4(0.021889181807637215), f4(-0.008886816911399364), f4(0.003522499930113554),
            f4(-0.0011891336180269718), f4(0.0002314896701136604))

# ---- float64 constants -------------------------------------------------------------
D_ONE, D_HALF, D_TWO = f8(1.0), f8(0.5), f8(2.0)
D_INF, D_NAN = f8(np.inf), f8(np.nan)
D_LOG2E = f8(1.4426950408889634)     # 1 / ln 2
D_SHIFT = f8(6755399441055744.0)     # 1.5 * 2**52: x + D_SHIFT rounds x to an integer
D_LN2_HI = f8(0.6931471806019545)    # ln 2 to 29 bits (0x3fe62e42ff000000): k*D_LN2_HI exact
D_LN2_LO = f8(-4.2009150726810846e-11)  # ln 2 - D_LN2_HI
D_EXP_LO = f8(-746.0)                # exp(x) rounds to 0 below about -745.13
D_EXP_HI = f8(710.0)                 # exp(x) overflows above about 709.78
D_TINY = f8(2.2250738585072014e-308)  # smallest normal, 2**-1022
D_2P54 = f8(18014398509481984.0)     # 2**54: scales a subnormal up to a normal
D_TANH_T = f8(0.625)                 # tanh: polynomial below, exp-based at or above
D_TANH_CLAMP = f8(44.0)              # 2|x| above this: tanh(x) rounds to +-1 in float64
SQRT_HALF_I64 = 0x3FE6A09E667F3BCD   # bits of float64 sqrt(1/2)
# exp(r) = 1 + r + r**2 * P(r), |r| <= ln2/2; coefficients of P, constant term first
D_EXP_P = (f8(0.5), f8(0.1666666666666667), f8(0.04166666666666667), f8(0.00833333333332585),
           f8(0.001388888888888212), f8(0.00019841269875642612), f8(2.4801587330193505e-05),
           f8(2.7557254482594904e-06), f8(2.7557268684430653e-07), f8(2.5105558436219623e-08),
           f8(2.091645439169552e-09))
# Q(z) ~ (2 atanh(s)/s - 2)/z, z = s**2 <= 0.0295
D_LOG_Q = (f8(0.666666666666667), f8(0.3999999999989935), f8(0.2857142862619172),
           f8(0.22222211090935115), f8(0.1818289260179483), f8(0.15331601402888032),
           f8(0.14617948829848762))
# R(z) ~ (tanh(x)/x - 1)/z, z = x**2 <= 0.39
D_TANH_R = (f8(-0.3333333333333333), f8(0.1333333333333272), f8(-0.05396825396768593),
            f8(0.02186948851260594), f8(-0.008863234995159504), f8(0.0035921206349771844),
            f8(-0.001455768001467483), f8(0.0005896283786263892), f8(-0.00023749891092589013),
            f8(9.240734718653173e-05), f8(-3.1034273612006324e-05), f8(6.411261237977496e-06))


@_jit
def _horner(c, x):
    """c[0] + x * (c[1] + x * (...)) for a tuple c (unrolled at compile time)."""
    acc = c[len(c) - 1]
    for i in range(len(c) - 2, -1, -1):
        acc = c[i] + x * acc
    return acc


# ---- exp -----------------------------------------------------------------------------
@_jit
def _exp_reduce_f32(x):
    """(e**r, k) with x = k*ln2 + r, |r| <= ln2/2; x must be finite or NaN."""
    kf = x * F_LOG2E + F_SHIFT
    k = f32_as_i32(kf) - f32_as_i32(F_SHIFT)
    kf = kf - F_SHIFT
    r = (x - kf * F_LN2_HI) - kf * F_LN2_LO
    return F_ONE + (r + r * r * _horner(F_EXP_P, r)), k


@_jit
def exp_f32(x):
    x = F_EXP_HI if x > F_EXP_HI else x
    x = F_EXP_LO if x < F_EXP_LO else x  # NaN passes both clamps
    p, k = _exp_reduce_f32(x)
    k1 = k >> 1
    return p * i32_as_f32((k1 + 127) << 23) * i32_as_f32((k - k1 + 127) << 23)


@_jit
def _exp_reduce_f64(x):
    """(e**r, k) with x = k*ln2 + r, |r| <= ln2/2; x must be finite or NaN."""
    kf = x * D_LOG2E + D_SHIFT
    k = f64_as_i64(kf) - f64_as_i64(D_SHIFT)
    kf = kf - D_SHIFT
    r = (x - kf * D_LN2_HI) - kf * D_LN2_LO
    return D_ONE + (r + r * r * _horner(D_EXP_P, r)), k


@_jit
def exp_f64(x):
    x = D_EXP_HI if x > D_EXP_HI else x
    x = D_EXP_LO if x < D_EXP_LO else x  # NaN passes both clamps
    p, k = _exp_reduce_f64(x)
    k1 = k >> 1
    return p * i64_as_f64((k1 + 1023) << 52) * i64_as_f64((k - k1 + 1023) << 52)
