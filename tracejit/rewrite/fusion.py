"""Fusion planning: which equations become one loop nest, and which stay library calls.

Backend-neutral: a backend says which equations it can compute one element at a time
(`inlinable`) and which reductions it can fold into a loop (`foldable`); the plan says,
for each kernel, what is computed per iteration and what is read from memory.

The rules, in the order they apply:

* Elementwise ops and views (`slice`, `transpose`, `broadcast_to`, reshapes that
  only add or drop length-1 axes, and `gather` by 0-d indices: `x[i, 1:]` with a traced
  `i`) are computed inside the loop of whatever consumes them. A view costs nothing: it
  composes into the index map of the read (`IndexMap`), so `x[1:] - x[:-1]` reads `x`
  twice at shifted indices and never copies. A 0-d index is a run-time offset (`At`),
  wrapped and bounds-checked once by a `Call` of the gather placed where it was.
* A value is stored to memory (materialized) when it must exist as an array: a graph
  output, an input of a library call, the target of a `set_slice`; or when inlining it
  would compute it more than once per element: it has consumers in two loops or at two
  index maps, or a consumer broadcasts it along an axis (`exp(a)[:, None] * b`).
  Views and scalar constants are cheap enough to recompute anywhere.
* A foldable reduction absorbs the chain that feeds it: `sum(f(x))` is one pass, with
  the reduced value accumulated in a register.
* `set_slice` becomes a loop over the slice that computes the update in place of the
  copy-then-assign; it writes into its target's buffer directly when nothing else reads
  that buffer afterwards and the buffer is the plan's to overwrite: made by its own
  loops, or an input the caller declares `writable` (a loop body's carried arrays).
  So does `scatter` (`scatter_add`) by 0-d indices, `x[i] = v` (`+=`); it reads the
  target in its own loop only where it writes, or on rows it does not write (`x[i] =
  x[i - 1] + v` is in place), and no later kernel reads the target.
* Consecutive loops over the same shape merge into one, so two outputs of one chain are
  computed in one pass.
* A slice update that writes back the very slice it read, `set_slice(x, x[s], s)` (what
  `u[1:-1] += v` records after its update: Python assigns the augmented view back), is
  `x` itself: no kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Union

from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.rewrite.dce import eliminate_dead_code

VIEW_OPS = frozenset({"slice", "transpose", "broadcast_to", "reshape"})
FOLDABLE = frozenset({"sum", "prod", "max", "min", "any", "all", "reduce"})

INDEXING_OPS = frozenset({"gather", "scatter", "scatter_add"})


@dataclass(frozen=True)
class At:
    """A run-time offset, ``shift + scale * k``: k is index input `pos` of the gather or
    scatter whose output is `var`, wrapped and bounds-checked before any loop reads it."""

    var: Var
    pos: int
    scale: int = 1
    shift: int = 0


#: per axis of the array read: (loop axis or None, step, offset); the element read at
#: loop index i is ``offset + step * i[axis]`` (just ``offset`` when axis is None, where
#: it may be an `At`)
IndexMap = tuple[tuple[Union[int, None], int, Union[int, At]], ...]


def scalar_indexed(e: Eqn) -> bool:
    """A gather or scatter whose index inputs are all 0-d: basic indexing at run-time
    offsets (NumPy's result is the same)."""
    return e.op in INDEXING_OPS and all(v.ndim == 0 for v in index_inputs(e))


def index_inputs(e: Eqn) -> tuple[Var, ...]:
    return e.inputs[1:] if e.op == "gather" else e.inputs[2:]


def index_axes(spec: tuple) -> list[int]:
    """The axis of the indexed array each index input picks from."""
    axes, axis = [], 0
    for item in spec:
        if item[0] == "a":
            axes.append(axis)
        axis += item[0] != "n"
    return axes


def identity_map(ndim: int) -> IndexMap:
    return tuple((k, 1, 0) for k in range(ndim))


def is_unit_reshape(src: tuple[int, ...], dst: tuple[int, ...]) -> bool:
    """Reshape that only inserts or removes length-1 axes."""
    return [d for d in src if d != 1] == [d for d in dst if d != 1]


def broadcast_map(src: tuple[int, ...], dst: tuple[int, ...], m: IndexMap) -> IndexMap:
    """The map for reading an array of shape `src` broadcast to `dst` read through `m`."""
    lead = len(dst) - len(src)
    return tuple(m[lead + d] if n == dst[lead + d] else (None, 0, 0)
                 for d, n in enumerate(src))


def view_input_map(eqn: Eqn, m: IndexMap) -> IndexMap:
    """The map for a view's input, given the map its output is read through."""
    src = eqn.inputs[0].shape
    dst = eqn.outputs[0].shape
    if eqn.op == "slice":
        return tuple(sliced(t, entry) for t, entry in zip(eqn.params["triples"], m, strict=True))
    if eqn.op == "gather":
        return index_map(eqn, m)
    if eqn.op == "transpose":
        out = [None] * len(src)
        for k, a in enumerate(eqn.params["axes"]):
            out[a] = m[k]
        return tuple(out)
    if eqn.op == "broadcast_to":
        return broadcast_map(src, dst, m)
    # unit reshape: match the non-1 axes in order
    kept = iter(entry for entry, n in zip(m, dst, strict=True) if n != 1)
    return tuple(next(kept) if n != 1 else (None, 0, 0) for n in src)


def sliced(triple: tuple[int, int, int], entry: tuple) -> tuple:
    """The entry for an axis sliced by `triple`, read through `entry`."""
    (start, _, step), (axis, s, off) = triple, entry
    if axis is not None:
        return (axis, step * s, start + step * off)
    if isinstance(off, At):
        return (None, 0, At(off.var, off.pos, step * off.scale, start + step * off.shift))
    return (None, 0, start + step * off)


def index_map(eqn: Eqn, m: IndexMap) -> IndexMap:
    """The map for the array a `scalar_indexed` gather reads (a scatter writes), given
    the map of its result (update): the result has one axis per slice and new axis."""
    out, entries, pos = [], iter(m), 0
    for item in eqn.params["spec"]:
        if item[0] == "s":
            out.append(sliced(item[1:], next(entries)))
        elif item[0] == "n":
            next(entries)
        else:
            out.append((None, 0, At(eqn.outputs[0], pos)))
            pos += 1
    return tuple(out)


def update_map(e: Eqn) -> IndexMap:
    """The map a scatter loop (over the update's shape) writes its target through."""
    if e.op == "set_slice":
        return tuple((k, step, start) for k, (start, _, step) in enumerate(e.params["triples"]))
    return index_map(e, identity_map(e.inputs[1].ndim))


def expands(m: IndexMap, loop_shape: tuple[int, ...]) -> bool:
    """Whether reading through `m` visits an element more than once per pass."""
    used = {axis for axis, _, _ in m if axis is not None}
    return any(n > 1 and k not in used for k, n in enumerate(loop_shape))


# --- the plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """Load `var` (a materialized array, or a scalar) at `index`."""

    var: Var
    index: IndexMap


@dataclass(frozen=True)
class Apply:
    """Compute `eqn` on values computed earlier in the same iteration (`args`, as
    positions in the body)."""

    eqn: Eqn
    args: tuple[int, ...]


@dataclass(frozen=True)
class Part:
    """Output `index` of the multi-output `Apply` at body position `source`."""

    source: int
    index: int


Step = Union[Read, Apply, Part]


@dataclass
class Loop:
    """One loop nest over `shape`. Per iteration, `body` computes values in order; the
    loop stores some (`stores`: var → body position, identity index), folds one into a
    reduction (`reduce`, whose input value is at `reduce_value`), or writes the update
    of a `set_slice` (`scatter`, its update at `scatter_value`)."""

    shape: tuple[int, ...]
    body: list[Step] = field(default_factory=list)
    stores: dict[Var, int] = field(default_factory=dict)
    reduce: Eqn | None = None
    reduce_value: int = -1
    scatter: Eqn | None = None
    scatter_value: int = -1
    in_place: bool = False
    memo: dict = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        return "reduce" if self.reduce else "scatter" if self.scatter else "map"


@dataclass
class Call:
    """An equation run as a library call on whole arrays."""

    eqn: Eqn


Kernel = Union[Loop, Call]


@dataclass
class Plan:
    """`graph` is the one planned: `source` without its identity updates."""

    graph: Graph
    kernels: list[Kernel]
    materialized: set[Var]
    source: Graph | None = None


def plan_fusion(graph: Graph, inlinable: Callable[[Eqn], bool],
                foldable: Callable[[Eqn], bool], writable: frozenset[Var] = frozenset()) -> Plan:
    """Group `graph`'s equations into kernels (see the module docstring). `writable`
    inputs are buffers the plan may update in place."""
    plan = Planner(drop_identity_updates(graph), inlinable, foldable, writable).run()
    plan.source = graph
    return plan


def drop_identity_updates(graph: Graph) -> Graph:
    """`graph` with every `y = set_slice(x, slice(x, s), s)` removed and `y` replaced by `x`
    (the same value, bitwise)."""
    producer = {v: e for e in graph.eqns for v in e.outputs}
    same: dict[Var, Var] = {}
    eqns = []
    for e in graph.eqns:
        e = Eqn(e.op, tuple(same.get(v, v) for v in e.inputs), e.outputs, e.params, e.source)
        read = producer.get(e.inputs[1]) if e.op == "set_slice" else None
        if (read is not None and read.op == "slice" and read.inputs[0] is e.inputs[0]
                and read.params["triples"] == e.params["triples"]):
            same[e.outputs[0]] = e.inputs[0]
            continue
        eqns.append(e)
    if not same:
        return graph
    outputs = tuple(same.get(v, v) for v in graph.outputs)
    return eliminate_dead_code(Graph(graph.inputs, tuple(eqns), outputs, graph.name))


class Planner:
    def __init__(self, graph: Graph, inlinable: Callable[[Eqn], bool],
                 foldable: Callable[[Eqn], bool], writable: frozenset[Var] = frozenset()) -> None:
        self.graph = graph
        self.writable = writable
        self.producer: dict[Var, Eqn] = {v: e for e in graph.eqns for v in e.outputs}
        self.consumers: dict[Var, list[Eqn]] = {}
        for e in graph.eqns:
            for v in e.inputs:
                self.consumers.setdefault(v, []).append(e)
        self.kind: dict[Eqn, str] = {e: self.classify(e, inlinable, foldable)
                                     for e in graph.eqns}

    def classify(self, e: Eqn, inlinable: Callable, foldable: Callable) -> str:
        if e.op in VIEW_OPS:
            if e.op != "reshape" or is_unit_reshape(e.inputs[0].shape, e.outputs[0].shape):
                return "view"
            return "call"
        if e.op == "full" or (e.op == "constant" and e.outputs[0].size == 1):
            return "scalar"
        if e.op in FOLDABLE and foldable(e):
            return "reduce"
        if e.op == "gather" and scalar_indexed(e):
            return "view"
        if e.op == "set_slice" or scalar_indexed(e):
            return "scatter"
        return "inline" if inlinable(e) else "call"

    # --- which values are stored ----------------------------------------------------

    def materialize(self) -> set[Var]:
        stored: set[Var] = set(self.graph.inputs) | set(self.graph.outputs)
        for e in self.graph.eqns:
            kind = self.kind[e]
            if kind in ("call", "reduce", "scatter"):
                stored.update(e.outputs)
            if kind == "call":
                stored.update(e.inputs)
            if kind == "scatter":
                stored.add(e.inputs[0])
            if e.op in INDEXING_OPS:
                stored.update(index_inputs(e))  # checked once, then read as offsets
        # uses[v]: the (root, index map, loop shape) at which v is needed
        uses: dict[Var, set] = {}
        for e in reversed(self.graph.eqns):
            for v in e.outputs:
                if v in stored or self.kind[e] in ("call", "reduce", "scatter"):
                    uses[v] = {(v, identity_map(v.ndim), v.shape)}
                    continue
                if self.kind[e] == "view":
                    continue
                sites = uses.get(v, set())
                if self.kind[e] != "scalar" and (len(sites) > 1 or any(
                        expands(m, shape) for _, m, shape in sites)):
                    stored.add(v)
                    uses[v] = {(v, identity_map(v.ndim), v.shape)}
            self.propagate(e, uses)
        return stored

    def propagate(self, e: Eqn, uses: dict[Var, set]) -> None:
        """Record where `e`'s inputs are needed, given where its outputs are."""
        kind = self.kind[e]
        if kind == "call":
            return
        if kind == "reduce" or kind == "scatter":
            v = e.inputs[0] if kind == "reduce" else e.inputs[1]
            uses.setdefault(v, set()).add((e, identity_map(v.ndim), v.shape))
            return
        sites = set().union(*(uses.get(v, set()) for v in e.outputs))
        out_shape = e.outputs[0].shape
        for v in e.inputs[:1] if kind == "view" else e.inputs:
            for root, m, shape in sites:
                vm = view_input_map(e, m) if kind == "view" else broadcast_map(v.shape,
                                                                               out_shape, m)
                uses.setdefault(v, set()).add((root, vm, shape))

    # --- kernels --------------------------------------------------------------------

    def run(self) -> Plan:
        self.stored = self.materialize()
        kernels: list[Kernel] = []
        for e in self.graph.eqns:
            kind = self.kind[e]
            if kind == "call":
                kernels.append(Call(e))
            elif kind == "reduce":
                loop = Loop(e.inputs[0].shape, reduce=e)
                loop.reduce_value = self.value(loop, e.inputs[0], identity_map(len(loop.shape)))
                kernels.append(loop)
            elif kind == "scatter":
                kernels.append(self.scatter_loop(e))
            else:
                if e.op == "gather":
                    kernels.append(Call(e))  # checks its indices; loops read x through At
                for v in e.outputs:
                    if v in self.stored and v not in self.graph.inputs:
                        self.store(kernels, v)
        for k, kernel in enumerate(kernels):
            if isinstance(kernel, Loop) and kernel.scatter and kernel.scatter.op != "set_slice":
                kernel.in_place = self.updates_in_place(kernels, k)
        return Plan(self.graph, kernels, self.stored)

    def store(self, kernels: list[Kernel], v: Var) -> None:
        """Add a loop storing `v`, merged into the previous loop when that is a map over
        the same shape that `v` does not read through a shifted index."""
        prev = kernels[-1] if kernels else None
        if isinstance(prev, Loop) and prev.kind == "map" and prev.shape == v.shape:
            trial = Loop(prev.shape, list(prev.body), dict(prev.stores), memo=dict(prev.memo))
            pos = self.value(trial, v, identity_map(v.ndim), own=True)
            if not any(isinstance(s, Read) and s.var in prev.stores for s in trial.body):
                trial.stores[v] = pos
                kernels[-1] = trial
                return
        loop = Loop(v.shape)
        loop.stores[v] = self.value(loop, v, identity_map(v.ndim), own=True)
        kernels.append(loop)

    def scatter_loop(self, e: Eqn) -> Loop:
        target, update = e.inputs[0], e.inputs[1]
        loop = Loop(update.shape, scatter=e)
        loop.scatter_value = self.value(loop, update, identity_map(update.ndim))
        later = [c for c in self.consumers.get(target, []) if c is not e]
        reads_target = any(isinstance(s, Read) and s.var is target for s in loop.body)
        # in place only into a buffer this plan's own loops made (a library call's
        # result may be a view of something still live) or a writable input, that
        # nothing reads afterwards
        loop.in_place = (self.overwritable(target) and target not in self.graph.outputs
                         and not later and not reads_target)
        return loop

    def overwritable(self, target: Var) -> bool:
        producer = self.producer.get(target)
        return target in self.writable if producer is None else \
            self.kind[producer] not in ("call", "reduce")

    def updates_in_place(self, kernels: list[Kernel], k: int) -> bool:
        """Whether scatter loop `k` by 0-d indices may write into its target's buffer:
        the plan's to overwrite, no output, seen by no library call (whose result may be
        a view of it) nor a transpose (the backend may make it a view), read by no later
        kernel, and read by this loop only where it writes or where it does not write
        (a single iteration reads everything before it writes)."""
        loop = kernels[k]
        e = loop.scatter
        target = e.inputs[0]
        if not self.overwritable(target) or target in self.graph.outputs or any(
                c is not e and (self.kind[c] == "call" or c.op == "transpose")
                for c in self.consumers.get(target, [])):
            return False
        if any(target in kernel_reads(kernel) for kernel in kernels[k + 1:]):
            return False
        write = update_map(e)
        return math.prod(loop.shape) <= 1 or all(
            all(r == w or (r[0] is None and w[0] is None) for r, w in zip(s.index, write,
                                                                         strict=True))
            for s in loop.body if isinstance(s, Read) and s.var is target)

    def value(self, loop: Loop, v: Var, m: IndexMap, own: bool = False) -> int:
        """Body position of `v` read through `m`, adding the steps that compute it."""
        key = (v, m)
        if key in loop.memo:
            return loop.memo[key]
        e = self.producer.get(v)
        if v in loop.stores and m == identity_map(v.ndim):
            return loop.stores[v]
        if e is None or (v in self.stored and not own) or self.kind[e] in ("call", "reduce",
                                                                          "scatter"):
            return self.add(loop, key, Read(v, m))
        if self.kind[e] == "view":
            pos = self.value(loop, e.inputs[0], view_input_map(e, m))
            loop.memo[key] = pos
            return pos
        out_shape = e.outputs[0].shape
        args = tuple(self.value(loop, x, broadcast_map(x.shape, out_shape, m))
                     for x in e.inputs)
        pos = self.add(loop, None, Apply(e, args))
        if len(e.outputs) == 1:
            loop.memo[key] = pos
        else:
            for k, out in enumerate(e.outputs):
                self.add(loop, (out, m), Part(pos, k))
        return loop.memo[key]

    @staticmethod
    def add(loop: Loop, key: tuple | None, step: Step) -> int:
        loop.body.append(step)
        pos = len(loop.body) - 1
        if key is not None:
            loop.memo[key] = pos
        return pos


def kernel_reads(kernel: Kernel) -> set[Var]:
    """The arrays a kernel reads (a scatter: its target too)."""
    if isinstance(kernel, Call):
        return set(kernel.eqn.inputs)
    found = {s.var for s in kernel.body if isinstance(s, Read)}
    return found | ({kernel.scatter.inputs[0]} if kernel.scatter else set())
