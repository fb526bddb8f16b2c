"""BLAS for the Numba backend: gemm and gemv of the OpenBLAS that NumPy itself loaded.

Numba's own `np.dot` calls BLAS through SciPy (`scipy.linalg.cython_blas`), so without
SciPy it cannot compile, and with SciPy a process runs two OpenBLAS thread pools (NumPy's
and SciPy's). Instead, the generated code calls the library NumPy already loaded
(NumPy 2 wheels: `numpy.libs/libscipy_openblas64_*.so`, symbols `scipy_cblas_sgemm64_`,
...): one library, one thread pool shared with NumPy's own matmuls, no SciPy needed.

How: the library is opened with `RTLD_NOLOAD` (only if it is already loaded: the very
instance NumPy uses, never a second copy); the addresses of its CBLAS functions are
registered with LLVM under our own names (`tracejit_cblas_sgemm`, ...), and the
generated code declares those as external functions (`types.ExternalFunction`). The
machine code refers to the names, not to addresses, so Numba's disk cache keeps it:
a new process imports this module (registering the names again) before loading it.

Operands are passed by their strides: a row-major matrix as it is, a column-major one
(the transpose of a contiguous array: `x.T`) as its transpose with BLAS's trans flag,
anything else (negative, zero or non-unit inner strides) as a contiguous copy.

If no OpenBLAS with known symbol names is loaded (NumPy built on MKL, Accelerate, ...),
`LIBRARY` is None and the backend calls Numba's `np.dot` or object mode instead.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
from dataclasses import dataclass

import numpy as np
from llvmlite import binding as llvm
from numba import njit, types
from numba.core.extending import overload

from tracejit.emit.numba.runtime import copy_into

log = logging.getLogger("tracejit")

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
#: symbol naming schemes: (prefix, suffix, integer bits; 0: ask openblas_get_config)
SCHEMES = (("scipy_", "64_", 64), ("scipy_", "", 32), ("", "64_", 64), ("", "", 0))
KINDS = "sdcz"  # float32, float64, complex64, complex128
DTYPES = {"s": np.float32, "d": np.float64, "c": np.complex64, "z": np.complex128}


@dataclass(frozen=True)
class Library:
    path: str
    prefix: str
    suffix: str
    int_bits: int

    def symbol(self, name: str) -> str:
        return f"{self.prefix}{name}{self.suffix}"

    def describe(self) -> str:
        return f"{os.path.basename(self.path)} {self.symbol('cblas_dgemm')} ilp{self.int_bits}"


def loaded_paths() -> list[str]:
    """Loaded libraries that may be NumPy's OpenBLAS: NumPy's bundled ones first."""
    root = os.path.dirname(np.__file__)
    paths = []
    for where in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")):
        paths += sorted(glob.glob(os.path.join(where, "*openblas*")))
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths += [line.split()[-1] for line in maps if "openblas" in line.split()[-1]]
    except OSError:
        pass
    return [os.path.realpath(p) for p in dict.fromkeys(paths)]


def open_loaded(path: str) -> ctypes.CDLL | None:
    """The library at `path` if this process has loaded it already, else None."""
    try:
        return ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 4) | os.RTLD_LOCAL)
    except OSError:
        return None


def find() -> tuple[Library, ctypes.CDLL] | None:
    for path in loaded_paths():
        lib = open_loaded(path)
        if lib is None:
            continue
        for prefix, suffix, bits in SCHEMES:
            if all(hasattr(lib, f"{prefix}cblas_{k}{f}{suffix}") for k in KINDS
                   for f in ("gemm", "gemv")):
                bits = bits or config_bits(lib, prefix, suffix)
                if bits:
                    return Library(path, prefix, suffix, bits), lib
    return None


def config_bits(lib: ctypes.CDLL, prefix: str, suffix: str) -> int:
    """Integer width of an OpenBLAS without a naming scheme that says it (0: unknown)."""
    get = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
    if get is None:
        return 0
    get.restype = ctypes.c_char_p
    return 64 if b"USE64BITINT" in (get() or b"") else 32


def register() -> tuple[Library | None, ctypes.CDLL | None]:
    """Find NumPy's OpenBLAS and register its functions with LLVM under our names."""
    try:
        found = find()
        if found is None:
            log.info("tracejit: no OpenBLAS loaded by NumPy; matmul uses np.dot or object mode")
            return None, None
        library, lib = found
        for k in KINDS:
            for f in ("gemm", "gemv"):
                address = ctypes.cast(getattr(lib, library.symbol(f"cblas_{k}{f}")),
                                      ctypes.c_void_p).value
                llvm.add_symbol(f"tracejit_cblas_{k}{f}", address)
        return library, lib
    except Exception as exc:  # noqa: BLE001 - never fatal: the other paths still work
        log.info("tracejit: could not bind NumPy's OpenBLAS (%s)", exc)
        return None, None


