"""Algebraic simplification: what people write, as they should have written it.

Every rule keeps NumPy's value at every input, edge values (inf, nan, 0, -0.0)
included, up to floating-point reassociation, except where its comment says otherwise.
"""

from __future__ import annotations

import numpy as np

from tracejit.graph.ir import Eqn, Var
from tracejit.rewrite.build import constant_of, op
from tracejit.rewrite.engine import P, RuleSet


def inexact(x: Var) -> bool:
    return x.dtype.kind in "fc"


def real_float(x: Var) -> bool:
    return x.dtype.kind == "f"


def zero_sign(eqn: Eqn, x: Var) -> bool | None:
    """Whether the zeros `eqn` combines with x are all -0.0 (True) or all +0.0 (False),
    parts of complex zeros included; None when they are mixed."""
    zero = constant_of(eqn.inputs[1] if eqn.inputs[0] is x else eqn.inputs[0])
    signs = np.signbit(np.stack([zero.real, zero.imag]) if zero.dtype.kind == "c" else zero)
    return True if signs.all() else False if not signs.any() else None


def add_zero(x: Var, eqn: Eqn) -> Var | None:
    # x + -0.0 is x; x + +0.0 is +0.0 at x = -0.0, not x
    return x if zero_sign(eqn, x) is True or not inexact(x) else None


def subtract_zero(x: Var, eqn: Eqn) -> Var | None:
    # x - +0.0 is x; x - -0.0 is x + +0.0, +0.0 at x = -0.0
    return x if zero_sign(eqn, x) is False or not inexact(x) else None


def exp_of_log(x: Var) -> Var | None:
    if x.dtype.kind == "c":
        return x
    if not real_float(x):
        return None
    # exp(log(x)) is nan for x < 0 (log's domain), x elsewhere, but +0 at x = -0
    # (log(-0) = -inf): |x| is x for x >= 0, and +0 there
    return op.where(op.greater_equal(x, 0), op.absolute(x), np.nan)


def sqrt_of_power(x: Var, eqn: Eqn) -> Var | None:
    # NumPy computes a power by a 0-d exponent of 0.5 as sqrt (-0 at -0, nan at -inf,
    # where C's pow gives +0 and +inf); by an array of 0.5s, it calls pow: not sqrt
    if not real_float(x) or eqn.inputs[1].ndim != 0:
        return None
    return op.sqrt(x)


def compose_transposes(x: Var, outer: object, inner: object) -> Var:
    first, second = inner.params["axes"], outer.params["axes"]
    axes = tuple(first[a] for a in second)
    return x if axes == tuple(range(x.ndim)) else op.transpose(x, axes=axes)


def compose_reshapes(x: Var, outer: object) -> Var:
    shape = outer.params["shape"]
    return x if tuple(shape) == x.shape else op.reshape(x, shape=shape)


def compose_slices(x: Var, outer: object, inner: object) -> Var:
    triples = []
    for (s1, e1, k1), (s2, e2, k2) in zip(inner.params["triples"], outer.params["triples"],
                                          strict=True):
        n = len(range(s2, e2, k2))
        start, step = range(s1, e1, k1)[s2] if n else 0, k1 * k2
        triples.append((start, start + n * step, step) if n else (0, 0, 1))
    return op.slice(x, triples=tuple(triples))


def reshaped(x: Var, shape: tuple[int, ...]) -> Var:
    return x if x.shape == tuple(shape) else op.reshape(x, shape=tuple(shape))


def sum_of_broadcast(x: Var, total: object, spread: object) -> Var | None:
    """sum(broadcast_to(x, shape), axes) -> x * n, when every summed axis is one the
    broadcast made (a new leading axis, or one where x has length 1)."""
    shape, axes = spread.params["shape"], total.params["axes"]
    lead = len(shape) - x.ndim
    made = {i for i in range(len(shape)) if i < lead or x.shape[i - lead] != shape[i]}
    count = int(np.prod([shape[a] for a in axes]))
    # a sum of no elements is 0, where x * 0 is nan for x = inf or nan
    if not axes or not set(axes) <= made or not inexact(x) or count == 0:
        return None
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    full = reshaped(x, (1,) * lead + x.shape)
    if full.shape != kept:
        full = op.broadcast_to(full, shape=kept)
    keepdims = total.params["keepdims"]
    out = tuple(d for i, d in enumerate(kept) if keepdims or i not in axes)
    return op.multiply(reshaped(full, out), count)


def where_constant(a: Var, b: Var, pick: str, eqn: object) -> Var:
    chosen = a if pick == "a" else b
    out = eqn.outputs[0].shape
    return chosen if chosen.shape == out else op.broadcast_to(chosen, shape=out)


def same(x: Var) -> Var:
    return x


SIMPLIFY = RuleSet("simplify", [
    ("x*1 -> x", P("multiply", "x", 1), same),
    ("x/1 -> x", P("divide", "x", 1), same),
    ("x+0 -> x", P("add", "x", 0, eqn="eqn"), add_zero),
    ("x-0 -> x", P("subtract", "x", 0, eqn="eqn"), subtract_zero),
    ("--x -> x", P("negative", P("negative", "x")), same),
    # exact where x is finite and nonzero and x*y neither overflows nor underflows; at
    # x = 0, inf or nan this gives y, not nan
    ("x*y/x -> y", P("divide", P("multiply", "x", "y"), "x"),
     lambda x, y: y if inexact(y) else None),
    ("exp(log(x)) -> x", P("exp", P("log", "x")), exp_of_log),
    # more accurate than NumPy where exp overflows or underflows (|x| > 709 in float64)
    ("log(exp(x)) -> x", P("log", P("exp", "x")), lambda x: x if real_float(x) else None),
    ("x**1 -> x", P("power", "x", 1), same),
    ("x**2 -> x*x", P("power", "x", 2), lambda x: op.multiply(x, x)),
    ("x**0.5 -> sqrt(x)", P("power", "x", 0.5, eqn="eqn"), sqrt_of_power),
    ("x**-1 -> reciprocal(x)", P("power", "x", -1),
     lambda x: op.reciprocal(x) if inexact(x) else None),
    ("transpose(transpose(x)) -> transpose(x)",
     P("transpose", P("transpose", "x", eqn="inner"), eqn="outer"), compose_transposes),
    ("reshape(reshape(x)) -> reshape(x)", P("reshape", P("reshape", "x"), eqn="outer"),
     compose_reshapes),
    ("reshape(x, x.shape) -> x", P("reshape", "x", eqn="outer"),
     lambda x, outer: x if outer.params["shape"] == x.shape else None),
    ("x[a][b] -> x[c]", P("slice", P("slice", "x", eqn="inner"), eqn="outer"),
     compose_slices),
    ("sum(broadcast(x)) -> x*n", P("sum", P("broadcast_to", "x", eqn="spread"), eqn="total"),
     sum_of_broadcast),
    ("where(True, a, b) -> a", P("where", True, "a", "b", eqn="eqn"),
     lambda a, b, eqn: where_constant(a, b, "a", eqn)),
    ("where(False, a, b) -> b", P("where", False, "a", "b", eqn="eqn"),
     lambda a, b, eqn: where_constant(a, b, "b", eqn)),
])
