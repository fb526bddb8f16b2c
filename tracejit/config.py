"""Process-wide settings. `jit(...)` options override them per function."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    backend: str = "auto"
    #: warn when one static argument has taken more than this many distinct values
    max_static_values: int = 8


config = Config()
