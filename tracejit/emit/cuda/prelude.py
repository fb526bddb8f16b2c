"""The C++ prelude of every CUDA translation unit: the helpers `scalars.py` expressions call.

One source for two compilers: as device code under nvcc or NVRTC (`__CUDACC__`: no
headers at all, since NVRTC has no C library and where `cuda_fp16.h` is found depends on
the installation; float16 is `tj_half`, its bits in an `unsigned short`, converted by
the PTX `cvt` instructions), and as host code under g++, which the tests use to check
each expression against NumPy on the CPU (float16 is then GCC's `_Float16`). Every
helper is `tj_`-prefixed; each ports the NumPy C loop it names (`npy_divmod`,
`npy_half_spacing`, ...), so edge values agree bitwise.
"""

HALF = r"""
#if defined(__CUDACC__)
typedef unsigned short tj_half;
#define TJ_FN static __device__ __forceinline__
#define TJ_NAN_F __int_as_float(0x7fc00000)
#define TJ_INF_F __int_as_float(0x7f800000)
#define TJ_NAN __longlong_as_double(0x7ff8000000000000LL)
#define TJ_INF __longlong_as_double(0x7ff0000000000000LL)
TJ_FN float tj_load_half(tj_half h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
TJ_FN tj_half tj_store_half(float x) {
    tj_half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}
TJ_FN float tj_round_half(float x) { return tj_load_half(tj_store_half(x)); }
TJ_FN float tj_half_from_double(double x) {
    tj_half h;
    asm("cvt.rn.f16.f64 %0, %1;" : "=h"(h) : "d"(x));
    return tj_load_half(h);
}
TJ_FN unsigned short tj_half_bits(float x) { return tj_store_half(x); }
TJ_FN float tj_half_from_bits(unsigned short b) { return tj_load_half(b); }
#else
#include <math.h>
typedef _Float16 tj_half;
#define TJ_FN static inline
#define TJ_NAN_F __builtin_nanf("")
#define TJ_INF_F __builtin_inff()
#define TJ_NAN __builtin_nan("")
#define TJ_INF __builtin_inf()
TJ_FN float tj_load_half(tj_half h) { return (float)h; }
TJ_FN tj_half tj_store_half(float x) { return (tj_half)x; }
TJ_FN float tj_round_half(float x) { return (float)(tj_half)x; }
TJ_FN float tj_half_from_double(double x) { return (float)(tj_half)x; }
TJ_FN unsigned short tj_half_bits(float x) {
    tj_half h = (tj_half)x;
    unsigned short b;
    __builtin_memcpy(&b, &h, 2);
    return b;
}
TJ_FN float tj_half_from_bits(unsigned short b) {
    tj_half h;
    __builtin_memcpy(&h, &b, 2);
    return (float)h;
}
#endif

// NumPy's float16 max/min loops give the first operand on ties (+0 vs -0), float's the second
TJ_FN float tj_maximum_f16(float a, float b) { return (a >= b || a != a) ? a : b; }
TJ_FN float tj_minimum_f16(float a, float b) { return (a <= b || a != a) ? a : b; }
TJ_FN float tj_fmax_f16(float a, float b) { return (a >= b || b != b) ? a : b; }
TJ_FN float tj_fmin_f16(float a, float b) { return (a <= b || b != b) ? a : b; }

// npy_half_spacing: always positive; below a negative power of two, the smaller step
TJ_FN float tj_spacing_f16(float x) {
    unsigned int h = tj_half_bits(x), e = h & 0x7c00u, s = h & 0x03ffu, r;
    if (e == 0x7c00u) r = 0x7e00u;
    else if (h == 0x7bffu) r = 0x7c00u;
    else if ((h & 0x8000u) && s == 0)
        r = e > 0x2c00u ? e - 0x2c00u : e > 0x0400u ? 1u << ((e >> 10) - 2) : 1u;
    else r = e > 0x2800u ? e - 0x2800u : e > 0x0400u ? 1u << ((e >> 10) - 1) : 1u;
    return tj_half_from_bits((unsigned short)r);
}

// npy_half_nextafter: steps the bits; x == y (+0 == -0 too) gives x
TJ_FN float tj_nextafter_f16(float x, float y) {
    if (x != x || y != y) return TJ_NAN_F;
    if (x == y) return x;
    unsigned int hx = tj_half_bits(x), hy = tj_half_bits(y);
    if (x == 0) return tj_half_from_bits((unsigned short)((hy & 0x8000u) + 1));
    return tj_half_from_bits((unsigned short)((y > x) == (x > 0) ? hx + 1 : hx - 1));
}
"""