LIBRARY, _LIB = register()
INT = types.int64 if LIBRARY is None or LIBRARY.int_bits == 64 else types.int32
INT_MAX = np.iinfo(np.int64 if INT is types.int64 else np.int32).max


def available() -> bool:
    return LIBRARY is not None


def describe() -> str:
    """Which library the generated code calls (part of the cache fingerprint)."""
    return LIBRARY.describe() if LIBRARY else "none"


def num_threads() -> int | None:
    """NumPy's OpenBLAS thread count (None without the library or the function)."""
    get = getattr(_LIB, LIBRARY.symbol("openblas_get_num_threads"), None) if LIBRARY else None
    return None if get is None else int(get())


def threaded() -> bool:
    """Whether BLAS calls may start worker threads (unknown: assume they may)."""
    n = num_threads()
    return n is None or n > 1


# --- the external functions -----------------------------------------------------------


def externals(k: str) -> tuple[types.ExternalFunction, types.ExternalFunction]:
    """cblas_?gemm and cblas_?gemv; real types take alpha and beta by value, complex
    ones by pointer."""
    i32, ptr = types.int32, types.voidptr
    scalar = ptr if k in "cz" else types.float32 if k == "s" else types.float64
    gemm = types.void(i32, i32, i32, INT, INT, INT, scalar, ptr, INT, ptr, INT, scalar, ptr, INT)
    gemv = types.void(i32, i32, INT, INT, scalar, ptr, INT, ptr, INT, scalar, ptr, INT)
    return (types.ExternalFunction(f"tracejit_cblas_{k}gemm", gemm),
            types.ExternalFunction(f"tracejit_cblas_{k}gemv", gemv))


EXTERNALS = {np.dtype(DTYPES[k]): externals(k) for k in KINDS}


def xgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
    """c = op(a) @ op(b), row-major; nopython only."""
    raise NotImplementedError("called from compiled code only")


def xgemv(t, m, n, a, lda, x, incx, y, incy):
    """y = op(a) @ x, a stored m x n row-major; nopython only."""
    raise NotImplementedError("called from compiled code only")


