"""Process-wide settings. `jit(...)` options override them per function."""

from __future__ import annotations

from dataclasses import dataclass


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


config = Config()
