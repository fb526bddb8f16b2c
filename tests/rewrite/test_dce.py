from __future__ import annotations

import numpy as np

import tracejit
from tracejit.graph import eval_graph, typecheck
from tracejit.rewrite import eliminate_dead_code


def test_dead_code_is_dropped_and_values_kept():
    def f(x):
        unused = np.exp(x) * 2  # noqa: F841 - dead on purpose
        return np.sin(x) + 1

    x = np.linspace(0, 1, 5)
    graph = tracejit.jit(f).graph(x)
    assert "exp" not in [e.op for e in graph.eqns]  # the driver already ran DCE
    again = eliminate_dead_code(graph)
    typecheck(again)
    assert again.eqns == graph.eqns
    np.testing.assert_array_equal(eval_graph(again, x)[0], f(x))


def test_writes_to_arguments_are_live():
    def f(x):
        x[0] = 5.0
        return None

    graph = tracejit.jit(f).graph(np.zeros(3))
    assert [e.op for e in graph.eqns] == ["constant", "reshape", "set_slice"]
    assert graph.outputs == (graph.eqns[-1].outputs[0],)
