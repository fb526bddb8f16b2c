"""The text form of a graph: one equation per line, typed, with the user's file:line.

    graph step(a:f64[4,4], b:f64[]) {
      c:f64[2,2] = slice a  triples=((1, 3, 1), (1, 3, 1))     # model.py:12
      ...
      return (c, d)
    }
"""

from __future__ import annotations

import os
from typing import Iterator, Mapping

from tracejit.graph.ir import Eqn, Graph, Var, type_str


def var_names() -> Iterator[str]:
    """a, b, ..., z, ba, bb, ...: short names in order of definition."""
    n = 0
    while True:
        digits, k = "", n
        while True:
            digits = chr(ord("a") + k % 26) + digits
            k //= 26
            if k == 0:
                break
        yield digits
        n += 1


def format_graph(graph: Graph, notes: Mapping[Eqn, str] | None = None) -> str:
    """`notes`: a remark per equation, printed after its source location (the kernel an
    equation belongs to: `tracejit.make_graph(f, optimized=True)`)."""
    names: dict[Var, str] = {}
    fresh = var_names()

    def name(v: Var) -> str:
        if v not in names:
            names[v] = next(fresh)
        return names[v]

    def typed(v: Var) -> str:
        return f"{name(v)}:{type_str(v.shape, v.dtype)}"

    args = ", ".join(typed(v) for v in graph.inputs)
    lines = [f"graph {graph.name}({args}) {{"]
    for eqn in graph.eqns:
        outs = ", ".join(typed(v) for v in eqn.outputs)
        ins = " ".join(name(v) for v in eqn.inputs)
        params = " ".join(f"{k}={v}" for k, v in eqn.params.items()
                          if not isinstance(v, Graph))
        text = f"  {outs} = {eqn.op} {ins}".rstrip() + (f"  {params}" if params else "")
        where = ""
        if eqn.source is not None:
            where = f"{os.path.basename(eqn.source.filename)}:{eqn.source.lineno}"
        note = notes.get(eqn) if notes else None
        if note:
            where = f"{where}  [{note}]" if where else f"[{note}]"
        if where:
            text = f"{text:<64} # {where}"
        lines.append(text)
        for key, sub in eqn.params.items():  # loop bodies, indented under their loop
            if isinstance(sub, Graph):
                lines.append(f"    {key}:")
                lines.extend("    " + line for line in format_graph(sub, notes).splitlines())
    lines.append(f"  return ({', '.join(name(v) for v in graph.outputs)})")
    lines.append("}")
    return "\n".join(lines)
