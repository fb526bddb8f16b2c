"""The NumPy backend: the graph run by the reference interpreter.

Slow (one NumPy call and one temporary per equation) but exact by construction: every
other backend is tested against it.
"""

from __future__ import annotations

from typing import Any, Callable

from tracejit.graph.interpret import eval_graph
from tracejit.graph.ir import Graph


def compile_graph(graph: Graph) -> Callable[..., list[Any]]:
    """A callable taking the graph's inputs, returning its outputs as a list."""

    def run(*args: Any) -> list[Any]:
        # NumPy's floating-point warnings and the caller's np.errstate apply, as they
        # would to the same NumPy calls made directly.
        return eval_graph(graph, *args)

    run.__name__ = f"numpy_{graph.name}"
    return run
