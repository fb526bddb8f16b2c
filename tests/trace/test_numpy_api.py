"""`tracejit.jit(fn)(*args)` against `fn(*args)` for every case of the op-case table.

Same result types (ndarray / NumPy scalar / Python scalar, tuple / list / namedtuple),
dtypes, shapes and values (bitwise, NaN == NaN, sign of zero included; within rtol
1e-12 / 1e-6 for cases marked inexact), the same mutations of the arguments, the same
aliasing of outputs with arguments, and the same built-in exception type where NumPy
raises. Each jitted function is called twice on fresh copies: the traced call and the
cached one.
"""

from __future__ import annotations

import warnings

import cases
import numpy as np
import pytest

import tracejit

PARAMS = [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.marks)
          for c in cases.CASES for a in c.all_args()]


def call_numpy(case, values):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return case.fn(*values)


def call_jit(jitted, values):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jitted(*values)


@pytest.mark.parametrize("case,args", PARAMS)
def test_jit_matches_numpy(case, args):
    np_args = cases.copy_args(args.values)
    try:
        expected = call_numpy(case, np_args)
        np_exc = None
    except Exception as exc:  # noqa: BLE001
        np_exc = exc
    jitted = tracejit.jit(case.fn)
    jit_args = cases.copy_args(args.values)

    if np_exc is not None:
        if args.raises is None:
            raise AssertionError(f"NumPy raised {type(np_exc).__name__}: {np_exc}") from np_exc
        if args.raises is not cases.MATCH:
            assert isinstance(np_exc, args.raises), f"NumPy raised {np_exc!r}"
        with pytest.raises(Exception) as info:
            call_jit(jitted, jit_args)
        cases.assert_same_exception(np_exc, info.value)
        return
    assert args.raises in (None, cases.MATCH), f"NumPy did not raise {args.raises.__name__}"

    got = call_jit(jitted, jit_args)
    cases.assert_same(got, expected, case.exact)
    cases.assert_same(jit_args, np_args, True, "args after the call")
    if case.alias:
        cases.assert_same_aliasing(got, expected, jit_args, np_args)

    # the cached path: a second call on fresh copies gives the same, and leaves the
    # first call's outputs alone
    jit_args2 = cases.copy_args(args.values)
    got2 = call_jit(jitted, jit_args2)
    cases.assert_same(got2, expected, case.exact, "second call")
    cases.assert_same(jit_args2, np_args, True, "args after the second call")
    if case.alias:
        cases.assert_same_aliasing(got2, expected, jit_args2, np_args)
    cases.assert_same(got, expected, case.exact, "first call's output after the second")
    assert jitted.cache_info().traces >= 1 and jitted.cache_info().hits >= 1


STRIDED = [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.marks)
           for c in cases.CASES for a in c.args
           if a.raises is None and any(x.ndim and x.size for _, x in cases.array_leaves(a.values))]


@pytest.mark.parametrize("case,args", STRIDED)
def test_jit_matches_numpy_strided_args(case, args):
    """The same, with every array argument a negatively strided, non-contiguous view: views
    of it must be views exactly where NumPy's are (reshape copies), and writes must land
    in the caller's array."""
    np_args = cases.strided_args(args.values)
    jit_args = cases.strided_args(args.values)
    try:
        expected = call_numpy(case, np_args)
    except Exception as np_exc:  # noqa: BLE001 - e.g. an out= NumPy wants contiguous
        with pytest.raises(Exception) as info:
            call_jit(tracejit.jit(case.fn), jit_args)
        cases.assert_same_exception(np_exc, info.value)
        return
    got = call_jit(tracejit.jit(case.fn), jit_args)
    # BLAS-backed products may take another kernel for strided operands (last-bit changes)
    cases.assert_same(got, expected, case.exact and case.name not in cases.LINALG_CASE_NAMES)
    cases.assert_same(jit_args, np_args, True, "args after the call")
    for (path, aj), (_, an) in zip(cases.array_leaves(jit_args, "arg"),
                                   cases.array_leaves(np_args, "arg"), strict=False):
        if an.base is not None:
            cases.assert_values(aj.base, an.base, True, f"{path}.base after the call")
    if case.alias:
        cases.assert_same_aliasing(got, expected, jit_args, np_args)


def test_table_is_honest():
    """Every declared `raises` is an exception class or MATCH; every case has args."""
    for c in cases.CASES:
        assert c.args, c.name
        for a in c.all_args():
            assert a.raises in (None, cases.MATCH) or issubclass(a.raises, BaseException)


WARNING_CASES = [
    ("log0", lambda x: np.log(x), (np.array([0.0, 1.0]),)),
    ("div0", lambda x, y: x / y, (np.array([1.0, 0.0]), np.array([0.0, 0.0]))),
    ("overflow", lambda x: x * x, (np.array([1e300]),)),
    ("int-div0", lambda x, y: x // y, (np.array([1, 2]), np.array([0, 1]))),
]


@pytest.mark.parametrize("fn,values", [pytest.param(f, v, id=n) for n, f, v in WARNING_CASES])
def test_floating_point_warnings_match(fn, values):
    with warnings.catch_warnings(record=True) as np_warned:
        warnings.simplefilter("always")
        fn(*cases.copy_args(values))
    jitted = tracejit.jit(fn)
    with warnings.catch_warnings(record=True) as jit_warned:
        warnings.simplefilter("always")
        jitted(*cases.copy_args(values))
    assert np_warned
    assert [(w.category, str(w.message)) for w in jit_warned] == \
        [(w.category, str(w.message)) for w in np_warned]
