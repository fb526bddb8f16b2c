"""Dead-code elimination."""

from __future__ import annotations

from tracejit.graph.ir import Graph
from tracejit.graph.ops import OPS


def eliminate_dead_code(graph: Graph) -> Graph:
    """Drop equations none of whose outputs reach a graph output, except effects (run-time
    checks). Keeps inputs as they are (the calling convention) and the order of the
    equations that remain."""
    live = set(graph.outputs)
    kept = []
    for eqn in reversed(graph.eqns):
        if any(v in live for v in eqn.outputs) or OPS[eqn.op].extra.get("effect"):
            kept.append(eqn)
            live.update(eqn.inputs)
    return Graph(graph.inputs, tuple(reversed(kept)), graph.outputs, graph.name)
