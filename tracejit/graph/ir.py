"""The IR: `Var` (an abstract array), `Eqn` (one op applied), `Graph` (a flat SSA program).

A graph is a list of equations in topological order over immutable variables, as in
JAX's jaxprs: passes read a graph and build a new one, nothing is mutated in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np


class Var:
    """An abstract array value: a shape and a dtype. Compared by identity."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = tuple(int(d) for d in shape)
        dtype = np.dtype(dtype)
        if dtype.char in "qQ":  # long long is int64's twin: results take NumPy's own type
            dtype = np.dtype(dtype.str)
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def aval(self) -> Aval:
        return Aval(self.shape, self.dtype)

    def __repr__(self) -> str:
        return f"Var({type_str(self.shape, self.dtype)})"


class Aval(NamedTuple):
    """Shape and dtype, the static type of a `Var`."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        return type_str(self.shape, self.dtype)


def type_str(shape: tuple[int, ...], dtype: np.dtype) -> str:
    """`f64[3,4]`: the compact type notation used in printed graphs and error messages."""
    return f"{short_dtype(dtype)}[{','.join(map(str, shape))}]"


def short_dtype(dtype: np.dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    if dtype.kind in "iufc":
        return f"{dtype.kind}{dtype.itemsize * 8}"
    return str(dtype)


class Source(NamedTuple):
    """Where in the user's code an equation was recorded."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"


@dataclass(frozen=True, eq=False)
class Eqn:
    """`outputs = op(*inputs, **params)`. Params are static and hashable."""

    op: str
    inputs: tuple[Var, ...]
    outputs: tuple[Var, ...]
    params: dict[str, Any] = field(default_factory=dict)
    source: Source | None = None


@dataclass(frozen=True, eq=False)
class Graph:
    """A program: inputs, equations in topological order, outputs.

    Outputs may repeat and may be inputs. Every variable is assigned once.
    """

    inputs: tuple[Var, ...]
    eqns: tuple[Eqn, ...]
    outputs: tuple[Var, ...]
    name: str = "graph"

    def __str__(self) -> str:
        from tracejit.graph.printing import format_graph

        return format_graph(self)

    def to_dot(self, groups: Any = None) -> str:
        """Graphviz DOT text (`tracejit.graph.dot`); `groups` maps equations to kernels."""
        from tracejit.graph.dot import to_dot

        return to_dot(self, groups)