@overload(xgemm)
def xgemm_overload(ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
    dtype = np.dtype(a.dtype.name)
    gemm, scalar = EXTERNALS[dtype][0], dtype.type
    if dtype.kind == "c":  # alpha and beta by pointer
        def impl(ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
            alpha, beta = np.ones(1, scalar), np.zeros(1, scalar)
            gemm(ROW_MAJOR, ta, tb, m, n, k, alpha.ctypes, a.ctypes, lda, b.ctypes, ldb,
                 beta.ctypes, c.ctypes, ldc)
        return impl
    one, zero = scalar(1), scalar(0)

    def impl(ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
        gemm(ROW_MAJOR, ta, tb, m, n, k, one, a.ctypes, lda, b.ctypes, ldb, zero, c.ctypes, ldc)
    return impl


@overload(xgemv)
def xgemv_overload(t, m, n, a, lda, x, incx, y, incy):
    dtype = np.dtype(a.dtype.name)
    gemv, scalar = EXTERNALS[dtype][1], dtype.type
    if dtype.kind == "c":
        def impl(t, m, n, a, lda, x, incx, y, incy):
            alpha, beta = np.ones(1, scalar), np.zeros(1, scalar)
            gemv(ROW_MAJOR, t, m, n, alpha.ctypes, a.ctypes, lda, x.ctypes, incx,
                 beta.ctypes, y.ctypes, incy)
        return impl
    one, zero = scalar(1), scalar(0)

    def impl(t, m, n, a, lda, x, incx, y, incy):
        gemv(ROW_MAJOR, t, m, n, one, a.ctypes, lda, x.ctypes, incx, zero, y.ctypes, incy)
    return impl


# --- operands and products (nopython) ------------------------------------------------


@njit
def layout(rows, cols, s_row, s_col):
    """(trans, ld) passing a rows x cols matrix with element strides (s_row, s_col) to
    BLAS as op(P), P row-major with leading dimension ld; trans -1: BLAS cannot take it
    (a size-1 axis may have any stride)."""
    if (s_col == 1 or cols == 1) and (rows == 1 or s_row >= max(1, cols)):
        return NO_TRANS, s_row if rows > 1 else max(1, cols)
    if (s_row == 1 or rows == 1) and (cols == 1 or s_col >= max(1, rows)):
        return TRANS, s_col if cols > 1 else max(1, rows)
    return -1, 0


@njit
def matrix(a):
    """(a or a contiguous copy, trans, ld): `a` as BLAS takes it."""
    rows, cols = a.shape
    t, ld = layout(rows, cols, a.strides[0] // a.itemsize, a.strides[1] // a.itemsize)
    if t < 0:
        return np.ascontiguousarray(a), NO_TRANS, max(1, cols)
    return a, t, ld


@njit
def vector(x):
    """(x or a contiguous copy, increment)."""
    inc = x.strides[0] // x.itemsize
    if x.shape[0] <= 1:
        return x, 1
    if inc < 1:
        return np.ascontiguousarray(x), 1
    return x, inc


@njit
def check_size(*sizes):
    for n in sizes:
        if n > INT_MAX:
            raise OverflowError("matmul: a dimension exceeds the BLAS library's integers")


@njit
def gemm(a, b, out):
    """out[...] = a @ b for 2-D a (m x k), b (k x n) into `out` (m x n; written
    through a contiguous temporary where BLAS cannot write it: not row-major)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        out[...] = 0
        return
    aa, ta, lda = matrix(a)
    bb, tb, ldb = matrix(b)
    to, ldc = layout(m, n, out.strides[0] // out.itemsize, out.strides[1] // out.itemsize)
    check_size(m, n, k, lda, ldb, ldc)
    if to == NO_TRANS:
        xgemm(ta, tb, m, n, k, aa, lda, bb, ldb, out, ldc)
    else:
        c = np.empty((m, n), out.dtype)
        xgemm(ta, tb, m, n, k, aa, lda, bb, ldb, c, max(1, n))
        copy_into(out, c)


@njit
def gemv(a, x, out, flip):
    """out[...] = a @ x (a.T @ x when `flip`) for 2-D a, 1-D x, 1-D `out`."""
    rows, cols = a.shape
    if out.shape[0] == 0:
        return
    if (rows if flip else cols) == 0:
        out[...] = 0
        return
    aa, t, lda = matrix(a)
    xx, incx = vector(x)
    y, incy = vector(out)
    check_size(rows, cols, lda, incx, incy)
    if t == NO_TRANS:  # P = a, rows x cols
        xgemv(TRANS if flip else NO_TRANS, rows, cols, aa, lda, xx, incx, y, incy)
    else:  # P = a.T, cols x rows
        xgemv(NO_TRANS if flip else TRANS, cols, rows, aa, lda, xx, incx, y, incy)
    if y.ctypes.data != out.ctypes.data:  # written into a contiguous copy
        copy_into(out, y)


@njit
def dot(x, y):
    """x @ y for 1-D x and y (a scalar): x as a one-row matrix."""
    out = np.zeros(1, x.dtype)
    if x.shape[0] == 0:
        return out[0]
    xx = np.ascontiguousarray(x)
    yy, incy = vector(y)
    check_size(x.shape[0], incy)
    xgemv(NO_TRANS, 1, xx.shape[0], xx, xx.shape[0], yy, incy, out, 1)
    return out[0]
