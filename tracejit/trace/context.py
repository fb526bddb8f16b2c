"""The tracing context: records equations, owns buffers, lifts outside values in.

A `Buffer` is one NumPy allocation as the trace sees it: its current value is a `Var`,
and every write through any view of it makes a new version (functionalization). Buffers
of arguments and captured arrays are *external*: if they were written, the final version
is written back into the real array after the call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tracejit import errors
from tracejit.graph.ir import Eqn, Graph, Source, Var
from tracejit.graph.ops import OPS
from tracejit.trace.source import user_source


class Buffer:
    """A NumPy allocation: its current value and where it came from."""

    __slots__ = ("var", "initial", "writeable", "external", "strides")

    def __init__(self, var: Var, writeable: bool = True, external: int | None = None,
                 strides: tuple[int, ...] | None = None) -> None:
        self.var = var
        self.initial = var
        self.writeable = writeable
        self.external = external
        self.strides = strides


@dataclass
class External:
    """An argument leaf or captured array that enters the graph as an input."""

    var: Var
    buffer: Buffer
    kind: str  # "arg" | "capture"
    leaf: int = -1  # argument leaf index (for kind "arg")
    accessor: Callable[[], Any] | None = None  # how to fetch a capture at call time
    describe: str = ""  # "argument x" / "global W": for error messages


class Respecialize(Exception):
    """Internal: a traced Python scalar argument was concretized; retrace it as static."""

    def __init__(self, leaves: frozenset[int]) -> None:
        super().__init__(leaves)
        self.leaves = leaves


@dataclass
class TraceContext:
    name: str = "f"
    eqns: list[Eqn] = field(default_factory=list)
    inputs: list[Var] = field(default_factory=list)
    externals: list[External] = field(default_factory=list)
    producer: dict[Var, Eqn] = field(default_factory=dict)
    captured: dict[int, Any] = field(default_factory=dict)  # id(ndarray) -> Tracer
    keepalive: list[Any] = field(default_factory=list)
    scalar_leaves: dict[Var, int] = field(default_factory=dict)
    shadows: dict[int, Any] = field(default_factory=dict)
    consts: dict[tuple, Var] = field(default_factory=dict)
    arg_names: list[str] = field(default_factory=list)
    source: Source | None = None  # set while a transform records on behalf of an equation

    def describe_inputs(self, inputs: set[Var]) -> str:
        names = [f"{e.describe} ({e.var.aval})" for e in self.externals if e.var in inputs]
        return ", ".join(names) or "its inputs"

    def record(self, op: str, inputs: list[Var], params: dict[str, Any]) -> list[Var]:
        """Append `op(*inputs, **params)`; infer its outputs; raise a user-facing error
        naming the user's line if the op rejects its inputs."""
        try:
            avals = OPS[op].infer(*(v.aval for v in inputs), **params)
        except Exception as exc:  # noqa: BLE001 - rethrown with the user's location
            raise rule_error(op, inputs, exc) from None
        outs = [Var(a.shape, a.dtype) for a in avals]
        eqn = Eqn(op, tuple(inputs), tuple(outs), params, self.source or user_source())
        self.eqns.append(eqn)
        for v in outs:
            self.producer[v] = eqn
        return outs

    def add_input(self, var: Var) -> Var:
        self.inputs.append(var)
        return var

    def input_dependencies(self, var: Var) -> set[Var]:
        """The graph inputs that `var` depends on."""
        seen, stack, deps = set(), [var], set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            eqn = self.producer.get(v)
            if eqn is None:
                deps.add(v)
            else:
                stack.extend(eqn.inputs)
        inputs = set(self.inputs)
        return {v for v in deps if v in inputs}

    def graph(self, outputs: list[Var]) -> Graph:
        return Graph(tuple(self.inputs), tuple(self.eqns), tuple(outputs), self.name)


def rule_error(op: str, inputs: list[Var], exc: Exception) -> errors.TracejitError:
    operands = ", ".join(str(v.aval) for v in inputs) or "no array operands"
    detail = f"{exc} (operands: {operands})"
    source = user_source()
    if isinstance(exc, np.exceptions.AxisError):  # both a ValueError and an IndexError
        return errors.TraceAxisError(f"np.{op}", detail, source=source)
    if isinstance(exc, IndexError):
        return errors.TraceIndexError(f"np.{op}", detail, source=source)
    if isinstance(exc, np.linalg.LinAlgError):
        return errors.TraceLinAlgError(f"np.linalg.{op}", detail, "pass square matrices in "
                                       "the last two axes", source=source)
    if isinstance(exc, (ValueError, ZeroDivisionError)):
        return errors.TraceShapeError(f"np.{op}", detail, SHAPE_FIXES.get(
            OPS[op].family, "check the operands' shapes (NumPy rejects them too)"),
            source=source)
    return errors.TraceTypeError(f"np.{op}", detail, source=source)


SHAPE_FIXES = {
    "elementwise": "make the shapes broadcast: trailing axes must be equal or 1 (add an "
                   "axis with x[:, None] or reshape one operand)",
    "linalg": "the last axis of the left operand must match the second-to-last axis of the "
              "right one (transpose with .T, or reshape)",
    "shape": "the total size must stay the same (use -1 for one inferred axis)",
    "reduction": "reduce over an axis the array has, or give it an initial value",
}

_STATE = threading.local()


def current() -> TraceContext | None:
    stack = getattr(_STATE, "stack", None)
    return stack[-1] if stack else None


class tracing:
    """`with tracing(ctx):` makes `ctx` the current trace on this thread."""

    def __init__(self, ctx: TraceContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> TraceContext:
        if not hasattr(_STATE, "stack"):
            _STATE.stack = []
        _STATE.stack.append(self.ctx)
        return self.ctx

    def __exit__(self, *exc: object) -> None:
        _STATE.stack.pop()
