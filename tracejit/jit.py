"""`jit`: trace on first call per signature, cache, run the compiled graph.

A call: canonicalize the arguments (signature order), flatten them, build the key
(tree structure; shape, dtype, writeable flag and layout of each array; values of static
leaves) → look it up → on a miss trace and compile → run → write back mutated arrays →
rebuild the outputs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, overload

import numpy as np

from tracejit import errors, tree
from tracejit.config import config, watch
from tracejit.debug.recompile import History
from tracejit.emit import compile_graph
from tracejit.fastcall import Dispatch, position_kinds, result_builder
from tracejit.keys import CacheInfo, Entry, capture_keys, fetch_captures, leaf_key
from tracejit.placement import backend_for, is_device_array, stand_in
from tracejit.results import (
    donated_inputs,
    fresh_value,
    input_value,
    output_value,
    shares_memory,
    view_value,
)
from tracejit.rewrite import optimize
from tracejit.trace.context import Respecialize, current
from tracejit.trace.driver import Static, apply_rebinds, trace

if TYPE_CHECKING:
    from tracejit.graph.ir import Graph

log = logging.getLogger("tracejit")


class Jitted(Dispatch):
    """A jitted function. Call it like the original; see `jit` for the options."""

    def __init__(self, fn: Callable, backend: str | None = None,
                 static_argnums: tuple[int, ...] = (), static_argnames: tuple[str, ...] = (),
                 stability: bool | None = None, debug_nans: bool | None = None) -> None:
        self.fn = fn
        self.backend = backend or config.backend
        #: None: follow `config.stability` at compile time
        self.stability = stability
        #: None: follow `config.debug_nans` at call time
        self.debug_nans = debug_nans
        self.signature = inspect.signature(fn)
        params = list(self.signature.parameters.values())
        self.names = [p.name for p in params]
        self.simple = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                          for p in params)
        self.static = {self.names[i] for i in static_argnums} | set(static_argnames)
        unknown = self.static - set(self.names)
        if unknown:
            raise ValueError(f"jit({fn.__name__}): static_argnames {sorted(unknown)} are not "
                             f"parameters of {fn.__name__}{self.signature}")
        self.static_positions = frozenset(self.names.index(n) for n in self.static)
        self._cache: dict[Any, Entry] = {}
        self._static_floats: frozenset[int] = frozenset()
        self._static_seen: dict[int, set] = {}
        self._warned: set[int] = set()
        self._warned_overlap = False
        self.info = CacheInfo()
        self.history = History()  # misses and their reasons (tracejit.debug.recompile)
        LIVE.add(self)
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):  # a functools.partial
            self.__name__ = getattr(getattr(fn, "func", None), "__name__", type(fn).__name__)

    def __repr__(self) -> str:
        return f"<tracejit.jit {getattr(self.fn, '__qualname__', self.fn)}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    # --- calling --------------------------------------------------------------------

    def canonical(self, args: tuple, kwargs: dict) -> tuple:
        """Parameter values in signature order, static ones wrapped in `Static`."""
        if self.simple and not kwargs and len(args) == len(self.names):
            values = args
        else:
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{self.__name__}(): {exc}") from None
            bound.apply_defaults()
            values = tuple(bound.arguments[n] for n in self.names)
        if self.static_positions:
            values = tuple(Static(v) if i in self.static_positions else v
                           for i, v in enumerate(values))
        return values

    # Calling goes through `Dispatch` (tracejit.fastcall): the fast path for calls like
    # one remembered, `call_general` for the rest.

    def call_general(self, args: tuple, kwargs: dict) -> Any:
        """The general path: canonical key, lookup or compile, run, write back."""
        if current() is not None:
            return self.inline(args, kwargs)
        entry, leaves, captured = self.entry_for(args, kwargs)
        if entry.traced.writebacks and self.overlapping(entry, leaves, captured):
            return self.fn(*args, **kwargs)
        if self.debug_nans or (self.debug_nans is None and config.debug_nans):
            from tracejit.debug.nans import checked  # its run is no fast path

            entry = checked(self, entry)
        out = self.execute(entry, leaves, captured)
        if not kwargs:
            self.remember_fast(args, entry)
        return out

    def entry_for(self, args: tuple, kwargs: dict) -> tuple[Entry, list[Any], list[Any]]:
        """The cache entry for these arguments (tracing and compiling on a miss), the
        argument leaves, and the captured arrays' current values."""
        values = self.canonical(args, kwargs)
        leaves, treedef = tree.flatten(values)
        key = (treedef, tuple(leaf_key(x, self._static_floats, i)
                              for i, x in enumerate(leaves)))
        entry = self._cache.get(key)
        captured = fetch_captures(entry, leaves)
        if entry is None or (captured and capture_keys(captured) != entry.capture_keys):
            entry = self.compile(key, treedef, leaves, stale=entry)
            captured = fetch_captures(entry, leaves)
        else:
            self.info.hits += 1
            log.debug("%s: cache hit", self.__name__)
        return entry, leaves, captured

    def remember_fast(self, args: tuple, entry: Entry) -> None:
        """Let calls like this one take the fast path (see `tracejit.fastcall`)."""
        runner = entry.run.fast_runner() if hasattr(entry.run, "fast_runner") else None
        traced = entry.traced
        if runner is None or traced.captures or traced.writebacks or traced.guard \
                or traced.rebinds or not entry.fresh:
            return
        kinds = position_kinds(args, self.static_positions | self._static_floats)
        # every traced argument feeds the graph, in order (not so when an array is
        # passed twice or is unused)
        if kinds is None or list(traced.arg_leaves) != [
                i for i, kind in enumerate(kinds) if kind != ord("s")]:
            return
        ok, post = result_builder(traced)
        if not ok:
            return
        if self._fast_kinds != kinds:
            self._fast_install(kinds)
        self._fast_add(args, runner[0], runner[1], post)

    def inline(self, args: tuple, kwargs: dict) -> Any:
        """Called while tracing another function: trace straight through."""
        from tracejit.trace.capture import shadow_function

        return shadow_function(current(), self.fn)(*args, **kwargs)

    def execute(self, entry: Entry, leaves: list[Any], captured: list[Any]) -> Any:
        traced = entry.traced
        inputs = [input_value(leaves[i]) for i in traced.arg_leaves] + captured
        try:
            results = entry.run(*inputs)
        except Exception as exc:  # located at the user's line (tracejit.debug.errors)
            self.run_failed(exc, (), entry, inputs)
            raise
        # Outputs first: a returned copy of an argument's old value must not see the
        # write-back (nor may a result that is an input array itself: passed through a
        # loop, or a donated input's memory reused). Views of arguments are rebuilt
        # after it, as NumPy's would see it.
        realized: dict[int, Any] = {
            s[1]: results[s[1]].copy() for s in traced.out_specs if s[0] in ("var", "subview")
            and any(results[s[1]] is x for x in inputs)}
        fresh = entry.fresh
        outs = [None if spec[0] == "view" else output_value(spec, results, realized, fresh)
                for spec in traced.out_specs]
        if traced.writebacks:
            targets = [leaves[where] if kind == "arg" else captured[where]
                       for (kind, where), _ in traced.writebacks]
            # a result that is its target already holds the value (a donated input)
            news = [None if results[pos] is target else fresh_value(results[pos], inputs, fresh)
                    for (_, pos), target in zip(traced.writebacks, targets, strict=True)]
            for target, new in zip(targets, news, strict=True):
                if new is not None:
                    np.copyto(target, new, casting="unsafe")
        for i, spec in enumerate(traced.out_specs):
            if spec[0] == "view":
                outs[i] = view_value(spec, leaves, captured)
        out = tree.unflatten(traced.out_tree, outs)
        return apply_rebinds(traced, out, leaves) if traced.rebinds else out

    def run_failed(self, exc: Exception, args: tuple, entry: Entry | None = None,
                   inputs: list[Any] | None = None) -> None:
        """A compiled call raised `exc`: raise it located at the user's line, or return
        and let the caller re-raise it. The fast path passes only its `args`."""
        from tracejit.debug.errors import relocate

        if entry is None:
            entry, leaves, captured = self.entry_for(args, {})
            inputs = [input_value(leaves[i]) for i in entry.traced.arg_leaves] + captured
        relocate(self, entry, inputs or [], exc)

    def overlapping(self, entry: Entry, leaves: list[Any], captured: list[Any]) -> bool:
        """Distinct argument or captured arrays sharing memory, in a function that
        writes arrays: the trace treats them as independent, NumPy would not."""
        traced = entry.traced
        arrays = [leaves[i] for i in traced.arg_leaves if isinstance(leaves[i], np.ndarray)]
        arrays += captured
        for i, a in enumerate(arrays):
            for b in arrays[i + 1:]:
                if a is not b and shares_memory(a, b):
                    if not self._warned_overlap:
                        self._warned_overlap = True
                        warnings.warn(
                            f"tracejit: {self.__name__} writes to arrays and was called "
                            "with distinct arrays that overlap in memory; running it "
                            "un-jitted so NumPy's aliasing holds. Pass non-overlapping "
                            "arrays (or the same array object) to use the compiled version.",
                            RuntimeWarning, stacklevel=3)
                    return True
        return False

    # --- compiling ------------------------------------------------------------------

    def compile(self, key: Any, treedef: Any, leaves: list[Any], stale: Entry | None = None
                ) -> Entry:
        """Trace, rewrite and emit for a new key (`stale`: the cached entry for this key
        whose captured arrays changed)."""
        self.info.misses += 1
        self.history.note(self, key, stale)
        self.note_static_values(leaves)
        start = time.perf_counter()
        while True:
            try:
                self.info.traces += 1
                traced = trace(self.fn, treedef, self.traceable(leaves), self.call,
                               self.names)
                break
            except Respecialize as exc:
                self._static_floats |= exc.leaves
                log.info("%s: Python float argument(s) %s used as concrete values; retracing "
                         "with them static", self.__name__, sorted(exc.leaves))
                key = (treedef, tuple(leaf_key(x, self._static_floats, i)
                                      for i, x in enumerate(leaves)))
        traced_at = time.perf_counter()
        graph, fired = self.optimized(traced.graph)
        rewritten_at = time.perf_counter()
        backend = backend_for(self.backend, leaves, self.__name__)
        run = compile_graph(graph, backend, donated_inputs(traced))
        entry = Entry(traced, run, capture_keys([e.accessor() for e in traced.captures]),
                      traced_at - start, getattr(run, "fresh_outputs", False), fired, graph,
                      rewritten_at - traced_at, time.perf_counter() - rewritten_at)
        self._cache[key] = entry
        self.info.size = len(self._cache)
        log.info("%s: compiled for the %s backend (%d equations, %d after rewrites): trace "
                 "%.1f ms, rewrite %.1f ms, emit %.1f ms", self.__name__, backend,
                 len(traced.graph.eqns), len(graph.eqns), entry.trace_seconds * 1e3,
                 entry.rewrite_seconds * 1e3, entry.compile_seconds * 1e3)
        return entry

    def optimized(self, graph: Any) -> tuple[Any, tuple]:
        """The graph after the rewrite pipeline (unless `config.rewrites` is off), and
        the rewrites that fired."""
        if not config.rewrites:
            return graph, ()
        stability = config.stability if self.stability is None else self.stability
        return optimize(graph, stability=stability)

    def traceable(self, leaves: list[Any]) -> list[Any]:
        """The leaves to trace with: CuPy arrays by NumPy stand-ins (`placement`)."""
        leaves = self.with_static_floats(leaves)
        if any(is_device_array(x) for x in leaves):
            leaves = [stand_in(x) if is_device_array(x) else x for x in leaves]
        return leaves

    def with_static_floats(self, leaves: list[Any]) -> list[Any]:
        if not self._static_floats:
            return leaves
        return [Static(x) if i in self._static_floats and isinstance(x, (float, complex))
                else x for i, x in enumerate(leaves)]

    def call(self, fn: Callable, values: tuple) -> Any:
        # Parameters still at their default are left out, as the caller left them out:
        # NumPy's functions treat "not given" and "given the default" differently
        # (np.sum's keepdims=np._NoValue, a ufunc's signature=None with dtype=None).
        if self.simple:
            params = list(self.signature.parameters.values())
            n = len(values)
            while n and values[n - 1] is params[n - 1].default:
                n -= 1
            return fn(*values[:n])
        arguments = {name: v for (name, p), v in zip(self.signature.parameters.items(),
                                                     values, strict=True)
                     if v is not p.default or p.kind is p.POSITIONAL_ONLY}
        bound = inspect.BoundArguments(self.signature, arguments)
        return fn(*bound.args, **bound.kwargs)

    def note_static_values(self, leaves: list[Any]) -> None:
        """Warn once when a static leaf has taken too many distinct values."""
        for i, leaf in enumerate(leaves):
            static = isinstance(leaf, (Static, int, bool)) or i in self._static_floats
            if not static or isinstance(leaf, np.generic):
                continue
            value = leaf.value if isinstance(leaf, Static) else leaf
            seen = self._static_seen.setdefault(i, set())
            try:
                seen.add(value)
            except TypeError:
                continue
            if len(seen) > config.max_static_values and i not in self._warned:
                self._warned.add(i)
                warnings.warn(
                    f"tracejit: {self.__name__} has been retraced for "
                    f"{len(seen)} distinct values of static argument leaf {i} "
                    f"(now {value!r}); Python ints, bools and static arguments are compiled "
                    "in as constants. If it changes often, pass it as an array "
                    "(np.asarray(n)) so it is traced, or as a float.",
                    RecompilationWarning, stacklevel=4)

    # --- introspection --------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Hits, misses, traces and entries of this function's trace cache."""
        hits = self.info.hits + self._fast_hits
        return CacheInfo(hits, self.info.misses, self.info.traces, len(self._cache))

    def cache_clear(self) -> None:
        self._cache.clear()
        self._fast_install(None)
        self._fast_hits = 0
        self.info = CacheInfo()
        self.history = History()

    def drop_fast_path(self) -> None:
        """Send every call through the general path again (until it registers anew)."""
        self.info.hits += self._fast_hits
        self._fast_hits = 0
        self._fast_install(None)

    def explain(self, *args: Any, **kwargs: Any) -> Any:
        """What tracejit does with a call like this one: `tracejit.explain`."""
        from tracejit.debug.explain import explain

        return explain(self, *args, **kwargs)

    def graph(self, *args: Any, **kwargs: Any) -> Graph:
        """The traced graph for these arguments."""
        values = self.canonical(args, kwargs)
        leaves, treedef = tree.flatten(values)
        return trace(self.fn, treedef, self.traceable(leaves), self.call, self.names).graph


