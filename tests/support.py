"""Comparisons the test suites share: jit's results against NumPy's."""

from __future__ import annotations

import inspect
import math

import numpy as np

import tracejit
from tracejit import tree
from tracejit.trace.driver import trace


def assert_same(actual, expected, path: str = "result", rtol32: float = 0.0) -> None:
    """Same type, dtype, shape and value (NaN equal to NaN), recursively through tuples,
    lists and dicts. `rtol32` relaxes float32/complex64 values."""
    assert type(actual) is type(expected), \
        f"{path}: type {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, (np.ndarray, np.generic)):
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert np.shape(actual) == np.shape(expected), \
            f"{path}: shape {np.shape(actual)} != {np.shape(expected)}"
        if rtol32 and expected.dtype in (np.float32, np.complex64):
            np.testing.assert_allclose(actual, expected, rtol=rtol32, atol=0, equal_nan=True,
                                       err_msg=path)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=path)
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]", rtol32)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]", rtol32)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual), f"{path}: {actual!r} != nan"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def array_leaves(x) -> list:
    """The ndarrays in a result, in order, through tuples, lists and dicts."""
    if isinstance(x, np.ndarray):
        return [x]
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in array_leaves(item)]
    if isinstance(x, dict):
        return [leaf for item in x.values() for leaf in array_leaves(item)]
    return []


def traced(fn, *args):
    """The trace of `fn(*args)` (not run): its graph and loop records."""
    leaves, treedef = tree.flatten(args)
    names = list(inspect.signature(fn).parameters)
    return trace(fn, treedef, leaves, lambda f, a: f(*a), names)


def same_as_numpy(fn, *args, backend=None, exact=True, rtol=1e-12):
    """jit(fn)(*args) against fn(*args): structure, types, dtypes and values of the
    results, and the arguments' final values."""
    ours = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    theirs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    jitted = tracejit.jit(fn) if backend is None else tracejit.jit(fn, backend=backend)
    got = jitted(*ours)
    want = fn(*theirs)
    check = np.testing.assert_array_equal if exact else \
        (lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol))
    got_leaves, got_tree = tree.flatten(got)
    want_leaves, want_tree = tree.flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert type(g) is type(w), (type(g), type(w))
        assert np.asarray(g).dtype == np.asarray(w).dtype
        check(g, w)
    for o, t in zip(ours, theirs, strict=True):
        if isinstance(o, np.ndarray):
            check(o, t)
    return got


def num_jac(f, x, eps=1e-6):
    """Central differences of `f` at `x`: shape f(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)
