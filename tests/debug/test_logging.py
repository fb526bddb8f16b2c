"""The `tracejit` logger: compiles with times, hits, misses and recompilations with their
reason; the recompilation-storm warning."""

from __future__ import annotations

import logging
import warnings

import numpy as np

import tracejit


def records(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tracejit"]


def test_compile_hit_and_recompile_are_logged(caplog):
    f = tracejit.jit(lambda x: x + 1)
    with caplog.at_level(logging.DEBUG, logger="tracejit"):
        f(np.ones(3))
        f(np.ones(3), )
        f(np.ones(4, np.float32))
    messages = records(caplog)
    assert messages[0] == "<lambda>: cache miss (first call): tracing"
    assert "compiled for the numpy backend" in messages[1] and "trace " in messages[1]
    assert "ms" in messages[1]
    assert "<lambda>: cache hit" in messages
    assert ("<lambda>: cache miss, recompiling (trace 2): x: shape (3,) -> (4,); x: dtype "
            "float64 -> float32") in messages


def test_storm_warns_once_naming_the_argument():
    f = tracejit.jit(lambda x, y: x * y)
    y = np.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 13):
            f(np.ones(n), 2.0)
        f(y, y)
    storms = [w for w in caught if issubclass(w.category, tracejit.RecompilationWarning)]
    assert len(storms) == 1
    text = str(storms[0].message)
    assert "traced 10 times" in text and "x's shape" in text and "pad or bucket" in text
    assert storms[0].filename == __file__  # points at the call


def test_storm_of_static_values_warns_once():
    f = tracejit.jit(lambda x, n: x[:n].sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 12):
            f(np.arange(12.0), n)
    storms = [w for w in caught if issubclass(w.category, tracejit.RecompilationWarning)]
    assert len(storms) == 1 and "np.asarray" in str(storms[0].message)
