"""The IR, the op table and its NumPy reference interpreter."""

from tracejit.graph import creation, elementwise, indexing, linalg, reductions, shape_ops
from tracejit.graph.interpret import eval_graph
from tracejit.graph.ir import Aval, Eqn, Graph, Source, Var
from tracejit.graph.ops import OPS, Op
from tracejit.graph.typecheck import GraphTypeError, typecheck

del creation, elementwise, indexing, linalg, reductions, shape_ops

__all__ = ["OPS", "Aval", "Eqn", "Graph", "GraphTypeError", "Op", "Source", "Var",
           "eval_graph", "typecheck"]
