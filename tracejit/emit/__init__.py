"""Backends: each turns a graph into a callable. `compile_graph(graph, backend)` picks one."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from tracejit.graph.ir import Graph

BACKENDS = ("numpy", "numba", "cuda")


def compile_graph(graph: Graph, backend: str,
                  donated: Mapping[int, int] | None = None) -> Callable[..., list[Any]]:
    """`backend` "auto" is Numba on the CPU (`Jitted` picks "cuda" for CuPy arguments).
    `donated`: positions of inputs whose arrays the caller overwrites after the call and
    never reads again, each with the position of the output written into it; the
    callable may reuse their memory (a loop updating an argument then runs in it) and
    compute that output straight into it."""
    donated = donated or {}
    if backend == "numpy":
        from tracejit.emit import numpy as numpy_backend

        return numpy_backend.compile_graph(graph)
    if backend in ("numba", "auto"):
        from tracejit.emit import numba as numba_backend

        return numba_backend.compile_graph(graph, donated)
    if backend == "cuda":
        from tracejit.emit import cuda as cuda_backend

        return cuda_backend.compile_graph(graph, donated)
    raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)} or 'auto'")
