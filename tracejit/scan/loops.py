"""What converted loops call at trace time (see `convert.py`): each loop is traced once
as a `scan` or `while` node when its body touches traced values, or run in Python
otherwise.

A loop runs in Python (its body traced once per iteration, "unrolled") when it iterates
over a Python container, when its trip count is known and its body touches nothing
traced, when it is marked `tracejit.unroll(...)`, when it mutates a Python list, dict or
set, or when its body needs the Python value of something that changes per iteration
(`if x[i] > 0:` on a traced `x`). Each decision is recorded on the trace (`ctx.loops`),
with the reason, for `explain`.

A loop with `break` or `return` (`exit=` names its break flag, see `exits.py`) that is
traced is a `while` node: a `for` loop becomes a while over its counter (`counted_loop`),
and a `while` loop tests `cond and not stopped`. A `while` loop whose condition is a
Python value first traces its body once on the side (`Exits.traced_after`) to see
whether its exit depends on a traced value, so `while True: ... if err < tol: break`
is a while node from its first iteration. A loop that runs in Python stops at a Python
break flag; after a traced one, its remaining iterations run under a traced `if`.

Carried names keep NumPy's semantics: an array the body updates in place (`u += ...`,
`u[1:] = ...`) stays the same array, and every other view of it sees the updates; a name
the body rebinds (`h = np.tanh(h @ W)`) is a value carried from one iteration to the next.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tracejit import errors
from tracejit.graph.ir import Aval
from tracejit.scan.api import COUNTER_SPEC, record_loop
from tracejit.scan.body import Spec, slice_by_counter, trace_body
from tracejit.scan.branches import (  # noqa: F401 - if_stmt & co. are called by converted code
    Exits,
    if_return,
    if_stmt,
    returned,
    running,
)
from tracejit.scan.carries import CarryPlan, Unconvertible, values_of
from tracejit.scan.syntax import PREFIX
from tracejit.trace.context import current
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, lift


class unroll:  # noqa: N801 - used like a builtin: `for i in tracejit.unroll(range(n))`
    """Marks a loop to run in Python while tracing (one copy of the body per iteration),
    for bodies that need Python values that change per iteration."""

    def __init__(self, iterable: Any) -> None:
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)


@dataclass
class LoopRecord:
    line: int
    kind: str  # "scan", "while" or "python"
    reason: str = ""


class python_loop:  # noqa: N801 - a context manager named for what it marks
    """Around a loop the converter left in Python (`break` inside `try`, `yield`, ...):
    records it, and turns "this traced value has no Python value" into an error that
    says why the loop could not be a loop node and how to write it so it can."""

    def __init__(self, line: int, why: str) -> None:
        self.line, self.why = line, why

    def __enter__(self) -> None:
        ctx = current()
        if ctx is not None:
            ctx.loops.append(LoopRecord(self.line, "python", f"it has {self.why}"))

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, errors.ConcretizationError) and not getattr(exc, "noted", False):
            new = errors.ConcretizationError(
                exc.operation, f"{exc.detail}; the loop at line {self.line} runs in Python "
                f"because it has {self.why}, so its body cannot branch on traced values",
                "move the statement out of that block (break, continue and return "
                "elsewhere in a loop body are converted), or write the exit test as the "
                "condition of a `while` loop; or use np.where to select values instead "
                "of branching", exc.source)
            new.noted = True
            raise new.with_traceback(tb) from None
        return False


# --- iterables that do not need concrete bounds ----------------------------------------


class LazyRange:
    def __init__(self, start: Any, stop: Any = None, step: Any = 1) -> None:
        if stop is None:
            start, stop = 0, start
        self.start, self.stop, self.step = start, stop, step

    def static(self) -> range | None:
        parts = (self.start, self.stop, self.step)
        if all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in parts):
            return range(int(self.start), int(self.stop), int(self.step))
        return None

    def __iter__(self):
        return iter(range(self.start, self.stop, self.step))


class LazyEnumerate:
    def __init__(self, iterable: Any, start: Any = 0) -> None:
        self.iterable, self.start = iterable, start

    def __iter__(self):
        return iter(enumerate(self.iterable, self.start))


def lazy_range(fn: Any, *args: Any) -> Any:
    return LazyRange(*args) if fn is builtins.range else fn(*args)


def lazy_enumerate(fn: Any, *args: Any) -> Any:
    return LazyEnumerate(*args) if fn is builtins.enumerate else fn(*args)


# --- for loops ----------------------------------------------------------------------------


def for_loop(iterable: Any, body: Callable, frame_locals: dict[str, Any],
             carried: tuple[str, ...], line: int, inplace: tuple[str, ...] = (),
             containers: tuple[str, ...] = (), exit: str | None = None) -> tuple:
    """`for ... in iterable:` with the body as `body(item, carried values) -> carried
    values`; `frame_locals` is the function's `locals()` at the loop; `exit` names the
    carried flag a `break` or `return` sets (exits.py)."""
    ctx = current()
    names, values = carried, values_of(frame_locals, carried)
    mutated = values_of(frame_locals, containers)
    reason = python_reason(iterable, containers, mutated)
    flag = names.index(exit) if exit else None
    if ctx is None or reason:
        exits = Exits(names, flag, line, not container_reason(containers, mutated))
        return python_for(ctx, iterable, body, values, line, reason or "not traced", exits)
    plan = CarryPlan(names, values, inplace)
    if isinstance(iterable, LazyRange):
        rng = iterable.static()
        if rng is None or flag is not None:
            return counted_loop(ctx, iterable, body, plan, line, flag)
        return scan_loop(ctx, body, plan, line, len(rng), [], counter_item(rng))
    if flag is not None:
        return counted_loop(ctx, iterable, body, plan, line, flag)
    if isinstance(iterable, LazyEnumerate):
        xs = lift(iterable.iterable)
        return scan_loop(ctx, body, plan, line, xs.shape[0], [xs],
                         lambda k, x: (iterable.start + k, x))
    xs = lift(iterable)
    return scan_loop(ctx, body, plan, line, xs.shape[0], [xs], lambda k, x: x)


def counter_item(rng: range) -> Callable:
    """The loop variable from the step counter k: `start + k * step`, without the
    arithmetic where start is 0 or step is 1."""
    if rng.step == 1:
        return (lambda k: k) if rng.start == 0 else (lambda k: rng.start + k)
    return lambda k: rng.start + k * rng.step


def python_reason(iterable: Any, containers: tuple[str, ...], values: tuple) -> str:
    if isinstance(iterable, unroll):
        return "marked tracejit.unroll"
    why = container_reason(containers, values)
    if why:
        return why
    if isinstance(iterable, LazyRange):
        return ""
    if isinstance(iterable, LazyEnumerate):
        iterable = iterable.iterable
    if isinstance(iterable, (Tracer, np.ndarray)) and np.ndim(iterable) >= 1:
        return ""
    return f"it iterates over a Python {type(iterable).__name__}"


def container_reason(containers: tuple[str, ...], values: tuple) -> str:
    """Why the loop must run in Python because its body mutates a Python container."""
    for name, value in zip(containers, values, strict=True):
        if isinstance(value, (list, dict, set, bytearray)):
            return f"the body mutates the Python {type(value).__name__} {name}"
    return ""


def python_for(ctx: Any, items: Any, body: Callable, values: tuple, line: int,
               reason: str, exits: Exits | None = None) -> tuple:
    """The loop in Python, one body per item; with `exits`, stopping at a break. Once a
    traced condition may have stopped it, later iterations run under `if not stopped:`
    (a traced conditional), unless the body mutates Python containers."""
    if ctx is not None:
        ctx.loops.append(LoopRecord(line, "python", reason))
    for item in items:
        if exits is None or exits.flag is None:
            values = body(item, values)
            continue
        stop = values[exits.flag]
        if isinstance(stop, Tracer):
            values = exits.guarded(stop, lambda v, item=item: body(item, v), values, reason)
        elif stop:
            break
        else:
            values = body(item, values)
    return values


def scan_loop(ctx: Any, body: Callable, plan: CarryPlan, line: int, length: int,
              xs: list[Tracer], item: Callable) -> tuple:
    """Trace the body once as a scan over `length` steps; run it in Python instead if it
    needs per-iteration Python values."""

    def step(k: Tracer, *flat: Tracer) -> tuple[list, list]:
        carried = plan.unflatten(flat[:plan.n_traced])
        return plan.flatten(body(item(k, *flat[plan.n_traced:]), carried)), []

    xspecs = [Spec(Aval(x.shape[1:], x.dtype)) for x in xs]
    try:
        body_trace = plan.trace(lambda specs: trace_body(
            ctx, step, [COUNTER_SPEC], specs, xspecs, f"loop at line {line}"))
    except (errors.LoopVaryingError, Unconvertible) as exc:
        items = (item(k, *(x[k] for x in xs)) for k in range(length))
        return python_for(ctx, items, body, plan.values, line, varying_reason(exc))
    if not (xs or body_trace.consts or body_trace.buffers or plan.starts_traced):
        items = (item(k) for k in range(length))  # a loop over Python values only
        return python_for(ctx, items, body, plan.values, line, "its body touches no "
                          "traced value")
    ctx.loops.append(LoopRecord(line, "scan"))
    body_trace, rows = slice_by_counter(body_trace, length)
    params = {"body": body_trace.graph, "n_consts": len(body_trace.consts),
              "n_carry": body_trace.n_carry, "length": int(length), "reverse": False}
    outs = record_loop(ctx, "scan", body_trace.consts + [t.sym for t in plan.inputs] +
                       body_trace.buffer_inits + [x.sym for x in xs] + rows, params,
                       body_trace)
    return plan.results(outs[:body_trace.n_explicit])


def varying_reason(exc: Exception) -> str:
    if isinstance(exc, Unconvertible):
        return str(exc)
    return f"its body needs a Python value that changes per iteration ({exc.operation})"


def counted_loop(ctx: Any, iterable: Any, body: Callable, plan: CarryPlan, line: int,
                 flag: int | None) -> tuple:
    """A `for` loop as a while loop over (counter, *carried): for a `range` with a traced
    bound, or a loop that may stop early (`flag` is its break flag's position)."""
    if isinstance(iterable, LazyRange):
        rng = iterable.static()
        if isinstance(iterable.step, Tracer):
            raise errors.UnsupportedArgumentError(
                f"loop at line {line}", "range() with a traced step", "pass the step as a "
                "Python int", user_source())
        start, stop, step = iterable.start, iterable.stop, iterable.step
        item, items = (lambda c: c), rng
    else:
        seq = iterable.iterable if isinstance(iterable, LazyEnumerate) else iterable
        xs, first = lift(seq), getattr(iterable, "start", None)
        start, stop, step, rng = 0, xs.shape[0], 1, range(xs.shape[0])
        item = (lambda c: xs[c]) if first is None else (lambda c: (first + c, xs[c]))
        items = (item(k) for k in rng)
    if rng is not None and len(rng) == 0:
        return plan.values  # Python leaves the loop variable unbound

    def test(state: tuple) -> Any:
        return state[0] < stop if step > 0 else state[0] > stop

    def advance(state: tuple) -> tuple:
        return (state[0] + step,) + tuple(body(item(state[0]), state[1:]))

    exits = Exits(plan.names, flag, line)
    state = CarryPlan((f"{PREFIX}counter",) + plan.names, (lift(start),) + plan.values,
                      plan.inplace)
    python_ok = isinstance(iterable, LazyRange) and rng is not None and \
        not plan.starts_traced
    try:
        out = trace_while(ctx, state, exits.shifted(1).test(test), advance, line, python_ok)
    except (errors.LoopVaryingError, Unconvertible) as exc:
        if rng is None:  # a traced trip count: no Python loop can stand in
            raise carry_error(line, exc) from None
        return python_for(ctx, items, body, plan.values, line, varying_reason(exc), exits)
    if out is None:
        return python_for(ctx, items, body, plan.values, line, "its body touches no "
                          "traced value", exits)
    return out[1:]


# --- while loops ----------------------------------------------------------------------


def while_loop(cond: Callable, body: Callable, frame_locals: dict[str, Any],
               carried: tuple[str, ...], line: int, inplace: tuple[str, ...] = (),
               containers: tuple[str, ...] = (), exit: str | None = None) -> tuple:
    """`while cond:` with `cond(carried values)` and `body(carried values) -> carried
    values`; `exit` names the carried flag a `break` or `return` sets."""
    ctx = current()
    names, values = carried, values_of(frame_locals, carried)
    reason = container_reason(containers, values_of(frame_locals, containers))
    exits = Exits(names, names.index(exit) if exit else None, line, not reason)
    test = exits.test(cond)
    probe = exits.flag is not None and ctx is not None and not reason
    while True:  # in Python while the condition is a Python value
        ok = test(values)
        if isinstance(ok, Tracer) and not reason:
            break
        if not ok:
            if ctx is not None:
                ctx.loops.append(LoopRecord(line, "python", reason or "its condition is a "
                                            "Python value"))
            return values
        if probe and exits.traced_after(ctx, body, test, values):
            break  # an exit on a traced value: a while loop from the first iteration
        probe = False
        values = body(values)
    try:
        return trace_while(ctx, CarryPlan(names, values, inplace), test, body, line)
    except Unconvertible as exc:
        raise carry_error(line, exc) from None


def carry_error(line: int, exc: Exception) -> Exception:
    if not isinstance(exc, Unconvertible):
        return exc
    return errors.LoopCarryError(
        f"while loop at line {line}", str(exc), "keep the loop's variables arrays of fixed "
        "shape and dtype", user_source())


def trace_while(ctx: Any, plan: CarryPlan, cond: Callable, body: Callable, line: int,
                python_ok: bool = False) -> tuple | None:
    """Record a `while` node of `cond` and `body` over the carried values; None where
    `python_ok` and the body touches no traced value (run it in Python instead)."""

    def step(*flat: Tracer) -> tuple[list, list]:
        return plan.flatten(body(plan.unflatten(flat))), []

    body_trace = plan.trace(lambda specs: trace_body(ctx, step, [], specs, [],
                                                     f"while loop at line {line}"))
    if python_ok and not (body_trace.consts or body_trace.buffers):
        return None

    def test(*flat: Tracer) -> tuple[list, list]:
        ok = lift(cond(plan.unflatten(flat)))
        if ok.shape != ():
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return list(flat), [astype(ok, np.bool_)]

    specs = [Spec.of(t) for t in plan.inputs]
    cond_trace = trace_body(ctx, test, [], specs, [], f"while condition at line {line}",
                            body_trace.buffers)
    if cond_trace.n_carry != body_trace.n_carry:
        raise errors.LoopCarryError(
            f"while loop at line {line}", "its condition writes into an array",
            "compute the condition without assigning into arrays", user_source())
    ctx.loops.append(LoopRecord(line, "while"))
    cgraph = cond_trace.graph
    cond_graph = type(cgraph)(cgraph.inputs, cgraph.eqns, cgraph.outputs[-1:], cgraph.name)
    params = {"cond": cond_graph, "body": body_trace.graph,
              "n_cond_consts": len(cond_trace.consts),
              "n_body_consts": len(body_trace.consts)}
    outs = record_loop(ctx, "while", cond_trace.consts + body_trace.consts +
                       [t.sym for t in plan.inputs] + body_trace.buffer_inits, params,
                       body_trace)
    return plan.results(outs[:body_trace.n_explicit])


def check(cond: Any, message: Callable[[], Any] | None) -> None:
    """`assert cond, message`: at trace time for Python values, at run time for traced
    ones."""
    if not isinstance(cond, Tracer):
        if not cond:
            raise AssertionError(message()) if message is not None else AssertionError
        return
    from tracejit.scan.checks import record_check

    record_check(cond, message)

