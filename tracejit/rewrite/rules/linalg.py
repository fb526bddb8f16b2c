"""Matrix products: scalars hoisted out, chains reassociated by cost.

Transposed operands are not rewritten here: the backends pass them to BLAS as
transpose flags (see the Numba backend's BLAS calls).
"""

from __future__ import annotations

from tracejit.graph.ir import Eqn, Var
from tracejit.rewrite.build import op, uses_of
from tracejit.rewrite.engine import P, RuleSet


def flops(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Multiply-adds of a 2-d/1-d matmul (a vector operand counts as one column)."""
    m = a[0] if len(a) == 2 else 1
    n = b[1] if len(b) == 2 else 1
    return m * a[-1] * n


def chain_shapes(*vs: Var) -> bool:
    return all(v.ndim in (1, 2) for v in vs)


def product_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return a[:-1] + b[1:]


def hoist_scalar(a: Var, c: Var, b: Var, side: str) -> Var | None:
    """(c*A) @ B -> c * (A @ B), when the product is smaller than A (fewer multiplies).
    c must be a 0-d value of A's dtype (no broadcasting, no promotion)."""
    if a.ndim == 0:
        a, c = c, a
    if c.ndim != 0 or c.dtype != a.dtype or a.dtype.kind not in "fc":
        return None
    product = op.matmul(a, b) if side == "left" else op.matmul(b, a)
    return op.multiply(product, c) if product.size < a.size else None


def cheaper(first: tuple, second: tuple) -> bool:
    """Whether the chain ordered as `first` costs fewer multiply-adds than `second`
    (each a pair of matmul operand-shape pairs)."""
    return sum(flops(*pair) for pair in first) < sum(flops(*pair) for pair in second)


def reassociate(a: Var, b: Var, c: Var, inner: Eqn, to: str) -> Var | None:
    """(A @ B) @ C <-> A @ (B @ C), whichever needs fewer multiply-adds. Only where the
    inner product is read once: otherwise both products would be computed."""
    if not chain_shapes(a, b, c) or b.ndim != 2 or uses_of(inner.outputs[0]) > 1:
        return None
    ab, bc = product_shape(a.shape, b.shape), product_shape(b.shape, c.shape)
    right = ((b.shape, c.shape), (a.shape, bc))
    left = ((a.shape, b.shape), (ab, c.shape))
    if to == "right" and cheaper(right, left):
        return op.matmul(a, op.matmul(b, c))
    if to == "left" and cheaper(left, right):
        return op.matmul(op.matmul(a, b), c)
    return None


MATMUL = RuleSet("specialize", [
    ("(c*A) @ B -> c * (A @ B)", P("matmul", P("multiply", "a", "c"), "b"),
     lambda a, c, b: hoist_scalar(a, c, b, "left")),
    ("A @ (c*B) -> c * (A @ B)", P("matmul", "b", P("multiply", "a", "c")),
     lambda a, c, b: hoist_scalar(a, c, b, "right")),
    ("(A @ B) @ C -> A @ (B @ C)", P("matmul", P("matmul", "a", "b", eqn="inner"), "c"),
     lambda a, b, c, inner: reassociate(a, b, c, inner, "right")),
    ("A @ (B @ C) -> (A @ B) @ C", P("matmul", "a", P("matmul", "b", "c", eqn="inner")),
     lambda a, b, c, inner: reassociate(a, b, c, inner, "left")),
])
