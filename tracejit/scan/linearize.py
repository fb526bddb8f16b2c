"""The derivative bodies of a scan, built by tracing a body's derivative once.

A scan body is a closed graph `(k, *consts, *carries, *x_k) -> (*carries, *y_k)`. Its
derivative bodies are traced, like any loop body, into a frame of their own: the body is
inlined on fresh inputs, then `transform.backward` (reverse mode) or `transform.forward`
(forward mode) runs over the inlined equations, so every op's own rule, nested scans
included, builds the derivative.

Reverse mode is then split by partial evaluation (JAX's `partial_eval_jaxpr` of a
linearized body, done on the recorded equations): an equation that reads no cotangent
belongs to the forward loop, one that does to the backward loop. What the backward part
reads from the forward part is a residual, placed where it is cheapest to have:

* the counter, a const, or a per-step input: read again by the backward loop (nothing
  stored);
* a value computed from consts only (`W.T`): computed once before the backward loop
  (hoisted), a const of it;
* anything else (a carry's value at step k, `1 - tanh²`): an extra per-step output of
  the forward loop, stacked over steps (stored). A view of such a value (`h.T`, a
  reshape, a broadcast) is recomputed by the backward loop from what it views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

from tracejit.autodiff import transform
from tracejit.autodiff.build import fit, full, is_inexact
from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.rewrite import eliminate_dead_code
from tracejit.scan.body import body_frame
from tracejit.trace.context import TraceContext
from tracejit.trace.tracer import fresh


@dataclass(frozen=True)
class Linearization:
    """A scan body split for backprop through time.

    `fwd`: the body plus residual outputs, `(k, *consts, *carries, *x_k) -> (*carries,
    *y_k, *res_k)`. `hoist`: `(*consts) -> (*hoisted)`, the loop-invariant values the
    backward body reads. `bwd`: the backward body, `(k, *b_consts, *b_carries, *b_xs) ->
    (*b_carries, *x_bar_k)` where

    * `b_consts` are `consts`: ("const", i) the scan's const i, ("hoist", j) hoisted j;
    * `b_carries` are the cotangents of the carries listed in `carries`, then the
      accumulated cotangents of the consts listed in `accs`;
    * `b_xs` are `xs`: ("ct_y", j) the cotangent of per-step output j, ("res", j)
      residual j, ("xs", i) the scan's per-step input i;
    * the stacked outputs are the cotangents of the per-step inputs listed in `ys`.
    """

    fwd: Graph
    hoist: Graph
    bwd: Graph
    consts: tuple[tuple[str, int], ...]
    carries: tuple[int, ...]
    accs: tuple[int, ...]
    xs: tuple[tuple[str, int], ...]
    ys: tuple[int, ...]


@dataclass(frozen=True)
class Shape:
    """How a scan's operands divide: consts, carries, per-step inputs."""

    n_consts: int
    n_carry: int
    n_xs: int

    def carry(self, j: int) -> int:  # operand position (body input position after k)
        return self.n_consts + j

    def x(self, i: int) -> int:
        return self.n_consts + self.n_carry + i

    def groups(self) -> list[range]:
        """The operand positions of the consts, of the carries, of the per-step inputs."""
        return [range(self.carry(0)), range(self.carry(0), self.x(0)),
                range(self.x(0), self.x(self.n_xs))]


def active_carries(body: Graph, shape: Shape, active: Sequence[bool]) -> tuple[list[int],
                                                                              set[Var]]:
    """The carries a derivative flows through, and the body's values that depend on an
    active operand. A carry is active if it enters active or if an iteration makes it so
    (it depends on an active const or input): a fixpoint over the body."""
    carried = {j for j in range(shape.n_carry) if active[shape.carry(j)]}
    while True:
        roots = body_roots(body, shape, active, carried)
        act = transform.active_vars(list(body.eqns), [body.inputs[1 + p] for p in roots])
        more = {j for j in range(shape.n_carry) if body.outputs[j] in act} - carried
        if not more:
            return sorted(carried), act
        carried |= more


