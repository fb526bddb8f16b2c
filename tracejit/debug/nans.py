"""NaN hunting: `jit(f, debug_nans=True)` or `tracejit.config.debug_nans = True`.

After each call the outputs are checked; when one holds a NaN or an infinity although
every input was finite, the compiled graph is run again in the NumPy interpreter one
equation at a time (loop bodies one iteration at a time) until an equation makes a
non-finite value from finite inputs, and `NonFiniteError` (a FloatingPointError) names
it: its op, its inputs' ranges, the user's file:line, the loop iteration. Nothing is
written back and nothing is returned from the failing call.

Off, it costs nothing: a jitted function checks the flag only on its general call path,
and setting `config.debug_nans` sends every function back to that path
(`tracejit.jit.drop_fast_paths`). Infinities a literal introduces (`np.where(m, x,
-np.inf)`) are not errors: the re-run finds no equation to blame and the call returns.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracejit.errors import TracejitError
from tracejit.graph.ir import Eqn, Graph, type_str
from tracejit.graph.ops import OPS, run_impl


class NonFiniteError(TracejitError, FloatingPointError):
    """A jitted function made a NaN or an infinity from finite inputs (`debug_nans`)."""


@dataclass
class Finding:
    """The first equation that made a non-finite value from finite inputs."""

    eqn: Eqn
    inputs: list[Any]
    outputs: list[Any]
    loops: list[tuple[Eqn, int]]  # enclosing loop equations and their iteration, outermost first


def is_finite(value: Any) -> bool:
    a = np.asarray(value)
    return a.dtype.kind not in "fc" or a.size == 0 or bool(np.isfinite(a).all())


def all_finite(values: Any) -> bool:
    return all(is_finite(v) for v in values)


def checked(jitted: Any, entry: Any) -> Any:
    """`entry` with a run that checks its results (a copy: the cached entry keeps its
    own run, and the fast path never takes this one)."""
    run = entry.run

    def run_checked(*inputs: Any) -> list[Any]:
        saved = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]
        results = run(*inputs)
        if all_finite(results) or not all_finite(saved):
            return results
        error = diagnose(jitted, entry.graph or entry.traced.graph, saved, results)
        if error is not None:
            raise error
        return results

    return dataclasses.replace(entry, run=run_checked)


def diagnose(jitted: Any, graph: Graph, inputs: list[Any], results: list[Any]
             ) -> NonFiniteError | None:
    """The error for a call whose `results` are not all finite (None: they came from
    literals, as the interpreter agrees)."""
    name = getattr(jitted.fn, "__name__", "f")
    with np.errstate(all="ignore"):
        finding, outputs = hunt(graph, inputs, [])
    if finding is not None:
        return error_for(name, finding)
    if not all_finite(outputs):
        return None  # infinities the function wrote as literals
    bad = [k for k, r in enumerate(results) if not is_finite(r)]
    return NonFiniteError(
        f"{name} (debug_nans)",
        f"the {jitted.backend} backend returned non-finite values in output(s) {bad}, but "
        "the NumPy interpreter computes them finite from the same inputs",
        "report this with tracejit.show_source(f, *args); backend='numpy' runs the "
        "interpreter")


def hunt(graph: Graph, args: list[Any], loops: list[tuple[Eqn, int]]
         ) -> tuple[Finding | None, list[Any]]:
    """Run `graph` equation by equation; stop at the first equation whose inputs are
    finite and whose outputs are not. Returns it (or None) and the graph's outputs."""
    env = dict(zip(graph.inputs, args, strict=True))
    for eqn in graph.eqns:
        if OPS[eqn.op].extra.get("effect"):
            continue  # already ran (a print would print twice)
        ins = [env[v] for v in eqn.inputs]
        finite_in = all_finite(ins)
        if finite_in and eqn.op in LOOPS:
            finding = LOOPS[eqn.op](eqn, ins, loops)
            if finding is not None:
                return finding, []
        outs = run_impl(OPS[eqn.op], ins, eqn.params)
        # an equation without inputs is a literal: its infinities are meant
        if eqn.inputs and finite_in and not all_finite(outs):
            return Finding(eqn, ins, outs, list(loops)), []
        env.update(zip(eqn.outputs, outs, strict=True))
    return None, [env[v] for v in graph.outputs]


def hunt_scan(eqn: Eqn, ins: list[Any], loops: list) -> Finding | None:
    """`scan_impl` (tracejit/scan/op.py) with the body hunted, step by step."""
    p = eqn.params
    nc, ncar, length = p["n_consts"], p["n_carry"], p["length"]
    consts, carries, xs = ins[:nc], ins[nc:nc + ncar], ins[nc + ncar:]
    for k in range(length - 1, -1, -1) if p["reverse"] else range(length):
        step = [np.int64(k), *consts, *carries, *(x[k] for x in xs)]
        finding, outs = hunt(p["body"], step, [*loops, (eqn, k)])
        if finding is not None or not all_finite(outs[:ncar]):
            return finding  # None: a literal made the carry non-finite
        carries = [np.asarray(c) for c in outs[:ncar]]
    return None


def hunt_while(eqn: Eqn, ins: list[Any], loops: list) -> Finding | None:
    p = eqn.params
    ncc, nbc = p["n_cond_consts"], p["n_body_consts"]
    cond_consts, body_consts, carries = ins[:ncc], ins[ncc:ncc + nbc], ins[ncc + nbc:]
    k = 0
    while True:
        finding, test = hunt(p["cond"], [*cond_consts, *carries], [*loops, (eqn, k)])
        if finding is not None or not bool(test[0]):
            return finding
        finding, carries = hunt(p["body"], [*body_consts, *carries], [*loops, (eqn, k)])
        if finding is not None or not all_finite(carries):
            return finding
        k += 1


LOOPS = {"scan": hunt_scan, "while": hunt_while}


def value_range(value: Any) -> str:
    a = np.asarray(value)
    text = type_str(a.shape, a.dtype)
    if a.size == 0 or a.dtype.kind not in "iufc":
        return text
    if a.dtype.kind == "c":
        return f"{text}, |x| in [{np.abs(a).min():.6g}, {np.abs(a).max():.6g}]"
    return f"{text} in [{a.min():.6g}, {a.max():.6g}]"


def census(value: Any) -> str:
    a = np.asarray(value)
    if a.dtype.kind not in "fc":
        return value_range(a)
    parts = [f"{n} {what}" for what, n in (
        ("NaN", int(np.isnan(a).sum())), ("+inf", int(np.isposinf(a.real).sum())),
        ("-inf", int(np.isneginf(a.real).sum()))) if n]
    return f"{type_str(a.shape, a.dtype)} with {', '.join(parts)} of {a.size}"


def error_for(name: str, finding: Finding) -> NonFiniteError:
    eqn = finding.eqn
    lines = [f"{eqn.op} made {' and '.join(census(o) for o in finding.outputs)}",
             "from finite inputs: " + "; ".join(value_range(x) for x in finding.inputs)]
    for loop, k in finding.loops:
        where = ""
        if loop.source is not None:
            where = f" at {os.path.basename(loop.source.filename)}:{loop.source.lineno}"
        lines.append(f"in iteration {k} of the {loop.op} loop{where}")
    params = {k: v for k, v in eqn.params.items() if not isinstance(v, Graph)}
    if params:
        lines.append(f"params: {params}")
    return NonFiniteError(
        f"{name}: NaN/Inf (debug_nans)", "\n  ".join(lines),
        "guard the operation's inputs (np.clip, np.maximum(x, tiny), np.where before the "
        "op), or check where the inputs' range comes from", eqn.source)