def show_source(f: Jitted, *args: Any, backend: str | None = None, **kwargs: Any) -> str:
    """The generated source `f` runs for these arguments (traced and compiled if it has
    not been called with arguments like them yet; nothing is run). `backend`: that of
    another backend ("numba", or "cuda": the CUDA C++ of every kernel, made without a
    GPU; default: `f`'s own)."""
    if not isinstance(f, Jitted):
        raise TypeError(f"show_source takes a jitted function (tracejit.jit(fn)), got "
                        f"{type(f).__name__}")
    if backend is not None:
        from tracejit.debug.graphs import for_backend

        f = for_backend(f, backend)
    entry, _, _ = f.entry_for(args, kwargs)
    source = getattr(entry.run, "source", None)
    if source is None:
        raise ValueError(f"{f.__name__} runs on the NumPy interpreter (backend="
                         f"{f.backend!r}), which generates no source; use backend='numba' "
                         "or 'cuda'")
    return source


class RecompilationWarning(UserWarning):
    """A jitted function keeps being retraced: for new static argument values, or more
    than `config.max_retraces` times for any reason (the warning names the argument)."""


#: every jitted function, so a change of `config.debug_nans` can drop their fast paths
#: (which run no check): the check then costs nothing while it is off
LIVE: weakref.WeakSet[Jitted] = weakref.WeakSet()


