"""`if` statements on traced values, as the exit lowering writes them (`exits.py`):

    def _tj_then_7(_tj_vals):             def _tj_else_7(_tj_vals):
        (x, _tj_break_3) = _tj_vals           (x, _tj_break_3) = _tj_vals
        x = x - dx                            return (x, _tj_break_3)
        _tj_break_3 = True
        return (x, _tj_break_3)
    (x, _tj_break_3) = _tj_loops.if_stmt(cond, _tj_then_7, _tj_else_7, locals(),
                                          ('x', '_tj_break_3'), 7)

A Python condition (or a traced constant) runs one branch, as Python does. A traced one
runs both and selects, as `np.where(cond, then, else)`:

- each name either branch binds takes the selected value; both values must have the same
  shape and dtype, except that a Python scalar on one side takes the other side's type
  (the value NumPy would have, in the type of the other branch); a name that one branch
  leaves unbound (it was unbound before the `if`) takes the other branch's value;
- each array either branch writes in place (through any view) takes `where(cond,
  written, before)`, whole buffer at a time, so every view of it sees the selection.

The selected values are exactly those of the branch NumPy would run; but both branches
run, so NumPy warnings (log of a negative number, division by zero) may come from the
branch that was not taken. Values that cannot be selected (different shapes, strings,
lists of another length) raise `BranchSelectError`, a `LoopVaryingError`: a `for` loop
whose body has one falls back to running in Python, as for any `if` on a value that
changes per iteration.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tracejit import errors, tree
from tracejit.scan.carries import Undefined, is_number, safe_equal, values_of
from tracejit.trace.context import active_frame, pop_write_log, push_write_log
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, lift

KIND_ORDER = {"python": 0, "scalar": 1, "array": 2}
KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


class BranchSelectError(errors.LoopVaryingError):
    """The branches of an `if` on a traced value give a name values that cannot be
    selected elementwise (different shapes or dtypes, or Python objects)."""


def if_stmt(cond: Any, then_fn: Callable, else_fn: Callable, frame_locals: dict[str, Any],
            names: tuple[str, ...], line: int) -> tuple:
    """`if cond:` with branches `fn(values of names) -> new values of names`."""
    values = values_of(frame_locals, names)
    c = traced_condition(cond)
    if c is None:
        return then_fn(values) if cond else else_fn(values)
    a, b = run_both(c, lambda: then_fn(values), lambda: else_fn(values))
    return tuple(select(c, x, y, f"{name} (assigned in the if at line {line})")
                 for name, x, y in zip(names, a, b, strict=True))


def if_return(frame_locals: dict[str, Any], rest: Callable, names: tuple[str, ...],
              line: int) -> Any:
    """After a loop that may `return` (at line `line`, directly in the function body):
    the loop's return value if it returned, else what the rest of the function returns."""
    flag, value = frame_locals["_tj_return"], frame_locals.get("_tj_value")
    values = values_of(frame_locals, names)
    c = traced_condition(flag)
    if c is None:
        return value if flag else rest(values)
    a, b = run_both(c, lambda: value, lambda: rest(values))
    return select(c, a, b, f"the value returned inside the loop at line {line} or after it")


def running(*flags: Any) -> Any:
    """`not (flag or ...)`: whether an iteration goes on past a possible break, continue
    or return; a traced bool where a flag is traced."""
    if not any(isinstance(f, Tracer) for f in flags):
        return not any(flags)
    stop = lift(flags[0])
    for f in flags[1:]:
        stop = np.logical_or(stop, f)
    return np.logical_not(stop)


def returned(flag: Any, line: int) -> bool:
    """A loop that may `return` and is not directly in the function body or in another
    loop: whether it returned, which must be known while tracing."""
    if isinstance(flag, Tracer):
        raise errors.ConcretizationError(
            "return inside a loop", f"whether the loop at line {line} returns depends on a "
            "traced value, and the loop is inside an if/with/try block, where tracejit "
            "cannot select between returning and going on", "move the loop to the "
            "function's top level (or into another loop), or set a result variable and "
            "break instead of returning", user_source())
    return bool(flag)


