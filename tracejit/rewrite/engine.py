"""The rewrite engine: patterns over the graph as data, rule sets by purpose, one driver.

A rule is a name (the identity it applies, as a person would write it), a pattern and a
replacement function:

    Rule("log(1+x) -> log1p(x)", P("log", P("add", 1, "x")), lambda x: op.log1p(x))

A pattern `P(op, *args)` matches an equation of that op whose inputs match `args`: a
string binds the input to that name (a name used twice must bind the same value), a
number matches a constant whose every element equals it, a nested `P` matches the
input's producer, `ANY` matches anything. `P(..., eqn="name")` also binds the matched
equation itself (to read its params). Two-input commutative ops match either order.

The replacement receives the bindings as keyword arguments and builds new equations
through `tracejit.rewrite.build.op`; it returns the value that replaces the matched
equation's output, or None to decline. A replacement must give the same shape and
dtype as what it replaces, or the same dtype and a shape that broadcasts to it (a rule
sees operands before NumPy broadcasts them: `log(ones((3, 4)) + x) -> log1p(x)`, and
the engine broadcasts the result); one that does not is declined (a bug in the rule,
which the tests catch through `strict`).

`rewrite(graph, rules)` visits equations in topological order, rewriting each new
equation again until no rule matches, and repeats whole passes to a fixpoint. Every
rule that fires is recorded as a `Fired` (for `explain`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from tracejit.graph.ir import Eqn, Graph, Source, Var
from tracejit.rewrite import build
from tracejit.rewrite.build import constant_value
from tracejit.rewrite.dce import eliminate_dead_code

COMMUTATIVE = frozenset({"add", "multiply", "maximum", "minimum", "fmax", "fmin",
                         "logaddexp", "logaddexp2", "hypot", "equal", "not_equal",
                         "logical_and", "logical_or", "logical_xor", "bitwise_and",
                         "bitwise_or", "bitwise_xor"})
#: how often one equation's replacement may itself be rewritten (a cycle guard)
MAX_DEPTH = 16
MAX_PASSES = 8


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()


class P:
    """A pattern: an op name and patterns for its inputs (see the module docstring)."""

    __slots__ = ("op", "args", "eqn")

    def __init__(self, op: str, *args: Any, eqn: str | None = None) -> None:
        self.op = op
        self.args = args
        self.eqn = eqn

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(repr, self.args))})"


class Rule(NamedTuple):
    name: str
    pattern: P
    replace: Callable[..., Var | None]


class RuleSet:
    """Rules for one purpose (canonicalize, simplify, stabilize, specialize), indexed by
    the op at the root of their pattern. `a + b` combines sets; `a + b` keeps order."""

    def __init__(self, name: str, rules: Iterable[Rule | tuple]) -> None:
        self.name = name
        self.rules = tuple(r if isinstance(r, Rule) else Rule(*r) for r in rules)
        self.by_op: dict[str, list[tuple[str, Rule]]] = {}
        for rule in self.rules:
            self.by_op.setdefault(rule.pattern.op, []).append((name, rule))

    def __add__(self, other: RuleSet) -> RuleSet:
        combined = RuleSet(f"{self.name}+{other.name}", ())
        combined.rules = self.rules + other.rules
        for source in (self, other):
            for op, entries in source.by_op.items():
                combined.by_op.setdefault(op, []).extend(entries)
        return combined

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, {len(self.rules)} rules)"


@dataclass(frozen=True)
class Fired:
    """One rewrite that happened: which rule, of which set, on which op, where."""

    rule: str
    ruleset: str
    op: str
    source: Source | None

    def __str__(self) -> str:
        where = f"  # {self.source.filename}:{self.source.lineno}" if self.source else ""
        return f"[{self.ruleset}] {self.rule}{where}"


# --- matching --------------------------------------------------------------------------


def match(pattern: P, eqn: Eqn, producer: dict[Var, Eqn]) -> dict[str, Any] | None:
    """The bindings of `pattern` against `eqn`, or None."""
    bindings: dict[str, Any] = {}
    return bindings if match_eqn(pattern, eqn, producer, bindings) else None


def match_eqn(pattern: P, eqn: Eqn, producer: dict[Var, Eqn],
              bindings: dict[str, Any]) -> bool:
    if eqn.op != pattern.op or len(eqn.inputs) != len(pattern.args):
        return False
    if pattern.eqn is not None:
        bindings[pattern.eqn] = eqn
    orders = [eqn.inputs]
    if eqn.op in COMMUTATIVE and len(eqn.inputs) == 2:
        orders.append(eqn.inputs[::-1])
    for inputs in orders:
        trial = dict(bindings)
        if all(match_value(p, v, producer, trial)
               for p, v in zip(pattern.args, inputs, strict=True)):
            bindings.clear()
            bindings.update(trial)
            return True
    return False


def match_value(pattern: Any, var: Var, producer: dict[Var, Eqn],
                bindings: dict[str, Any]) -> bool:
    if pattern is ANY:
        return True
    if isinstance(pattern, str):
        bound = bindings.setdefault(pattern, var)
        return bound is var
    if isinstance(pattern, P):
        eqn = producer.get(var)
        return (eqn is not None and len(eqn.outputs) == 1
                and match_eqn(pattern, eqn, producer, bindings))
    value = constant_value(var, producer)
    return value is not None and value.size > 0 and bool(np.all(value == pattern))


# --- the driver ------------------------------------------------------------------------


class Rewriter:
    """One pass over a graph: equations in order, each rewritten until no rule fires."""

    def __init__(self, graph: Graph, rules: RuleSet, fired: list[Fired], strict: bool) -> None:
        self.uses = Uses(v for eqn in graph.eqns for v in eqn.inputs)
        self.uses.update(graph.outputs)
        self.truncated = False  # an equation was left as it was at the depth limit
        self.rules = rules
        self.fired = fired
        self.strict = strict
        self.subst: dict[Var, Var] = {}
        self.producer: dict[Var, Eqn] = {}
        self.eqns: list[Eqn] = []
        self.count = 0

    def resolve(self, var: Var) -> Var:
        while var in self.subst:
            var = self.subst[var]
        return var

    def place(self, eqn: Eqn, depth: int = 0) -> None:
        inputs = tuple(self.resolve(v) for v in eqn.inputs)
        if inputs != eqn.inputs:
            eqn = dataclasses.replace(eqn, inputs=inputs)
        self.truncated |= depth >= MAX_DEPTH
        if len(eqn.outputs) == 1 and depth < MAX_DEPTH:
            for ruleset, rule in self.rules.by_op.get(eqn.op, ()):
                result = self.apply(ruleset, rule, eqn, depth)
                if result is not None:
                    self.subst[eqn.outputs[0]] = result
                    return
        self.eqns.append(eqn)
        for out in eqn.outputs:
            self.producer[out] = eqn

    def apply(self, ruleset: str, rule: Rule, eqn: Eqn, depth: int) -> Var | None:
        bindings = match(rule.pattern, eqn, self.producer)
        if bindings is None:
            return None
        target = eqn.outputs[0]
        with build.building(eqn.source, self.producer, self.uses) as new:
            result = rule.replace(**bindings)
            if result is not None:
                result = broadcast_to_target(result, target)
        if result is None:
            return None
        if result.shape != target.shape or result.dtype != target.dtype:
            if self.strict:
                raise AssertionError(f"rule {rule.name!r} replaced {target!r} by {result!r}")
            return None
        self.fired.append(Fired(rule.name, ruleset, eqn.op, eqn.source))
        self.count += 1
        for made in new:
            self.place(made, depth + 1)
        return self.resolve(result)


def broadcast_to_target(result: Var, target: Var) -> Var:
    """`result` broadcast to `target`'s shape, where it has target's dtype and a shape
    that broadcasts to it (the value replaced is then the result's value, broadcast)."""
    if result.shape == target.shape or result.dtype != target.dtype:
        return result
    try:
        fits = np.broadcast_shapes(result.shape, target.shape) == target.shape
    except ValueError:
        fits = False
    return build.op.broadcast_to(result, shape=target.shape) if fits else result


def rewrite(graph: Graph, rules: RuleSet, fired: list[Fired] | None = None,
            strict: bool = False) -> Graph:
    """Apply `rules` to a fixpoint (at most `MAX_PASSES` whole passes). Appends what
    fired to `fired`. Inputs and the number of outputs are kept; replaced equations are
    left for dead-code elimination to drop."""
    fired = [] if fired is None else fired
    for _ in range(MAX_PASSES):
        rewriter = Rewriter(graph, rules, fired, strict)
        for eqn in graph.eqns:
            rewriter.place(eqn)
        outputs = tuple(rewriter.resolve(v) for v in graph.outputs)
        graph = Graph(graph.inputs, tuple(rewriter.eqns), outputs, graph.name)
        # Patterns look only upstream, at equations already final when they are matched,
        # and what a rule builds is rewritten at once: one pass is a fixpoint, unless a
        # replacement asked how often a value is read (counts taken before the pass,
        # which its rewrites change) or an equation stopped at the depth limit.
        if not rewriter.count or not (rewriter.uses.consulted or rewriter.truncated):
            break
        graph = eliminate_dead_code(graph)
    return graph


class Uses(Counter):
    """How many equations (and graph outputs) read each value, as of the start of a
    pass; remembers whether a replacement asked (then the pass is repeated)."""

    consulted = False

    def of(self, var: Var) -> int:
        self.consulted = True
        return self.get(var, 0)
