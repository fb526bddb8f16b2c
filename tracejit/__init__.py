"""tracejit: a tracing JIT for plain NumPy code.

    import numpy as np, tracejit

    @tracejit.jit
    def f(x, w):
        return np.tanh(x @ w).sum(axis=1)
"""

from tracejit import errors
from tracejit.autodiff import grad, hessian, jacobian, jvp, value_and_grad, vjp  # noqa: I001
from tracejit.config import config
from tracejit.jit import CacheInfo, Jitted, RecompilationWarning, jit, show_source
from tracejit.scan import fori_loop, scan, show_converted, unroll, while_loop

__version__ = "0.1.0"

__all__ = ["CacheInfo", "Jitted", "RecompilationWarning", "config", "errors", "fori_loop",
           "grad", "hessian", "jacobian", "jit", "jvp", "scan", "show_converted", "show_source",
           "unroll", "value_and_grad", "vjp", "while_loop"]
