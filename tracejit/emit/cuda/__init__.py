"""The CUDA backend: a graph's fusion plan as generated CUDA C++ kernels, run through CuPy.

The plan is the Numba backend's (`tracejit.rewrite.fusion`): each fused loop becomes one
kernel (`kernels.py`; per-element code in `scalars.py`), written into one translation
unit per graph; library calls run as CuPy's (cuBLAS, cuSOLVER); loop ops run as host
loops over their bodies' programs (`program.py`). Where the code runs is a device
(`devices.py`): the GPU through CuPy, or the host CPU for the tests.

Generating the source needs neither CuPy nor a GPU:
`tracejit.show_source(f, *args, backend="cuda")` returns it.
"""

from __future__ import annotations

from typing import Iterable

from tracejit.emit.cuda.program import Program
from tracejit.graph.ir import Graph


def compile_graph(graph: Graph, donated: Iterable[int] = ()) -> Program:
    """`donated`: positions of inputs whose memory the program may reuse (slice updates
    write into them in place)."""
    return Program(graph, donated)
