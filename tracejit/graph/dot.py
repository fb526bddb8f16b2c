"""The DOT form of a graph (Graphviz), for pictures: `graph.to_dot()`.

    digraph step {
      i0 [label="a\\nf64[4,4]", shape=ellipse];
      subgraph cluster_1 { label="k0: fused loop storing c"; n0 [label="c: f64[2,2] = sin\\n..."]; }
      i0 -> n0;
    }

One node per input and per equation, labelled with the op, the output names and types and
the user's file:line; edges follow the values. Equations that one kernel computes (a
`groups` mapping, e.g. a backend's fusion plan) are drawn inside one cluster; a loop's body
is a nested cluster beside its loop node, with dashed edges for what enters it and what it
yields. `tracejit.render` turns the text into SVG or PNG.
"""

from __future__ import annotations

import os
from typing import Mapping

from tracejit.graph.ir import Eqn, Graph, Var, type_str
from tracejit.graph.printing import var_names

LOOP_FILL = "#dbe9f6"
GROUP_FILL = "#f4f4f4"
EFFECT_FILL = "#fde2c4"


def quote(text: str) -> str:
    """A DOT string literal; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def eqn_label(eqn: Eqn, name: Mapping[Var, str]) -> str:
    outs = ", ".join(f"{name[v]}: {type_str(v.shape, v.dtype)}" for v in eqn.outputs)
    lines = [f"{outs} = {eqn.op}" if outs else eqn.op]
    if eqn.source is not None:
        lines.append(f"{os.path.basename(eqn.source.filename)}:{eqn.source.lineno}")
    return "\n".join(lines)


class DotWriter:
    def __init__(self, groups: Mapping[Eqn, str]) -> None:
        self.groups = groups
        self.edges: list[str] = []
        self.count = 0

    def fresh(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def graph(self, graph: Graph, indent: str, inputs_from: str | None = None) -> tuple[
            list[str], str]:
        """Statements for `graph`'s nodes (clusters included) and the id of its output
        node. `inputs_from`: a loop node whose body this is (dashed edges into it)."""
        fresh_name = var_names()
        name: dict[Var, str] = {}
        for v in graph.inputs + tuple(o for e in graph.eqns for o in e.outputs):
            name.setdefault(v, next(fresh_name))
        node: dict[Var, str] = {}
        lines: list[str] = []
        for v in graph.inputs:
            node[v] = self.fresh("i")
            label = f"{name[v]}\n{type_str(v.shape, v.dtype)}"
            lines.append(f"{indent}{node[v]} [label={quote(label)}, shape=ellipse];")
            if inputs_from is not None:
                self.edges.append(f"  {inputs_from} -> {node[v]} [style=dashed];")
        clusters: dict[str, list[str]] = {}
        for eqn in graph.eqns:
            group = self.groups.get(eqn)
            inner = indent + "  " if group is not None else indent
            stmts = self.eqn(eqn, name, node, inner)
            if group is None:
                lines.extend(stmts)
            else:
                clusters.setdefault(group, []).extend(stmts)
        for label, stmts in clusters.items():
            lines.append(f"{indent}subgraph {self.fresh('cluster_')} {{")
            lines.append(f"{indent}  label={quote(label)}; style=filled; color=\"#999999\"; "
                         f"fillcolor=\"{GROUP_FILL}\";")
            lines.extend(stmts)
            lines.append(f"{indent}}}")
        out = self.fresh("o")
        returned = ", ".join(name.get(v, "?") for v in graph.outputs)
        word = "yield" if inputs_from is not None else "return"
        lines.append(f"{indent}{out} [label={quote(f'{word} ({returned})')}, shape=note];")
        for v in graph.outputs:
            if v in node:
                self.edges.append(f"  {node[v]} -> {out};")
        return lines, out

    def eqn(self, eqn: Eqn, name: Mapping[Var, str], node: dict[Var, str],
            indent: str) -> list[str]:
        me = self.fresh("n")
        bodies = [(k, sub) for k, sub in eqn.params.items() if isinstance(sub, Graph)]
        style = ""
        if bodies:
            style = f', style=filled, fillcolor="{LOOP_FILL}", shape=box3d'
        elif not eqn.outputs:
            style = f', style=filled, fillcolor="{EFFECT_FILL}"'
        lines = [f"{indent}{me} [label={quote(eqn_label(eqn, name))}, shape=box{style}];"]
        for v in dict.fromkeys(eqn.inputs):
            if v in node:
                self.edges.append(f"  {node[v]} -> {me};")
        for v in eqn.outputs:
            node[v] = me
        for key, sub in bodies:
            where = ""
            if eqn.source is not None:
                where = f" ({os.path.basename(eqn.source.filename)}:{eqn.source.lineno})"
            lines.append(f"{indent}subgraph {self.fresh('cluster_')} {{")
            lines.append(f"{indent}  label={quote(f'{eqn.op} {key}{where}')}; style=rounded; "
                         "color=\"#4a7ab5\";")
            body, out = self.graph(sub, indent + "  ", inputs_from=me)
            lines.extend(body)
            lines.append(f"{indent}}}")
            self.edges.append(f"  {out} -> {me} [style=dashed, constraint=false];")
        return lines


def to_dot(graph: Graph, groups: Mapping[Eqn, str] | None = None) -> str:
    """DOT text for `graph`. `groups` maps equations (loop bodies' included) to the name
    of the kernel computing them; each kernel is drawn as a cluster."""
    writer = DotWriter(groups or {})
    body, _ = writer.graph(graph, "  ")
    head = [f"digraph {quote(graph.name)} {{",
            f"  graph [label={quote(graph.name)}, labelloc=t, fontname=\"Helvetica\"];",
            '  node [fontname="Helvetica", fontsize=10];',
            '  edge [color="#555555", arrowsize=0.6];']
    return "\n".join(head + body + writer.edges + ["}"]) + "\n"
