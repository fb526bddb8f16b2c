"""Why a jitted function traced again: the difference between a new cache key and the
nearest one already cached, logged under the `tracejit` logger and kept for `explain`;
and the recompilation-storm warning.

A key is `(tree structure, per leaf: leaf_key)` (`tracejit.keys.leaf_key`): an array's
`(shape, dtype, writeable, layout)`, `float`/`complex` for a traced Python scalar,
`(dtype,)` for a NumPy scalar, `("s", type, exact, value)` for a static value or a
respecialized float (`exact` tells 0.0 from -0.0, and 1 from 1.0 inside containers).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracejit import tree
from tracejit.config import config

log = logging.getLogger("tracejit")

#: what to do when one kind of change keeps causing retraces
FIXES = {
    "shape": "every new shape traces again (shapes are compiled in); pad or bucket the "
             "inputs to a few fixed shapes, or move the loop that calls it inside the "
             "jitted function",
    "dtype": "cast it to one dtype before the call (x.astype(np.float64))",
    "static value": "Python ints, bools and static arguments are compiled in as constants; "
                    "pass it as an array (np.asarray(n)) so it is traced, or as a float",
    "layout": "pass arrays of one memory layout (np.ascontiguousarray(x))",
    "writeable": "pass arrays that are all writeable or all read-only",
    "type": "pass the same kind of value on every call (always an array, or always a float)",
    "structure": "keep the arguments' container structure (tuple lengths, dict keys) the same",
    "captured": "keep the shape and dtype of the global array fixed, or pass it as an argument",
}


@dataclass(frozen=True)
class Change:
    """One difference between the cached signature and the new one."""

    argument: str  # "x", "params['w']", "global W", "arguments"
    what: str  # a key of FIXES
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.argument}: {self.what} {show(self.before)} -> {show(self.after)}"


def show(value: Any) -> str:
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, str):
        return value
    return repr(value)


@dataclass(frozen=True)
class Miss:
    """A cache miss: the first trace, or a retrace with the changes that caused it."""

    number: int  # 1 for the first trace
    changes: tuple[Change, ...] = ()

    @property
    def first(self) -> bool:
        return self.number == 1 and not self.changes

    def reason(self) -> str:
        if not self.changes:
            return "first call" if self.number == 1 else "no cached signature to compare"
        return "; ".join(str(c) for c in self.changes)


# --- comparing keys ---------------------------------------------------------------------


def kind(k: Any) -> str:
    if isinstance(k, tuple) and len(k) == 4 and isinstance(k[0], tuple):
        return "array"
    if k is float or k is complex:
        return f"traced {k.__name__}"
    if isinstance(k, tuple) and len(k) == 1:
        return "numpy scalar"
    if isinstance(k, tuple) and k and k[0] == "s":
        return "static"
    return "value"


def static_value(k: tuple) -> Any:
    return k[-1]


def leaf_changes(name: str, old: Any, new: Any) -> list[Change]:
    if old == new:
        return []
    ko, kn = kind(old), kind(new)
    if ko == kn == "array":
        return [Change(name, what, a, b) for what, a, b in zip(
            ("shape", "dtype", "writeable", "layout"), old, new, strict=True) if a != b]
    if ko == kn == "numpy scalar":
        return [Change(name, "dtype", old[0], new[0])]
    if ko == kn == "static":
        return [Change(name, "static value", static_value(old), static_value(new))]
    if ko == "traced float" and kn == "static":
        return [Change(name, "static value", "traced float", static_value(new))]
    return [Change(name, "type", describe(old), describe(new))]


def describe(k: Any) -> str:
    """A leaf key in words: `f64[3,4] C` or `static int = 3`."""
    from tracejit.graph.ir import type_str

    match kind(k):
        case "array":
            shape, dtype, writeable, layout = k
            return f"{type_str(shape, dtype)} {layout}{'' if writeable else ' read-only'}"
        case "numpy scalar":
            return f"numpy {k[0]} scalar"
        case "static":
            return f"static {type(static_value(k)).__name__} = {static_value(k)!r}"
    return kind(k)


def key_changes(old: tuple, new: tuple, names: list[str]) -> list[Change]:
    (old_tree, old_leaves), (new_tree, new_leaves) = old, new
    if old_tree != new_tree:
        return [Change("arguments", "structure", tree_summary(old_tree, names),
                       tree_summary(new_tree, names))]
    paths = tree.argument_paths(new_tree, names)
    return [c for path, a, b in zip(paths, old_leaves, new_leaves, strict=True)
            for c in leaf_changes(path, a, b)]


def tree_summary(treedef: Any, names: list[str]) -> str:
    try:
        return ", ".join(tree.argument_paths(treedef, names))
    except Exception:  # noqa: BLE001 - a structure that does not match the names
        return repr(treedef)


def nearest(key: tuple, cached: list[tuple], names: list[str]) -> list[Change]:
    """The changes from the cached key most like `key` (fewest changes, latest first)."""
    best: list[Change] | None = None
    for old in reversed(cached):
        changes = key_changes(old, key, names)
        if best is None or len(changes) < len(best):
            best = changes
    return best or []


def capture_changes(stale: Any) -> list[Change]:
    """What changed in the captured arrays of a cached trace (`stale`, an `Entry`)."""
    changes = []
    for ext, old in zip(stale.traced.captures, stale.capture_keys, strict=False):
        value = ext.accessor()
        if not isinstance(value, np.ndarray):
            changes.append(Change(ext.describe, "captured", "array", type(value).__name__))
            continue
        new = (value.shape, value.dtype, value.flags.writeable,
               "C" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else "S")
        changes += [Change(ext.describe, "captured", f"{what} {a}", f"{what} {b}")
                    for what, a, b in zip(("shape", "dtype", "writeable", "layout"), old, new,
                                          strict=True) if a != b]
    return changes


# --- the history of one function ------------------------------------------------------


@dataclass
class History:
    """The misses of one jitted function, and what was blamed for them."""

    misses: deque = field(default_factory=lambda: deque(maxlen=32))
    count: int = 0
    blame: Counter = field(default_factory=Counter)
    warned: bool = False

    @property
    def last(self) -> Miss | None:
        return self.misses[-1] if self.misses else None

    def note(self, jitted: Any, key: tuple, stale: Any = None) -> Miss:
        """Record a miss of `jitted` for `key` (`stale`: the cached entry whose captured
        arrays changed, if that is the reason); log it; warn on a storm."""
        self.count += 1
        names = jitted.names
        if stale is not None:
            changes = capture_changes(stale)
        else:
            changes = nearest(key, list(jitted._cache), names) if jitted._cache else []
        miss = Miss(self.count, tuple(changes))
        self.misses.append(miss)
        name = getattr(jitted.fn, "__name__", "f")
        if miss.first:
            log.info("%s: cache miss (first call): tracing", name)
        else:
            log.info("%s: cache miss, recompiling (trace %d): %s", name, self.count,
                     miss.reason())
        for change in changes:
            self.blame[(change.argument, change.what)] += 1
        if self.count - 1 > config.max_retraces and not self.warned:
            self.storm(jitted, name, key)
        return miss

    def storm(self, jitted: Any, name: str, key: tuple) -> None:
        """Warn once that `jitted` keeps retracing, naming the argument to blame."""
        self.warned = True
        if not self.blame:
            return
        (argument, what), times = self.blame.most_common(1)[0]
        paths = tree.argument_paths(key[0], jitted.names)
        leaf = paths.index(argument) if argument in paths else None
        if what == "static value" and leaf in jitted._warned:
            return  # the warning about that static argument's values already said it
        last = next(c for m in reversed(self.misses) for c in m.changes
                    if (c.argument, c.what) == (argument, what))
        warnings.warn(
            f"tracejit: {name} has been traced {self.count} times; {times} of the retraces "
            f"came from a change of {argument}'s {what} (last: {show(last.before)} -> "
            f"{show(last.after)}). Fix: {FIXES[what]}. Set logging.getLogger('tracejit') to "
            "INFO to see each retrace and its reason.",
            _recompilation_warning(), stacklevel=user_stacklevel())


def _recompilation_warning() -> type[Warning]:
    from tracejit.jit import RecompilationWarning

    return RecompilationWarning


PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_stacklevel() -> int:
    """The `stacklevel` that points a warning raised here at the user's call."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
