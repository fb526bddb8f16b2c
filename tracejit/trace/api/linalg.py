"""Products and linear algebra: dot, vdot, inner, outer, tensordot, einsum and np.linalg.

Every product is traced into the `matmul` or `einsum` row plus reshapes and transposes;
`np.linalg.norm` follows NumPy's own `_linalg.norm` op for op (same casts, same
reductions in the same order), with the `svdvals` row for the spectral norms. `np.matmul`
is a ufunc and needs no handler: it reaches `apply_ufunc` through `__array_ufunc__`.

Like NumPy's C products, dot, vdot, inner, outer, tensordot and einsum convert Python
scalars with `np.asarray` (strong int64/float64), so `np.dot(f32, 2.0)` is float64.
Rejected: einsum's interleaved operand/sublist form and explicit `optimize=` paths.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from tracejit import errors
from tracejit.graph.ops import normalize_axis
from tracejit.trace import views
from tracejit.trace.api import implements
from tracejit.trace.mutation import assign
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, constant, fresh, get_ctx, lift

SlogdetResult = getattr(np.linalg._linalg, "SlogdetResult", tuple)
SVDResult = getattr(np.linalg._linalg, "SVDResult", tuple)


# --- helpers ----------------------------------------------------------------------


def asarray(x: Any) -> Tracer:
    """`np.asarray(x)`: a Tracer that promotes strongly (no NEP 50 weak Python scalar)."""
    t = lift(x)
    if t.weak or t.kind == "python":
        t = fresh(get_ctx(), t.sym)
    return t


def strong(value: Any) -> Any:
    """A NumPy scalar as a strong constant (`lift` takes np.float64 for a Python float)."""
    return constant(value, kind="scalar") if isinstance(value, np.generic) else value


def promote(*xs: Any) -> list[Tracer]:
    """The operands as arrays of their common dtype, as NumPy's dot casts them."""
    ts = [asarray(x) for x in xs]
    dtype = np.result_type(*(t.dtype for t in ts))
    return [astype(t, dtype) for t in ts]


def reshape(t: Tracer, shape: tuple[int, ...], kind: str | None = None) -> Tracer:
    shape = tuple(int(d) for d in shape)
    same = shape == t.shape and kind in (None, t.kind)
    return t if same else bind("reshape", [t], {"shape": shape}, kind=kind)


def transpose(t: Tracer, axes: list[int] | tuple[int, ...]) -> Tracer:
    axes = tuple(axes)
    return t if axes == tuple(range(t.ndim)) else bind("transpose", [t], {"axes": axes})


def shape_error(operation: str, detail: str, fix: str) -> errors.TraceShapeError:
    return errors.TraceShapeError(operation, detail, fix, user_source())


def not_aligned(operation: str, a: Tracer, b: Tracer, dim_a: int, dim_b: int) -> None:
    """NumPy's "shapes (2,3) and (4,5) not aligned: 3 (dim 1) != 4 (dim 0)" check."""
    if a.shape[dim_a] != b.shape[dim_b]:
        raise shape_error(operation, f"shapes {a.shape} and {b.shape} not aligned: "
                          f"{a.shape[dim_a]} (dim {dim_a}) != {b.shape[dim_b]} (dim {dim_b})",
                          "make the summed dimensions equal (transpose an operand?)")


def write_out(result: Tracer, out: Any, operation: str) -> Any:
    """`out=` as NumPy's dot takes it: exactly the result's shape and dtype."""
    if out is None:
        return result
    target = lift(out)
    contiguous = target._strides is not None and all(
        s == c or d == 1 for s, c, d in zip(target._strides, views.c_strides(target.shape),
                                            target.shape, strict=True))
    if target.shape != result.shape or target.dtype != result.dtype or not contiguous:
        raise shape_error(operation, f"output array {target.dtype}{list(target.shape)} is not "
                          f"acceptable for a result {result.dtype}{list(result.shape)} "
                          "(it must have that shape and dtype and be C-contiguous)",
                          "give out= exactly the result's shape and dtype, C-contiguous")
    assign(target, result, f"{operation}(..., out=)")
    return out