def body_roots(body: Graph, shape: Shape, active: Sequence[bool],
               carried: Collection[int]) -> list[int]:
    """Positions (after k) of the body inputs that are differentiated: the active consts
    and per-step inputs, the `carried` carries; inexact ones only."""
    def wanted(p: int) -> bool:
        if shape.carry(0) <= p < shape.x(0):
            return p - shape.n_consts in carried
        return active[p]

    return [p for p in range(len(body.inputs) - 1)
            if wanted(p) and is_inexact(body.inputs[1 + p].dtype)]


def inline(ctx: TraceContext, graph: Graph, inputs: Sequence[Var]) -> list[Var]:
    """Record `graph`'s equations on `inputs` into the current equation list, on fresh
    variables; returns the values of its outputs."""
    env = dict(zip(graph.inputs, inputs, strict=True))
    for eqn in graph.eqns:
        outs = tuple(Var(v.shape, v.dtype) for v in eqn.outputs)
        new = Eqn(eqn.op, tuple(env[v] for v in eqn.inputs), outs, eqn.params, eqn.source)
        ctx.eqns.append(new)
        for old, v in zip(eqn.outputs, outs, strict=True):
            env[old] = v
            ctx.producer[v] = new
    return [env[v] for v in graph.outputs]


# --- reverse mode ---------------------------------------------------------------------


def linearize(ctx: TraceContext, body: Graph, shape: Shape, active: Sequence[bool],
              ct_ys: Sequence[bool]) -> Linearization:
    """Split `body` for a backward loop giving cotangents to the `active` operands, with
    cotangents arriving for the carries and for the per-step outputs marked in `ct_ys`."""
    t = trace_linearized(ctx, body, shape, active, ct_ys)
    split = Split(t.ins, set(t.ct_carry) | set(t.ct_y.values()) | set(t.acc_in), t.eqns,
                  shape)
    b_out = t.new_ct + t.acc_out + t.x_bar
    res = split.residuals(b_out)
    kinds = {r: split.where(r) for r in res}
    stored = [r for r in res if kinds[r][0] == "res"]
    hoisted = [r for r in res if kinds[r][0] == "hoist"]
    fwd = Graph(tuple(t.ins), tuple(split.fwd), tuple(t.outs + stored), f"{body.name}_fwd")
    hoist = Graph(tuple(t.ins[1:1 + shape.n_consts]), tuple(
        e for e in split.fwd if e.outputs and not split.varies(e)), tuple(hoisted),
        f"{body.name}_hoist")
    kinds.update({r: ("hoist", hoisted.index(r)) for r in hoisted})
    kinds.update({r: ("res", stored.index(r)) for r in stored})
    kinds.update({v: ("ct_y", j) for j, v in t.ct_y.items()})
    b_consts = [r for r in res if kinds[r][0] in ("const", "hoist")]
    b_xs = [v for v in t.ct_y.values() if v in split.used] + \
        [r for r in res if kinds[r][0] in ("res", "xs")]
    bwd = copy_graph([t.ins[0]] + b_consts + t.ct_carry + t.acc_in + b_xs, split.bwd, b_out,
                     f"{body.name}_bwd")
    return Linearization(eliminate_dead_code(fwd), eliminate_dead_code(hoist), bwd,
                         tuple(kinds[r] for r in b_consts), tuple(t.carried), tuple(t.accs),
                         tuple(kinds[v] for v in b_xs), tuple(t.ys))


@dataclass
class Traced:
    """A body and its backward pass traced into one equation list (`eqns`), on inputs
    `ins`. Cotangents enter as `ct_carry` (for the `carried` carries) and `ct_y` (per
    per-step output); `acc_in` are the accumulated cotangents of the consts at `accs`.
    The backward pass gives `new_ct` (the carries' cotangents at step entry), `acc_out`
    and `x_bar` (cotangents of the per-step inputs at `ys`)."""

    ins: list[Var]
    outs: list[Var]
    eqns: list[Eqn]
    carried: list[int]
    ct_carry: list[Var]
    ct_y: dict[int, Var]
    new_ct: list[Var]
    accs: list[int]
    acc_in: list[Var]
    acc_out: list[Var]
    ys: list[int]
    x_bar: list[Var]


