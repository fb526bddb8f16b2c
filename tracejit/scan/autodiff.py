"""Derivatives of the loop ops.

`scan`'s VJP is backprop through time: a second `scan`, over the steps in the opposite
order, whose body is the backward part of the body's linearization (`linearize.py`). Its
carries are the cotangents of the active carries and the accumulated cotangents of the
active consts; its per-step inputs are the output cotangents and the residuals the
forward loop stored; its stacked outputs are the cotangents of the per-step inputs. It is
an ordinary scan equation, so it compiles like any loop and can be differentiated again.

The forward loop computes the residuals: the rule replaces the forward scan the trace
recorded by one with the same outputs (the same variables, so nothing downstream
changes) plus the residuals as extra stacked outputs. Later backward passes over the same
forward loop (a Jacobian's rows) reuse them.

`scan`'s JVP is a scan of the body's JVP, tangent carries beside the primal carries; it
replaces the primal scan as well, so the loop runs once.

`while` has no rule: its trip count is only known when it runs, so reverse mode would
have to store an unbounded number of carries (JAX refuses it too; JAX's forward mode
through `while_loop` has no counterpart here). Loops with a trip count known while
tracing are `scan`s (`fori_loop` with Python bounds, converted `for` loops), which have
both. A while loop that no derivative flows through is no obstacle: the transforms only
look up rules where a cotangent or tangent reaches an equation.
"""

from __future__ import annotations

import weakref
from typing import Any

from tracejit.autodiff.build import full, is_inexact
from tracejit.autodiff.rules import NO_RULE, WITH_ACTIVE, defvjp
from tracejit.graph.ir import Eqn, Var
from tracejit.graph.ops import OPS
from tracejit.scan.linearize import Linearization, Shape, cotangent, inline, jvp_body, linearize
from tracejit.trace.context import TraceContext
from tracejit.trace.tracer import Tracer, fresh

NO_RULE["while"] = (
    "a while loop runs a number of iterations known only at run time, so reverse mode "
    "cannot store its carries (and it has no forward-mode rule either); write the loop "
    "with a fixed trip count (a `for` loop over range(n), tracejit.fori_loop with Python "
    "bounds, or tracejit.scan), which is differentiable in both modes")

#: forward scans extended with residuals: {key: (linearization, residual outputs)}, the
#: key being which operands are differentiated and which outputs have cotangents
LINEARIZED: weakref.WeakKeyDictionary[Eqn, dict[tuple, tuple[Linearization, tuple[Var, ...]]]]
LINEARIZED = weakref.WeakKeyDictionary()


def scan_vjp(cts, ans, *xs, body, n_consts, n_carry, length, reverse, active=None):
    """Cotangents of the scan's operands: the final carries of the backward scan for the
    initial carries and the consts, its stacked outputs for the per-step inputs; None for
    operands that are not `active` or that no cotangent reaches."""
    cts, ans = as_tuple(cts), as_tuple(ans)
    ctx = ans[0]._ctx
    shape = Shape(n_consts, n_carry, len(xs) - n_consts - n_carry)
    active = tuple(active) if active is not None else tuple(is_inexact(x.dtype) for x in xs)
    loop = {"length": length, "reverse": reverse}
    lin, res = forward_with_residuals(ctx, body, shape, active, cts, ans, xs, loop)
    outs = record_backward(ctx, lin, res, shape, cts, ans, xs, loop)
    in_cts: list[Any] = [None] * len(xs)
    slots = [shape.carry(j) for j in lin.carries] + list(lin.accs) + \
        [shape.x(i) for i in lin.ys]
    for slot, v in zip(slots, outs, strict=True):
        in_cts[slot] = fresh(ctx, v)
    return in_cts


def forward_with_residuals(ctx: TraceContext, body, shape: Shape, active: tuple, cts: tuple,
                           ans: tuple, xs: tuple, loop: dict) -> tuple[Linearization, tuple]:
    """The body's linearization and the forward loop's stacked residuals. The recorded
    forward scan is extended in place; where it is not in the current equation list (it
    was recorded in another loop body), a second forward loop computes the residuals."""
    index = recorded(ctx, ans, xs)
    eqn = ctx.eqns[index] if index is not None else None
    fwd_body = eqn.params["body"] if eqn is not None else body
    # per-step outputs with a cotangent, by index: an extended scan's outputs begin with
    # the ones it extends, so the key holds for every extension of the same loop
    ct_ys = tuple(j for j, ct in enumerate(cts[shape.n_carry:]) if not known_zero(ctx, ct))
    key = (active, ct_ys)
    if eqn is not None and key in LINEARIZED.get(eqn, {}):
        return LINEARIZED[eqn][key]
    n_ys = len(fwd_body.outputs) - shape.n_carry
    lin = linearize(ctx, fwd_body, shape, active, [j in ct_ys for j in range(n_ys)])
    n_out = len(fwd_body.outputs)
    params = {"body": lin.fwd, "n_consts": shape.n_consts, "n_carry": shape.n_carry, **loop}
    if eqn is None:
        return lin, tuple(ctx.record("scan", [x.sym for x in xs], params)[n_out:])
    avals = OPS["scan"].infer(*(v.aval for v in eqn.inputs), **params)
    res = tuple(Var(a.shape, a.dtype) for a in avals[n_out:])
    new = Eqn("scan", eqn.inputs, eqn.outputs + res, params, eqn.source)
    ctx.eqns[index] = new
    for v in new.outputs:
        ctx.producer[v] = new
    LINEARIZED[new] = {**LINEARIZED.get(eqn, {}), key: (lin, res)}
    return lin, res


