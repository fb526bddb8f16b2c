"""What the traced function sees instead of the outside world.

Arrays are read at call time, not baked in: the traced function runs with *shadow*
globals and closure cells in which every NumPy array it names is a Tracer bound to an
implicit graph input (a capture), `numpy` is a proxy whose creation functions record
creation ops, and plain Python helper functions it calls are shadowed the same way, so
their arrays are captured too. Writes to captured arrays are written back after the call.
"""

from __future__ import annotations

import dis
import types
from typing import Any, Callable

import numpy as np

from tracejit import errors
from tracejit.graph.ir import Var
from tracejit.trace import views
from tracejit.trace.context import Buffer, External, TraceContext
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, check_array_dtype

LIBRARY_PREFIXES = ("numpy", "tracejit", "scipy", "numba", "builtins", "math", "functools")


def capture(ctx: TraceContext, a: np.ndarray, accessor: Callable[[], Any] | None,
            describe: str) -> Tracer:
    """A Tracer for an array from outside the arguments (a global, closure, attribute)."""
    check_array_dtype(a)
    var = ctx.add_input(Var(a.shape, a.dtype))
    buf = Buffer(var, writeable=a.flags.writeable, external=len(ctx.externals),
                 strides=views.layout_of(a))
    if accessor is None:
        ctx.keepalive.append(a)
        accessor = (lambda obj: (lambda: obj))(a)
    ctx.externals.append(External(var, buf, "capture", accessor=accessor, describe=describe))
    t = Tracer(ctx, buf, kind="array")
    ctx.captured[id(a)] = t
    return t


class NumpyProxy(types.ModuleType):
    """`numpy` as the traced function sees it: creation functions record ops, np.random
    is refused (it would be frozen at trace time), everything else is NumPy itself."""

    def __init__(self) -> None:
        super().__init__("numpy")
        from tracejit.trace.api.creation import NUMPY_OVERRIDES

        self.__dict__.update(NUMPY_OVERRIDES)
        self.random = RandomRefusal()

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


class RandomRefusal:
    def __getattr__(self, name: str) -> Any:
        raise errors.UnsupportedFunctionError(
            f"np.random.{name}", "random numbers drawn while tracing would be frozen into "
            "the compiled function (every call would return the same numbers)",
            "draw them outside the jitted function and pass them in as an argument",
            user_source())


def code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_names(const)
    return names


def stored_globals(code: types.CodeType) -> set[str]:
    found = {ins.argval for ins in dis.get_instructions(code)
             if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= stored_globals(const)
    return found


def is_user_function(value: Any) -> bool:
    module = getattr(value, "__module__", None) or ""
    return isinstance(value, types.FunctionType) and not module.startswith(LIBRARY_PREFIXES)


def shadow_value(ctx: TraceContext, value: Any, accessor: Callable[[], Any], name: str):
    """What a global or closure variable holding `value` becomes inside the trace."""
    if value is np:
        return NUMPY_PROXY
    if isinstance(value, np.ndarray):
        existing = ctx.captured.get(id(value))
        return existing if existing is not None else capture(ctx, value, accessor, name)
    if getattr(value, "__module__", None) == "numpy" and callable(value):
        overrides = NUMPY_PROXY.__dict__
        return overrides.get(getattr(value, "__name__", ""), value)
    if is_user_function(value):
        return shadow_function(ctx, value)
    return value


def shadow_function(ctx: TraceContext, fn: types.FunctionType) -> types.FunctionType:
    """`fn` re-bound to shadow globals and closure cells (memoized per trace)."""
    cached = ctx.shadows.get(id(fn))
    if cached is not None:
        return cached
    stores = stored_globals(fn.__code__)
    if stores:
        raise errors.UnsupportedFunctionError(
            f"global {sorted(stores)[0]}", f"{fn.__qualname__} assigns a global variable; "
            "tracejit cannot rebind it at run time",
            "mutate the array in place (W[...] = new) or return the new value",
            None)
    g = dict(fn.__globals__)
    cells = tuple(types.CellType() for _ in fn.__closure__ or ())
    code, closure = fn.__code__, cells
    conv = converted_loops(fn)
    if conv is not None:  # loops rewritten to become loop nodes (tracejit/scan/convert.py)
        by_name = dict(zip(fn.__code__.co_freevars, cells, strict=True))
        code, closure = conv.code, tuple(by_name[n] for n in conv.code.co_freevars)
        g[conv.runtime_name] = conv.runtime
    shadow = types.FunctionType(code, g, fn.__name__, fn.__defaults__, closure or None)
    ctx.shadows[id(fn)] = shadow  # before filling it in: helpers may be recursive
    source_globals = fn.__globals__
    for name in code_names(fn.__code__) & source_globals.keys():
        value = source_globals[name]
        g[name] = shadow_value(ctx, value, (lambda d, k: (lambda: d[k]))(source_globals, name),
                               f"global {name}")
    for var_name, cell, new in zip(fn.__code__.co_freevars, fn.__closure__ or (), cells,
                                   strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        new.cell_contents = shadow_value(ctx, value, (lambda c: (lambda: c.cell_contents))(cell),
                                         f"closure {var_name}")
    shadow.__kwdefaults__ = fn.__kwdefaults__
    shadow.__dict__.update(fn.__dict__)
    shadow.__qualname__ = fn.__qualname__
    shadow.__module__ = fn.__module__
    return shadow


def converted_loops(fn: types.FunctionType) -> Any:
    from tracejit.scan.convert import converted

    return converted(fn)


NUMPY_PROXY = NumpyProxy()
