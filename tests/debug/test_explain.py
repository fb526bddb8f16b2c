"""explain: cache key and hit/miss with the reason, static arguments, times, loops,
rewrites, kernels, fallbacks and errors, the last recompilation."""

from __future__ import annotations

import numpy as np

import tracejit
from tracejit.debug.explain import Explanation

W = np.ones((3, 2))


def step(x, n, scale):
    total = 0.0
    for _ in range(n):
        x = np.tanh(x) * scale
        total = total + np.log(1 + x.sum())
    for k in [1, 2]:
        x = x + k
    return x @ W, total


def test_first_call_then_hit():
    f = tracejit.jit(step)
    report = f.explain(np.ones((4, 3)), 3, 0.5)
    assert isinstance(report, Explanation)
    assert not report.hit and report.reason == "first call"
    assert report.static == [("n", 3)]
    assert dict(report.signature)["x"] == "f64[4,3] C"
    assert dict(report.signature)["scale"] == "traced float"
    assert set(report.times) == {"trace", "rewrite", "emit"}
    assert report.equations[0] > 0 and report.equations[1] > 0
    again = f.explain(np.ones((4, 3)), 3, 0.25)
    assert again.hit and again.traces == 1
    f(np.ones((4, 3)), 3, 0.5)
    assert f.cache_info().hits >= 1 and f.cache_info().traces == 1


def test_loops_rewrites_and_kernels():
    report = tracejit.explain(step, np.ones((4, 3)), 3, 0.5)
    kinds = [kind for _, kind, _ in report.loops]
    assert kinds == ["scan", "python"]
    python = report.loops[1]
    assert python[0] == step.__code__.co_firstlineno + 5 and "Python list" in python[2]
    rules = {rule: n for _, rule, n, _ in report.rewrites}
    assert rules.get("log(1+x) -> log1p(x)") == 1
    assert report.kernels and all(k.kind == "call" or k.kind == "compiled loop"
                                  for k in report.kernels)  # the interpreter
    text = str(report)
    for part in ("explain step on the numpy backend", "cache miss (first call)",
                 "static: n=3", "compiled loop (scan)", "Python loop, unrolled",
                 "1 x [stabilize] log(1+x) -> log1p(x)", "kernels (numpy)",
                 "the NumPy interpreter", "left in Python"):
        assert part in text, part
    assert repr(report) == text


def test_numba_kernels_and_object_mode():
    f = tracejit.jit(step, backend="numba")
    report = f.explain(np.ones((4, 3)), 3, 0.5)
    text = str(report)
    assert "kernels (numba)" in text and "one generated module" in text
    assert any(k.kind == "fused loop" for k in report.kernels)
    assert any(k.kind == "compiled loop" for k in report.kernels)
    assert any(k.name.startswith("k") and "." in k.name for k in report.kernels)  # body


def test_recompile_reasons():
    f = tracejit.jit(step)
    f(np.ones((4, 3)), 3, 0.5)
    report = f.explain(np.ones((5, 3)), 3, 0.5)
    assert not report.hit and report.reason == "x: shape (4, 3) -> (5, 3)"
    assert report.last_recompile == "trace 2: x: shape (4, 3) -> (5, 3)"
    assert f.explain(np.ones((5, 3), np.float32), 3, 0.5).reason == \
        "x: dtype float64 -> float32"
    assert f.explain(np.ones((5, 3)), 4, 0.5).reason == "n: static value 3 -> 4"
    assert f.explain(np.ones((5, 3)), 4, np.float32(0.5)).reason == \
        "scale: type traced float -> numpy float32 scalar"
    assert f.explain(np.asfortranarray(np.ones((5, 3))), 4, 0.5).reason == \
        "x: layout C -> F"
    report = f.explain(np.ones((6, 3)), 4, 0.5)
    assert ("x's shape", 2) in report.blame
    assert "last recompilation:" in str(report) and "x's shape" in str(report)


def test_captured_global_change_is_the_reason():
    global W
    f = tracejit.jit(step)
    f(np.ones((4, 3)), 1, 0.5)
    old = W
    try:
        W = np.ones((3, 4))
        report = f.explain(np.ones((4, 3)), 1, 0.5)
        assert not report.hit and "captured global" in report.reason
        assert "global W: captured shape (3, 2) -> shape (3, 4)" in report.last_recompile
    finally:
        W = old


def test_errors_are_reported_not_raised():
    report = tracejit.explain(lambda x: x.reshape(2, 3)[5], np.ones(6))
    assert report.error.startswith("TraceIndexError") and "out of bounds" in report.error
    assert "error: TraceIndexError" in str(report)