def record_backward(ctx: TraceContext, lin: Linearization, res: tuple, shape: Shape,
                    cts: tuple, ans: tuple, xs: tuple, loop: dict) -> list[Var]:
    """Record the backward scan; returns its outputs (carry cotangents, const
    cotangents, stacked input cotangents)."""
    consts = [x.sym for x in xs[:shape.n_consts]]
    hoisted = inline(ctx, lin.hoist, consts)
    b_consts = [(consts if kind == "const" else hoisted)[i] for kind, i in lin.consts]
    b_carries = [cotangent(cts[j], ans[j].sym) for j in lin.carries] + \
        [full(xs[i].sym.aval, 0).sym for i in lin.accs]
    per_step = {"ct_y": lambda j: cotangent(cts[shape.n_carry + j], ans[shape.n_carry + j].sym),
                "res": lambda j: res[j], "xs": lambda i: xs[shape.x(i)].sym}
    b_xs = [per_step[kind](i) for kind, i in lin.xs]
    params = {"body": lin.bwd, "n_consts": len(b_consts), "n_carry": len(b_carries),
              "length": loop["length"], "reverse": not loop["reverse"]}
    return ctx.record("scan", b_consts + b_carries + b_xs, params)


def scan_jvp(ts, ans, *xs, body, n_consts, n_carry, length, reverse):
    """Tangents of the scan's outputs, from a scan that carries the active carries'
    tangents and stacks the per-step outputs' tangents."""
    ans = as_tuple(ans)
    ctx = ans[0]._ctx
    shape = Shape(n_consts, n_carry, len(xs) - n_consts - n_carry)
    active = tuple(t is not None and is_inexact(x.dtype) for t, x in zip(ts, xs, strict=True))
    tan = jvp_body(ctx, body, shape, active)
    inputs = []
    for group in shape.groups():
        inputs += [xs[p].sym for p in group] + \
            [cotangent(ts[p], xs[p].sym) for p in tan.roots if p in group]
    params = {"body": tan.graph, "n_consts": n_consts + sum(p < n_consts for p in tan.roots),
              "n_carry": n_carry + len(tan.carries), "length": length, "reverse": reverse}
    outs = replace_primal(ctx, ans, xs, inputs, params)
    n_t, n_ys = len(tan.carries), len(ans) - n_carry
    tangents: list[Any] = [None] * len(ans)
    for p, j in enumerate(tan.carries):
        tangents[j] = fresh(ctx, outs[n_carry + p])
    for q, j in enumerate(tan.ys):
        tangents[n_carry + j] = fresh(ctx, outs[n_carry + n_t + n_ys + q])
    return tangents[0] if len(ans) == 1 else tuple(tangents)


def replace_primal(ctx: TraceContext, ans: tuple, xs: tuple, inputs: list[Var],
                   params: dict) -> list[Var]:
    """Record the JVP scan in place of the primal one: its primal outputs are the primal
    scan's variables, and the equations after it are reordered so that everything comes
    after what it reads (the tangent operands were recorded after the primal loop).
    Where the primal scan is not in the current equation list, a new scan is recorded."""
    index = recorded(ctx, ans, xs)
    if index is None or len(ctx.eqns[index].outputs) != len(ans):
        return ctx.record("scan", inputs, params)
    eqn = ctx.eqns[index]
    avals = OPS["scan"].infer(*(v.aval for v in inputs), **params)
    n_carry, n_t = eqn.params["n_carry"], params["n_carry"] - eqn.params["n_carry"]
    new_vars = [Var(a.shape, a.dtype) for a in avals]
    outputs = list(eqn.outputs[:n_carry]) + new_vars[n_carry:n_carry + n_t] + \
        list(eqn.outputs[n_carry:]) + new_vars[n_t + len(eqn.outputs):]
    new = Eqn("scan", tuple(inputs), tuple(outputs), params, eqn.source)
    ctx.eqns[index:] = in_dependency_order(ctx.eqns[index + 1:] + [new])
    for v in outputs:
        ctx.producer[v] = new
    return outputs


def in_dependency_order(eqns: list[Eqn]) -> list[Eqn]:
    """`eqns` reordered so that each comes after the equations (among them) it reads; an
    equation moves earlier only to precede one that reads it."""
    producer = {v: e for e in eqns for v in e.outputs}
    done: set[int] = set()
    order: list[Eqn] = []
    for eqn in eqns:
        stack = [(eqn, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in done:
                continue
            if ready:
                done.add(id(e))
                order.append(e)
                continue
            stack.append((e, True))
            stack += [(producer[v], False) for v in reversed(e.inputs)
                      if v in producer and id(producer[v]) not in done]
    return order


# --- shared -------------------------------------------------------------------------------


def recorded(ctx: TraceContext, ans: tuple, xs: tuple) -> int | None:
    """Where the scan that made `ans` from `xs` is in the current equation list."""
    eqn = ctx.producer.get(ans[0].sym)
    if eqn is None or eqn.op != "scan" or eqn.inputs != tuple(x.sym for x in xs) or \
            eqn.outputs[:len(ans)] != tuple(a.sym for a in ans):
        return None
    return next((i for i in range(len(ctx.eqns) - 1, -1, -1) if ctx.eqns[i] is eqn), None)


def known_zero(ctx: TraceContext, ct: Tracer) -> bool:
    """A cotangent the transform filled with zeros (no cotangent reached that output)."""
    eqn = ctx.producer.get(ct.sym)
    return eqn is not None and eqn.op == "full" and not eqn.inputs and \
        isinstance(eqn.params["fill_value"], (int, float)) and eqn.params["fill_value"] == 0


def as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


WITH_ACTIVE.add("scan")
defvjp("scan", scan_vjp, scan_jvp)
