"""Products and linear algebra: matmul, einsum, and the LAPACK-backed `np.linalg` ops.

dot, vdot, inner, outer and tensordot are traced into matmul (plus reshapes and
transposes); `np.linalg.norm` into reductions, with `svdvals` for the spectral norms.
`svd` (u, s, vh) backs `np.linalg.svd` and the derivatives of `svdvals` and `det`.
"""

from __future__ import annotations

import string

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, broadcast_shapes, probe_dtypes, register


def matmul_infer(a: Aval, b: Aval) -> list[Aval]:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: input operand does not have enough dimensions "
                         f"(shapes {a.shape} and {b.shape}); use * for scalars")
    a_shape = (1,) + a.shape if a.ndim == 1 else a.shape
    b_shape = b.shape + (1,) if b.ndim == 1 else b.shape
    if a_shape[-1] != b_shape[-2]:
        raise ValueError(f"matmul: mismatch in its core dimension: shapes {a.shape} and "
                         f"{b.shape}, {a_shape[-1]} (dim {a.ndim - 1}) != "
                         f"{b_shape[-2]} (dim {max(b.ndim - 2, 0)})")
    batch = broadcast_shapes(a_shape[:-2], b_shape[:-2])
    core = (() if a.ndim == 1 else (a_shape[-2],)) + (() if b.ndim == 1 else (b_shape[-1],))
    dtype = np.matmul.resolve_dtypes((a.dtype, b.dtype, None))[-1]
    return [Aval(batch + core, dtype)]


matmul = register(Op("matmul", np.matmul, matmul_infer, "linalg", numpy_fn=np.matmul))


def parse_einsum(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Split explicit or implicit subscripts into (input terms, output term), with any
    ellipsis expanded to capital letters."""
    subscripts = subscripts.replace(" ", "")
    lhs, arrow, rhs = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {len(terms)} subscript terms for {len(ndims)} operands")
    n_ell = max([nd - len(t.replace("...", ""))
                 for t, nd in zip(terms, ndims, strict=True) if "..." in t], default=0)
    unused = [c for c in string.ascii_letters if c not in subscripts]
    ell = "".join(unused[:n_ell])
    expanded = []
    for term, nd in zip(terms, ndims, strict=True):
        if "..." in term:
            k = nd - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        if len(term) != nd:
            raise ValueError(f"einsum: term {term!r} has {len(term)} letters for a {nd}-d operand")
        expanded.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = "".join(expanded)
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        out = ell + "".join(once)
    return expanded, out


def einsum_impl(*xs: np.ndarray, subscripts: str) -> np.ndarray:
    return np.asarray(np.einsum(subscripts, *xs))


def einsum_infer(*xs: Aval, subscripts: str) -> list[Aval]:
    terms, out = parse_einsum(subscripts, [x.ndim for x in xs])
    sizes: dict[str, int] = {}
    for term, x in zip(terms, xs, strict=True):
        for c, d in zip(term, x.shape, strict=True):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = d
            elif d not in (1, prev):
                raise ValueError(f"einsum: operands could not be broadcast: size {d} and "
                                 f"{prev} for subscript {c!r} in {subscripts!r}")
    dtype = np.result_type(*(x.dtype for x in xs))
    return [Aval(tuple(sizes[c] for c in out), dtype)]


einsum = register(Op("einsum", einsum_impl, einsum_infer, "linalg", numpy_fn=np.einsum))


def square_batch(name: str, a: Aval) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError(
            f"np.linalg.{name}: last 2 dimensions of the array must be square, got {a.shape}")


def linalg_dtype(fn, *avals: Aval) -> tuple[np.dtype, ...]:
    eye = [np.broadcast_to(np.eye(2, dtype=a.dtype), (2, 2)) for a in avals]
    out = fn(*eye)
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(np.asarray(o).dtype for o in outs)


def solve_infer(a: Aval, b: Aval) -> list[Aval]:
    square_batch("solve", a)
    n = a.shape[-1]
    if b.ndim == 1:
        if b.shape[0] != n:
            raise ValueError(f"np.linalg.solve: b has {b.shape[0]} rows, a is {n}x{n}")
        shape = a.shape[:-1]
    else:
        if b.shape[-2] != n:
            raise ValueError(f"np.linalg.solve: b of shape {b.shape} does not match a {a.shape}")
        shape = broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    (dtype,) = probe_dtypes(np.linalg.solve, (a.dtype, b.dtype), (2, 1))
    return [Aval(shape, dtype)]


def square_row(name: str, fn, shape_of, nout: int = 1) -> Op:
    def infer(a: Aval) -> list[Aval]:
        square_batch(name, a)
        dtypes = linalg_dtype(fn, a)
        return [Aval(shape_of(a.shape), dt) for dt in dtypes]

    return register(Op(name, fn, infer, "linalg", nout=nout, numpy_fn=fn))


def svdvals_impl(a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a, compute_uv=False)


def svdvals_infer(a: Aval) -> list[Aval]:
    if a.ndim < 2:
        raise np.linalg.LinAlgError(f"svd needs an array of at least 2 dimensions, got {a.shape}")
    (dtype,) = linalg_dtype(svdvals_impl, a)
    return [Aval(a.shape[:-2] + (min(a.shape[-2:]),), dtype)]


def svd_impl(a: np.ndarray, *, full_matrices: bool) -> tuple[np.ndarray, ...]:
    return tuple(np.linalg.svd(a, full_matrices=full_matrices))


def svd_infer(a: Aval, *, full_matrices: bool) -> list[Aval]:
    """u (m, m or k), s (k,), vh (n or k, n) for k = min(m, n), over the batch axes."""
    if a.ndim < 2:
        raise np.linalg.LinAlgError(f"svd needs an array of at least 2 dimensions, got {a.shape}")
    m, n = a.shape[-2:]
    k = min(m, n)
    dtypes = linalg_dtype(lambda x: svd_impl(x, full_matrices=full_matrices), a)
    shapes = [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]
    return [Aval(a.shape[:-2] + shape, dt) for shape, dt in zip(shapes, dtypes, strict=True)]


solve = register(Op("solve", np.linalg.solve, solve_infer, "linalg", numpy_fn=np.linalg.solve))
inv = square_row("inv", np.linalg.inv, lambda s: s)
det = square_row("det", np.linalg.det, lambda s: s[:-2])
slogdet = square_row("slogdet", lambda a: tuple(np.linalg.slogdet(a)), lambda s: s[:-2], nout=2)
cholesky = square_row("cholesky", np.linalg.cholesky, lambda s: s)
svdvals = register(Op("svdvals", svdvals_impl, svdvals_infer, "linalg"))
svd = register(Op("svd", svd_impl, svd_infer, "linalg", nout=3))
