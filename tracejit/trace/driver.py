"""Trace a Python function on abstract arguments into a `Graph` plus the calling
convention: which argument leaves feed which inputs, which captures are read, how the
outputs are rebuilt, which external buffers are written back, which attributes are
rebound, and what must still hold on a call for the trace to apply (`Traced.guard`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tracejit import tree
from tracejit.graph.ir import Graph, Var
from tracejit.rewrite import eliminate_dead_code
from tracejit.trace import api, views
from tracejit.trace.capture import (
    MISMATCH,
    Objects,
    Path,
    Rebind,
    alias_pattern,
    shadow_function,
    step_set,
)
from tracejit.trace.context import Buffer, External, TraceContext, tracing
from tracejit.trace.tracer import Tracer, check_array_dtype

api.load()


class Static:
    """A leaf passed to the function as itself (part of the cache key)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class Traced:
    graph: Graph
    arg_leaves: list[int]  # graph input i (for i < len) is argument leaf arg_leaves[i]
    captures: list[External]  # the remaining graph inputs, in order
    out_tree: Any
    out_specs: list[tuple]  # per output leaf: ("var", pos, kind, copy) | ("view", ...) | ...
    writebacks: list[tuple[tuple, int]]  # (("arg", leaf) | ("capture", k), output position)
    loops: list[Any] = field(default_factory=list)  # how each loop ran (for `explain`)
    #: guard(leaves, captured values) -> bool: the paths to captured arrays still agree
    #: and arrays alias as they did while tracing; None: nothing to check
    guard: Callable[[Any, list[Any]], bool] | None = None
    #: attributes and items set to traced values: set after each call, to the values
    #: the graph computed (the last output leaves, after the function's own)
    rebinds: list[Rebind] = field(default_factory=list)


def arg_tracer(ctx: TraceContext, leaf: Any, index: int, buffers: dict[int, Buffer]) -> Any:
    if isinstance(leaf, Static):
        return leaf.value
    if isinstance(leaf, np.ndarray):
        if id(leaf) in buffers:  # the same array passed twice: one buffer, as in NumPy
            buf = buffers[id(leaf)]
            return Tracer(ctx, buf, kind="array")
        check_array_dtype(leaf)
        var = ctx.add_input(Var(leaf.shape, leaf.dtype))
        buf = Buffer(var, writeable=leaf.flags.writeable, external=len(ctx.externals),
                     strides=views.layout_of(leaf))
        ctx.externals.append(External(var, buf, "arg", leaf=index,
                                      describe=f"argument {ctx.arg_names[index]}"))
        buffers[id(leaf)] = buf
        t = Tracer(ctx, buf, kind="array")
        ctx.captured[id(leaf)] = t  # a global naming the same array shares its buffer
        return t
    if isinstance(leaf, np.generic):
        check_array_dtype(np.asarray(leaf))
        var = ctx.add_input(Var((), leaf.dtype))
        buf = Buffer(var, writeable=False, external=len(ctx.externals), strides=())
        ctx.externals.append(External(var, buf, "arg", leaf=index,
                                      describe=f"argument {ctx.arg_names[index]}"))
        return Tracer(ctx, buf, kind="scalar")
    if isinstance(leaf, (float, complex)):
        var = ctx.add_input(Var((), np.dtype(type(leaf))))
        buf = Buffer(var, writeable=False, external=len(ctx.externals), strides=())
        ctx.externals.append(External(var, buf, "arg", leaf=index,
                                      describe=f"argument {ctx.arg_names[index]}"))
        ctx.scalar_leaves[var] = index
        return Tracer(ctx, buf, kind="python", weak=True)
    return leaf


def trace(fn: Callable, treedef: Any, leaves: list[Any], call: Callable,
          names: list[str]) -> Traced:
    """Run `fn` on tracers for `leaves` (the flattened parameter values, `names` the
    parameter names); `call(fn, args_tree)` invokes it."""
    ctx = TraceContext(name=getattr(fn, "__name__", "f"))
    ctx.arg_names = tree.argument_paths(treedef, names)
    objects = Objects(ctx, leaves, fn)
    try:
        with tracing(ctx):
            buffers: dict[int, Buffer] = {}
            tracers = [arg_tracer(ctx, leaf, i, buffers) for i, leaf in enumerate(leaves)]
            # objects after every array: an attribute holding an argument array shares it
            tracers = [objects.visit(t, argument_path(leaf, i)) if t is leaf or isinstance(
                leaf, Static) else t for i, (t, leaf) in enumerate(zip(tracers, leaves,
                                                                        strict=True))]
            shadow = shadow_function(ctx, fn)
            result = call(shadow, tree.unflatten(treedef, tracers))
            rebound = objects.finish()
            if rebound:  # their values are outputs too, after the function's own
                result = (result, tuple(value for _, _, value in rebound))
            out_leaves, out_tree = tree.flatten(result)
            specs, out_vars = output_specs(ctx, out_leaves)
    finally:
        objects.restore()
    writebacks = []
    for ext in ctx.externals:
        if ext.buffer.var is not ext.buffer.initial:
            where = ("arg", ext.leaf) if ext.kind == "arg" else ("capture", ext.var)
            writebacks.append((where, len(out_vars)))
            out_vars.append(ext.buffer.var)
    graph = eliminate_dead_code(ctx.graph(out_vars))
    traced = finish(ctx, graph, out_tree, specs, writebacks)
    traced.rebinds = objects.rebinds(rebound)
    arrays = [i for i, leaf in enumerate(leaves) if isinstance(leaf, np.ndarray)]
    values = [leaves[i] for i in arrays] + [e.accessor() for e in traced.captures]
    pattern = alias_pattern(values)
    # aliasing among arrays matters on every call where some were one object while
    # tracing, or where the function writes (distinct buffers must stay distinct)
    check = pattern != tuple(range(len(values))) or bool(writebacks)
    traced.guard = objects.guard(traced.captures, rebound, arrays if check else None,
                                 pattern if check else None)
    return traced