# --- running both branches -------------------------------------------------------------


def traced_condition(cond: Any) -> Tracer | None:
    """A traced condition as a boolean scalar; None if its value is known while tracing
    (a Python value, or a traced constant)."""
    if not isinstance(cond, Tracer) or is_constant(cond):
        return None
    if cond.size != 1:
        raise ValueError("The truth value of an array with more than one element is "
                         "ambiguous. Use a.any() or a.all()")
    if cond.ndim:
        cond = cond.reshape(())
    return astype(cond, np.bool_)


def is_constant(t: Tracer) -> bool:
    """Whether `t` depends on nothing known only at run time (without marking the loop
    buffers it reads as concretized, unless it is constant and will be)."""
    frames, frame = [], active_frame()
    while frame is not None:
        frames.append((frame, set(frame.concretized)))
        frame = frame.parent
    if not t._ctx.input_dependencies(t.sym):
        return True
    for f, saved in frames:
        f.concretized = saved
    return False


def run_both(c: Tracer, then_thunk: Callable, else_thunk: Callable) -> tuple[Any, Any]:
    """Run both branches; every buffer either writes takes `where(c, then, else)`."""
    log = push_write_log()
    try:
        a = then_thunk()
    finally:
        pop_write_log()
    then_vars = {}
    for key, (buf, before) in log.items():
        then_vars[key] = buf._var
        buf._var = before
    log_else = push_write_log()
    try:
        b = else_thunk()
    finally:
        pop_write_log()
    for key, (buf, before) in {**log_else, **log}.items():
        x, y = then_vars.get(key, before), buf._var
        if x is not y:
            (buf.var,) = c._ctx.record("where", [c.sym, x, y], {})
    return a, b


# --- selecting values --------------------------------------------------------------------


def select(c: Tracer, a: Any, b: Any, what: str) -> Any:
    """`where(c, a, b)` over a tree of values."""
    if a is b or isinstance(b, Undefined):
        return a
    if isinstance(a, Undefined):
        return b
    la, ta = tree.flatten(a)
    lb, tb = tree.flatten(b)
    if ta != tb:
        raise mismatch(what, f"a {describe(a)} in one branch and a {describe(b)} in the "
                       "other", "give it the same structure in both")
    return tree.unflatten(ta, [select_leaf(c, x, y, what)
                               for x, y in zip(la, lb, strict=True)])


def select_leaf(c: Tracer, a: Any, b: Any, what: str) -> Any:
    if isinstance(a, Undefined):
        return b
    if a is b or isinstance(b, Undefined) or same_python_value(a, b):
        return a
    for v in (a, b):
        if not (isinstance(v, (Tracer, np.ndarray)) or is_number(v)):
            raise mismatch(what, f"a Python {type(v).__name__} that differs between the "
                           "branches", "bind it to the same object in both branches, or "
                           "to arrays or numbers")
    ta, tb = lift(a), lift(b)
    if (ta.shape, ta.dtype) != (tb.shape, tb.dtype):
        ta, tb = coerce_weak(ta, tb), coerce_weak(tb, ta)
    if (ta.shape, ta.dtype) != (tb.shape, tb.dtype):
        raise mismatch(what, f"{describe(ta)} in one branch and {describe(tb)} in the "
                       "other", "give it the same shape and dtype in both branches (cast "
                       "with .astype, broadcast with np.broadcast_to)")
    kind = max(ta.kind, tb.kind, key=KIND_ORDER.__getitem__)
    return bind("where", [c, ta, tb], kind=kind, weak=ta.weak and tb.weak)


def same_python_value(a: Any, b: Any) -> bool:
    return not isinstance(a, (Tracer, np.ndarray)) and type(a) is type(b) and \
        safe_equal(a, b)


