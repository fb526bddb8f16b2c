"""The CUDA backend on a GPU, against the NumPy interpreter (`cuda` marker: skipped
without CuPy and a device).

The same cases as the CPU suites: every op case of the table, random programs and the
loop examples, with CuPy arrays in (CuPy out, `backend="auto"` picking CUDA) and with
NumPy arrays in (`backend="cuda"`: copied in and out).
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
from hypothesis import given, settings

import tracejit
from tracejit.emit.cuda import devices

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trace"))
import test_random_programs as random_programs  # noqa: E402


def gpu_present() -> bool:
    return not isinstance(devices.gpu_or_error(), Exception)


pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not gpu_present(), reason="needs CuPy and a CUDA GPU")]

PARAMS = [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.marks)
          for c in cases.CASES for a in c.all_args()[:1]]


def quietly(fn, values):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*values)


@pytest.mark.parametrize("case,args", PARAMS)
def test_op_cases_numpy_in_numpy_out(case, args):
    expected_args = cases.copy_args(args.values)
    try:
        expected = quietly(case.fn, expected_args)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(Exception) as info:
            quietly(tracejit.jit(case.fn, backend="cuda"), cases.copy_args(args.values))
        cases.assert_same_exception(exc, info.value)
        return
    got_args = cases.copy_args(args.values)
    got = quietly(tracejit.jit(case.fn, backend="cuda"), got_args)
    cases.assert_same(got, expected, False)
    cases.assert_same(got_args, expected_args, False, "args after the call")


def to_host(x):
    import cupy

    if isinstance(x, cupy.ndarray):
        return cupy.asnumpy(x)
    if isinstance(x, (tuple, list)):
        return type(x)(to_host(v) for v in x)
    return x


def test_cupy_in_cupy_out_with_auto_backend():
    import cupy

    def haversine(lat1, lon1, lat2, lon2):
        a = (np.sin((lat2 - lat1) / 2) ** 2
             + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
        return 2 * 6371.0 * np.arcsin(np.sqrt(a))

    x = cupy.random.standard_normal(10**6, dtype=cupy.float32)
    out = tracejit.jit(haversine)(x, x[::-1], x * 2, x + 1)
    assert isinstance(out, cupy.ndarray) and out.dtype == np.float32
    h = cupy.asnumpy(x)
    np.testing.assert_allclose(cupy.asnumpy(out), haversine(h, h[::-1], h * 2, h + 1),
                               rtol=2e-5, atol=1e-3)


@pytest.mark.parametrize("n", [1, 1000, 10**7])
def test_large_reductions_split_across_blocks(n):
    import cupy

    x = cupy.random.standard_normal(n)
    total = tracejit.jit(lambda x: (x * x).sum())(x)
    np.testing.assert_allclose(float(total), float((x * x).sum()), rtol=1e-9)


def test_loops_on_the_gpu():
    import cupy

    def diffusion(u, steps):
        for _ in range(steps):
            u[1:-1, 1:-1] += 0.1 * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                                     - 4 * u[1:-1, 1:-1])
        return u

    u = np.random.default_rng(0).random((64, 64))
    want = diffusion(u.copy(), 20)
    got = tracejit.jit(diffusion)(cupy.asarray(u), 20)
    np.testing.assert_allclose(cupy.asnumpy(got), want, rtol=1e-12)


class CudaJit:
    def __call__(self, fn):
        return tracejit.jit(fn, backend="cuda")


@settings(random_programs.PROFILE, max_examples=60)
@given(random_programs.programs())
def test_random_programs_on_gpu(program):
    def close(actual, expected, path="result", rtol32=0.0):
        cases.assert_same(to_host(actual), expected, exact=False, where=path)

    with mock.patch.object(random_programs, "jit", CudaJit()), \
            mock.patch.object(random_programs, "assert_same", close):
        random_programs.check_program(copy.deepcopy(program))
