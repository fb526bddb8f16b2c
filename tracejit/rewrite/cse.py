"""Common-subexpression merging."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.graph.ops import OPS

#: constants up to this many bytes are compared by value (larger ones by identity)
MAX_COMPARED_BYTES = 1 << 16


def merge_common_subexpressions(graph: Graph) -> tuple[Graph, int]:
    """Compute each distinct (op, inputs, params) once: a later equation equal to an
    earlier one is dropped and its outputs are read from the earlier one's. Equal
    constants merge too. Effects (run-time checks) and loops are never merged. Returns
    the graph and how many equations were merged."""
    subst: dict[Var, Var] = {}
    seen: dict[Any, Eqn] = {}
    eqns: list[Eqn] = []
    merged = 0
    for eqn in graph.eqns:
        inputs = tuple(subst.get(v, v) for v in eqn.inputs)
        if inputs != eqn.inputs:
            eqn = dataclasses.replace(eqn, inputs=inputs)
        key = eqn_key(eqn)
        earlier = seen.get(key) if key is not None else None
        if earlier is not None:
            subst.update(zip(eqn.outputs, earlier.outputs, strict=True))
            merged += 1
            continue
        if key is not None:
            seen[key] = eqn
        eqns.append(eqn)
    outputs = tuple(subst.get(v, v) for v in graph.outputs)
    return Graph(graph.inputs, tuple(eqns), outputs, graph.name), merged


def signs(value: Any) -> Any:
    """What `==` and `hash` leave out of a float param: its sign at zero (`-0.0 == 0.0`,
    but `np.full(n, -0.0)` is not `np.full(n, 0.0)`)."""
    if isinstance(value, (float, np.floating)):
        return bool(np.signbit(value))
    if isinstance(value, (complex, np.complexfloating)):
        return bool(np.signbit(value.real)), bool(np.signbit(value.imag))
    return None


def eqn_key(eqn: Eqn) -> Any:
    """A hashable identity of what `eqn` computes, or None when it must not merge."""
    if OPS[eqn.op].extra.get("effect") or OPS[eqn.op].family == "loop":
        return None
    if eqn.op == "constant":
        array = eqn.params["value"].array
        if array.nbytes > MAX_COMPARED_BYTES:
            return None
    params = []
    for name, value in sorted(eqn.params.items()):
        if isinstance(value, (np.ndarray, list, dict, set)):
            return None
        try:
            hash(value)
        except TypeError:
            return None
        params.append((name, value, signs(value)))
    return (eqn.op, tuple(map(id, eqn.inputs)), tuple(params),
            tuple((v.shape, v.dtype) for v in eqn.outputs))
