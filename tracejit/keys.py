"""Cache keys of jitted calls: what a call's arguments (and captured arrays) must match
for a compiled entry to serve it, and the entries themselves.

A key is `(tree structure, per leaf: leaf_key)`: an array's shape, dtype, writeable flag
and layout class; a traced float's type; a static value's type and value; an unhashable
object by identity. Captured arrays are checked apart (`capture_keys`), read once per
call (`fetch_captures`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tracejit.placement import is_device_array
from tracejit.trace.capture import MISMATCH
from tracejit.trace.driver import Static, Traced


@dataclass
class CacheInfo:
    hits: int = 0
    misses: int = 0
    traces: int = 0
    size: int = 0


@dataclass
class Entry:
    traced: Traced
    run: Callable[..., list[Any]]
    capture_keys: tuple = ()
    trace_seconds: float = 0.0
    #: the backend returns new arrays (or the input objects themselves), never views
    fresh: bool = False
    #: what the rewrite engine did to the traced graph, and the graph it compiled
    rewrites: tuple = ()
    graph: Any = None
    rewrite_seconds: float = 0.0
    compile_seconds: float = 0.0


def layout(a: np.ndarray) -> str:
    flags = a.flags
    return "C" if flags.c_contiguous else "F" if flags.f_contiguous else "S"


def leaf_key(leaf: Any, static_floats: frozenset[int], index: int) -> Any:
    kind = type(leaf)
    if kind is np.ndarray:
        return (leaf.shape, leaf.dtype, leaf.flags.writeable, layout(leaf))
    if kind is float or kind is complex:
        return ("s", kind, exact(leaf), leaf) if index in static_floats else kind
    if isinstance(leaf, np.generic):
        return (leaf.dtype,)
    if isinstance(leaf, Static):
        return ("s", type(leaf.value), exact(leaf.value), leaf.value)
    if isinstance(leaf, np.ndarray):  # subclasses
        return (leaf.shape, leaf.dtype, leaf.flags.writeable, layout(leaf))
    if kind.__hash__ is None:  # unhashable: a CuPy array, or an object (by identity)
        if is_device_array(leaf):
            return ("device", leaf.shape, leaf.dtype, layout(leaf))
        return ("o", kind, Identity(leaf))
    return ("s", kind, exact(leaf), leaf)


def exact(value: Any) -> Any:
    """A static value as a key part that tells apart what `==` does not and the compiled
    code does: 0.0 from -0.0 (`1 / x`), and, inside containers, 1 from 1.0 and True."""
    kind = type(value)
    if kind is float:
        return struct.pack("<d", value)
    if kind is complex:
        return struct.pack("<dd", value.real, value.imag)
    if kind is tuple or kind is list:
        return tuple((type(v), exact(v)) for v in value)
    return value


class Identity:
    """A cache-key part equal only to itself's object (held, so its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.obj is self.obj


def fetch_captures(entry: Entry | None, leaves: list[Any] | None = None) -> list[Any]:
    """The captured arrays' current objects (read once per call; `leaves`: the call's
    argument leaves, which paths through arguments start from; None: the trace's).
    [MISMATCH] where the trace's guard fails (its paths or aliasing changed)."""
    if entry is None:
        return []
    traced = entry.traced
    values = [ext.accessor(leaves) for ext in traced.captures]
    if traced.guard is not None and not traced.guard(leaves, values):
        return [MISMATCH]
    return values


def capture_keys(captured: list[Any]) -> tuple:
    """What a trace assumed of its captured arrays; a change means retrace."""
    keys = []
    for value in captured:
        if not isinstance(value, np.ndarray):
            return (None,)
        keys.append((value.shape, value.dtype, value.flags.writeable, layout(value)))
    return tuple(keys)
