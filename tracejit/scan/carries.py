"""Carried names of a converted loop: how each value enters the traced body (`CarryPlan`),
and the marker for a name not yet bound when the loop starts (`UNDEFINED`)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tracejit import tree
from tracejit.scan.api import MAX_RETRACES, settle
from tracejit.scan.body import Body, Spec, check_carries
from tracejit.trace.tracer import Tracer, constant, lift


class Undefined:
    """The value of a carried name not yet bound when the loop starts."""

    def __repr__(self) -> str:
        return "<unbound before the loop>"


UNDEFINED = Undefined()


def values_of(frame_locals: dict[str, Any], names: tuple[str, ...]) -> tuple:
    return tuple(frame_locals.get(n, UNDEFINED) for n in names)


class Unconvertible(Exception):
    """The loop's carried values cannot be expressed as a loop node (run it in Python)."""


class Restructure(Exception):
    """Internal: trace the body again with these entering values (new structures)."""

    def __init__(self, values: tuple) -> None:
        super().__init__()
        self.values = values


class CarryPlan:
    """How each carried name's value enters the traced body.

    Each value is flattened (tuples, lists, dicts of values); per leaf:
    - "same": an array the body only updates in place (`u += ...`): the outer array itself
      enters, so every view of it sees the updates (they become buffer carries);
    - "traced": a value the body rebinds: a fresh input each iteration;
    - "static": a non-array Python value the body leaves as it is;
    - "unbound": a name first bound inside the loop; once the body has shown its type it
      enters as zeros of that type (it is assigned before it is read).
    """

    def __init__(self, names: tuple[str, ...], values: tuple,
                 inplace: tuple[str, ...]) -> None:
        self.names, self.values, self.inplace = tuple(names), tuple(values), tuple(inplace)
        self.inputs: list[Tracer] = []
        self.returned: list[Any] = []
        self.plan(self.values)
        self.starts_traced = any(isinstance(v, Tracer) for v in self.leaves)

    def plan(self, values: tuple) -> None:
        self.leaves, self.treedef = tree.flatten(values)
        self.owner = [name for name, v in zip(self.names, values, strict=True)
                      for _ in tree.flatten(v)[0]]
        self.kinds = [initial_kind(v, name in self.inplace)
                      for v, name in zip(self.leaves, self.owner, strict=True)]

    @property
    def n_traced(self) -> int:
        return sum(k == "traced" for k in self.kinds)

    def trace(self, trace: Callable[[list[Spec]], Body]) -> Body:
        """Trace until every carried value keeps its type from one iteration to the next
        (a Python scalar or an unbound name settles after one extra trace)."""
        for _ in range(MAX_RETRACES + 1):
            self.inputs = [lift(v) for v, k in zip(self.leaves, self.kinds, strict=True)
                           if k == "traced"]
            try:
                body = trace([Spec.of(t) for t in self.inputs])
            except Restructure as new:
                self.plan(new.values)
                continue
            if not self.settle(body):
                return body
        raise Unconvertible("the carried values' types did not settle")

    def unflatten(self, flat: tuple) -> tuple:
        it = iter(flat)
        leaves = [next(it) if k == "traced" else (UNDEFINED if k == "unbound" else v)
                  for v, k in zip(self.leaves, self.kinds, strict=True)]
        return tree.unflatten(self.treedef, leaves)

    def flatten(self, values: tuple) -> list:
        leaves, treedef = tree.flatten(tuple(values))
        if treedef != self.treedef:
            raise self.restructure(tuple(values))
        self.returned = leaves
        return [v for v, k in zip(leaves, self.kinds, strict=True) if k == "traced"]

    def restructure(self, values: tuple) -> Exception:
        """A name first bound inside the loop to a tuple, list or dict: it enters as that
        structure of unbound leaves (traced again); any other change of structure makes
        the loop unconvertible."""
        entered = tree.unflatten(self.treedef, self.leaves)
        new = []
        for old, value in zip(entered, values, strict=True):
            if tree.flatten(old)[1] == tree.flatten(value)[1]:
                new.append(old)
            elif isinstance(old, Undefined):
                leaves, treedef = tree.flatten(value)
                new.append(tree.unflatten(treedef, [UNDEFINED] * len(leaves)))
            else:
                return Unconvertible("a carried variable changes structure (a tuple or list "
                                     "of another length) from one iteration to the next")
        return Restructure(tuple(new))

    def settle(self, body: Body) -> bool:
        """Compare what the body returned with what entered; retype and return True where
        the body must be traced again."""
        retrace = False
        returned = iter(body.out_specs[:body.n_explicit])
        entered = iter(self.inputs)
        for i, (old, new, kind) in enumerate(zip(self.leaves, self.returned, self.kinds,
                                                 strict=True)):
            name = self.owner[i]
            if kind == "traced":
                before, after = Spec.of(next(entered)), next(returned)
                if before == after:
                    continue
                settled = settle(lift(old), before, after)
                if Spec.of(settled).aval != after.aval:
                    check_carries("loop", [before], [after], [name])
                self.leaves[i], retrace = settled, True
            elif kind == "same" and new is not old:
                self.kinds[i], retrace = "traced", True  # rebound after all
            elif kind == "static" and new is not old and not safe_equal(new, old):
                if not (isinstance(new, Tracer) or is_number(new)):
                    raise Unconvertible(f"the body changes the Python value of {name}")
                self.kinds[i], retrace = "traced", True
            elif kind == "unbound" and new is None:  # `return` with no value
                self.leaves[i], self.kinds[i], retrace = None, "static", True
            elif kind == "unbound" and not isinstance(new, Undefined):
                if not (isinstance(new, Tracer) or is_number(new)):
                    raise Unconvertible(f"{name} is a Python {type(new).__name__} first "
                                        "bound inside the loop")
                t = lift(new)
                zero = constant(np.zeros(t.shape, t.dtype), kind=t.kind)
                zero.weak = t.weak
                self.leaves[i], self.kinds[i], retrace = zero, "traced", True
        return retrace

    def results(self, outs: list) -> tuple:
        it = iter(outs)
        leaves = [next(it) if k == "traced" else (UNDEFINED if k == "unbound" else v)
                  for v, k in zip(self.leaves, self.kinds, strict=True)]
        return tuple(tree.unflatten(self.treedef, leaves))


def initial_kind(value: Any, inplace: bool) -> str:
    if isinstance(value, Undefined):
        return "unbound"
    if isinstance(value, Tracer):
        return "same" if inplace and value.kind == "array" else "traced"
    if isinstance(value, np.ndarray) or is_number(value):
        return "traced"
    return "static"


def is_number(v: Any) -> bool:
    return isinstance(v, (bool, int, float, complex, np.generic))


def safe_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False
