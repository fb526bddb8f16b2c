"""Naive formulas, jitted, give finite and accurate answers where NumPy overflows or
loses precision: within 1e-12 relative error of the exact answer in float64 (issue 6's
target), on the default backend ("auto": Numba on the CPU) and on the NumPy
interpreter. Exact answers come from float128 (np.longdouble) with formulas that do not
overflow there, or from closed forms. `stability=False` (per function or in the config)
gives NumPy's own naive answer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tracejit
from tracejit import config

LD = np.longdouble
BACKENDS = ["auto", "numpy"]
RTOL = 1e-12


def ld(x) -> np.ndarray:
    return np.asarray(x, dtype=LD)


def naive(f, *args):
    """What NumPy itself gives (overflowing, with its warnings silenced)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args)


def assert_accurate(got, exact, rtol: float = RTOL) -> None:
    got = np.asarray(got)
    assert got.dtype == np.float64
    assert np.all(np.isfinite(got)), got
    np.testing.assert_allclose(got, np.asarray(exact).astype(np.float64), rtol=rtol, atol=0)


# --- the formulas, as people write them --------------------------------------------


def log_one_plus(x):
    return np.log(1 + x)


def exp_minus_one(x):
    return np.exp(x) - 1


def logistic_loss(z, y):
    p = 1 / (1 + np.exp(-z))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def logistic_loss_inline(z, y):
    return -(y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z))))


def softmax_cross_entropy(z, y):
    n = z.shape[0]
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return -np.log(p[np.arange(n), y]).mean()


def log_add_exp(a, b):
    return np.log(np.exp(a) + np.exp(b))


def norm_of_square(x):
    return np.sqrt(x * x)


# --- exact references --------------------------------------------------------------


def softplus_exact(x):
    return np.logaddexp(LD(0), ld(x))


def logistic_loss_exact(z, y):
    return ld(y) * softplus_exact(-z) + (1 - ld(y)) * softplus_exact(z)


def cross_entropy_exact(z, y):
    lse = np.logaddexp.reduce(ld(z), axis=1)
    return np.mean(lse - ld(z)[np.arange(len(y)), y])


# --- the cases ---------------------------------------------------------------------

