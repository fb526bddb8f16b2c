"""tracejit: a tracing JIT for plain NumPy code.

    import numpy as np, tracejit

    @tracejit.jit
    def f(x, w):
        return np.tanh(x @ w).sum(axis=1)
"""

from tracejit import errors
from tracejit.autodiff import grad, hessian, jacobian, jvp, value_and_grad, vjp  # noqa: I001
from tracejit.config import config
from tracejit.debug.explain import explain
from tracejit.debug.graphs import make_graph, render
from tracejit.debug.printing import debug_print
from tracejit.jit import CacheInfo, Jitted, RecompilationWarning, jit, show_source
from tracejit.scan import fori_loop, scan, show_converted, unroll, while_loop

__version__ = "0.1.0"

__all__ = ["CacheInfo", "Jitted", "RecompilationWarning", "config", "debug_print", "errors",
           "explain", "fori_loop", "grad", "hessian", "jacobian", "jit", "jvp", "make_graph",
           "render", "scan", "show_converted", "show_source", "unroll", "value_and_grad", "vjp",
           "while_loop"]
