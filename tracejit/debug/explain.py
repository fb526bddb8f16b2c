"""`tracejit.explain(f, *args)` / `f.explain(*args)`: what tracejit does with a call.

    >>> print(f.explain(x, 3))
    explain step on the numba backend
      call: cache miss (x: shape (3,) -> (4,)); 2 trace(s) so far
      signature: x f64[4] C; n static int = 3
      static: n=3
      time: trace 4.1 ms, rewrite 0.8 ms, emit 2.3 ms
      ...

The call is traced and emitted as it would be (nothing runs); the report says whether
these arguments hit the cache and if not why, the static arguments, how each loop was
compiled, which rewrites fired, the kernels the backend runs, anything that fell back
to Python or the interpreter, and why the function last recompiled.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from tracejit import tree
from tracejit.debug.kernels import Kernel, kernels
from tracejit.debug.recompile import Miss, describe, kind, nearest
from tracejit.jit import Jitted, jit
from tracejit.keys import fetch_captures, leaf_key


@dataclass
class Explanation:
    """The report; `str()` formats it. Fields are plain data for tests and tools."""

    function: str
    backend: str
    hit: bool = False
    reason: str = ""  # why these arguments miss (empty on a hit)
    signature: list[tuple[str, str]] = field(default_factory=list)  # (argument, key in words)
    static: list[tuple[str, Any]] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)  # seconds
    equations: tuple[int, int] = (0, 0)  # traced, after rewrites
    loops: list[tuple[int, str, str]] = field(default_factory=list)  # line, kind, reason
    rewrites: list[tuple[str, str, int, list[str]]] = field(default_factory=list)
    kernels: list[Kernel] = field(default_factory=list)
    backend_notes: list[str] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)  # Python loops, fallbacks, errors
    error: str = ""
    last_recompile: str = ""
    traces: int = 0
    blame: list[tuple[str, int]] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def lines(self) -> list[str]:
        out = [f"explain {self.function} on the {self.backend} backend"]
        call = "cache hit" if self.hit else f"cache miss ({self.reason})"
        out.append(f"  call: {call}; {self.traces} trace(s) so far")
        if self.error:
            return out + [f"  error: {self.error}"]
        out.append("  signature: " + "; ".join(f"{a} {k}" for a, k in self.signature))
        if self.static:
            out.append("  static: " + ", ".join(f"{a}={v!r}" for a, v in self.static))
        out.append("  time: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in self.times.items()))
        out.append(f"  equations: {self.equations[0]} traced, {self.equations[1]} after rewrites")
        out += section("loops", [f"line {line}: {kind_of_loop(k)}" + (f" ({why})" if why else "")
                                 for line, k, why in self.loops])
        out += section("rewrites fired", [
            f"{n} x [{ruleset}] {rule}" + (f"  ({', '.join(where)})" if where else "")
            for ruleset, rule, n, where in self.rewrites])
        out += section(f"kernels ({self.backend})",
                       self.backend_notes + [k.label + lines_of(k) for k in self.kernels])
        out += section("graph breaks and fallbacks", self.breaks or ["none"])
        history = [self.last_recompile or "never (one trace)"]
        history += [f"{n} retrace(s) from {what}" for what, n in self.blame]
        out += section("last recompilation", history)
        return out


def section(title: str, items: list[str]) -> list[str]:
    if not items:
        return [f"  {title}: none"]
    return [f"  {title}:"] + [f"    {item}" for item in items]


def kind_of_loop(k: str) -> str:
    return {"scan": "compiled loop (scan)", "while": "compiled loop (while)",
            "python": "Python loop, unrolled while tracing"}.get(k, k)


def lines_of(k: Kernel) -> str:
    where = sorted({f"{os.path.basename(e.source.filename)}:{e.source.lineno}"
                    for e in k.eqns if e.source is not None})
    return f"  <- {', '.join(where)}" if where else ""


def explain(f: Callable, *args: Any, **kwargs: Any) -> Explanation:
    """Trace and emit `f` for these arguments as a call would (without running it) and
    report what happened: cache hit or miss and why, static arguments, times, loops,
    rewrites, kernels per backend, fallbacks, and why `f` last recompiled.

    >>> print(tracejit.explain(f, x, 3))
    """
    jitted = f if isinstance(f, Jitted) else jit(f)
    name = getattr(jitted.fn, "__name__", "f")
    report = Explanation(name, jitted.backend)
    try:
        values = jitted.canonical(args, kwargs)
        leaves, treedef = tree.flatten(values)
        key = (treedef, tuple(leaf_key(x, jitted._static_floats, i)
                              for i, x in enumerate(leaves)))
        report.hit, report.reason = lookup(jitted, key)
        entry, _, _ = jitted.entry_for(args, kwargs)
    except Exception as exc:  # noqa: BLE001 - the report says what went wrong
        report.error = f"{type(exc).__name__}: {exc}"
        report.traces = jitted.info.traces
        return report
    paths = tree.argument_paths(treedef, jitted.names)
    report.signature = [(p, describe(k)) for p, k in zip(paths, key[1], strict=True)]
    report.static = [(p, k[-1]) for p, k in zip(paths, key[1], strict=True)
                     if kind(k) == "static"]
    report.times = {"trace": entry.trace_seconds, "rewrite": entry.rewrite_seconds,
                    "emit": entry.compile_seconds}
    graph = entry.graph or entry.traced.graph
    report.equations = (len(entry.traced.graph.eqns), len(graph.eqns))
    report.loops = [(r.line, r.kind, r.reason) for r in entry.traced.loops]
    report.rewrites = rewrite_counts(entry.rewrites)
    describe_backend(report, jitted, entry, graph)
    report.traces = jitted.info.traces
    recompiles(report, jitted)
    return report


def lookup(jitted: Jitted, key: tuple) -> tuple[bool, str]:
    """Whether a call with `key` would hit, and if not why."""
    entry = jitted._cache.get(key)
    if entry is None:
        if not jitted._cache:
            return False, "first call"
        changes = nearest(key, list(jitted._cache), jitted.names)
        return False, "; ".join(str(c) for c in changes) or "new signature"
    from tracejit.keys import capture_keys

    captured = fetch_captures(entry)
    if captured and capture_keys(captured) != entry.capture_keys:
        return False, "a captured global array changed shape, dtype or layout"
    return True, ""


def rewrite_counts(fired: tuple) -> list[tuple[str, str, int, list[str]]]:
    """Fired records grouped by rule: (rule set, rule, count, user lines)."""
    counts = Counter((f.ruleset, f.rule) for f in fired)
    where: dict[tuple[str, str], set[str]] = {}
    for f in fired:
        if f.source is not None:
            where.setdefault((f.ruleset, f.rule), set()).add(
                f"{os.path.basename(f.source.filename)}:{f.source.lineno}")
    return [(ruleset, rule, n, sorted(where.get((ruleset, rule), ()))[:4])
            for (ruleset, rule), n in counts.most_common()]


def describe_backend(report: Explanation, jitted: Jitted, entry: Any, graph: Any) -> None:
    run = entry.run
    if getattr(run, "fallback", None) is not None:
        report.breaks.append("the Numba backend could not compile this graph: it runs on "
                             "the NumPy interpreter (BackendFallbackWarning)")
    if jitted.backend in ("numba", "auto") and getattr(run, "source", None) is None:
        report.breaks.append("a dtype Numba cannot compute with (float16): the graph runs "
                             "on the NumPy interpreter")
        report.kernels = kernels(graph, "numpy")
    else:
        report.kernels = kernels(graph, jitted.backend)
    if getattr(run, "source", None) is not None:
        variant = "parallel (prange)" if getattr(run, "parallel", False) else "serial"
        report.backend_notes.append(f"one generated module, {variant} variant "
                                    "(tracejit.show_source(f, *args) prints it); Numba "
                                    "compiles it on the first run or loads it from disk")
    elif jitted.backend == "numpy":
        report.backend_notes.append("the NumPy interpreter: one NumPy call per equation")
    slow = [k for k in report.kernels if not k.native]
    if slow and getattr(run, "source", None) is not None:
        ops = ", ".join(sorted({e.op for k in slow for e in k.eqns}))
        report.breaks.append(f"{len(slow)} call(s) run in Numba's object mode ({ops}): "
                             "NumPy's implementation, a few microseconds each")
    python = [r for r in entry.traced.loops if r.kind == "python"]
    if python:
        report.breaks.append(f"{len(python)} loop(s) left in Python and unrolled while "
                             "tracing (see loops)")
    if jitted._warned_overlap:
        report.breaks.append("called with overlapping argument arrays: such calls run "
                             "un-jitted, as plain NumPy")


def recompiles(report: Explanation, jitted: Jitted) -> None:
    last: Miss | None = next((m for m in reversed(jitted.history.misses) if not m.first), None)
    if last is not None:
        report.last_recompile = f"trace {last.number}: {last.reason()}"
    report.blame = [(f"{argument}'s {what}", n)
                    for (argument, what), n in jitted.history.blame.most_common(3)]