def drop_fast_paths(_value: Any) -> None:
    for f in list(LIVE):
        f.drop_fast_path()


watch("debug_nans", drop_fast_paths)


@overload
def jit(fn: Callable, *, backend: str | None = None, static_argnums: int | tuple[int, ...] = (),
        static_argnames: str | tuple[str, ...] = (), stability: bool | None = None,
        debug_nans: bool | None = None) -> Jitted: ...


@overload
def jit(fn: None = None, *, backend: str | None = None,
        static_argnums: int | tuple[int, ...] = (),
        static_argnames: str | tuple[str, ...] = (), stability: bool | None = None,
        debug_nans: bool | None = None) -> Callable[[Callable], Jitted]: ...


def jit(fn: Callable | None = None, *, backend: str | None = None,
        static_argnums: int | tuple[int, ...] = (),
        static_argnames: str | tuple[str, ...] = (), stability: bool | None = None,
        debug_nans: bool | None = None) -> Jitted | Callable[[Callable], Jitted]:
    """Compile a NumPy function by tracing it.

    >>> @jit
    ... def f(x, y):
    ...     return np.sin(x) * y + 1
    >>> f(np.ones(3), 2.0)          # traced on the first call for this shape and dtype
    array([2.68294197, 2.68294197, 2.68294197])

    Python ints and bools are static (part of the cache key); floats and arrays are
    traced. `static_argnums`/`static_argnames` make any hashable argument static.
    `backend` is "auto" (the default: Numba on the CPU, CUDA for CuPy arguments),
    "numba", "cuda" (NumPy arguments are copied to the GPU and the results back), or
    "numpy" for the reference interpreter.
    `stability=False` turns off the numerical-stability rewrites (`log(1 + x)` stays as
    written instead of becoming `log1p(x)`); the default follows `config.stability`.
    `debug_nans=True` checks every call's outputs for NaN and Inf and, when finite inputs
    gave one, raises FloatingPointError naming the first equation that made it (default:
    `config.debug_nans`).
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)

    def wrap(f: Callable) -> Jitted:
        if isinstance(f, Jitted):
            f = f.fn
        return Jitted(f, backend, tuple(static_argnums), tuple(static_argnames), stability,
                      debug_nans)

    return wrap if fn is None else wrap(fn)


__all__ = ["CacheInfo", "Jitted", "RecompilationWarning", "errors", "jit", "show_source"]