def trace_linearized(ctx: TraceContext, body: Graph, shape: Shape, active: Sequence[bool],
                     ct_ys: Sequence[bool]) -> Traced:
    carried, act = active_carries(body, shape, active)
    n_carry = shape.n_carry
    with body_frame(ctx) as frame:
        ins = [Var(v.shape, v.dtype) for v in body.inputs]
        outs = inline(ctx, body, ins)
        forward_eqns = list(ctx.eqns)
        root_at = body_roots(body, shape, active, carried)
        ct_carry = [Var(outs[j].shape, outs[j].dtype) for j in carried]
        ct_y = {j: Var(outs[n_carry + j].shape, outs[n_carry + j].dtype)
                for j, wanted in enumerate(ct_ys)
                if wanted and body.outputs[n_carry + j] in act}
        targets = [outs[j] for j in carried] + [outs[n_carry + j] for j in ct_y]
        seeds = [fresh(ctx, v) for v in ct_carry + list(ct_y.values())]
        grads = dict(zip(root_at, transform.backward(
            ctx, forward_eqns, [ins[1 + p] for p in root_at], targets, seeds), strict=True))
        new_ct = [cotangent(grads.get(shape.carry(j)), ins[1 + shape.carry(j)])
                  for j in carried]
        accs = [i for i in range(shape.n_consts) if grads.get(i) is not None]
        acc_in = [Var(ins[1 + i].shape, ins[1 + i].dtype) for i in accs]
        acc_out = [(fresh(ctx, a) + fit(grads[i], a.aval)).sym
                   for i, a in zip(accs, acc_in, strict=True)]
        ys = [i for i in range(shape.n_xs) if grads.get(shape.x(i)) is not None]
        x_bar = [fit(grads[shape.x(i)], ins[1 + shape.x(i)].aval).sym for i in ys]
        eqns = list(ctx.eqns)
    assert not frame.entered, "a scan derivative body read a value from outside"
    return Traced(ins, outs, eqns, carried, ct_carry, ct_y, new_ct, accs, acc_in, acc_out,
                  ys, x_bar)


def cotangent(ct, like: Var) -> Var:
    """A cotangent's (or tangent's) value, fitted to `like` (zeros where none flowed)."""
    return (full(like.aval, 0) if ct is None else fit(ct, like.aval)).sym


def copy_graph(inputs: list[Var], eqns: list[Eqn], outputs: list[Var], name: str) -> Graph:
    """A graph of `eqns` with every variable renamed: it shares none with another body."""
    env = {v: Var(v.shape, v.dtype) for v in inputs}
    copied = []
    for eqn in eqns:
        outs = tuple(Var(v.shape, v.dtype) for v in eqn.outputs)
        copied.append(Eqn(eqn.op, tuple(env[v] for v in eqn.inputs), outs, eqn.params,
                          eqn.source))
        env.update(zip(eqn.outputs, outs, strict=True))
    return Graph(tuple(env[v] for v in inputs), tuple(copied), tuple(env[v] for v in outputs),
                 name)


#: ops the backward loop recomputes from their operand rather than having the forward
#: loop store their result: views and broadcasts, never smaller than what they read
REMAT = frozenset({"reshape", "transpose", "broadcast_to"})


