"""Building equations inside a rule's replacement.

    op.log1p(x)                     # a new equation, its output's shape and dtype inferred
    op.sum(e, axes=(1,), keepdims=True, dtype=None)
    op.multiply(x, 0.5)             # a number becomes a constant of the first array's dtype

Replacements run inside `building(...)`, which collects the new equations (stamped with
the source line of the equation they replace) for the engine to place in the graph.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from tracejit.graph.creation import ConstValue
from tracejit.graph.ir import Eqn, Source, Var
from tracejit.graph.ops import OPS

if TYPE_CHECKING:
    from tracejit.rewrite.engine import Uses

_state = threading.local()


@contextmanager
def building(source: Source | None, producer: dict[Var, Eqn],
             uses: Uses) -> Iterator[list[Eqn]]:
    """Collect the equations built inside; `producer` and `uses` let a replacement look
    at how its inputs were made (`producer_of`) and how often they are read (`uses_of`)."""
    saved = getattr(_state, "frame", None)
    made: list[Eqn] = []
    _state.frame = (made, source, producer, uses)
    try:
        yield made
    finally:
        _state.frame = saved


def _frame() -> tuple[list[Eqn], Source | None, dict[Var, Eqn], Uses]:
    frame = getattr(_state, "frame", None)
    if frame is None:
        raise RuntimeError("tracejit.rewrite.build is for use inside a rule's replacement")
    return frame


def producer_of(var: Var) -> Eqn | None:
    """The equation that made `var` in the graph being rewritten (None for an input)."""
    return _frame()[2].get(var)


def uses_of(var: Var) -> int:
    """How many equations (and graph outputs) read `var`, as of the start of the pass
    (a value made by the rewrite itself counts 0)."""
    return _frame()[3].of(var)


def constant_of(var: Var) -> np.ndarray | None:
    """The elements of `var` when it is a constant of the graph being rewritten (see
    `constant_value`), else None."""
    return constant_value(var, _frame()[2])


def apply(name: str, *inputs: Var | float | int | bool, **params: Any) -> Var:
    """A new `name` equation over `inputs`; numbers become constants of the dtype of the
    first non-boolean array input (as NumPy treats Python scalars: `where(c, x, 0)`)."""
    made, source, *_ = _frame()
    arrays = [v for v in inputs if isinstance(v, Var)]
    like = next((v for v in arrays if v.dtype != np.bool_), arrays[0] if arrays else None)
    vars_ = [v if isinstance(v, Var) else const(v, like.dtype if like else None)
             for v in inputs]
    avals = OPS[name].infer(*(v.aval for v in vars_), **params)
    outputs = tuple(Var(a.shape, a.dtype) for a in avals)
    made.append(Eqn(name, tuple(vars_), outputs, dict(params), source))
    return outputs[0]


def const(value: Any, dtype: Any = None) -> Var:
    """A constant value (a scalar unless `value` is an array)."""
    return apply("constant", value=ConstValue(value, dtype))


class _Ops:
    """`op.NAME(*inputs, **params)` is `apply("NAME", ...)` for every op in the table."""

    def __getattr__(self, name: str) -> Any:
        if name not in OPS:
            raise AttributeError(f"no op named {name!r}")

        def make(*inputs: Var | float | int | bool, **params: Any) -> Var:
            return apply(name, *inputs, **params)

        make.__name__ = name
        return make


op = _Ops()


# --- reading the graph ---------------------------------------------------------------


def constant_value(var: Var, producer: dict[Var, Eqn]) -> np.ndarray | None:
    """The elements of `var` when it is a constant: the array of a `constant`, the fill
    value of a `full`, seen through reshapes, broadcasts and casts (so the result has the
    same elements, not always the same shape). None when `var` is not constant."""
    eqn = producer.get(var)
    if eqn is None:
        return None
    if eqn.op == "constant":
        return eqn.params["value"].array
    if eqn.op == "full":
        return np.asarray(eqn.params["fill_value"], dtype=eqn.params["dtype"])
    if eqn.op in ("broadcast_to", "reshape"):
        return constant_value(eqn.inputs[0], producer)
    if eqn.op == "astype":
        inner = constant_value(eqn.inputs[0], producer)
        return None if inner is None else inner.astype(eqn.params["dtype"])
    return None


def scalar_value(var: Var, producer: dict[Var, Eqn]) -> Any:
    """The one value every element of a constant `var` holds, or None."""
    value = constant_value(var, producer)
    if value is None or value.size == 0:
        return None
    first = value.flat[0]
    if value.size > 1 and not bool(np.all(value == first)):
        return None
    return first
