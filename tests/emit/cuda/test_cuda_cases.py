"""The CUDA backend against NumPy on the op-case table and on random programs, with the
generated kernels run on the CPU (`HostDevice`: g++, one block of one thread).

Every case that is not a single elementwise op runs (reductions, views, indexing,
scatters, shapes, creation, loops, linalg: the structure the kernel writer and the
launch code handle), with one argument set each; every sixth elementwise case runs too
(per-op numerics are test_cuda_scalars.py's). The checks are those of the Numba suite:
results, dtypes, shapes, arguments afterwards, the exception type where NumPy raises.
The units of all cases are compiled once, as one library (`cuda_support.PrebuiltHost`).
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path
from unittest import mock

import cases
import numpy as np
import pytest
from cuda_support import HAVE_GXX, PrebuiltHost
from hypothesis import given, settings

import tracejit
from tracejit.emit.cuda import devices
from tracejit.graph.ops import OPS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trace"))
import test_random_programs as random_programs  # noqa: E402

pytestmark = pytest.mark.skipif(not HAVE_GXX, reason="needs g++")


def families(case) -> set[str]:
    ops = case.ops if isinstance(case.ops, tuple) else (case.ops,)
    return {OPS[o].family for o in ops if o in OPS}


def selected() -> list:
    out, elementwise = [], 0
    for case in cases.CASES:
        if families(case) == {"elementwise"}:
            elementwise += 1
            if elementwise % 6:
                continue
        out.append(case)
    return out


SELECTED = selected()
PARAMS = [pytest.param(c, c.all_args()[0], id=f"{c.name}-{c.all_args()[0].id}", marks=c.marks)
          for c in SELECTED]


def quietly(fn, values):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*values)


@pytest.fixture(scope="module")
def prebuilt():
    """Each selected case jitted for CUDA and compiled (its units built as one library)."""
    jitted, units = {}, []
    for case in SELECTED:
        f = tracejit.jit(case.fn, backend="cuda")
        try:
            entry, _, _ = quietly(f.entry_for, (cases.copy_args(case.all_args()[0].values), {}))
        except Exception:  # noqa: BLE001 - NumPy raises for this case too
            continue
        jitted[case.name] = f
        units += entry.run.units()
    return PrebuiltHost(units), jitted


@pytest.mark.parametrize("case,args", PARAMS)
def test_cuda_kernels_on_host_match_numpy(case, args, prebuilt):
    device, jitted = prebuilt
    f = jitted.get(case.name) or tracejit.jit(case.fn, backend="cuda")
    np_args = cases.copy_args(args.values)
    with devices.use(device):
        try:
            expected = quietly(case.fn, np_args)
        except Exception as np_exc:  # noqa: BLE001
            with pytest.raises(Exception) as info:
                quietly(f, cases.copy_args(args.values))
            cases.assert_same_exception(np_exc, info.value)
            return
        got_args = cases.copy_args(args.values)
        got = quietly(f, got_args)
        cases.assert_same(got, expected, False)
        cases.assert_same(got_args, np_args, False, "args after the call")
        cases.assert_same(quietly(f, cases.copy_args(args.values)), expected, False,
                          "second call")


def test_selection_covers_every_family():
    assert {f for c in SELECTED for f in families(c)} >= {
        "elementwise", "reduction", "indexing", "shape", "creation", "cumulative", "linalg",
        "loop"}


class CudaJit:
    def __call__(self, fn):
        return tracejit.jit(fn, backend="cuda")


def close(actual, expected, path="result", rtol32=0.0):
    cases.assert_same(actual, expected, exact=False, where=path)


@settings(random_programs.PROFILE, max_examples=25)
@given(random_programs.programs())
def test_random_programs_on_host(program):
    with devices.use(devices.HostDevice(opt="-O0")), \
            mock.patch.object(random_programs, "jit", CudaJit()), \
            mock.patch.object(random_programs, "assert_same", close):
        try:
            random_programs.check_program(copy.deepcopy(program))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n\nprogram:\n{program.describe()}") from None
