"""make_graph (traced and optimized, with kernels), the DOT form, render."""

from __future__ import annotations

import importlib
import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tracejit
from tracejit.debug import graphs


def model(x, w, n):
    h = np.tanh(x @ w)
    d = h[1:] - h[:-1]
    for _ in range(n):
        d = d * 0.5 + np.exp(d)
    return d.sum(axis=1), np.log(1 + np.abs(d))


ARGS = (np.ones((4, 3)), np.ones((3, 5)), 3)
LINE = model.__code__.co_firstlineno


def test_make_graph_is_the_traced_graph():
    graph = tracejit.make_graph(model)(*ARGS)
    assert isinstance(graph, tracejit.graph.Graph)
    text = str(graph)
    assert text.startswith("graph model(a:f64[4,3], b:f64[3,5]) {")
    assert "= matmul a b" in text and f"test_graphs.py:{LINE + 1}" in text
    assert "scan" in text and "body:" in text  # the loop, its body indented under it
    assert " = log " in text and "log1p" not in text  # as written: no rewrites yet


def test_make_graph_takes_jit_options_and_jitted_functions():
    f = tracejit.jit(lambda x, k: x * k, static_argnames="k")
    assert "constant  value=3" in str(tracejit.make_graph(f)(np.ones(2), 3.0))
    g = tracejit.make_graph(lambda x: np.log(1 + x), stability=False, optimized=True)
    assert "log1p" not in str(g(np.ones(2)))
    assert "log1p" in str(tracejit.make_graph(lambda x: np.log(1 + x), optimized=True)(
        np.ones(2)))


def test_optimized_graph_marks_kernels():
    graph = tracejit.make_graph(model, optimized=True, backend="numba")(*ARGS)
    text = str(graph)
    assert "log1p" in text  # after the stability rewrite
    lines = {line.split("=")[1].split()[0]: line for line in text.splitlines()
             if " = " in line}
    assert "[k1 fused loop]" in lines["tanh"]
    assert "view: no kernel" in lines["slice"]
    assert "compiled loop]" in lines["scan"]
    assert "[k3.0 fused loop]" in lines["exp"]  # the loop body's own plan
    # absolute and log1p are one loop
    assert lines["absolute"].split("[")[-1] == lines["log1p"].split("[")[-1]
    kernels = {k.name: k for k in graph.kernels}
    assert kernels["k1"].kind == "fused loop" and kernels["k1"].eqns[0].op == "tanh"


def test_interpreter_kernels_are_one_per_equation():
    graph = tracejit.make_graph(model, optimized=True, backend="numpy")(*ARGS)
    assert len(graph.kernels) == len(graph.eqns)
    assert all(k.kind in ("call", "compiled loop") for k in graph.kernels)


def test_dot_text():
    dot = tracejit.make_graph(model)(*ARGS).to_dot()
    assert dot.startswith('digraph "model" {') and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    assert '"a\\nf64[4,3]"' in dot  # an input: name and type
    assert f'"c: f64[4,5] = matmul\\ntest_graphs.py:{LINE + 1}"' in dot
    assert "subgraph cluster_" in dot and 'label="scan body' in dot  # the loop body
    assert "style=dashed" in dot  # into the body and back


def test_dot_clusters_are_kernels_with_bodies_nested():
    graph = tracejit.make_graph(model, optimized=True, backend="numba")(*ARGS)
    dot = graph.to_dot()
    assert 'label="k1: fused loop over [4,5] (tanh)"' in dot
    # the scan's kernel cluster holds its body's cluster, which holds the body's kernel
    start = dot.index("k3: compiled loop")
    body = dot.index("scan body", start)
    inner = dot.index("k3.0: fused loop", body)
    depth = 0
    for ch in dot[start:inner]:
        depth += {"{": 1, "}": -1}.get(ch, 0)
    assert depth >= 1  # still inside the body's cluster
    assert dot.count("{") == dot.count("}")


def test_dot_quotes_labels():
    from tracejit.graph.dot import quote

    assert quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


def has_graphviz() -> bool:
    return importlib.util.find_spec("graphviz") is not None or shutil.which("dot") is not None


@pytest.mark.skipif(not has_graphviz(), reason="Graphviz is not installed")
def test_render_svg(tmp_path):
    path = tracejit.render(tracejit.jit(model, backend="numba"), *ARGS,
                           path=str(tmp_path / "model.svg"))
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for label in ("matmul", "f64[4,5]", f"test_graphs.py:{LINE + 1}", "k1: fused loop",
                  "scan body", "log1p"):
        assert label in texts, label


@pytest.mark.skipif(not has_graphviz(), reason="Graphviz is not installed")
def test_render_png_of_a_graph(tmp_path):
    graph = tracejit.make_graph(model)(*ARGS)
    path = tracejit.render(graph, path=str(tmp_path / "g.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 1000


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    real = importlib.import_module

    def no_graphviz(name, *args):
        if name == "graphviz":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(graphs.importlib, "import_module", no_graphviz)
    monkeypatch.setattr(graphs.shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'tracejit\[graphviz\]'"):
        tracejit.render(model, *ARGS, path=str(tmp_path / "g.svg"))


def test_show_source_backends():
    f = tracejit.jit(lambda x: np.sin(x) + 1)  # the interpreter (tests' default backend)
    source = tracejit.show_source(f, np.ones(3), backend="numba")
    assert "@numba.njit(" in source and "np.sin" in source
    cuda = tracejit.show_source(f, np.ones(3), backend="cuda")  # no GPU needed
    assert '__global__ void' in cuda and "sin(" in cuda
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        tracejit.show_source(f, np.ones(3), backend="tpu")
    with pytest.raises(ValueError, match="generates no source"):
        tracejit.show_source(f, np.ones(3), backend="numpy")


@pytest.mark.skipif(importlib.util.find_spec("graphviz") is None,
                    reason="the graphviz package is not installed")
def test_render_with_the_package_but_no_programs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        tracejit.render(model, *ARGS, path=str(tmp_path / "g.svg"))