FLOATS = r"""
// float helpers, stamped for float (f32, also float16's register type) and double (f64)
#define TJ_FLOAT_HELPERS(F, T, S, MINSUB)                                              \
TJ_FN bool tj_isnan_##T(F x) { return x != x; }                                        \
TJ_FN bool tj_isinf_##T(F x) { return x == (F)TJ_INF || x == -(F)TJ_INF; }             \
TJ_FN bool tj_isfinite_##T(F x) { return x - x == x - x; }                             \
TJ_FN bool tj_signbit_##T(F x) { return copysign##S((F)1, x) < 0; }                    \
/* np.maximum/np.minimum propagate NaN; ties give the second operand, as NumPy's loops */\
TJ_FN F tj_maximum_##T(F a, F b) { return (a > b || a != a) ? a : b; }                 \
TJ_FN F tj_minimum_##T(F a, F b) { return (a < b || a != a) ? a : b; }                 \
TJ_FN F tj_fmax_##T(F a, F b) { return (a > b || b != b) ? a : b; }                    \
TJ_FN F tj_fmin_##T(F a, F b) { return (a < b || b != b) ? a : b; }                    \
/* np.sign: +0 for either zero, NaN for NaN */                                         \
TJ_FN F tj_sign_##T(F x) { return x > 0 ? (F)1 : x < 0 ? (F)-1 : x == 0 ? (F)0 : x; }  \
TJ_FN F tj_heaviside_##T(F x, F h0) {                                                  \
    return x != x ? x : x == 0 ? h0 : x < 0 ? (F)0 : (F)1;                             \
}                                                                                      \
/* npy_spacing: the step away from zero; +min subnormal at either zero; NaN at inf */  \
TJ_FN F tj_spacing_##T(F x) {                                                          \
    return x == 0 ? MINSUB : nextafter##S(x, copysign##S((F)TJ_INF, x)) - x;           \
}                                                                                      \
/* npy_divmod: Python's floor division and modulo, floats included */                 \
TJ_FN F tj_divmod_##T(F a, F b, F* mod) {                                              \
    F m = fmod##S(a, b), div, floordiv;                                                \
    if (!b) { *mod = m; return a / b; }                                                \
    div = (a - m) / b;                                                                 \
    if (m) {                                                                           \
        if ((b < 0) != (m < 0)) { m += b; div -= 1; }                                  \
    } else {                                                                           \
        m = copysign##S((F)0, b);                                                      \
    }                                                                                  \
    if (div) {                                                                         \
        floordiv = floor##S(div);                                                      \
        if (div - floordiv > (F)0.5) floordiv += 1;                                    \
    } else {                                                                           \
        floordiv = copysign##S((F)0, a / b);                                           \
    }                                                                                  \
    *mod = m;                                                                          \
    return floordiv;                                                                   \
}                                                                                      \
TJ_FN F tj_floor_divide_##T(F a, F b) { F m; return b ? tj_divmod_##T(a, b, &m) : a / b; } \
TJ_FN F tj_remainder_##T(F a, F b) { F m; tj_divmod_##T(a, b, &m); return m; }       \
/* npy_logaddexp, npy_logaddexp2 */                                                    \
TJ_FN F tj_logaddexp_##T(F x, F y) {                                                   \
    if (x == y) return x + (F)0.693147180559945309417232121458176568;                  \
    F d = x - y;                                                                       \
    return d > 0 ? x + log1p##S(exp##S(-d)) : d <= 0 ? y + log1p##S(exp##S(d)) : d;    \
}                                                                                      \
TJ_FN F tj_logaddexp2_##T(F x, F y) {                                                  \
    const F log2e = (F)1.442695040888963407359924681001892137;                         \
    if (x == y) return x + 1;                                                          \
    F d = x - y;                                                                       \
    return d > 0 ? x + log2e * log1p##S(exp2##S(-d))                                   \
         : d <= 0 ? y + log2e * log1p##S(exp2##S(d)) : d;                              \
}                                                                                      \
/* np.ldexp with an int64 exponent clamps it to C int's range */                       \
TJ_FN F tj_ldexp_##T(F x, long long n) {                                               \
    const int e = n > 2147483647LL ? 2147483647 : n < -2147483648LL ? -2147483647 - 1 : (int)n; \
    return ldexp##S(x, e);                                                             \
}

TJ_FLOAT_HELPERS(float, f32, f, 0x1p-149f)
TJ_FLOAT_HELPERS(double, f64, , 0x1p-1074)
"""

