"""The graph of a jitted function, as text and as a picture.

    >>> print(tracejit.make_graph(f)(x, w))                  # as traced
    >>> print(tracejit.make_graph(f, optimized=True)(x, w))  # as compiled, with kernels
    >>> tracejit.render(f, x, w, path="f.svg")               # Graphviz: SVG, PNG, PDF

Both trace (and emit) the function as a call with these arguments would, without running
it; `make_graph` takes `jit`'s options (`backend`, `static_argnames`, `stability`).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

from tracejit.debug.kernels import Kernel, groups, kernels
from tracejit.emit import BACKENDS
from tracejit.graph.dot import to_dot
from tracejit.graph.ir import Eqn, Graph
from tracejit.graph.printing import format_graph
from tracejit.jit import Jitted, jit
from tracejit.rewrite.fusion import VIEW_OPS

INSTALL = ("install the graphviz Python package (pip install 'tracejit[graphviz]') and the "
           "Graphviz programs (apt-get install graphviz, brew install graphviz or conda "
           "install graphviz); graph.to_dot() gives the DOT text without them")


@dataclass(frozen=True, eq=False)
class PlannedGraph(Graph):
    """A compiled graph with the kernel computing each equation: a comment per equation
    in its text, a cluster per kernel in its picture."""

    kernels: tuple[Kernel, ...] = ()

    def notes(self) -> dict[Eqn, str]:
        notes = {e: f"{k.name} {k.kind}" + ("" if k.native else ", object mode")
                 for k in self.kernels for e in k.eqns}
        for eqn in all_eqns(self):
            if eqn not in notes and eqn.op in VIEW_OPS:
                notes[eqn] = "view: no kernel"
            elif eqn not in notes and eqn.op in ("full", "constant"):
                notes[eqn] = "literal"
        return notes

    def __str__(self) -> str:
        return format_graph(self, self.notes())

    def to_dot(self, groups_of: Any = None) -> str:
        return to_dot(self, groups(list(self.kernels)) if groups_of is None else groups_of)


def all_eqns(graph: Graph) -> list[Eqn]:
    out = []
    for eqn in graph.eqns:
        out.append(eqn)
        for sub in eqn.params.values():
            if isinstance(sub, Graph):
                out += all_eqns(sub)
    return out


def as_jitted(f: Callable, options: dict[str, Any]) -> Jitted:
    """`f` as a `Jitted` with `options` (jit's keywords) applied."""
    if isinstance(f, Jitted):
        if not options:
            return f
        options = {"backend": f.backend, "static_argnames": tuple(f.static),
                   "stability": f.stability, **options}
        return jit(f.fn, **options)
    return jit(f, **options)


def for_backend(f: Jitted, backend: str) -> Jitted:
    """`f` compiled for `backend` (for `show_source(f, *args, backend=...)`)."""
    if backend not in BACKENDS and backend != "auto":
        raise ValueError(f"unknown backend {backend!r}; available: "
                         f"{', '.join(BACKENDS)} or 'auto'")
    if backend == "numpy":
        raise ValueError("the NumPy backend interprets the graph and generates no source; "
                         "print(tracejit.make_graph(f)(*args)) shows the graph it runs")
    same = backend == f.backend or {backend, f.backend} <= {"auto", "numba"}
    return f if same else as_jitted(f, {"backend": backend})


def make_graph(f: Callable, *, optimized: bool = False, **jit_options: Any
               ) -> Callable[..., Graph]:
    """A function of `f`'s arguments returning its graph: as traced, or (`optimized`)
    after the rewrites, each equation marked with the kernel the backend computes it in.

    >>> print(tracejit.make_graph(f)(np.ones(3)))
    graph f(a:f64[3]) {
      b:f64[3] = sin a                                            # model.py:4
      return (b)
    }
    """

    def graph_of(*args: Any, **kwargs: Any) -> Graph:
        jitted = as_jitted(f, jit_options)
        entry, _, _ = jitted.entry_for(args, kwargs)
        if not optimized:
            return entry.traced.graph
        g = entry.graph
        return PlannedGraph(g.inputs, g.eqns, g.outputs, g.name,
                            tuple(kernels(g, jitted.backend)))

    return graph_of


def render(f: Callable | Graph, *args: Any, path: str = "graph.svg", optimized: bool = True,
           **kwargs: Any) -> str:
    """Draw `f`'s graph for these arguments (or a `Graph`) into `path`; the format is
    its suffix (.svg, .png, .pdf). Kernels are clusters (`optimized`, the default), loop
    bodies nested clusters. Needs Graphviz (`pip install 'tracejit[graphviz]'` and the
    Graphviz programs). Returns `path`."""
    graph = f if isinstance(f, Graph) else make_graph(f, optimized=optimized)(*args, **kwargs)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    data = render_dot(graph.to_dot(), fmt)
    with open(path, "wb") as out:
        out.write(data)
    return path


def render_dot(text: str, fmt: str) -> bytes:
    """DOT text rendered by Graphviz: through the `graphviz` package, else its `dot`."""
    try:
        graphviz = importlib.import_module("graphviz")
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(text).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise RuntimeError("tracejit.render: the graphviz package is installed but the "
                               f"Graphviz programs (dot) are not on PATH; {INSTALL}") from None
    dot = shutil.which("dot")
    if dot is None:
        raise ImportError(f"tracejit.render needs Graphviz: {INSTALL}")
    done = subprocess.run([dot, f"-T{fmt}"], input=text.encode(), capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz's dot failed: {done.stderr.decode(errors='replace')}")
    return done.stdout