# --- products ---------------------------------------------------------------------


def contract(a: Tracer, b: Tracer, axes_a: list[int], axes_b: list[int],
             kind: str | None = None) -> Tracer:
    """sum(a[free_a, k] * b[k, free_b]) over the paired axes: transpose, reshape, matmul.
    The result's axes are a's free axes, then b's."""
    free_a = [k for k in range(a.ndim) if k not in axes_a]
    free_b = [k for k in range(b.ndim) if k not in axes_b]
    summed = math.prod(a.shape[k] for k in axes_a)
    shape_a = [a.shape[k] for k in free_a]
    shape_b = [b.shape[k] for k in free_b]
    at = reshape(transpose(a, free_a + axes_a), (math.prod(shape_a), summed))
    bt = reshape(transpose(b, axes_b + free_b), (summed, math.prod(shape_b)))
    return reshape(bind("matmul", [at, bt]), tuple(shape_a + shape_b), kind)


@implements(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """dot(a, b) = a * b for 0-d; matmul(a, b) when a is 1-D or b at most 2-D; otherwise
    tensordot(a, b, ([-1], [-2]))."""
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return write_out(np.multiply(a, b), out, "np.dot")
    not_aligned("np.dot", a, b, a.ndim - 1, max(b.ndim - 2, 0))
    if a.ndim == 1 or b.ndim <= 2:
        result = bind("matmul", [a, b])
    else:
        result = contract(a, b, [a.ndim - 1], [b.ndim - 2])
    return write_out(result, out, "np.dot")


@implements(np.vdot)
def vdot(a: Any, b: Any) -> Tracer:
    """vdot(a, b) = conj(ravel(a)) @ ravel(b)."""
    a, b = promote(a, b)
    if a.size != b.size:
        raise shape_error("np.vdot", f"cannot take the dot product of {a.size} elements "
                          f"(shape {a.shape}) with {b.size} elements (shape {b.shape})",
                          "give both arguments the same number of elements")
    a, b = reshape(a, (a.size,)), reshape(b, (b.size,))
    return bind("matmul", [np.conjugate(a) if a.dtype.kind == "c" else a, b])


@implements(np.inner)
def inner(a: Any, b: Any) -> Tracer:
    """inner(a, b)[i..., j...] = sum(a[i..., :] * b[j..., :]); a * b for 0-d."""
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return np.multiply(a, b)
    not_aligned("np.inner", a, b, a.ndim - 1, b.ndim - 1)
    if a.ndim == 1 and b.ndim == 1:
        return bind("matmul", [a, b])
    return contract(a, b, [a.ndim - 1], [b.ndim - 1])


@implements(np.outer)
def outer(a: Any, b: Any, out: Any = None) -> Any:
    """outer(a, b) = ravel(a)[:, None] * ravel(b)[None, :]."""
    a, b = asarray(a), asarray(b)
    return np.multiply(reshape(a, (a.size, 1)), reshape(b, (1, b.size)), out=out)


@implements(np.linalg.outer)
def linalg_outer(x1: Any, x2: Any, /) -> Any:
    """np.linalg.outer: np.outer restricted to 1-D vectors."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise shape_error("np.linalg.outer", "Input arrays must be one-dimensional, got "
                          f"shapes {x1.shape} and {x2.shape}", "use np.outer to ravel them")
    return outer(x1, x2)


def tensordot_axes(axes: Any, nda: int, ndb: int) -> tuple[list[int], list[int]]:
    """NumPy's tensordot axes: an int N (a's last N, b's first N) or a pair of lists."""
    if not isinstance(axes, (list, tuple)) and np.ndim(axes) == 0:
        n = int(axes)
        return list(range(nda - n, nda)), list(range(n))
    axes_a, axes_b = ([int(k) for k in np.atleast_1d(ax)] for ax in axes)
    if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
        raise shape_error("np.tensordot", "duplicate axes are not allowed in tensordot",
                          "name each summed axis once")
    return axes_a, axes_b


@implements(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Tracer:
    """Sum of a * b over paired axes (contract), a 0-d ndarray when every axis is summed."""
    a, b = promote(a, b)
    axes_a, axes_b = tensordot_axes(axes, a.ndim, b.ndim)
    try:
        axes_a = [normalize_axis(k, a.ndim) for k in axes_a]
        axes_b = [normalize_axis(k, b.ndim) for k in axes_b]
    except np.exceptions.AxisError as exc:
        raise errors.TraceAxisError("np.tensordot", f"{exc} (shapes {a.shape} and {b.shape})",
                                    "pick axes the arrays have", user_source()) from None
    if [a.shape[k] for k in axes_a] != [b.shape[k] for k in axes_b]:
        raise shape_error("np.tensordot", f"shape-mismatch for sum: axes {axes_a} of "
                          f"{a.shape} and {axes_b} of {b.shape}", "pair axes of equal size")
    return contract(a, b, axes_a, axes_b, kind="array")


implements(np.linalg.tensordot)(lambda x1, x2, /, *, axes=2: tensordot(x1, x2, axes))
implements(np.linalg.matmul)(lambda x1, x2, /: np.matmul(x1, x2))  # the matmul ufunc


# --- einsum -----------------------------------------------------------------------


@implements(np.einsum)
def einsum(*operands: Any, out: Any = None, optimize: Any = False, dtype: Any = None,
           order: str = "K", casting: str = "safe") -> Any:
    """np.einsum with string subscripts, traced as one `einsum` equation. `optimize` only
    picks NumPy's contraction order, and `order` only the memory layout: both ignored."""
    subscripts, *arrays = operands
    if not isinstance(subscripts, str):
        raise errors.UnsupportedFunctionError(
            "np.einsum(a, sublist, b, sublist, ...)", "the interleaved operand/sublist form "
            "is not supported in jitted code", "write the subscripts as a string, e.g. "
            "np.einsum('ij,jk->ik', a, b)", user_source())
    if not any(optimize is v for v in (False, True)) and optimize not in ("greedy", "optimal"):
        raise errors.UnsupportedFunctionError(
            "np.einsum(..., optimize=path)", "explicit contraction paths are not supported",
            "pass optimize=False, True, 'greedy' or 'optimal'", user_source())
    ts = [asarray(x) for x in arrays]
    if dtype is not None:
        ts = [cast(t, np.dtype(dtype), casting) for t in ts]
    check_einsum(subscripts, ts)
    result = bind("einsum", ts, {"subscripts": subscripts})
    if out is None:
        return result
    return write_out(cast(result, lift(out).dtype, casting), out, "np.einsum")


def cast(t: Tracer, dtype: np.dtype, casting: str) -> Tracer:
    if not np.can_cast(t.dtype, dtype, casting):
        raise errors.TraceTypeError("np.einsum", f"cannot cast {t.dtype} to {dtype} with "
                                    f"casting rule {casting!r}", "cast the operands first",
                                    user_source())
    return astype(t, dtype)


def check_einsum(subscripts: str, ts: list[Tracer]) -> None:
    """NumPy's own checks of the subscripts, run on size-1 stand-ins of the operands."""
    try:
        np.einsum(subscripts, *(np.ones((1,) * t.ndim, t.dtype) for t in ts))
    except (ValueError, TypeError) as exc:
        shapes = ", ".join(f"{t.dtype}{list(t.shape)}" for t in ts)
        raise shape_error("np.einsum", f"{exc} (subscripts {subscripts!r}, operands {shapes})",
                          "give each operand one letter per dimension") from None


# --- norm -------------------------------------------------------------------------


def add_reduce(t: Tracer, axes: tuple[int, ...], keepdims: bool = False) -> Tracer:
    return bind("sum", [t], {"axes": tuple(sorted(axes)), "keepdims": keepdims, "dtype": None})


def max_from_zero(t: Tracer, axis: int, keepdims: bool = False) -> Tracer:
    """max(t, axis, initial=0) for t >= 0: 0 where the axis is empty (the sum), else max."""
    op = "sum" if t.shape[axis] == 0 else "max"
    params = {"dtype": None} if op == "sum" else {}
    return bind(op, [t], {"axes": (axis,), "keepdims": keepdims, **params})


def min_(t: Tracer, axis: int, keepdims: bool = False) -> Tracer:
    return bind("min", [t], {"axes": (axis,), "keepdims": keepdims})


def squared(x: Tracer) -> Tracer:
    """(conj(x) * x).real, as NumPy's norm computes |x|**2."""
    return bind("real", [np.conjugate(x) * x]) if x.dtype.kind == "c" else x * x


def norm_error(detail: str) -> errors.TraceShapeError:
    return shape_error("np.linalg.norm", detail, "see np.linalg.norm for the valid orders")


@implements(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tracer:
    """NumPy's norm: sqrt(x.ravel() @ x.ravel()) for ord=None with no axis; vector norms
    over one axis, matrix norms over two."""
    x = asarray(x)
    if x.dtype.kind not in "fc":
        x = astype(x, np.float64)
    if axis is None and (ord is None or (ord in ("f", "fro") and x.ndim == 2)
                         or (ord == 2 and x.ndim == 1)):
        return raveled_norm(x, keepdims)
    if axis is None:
        axis = tuple(range(x.ndim))
    elif not isinstance(axis, tuple):
        try:
            axis = (int(axis),)
        except TypeError:
            raise errors.TraceTypeError("np.linalg.norm", "'axis' must be None, an integer or "
                                        "a tuple of integers", "", user_source()) from None
    try:
        axis = tuple(normalize_axis(int(k), x.ndim) for k in axis)
    except np.exceptions.AxisError as exc:
        raise errors.TraceAxisError("np.linalg.norm", f"{exc} (array {x.dtype}"
                                    f"{list(x.shape)})", "pick axes the array has",
                                    user_source()) from None
    if len(axis) == 1:
        return vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        return matrix_norm(x, ord, axis, keepdims)
    raise norm_error(f"Improper number of dimensions to norm: axis {axis} of an array "
                     f"of shape {x.shape}")


def raveled_norm(x: Tracer, keepdims: bool) -> Tracer:
    """sqrt(v @ v) for v = ravel(x); sqrt(re @ re + im @ im) for complex x."""
    v = reshape(x, (x.size,))
    if x.dtype.kind == "c":
        re, im = bind("real", [v]), bind("imag", [v])
        sqnorm = bind("matmul", [re, re]) + bind("matmul", [im, im])
    else:
        sqnorm = bind("matmul", [v, v])
    ret = np.sqrt(sqnorm)
    return reshape(ret, (1,) * x.ndim, "array" if x.ndim else None) if keepdims else ret


def vector_norm(x: Tracer, ord: Any, axis: int, keepdims: bool) -> Tracer:
    """max|x|, min|x|, count(x != 0), sum|x|, sqrt(sum|x|**2), or sum(|x|**p)**(1/p)."""
    if ord == np.inf:
        return max_from_zero(np.abs(x), axis, keepdims)
    if ord == -np.inf:
        return min_(np.abs(x), axis, keepdims)
    if ord == 0:
        nonzero = astype(x != 0, np.finfo(x.dtype).dtype)
        return add_reduce(nonzero, (axis,), keepdims)
    if ord == 1:
        return add_reduce(np.abs(x), (axis,), keepdims)
    if ord is None or ord == 2:
        return np.sqrt(add_reduce(squared(x), (axis,), keepdims))
    if isinstance(ord, str):
        raise norm_error(f"Invalid norm order '{ord}' for vectors")
    absx = np.abs(x)
    ret = add_reduce(astype(absx ** strong(ord), absx.dtype), (axis,), keepdims)
    return astype(ret ** strong(np.reciprocal(ord, dtype=ret.dtype)), ret.dtype)


def matrix_norm(x: Tracer, ord: Any, axis: tuple[int, int], keepdims: bool) -> Tracer:
    """Norms of the matrices in the (row, col) axes, NumPy's branch for each order."""
    row, col = axis
    if row == col:
        raise norm_error("Duplicate axes given.")
    if ord == 2 or ord == -2 or ord == "nuc":
        ret = svd_norm(x, row, col, ord)
    elif ord == 1 or ord == -1:
        sums = add_reduce(np.abs(x), (row,))
        col = col - 1 if col > row else col
        ret = max_from_zero(sums, col) if ord == 1 else min_(sums, col)
    elif ord == np.inf or ord == -np.inf:
        sums = add_reduce(np.abs(x), (col,))
        row = row - 1 if row > col else row
        ret = max_from_zero(sums, row) if ord == np.inf else min_(sums, row)
    elif ord in (None, "fro", "f"):
        ret = np.sqrt(add_reduce(squared(x), axis))
    else:
        raise norm_error("Invalid norm order for matrices.")
    if keepdims:
        shape = tuple(1 if k in axis else d for k, d in enumerate(x.shape))
        ret = reshape(ret, shape, "array")
    return ret


def svd_norm(x: Tracer, row: int, col: int, ord: Any) -> Tracer:
    """max (ord 2), min (ord -2) or sum ('nuc') of the singular values."""
    rest = [k for k in range(x.ndim) if k not in (row, col)]
    sv = bind("svdvals", [transpose(x, rest + [row, col])])
    if ord == 2:
        return max_from_zero(sv, sv.ndim - 1)
    if ord == -2:
        return min_(sv, sv.ndim - 1)
    return add_reduce(sv, (sv.ndim - 1,))


# --- np.linalg --------------------------------------------------------------------


def row_handler(fn: Any) -> Any:
    """A handler that binds the row named like `fn` to its array arguments."""
    signature = inspect.signature(fn)

    def handler(*args: Any, **kwargs: Any) -> Tracer:
        arrays = signature.bind(*args, **kwargs).arguments.values()
        return bind(fn.__name__, [asarray(a) for a in arrays])

    return handler


for _fn in (np.linalg.solve, np.linalg.inv, np.linalg.det, np.linalg.svdvals):
    implements(_fn)(row_handler(_fn))


@implements(np.linalg.slogdet)
def slogdet(a: Any) -> Any:
    """(sign, log|det|), as NumPy's SlogdetResult namedtuple."""
    sign, logabsdet = bind("slogdet", [asarray(a)])
    return SlogdetResult(sign, logabsdet)


@implements(np.linalg.svd)
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """(u, s, vh) as NumPy's SVDResult namedtuple; with compute_uv=False, s alone (the
    `svdvals` row). Rejected: hermitian=True (NumPy then takes an eigendecomposition,
    whose signs and rounding differ)."""
    if hermitian:
        raise errors.UnsupportedFunctionError(
            "np.linalg.svd(..., hermitian=True)", "the eigendecomposition route of "
            "hermitian=True is not supported in jitted code", "drop hermitian=True: the "
            "general SVD gives the same factorization up to signs and rounding",
            user_source())
    a = asarray(a)
    if not compute_uv:
        return bind("svdvals", [a])
    u, s, vh = bind("svd", [a], {"full_matrices": bool(full_matrices)})
    return SVDResult(u, s, vh)


@implements(np.linalg.cholesky)
def cholesky(a: Any, /, *, upper: bool = False) -> Tracer:
    """The lower factor L (a = L @ L^H) from a's lower triangle, or with upper=True the
    upper factor U (a = U^H @ U) from a's upper triangle: U = chol(a^H)^H."""
    a = asarray(a)
    if not upper:
        return bind("cholesky", [a])

    def adjoint(x: Tracer) -> Tracer:
        axes = list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2]
        x = transpose(x, axes)
        return np.conjugate(x) if x.dtype.kind == "c" else x

    return adjoint(bind("cholesky", [adjoint(a)]))
