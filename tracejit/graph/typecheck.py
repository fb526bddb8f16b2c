"""`typecheck(graph)`: re-run every equation's shape/dtype rule and check single assignment."""

from __future__ import annotations

from tracejit.graph.ir import Graph
from tracejit.graph.ops import OPS


class GraphTypeError(TypeError):
    """A graph that breaks the IR's invariants (a bug in a pass, not in user code)."""


def typecheck(graph: Graph) -> None:
    defined = set(graph.inputs)
    if len(defined) != len(graph.inputs):
        raise GraphTypeError("graph inputs repeat a variable")
    for i, eqn in enumerate(graph.eqns):
        where = f"equation {i} ({eqn.op})"
        if eqn.op not in OPS:
            raise GraphTypeError(f"{where}: unknown op")
        for v in eqn.inputs:
            if v not in defined:
                raise GraphTypeError(f"{where}: input {v} is used before it is defined")
        avals = OPS[eqn.op].infer(*(v.aval for v in eqn.inputs), **eqn.params)
        if len(avals) != len(eqn.outputs):
            raise GraphTypeError(f"{where}: {len(eqn.outputs)} outputs, rule gives {len(avals)}")
        for v, aval in zip(eqn.outputs, avals, strict=True):
            if v in defined:
                raise GraphTypeError(f"{where}: output {v} assigned twice")
            if v.aval != aval:
                raise GraphTypeError(f"{where}: output is {v.aval}, rule gives {aval}")
            defined.add(v)
    for v in graph.outputs:
        if v not in defined:
            raise GraphTypeError(f"graph output {v} is never defined")
