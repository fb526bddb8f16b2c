"""The CUDA backend's generated source compiles with nvcc, for sm_80 and sm_90.

Every case of the op-case table and a derandomized set of random programs is traced for
`backend="cuda"` (no GPU: generating source needs none), and every translation unit it
would run is compiled as device code with `nvcc` for both architectures. The units are
merged into one file (the prelude once, kernels renamed apart) so nvcc runs once per
test rather than once per program; each unit also compiles on its own (checked for a
sample: the merge must not hide a missing declaration). ptxas runs at -O0: the test
is whether the code compiles for each architecture (cicc and ptxas at -O0: a third of
the time).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import cases
import numpy as np
import pytest
from cuda_support import merged
from hypothesis import HealthCheck, Phase, given, settings

import tracejit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trace"))
import test_random_programs as random_programs  # noqa: E402

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(NVCC is None, reason="needs nvcc")
ARCHS = ("80", "90")


def units_of(fn, args) -> list[str]:
    """The translation units `jit(fn, backend="cuda")` would run for `args`."""
    jitted = tracejit.jit(fn, backend="cuda")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry, _, _ = jitted.entry_for(tuple(args), {})
    return entry.run.units()


def nvcc(source: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.cu"
    path.write_text(source)
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHS]
    done = subprocess.run([NVCC, "--fatbin", "-std=c++17", "--fmad=false", "-Xcicc", "-O0",
                           "-Xptxas", "-O0", "--threads", "2",
                           *gencode, "-o",
                           str(tmp_path / f"{name}.fatbin"), str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"nvcc failed on {path}:\n{done.stderr[-4000:]}"


def op_case_units() -> list[str]:
    units = []
    for case in cases.CASES:
        for args in case.all_args()[:1]:
            try:
                units += units_of(case.fn, cases.copy_args(args.values))
            except Exception:  # noqa: BLE001 - a case where NumPy raises too
                continue
    return units


def test_every_op_case_compiles_with_nvcc(tmp_path):
    source, count, _ = merged(op_case_units())
    assert count > 200  # the op table's templates, not an empty file
    nvcc(source, tmp_path, "op_cases")


def test_random_programs_compile_with_nvcc(tmp_path):
    units: list[str] = []

    @settings(max_examples=40, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(random_programs.programs())
    def collect(program):
        try:
            units.extend(units_of(random_programs.build(program), program.fresh_args()))
        except Exception:  # noqa: BLE001 - programs NumPy rejects
            pass

    collect()
    source, count, _ = merged(units)
    assert count >= 20
    nvcc(source, tmp_path, "random_programs")


def test_units_compile_on_their_own(tmp_path):
    """The merge shares one prelude; each unit is complete by itself too."""
    def f(x, y, i):
        z = np.exp(x[::2]) * y[i] + np.float16(1)
        return z.sum(axis=0), np.maximum(z, 0).astype(np.int32)

    (unit,) = units_of(f, (np.ones((6, 3), np.float16), np.ones((4, 3), np.float16),
                           np.int64(1)))
    nvcc(unit, tmp_path, "alone")