INTEGERS = r"""
// integer helpers: T the type, W the unsigned type its arithmetic wraps in
template <class T> TJ_FN T tj_floor_divide_s(T a, T b) {  // b == 0: 0; MIN // -1: MIN
    if (b == 0) return 0;
    if (b == -1) return (T)(0ull - (unsigned long long)a);
    T q = (T)(a / b);
    return (T)(a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q);
}
template <class T> TJ_FN T tj_remainder_s(T a, T b) {  // b == 0: 0; sign of b
    if (b == 0 || b == -1) return 0;
    T r = (T)(a % b);
    return (T)(r != 0 && (r < 0) != (b < 0) ? r + b : r);
}
template <class T> TJ_FN T tj_fmod_s(T a, T b) {  // b == 0: 0; sign of a
    return (T)(b == 0 || b == -1 ? 0 : a % b);
}
template <class W> TJ_FN W tj_gcd_w(W a, W b) {
    while (b != 0) { W t = a % b; a = b; b = t; }
    return a;
}
template <class W> TJ_FN W tj_lcm_w(W a, W b) {
    W g = tj_gcd_w<W>(a, b);
    return g == 0 ? 0 : a / g * b;
}
template <class T, class W> TJ_FN W tj_uabs(T a) { return a < 0 ? (W)0 - (W)a : (W)a; }
template <class T, class W> TJ_FN T tj_gcd_s(T a, T b) {
    return (T)tj_gcd_w<W>(tj_uabs<T, W>(a), tj_uabs<T, W>(b));
}
template <class T, class W> TJ_FN T tj_lcm_s(T a, T b) {
    return (T)tj_lcm_w<W>(tj_uabs<T, W>(a), tj_uabs<T, W>(b));
}
template <class T> TJ_FN T tj_clip(T x, T lo, T hi) {  // np.clip: min(max(x, lo), hi)
    T t = x > lo ? x : lo;
    return t < hi ? t : hi;
}
template <class W> TJ_FN W tj_power_w(W base, W exp) {  // wraps, as NumPy's loop
    W out = 1;
    for (; exp != 0; exp >>= 1, base *= base)
        if (exp & 1) out *= base;
    return out;
}
// comparisons of int64 with uint64 by value (NumPy's qQ->? loops)
TJ_FN bool tj_lt(long long a, unsigned long long b) { return a < 0 || (unsigned long long)a < b; }
TJ_FN bool tj_lt(unsigned long long a, long long b) { return b >= 0 && a < (unsigned long long)b; }
TJ_FN bool tj_eq(long long a, unsigned long long b) { return a >= 0 && (unsigned long long)a == b; }
TJ_FN bool tj_eq(unsigned long long a, long long b) { return b >= 0 && a == (unsigned long long)b; }
"""

CASTS = r"""
// float -> int casts: C leaves NaN and out-of-range values undefined (GPUs saturate);
// these give what NumPy's scalar loops give on x86-64: cvttsd2si's value (INT_MIN when
// out of range) of the int or int64 conversion, wrapped to the narrower type
TJ_FN int tj_cast_i32(double x) {
    return x > -2147483649.0 && x < 2147483648.0 ? (int)x : (int)(-2147483647 - 1);
}
TJ_FN long long tj_cast_i64(double x) {
    const double two63 = 9223372036854775808.0;
    return x >= -two63 && x < two63 ? (long long)x : (-9223372036854775807LL - 1);
}
TJ_FN unsigned long long tj_cast_u64(double x) {
    const double two63 = 9223372036854775808.0;
    if (!(x >= two63)) return (unsigned long long)tj_cast_i64(x);
    return (unsigned long long)tj_cast_i64(x - two63) ^ 0x8000000000000000ull;
}
TJ_FN unsigned int tj_cast_u32(double x) { return (unsigned int)tj_cast_i64(x); }
"""

PRELUDE = "// tracejit scalar prelude\n" + HALF + FLOATS + INTEGERS + CASTS
