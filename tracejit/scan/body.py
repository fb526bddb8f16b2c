"""Tracing a loop body once into its own graph, inside the trace of the function around it.

The body runs on fresh input tracers in a `Frame`: its equations go to a list of their
own, and every buffer from outside that it touches is *entered* (it reads a fresh entry
variable instead of the outer value). When the body returns:

- entered buffers it wrote are carried values (the arrays a loop updates in place);
- entered buffers it only read, and any other outside value it used, are constants;
- what it returned are the explicit carries and per-step outputs.

The result is a closed `Graph` plus the outer values that feed it, from which the loop
builders (`scan/api.py`) record one loop equation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

from tracejit import errors
from tracejit.graph.ir import Aval, Eqn, Graph, Var
from tracejit.rewrite import eliminate_dead_code
from tracejit.trace.context import Buffer, Frame, TraceContext, active_frame, set_active_frame
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, fresh, lift


@dataclass(frozen=True)
class Spec:
    """What a body input looks like to the body's Python code."""

    aval: Aval
    kind: str = "array"
    weak: bool = False

    @staticmethod
    def of(t: Tracer) -> Spec:
        return Spec(Aval(t.shape, t.dtype), t.kind, t.weak)


@dataclass
class Body:
    """A traced body: `graph` has inputs (*lead, *consts, *carries, *xs) and outputs
    (*carries, *ys). Carries are the explicit ones, then the buffers written in place."""

    graph: Graph
    n_lead: int
    consts: list[Var]  # outer values of the constant inputs
    n_explicit: int  # explicit carries (the body function's own), before buffer carries
    buffers: list[Buffer]  # buffer carries, in order
    buffer_inits: list[Var]  # their outer values at loop entry
    out_specs: list[Spec]  # kind and weak type of the explicit carries and ys returned

    @property
    def n_carry(self) -> int:
        return self.n_explicit + len(self.buffers)


@contextlib.contextmanager
def body_frame(ctx: TraceContext) -> Iterator[Frame]:
    """Record into a fresh equation list with a new frame; put everything back after."""
    frame = Frame(active_frame())
    saved = ctx.eqns, ctx.consts, ctx.source
    ctx.eqns, ctx.consts = [], {}
    set_active_frame(frame)
    try:
        yield frame
    finally:
        frame.eqns = ctx.eqns
        ctx.eqns, ctx.consts, ctx.source = saved
        set_active_frame(frame.parent)
        frame.restore()


def trace_body(ctx: TraceContext, fn: Callable[..., tuple[list, list]], lead: list[Spec],
               carries: list[Spec], xs: list[Spec], name: str,
               preset: list[Buffer] = ()) -> Body:
    """Trace `fn(*lead, *carries, *xs) -> (carries, ys)` once on fresh tracers.

    `preset` buffers are carried from the start (a while loop's condition sees the
    buffers its body writes as carries, not constants)."""
    with body_frame(ctx) as frame:
        inputs = [Var(s.aval.shape, s.aval.dtype) for s in lead + carries + xs]
        tracers = [fresh(ctx, v, s.kind, s.weak) for v, s in zip(inputs, lead + carries + xs,
                                                                   strict=True)]
        for buf in preset:
            buf.cross()  # entered now, so the body reads it as a carry
            frame.written.add(id(buf))
        out_carries, ys = fn(*tracers)
        if len(out_carries) != len(carries):
            raise errors.LoopCarryError(
                name, f"the body returned {len(out_carries)} carried values for "
                f"{len(carries)} carried in", "return the same structure as the initial "
                "carry", user_source())
        out_tracers = [lift(v) for v in list(out_carries) + list(ys)]
        out_vars = [t.sym for t in out_tracers]
        preset_ids = {id(b) for b in preset}
        written = [frame.entered[id(b)] for b in preset] + [
            entry for i, entry in frame.entered.items()
            if i in frame.written and i not in preset_ids]
        finals = [buf._var for buf, _, _ in written]
    if frame.concretized & frame.written:
        raise errors.LoopVaryingError(
            name, "the body used the value of an array as a Python value and then updated "
            "that array, so the value it used changes from one iteration to the next",
            "compute with np.where instead of if/else on array values, or run the loop in "
            "Python with `for ... in tracejit.unroll(range(n))`", user_source())
    n_lead, n_explicit = len(lead), len(carries)
    carry_in = inputs[n_lead:n_lead + n_explicit] + [entry for _, _, entry in written]
    graph, consts = close_graph(frame, inputs[:n_lead], carry_in, inputs[n_lead + n_explicit:],
                                out_vars[:n_explicit] + finals + out_vars[n_explicit:], name)
    return Body(graph, n_lead, consts, n_explicit, [buf for buf, _, _ in written],
                [outer for _, outer, _ in written], [Spec.of(t) for t in out_tracers])


