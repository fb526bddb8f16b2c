"""Process-wide settings. `jit(...)` options override them per function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

#: functions called with the new value when a setting changes (`watch`)
WATCHERS: dict[str, list[Callable[[Any], None]]] = {}


def watch(name: str, hook: Callable[[Any], None]) -> None:
    """Call `hook(value)` whenever `config.<name>` is set."""
    WATCHERS.setdefault(name, []).append(hook)


@dataclass
class Config:
    backend: str = "auto"
    #: run the rewrite pipeline (`tracejit.rewrite.optimize`) on every compiled graph
    rewrites: bool = True
    #: numerical-stability rewrites (`log(1+x) -> log1p(x)`, stable softmax, ...);
    #: `jit(f, stability=...)` overrides it per function
    stability: bool = True
    #: warn when one static argument has taken more than this many distinct values
    max_static_values: int = 8
    #: warn once when one function has been retraced more than this many times
    max_retraces: int = 8
    #: check jitted calls' outputs for NaN/Inf (`jit(f, debug_nans=...)` overrides it)
    debug_nans: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        for hook in WATCHERS.get(name, ()):
            hook(value)


config = Config()
