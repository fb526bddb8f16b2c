"""Reverse and forward mode over a run of recorded equations.

The differentiated function has just been traced into the current context; its
equations are a slice of `ctx.eqns`. `backward` walks them in reverse applying each op's
VJP rule, `forward` walks them in order applying JVP rules. Rules record new equations
into the same context, so the derivative is part of the same graph: optimized, fused and
compiled with the forward pass, and differentiable again (grad of grad walks the
equations the first grad recorded).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from tracejit import errors
from tracejit.autodiff.build import fit, full, is_inexact, tracer_of
from tracejit.autodiff.rules import JVP, NO_RULE, NONDIFF, OPTIONAL_CTS, VJP, WITH_ACTIVE
from tracejit.config import config
from tracejit.graph.ir import Aval, Eqn, Graph, Var
from tracejit.rewrite import rewrite
from tracejit.rewrite.rules import STABILIZE, STABILIZE_FORMS
from tracejit.trace.context import TraceContext


def active_vars(eqns: list[Eqn], roots: list[Var]) -> set[Var]:
    """Values that depend on a root through inexact (float or complex) values."""
    active = {v for v in roots if is_inexact(v.dtype)}
    for eqn in eqns:
        if eqn.op not in NONDIFF and any(v in active for v in eqn.inputs):
            active.update(v for v in eqn.outputs if is_inexact(v.dtype))
    return active


def backward(ctx: TraceContext, eqns: list[Eqn], roots: list[Var], outputs: list[Var],
             cts: list[Any]) -> list[Any]:
    """Cotangents of `roots` given cotangents `cts` of `outputs` (None: zero)."""
    eqns, outputs = stabilized(ctx, eqns, outputs)
    active = active_vars(eqns, roots)
    acc: dict[Var, Any] = {}
    for v, ct in zip(outputs, cts, strict=True):
        if ct is not None and v in active:
            accumulate(acc, v, ct)
    for eqn in reversed(eqns):
        if not any(v in acc for v in eqn.outputs):
            continue
        out_cts = [acc.pop(v, None) for v in eqn.outputs]
        if not any(v in active for v in eqn.inputs):
            continue
        with attributed(ctx, eqn):
            in_cts = apply_vjp(ctx, eqn, out_cts, active)
            for v, ct in zip(eqn.inputs, in_cts, strict=True):
                if ct is not None and v in active:
                    accumulate(acc, v, ct)
    return [acc.get(v) for v in roots]


def stabilized(ctx: TraceContext, eqns: list[Eqn],
               outputs: list[Var]) -> tuple[list[Eqn], list[Var]]:
    """The equations to differentiate with the numerical-stability rewrites applied
    first (unless `config.stability` is off): the derivative of the stable formula is
    stable, where the chain rule through the naive one is not (d/dz log(1/(1+exp(-z)))
    at z = -800 is 1, not the nan of inf/inf). Equations the rewrites made are recorded
    in the context; the forward value itself is stabilized by the compile pipeline."""
    if not config.stability or not eqns:
        return eqns, outputs
    defined = {v for eqn in eqns for v in eqn.outputs}
    free = tuple(dict.fromkeys(v for eqn in eqns for v in eqn.inputs if v not in defined))
    graph = Graph(free, tuple(eqns), tuple(outputs))
    fired: list = []
    for rules in (STABILIZE_FORMS, STABILIZE):
        graph = rewrite(graph, rules, fired)
    if not fired:
        return eqns, outputs
    known = set(map(id, eqns))
    for eqn in graph.eqns:
        if id(eqn) not in known:
            ctx.eqns.append(eqn)
            ctx.producer.update((v, eqn) for v in eqn.outputs)
    return list(graph.eqns), list(graph.outputs)


@contextlib.contextmanager
def attributed(ctx: TraceContext, eqn: Eqn) -> Iterator[None]:
    """Equations recorded meanwhile carry `eqn`'s source: the user's line they serve."""
    saved, ctx.source = ctx.source, eqn.source
    try:
        yield
    finally:
        ctx.source = saved


def accumulate(acc: dict[Var, Any], v: Var, ct: Any) -> None:
    ct = fit(ct, v.aval)
    acc[v] = acc[v] + ct if v in acc else ct


def apply_vjp(ctx: TraceContext, eqn: Eqn, out_cts: list[Any], active: set[Var]) -> list[Any]:
    rule = lookup(VJP, eqn)
    outs = [tracer_of(ctx, v) for v in eqn.outputs]
    xs = [tracer_of(ctx, v) for v in eqn.inputs]
    params = eqn.params
    if eqn.op in WITH_ACTIVE:
        params = {**params, "active": tuple(v in active for v in eqn.inputs)}
    if len(outs) == 1:
        in_cts = rule(out_cts[0], outs[0], *xs, **params)
    elif eqn.op in OPTIONAL_CTS:
        in_cts = rule(tuple(out_cts), tuple(outs), *xs, **params)
    else:
        cts = tuple(ct if ct is not None else full(v.aval, 0)
                    for ct, v in zip(out_cts, eqn.outputs, strict=True))
        in_cts = rule(cts, tuple(outs), *xs, **params)
    assert len(in_cts) == len(xs), f"VJP rule of {eqn.op} gave {len(in_cts)} cotangents"
    return list(in_cts)


def forward(ctx: TraceContext, eqns: list[Eqn], roots: list[Var],
            tangents: list[Any]) -> dict[Var, Any]:
    """Tangents of every value reached from `roots` (given their `tangents`)."""
    tan: dict[Var, Any] = {}
    for v, t in zip(roots, tangents, strict=True):
        if t is not None and is_inexact(v.dtype):
            tan[v] = fit(t, v.aval)
    for eqn in eqns:
        ts = [tan.get(v) for v in eqn.inputs]
        if eqn.op in NONDIFF or all(t is None for t in ts):
            continue
        with attributed(ctx, eqn):
            outs = apply_jvp(ctx, eqn, ts)
            for v, t in zip(eqn.outputs, outs, strict=True):
                if t is not None and is_inexact(v.dtype):
                    tan[v] = fit(t, v.aval)
    return tan


def apply_jvp(ctx: TraceContext, eqn: Eqn, ts: list[Any]) -> list[Any]:
    rule = JVP.get(eqn.op) or jvp_from_vjp(lookup(VJP, eqn), len(eqn.outputs))
    outs = [tracer_of(ctx, v) for v in eqn.outputs]
    xs = [tracer_of(ctx, v) for v in eqn.inputs]
    result = rule(ts, outs[0] if len(outs) == 1 else tuple(outs), *xs, **eqn.params)
    return [result] if len(outs) == 1 else list(result)


def jvp_from_vjp(vjp: Any, nout: int) -> Any:
    """The JVP of an op as the transpose of its VJP: the VJP is linear in the output
    cotangent `u`, so J t is the cotangent of `u` when the VJP's result is seeded with
    `t`. Runs the VJP on a placeholder `u` and `backward` over what it recorded; the
    placeholder's own equations are dead afterwards and are dropped."""

    def jvp(ts, ans, *xs, **params):
        ctx = xs[0]._ctx
        outs = [ans] if nout == 1 else list(ans)
        us = [full(aval_of(o), 0) for o in outs]
        start = len(ctx.eqns)
        in_cts = vjp(us[0] if nout == 1 else tuple(us), ans, *xs, **params)
        fitted, seeds = [], []
        for ct, x, t in zip(in_cts, xs, ts, strict=True):
            if ct is not None and t is not None:
                fitted.append(fit(ct, aval_of(x)).sym)
                seeds.append(t)
        recorded = ctx.eqns[start:]
        result = backward(ctx, recorded, [u.sym for u in us], fitted, seeds)
        return result[0] if nout == 1 else tuple(result)

    return jvp


def aval_of(t: Any) -> Aval:
    return Aval(t.shape, t.dtype)


def lookup(table: dict, eqn: Eqn) -> Any:
    rule = table.get(eqn.op)
    if rule is not None:
        return rule
    why = NO_RULE.get(eqn.op, "no derivative rule is defined for it")
    raise errors.NotDifferentiableError(
        f"np.{eqn.op}", f"cannot differentiate through {eqn.op}: {why} (operands: "
        + ", ".join(str(v.aval) for v in eqn.inputs) + ")",
        "stop the gradient before it (compute that part outside the differentiated "
        "function and pass it in), or rewrite it with differentiable operations",
        eqn.source)
