"""NaN hunting: debug_nans names the first equation that made a NaN or Inf from finite
inputs; it stays quiet for non-finite inputs and for infinities written as literals."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit
from tracejit.config import config
from tracejit.debug.nans import NonFiniteError

# the NumPy backend warns as NumPy does on the way to the error
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def log_of_difference(x, y):
    d = x - y
    return np.log(d) * 2


LOG_LINE = log_of_difference.__code__.co_firstlineno + 2


def test_names_the_op_the_line_and_the_input_ranges():
    f = tracejit.jit(log_of_difference, debug_nans=True)
    assert np.allclose(f(np.full(3, 2.0), np.ones(3)), 0.0)
    with pytest.raises(FloatingPointError) as info:
        f(np.array([2.0, 1.0, 0.0]), np.ones(3))
    assert isinstance(info.value, NonFiniteError)
    text = str(info.value)
    assert text.startswith(f"{__file__}:{LOG_LINE} (in log_of_difference)")
    assert "return np.log(d) * 2" in text
    assert "log made f64[3] with 1 NaN, 1 -inf of 3" in text
    assert "from finite inputs: f64[3] in [-1, 1]" in text


def test_off_by_default_and_by_option():
    plain = tracejit.jit(log_of_difference)
    with np.errstate(all="ignore"):
        out = plain(np.array([0.0]), np.ones(1))
        assert np.isnan(out).all()
        off = tracejit.jit(log_of_difference, debug_nans=False)
        config.debug_nans = True
        try:
            assert np.isnan(off(np.array([0.0]), np.ones(1))).all()
        finally:
            config.debug_nans = False


def test_config_flag_reaches_functions_already_on_the_fast_path():
    f = tracejit.jit(lambda x: np.sqrt(x - 1.0), backend="numba")
    x = np.full(4, 2.0)
    for _ in range(3):
        f(x)
    assert f._fast_kinds is not None  # calls skip the general path
    config.debug_nans = True
    try:
        with pytest.raises(FloatingPointError, match="sqrt made"):
            f(np.zeros(4))
        f(x)
        assert f._fast_kinds is None  # no fast path while checking
    finally:
        config.debug_nans = False
    f(x)
    f(x)
    assert f._fast_kinds is not None


def test_quiet_for_non_finite_inputs_and_literal_infinities():
    f = tracejit.jit(lambda x: (np.where(x > 0, x, -np.inf), x * 2), debug_nans=True)
    out, _ = f(np.array([1.0, -1.0]))
    assert out.tolist() == [1.0, -np.inf]
    g = tracejit.jit(lambda x: x + 1, debug_nans=True)
    assert np.isnan(g(np.array([np.nan]))).all()


def test_no_write_back_when_it_raises():
    def update(u):
        u[:] = np.log(u - 1.0)

    f = tracejit.jit(update, debug_nans=True)
    u = np.array([3.0, 0.5])
    with pytest.raises(FloatingPointError):
        f(u)
    assert u.tolist() == [3.0, 0.5]


def test_inside_a_loop_names_the_iteration():
    def decay(x, n):
        for _ in range(n):
            x = x - 0.4
            y = np.sqrt(x)
        return y

    f = tracejit.jit(decay, debug_nans=True)
    f(np.ones(2), 2)
    with pytest.raises(FloatingPointError) as info:
        f(np.ones(2), 4)
    text = str(info.value)
    line = decay.__code__.co_firstlineno + 3
    assert f"{__file__}:{line}" in text and "sqrt made" in text
    assert "in iteration 2 of the scan loop" in text
    assert "from finite inputs: f64[2] in [-0.2, -0.2]" in text


def test_while_loop_and_numba_backend():
    def halve_until(x):
        while x.sum() > 1.0:
            x = x / (x.sum() - 2.0)
        return x

    f = tracejit.jit(halve_until, backend="numba", debug_nans=True)
    with pytest.raises(FloatingPointError) as info:
        f(np.array([1.0, 1.0]))
    assert "divide made" in str(info.value) and "while loop" in str(info.value)
