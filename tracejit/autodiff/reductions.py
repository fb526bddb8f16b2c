"""Derivatives of reductions and cumulative ops.

Gradients of max/min split evenly between tied elements (as JAX's), and so do those of
the running max/min (`np.maximum.accumulate`), prefix by prefix; the gradient of prod
and cumprod is exact when elements are zero (no division by the product).
"""

from __future__ import annotations

import numpy as np

from tracejit import errors
from tracejit.autodiff.build import (
    broadcast_to,
    expand_reduced,
    flip,
    full,
    reshape,
    slice_axis,
    sum_axes,
    take_along,
    transpose,
    zeros_like,
)
from tracejit.autodiff.rules import defvjp, linear_jvp, nondiff
from tracejit.graph.ir import Aval
from tracejit.trace.source import user_source
from tracejit.trace.tracer import astype, bind, constant


def sum_vjp(ct, ans, x, *, axes, keepdims, dtype=None):
    return [broadcast_to(expand_reduced(ct, x.shape, axes, keepdims), x.shape)]


def chooser_vjp(ct, ans, x, *, axes, keepdims, dtype=None):
    """max/min: the cotangent goes to the elements equal to the result, shared evenly."""
    hit = (x == expand_reduced(ans, x.shape, axes, keepdims)).astype(x.dtype)
    count = sum_axes(hit, axes, keepdims=True)
    return [hit * (expand_reduced(ct, x.shape, axes, keepdims) / count)]


def prod_vjp(ct, ans, x, *, axes, keepdims, dtype=None):
    """∂prod/∂x_j = the product of the others: exclusive products from both ends along
    the reduced axes (moved last and flattened), so zeros need no special case."""
    if x.size == 0:
        return [zeros_like(x)]
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(kept) + tuple(axes)
    moved = transpose(x, perm)
    lead = moved.shape[: len(kept)]
    flat = reshape(moved, lead + (int(np.prod([x.shape[a] for a in axes], dtype=np.int64)),))
    last = flat.ndim - 1
    others = exclusive_cumprod(flat) * flip(exclusive_cumprod(flip(flat, last)), last)
    grad = reshape(reshape(ct, lead + (1,)) * others, moved.shape)
    return [transpose(grad, tuple(int(i) for i in np.argsort(perm)))]


def exclusive_cumprod(x):
    """Along the last axis: [1, x0, x0*x1, ...] (one shorter product per position)."""
    shifted = bind("concatenate", [np.ones_like(x[..., :1]), x[..., :-1]],
                   {"axis": x.ndim - 1})
    return np.cumprod(shifted, axis=-1)


def reverse_cumsum(x, axis):
    return flip(np.cumsum(flip(x, axis), axis=axis), axis)


def cumsum_vjp(ct, ans, x, *, axis, dtype=None):
    return [reverse_cumsum(ct, axis)]


def cumprod_vjp(ct, ans, x, *, axis, dtype=None):
    """y_i = Π_{k<=i} x_k. Before the first zero of a lane, ∂L/∂x_j = Σ_{i>=j} ct_i y_i /
    x_j; at the first zero z, Σ_{i>=z} ct_i y'_i with y' the products skipping x_z; after
    it, zero (every product includes x_z)."""
    zero = x == 0
    zeros_seen = np.cumsum(zero, axis=axis)
    first = zero & (zeros_seen == 1)
    before = zeros_seen == 0
    one = np.ones_like(x)
    skipped = np.cumprod(np.where(first, one, x), axis=axis)
    g_before = reverse_cumsum(ct * ans, axis) / np.where(before, x, one)
    g_first = reverse_cumsum(ct * skipped, axis)
    return [np.where(before, g_before, np.where(first, g_first, zeros_like(g_first)))]