class Split:
    """The equations of a body's forward-and-backward trace, divided into those that read
    a cotangent (`bwd`) and those that do not (`fwd`), with what the former read from
    the latter."""

    def __init__(self, ins: list[Var], seeds: set[Var], eqns: list[Eqn], shape: Shape):
        self.ins, self.shape, self.seeds = ins, shape, seeds
        self.varying = {ins[0]} | set(ins[1 + shape.n_consts:])  # k, carries, inputs
        self.order = eqns
        reads_ct = set(seeds)
        self.fwd: list[Eqn] = []
        self.in_bwd: set[int] = set()
        for eqn in eqns:
            if any(v in reads_ct for v in eqn.inputs):
                self.in_bwd.add(id(eqn))
                reads_ct.update(eqn.outputs)
            else:
                self.fwd.append(eqn)
                if self.varies(eqn):
                    self.varying.update(eqn.outputs)
        self.producer = {v: e for e in self.fwd for v in e.outputs}
        self.bwd: list[Eqn] = []
        self.used: set[Var] = set()

    def varies(self, eqn: Eqn) -> bool:
        return any(v in self.varying for v in eqn.inputs)

    def residuals(self, outputs: list[Var]) -> list[Var]:
        """Keep the backward equations `outputs` need; the values they read from outside
        the backward part, in order of first use. A per-step view of a value is
        recomputed by the backward part (its operand is the residual instead)."""
        while True:
            bwd = [e for e in self.order if id(e) in self.in_bwd]
            self.bwd = list(eliminate_dead_code(Graph((), tuple(bwd), tuple(outputs))).eqns)
            defined = {v for e in self.bwd for v in e.outputs}
            res: dict[Var, None] = {}
            for v in [v for e in self.bwd for v in e.inputs] + outputs:
                if v not in defined and v not in self.seeds:
                    res.setdefault(v)
            remat = {id(self.producer[r]) for r in res if self.where(r)[0] == "res"
                     and r in self.producer and self.producer[r].op in REMAT}
            if not remat:
                self.used = set(res) | {v for e in self.bwd for v in e.inputs}
                return list(res)
            self.in_bwd |= remat

    def where(self, v: Var) -> tuple[str, int]:
        ins, shape = self.ins, self.shape
        if v is ins[0]:
            return "k", 0
        position = next((p for p, u in enumerate(ins[1:]) if u is v), None)
        if position is not None and position < shape.n_consts:
            return "const", position
        if position is not None and position >= shape.x(0):
            return "xs", position - shape.x(0)
        if v not in self.varying:
            return "hoist", -1
        return "res", -1


# --- forward mode ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tangents:
    """A scan body's JVP, `graph`: `(k, *consts, *t_consts, *carries, *t_carries, *x_k,
    *t_x_k) -> (*carries, *t_carries, *y_k, *t_y_k)`, with tangents for the operands at
    `roots` (positions after k, in order), for the carries in `carries` and for the
    per-step outputs in `ys`."""

    graph: Graph
    roots: tuple[int, ...]
    carries: tuple[int, ...]
    ys: tuple[int, ...]


def jvp_body(ctx: TraceContext, body: Graph, shape: Shape,
             active: Sequence[bool]) -> Tangents:
    """The JVP of `body` with tangents entering for the `active` operands."""
    carried, _ = active_carries(body, shape, active)
    roots = body_roots(body, shape, active, carried)
    n_carry = shape.n_carry
    with body_frame(ctx) as frame:
        ins = [Var(v.shape, v.dtype) for v in body.inputs]
        outs = inline(ctx, body, ins)
        t_in = {p: Var(ins[1 + p].shape, ins[1 + p].dtype) for p in roots}
        tan = transform.forward(ctx, list(ctx.eqns), [ins[1 + p] for p in roots],
                                [fresh(ctx, t_in[p]) for p in roots])
        t_carry = [cotangent(tan.get(outs[j]), outs[j]) for j in carried]
        ys = [j for j in range(len(outs) - n_carry) if outs[n_carry + j] in tan]
        t_y = [tan[outs[n_carry + j]].sym for j in ys]
        eqns = list(ctx.eqns)
    assert not frame.entered, "a scan derivative body read a value from outside"
    inputs = [ins[0]]
    for group in shape.groups():
        inputs += [ins[1 + p] for p in group] + [t_in[p] for p in roots if p in group]
    outputs = outs[:n_carry] + t_carry + outs[n_carry:] + t_y
    graph = Graph(tuple(inputs), tuple(eqns), tuple(outputs), f"{body.name}_jvp")
    return Tangents(eliminate_dead_code(graph), tuple(roots), tuple(carried), tuple(ys))
