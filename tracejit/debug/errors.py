"""Run-time errors that point at the user's line.

When a compiled call raises what NumPy would raise at run time (an index out of bounds,
a singular matrix, a FloatingPointError under `np.errstate(all="raise")`, ...), the
exception comes from inside generated code or from the interpreter's loop and names no
line of the user's. `relocate` re-runs the call's graph in the NumPy interpreter, one
equation at a time and loop bodies one iteration at a time (`rerun.hunt`), finds the
first equation whose NumPy implementation raises, and raises an exception of the type
NumPy raised there (`RunError` mixed into it, the compiled code's exception as
`__cause__`) whose message starts with the user's file:line and source line, then the
op with its inputs' types and ranges, the loop iteration, and NumPy's own message:

    model.py:12 (in predict):
        return w[idx] * x
      gather(f64[5], i64[2] in [0, 7]): IndexError: index 7 is out of bounds for axis 0
      with size 5

It is always on and costs nothing until a call raises: `Jitted.execute` and the fast
path (`tracejit.fastcall`) call `relocate` from their `except` clauses. The re-run reads
the arguments as the failed call left them; the interpreter writes into none of them,
and a failed call writes nothing back. When the re-run raises nothing (the compiled
code failed where NumPy does not, or it had already updated in place an argument the
function writes), the original exception propagates with a note.
"""

from __future__ import annotations

from typing import Any

from tracejit.debug import rerun
from tracejit.debug.nans import value_range
from tracejit.errors import TracejitError

#: exceptions raised as they are: already located (tracejit's own, a loop's `assert`),
#: or not worth a second run
PASS = (TracejitError, AssertionError, MemoryError)

FIXES = {
    IndexError: "keep the indices inside the axis (np.clip(i, 0, n - 1) or i % n), or check "
                "where they are computed",
}
LINALG_FIX = ("the matrix is singular (or not positive definite): check where it is built; "
              "adding a small multiple of the identity regularizes it")


class RunError(TracejitError):
    """An exception NumPy raises at run time, raised by a compiled call and located at
    the user's line. Each instance is also an instance of the exception NumPy raised
    (`RunError.of(IndexError)` is the class for IndexError)."""

    classes: dict[type, type] = {}

    @staticmethod
    def of(kind: type[Exception]) -> type[RunError]:
        """The subclass of `RunError` and `kind` (made once per kind)."""
        cls = RunError.classes.get(kind)
        if cls is None:  # TypeError for a kind that cannot be mixed in
            cls = type(f"Run{kind.__name__}", (RunError, kind),
                       {"__module__": __name__, "__doc__": f"A located {kind.__name__}."})
            RunError.classes[kind] = cls
        return cls


def relocate(jitted: Any, entry: Any, inputs: list[Any], exc: Exception) -> None:
    """Called with the exception `entry.run(*inputs)` raised: raises the located error
    (from `exc`), or returns, and the caller re-raises `exc`."""
    if isinstance(exc, PASS):
        return
    graph = entry.graph or entry.traced.graph
    try:
        finding, _ = rerun.hunt(graph, list(inputs), RAISES)
    except Exception:  # noqa: BLE001 - the re-run is a courtesy: never mask `exc`
        return
    touched = updates_in_place(jitted, entry)
    if finding is None:
        add_note(exc, "tracejit: the NumPy interpreter runs this call without error"
                 + (f"; {TOUCHED}" if touched else ""))
        return
    error = located(jitted, finding, touched)
    if error is not None:
        raise error from exc


RAISES = rerun.Rule(catch=(Exception,))


def add_note(exc: BaseException, note: str) -> None:
    """`exc.add_note(note)`; on Python 3.10, which has no notes, the same `__notes__`
    list (read by tools that support notes; 3.10's traceback does not print it)."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]


def updates_in_place(jitted: Any, entry: Any) -> bool:
    """Whether the failed call may have left part of its updates in argument arrays:
    compiled code that reuses the memory of arrays the function overwrites (the Numba
    backend does, the interpreter does not), without `debug_nans`' snapshot."""
    from tracejit.results import donated_inputs

    return (jitted.backend != "numpy" and not getattr(entry.run, "restores", False)
            and bool(donated_inputs(entry.traced)))


TOUCHED = ("the compiled code updates in place argument(s) the function overwrites: they "
           "may hold part of this call's updates (with debug_nans=True or backend='numpy' "
           "they keep their values)")


def located(jitted: Any, finding: rerun.Finding, touched: bool = False
            ) -> Exception | None:
    """The error for the equation that raised (None: its type takes no message);
    `touched`: arguments may hold part of the call's updates."""
    eqn, numpy_error = finding.eqn, finding.error
    if numpy_error is None or isinstance(numpy_error, PASS):
        return None
    kind = type(numpy_error)
    inputs = ", ".join(value_range(x) for x in finding.inputs)
    lines = [f"{kind.__name__}: {numpy_error}", *rerun.loop_lines(finding)]
    if touched:
        lines.append(TOUCHED)
    fix = next((text for base, text in FIXES.items() if isinstance(numpy_error, base)), "")
    if kind.__name__ == "LinAlgError":
        fix = LINALG_FIX
    source = eqn.source
    operation = f"{eqn.op}({inputs})"
    if source is None:
        operation = f"{getattr(jitted.fn, '__name__', 'f')}: {operation}"
    try:
        return RunError.of(kind)(operation, "\n  ".join(lines), fix, source)
    except TypeError:  # a type that cannot be mixed in, or needs more than a message
        return None
