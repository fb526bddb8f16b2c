"""The buffers of a compiled loop: where each iteration writes its results, and how the
carried arrays pass to the next iteration with as few copies as the body allows.
Backend-neutral: it reads the loop body's fusion plan (`tracejit.rewrite.fusion`).

A loop owns one buffer per carried array (a copy of the initial value, or that array
itself when nothing else needs it, so the body may update it in place) and, where the
body computes the carry's next value with its own loops, a *spare*: the body writes the
next value into the spare and the two swap at the end of the iteration (double
buffering), so no iteration allocates. Per carry:

* the next value is a slice update of the carry itself, `c[1:-1] = f(c)` (the update
  reads the old value, so it cannot be written in place): the spare starts as a copy
  of the initial value and the loop writes only the slice into it. Outside the slice
  both buffers hold the same values at the start of each iteration, since no iteration
  changes them there. This is the hand-written two-grid stencil loop.
* a slice update of another buffer that nothing else reads is written in place (the
  carries are the plan's `writable` inputs), with no spare.
* any other value computed by a loop is written into a plain spare.
* stacked per-step outputs computed by a loop are written straight into their row of
  the stacked array.

At the end of the iteration each carry *takes* the buffer holding its next value when
that buffer is the loop's own and no other carry took it first; otherwise its value is
copied into a buffer no longer needed (two carries with the same next value, a carry
that is a constant). A copy covers only what the next iteration reads: a carry that the
body only updates in place through a slice needs only what lies outside the slice
(`tmp[1:-1] = f(u); u[:] = tmp` copies tmp's border), one the body does not read needs
nothing; its complete value is then the one held by the carry that took the buffer
(`finals`). When that partial copy goes into the buffer the other carry held, as in the
example, it is needed in the first iteration only: the slice update leaves the outside
of its carry unchanged, so both buffers hold the same outside from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.rewrite.fusion import Call, Loop, Plan

#: the part of a carried array a copy must cover: all of it, none of it, or (slice
#: triples) what lies outside that slice
Region = Union[str, tuple[tuple[int, int, int], ...]]
#: a loop buffer: ("carry", i) or ("spare", i)
Buffer = tuple[str, int]


@dataclass(frozen=True)
class Move:
    """How carry or spare `target` gets its buffer for the next iteration: the buffer
    holding `source` (`take`), or the old buffer `reuse` (None: a new one) after copying
    `region` of `source` into it; in the first iteration only (`once`) when from then on
    that buffer holds the region already."""

    target: Buffer
    source: Var | None
    take: bool = False
    reuse: Buffer | None = None
    region: Region = "none"
    once: bool = False


@dataclass
class CarryPlan:
    """`storage`: body values written into a loop buffer (("spare", i), or ("row", j): the
    current row of stacked output j). `spares`: carry index → "empty" or "outside" (starts
    as a copy of the carry). `finals[i]`: the carry whose buffer holds carry i's value
    after the loop (when it ran at least once)."""

    storage: dict[Var, Buffer] = field(default_factory=dict)
    spares: dict[int, str] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    finals: dict[int, int] = field(default_factory=dict)


def writable_carries(body: Graph, first: int, n_carry: int) -> frozenset[Var]:
    """The body inputs of carried arrays: buffers the body may update in place."""
    return frozenset(v for v in body.inputs[first:first + n_carry] if v.ndim)


def plan_carries(plan: Plan, first: int, n_carry: int, fresh_call: Callable[[Eqn], bool],
                 readers: frozenset[Var] = frozenset()) -> CarryPlan:
    """Buffers for a body whose carried inputs start at input `first` and whose outputs
    are (*carries, *stacked). `fresh_call(eqn)`: the call's results are new arrays.
    `readers`: carry inputs read outside the body (by a while loop's condition)."""
    return CarryPlanner(plan, first, n_carry, fresh_call, readers).run()


class CarryPlanner:
    def __init__(self, plan: Plan, first: int, n_carry: int,
                 fresh_call: Callable[[Eqn], bool], readers: frozenset[Var]) -> None:
        body = plan.graph
        self.plan, self.fresh_call, self.readers = plan, fresh_call, readers
        self.inputs = body.inputs[first:first + n_carry]
        self.outputs = body.outputs[:n_carry]
        self.stacked = body.outputs[n_carry:]
        self.arrays = [i for i, v in enumerate(self.inputs) if v.ndim]
        self.made_by: dict[Var, Loop] = {}
        for kernel in plan.kernels:
            if isinstance(kernel, Loop):
                made = kernel.stores if kernel.kind == "map" else \
                    (kernel.reduce or kernel.scatter).outputs
                self.made_by.update({v: kernel for v in made})
        self.producer = {v: e for e in body.eqns for v in e.outputs}
        self.calls = {k.eqn for k in plan.kernels if isinstance(k, Call)}
        self.consumers: dict[Var, list[Eqn]] = {}
        for e in body.eqns:
            for v in e.inputs:
                self.consumers.setdefault(v, []).append(e)
        self.result = CarryPlan()

    def run(self) -> CarryPlan:
        self.place_results()
        self.pass_carries()
        return self.result

    # --- where the body writes ------------------------------------------------------

    def place_results(self) -> None:
        storage, spares = self.result.storage, self.result.spares
        for i in self.arrays:
            out = self.outputs[i]
            loop = self.made_by.get(out)
            if out in storage or loop is None:
                continue
            if loop.kind == "scatter":  # c[s] = f(c): the spare keeps c outside the slice
                if not loop.in_place and loop.scatter.inputs[0] is self.inputs[i]:
                    spares[i], storage[out] = "outside", ("spare", i)
            elif self.allocates(loop, out):
                spares[i], storage[out] = "empty", ("spare", i)
        for j, y in enumerate(self.stacked):
            loop = self.made_by.get(y)
            if (y.ndim and y not in storage and y not in self.outputs and loop is not None
                    and loop.kind != "scatter" and self.allocates(loop, y)):
                storage[y] = ("row", j)

    @staticmethod
    def allocates(loop: Loop, v: Var) -> bool:
        """Whether the loop writes `v` into a buffer it allocates (not a scalar, not a
        full reduction)."""
        if loop.kind == "map":
            return v.ndim > 0
        return v.ndim > 0 and len(loop.reduce.params["axes"]) < loop.reduce.inputs[0].ndim

    # --- passing carries on -----------------------------------------------------------

    def buffer_of(self, v: Var) -> Buffer | tuple[str, Var]:
        """The buffer holding body value `v`: a loop buffer, ("fresh", v) (allocated in
        this iteration), or ("external", v) (an outer array, a view, a stacked row)."""
        if v in self.result.storage:
            kind, index = self.result.storage[v]
            return (kind, index) if kind == "spare" else ("external", v)
        if v in self.inputs:
            return ("carry", self.inputs.index(v))
        loop = self.made_by.get(v)
        if loop is not None and loop.kind == "scatter" and loop.in_place:
            return self.buffer_of(loop.scatter.inputs[0])
        producer = self.producer.get(v)
        if loop is not None or (producer in self.calls and self.fresh_call(producer)):
            return ("fresh", v)
        return ("external", v)

    def region(self, i: int) -> Region:
        """What of carry i's buffer the next iteration reads."""
        v = self.inputs[i]
        if v in self.readers or v in self.plan.graph.outputs:
            return "full"
        users = self.consumers.get(v, [])
        if not users:
            return "none"
        (e, *more) = users
        loop = self.made_by.get(e.outputs[0])
        if (not more and e.op == "set_slice" and e.inputs[0] is v and loop is not None
                and loop.in_place and all(step == 1 for _, _, step in e.params["triples"])):
            return e.params["triples"]
        return "full"

    def pass_carries(self) -> None:
        result = self.result
        regions = {i: self.region(i) for i in self.arrays}
        order = sorted(self.arrays, key=lambda i: (regions[i] != "full", regions[i] == "none", i))
        claimed: dict = {}
        pending = []
        for i in order:
            src = self.buffer_of(self.outputs[i])
            if src[0] != "external" and src not in claimed:
                claimed[src] = i
                result.moves.append(Move(("carry", i), self.outputs[i], take=True))
                result.finals[i] = i
            else:
                pending.append(i)
        free = [b for i in self.arrays for b in [("carry", i), ("spare", i)]
                if (b[0] == "carry" or i in result.spares) and b not in claimed]

        def reuse(i: int, prefer: Buffer | None = None) -> Buffer | None:
            """A free buffer of carry i's shape and dtype."""
            fits = [b for b in free if self.inputs[b[1]].aval == self.inputs[i].aval]
            b = prefer if prefer in fits else next(iter(fits), None)
            if b is not None:
                free.remove(b)
            return b

        late = []
        for i, kind in result.spares.items():  # the old carry still holds the outside
            if kind == "outside" and ("carry", i) in free:
                free.remove(("carry", i))
                result.moves.append(Move(("spare", i), None, reuse=("carry", i)))
            else:
                late.append(i)
        for i in pending:
            src = self.buffer_of(self.outputs[i])
            region = regions[i]
            owner = claimed.get(src)
            if region == "full" or owner is None:
                region, owner = "full", i
            result.finals[i] = owner
            b = reuse(i, ("carry", owner))
            once = (b == ("carry", owner) != ("carry", i) and region != "none"
                    and self.updates_outside_only(i, region) and not self.written(owner))
            result.moves.append(Move(("carry", i), self.outputs[i], reuse=b, region=region,
                                     once=once))
        for i in late:
            region: Region = "none"
            if result.spares[i] == "outside":
                triples = self.producer[self.outputs[i]].params["triples"]
                unit = all(step == 1 for _, _, step in triples)
                region = triples if unit else "full"
            result.moves.append(Move(("spare", i), self.outputs[i] if region != "none" else None,
                                     reuse=reuse(i), region=region))
        for i, v in enumerate(self.inputs):
            if not v.ndim:
                result.finals[i] = i

    def updates_outside_only(self, i: int, triples: Region) -> bool:
        """Carry i's next value is its own slice update in place: the same outside."""
        e = self.producer.get(self.outputs[i])
        loop = self.made_by.get(self.outputs[i])
        return (e is not None and e.op == "set_slice" and e.inputs[0] is self.inputs[i]
                and e.params["triples"] == triples and loop is not None and loop.in_place)

    def written(self, j: int) -> bool:
        """Whether the body updates carry j's buffer in place."""
        return any(loop.kind == "scatter" and loop.in_place
                   and self.buffer_of(loop.scatter.inputs[0]) == ("carry", j)
                   for loop in self.made_by.values())
