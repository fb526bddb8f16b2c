"""Constant folding."""

from __future__ import annotations

import warnings

import numpy as np

from tracejit.graph.creation import ConstValue
from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.graph.ops import OPS, run_impl

#: results larger than this many elements stay computed at run time, so a compile never
#: materializes a large constant (`np.ones(10**8) * 2` is folded by nobody)
MAX_FOLDED_ELEMENTS = 1 << 12
#: ops whose output is already as cheap as a constant (or is the constant)
NOT_FOLDED = frozenset({"constant", "full", "arange", "linspace", "eye"})


def fold_constants(graph: Graph) -> tuple[Graph, int]:
    """Evaluate, at compile time, each equation whose inputs are all constants and whose
    outputs are small, and use a `constant` in its place. Creation ops (`full`,
    `arange`, ...), effects and loops are left as they are; an equation whose evaluation
    fails or warns (division by zero, overflow) is left to fail or warn at run time.
    Returns the graph and how many equations were folded."""
    producer: dict[Var, Eqn] = {}
    eqns: list[Eqn] = []
    folded = 0
    for eqn in graph.eqns:
        values = None
        if foldable(eqn):
            values = evaluate(eqn, producer)
        if values is None:
            eqns.append(eqn)
            for out in eqn.outputs:
                producer[out] = eqn
            continue
        folded += 1
        count = is_count_cast(eqn, producer)
        for out, value in zip(eqn.outputs, values, strict=True):
            const = Eqn("constant", (), (out,),
                        {"value": ConstValue(value, out.dtype, count)}, eqn.source)
            eqns.append(const)
            producer[out] = const
    return Graph(graph.inputs, tuple(eqns), graph.outputs, graph.name), folded


def is_count_cast(eqn: Eqn, producer: dict[Var, Eqn]) -> bool:
    """An `astype` of an element count (`ConstValue.count`): still a count, and folded
    into one, so the backends keep passing it at run time."""
    if eqn.op != "astype":
        return False
    made = producer.get(eqn.inputs[0])
    return made is not None and made.op == "constant" and made.params["value"].count


def foldable(eqn: Eqn) -> bool:
    row = OPS[eqn.op]
    return (bool(eqn.inputs) and eqn.op not in NOT_FOLDED and row.family != "loop"
            and not row.extra.get("effect")
            and all(v.size <= MAX_FOLDED_ELEMENTS for v in eqn.outputs))


def evaluate(eqn: Eqn, producer: dict[Var, Eqn]) -> list[np.ndarray] | None:
    arrays = []
    for var in eqn.inputs:
        made = producer.get(var)
        if made is None or made.op not in ("constant", "full") or var.size > MAX_FOLDED_ELEMENTS:
            return None
        arrays.append(run_impl(OPS[made.op], [], made.params)[0])
    try:
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            outs = run_impl(OPS[eqn.op], arrays, eqn.params)
    except Exception:  # noqa: BLE001 - whatever it raises, it raises at run time instead
        return None
    results = []
    for out, value in zip(eqn.outputs, outs, strict=True):
        value = np.asarray(value)
        if value.shape != out.shape or value.dtype != out.dtype:
            return None
        results.append(value)
    return results
