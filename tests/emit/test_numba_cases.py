"""The Numba backend against NumPy on every case of the op-case table.

The same checks as tests/trace/test_numpy_api.py (result types, dtypes, shapes, values,
argument mutations, aliasing, exception types), with values compared to within
floating-point reassociation (rtol 1e-12 for 64-bit, 1e-6 for 32-bit): fused loops sum
in another order than NumPy's pairwise sums, and Numba's libm transcendentals may differ
from NumPy's SIMD ones in the last bit. Every argument set runs contiguous; one set per
case runs with strided arguments. Compiled code is shared through the test run's disk
cache (tests/conftest.py).
"""

from __future__ import annotations

import warnings

import cases
import numpy as np
import pytest

import tracejit

PARAMS = [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.marks)
          for c in cases.CASES for a in c.all_args()]


def quietly(fn, values):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
        return fn(*values)


def check(case, values, prepare):
    np_args = prepare(values)
    try:
        expected = quietly(case.fn, np_args)
        np_exc = None
    except Exception as exc:  # noqa: BLE001
        np_exc = exc
    jitted = tracejit.jit(case.fn, backend="numba")
    jit_args = prepare(values)
    if np_exc is not None:
        with pytest.raises(Exception) as info:
            quietly(jitted, jit_args)
        cases.assert_same_exception(np_exc, info.value)
        return
    got = quietly(jitted, jit_args)
    cases.assert_same(got, expected, False)
    cases.assert_same(jit_args, np_args, False, "args after the call")
    if case.alias:
        cases.assert_same_aliasing(got, expected, jit_args, np_args)
    again = prepare(values)
    cases.assert_same(quietly(jitted, again), expected, False, "second call")
    cases.assert_same(got, expected, False, "first call's output after the second")


@pytest.mark.parametrize("case,args", PARAMS)
def test_numba_matches_numpy(case, args):
    check(case, args.values, cases.copy_args)


def first_with_arrays(case):
    """A case's first argument set with a non-empty array (strided layouts are about
    indexing, which one set per case exercises; each set is a compile)."""
    return next((a for a in case.args if a.raises is None
                 and any(x.ndim and x.size for _, x in cases.array_leaves(a.values))), None)


STRIDED = [pytest.param(c, first_with_arrays(c), id=f"{c.name}-{first_with_arrays(c).id}",
                        marks=c.marks)
           for c in cases.CASES if first_with_arrays(c) is not None]


@pytest.mark.parametrize("case,args", STRIDED)
def test_numba_matches_numpy_strided_args(case, args):
    check(case, args.values, cases.strided_args)
