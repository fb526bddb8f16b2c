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
    """A NumPy allocation: its current value and where it came from.

    Inside a loop body being traced (a `Frame`), the first access to a buffer made
    outside the body *enters* it: the body sees a fresh input variable in place of the
    buffer's outer value, so the body graph is closed over its inputs and a write in the
    body is a carried value of the loop (see `Frame`).
    """

    __slots__ = ("_var", "frame", "initial", "writeable", "external", "strides")

    def __init__(self, var: Var, writeable: bool = True, external: int | None = None,
                 strides: tuple[int, ...] | None = None) -> None:
        self._var = var
        self.frame = active_frame()
        self.initial = var
        self.writeable = writeable
        self.external = external
        self.strides = strides

    @property
    def var(self) -> Var:
        if self.frame is not active_frame():
            self.cross()
        return self._var

    @var.setter
    def var(self, value: Var) -> None:
        frame = active_frame()
        if self.frame is not frame:
            self.cross()
        if frame is not None:
            frame.written.add(id(self))
        for log_frame, log in getattr(_STATE, "write_logs", ()):
            if log_frame is frame:
                log.setdefault(id(self), (self, self._var))
        self._var = value

    def cross(self) -> None:
        """First access from a loop body other than the one that made this buffer."""
        if self.frame is not None and self.frame.closed:
            raise errors.LoopEscapeError(
                "using a value computed inside a loop body", "the value was computed in "
                "the body of a loop that tracejit compiles as one loop node, and reached "
                "code outside that loop other than as a loop variable (through a list, an "
                "attribute, a closure)", "bind it to a variable assigned in the loop, or "
                "stack per-step values with tracejit.scan", user_source())
        frame = active_frame()
        if frame is not None:
            frame.enter(self)


class Frame:
    """A loop body being traced into its own equation list.

    `entered` maps each outer buffer the body touched to (buffer, outer value, entry
    variable): the body reads the entry variable, a body input. When the frame closes,
    a buffer the body wrote is a carry (entry in, final value out); one it only read is
    a constant of the loop. `close` puts every buffer back to its outer value; the loop
    builder then sets the written ones to the loop's results.
    """

    def __init__(self, parent: Frame | None) -> None:
        self.parent = parent
        self.entered: dict[int, tuple[Buffer, Var, Var]] = {}
        self.written: set[int] = set()
        self.concretized: set[int] = set()
        self.by_entry: dict[Var, tuple[Buffer, Var]] = {}
        self.eqns: list[Eqn] = []  # what the body recorded (set when it closes)
        self.closed = False

    def enter(self, buf: Buffer) -> None:
        if self.parent is not None and buf.frame is not self.parent:
            self.parent.enter(buf)
        outer = buf._var
        entry = Var(outer.shape, outer.dtype)
        self.entered[id(buf)] = (buf, outer, entry)
        self.by_entry[entry] = (buf, outer)
        buf._var = entry
        buf.frame = self

    def restore(self) -> None:
        """Every entered buffer back to its outer value, owned by the parent frame."""
        for buf, outer, _ in self.entered.values():
            buf._var = outer
            buf.frame = self.parent
        self.closed = True


def resolve_entry(var: Var, concretizing: bool = False) -> Var | None:
    """The outer value a loop body's entry variable stands for; None if `var` is not an
    entry, or is one of a buffer the body has written (its value varies per iteration)."""
    frame = active_frame()
    while frame is not None:
        hit = frame.by_entry.get(var)
        if hit is not None:
            buf, outer = hit
            if id(buf) in frame.written:
                return None
            if concretizing:
                frame.concretized.add(id(buf))
            return outer
        frame = frame.parent
    return None


def active_frame() -> Frame | None:
    return getattr(_STATE, "frame", None)


def set_active_frame(frame: Frame | None) -> None:
    _STATE.frame = frame


def push_write_log() -> dict[int, tuple[Buffer, Var]]:
    """Start logging buffer writes: the log maps each buffer written from now on, in the
    active frame, to (buffer, its value before the first write), until `pop_write_log`.
    Logs nest; a write is logged in every open log of its frame (a traced `if` selects
    what its branches wrote: scan/branches.py)."""
    log: dict[int, tuple[Buffer, Var]] = {}
    if not hasattr(_STATE, "write_logs"):
        _STATE.write_logs = []
    _STATE.write_logs.append((active_frame(), log))
    return log


def pop_write_log() -> None:
    _STATE.write_logs.pop()


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
    loops: list[Any] = field(default_factory=list)  # how each loop ran (scan/loops.py)

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
        """The values `var` depends on that are not known while tracing: graph inputs,
        and inside a loop body the values that change from one iteration to the next
        (the counter, carries). A buffer the body only read so far stands for its outer
        value (noted in the frame, in case the body writes it later)."""
        seen, stack, deps = set(), [var], set()
        inputs = set(self.inputs)
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            eqn = self.producer.get(v)
            if eqn is not None:
                stack.extend(eqn.inputs)
                continue
            outer = resolve_entry(v, concretizing=True)
            if outer is not None:
                stack.append(outer)
            elif v in inputs or active_frame() is not None:
                deps.add(v)
        return deps

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
        self.frame = active_frame()  # a new trace starts outside any loop body
        set_active_frame(None)
        return self.ctx

    def __exit__(self, *exc: object) -> None:
        _STATE.stack.pop()
        set_active_frame(self.frame)