TINY = np.array([1e-18, -1e-18, 1e-300, 3e-10, -2e-12, 1e-5, 0.25])
LOGITS = np.array([800.0, -800.0, 40.0, -40.0, 0.5, -3.0, 750.0, -710.0])
LABELS = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_of_one_plus_tiny(backend):
    """np.log(1 + 1e-18) is 0 in NumPy; log1p keeps every digit."""
    got = tracejit.jit(log_one_plus, backend=backend)(TINY)
    assert naive(log_one_plus, TINY)[0] == 0.0
    assert_accurate(got, np.log1p(ld(TINY)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_exp_minus_one_at_tiny_x(backend):
    got = tracejit.jit(exp_minus_one, backend=backend)(TINY)
    assert naive(exp_minus_one, TINY)[0] == 0.0
    assert_accurate(got, np.expm1(ld(TINY)))


LSE_FORMS = {
    "all": (lambda x: np.log(np.sum(np.exp(x))), lambda x: np.logaddexp.reduce(ld(x), None)),
    "axis=1": (lambda x: np.log(np.sum(np.exp(x), axis=1)),
               lambda x: np.logaddexp.reduce(ld(x), axis=1)),
    "axis=0": (lambda x: np.log(np.exp(x).sum(axis=0)),
               lambda x: np.logaddexp.reduce(ld(x), axis=0)),
    "axis=-1, keepdims": (lambda x: np.log(np.sum(np.exp(x), axis=-1, keepdims=True)),
                          lambda x: np.logaddexp.reduce(ld(x), axis=-1, keepdims=True)),
    "axis=(0, 1), keepdims": (lambda x: np.log(np.exp(x).sum(axis=(0, 1), keepdims=True)),
                              lambda x: np.logaddexp.reduce(ld(x).ravel()).reshape(1, 1)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", LSE_FORMS)
def test_log_sum_exp_around_1000(backend, form):
    f, exact = LSE_FORMS[form]
    x = 1000 + np.random.default_rng(0).normal(size=(5, 8))
    assert np.all(np.isinf(naive(f, x)))
    assert_accurate(tracejit.jit(f, backend=backend)(x), exact(x))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", [logistic_loss, logistic_loss_inline])
def test_logistic_loss_with_logits_of_800(backend, loss):
    assert not np.all(np.isfinite(naive(loss, LOGITS, LABELS)))
    got = tracejit.jit(loss, backend=backend)(LOGITS, LABELS)
    assert_accurate(got, logistic_loss_exact(LOGITS, LABELS))
    mean = tracejit.jit(lambda z, y: loss(z, y).mean(), backend=backend)(LOGITS, LABELS)
    assert_accurate(mean, np.mean(logistic_loss_exact(LOGITS, LABELS)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spread", [1.0, 1000.0])
def test_softmax_cross_entropy_with_logits_of_1000(backend, spread):
    """Logits around 1000 (exp overflows), and spread over +-1000 (a label's
    probability underflows to 0 and its log to -inf)."""
    rng = np.random.default_rng(1)
    z = 1000 + spread * rng.normal(size=(6, 10))
    y = rng.integers(0, 10, 6)
    assert not np.isfinite(naive(softmax_cross_entropy, z, y))
    got = tracejit.jit(softmax_cross_entropy, backend=backend)(z, y)
    assert_accurate(got, cross_entropy_exact(z, y))


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_add_exp_at_large_and_small_arguments(backend):
    a = np.array([1000.0, 1000.0, -1000.0, 800.0, 0.5, -2000.0])
    b = np.array([1000.0, 999.0, -1001.0, -800.0, 0.25, -2000.0])
    assert not np.all(np.isfinite(naive(log_add_exp, a, b)))
    assert_accurate(tracejit.jit(log_add_exp, backend=backend)(a, b), np.logaddexp(ld(a), ld(b)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_square_root_of_a_square_at_huge_and_tiny_x(backend):
    x = np.array([1e200, -1e300, 1e-200, -3e-170, 2.5, -1.0])
    assert list(naive(norm_of_square, x)[:3]) == [np.inf, np.inf, 0.0]
    got = tracejit.jit(norm_of_square, backend=backend)(x)
    np.testing.assert_array_equal(got, np.abs(x))


# --- turning them off ---------------------------------------------------------------

NAIVE_CASES = [
    (log_one_plus, (TINY,)),
    (lambda x: np.log(np.sum(np.exp(x), axis=1)), (1000 + np.zeros((3, 4)),)),
    (logistic_loss, (LOGITS, LABELS)),
    (softmax_cross_entropy, (1000 + np.arange(12.0).reshape(3, 4), np.array([0, 3, 1]))),
    (norm_of_square, (np.array([1e200, 1e-200]),)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(len(NAIVE_CASES)))
def test_stability_false_gives_numpys_naive_answer(backend, case):
    f, args = NAIVE_CASES[case]
    want = naive(f, *args)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = tracejit.jit(f, backend=backend, stability=False)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, equal_nan=True)
    assert not np.all(np.isfinite(got)) or np.any(np.asarray(got) == 0)


@pytest.mark.parametrize("setting", ["stability", "rewrites"])
def test_config_turns_them_off(monkeypatch, setting):
    """`config.stability = False` (or no rewrites at all) at compile time: NumPy's naive
    answer; `jit(stability=True)` overrides the config."""
    x = 1000 + np.zeros((3, 4))
    f = lambda x: np.log(np.sum(np.exp(x), axis=1))  # noqa: E731
    monkeypatch.setattr(config, setting, False)
    with np.errstate(all="ignore"):
        assert np.all(np.isinf(tracejit.jit(f)(x)))
    if setting == "stability":
        assert_accurate(tracejit.jit(f, stability=True)(x), 1000 + np.log(LD(4)))
    monkeypatch.setattr(config, setting, True)
    assert_accurate(tracejit.jit(f)(x), 1000 + np.log(LD(4)))


def test_what_fired_is_recorded_with_the_users_line():
    jitted = tracejit.jit(logistic_loss)
    jitted(LOGITS, LABELS)
    entry, = jitted._cache.values()
    fired = {f.rule: f for f in entry.rewrites}
    assert "log(1/(1+exp(-x))) -> -softplus(-x)" in fired
    assert "log(1-1/(1+exp(-x))) -> -softplus(x)" in fired
    source = fired["log(1/(1+exp(-x))) -> -softplus(-x)"].source
    assert source.filename == __file__ and source.function == "logistic_loss"
