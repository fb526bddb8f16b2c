"""`debug_print`: print values from inside jitted code, when it runs.

    @tracejit.jit
    def f(x):
        h = np.tanh(x)
        tracejit.debug_print("h = {} (max {:.3f})", h, h.max())
        return h * 2

A plain `print` inside a jitted function runs once, while tracing, and shows proxies.
`debug_print` records a `debug_print` equation instead: an effect (no outputs; dead-code
elimination keeps it) whose NumPy implementation formats its inputs with `str.format` and
prints, on every call, in loop bodies once per iteration. The Numba backend calls the same
implementation in object mode (`tracejit/debug/numba.py`). Outside a trace it prints
directly, so the function still runs un-jitted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.autodiff.rules import nondiff
from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, register
from tracejit.trace.context import current
from tracejit.trace.tracer import Tracer


def as_printed(value: Any) -> Any:
    """A run-time value as `str.format` should see it: 0-d arrays as NumPy scalars."""
    value = np.asarray(value)
    return value[()] if value.ndim == 0 else value


def format_values(fmt: str, slots: tuple, values: tuple) -> str:
    """`fmt` filled in: `slots` says, per argument, whether it is the next traced value
    (`("t", key)`) or a value fixed at trace time (`("s", key, value)`); `key` is a
    position or a keyword."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    traced = iter(values)
    for slot in slots:
        value = as_printed(next(traced)) if slot[0] == "t" else slot[2]
        if isinstance(slot[1], str):
            kwargs[slot[1]] = value
        else:
            args.append(value)
    return fmt.format(*args, **kwargs)


def debug_print_impl(*values: np.ndarray, fmt: str, slots: tuple) -> tuple:
    print(format_values(fmt, slots, values), flush=True)
    return ()


def debug_print_infer(*avals: Aval, fmt: str, slots: tuple) -> list[Aval]:
    return []


register(Op("debug_print", debug_print_impl, debug_print_infer, "effect", nout=0,
            extra={"effect": True}))
nondiff("debug_print")


def static_slot(key: int | str, value: Any) -> tuple:
    try:
        hash(value)
    except TypeError:  # params are hashable: keep what it prints as
        value = str(value)
    return ("s", key, value)


def debug_print(fmt: str, *args: Any, **kwargs: Any) -> None:
    """Print `fmt.format(*args, **kwargs)` each time the jitted code runs (on every
    backend, inside loop bodies once per iteration); outside a trace, print it now.

    >>> tracejit.debug_print("step {}: loss = {:.4f}", i, loss)
    """
    ctx = current()
    if ctx is None:
        print(fmt.format(*args, **kwargs), flush=True)
        return
    slots, inputs = [], []
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, Tracer):
            slots.append(("t", key))
            inputs.append(value.sym)
        else:
            slots.append(static_slot(key, value))
    ctx.record("debug_print", inputs, {"fmt": fmt, "slots": tuple(slots)})
