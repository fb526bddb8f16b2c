"""Random NumPy programs on the Numba backend: `jit(f, backend="numba")` must agree with `f`.

The programs, and the whole check, are those of tests/trace/test_random_programs.py
(same results, dtypes, shapes and container types; same arguments afterwards; views of
arguments exactly where NumPy returns them; the same built-in exception type where NumPy
raises; a tracing call and a cached call). Two things differ, both set for the duration
of one example:

* `jit` compiles with `backend="numba"`, and every graph it compiles must run as Numba
  code: no entry may have fallen back to the NumPy interpreter.
* Values are compared to within floating-point reassociation (`cases.assert_same` with
  `exact=False`: rtol 1e-12 for 64-bit, 1e-6 for 32-bit), because fused reductions sum in
  another order than NumPy's pairwise sums.

Every example compiles at least one Numba module (a few tenths of a second), so the
example count is kept small: NUMBA_PROGRAMS_EXAMPLES=N overrides it. Under the "ci"
profile (the CI environment variable set) the examples are derandomized.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from unittest import mock

import cases
from hypothesis import event, given, note, settings

import tracejit
from tracejit.emit.numba import Compiled, scalars

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trace"))
import test_random_programs as random_programs  # noqa: E402

EXAMPLES = int(os.environ.get("NUMBA_PROGRAMS_EXAMPLES", "40"))
PROFILE = settings(random_programs.PROFILE, max_examples=EXAMPLES)


def assert_close(actual, expected, path: str = "result", rtol32: float = 0.0) -> None:
    """`support.assert_same`'s signature, with values compared to within reassociation."""
    cases.assert_same(actual, expected, exact=False, where=path)


class NumbaJit:
    """`jit` on the Numba backend, remembering what it made."""

    def __init__(self) -> None:
        self.made: list[tracejit.Jitted] = []

    def __call__(self, fn):
        jitted = tracejit.jit(fn, backend="numba")
        self.made.append(jitted)
        return jitted

    def assert_ran_on_numba(self) -> None:
        """Every graph ran as Numba code, except those with a dtype Numba cannot compute
        with (float16, from a ufunc's loop on small ints or bools), which run on the
        interpreter by design."""
        for jitted in self.made:
            for entry in jitted._cache.values():
                if not numba_can_compute(entry.traced.graph):
                    continue
                assert isinstance(entry.run, Compiled), \
                    f"compiled with {type(entry.run).__module__}, not the Numba backend"
                assert entry.run.fallback is None, \
                    "Numba could not compile the graph; it ran on the NumPy interpreter"


def numba_can_compute(graph) -> bool:
    variables = [*graph.inputs, *(v for e in graph.eqns for v in e.inputs + e.outputs)]
    return all(scalars.numba_dtype_ok(v.dtype) for v in variables)


def check_on_numba(program: random_programs.Program) -> NumbaJit:
    """`check_program` with `jit` and `assert_same` swapped for the Numba versions."""
    numba_jit = NumbaJit()
    with mock.patch.object(random_programs, "jit", numba_jit), \
            mock.patch.object(random_programs, "assert_same", assert_close):
        random_programs.check_program(program)
    numba_jit.assert_ran_on_numba()
    return numba_jit


@PROFILE
@given(random_programs.programs())
def test_numba_random_programs(program: random_programs.Program) -> None:
    for instr in program.instrs:
        event(instr.op)
    note(program.describe())
    try:
        check_on_numba(program)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n\nprogram:\n{program.describe()}") from None
    except Exception as exc:
        if type(exc).__name__ in ("UnsatisfiedAssumption", "Skipped"):
            raise
        raise AssertionError(f"jit(backend='numba') raised {type(exc).__name__}: {exc}\n\n"
                             f"program:\n{program.describe()}") from exc


def test_the_adapter_reaches_numba():
    """The patched `jit` is the one `check_program` calls: a program it checks compiles
    a Numba module."""
    program = random_programs.Program([cases.f64((2, 3))], ["a0"], ["C"])
    program.instrs.append(random_programs.Instr("binary", ("v0 = np.add(a0, 1.5)",)))
    program.returns = "v0"
    (jitted,) = check_on_numba(program).made
    (entry,) = jitted._cache.values()
    assert isinstance(entry.run, Compiled)
    assert "np.float64(1.5)" in entry.run.source
