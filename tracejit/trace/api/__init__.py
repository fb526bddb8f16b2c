"""NumPy functions on tracers: the `__array_function__` dispatch table.

Each handler takes the NumPy function's own signature and builds equations from the op
table. A function with no handler raises `UnsupportedFunctionError` naming it.
"""

from __future__ import annotations

from typing import Any, Callable

from tracejit import errors
from tracejit.trace.source import user_source

HANDLERS: dict[Callable, Callable] = {}


def implements(*numpy_functions: Callable) -> Callable:
    def register(handler: Callable) -> Callable:
        for fn in numpy_functions:
            HANDLERS[fn] = handler
        return handler

    return register


def dispatch(func: Callable, args: tuple, kwargs: dict) -> Any:
    handler = HANDLERS.get(func)
    if handler is None:
        name = f"{func.__module__.replace('numpy._core', 'numpy')}.{func.__name__}"
        raise errors.UnsupportedFunctionError(
            name.replace("numpy.", "np.", 1),
            "this NumPy function is not supported inside a jitted function",
            "rewrite it with supported operations (ufuncs, reductions, indexing, "
            "np.where, ...), or call it outside the jitted function and pass the result in",
            user_source())
    return handler(*args, **kwargs)


def unsupported(*numpy_functions: Callable, why: str, fix: str) -> None:
    """Register functions that cannot be traced, with the reason and the way out."""

    def make(fn: Callable) -> Callable:
        def handler(*args: Any, **kwargs: Any) -> Any:
            raise errors.DataDependentShapeError(f"np.{fn.__name__}", why, fix, user_source())

        return handler

    for fn in numpy_functions:
        HANDLERS[fn] = make(fn)


def load() -> None:
    import importlib

    for module in ("creation", "linalg", "math", "methods", "reductions", "shapes"):
        importlib.import_module(f"tracejit.trace.api.{module}")