def coerce_weak(t: Tracer, other: Tracer) -> Tracer:
    """A Python scalar in the type of the other branch's value, when NumPy would give
    that type to `other op scalar` (NEP 50): broadcast by the select."""
    if not t.weak or t.shape != () or other.weak:
        return t
    if KIND_RANK.get(t.dtype.kind, 9) > KIND_RANK.get(other.dtype.kind, -1):
        return t
    out = astype(t, other.dtype, kind=other.kind)
    if other.shape != ():
        out = bind("broadcast_to", [out], {"shape": other.shape}, kind=other.kind)
    return out


def describe(v: Any) -> str:
    if isinstance(v, Tracer):
        from tracejit.graph.ir import type_str

        return f"{type_str(v.shape, v.dtype)} {v.kind}"
    return type(v).__name__


def mismatch(what: str, detail: str, fix: str) -> BranchSelectError:
    return BranchSelectError(
        "if on a traced value", f"{what} is {detail}; a traced condition selects between "
        "the branches' values elementwise, as np.where(cond, a, b)", fix, user_source())


# --- a loop's break flag -------------------------------------------------------------------


class Exits:
    """A loop's break flag as its runtime sees it: `flag` is the flag's position among
    the carried values (None: the loop cannot stop early); `guard_ok` is False where a
    Python loop must not run its body under a traced condition (it mutates Python
    containers, which a traced `if` cannot select)."""

    def __init__(self, names: tuple[str, ...], flag: int | None, line: int,
                 guard_ok: bool = True) -> None:
        self.names, self.flag, self.line, self.guard_ok = names, flag, line, guard_ok

    def shifted(self, lead: int) -> Exits:
        """The same flag with `lead` values carried before the loop's own (a counter)."""
        flag = None if self.flag is None else self.flag + lead
        return Exits(("",) * lead + tuple(self.names), flag, self.line, self.guard_ok)

    def test(self, cond: Callable) -> Callable:
        """The loop's condition and not stopped (the condition is not evaluated once a
        Python flag has stopped the loop, as Python does after `break`)."""
        if self.flag is None:
            return cond

        def test(values: tuple) -> Any:
            stop = values[self.flag]
            if not isinstance(stop, Tracer):
                return False if stop else cond(values)
            ok = cond(values)
            if not isinstance(ok, Tracer):
                return running(stop) if ok else False
            return np.logical_and(running(stop), ok)
        return test

    def traced_after(self, ctx: Any, body: Callable, test: Callable, values: tuple) -> bool:
        """Whether the loop's continuation depends on a traced value after one iteration
        from `values`: the body traced once on the side, recording nothing."""
        from tracejit.scan.body import body_frame

        n_loops = len(ctx.loops)
        try:
            with body_frame(ctx):
                return isinstance(test(body(values)), Tracer)
        except Exception:  # noqa: BLE001 - the Python iteration raises it where it belongs
            return False
        finally:
            del ctx.loops[n_loops:]

    def guarded(self, stop: Tracer, step: Callable, values: tuple, reason: str) -> tuple:
        """One iteration of a Python loop that a traced condition may have stopped:
        `values = step(values) if not stop else values`, selected."""
        if not self.guard_ok:
            raise errors.ConcretizationError(
                "break on a traced value", f"the loop at line {self.line} runs in Python "
                f"because {reason}, so whether it stops cannot depend on a traced value",
                "keep the loop's state in arrays (preallocate the result and write rows "
                "into it) so the loop can be one loop node", user_source())
        c = traced_condition(running(stop))
        if c is None:
            return values if bool(stop) else step(values)
        a, b = run_both(c, lambda: step(values), lambda: values)
        return tuple(select(c, x, y, f"{name} (in the loop at line {self.line})")
                     for name, x, y in zip(self.names, a, b, strict=True))