def argument_path(leaf: Any, index: int) -> Path:
    return Path(("arg", index, isinstance(leaf, Static)))


def apply_rebinds(traced: Traced, out: Any, leaves: list[Any]) -> Any:
    """Set the attributes and items the function rebound (`traced.rebinds`) to their
    new values, the last part of `out`; the function's own result."""
    result, values = out
    for rebind, value in zip(traced.rebinds, values, strict=True):
        container = rebind.container(leaves)
        if container is MISMATCH:
            raise AttributeError(f"tracejit: cannot set {rebind.describe}: the object "
                                 "that held it while tracing is no longer reachable")
        step_set(container, rebind.how, rebind.key, value)
    return result


def finish(ctx: TraceContext, graph: Graph, out_tree: Any, specs: list[tuple],
           writebacks: list) -> Traced:
    """Drop captures nothing reads or writes; number the remaining ones."""
    used = {v for e in graph.eqns for v in e.inputs} | set(graph.outputs)
    written = {w[0][1] for w in writebacks if w[0][0] == "capture"}
    viewed = {s[1][1] for s in specs if s[0] == "view" and s[1][0] == "capture"}
    captures = [e for e in ctx.externals if e.kind == "capture"
                and (e.var in used or e.var in written or e.var in viewed)]
    position = {e.var: k for k, e in enumerate(captures)}
    args = [e for e in ctx.externals if e.kind == "arg"]
    inputs = tuple(e.var for e in args) + tuple(e.var for e in captures)
    graph = Graph(inputs, graph.eqns, graph.outputs, graph.name)

    def renumber(where: tuple) -> tuple:
        return ("capture", position[where[1]]) if where[0] == "capture" else where

    specs = [(s[0], renumber(s[1])) + s[2:] if s[0] == "view" else s for s in specs]
    writebacks = [(renumber(w), pos) for w, pos in writebacks]
    return Traced(graph, [e.leaf for e in args], captures, out_tree, specs, writebacks,
                  list(ctx.loops))


def output_specs(ctx: TraceContext, out_leaves: list[Any]) -> tuple[list[tuple], list[Var]]:
    """Per output leaf: ("static", value); ("view", external, steps, kind) for a view of
    an argument or capture; ("var", pos, kind, copy) for a computed value; ("subview",
    pos, steps, kind) for a view of a computed value, so outputs alias as NumPy's do."""
    specs: list[tuple] = []
    out_vars: list[Var] = []
    position: dict[int, int] = {}  # id(buffer) -> output position of its value
    owner: dict[Var, Buffer] = {}
    inputs = set(ctx.inputs)

    def output_of(buf: Buffer) -> tuple[int, bool]:
        if id(buf) in position:
            return position[id(buf)], False
        var = buf.var
        copy = var in inputs or (var in owner and owner[var] is not buf)
        owner.setdefault(var, buf)
        position[id(buf)] = len(out_vars)
        out_vars.append(var)
        return position[id(buf)], copy

    for leaf in out_leaves:
        if isinstance(leaf, np.ndarray) and id(leaf) in ctx.captured:
            leaf = ctx.captured[id(leaf)]
        if not isinstance(leaf, Tracer):
            specs.append(("static", leaf))
            continue
        buf = leaf._buf
        if buf.external is not None:
            ext = ctx.externals[buf.external]
            where = ("arg", ext.leaf) if ext.kind == "arg" else ("capture", ext.var)
            specs.append(("view", where, leaf._steps, leaf.kind))
        elif leaf._steps:
            pos, copy = output_of(buf)
            specs.append(("subview", pos, leaf._steps, leaf.kind, copy))
        else:
            pos, copy = output_of(buf)
            specs.append(("var", pos, leaf.kind, copy))
    return specs, out_vars
