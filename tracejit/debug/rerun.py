"""Re-running a graph in the NumPy interpreter one equation at a time, loop bodies one
iteration at a time, to find the first equation that misbehaves.

`hunt(graph, args, rule)` is the interpreter of `tracejit.graph.interpret.eval_graph` with
a `Rule` watching each equation: NaN hunting (`nans.py`) stops at the first equation
that makes a non-finite value from finite inputs; locating run-time errors (`errors.py`)
stops at the first equation whose NumPy implementation raises. The loop ops (`scan`,
`while`) are re-implemented here so that the search goes into their bodies and the
finding knows the iteration. Effects (`debug_print`, `check`) are skipped: they already
ran in the call being explained (a print would print twice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tracejit.graph.ir import Eqn, Graph
from tracejit.graph.ops import OPS, run_impl


@dataclass
class Finding:
    """The first equation a `Rule` picked out."""

    eqn: Eqn
    inputs: list[Any]
    outputs: list[Any]
    loops: list[tuple[Eqn, int]]  # enclosing loop equations and their iteration, outermost first
    error: Exception | None = None  # what its NumPy implementation raised (`Rule.catch`)


@dataclass
class Rule:
    """What a re-run looks for."""

    #: exceptions an equation may raise that make it the finding (others propagate)
    catch: tuple[type[Exception], ...] = ()
    #: whether to search a loop's body, given the loop equation's inputs
    enter: Callable[[list[Any]], bool] = field(default=lambda ins: True)
    #: whether an equation that ran is the finding, from its inputs and outputs
    culprit: Callable[[Eqn, list[Any], list[Any]], bool] = field(
        default=lambda eqn, ins, outs: False)
    #: whether to keep searching a loop's iterations, given the carries an iteration made
    go_on: Callable[[list[Any]], bool] = field(default=lambda carries: True)


def hunt(graph: Graph, args: list[Any], rule: Rule, loops: list[tuple[Eqn, int]] | None = None
         ) -> tuple[Finding | None, list[Any]]:
    """Run `graph` on `args` equation by equation until `rule` picks one out. Returns
    the finding (None if none) and the graph's outputs (empty after a finding)."""
    loops = loops or []
    env = dict(zip(graph.inputs, args, strict=True))
    for eqn in graph.eqns:
        op = OPS[eqn.op]
        if op.extra.get("effect"):
            continue
        ins = [env[v] for v in eqn.inputs]
        outs = None
        if eqn.op in LOOPS and rule.enter(ins):
            finding, outs = LOOPS[eqn.op](eqn, ins, rule, loops)
            if finding is not None:
                return finding, []
        if outs is None:
            try:
                outs = run_impl(op, ins, eqn.params)
            except rule.catch as exc:
                return Finding(eqn, ins, [], list(loops), exc), []
        if rule.culprit(eqn, ins, outs):
            return Finding(eqn, ins, outs, list(loops)), []
        env.update(zip(eqn.outputs, outs, strict=True))
    return None, [env[v] for v in graph.outputs]


def hunt_scan(eqn: Eqn, ins: list[Any], rule: Rule, loops: list
              ) -> tuple[Finding | None, list[Any] | None]:
    """`scan_impl` (tracejit/scan/op.py) with the body hunted step by step. Returns the
    finding, or the loop's outputs (None: the rule stopped the search early)."""
    p = eqn.params
    nc, ncar, length, body = p["n_consts"], p["n_carry"], p["length"], p["body"]
    consts, carries, xs = ins[:nc], ins[nc:nc + ncar], ins[nc + ncar:]
    ys = [np.empty((length,) + v.aval.shape, v.aval.dtype) for v in body.outputs[ncar:]]
    for k in range(length - 1, -1, -1) if p["reverse"] else range(length):
        step = [np.int64(k), *consts, *carries, *(x[k] for x in xs)]
        finding, outs = hunt(body, step, rule, [*loops, (eqn, k)])
        if finding is not None:
            return finding, None
        if not rule.go_on(outs[:ncar]):
            return None, None
        carries = [np.asarray(c) for c in outs[:ncar]]
        for y, out in zip(ys, outs[ncar:], strict=True):
            y[k] = out
    return None, [*carries, *ys]


def hunt_while(eqn: Eqn, ins: list[Any], rule: Rule, loops: list
               ) -> tuple[Finding | None, list[Any] | None]:
    p = eqn.params
    ncc, nbc = p["n_cond_consts"], p["n_body_consts"]
    cond_consts, body_consts = ins[:ncc], ins[ncc:ncc + nbc]
    carries = [np.asarray(c) for c in ins[ncc + nbc:]]
    k = 0
    while True:
        finding, test = hunt(p["cond"], [*cond_consts, *carries], rule, [*loops, (eqn, k)])
        if finding is not None:
            return finding, None
        if not bool(test[0]):
            return None, carries
        finding, outs = hunt(p["body"], [*body_consts, *carries], rule, [*loops, (eqn, k)])
        if finding is not None:
            return finding, None
        if not rule.go_on(outs):
            return None, None
        carries = [np.asarray(c) for c in outs]
        k += 1


LOOPS = {"scan": hunt_scan, "while": hunt_while}


def loop_lines(finding: Finding) -> list[str]:
    """`in iteration k of the scan loop at file.py:12`, outermost loop first."""
    lines = []
    for loop, k in finding.loops:
        where = ""
        if loop.source is not None:
            where = f" at {os.path.basename(loop.source.filename)}:{loop.source.lineno}"
        lines.append(f"in iteration {k} of the {loop.op} loop{where}")
    return lines
