"""Derivatives of matmul, einsum and the linear-algebra ops.

Stacks of matrices are handled by the same formulas on the last two axes; cotangents of
broadcast batch axes are summed back by the transform. The Cholesky rule differentiates
what NumPy computes: a function of the lower triangle only.

Complex inputs follow JAX's convention: a rule is the plain (bilinear, unconjugated)
transpose of the derivative, so a conjugate appears only where the forward op takes one
(`svd`: s = diag(Uᴴ a V) is real-linear, hence the conj in its rules).
"""

from __future__ import annotations

import string

import numpy as np

from tracejit import errors
from tracejit.autodiff.build import broadcast_to, flip, reshape, sum_to, swap_last, zeros_like
from tracejit.autodiff.reductions import exclusive_cumprod
from tracejit.autodiff.rules import OPTIONAL_CTS, defvjp
from tracejit.graph.linalg import parse_einsum
from tracejit.graph.ops import broadcast_shapes
from tracejit.trace.source import user_source
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
    """∂det/∂a is the cofactor matrix cof(a) = adj(a)ᵀ. Where det(a) ≠ 0 it is det(a)·a⁻ᵀ
    (Jacobi's formula; accurate even when a is nearly singular, as the errors of a⁻¹ lie
    along the direction det(a) scales away). Where det(a) = 0 (LAPACK met a zero pivot)
    a⁻¹ does not exist but cof(a) does: with a = U diag(s) Vh,
    cof(a) = det(U) det(Vh) · conj(U diag(p) Vh), p_i = Π_{j≠i} s_j (exclusive products,
    no division), exact at rank n-1 (and 0 below). Both branches are computed, each on a
    safe input where the other is used (`a⁻¹` of the identity, the SVD of diag(1..n)), so
    the unused one has finite derivatives and grad of grad stays finite; the price is an
    SVD in every det gradient."""
    n = a.shape[-1]
    regular = (ans != 0)[..., None, None]
    eye = constant(np.eye(n, dtype=a.dtype))
    jacobi = ans[..., None, None] * swap_last(np.linalg.inv(np.where(regular, a, eye)))
    distinct = constant(np.diag(np.arange(1, n + 1)).astype(a.dtype))
    u, s, vh = bind("svd", [np.where(regular, distinct, a)], {"full_matrices": False})
    last = s.ndim - 1
    p = exclusive_cumprod(s) * flip(exclusive_cumprod(flip(s, last)), last)
    phase = np.linalg.det(u) * np.linalg.det(vh)  # ±1; a unit complex number
    if a.dtype.kind != "c":
        phase = np.sign(phase)  # exactly ±1, and locally constant
    adjugate_t = phase[..., None, None] * conj(u @ (p[..., :, None] * vh))
    return [ct[..., None, None] * np.where(regular, jacobi, adjugate_t)]


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


def conj(x):
    return np.conjugate(x) if x.dtype.kind == "c" else x


def adjoint(x):
    return conj(swap_last(x))


def svd_vjp(cts, ans, a, *, full_matrices):
    """The transpose of JAX's SVD derivative. With a = U diag(s) Vh (thin, k = min(m, n)),
    dP = Uᴴ da V, F_ij = 1/(s_j² - s_i²) (0 on the diagonal):
        ds = Re diag(dP)
        dU = U (F∘(dP S + (dP S)ᴴ) + D) [+ (I - U Uᴴ) da V S⁻¹ if m > n]
        dV = V (F∘(S dP + (S dP)ᴴ))     [+ (I - V Vᴴ) daᴴ U S⁻¹ if n > m]
    with D = ½(dP - dPᴴ)∘S⁻¹ on the diagonal (zero for real a: U's phase). So
        ā = conj(U) Ψ conj(Vh) [+ the projection terms],
        Ψ = diag(s̄) + (Φ + Φᴴ) S + S (Θ + Θᴴ) + ½(Σ - Σᴴ),
    Φ = F∘(Uᵀ Ū), Θ = F∘(Vᵀ V̄) with V̄ = adj(vh̄), Σ = S⁻¹∘(Uᵀ Ū) (complex only).
    F is infinite where two singular values are equal (U and V are not differentiable
    there); missing cotangents arrive as None (`OPTIONAL_CTS`), so a function of s alone
    never meets F. The full_matrices=True extra columns of a non-square a are arbitrary:
    no derivative."""
    ct_u, ct_s, ct_vh = cts
    u, s, vh = ans
    m, n = a.shape[-2:]
    k = min(m, n)
    if k == 0:  # no singular values; u or vh, if any, is a constant identity
        return [zeros_like(a)]
    vectors = ct_u is not None or ct_vh is not None
    if vectors and full_matrices and m != n:
        raise errors.NotDifferentiableError(
            "np.linalg.svd", f"the u and vh of a full_matrices=True SVD of a {m}x{n} matrix "
            "are not differentiable (their extra columns are arbitrary)",
            "pass full_matrices=False, or use only the singular values", user_source())
    eye = constant(np.eye(k, dtype=s.dtype))
    s_row, s_col = s[..., None, :], s[..., :, None]
    psi = [ct_s[..., None, :] * eye] if ct_s is not None else []
    extra = []  # the projection terms
    if vectors:
        f = 1 / ((s_row + s_col) * (s_row - s_col) + eye) - eye
    if ct_u is not None:
        ut_ct = swap_last(u) @ ct_u
        phi = f * ut_ct
        psi.append((phi + adjoint(phi)) * s_row)
        if a.dtype.kind == "c":
            zero = s == 0
            s_inv = 1 / (s + zero) - zero
            sigma = ut_ct * (eye * s_inv[..., None, :])
            psi.append(0.5 * (sigma - adjoint(sigma)))
        if m > n:
            w = ct_u / s_row
            extra.append((w - conj(u) @ (swap_last(u) @ w)) @ conj(vh))
    if ct_vh is not None:
        theta = f * (swap_last(adjoint(vh)) @ adjoint(ct_vh))
        psi.append(s_col * (theta + adjoint(theta)))
        if n > m:
            z = ct_vh / s_col
            extra.append(conj(u) @ (z - (z @ swap_last(vh)) @ conj(vh)))
    if full_matrices and m != n:  # only s̄: the thin factors carry it
        u, vh = u[..., :, :k], vh[..., :k, :]
    return [sum(extra, conj(u) @ sum(psi[1:], psi[0]) @ conj(vh))]


def svdvals_vjp(ct, ans, a):
    """ds_k = Re(u_kᴴ da v_k): ā = conj(U diag(s̄) Vh), from the thin SVD."""
    u, s, vh = bind("svd", [a], {"full_matrices": False})
    return svd_vjp((None, ct, None), (u, s, vh), a, full_matrices=False)


defvjp("matmul", matmul_vjp, matmul_jvp)
defvjp("einsum", einsum_vjp, einsum_jvp)
defvjp("solve", solve_vjp)
defvjp("inv", inv_vjp)
defvjp("det", det_vjp)
defvjp("slogdet", slogdet_vjp)
defvjp("cholesky", cholesky_vjp)
defvjp("svd", svd_vjp)
defvjp("svdvals", svdvals_vjp)
OPTIONAL_CTS.add("svd")