def close_graph(frame: Frame, lead: list[Var], carry_in: list[Var], xs: list[Var],
                outputs: list[Var], name: str) -> tuple[Graph, list[Var]]:
    """The body as a closed graph: every value from outside becomes a constant input
    (entered buffers read but not written, and free variables), renamed to a fresh
    variable so the body shares no variable with the graph around it."""
    eqns: list[Eqn] = frame.eqns
    graph = eliminate_dead_code(Graph(tuple(lead + carry_in + xs), tuple(eqns),
                                      tuple(outputs), name))
    defined = set(graph.inputs) | {v for e in graph.eqns for v in e.outputs}
    const_outer: list[Var] = []
    rename: dict[Var, Var] = {}
    entries = {entry: outer for _, outer, entry in frame.entered.values()}
    for v in [u for e in graph.eqns for u in e.inputs] + list(graph.outputs):
        if v in defined or v in rename:
            continue
        if v in entries:  # a buffer the body read: its entry variable is already fresh
            rename[v] = v
            const_outer.append(entries[v])
        else:  # a value from outside used directly (a constant cached before the loop)
            rename[v] = Var(v.shape, v.dtype)
            const_outer.append(v)
    const_in = list(rename.values())
    eqns2 = tuple(Eqn(e.op, tuple(rename.get(u, u) for u in e.inputs), e.outputs, e.params,
                      e.source) for e in graph.eqns)
    outs = tuple(rename.get(u, u) for u in graph.outputs)
    n = len(lead)
    return Graph(tuple(lead) + tuple(const_in) + graph.inputs[n:], eqns2, outs, name), \
        const_outer


def slice_by_counter(body: Body, length: int) -> tuple[Body, list[Var]]:
    """Constants read a row at a time by the counter (`xs[t]` for the loop's own `t`)
    become per-step inputs: the body gets the row as an input instead of gathering it,
    and reverse mode stacks its cotangent instead of scattering into a whole array per
    step. Returns the new body and the outer values of the added per-step inputs (they
    follow the body's existing ones)."""
    graph = body.graph
    if body.n_lead != 1:
        return body, []
    k = graph.inputs[0]
    consts = graph.inputs[1:1 + len(body.consts)]
    rows: dict[Var, Var] = {}  # gather output -> the per-step input replacing it
    taken: dict[Var, Var] = {}  # constant -> its per-step input
    for eqn in graph.eqns:
        if eqn.op != "gather" or len(eqn.inputs) != 2 or eqn.inputs[1] is not k:
            continue
        c = eqn.inputs[0]
        full = (("a",),) + tuple(("s", 0, n, 1) for n in c.shape[1:])
        if c in consts and c.shape[:1] == (length,) and eqn.params["spec"] == full:
            if c not in taken:
                taken[c] = Var(c.shape[1:], c.dtype)
            rows[eqn.outputs[0]] = taken[c]
    if not rows:
        return body, []
    eqns = tuple(Eqn(e.op, tuple(rows.get(u, u) for u in e.inputs), e.outputs, e.params,
                     e.source) for e in graph.eqns if e.outputs[0] not in rows)
    outputs = tuple(rows.get(u, u) for u in graph.outputs)
    still = {u for e in eqns for u in e.inputs} | set(outputs)
    keep = [i for i, c in enumerate(consts) if c not in taken or c in still]
    new_consts = [consts[i] for i in keep]
    n = 1 + len(consts)
    inputs = (k,) + tuple(new_consts) + graph.inputs[n:] + tuple(taken.values())
    new = Body(Graph(inputs, eqns, outputs, graph.name), 1, [body.consts[i] for i in keep],
               body.n_explicit, body.buffers, body.buffer_inits, body.out_specs)
    outer = [body.consts[consts.index(c)] for c in taken]
    return new, outer


def check_carries(name: str, carried: list[Spec], returned: list[Spec],
                  names: list[str]) -> None:
    """A carry must keep its shape and dtype from one iteration to the next."""
    for what, a, b in zip(names, carried, returned, strict=True):
        if a.aval != b.aval:
            raise errors.LoopCarryError(
                name, f"the loop-carried value {what} enters an iteration as {a.aval} and "
                f"leaves it as {b.aval}", "keep its shape and dtype fixed (cast with "
                ".astype, allocate it at its final shape before the loop), or run the loop "
                "in Python with `for ... in tracejit.unroll(range(n))` (traced once per "
                "iteration)", user_source())