def chooser_accumulate_vjp(ct, ans, x, *, axis, dtype=None):
    """y_i = max(x_0..x_i) (min alike): as the max rule says for each prefix, ȳ_i goes to
    the x_j (j <= i) equal to y_i, in equal shares. Those lie in y_i's plateau, the run
    where y keeps its value, which starts at the element that set it: the plateau's
    `hits` (x_j == y_j) up to i share ȳ_i, so hit j gets the sum of w_i = ȳ_i / count_i
    from j to the plateau's end, a difference of reverse cumulative sums (accumulated in
    float64). JAX's `lax.cummax` splits 2-way ties the same way but 3-way and wider ones
    by the shape of its parallel-scan tree (rows of its Jacobian still sum to 1, on the
    same elements). A NaN is a hit of its own: it takes its own cotangent."""
    axis %= x.ndim
    n = x.shape[axis]
    if x.size == 0:
        return [zeros_like(x)]
    x = astype(x, ans.dtype)
    hit = (x == ans) | (np.isnan(x) & np.isnan(ans))
    first = full(Aval(slice_axis(ans, axis, 0, 1).shape, np.dtype(bool)), True)
    changed = slice_axis(ans, axis, 1, n) != slice_axis(ans, axis, 0, n - 1)
    new = bind("concatenate", [first, changed], {"axis": axis})  # a plateau starts
    hits = np.cumsum(astype(hit, np.intp), axis=axis)
    before = np.maximum.accumulate(np.where(new, hits - astype(hit, np.intp), 0), axis=axis)
    count = hits - before  # hits so far in the plateau
    acc = np.promote_types(ct.dtype, np.float64)
    w = np.where(count > 0, astype(ct, acc) / astype(np.maximum(count, 1), acc), 0)
    from_here = reverse_cumsum(w, axis)
    line = tuple(n if i == axis else 1 for i in range(x.ndim))
    positions = constant(np.arange(n, dtype=np.intp).reshape(line))
    starts = flip(np.minimum.accumulate(flip(np.where(new, positions, n), axis), axis=axis),
                  axis)  # the first plateau start at or after each position
    end = full(Aval(first.shape, np.dtype(np.intp)), n)
    following = bind("concatenate", [slice_axis(starts, axis, 1, n), end], {"axis": axis})
    padded = bind("concatenate", [from_here, full(Aval(first.shape, acc), 0)], {"axis": axis})
    own = from_here - take_along(padded, following, axis)  # the sum to the plateau's end
    return [np.where(hit, astype(own, ct.dtype), 0)]


REDUCE_RULES = {"add": sum_vjp, "multiply": prod_vjp, "maximum": chooser_vjp,
                "minimum": chooser_vjp, "fmax": chooser_vjp, "fmin": chooser_vjp}
ACCUMULATE_RULES = {"add": cumsum_vjp, "multiply": cumprod_vjp,
                    "maximum": chooser_accumulate_vjp, "minimum": chooser_accumulate_vjp,
                    "fmax": chooser_accumulate_vjp, "fmin": chooser_accumulate_vjp}


def by_ufunc(table: dict, what: str):
    def vjp(ct, ans, x, *, ufunc, **params):
        rule = table.get(ufunc)
        if rule is None:
            raise errors.NotDifferentiableError(
                f"np.{ufunc}.{what}", f"no derivative rule for np.{ufunc}.{what}",
                f"differentiable forms: {', '.join(f'np.{u}.{what}' for u in table)}",
                user_source())
        return rule(ct, ans, x, **params)

    return vjp


defvjp("sum", sum_vjp, linear_jvp("sum", 0))
defvjp("max", chooser_vjp)
defvjp("min", chooser_vjp)
defvjp("prod", prod_vjp)
defvjp("reduce", by_ufunc(REDUCE_RULES, "reduce"))
defvjp("cumsum", cumsum_vjp, linear_jvp("cumsum", 0))
defvjp("cumprod", cumprod_vjp)
defvjp("accumulate", by_ufunc(ACCUMULATE_RULES, "accumulate"))
nondiff("any", "all", "argmax", "argmin")
