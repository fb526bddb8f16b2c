"""NaN hunting: `jit(f, debug_nans=True)` or `tracejit.config.debug_nans = True`.

After each call the outputs are checked; when one holds a NaN or an infinity although
every input was finite, the compiled graph is run again in the NumPy interpreter one
equation at a time (loop bodies one iteration at a time) until an equation makes a
non-finite value from finite inputs, and `NonFiniteError` (a FloatingPointError) names
it: its op, its inputs' ranges, the user's file:line, the loop iteration. Nothing is
written back and nothing is returned from the failing call; arguments the compiled code
updated in place (the Numba backend reuses the memory of arrays the function overwrites)
get their values back from the snapshot taken before the call, also when the call
raises (`tracejit.debug.errors` then locates the error from the restored values).

Off, it costs nothing: a jitted function checks the flag only on its general call path,
and setting `config.debug_nans` sends every function back to that path
(`tracejit.jit.drop_fast_paths`). Infinities a literal introduces (`np.where(m, x,
-np.inf)`) are not errors: the re-run finds no equation to blame and the call returns.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tracejit.debug import rerun
from tracejit.debug.rerun import Finding, Rule
from tracejit.errors import TracejitError
from tracejit.graph.ir import Eqn, Graph, type_str


class NonFiniteError(TracejitError, FloatingPointError):
    """A jitted function made a NaN or an infinity from finite inputs (`debug_nans`)."""


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
        try:
            results = run(*inputs)
        except Exception:
            restore(inputs, saved)  # then located by `tracejit.debug.errors`
            raise
        if all_finite(results) or not all_finite(saved):
            return results
        error = diagnose(jitted, entry.graph or entry.traced.graph, saved, results)
        if error is not None:
            restore(inputs, saved)
            raise error
        return results

    run_checked.restores = True  # type: ignore[attr-defined]
    return dataclasses.replace(entry, run=run_checked)


def restore(inputs: tuple, saved: list[Any]) -> None:
    """Give back their values to the input arrays a failed call updated in place (the
    Numba backend reuses the memory of arguments the function overwrites)."""
    for x, old in zip(inputs, saved, strict=True):
        if isinstance(x, np.ndarray) and x.flags.writeable:
            np.copyto(x, old)


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


def culprit(eqn: Eqn, ins: list[Any], outs: list[Any]) -> bool:
    """Finite inputs made a non-finite output (an equation without inputs is a literal:
    its infinities are meant)."""
    return bool(eqn.inputs) and all_finite(ins) and not all_finite(outs)


#: loops are searched while their inputs and carries are finite
NONFINITE = Rule(enter=all_finite, culprit=culprit, go_on=all_finite)


def hunt(graph: Graph, args: list[Any], loops: list[tuple[Eqn, int]]
         ) -> tuple[Finding | None, list[Any]]:
    """Run `graph` equation by equation; stop at the first equation whose inputs are
    finite and whose outputs are not. Returns it (or None) and the graph's outputs."""
    return rerun.hunt(graph, args, NONFINITE, loops)


def value_range(value: Any) -> str:
    a = np.asarray(value)
    text = type_str(a.shape, a.dtype)
    if a.size == 0 or a.dtype.kind not in "iufc":
        return text
    if a.dtype.kind == "c":
        return f"{text}, |x| in [{np.abs(a).min():.6g}, {np.abs(a).max():.6g}]"
    if a.dtype.kind in "iu":  # exact: an index out of bounds by one must show
        return f"{text} in [{a.min()}, {a.max()}]"
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
    lines += rerun.loop_lines(finding)
    params = {k: v for k, v in eqn.params.items() if not isinstance(v, Graph)}
    if params:
        lines.append(f"params: {params}")
    return NonFiniteError(
        f"{name}: NaN/Inf (debug_nans)", "\n  ".join(lines),
        "guard the operation's inputs (np.clip, np.maximum(x, tiny), np.where before the "
        "op), or check where the inputs' range comes from", eqn.source)
