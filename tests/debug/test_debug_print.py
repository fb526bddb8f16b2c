"""debug_print prints at run time, on every backend, once per loop iteration."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit


def show(x, n):
    h = np.tanh(x)
    tracejit.debug_print("h = {} max {m:.3f} n={}", h, n, m=h.max())
    for i in range(n):
        h = h * 2
        tracejit.debug_print("step {}: {}", i, h.sum())
    return h


EXPECTED = ["h = [0. 0.] max 0.000 n=2", "step 0: 0.0", "step 1: 0.0"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_prints_every_call(backend, capsys):
    f = tracejit.jit(show, backend=backend)
    for _ in range(2):
        f(np.zeros(2), 2)
        assert capsys.readouterr().out.splitlines() == EXPECTED
    f(np.ones(2), 1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("h = [0.76159416 0.76159416] max 0.762")
    assert out[1] == f"step 0: {np.tanh(1.0) * 4}"


def test_outside_a_trace_it_prints_now(capsys):
    show(np.zeros(2), 2)
    assert capsys.readouterr().out.splitlines() == EXPECTED


def test_is_kept_without_outputs_and_recorded_with_its_line():
    graph = tracejit.make_graph(show, optimized=True)(np.zeros(2), 2)
    text = str(graph)
    assert text.count(" = debug_print ") == 2
    assert f"test_debug_print.py:{show.__code__.co_firstlineno + 2}" in text


def test_not_differentiated_through(capsys):
    def loss(w):
        tracejit.debug_print("w = {}", w)
        return (w ** 2).sum()

    g = tracejit.grad(loss)(np.array([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0]
    assert capsys.readouterr().out == "w = [1. 2.]\n"


def test_numba_source_calls_it_in_object_mode():
    f = tracejit.jit(show, backend="numba")
    source = tracejit.show_source(f, np.zeros(2), 2)
    assert source.count("with numba.objmode():") == 2
