"""Run-time asserts: `assert cond, msg` on a traced `cond` inside a jitted function.

The converted function calls `loops.check`, which records a `check` equation: it has no
outputs, is kept by dead-code elimination (an effect), and raises AssertionError naming
the user's line when any element of `cond` is false at run time.
"""

from __future__ import annotations

import linecache
from typing import Any, Callable

import numpy as np

from tracejit.autodiff.rules import nondiff
from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, register
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype


def check_impl(cond: np.ndarray, message: str) -> tuple:
    if not np.all(cond):
        raise AssertionError(message)
    return ()


def check_infer(cond: Aval, message: str) -> list[Aval]:
    return []


check = register(Op("check", check_impl, check_infer, "effect", nout=0,
                    extra={"effect": True}))
nondiff("check")


def record_check(cond: Tracer, message: Callable[[], Any] | None) -> None:
    source = user_source()
    text = ""
    if message is not None:
        try:
            text = str(message())
        except Exception:  # noqa: BLE001 - a message that needs run-time values
            text = ""
    where = ""
    if source is not None:
        line = linecache.getline(source.filename, source.lineno).strip()
        where = f"{source.filename}:{source.lineno} (in {source.function}): {line}"
    full = f"{where}\n  {text}" if text else where or "assertion failed"
    ctx = cond._ctx
    ctx.record("check", [astype(cond, np.bool_).sym], {"message": full})


def emit_numba(w: Any, eqn: Any, check: bool) -> bool:
    """The Numba backend's rule (registered by `tracejit/scan/numba.py`): an `if` that
    raises with the message, which Numba keeps as a compile-time constant."""
    if check:
        return True
    (cond,) = eqn.inputs
    test = w.name(cond) if cond.ndim == 0 else f"np.all({w.name(cond)})"
    w.emit(f"if not {test}:")
    w.emit(f"    raise AssertionError({eqn.params['message']!r})")
    return True
