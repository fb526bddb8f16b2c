"""The elementwise family: one row per ufunc (and a few ufunc-like functions).

Each row is data: its name (NumPy's), its NumPy function, and its arity. Shape rules are
broadcasting; dtype rules are NumPy's own loop resolution (`ufunc.resolve_dtypes`), so
they agree with NumPy by construction. The tracer converts operands to the resolved
loop dtypes before recording, so every elementwise equation has inputs of the dtypes its
loop takes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, broadcast_shapes, probe_dtypes, register


def ufunc_infer(ufunc: np.ufunc) -> Callable[..., list[Aval]]:
    def infer(*avals: Aval) -> list[Aval]:
        shape = broadcast_shapes(*(a.shape for a in avals))
        dtypes = resolve_loop(ufunc, tuple(a.dtype for a in avals))
        return [Aval(shape, dt) for dt in dtypes[ufunc.nin:]]

    return infer


def resolve_loop(ufunc: np.ufunc, operands: tuple) -> tuple[np.dtype, ...]:
    """NumPy's loop for these operand types (dtypes, or `int`/`float`/`complex` for weak
    Python scalars), as (inputs..., outputs...). Raises TypeError when there is none."""
    if operands and all(isinstance(o, type) for o in operands):
        # only Python scalars: NumPy converts them to default dtypes first (np.equal(2, 2)
        # is an int64 comparison; resolve_dtypes would pick the object loop)
        operands = tuple(np.dtype(o) for o in operands)
    try:
        return ufunc.resolve_dtypes(tuple(operands) + (None,) * ufunc.nout)
    except (TypeError, np.exceptions.DTypePromotionError) as exc:
        names = ", ".join(getattr(o, "__name__", str(o)) for o in operands)
        raise TypeError(f"np.{ufunc.__name__} has no loop for operand types ({names}): {exc}")\
            from None


def ufunc_row(ufunc: np.ufunc, name: str | None = None) -> Op:
    return register(Op(name or ufunc.__name__, ufunc, ufunc_infer(ufunc), "elementwise",
                       nout=ufunc.nout, numpy_fn=ufunc))


def function_row(name: str, fn: Callable, nin: int = 1, **param_names: object) -> Op:
    """An elementwise op implemented by a NumPy function that is not a ufunc."""

    def infer(*avals: Aval, **params: object) -> list[Aval]:
        shape = broadcast_shapes(*(a.shape for a in avals))
        (dtype,) = probe_dtypes(fn, tuple(a.dtype for a in avals), (0,) * len(avals),
                                tuple(sorted(params.items())))
        return [Aval(shape, dtype)]

    return register(Op(name, fn, infer, "elementwise", numpy_fn=fn, extra={"nin": nin}))


UNARY_UFUNCS = [
    np.negative, np.positive, np.absolute, np.fabs, np.reciprocal, np.square, np.sqrt,
    np.cbrt, np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p,
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan,
    np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh,
    np.deg2rad, np.rad2deg, np.radians, np.degrees,
    np.floor, np.ceil, np.trunc, np.rint, np.sign, np.signbit, np.spacing,
    np.logical_not, np.invert, np.isnan, np.isinf, np.isfinite, np.conjugate,
    np.modf, np.frexp,
]

BINARY_UFUNCS = [
    np.add, np.subtract, np.multiply, np.divide, np.floor_divide, np.remainder, np.fmod,
    np.power, np.float_power, np.divmod,
    np.logaddexp, np.logaddexp2, np.arctan2, np.hypot, np.copysign, np.nextafter,
    np.maximum, np.minimum, np.fmax, np.fmin, np.heaviside, np.ldexp, np.gcd, np.lcm,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_xor,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.left_shift, np.right_shift,
]

UFUNC_ROWS = {u: ufunc_row(u) for u in UNARY_UFUNCS + BINARY_UFUNCS}

real = function_row("real", np.real)
imag = function_row("imag", np.imag)
angle = function_row("angle", np.angle, deg="static")
round_ = function_row("round", np.round, decimals="static")
where = function_row("where", np.where, nin=3)
clip = function_row("clip", np.clip, nin=3)


def complex_impl(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """re + 1j*im without arithmetic, so inf and nan parts stay as they are."""
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)),
                   np.result_type(re, im, np.complex64))
    out.real = re
    out.imag = im
    return out


def complex_infer(re: Aval, im: Aval) -> list[Aval]:
    if re.dtype.kind not in "biuf" or im.dtype.kind not in "biuf":
        raise TypeError(f"complex(re, im) takes real parts, got {re.dtype} and {im.dtype}")
    dtype = np.result_type(re.dtype, im.dtype, np.complex64)
    return [Aval(broadcast_shapes(re.shape, im.shape), dtype)]


complex_ = register(Op("complex", complex_impl, complex_infer, "elementwise",
                      doc="builds a complex array from its parts (writes through .real/.imag)"))


def astype_impl(x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    return np.asarray(x).astype(dtype)


def astype_infer(x: Aval, *, dtype: np.dtype) -> list[Aval]:
    return [Aval(x.shape, np.dtype(dtype))]


astype = register(Op("astype", astype_impl, astype_infer, "elementwise"))
