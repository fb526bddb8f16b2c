from __future__ import annotations

import numpy as np
import pytest

import tracejit
from tracejit.emit import compile_graph


def test_backend_names():
    f = tracejit.jit(lambda x: x * 2, backend="numpy")
    assert f(np.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="unknown backend"):
        tracejit.jit(lambda x: x, backend="fortran")(np.ones(2))


def test_compiled_graph_returns_list_and_keeps_numpy_fp_semantics():
    graph = tracejit.jit(lambda x: 1.0 / x).graph(np.zeros(2))
    run = compile_graph(graph, "numpy")
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        (out,) = run(np.zeros(2))
    assert np.isinf(out).all()
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        run(np.zeros(2))
