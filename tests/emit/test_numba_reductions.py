"""Reductions on the Numba backend: float sums along the last axis are NumPy's pairwise
sums, to the bit, in the serial and the parallel variant; other reductions agree to
rounding. The pairwise walk is checked against NumPy over the lengths where its shape
changes (below 8, one leaf of 8..128, splits at multiples of 8, many levels)."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit

LENGTHS = [0, 1, 7, 8, 9, 127, 128, 129, 136, 257, 1000, 4097]


def jit(f):
    return tracejit.jit(f, backend="numba")


def bits_equal(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes(), np.max(np.abs(got - want))


def data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_sums_are_numpys_to_the_bit(dtype):
    def f(x):
        return (x * x).sum(axis=1), np.sum(x, axis=-1, keepdims=True), x.mean(axis=1)

    for n in LENGTHS[1:]:
        x = data((5, n), dtype, seed=n)
        for got, want in zip(jit(f)(x), f(x), strict=True):
            bits_equal(got, want)
    empty = np.zeros((5, 0), dtype)
    bits_equal(jit(lambda x: x.sum(axis=1))(empty), empty.sum(axis=1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_sums_are_numpys_to_the_bit(dtype):
    def f(x):
        return np.sum(x * 2.0), x.mean()

    for n in LENGTHS[1:] + [100_003]:
        x = data(n, dtype, seed=n)
        for got, want in zip(jit(f)(x), f(x), strict=True):
            bits_equal(got, want)


def test_parallel_variant_sums_rows_and_vectors_as_numpy_does():
    """Large enough for the parallel variant: rows in chunks over threads, and a vector
    split along the top of the pairwise tree."""
    def rows(x):
        return np.exp(x).sum(axis=1)

    def vector(x):
        return (x * x).sum()

    x = data((300, 1001), np.float64) * 1e-3
    v = data(1_000_003, np.float64)
    for f, arg in ((rows, x), (vector, v)):
        assert "prange" in tracejit.show_source(jit(f), arg)
        want = f(arg) if f is vector else np.sum(np.exp(x), axis=1)
        if f is rows:  # exp may differ from NumPy's in the last bit: sum our own values
            want = np.array([np.sum(np.array([np.exp(e) for e in row])) for row in arg])
            np.testing.assert_allclose(jit(f)(arg), want, rtol=1e-15)
        else:
            bits_equal(jit(f)(arg), want)


def test_strided_and_broadcast_rows():
    def f(x, y):
        return (x[:, ::2] * y).sum(axis=1), x.T[:, 1:].sum(axis=-1)

    x, y = data((6, 402), np.float64), data(201, np.float64, seed=1)
    for got, want in zip(jit(f)(x, y), f(x, y), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    bits_equal(jit(f)(x, y)[0], f(x, y)[0])


def test_other_reductions_agree_to_rounding():
    def f(x):
        return (x.sum(axis=0), x.sum(axis=(1, 2)), x.sum(), x.max(axis=-1), x.prod(axis=2),
                np.abs(x).sum(axis=1))

    x = data((4, 5, 300), np.float64) * 1e-2
    for got, want in zip(jit(f)(x), f(x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_nan_and_inf_propagate():
    def f(x):
        return x.sum(axis=1), x.sum()

    x = data((3, 300), np.float64)
    x[0, 250], x[1, 3], x[1, 299] = np.nan, np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf + -inf
        wants = f(x)
    for got, want in zip(jit(f)(x), wants, strict=True):
        np.testing.assert_array_equal(got, want)


def test_integer_and_complex_sums_unchanged():
    def f(x, z):
        return x.sum(axis=1), z.sum(axis=1)

    x = np.arange(3 * 300, dtype=np.int32).reshape(3, 300)
    z = data((3, 300), np.float64) + 1j * data((3, 300), np.float64, seed=2)
    got, want = jit(f)(x, z), f(x, z)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[0].dtype == want[0].dtype
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)


def extremes(x):
    return (x.max(axis=1), x.min(axis=0), np.fmax.reduce(x, axis=1), np.fmin.reduce(x, axis=0),
            np.max(x * 2, axis=-1, keepdims=True), x.max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_max_and_min_are_numpys_with_nan_and_inf(dtype):
    # folded with LLVM's maximum/minimum (NaN propagates) and maxnum/minnum (np.fmax:
    # NaN gives the other), which vectorize; the values are NumPy's exactly
    for n in (1, 7, 8, 33, 1000):
        x = data((6, n), dtype, seed=n)
        x[1, n // 2] = np.nan
        x[2, :] = np.nan
        x[3, 0], x[4, n - 1] = np.inf, -np.inf
        wants, gots = extremes(x), jit(extremes)(x)
        for got, want in zip(gots, wants, strict=True):
            np.testing.assert_array_equal(got, want)
            assert np.asarray(got).dtype == np.asarray(want).dtype


def test_max_of_signed_zeros_is_positive_zero():
    # IEEE 754-2019 maximum: +0 is above -0 whatever the order; NumPy's result depends on
    # the order ([0., -0.].max() is -0.); both compare equal
    x = np.array([[0.0, -0.0], [-0.0, 0.0]])
    assert np.signbit(jit(lambda x: x.max(axis=1))(x)).tolist() == [False, False]
    assert np.signbit(jit(lambda x: x.min(axis=1))(x)).tolist() == [True, True]


def test_means_over_new_lengths_reuse_the_code():
    # the divisor of a mean, var or std is an element count, passed at run time: a new
    # shape gives the same source, so no new compile
    def f(x):
        return x.mean(axis=1), x.var(axis=0, ddof=1), x.std(), np.mean(x * 2.0)

    sources = set()
    for shape in [(5, 127), (6, 128), (3, 1000)]:
        x = data(shape, np.float64, seed=shape[1])
        sources.add(tracejit.show_source(jit(f), x))
        for got, want in zip(jit(f)(x), f(x), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    assert len(sources) == 1
