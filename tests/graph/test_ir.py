"""The IR: typecheck catches broken graphs, the text form is readable, the interpreter runs."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit
from tracejit.graph import Eqn, Graph, GraphTypeError, Var, eval_graph, typecheck


def traced(fn, *args):
    return tracejit.jit(fn).graph(*args)


def model(x, w):
    h = np.tanh(x @ w)  # line: matmul
    return h.sum(axis=0)


def test_traced_graph_typechecks_and_evaluates():
    x, w = np.ones((4, 3)), np.full((3, 2), 0.5)
    graph = traced(model, x, w)
    typecheck(graph)
    (out,) = eval_graph(graph, x, w)
    np.testing.assert_array_equal(out, model(x, w))
    assert [e.op for e in graph.eqns] == ["matmul", "tanh", "sum"]


def test_text_form_has_types_and_user_lines():
    graph = traced(model, np.ones((4, 3)), np.ones((3, 2)))
    text = str(graph)
    lines = text.splitlines()
    assert lines[0] == "graph model(a:f64[4,3], b:f64[3,2]) {"
    assert "c:f64[4,2] = matmul a b" in text
    assert "sum c" not in text and "axes=(0,)" in text
    assert "test_ir.py:" in lines[1]
    assert lines[-2].strip() == "return (e)"


def test_typecheck_rejects_wrong_output_type():
    x = Var((3,), np.float64)
    bad = Var((4,), np.float64)
    graph = Graph((x,), (Eqn("sin", (x,), (bad,)),), (bad,))
    with pytest.raises(GraphTypeError, match="rule gives"):
        typecheck(graph)


def test_typecheck_rejects_use_before_definition_and_double_assignment():
    x, y = Var((3,), np.float64), Var((3,), np.float64)
    with pytest.raises(GraphTypeError, match="before it is defined"):
        typecheck(Graph((x,), (Eqn("add", (x, y), (Var((3,), np.float64),)),), ()))
    with pytest.raises(GraphTypeError, match="assigned twice"):
        typecheck(Graph((x,), (Eqn("sin", (x,), (x,)),), (x,)))
    with pytest.raises(GraphTypeError, match="unknown op"):
        typecheck(Graph((x,), (Eqn("no_such_op", (x,), (y,)),), (y,)))


def test_every_equation_records_its_source():
    graph = traced(model, np.ones((4, 3)), np.ones((3, 2)))
    for eqn in graph.eqns:
        assert eqn.source is not None and eqn.source.filename == __file__
        assert eqn.source.function == "model"
