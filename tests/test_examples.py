"""Every example in examples/ runs in its quick mode and prints what it claims to show.

Each runs in a subprocess as a user would start it (`python examples/NAME.py`), with
`TRACEJIT_EXAMPLES_QUICK=1` and the test run's compile cache (`TRACEJIT_CACHE_DIR`, set by
conftest.py), so compiled kernels are shared with the rest of the suite and later runs.
The examples use the default backend (Numba), not the suite's interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: what each example must print (in quick mode)
EXPECTED = {
    "demo": ["same values: True", "U mutated the same way: True"],
    "logistic_regression": ["step     0: loss", "training accuracy after 50 steps",
                            "first step vs hand-written NumPy", "time per step: @jit"],
    "mlp": ["step   199: loss", "parameters agree to", "time per step"],
    "rnn_bptt": ["_tj_loops.for_loop", "T=  10: the traced loss has",
                 "step   60: loss", "time per training step"],
    "gray_scott": ["tracejit's grid equals NumPy's", "time per step: NumPy",
                   "skipped the PNG"],
    "dropin": ["haversine", "pairwise distances", "heat equation loop", "speedup"],
    "gpu": [],
}


def run_example(name: str) -> str:
    env = dict(os.environ, TRACEJIT_EXAMPLES_QUICK="1")
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], env=env,
                          capture_output=True, text=True, timeout=300, cwd=EXAMPLES.parent)
    assert done.returncode == 0, f"{name}.py failed:\n{done.stdout}\n{done.stderr}"
    assert "Warning" not in done.stderr, f"{name}.py warned:\n{done.stderr}"
    return done.stdout


def test_every_example_is_tested():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name):
    out = run_example(name)
    for text in EXPECTED[name]:
        assert text in out, f"{name}.py did not print {text!r}:\n{out}"
    if name == "dropin":  # every row of the table agrees with NumPy
        rows = [line for line in out.splitlines()[1:] if line.strip()]
        assert len(rows) == 6 and all(line.endswith("yes") for line in rows), out
    if name == "gpu":
        assert out.startswith("skipped: ") or "GPU result equals the CPU's" in out, out
