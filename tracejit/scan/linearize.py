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
  the forward loop, stacked over steps (stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

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

    @property
    def n_res(self) -> int:
        return sum(1 for kind, _ in self.xs if kind == "res")


@dataclass(frozen=True)
class Shape:
    """How a scan's operands divide: consts, carries, per-step inputs."""

    n_consts: int
    n_carry: int
    n_xs: int

    def const(self, i: int) -> int:  # position among the body's inputs after k
        return i

    def carry(self, j: int) -> int:
        return self.n_consts + j

    def x(self, i: int) -> int:
        return self.n_consts + self.n_carry + i


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


def body_roots(body: Graph, shape: Shape, active: Sequence[bool], carried) -> list[int]:
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
    split = Split(ins, set(ct_carry) | set(ct_y.values()) | set(acc_in), eqns, shape)
    b_out = new_ct + acc_out + x_bar
    res = split.residuals(b_out)
    stored = [r for r in res if split.where(r)[0] == "res"]
    hoisted = [r for r in res if split.where(r)[0] == "hoist"]
    fwd = eliminate_dead_code(Graph(tuple(ins), tuple(split.fwd), tuple(outs + stored),
                                    f"{body.name}_fwd"))
    hoist = eliminate_dead_code(Graph(tuple(ins[1:1 + shape.n_consts]), tuple(
        e for e in split.fwd if e.outputs and not split.varies(e)), tuple(hoisted),
        f"{body.name}_hoist"))
    b_consts = [r for r in res if split.where(r)[0] in ("const", "hoist")]
    b_xs = [v for v in ct_y.values() if v in split.used] + \
        [r for r in res if split.where(r)[0] in ("res", "xs")]
    rename = {v: Var(v.shape, v.dtype) for v in [ins[0]] + b_consts + ct_carry + acc_in + b_xs}
    bwd = Graph(tuple(rename[v] for v in [ins[0]] + b_consts + ct_carry + acc_in + b_xs),
                tuple(Eqn(e.op, tuple(rename.get(v, v) for v in e.inputs), e.outputs,
                          e.params, e.source) for e in split.bwd),
                tuple(rename.get(v, v) for v in b_out), f"{body.name}_bwd")
    where = {r: split.where(r) for r in res}
    where.update({r: ("hoist", hoisted.index(r)) for r in hoisted})
    where.update({r: ("res", stored.index(r)) for r in stored})
    where.update({v: ("ct_y", j) for j, v in ct_y.items()})
    return Linearization(fwd, hoist, eliminate_dead_code(bwd),
                         tuple(where[r] for r in b_consts), tuple(carried), tuple(accs),
                         tuple(where[v] for v in b_xs), tuple(ys))


def cotangent(ct, like: Var) -> Var:
    """A cotangent's (or tangent's) value, fitted to `like` (zeros where none flowed)."""
    return (full(like.aval, 0) if ct is None else fit(ct, like.aval)).sym


class Split:
    """The equations of a body's forward-and-backward trace, divided into those that read
    a cotangent (`bwd`) and those that do not (`fwd`), with what the former read from
    the latter."""

    def __init__(self, ins: list[Var], seeds: set[Var], eqns: list[Eqn], shape: Shape):
        self.ins, self.shape = ins, shape
        self.consts = set(ins[1:1 + shape.n_consts])
        self.varying = {ins[0]} | set(ins[1 + shape.n_consts:])  # k, carries, inputs
        reads_ct = set(seeds)
        self.fwd: list[Eqn] = []
        self.bwd: list[Eqn] = []
        for eqn in eqns:
            if any(v in reads_ct for v in eqn.inputs):
                self.bwd.append(eqn)
                reads_ct.update(eqn.outputs)
            else:
                self.fwd.append(eqn)
                if self.varies(eqn):
                    self.varying.update(eqn.outputs)
        self.seeds = seeds
        self.used: set[Var] = set()

    def varies(self, eqn: Eqn) -> bool:
        return any(v in self.varying for v in eqn.inputs)

    def residuals(self, outputs: list[Var]) -> list[Var]:
        """Keep the backward equations `outputs` need; the values they read from outside
        the backward part, in order of first use."""
        graph = eliminate_dead_code(Graph((), tuple(self.bwd), tuple(outputs)))
        self.bwd = list(graph.eqns)
        defined = {v for e in self.bwd for v in e.outputs}
        res: dict[Var, None] = {}
        for v in [v for e in self.bwd for v in e.inputs] + outputs:
            self.used.add(v)
            if v not in defined and v not in self.seeds:
                res.setdefault(v)
        return list(res)

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
    bounds = [0, shape.carry(0), shape.x(0), len(ins) - 1]
    inputs = [ins[0]]
    for lo, hi in zip(bounds, bounds[1:]):
        inputs += ins[1 + lo:1 + hi] + [t_in[p] for p in roots if lo <= p < hi]
    outputs = outs[:n_carry] + t_carry + outs[n_carry:] + t_y
    graph = Graph(tuple(inputs), tuple(eqns), tuple(outputs), f"{body.name}_jvp")
    return Tangents(eliminate_dead_code(graph), tuple(roots), tuple(carried), tuple(ys))
