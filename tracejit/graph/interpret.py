"""The NumPy interpreter: the reference backend every other backend is compared with."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.graph.ir import Graph
from tracejit.graph.ops import OPS, run_impl


def eval_graph(graph: Graph, *args: Any) -> list[np.ndarray]:
    """Run `graph` on concrete arrays, one equation at a time, with NumPy."""
    env = dict(zip(graph.inputs, args, strict=True))
    for eqn in graph.eqns:
        outs = run_impl(OPS[eqn.op], [env[v] for v in eqn.inputs], eqn.params)
        for var, value in zip(eqn.outputs, outs, strict=True):
            env[var] = value
    return [env[v] for v in graph.outputs]
