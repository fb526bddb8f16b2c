"""The optimization pipeline a graph goes through between tracing and emission."""

from __future__ import annotations

import dataclasses
import gc
from contextlib import contextmanager
from typing import Iterator, NamedTuple

from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.rewrite.cse import merge_common_subexpressions
from tracejit.rewrite.dce import eliminate_dead_code
from tracejit.rewrite.engine import Fired, rewrite
from tracejit.rewrite.fold import fold_constants
from tracejit.rewrite.rules import MATMUL, SIMPLIFY, STABILIZE, STABILIZE_FORMS


class Optimized(NamedTuple):
    graph: Graph
    fired: tuple[Fired, ...]


def optimize(graph: Graph, *, stability: bool = True) -> Optimized:
    """Merge, simplify, stabilize (unless `stability=False`), specialize, fold and drop
    dead code, loop bodies first. Inputs and outputs keep their number, shapes and
    dtypes; values change only within floating-point reassociation, except where a
    stability rule returns the accurate value of a formula NumPy overflows in."""
    fired: list[Fired] = []
    with collector_paused():
        optimized = rewrite_all(graph, stability, fired)
    return Optimized(keep_outputs_distinct(optimized, graph), tuple(fired))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while passes allocate many small
    objects, none of them cyclic garbage (its full collections over a 20,000-equation
    graph made rewriting grow faster than linearly); its previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def rewrite_all(graph: Graph, stability: bool, fired: list[Fired]) -> Graph:
    graph = optimize_bodies(graph, stability, fired)
    # folded first too, so rules see constants (`where(a != 0, ...)` with `a` a folded
    # zero is `where(False, ...)`) and optimizing the result again finds nothing
    graph = fold(merge(eliminate_dead_code(graph), fired), fired)
    stages = [SIMPLIFY + STABILIZE_FORMS, STABILIZE] if stability else [SIMPLIFY]
    for rules in [*stages, MATMUL + SIMPLIFY]:
        graph = eliminate_dead_code(rewrite(graph, rules, fired))
    graph = fold(graph, fired)
    return eliminate_dead_code(merge(graph, fired))


def keep_outputs_distinct(graph: Graph, original: Graph) -> Graph:
    """Outputs that were different values before rewriting stay different arrays after
    it: where merging made two outputs one value, or an output an input, the later one
    becomes a copy (NumPy's `f` returned two arrays, and a caller may write to one)."""
    seen: dict[Var, Var] = {v: v for v in graph.inputs}
    outputs, copies = [], []
    for var, before in zip(graph.outputs, original.outputs, strict=True):
        if var in seen and seen[var] is not before:
            copy = Var(var.shape, var.dtype)
            copies.append(Eqn("astype", (var,), (copy,), {"dtype": var.dtype}, None))
            var = copy
        seen.setdefault(var, before)
        outputs.append(var)
    if not copies:
        return graph
    return Graph(graph.inputs, graph.eqns + tuple(copies), tuple(outputs), graph.name)


def fold(graph: Graph, fired: list[Fired]) -> Graph:
    graph, folded = fold_constants(graph)
    fired.extend(Fired("fold constants", "passes", "*", None) for _ in range(folded))
    return graph


def merge(graph: Graph, fired: list[Fired]) -> Graph:
    graph, merged = merge_common_subexpressions(graph)
    fired.extend(Fired("merge common subexpressions", "passes", "*", None)
                 for _ in range(merged))
    return graph


def optimize_bodies(graph: Graph, stability: bool, fired: list[Fired]) -> Graph:
    """Each loop body (a graph in an equation's params) optimized on its own; its inputs
    and outputs, the loop's calling convention, stay as they are."""
    eqns = []
    for eqn in graph.eqns:
        bodies = {k: v for k, v in eqn.params.items() if isinstance(v, Graph)}
        if bodies:
            params = dict(eqn.params)
            for key, body in bodies.items():
                params[key] = rewrite_all(body, stability, fired)
            eqn = dataclasses.replace(eqn, params=params)
        eqns.append(eqn)
    return Graph(graph.inputs, tuple(eqns), graph.outputs, graph.name)


__all__ = ["Optimized", "optimize"]
