"""Derivatives of matmul, einsum and the linear-algebra ops.

Stacks of matrices are handled by the same formulas on the last two axes; cotangents of
broadcast batch axes are summed back by the transform. The Cholesky rule differentiates
what NumPy computes: a function of the lower triangle only.
"""

from __future__ import annotations

import string

import numpy as np

from tracejit.autodiff.build import broadcast_to, reshape, sum_to, swap_last
from tracejit.autodiff.rules import NO_RULE, defvjp
from tracejit.graph.linalg import parse_einsum
from tracejit.graph.ops import broadcast_shapes
from tracejit.trace.tracer import bind, constant


def as_matrices(a, b):
    """1-d operands of matmul as a row (left) or a column (right)."""
    a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    return a2, b2


def matmul_vjp(ct, ans, a, b):
    a2, b2 = as_matrices(a, b)
    out_shape = broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
    ct2 = reshape(ct, out_shape)
    return [reshape_back(ct2 @ swap_last(b2), a2.shape, a.shape),
            reshape_back(swap_last(a2) @ ct2, b2.shape, b.shape)]


def reshape_back(g, shape2, shape):
    """Sum a matmul cotangent over broadcast batch axes, then drop an added unit axis."""
    return reshape(sum_to(g, shape2), shape)


def matmul_jvp(ts, ans, a, b):
    terms = []
    if ts[0] is not None:
        terms.append(ts[0] @ b)
    if ts[1] is not None:
        terms.append(a @ ts[1])
    return sum(terms[1:], terms[0])


def einsum_vjp(ct, ans, *xs, subscripts):
    """For operand k: contract the cotangent with the other operands onto k's letters;
    letters only k has (summed away in the forward pass) come back by broadcasting, and
    a repeated letter (a diagonal) comes back on the diagonal, through an identity."""
    terms, out = parse_einsum(subscripts, [x.ndim for x in xs])
    grads = []
    for k, (term, x) in enumerate(zip(terms, xs, strict=True)):
        others = [(t, y) for j, (t, y) in enumerate(zip(terms, xs, strict=True)) if j != k]
        present = set(out).union(*(set(t) for t, _ in others))
        unique = "".join(dict.fromkeys(term))
        keep = "".join(c for c in unique if c in present)
        spec = ",".join([out] + [t for t, _ in others]) + "->" + keep
        g = bind("einsum", [ct] + [y for _, y in others], {"subscripts": spec})
        g = reshape(g, tuple(g.shape[keep.index(c)] if c in keep else 1 for c in unique))
        grads.append(on_diagonals(g, unique, term, x.shape) if unique != term else g)
    return grads


def on_diagonals(g, unique: str, term: str, shape: tuple[int, ...]):
    """g over `unique` letters, spread to `term` (which repeats some): zero off the
    diagonals. Repeats get fresh letters tied to the first by identity matrices."""
    fresh = iter(c for c in string.ascii_letters if c not in term)
    letters, eyes, seen = [], [], set()
    for c, n in zip(term, shape, strict=True):
        if c in seen:
            d = next(fresh)
            eyes.append((c + d, constant(np.eye(n, dtype=g.dtype))))
            letters.append(d)
        else:
            seen.add(c)
            letters.append(c)
    g = broadcast_to(g, tuple(shape[term.index(c)] for c in unique))
    spec = ",".join([unique] + [s for s, _ in eyes]) + "->" + "".join(letters)
    return bind("einsum", [g] + [e for _, e in eyes], {"subscripts": spec})


def einsum_jvp(ts, ans, *xs, subscripts):
    terms = []
    for k, t in enumerate(ts):
        if t is not None:
            args = list(xs)
            args[k] = t
            terms.append(bind("einsum", args, {"subscripts": subscripts}))
    return sum(terms[1:], terms[0])


def solve_vjp(ct, ans, a, b):
    # x = a⁻¹ b:  b̄ = a⁻ᵀ x̄,  ā = -b̄ xᵀ
    g_b = np.linalg.solve(swap_last(a), ct)
    if b.ndim == 1:
        g_a = -(g_b[..., :, None] * ans[..., None, :])
    else:
        g_a = -(g_b @ swap_last(ans))
    return [g_a, g_b]


def inv_vjp(ct, ans, a):
    inv_t = swap_last(ans)
    return [-(inv_t @ ct @ inv_t)]  # d(a⁻¹) = -a⁻¹ da a⁻¹


def det_vjp(ct, ans, a):
    return [(ct * ans)[..., None, None] * swap_last(np.linalg.inv(a))]  # Jacobi's formula


def slogdet_vjp(cts, ans, a):
    return [cts[1][..., None, None] * swap_last(np.linalg.inv(a))]  # the sign is flat


def cholesky_vjp(ct, ans, a):
    """L = chol(tril(a) mirrored). With S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ (Φ: the lower triangle with
    the diagonal halved), ā = tril(S) + tril(Sᵀ, -1): NumPy reads only the lower
    triangle, so the upper one gets nothing."""
    n = a.shape[-1]
    lower = constant(np.tril(np.ones((n, n)), -1).astype(a.dtype))
    diag = constant(np.eye(n, dtype=a.dtype))
    phi = (swap_last(ans) @ ct) * (lower + 0.5 * diag)
    inv_l = np.linalg.inv(ans)
    s = swap_last(inv_l) @ phi @ inv_l
    return [s * (lower + diag) + swap_last(s) * lower]


defvjp("matmul", matmul_vjp, matmul_jvp)
defvjp("einsum", einsum_vjp, einsum_jvp)
defvjp("solve", solve_vjp)
defvjp("inv", inv_vjp)
defvjp("det", det_vjp)
defvjp("slogdet", slogdet_vjp)
defvjp("cholesky", cholesky_vjp)
NO_RULE["svdvals"] = ("the derivative of singular values needs the singular vectors, "
                      "which the op does not compute")
