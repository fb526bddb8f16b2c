"""The rewrite engine and the whole-graph passes: matching (bindings, commutative ops,
constants), replacements (declined, of the wrong type, broadcast), the fixpoint driver,
what it records, common-subexpression merging, constant folding, dead code, distinct
outputs, loop bodies.

Scaling (a 10,000-node graph rewritten well under a second, linear growth) is measured by
bench/rewrite_scaling.py, not asserted here: tests carry no timing asserts.
"""

from __future__ import annotations

import inspect
import warnings
from collections import Counter

import numpy as np
import pytest

import tracejit
from tracejit.emit.numpy import compile_graph
from tracejit.graph import Eqn, Graph, Var, typecheck
from tracejit.graph.creation import ConstValue
from tracejit.rewrite import (
    ANY,
    P,
    Rule,
    RuleSet,
    eliminate_dead_code,
    fold_constants,
    merge_common_subexpressions,
    optimize,
    rewrite,
)
from tracejit.rewrite.build import op, uses_of
from tracejit.rewrite.cse import MAX_COMPARED_BYTES
from tracejit.rewrite.engine import MAX_DEPTH, MAX_PASSES
from tracejit.rewrite.fold import MAX_FOLDED_ELEMENTS

X = np.linspace(-2.0, 3.0, 6)


def traced(fn, *args):
    return tracejit.jit(fn, backend="numpy").graph(*args)


def ops(graph) -> list[str]:
    return [e.op for e in graph.eqns]


def run(graph, *args) -> list:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_graph(graph)(*args)


def rewritten(fn, rules, *args, strict=True):
    fired = []
    graph = eliminate_dead_code(rewrite(traced(fn, *args), rules, fired, strict=strict))
    typecheck(graph)
    return graph, fired


def neg_rule(pattern, name="matched"):
    """A rule that marks a match by negating the matched value (a visible change)."""
    return RuleSet("test", [Rule(name, pattern, lambda **b: op.negative(b["x"]))])


# --- matching ----------------------------------------------------------------------


def test_a_name_used_twice_binds_the_same_value():
    rules = RuleSet("test", [Rule("x-x -> 0*x", P("subtract", "x", "x"),
                                  lambda x: op.multiply(x, 0.0))])
    graph, fired = rewritten(lambda x: np.sin(x) - np.sin(x), rules, X)
    assert not fired  # two sin equations: two values, not one
    graph, fired = rewritten(lambda x: (lambda s: s - s)(np.sin(x)), rules, X)
    assert [f.rule for f in fired] == ["x-x -> 0*x"]
    assert "subtract" not in ops(graph)


def test_commutative_ops_match_either_order_and_others_do_not():
    rules = neg_rule(P("multiply", 2, "x"))
    for f in (lambda x: x * 2.0, lambda x: 2.0 * x):
        assert len(rewritten(f, rules, X)[1]) == 1
    rules = neg_rule(P("subtract", "x", 2))
    assert len(rewritten(lambda x: x - 2.0, rules, X)[1]) == 1
    assert not rewritten(lambda x: 2.0 - x, rules, X)[1]


def test_numbers_match_constants_whose_every_element_equals_them():
    rules = neg_rule(P("multiply", "x", 2))
    for f in (lambda x: x * np.full((2, 6), 2.0), lambda x: x * np.float32(2)):
        assert len(rewritten(f, rules, X)[1]) == 1  # through a fill, a cast
    x = Var((6,), np.float64)
    for value, matches in [([2.0] * 6, True), ([2.0, 2, 2, 2, 2, 3], False),
                           (np.zeros(0), False)]:
        c = constant(value)
        product = Eqn("multiply", (x, c.outputs[0]), (Var((6,), np.float64),))
        fired = []
        rewrite(hand_graph(x, c, product), rules, fired, strict=True)
        assert bool(fired) == matches, value


def test_nested_patterns_any_and_the_matched_equation():
    seen = []

    def keep(x, total):
        seen.append(total.params["axes"])
        return None

    rules = RuleSet("test", [Rule("probe", P("log", P("sum", P("exp", "x"), eqn="total")),
                                  keep),
                             Rule("any", P("add", ANY, P("sin", "x")), lambda x: x)])
    rewritten(lambda x: np.log(np.exp(x).sum(axis=0)), rules, X.reshape(2, 3))
    assert seen == [(0,)]
    graph, fired = rewritten(lambda x: np.exp(x) + np.sin(x), rules, X)
    assert [f.rule for f in fired] == ["any"] and ops(graph) == []


# --- replacements ------------------------------------------------------------------


def test_a_declined_replacement_changes_nothing():
    rules = RuleSet("test", [Rule("declines", P("exp", "x"), lambda x: None)])
    before = traced(lambda x: np.exp(x) + 1, X)
    fired = []
    after = rewrite(before, rules, fired, strict=True)
    assert not fired and ops(after) == ops(before)


def test_a_replacement_of_the_wrong_type_is_declined_and_raises_when_strict():
    rules = RuleSet("test", [Rule("to float32", P("exp", "x"),
                                  lambda x: op.astype(x, dtype=np.dtype(np.float32)))])
    graph, fired = rewritten(lambda x: np.exp(x), rules, X, strict=False)
    assert not fired and ops(graph) == ["exp"]
    with pytest.raises(AssertionError, match="to float32"):
        rewritten(lambda x: np.exp(x), rules, X, strict=True)
    rules = RuleSet("test", [Rule("to a column", P("exp", "x"),
                                  lambda x: op.sum(x, axes=(1,), keepdims=False, dtype=None))])
    with pytest.raises(AssertionError, match="to a column"):  # (3,) is not broadcast to (3, 2)
        rewritten(lambda x: np.exp(x), rules, X.reshape(3, 2), strict=True)


def test_a_replacement_that_broadcasts_to_the_target_is_broadcast():
    """log(ones((4, 6)) + x) -> log1p(x): the rule sees x before it is broadcast."""
    f = lambda x: np.log(np.ones((4, 6)) + x)  # noqa: E731
    graph, fired = rewritten(f, tracejit.rewrite.rules.STABILIZE_FORMS, X)
    assert [e.op for e in graph.eqns] == ["log1p", "broadcast_to"]
    x = np.abs(X)
    np.testing.assert_array_equal(run(graph, x)[0], np.broadcast_to(np.log1p(x), (4, 6)))


# --- the driver ----------------------------------------------------------------------


def test_rewrites_of_new_equations_and_a_fixpoint_across_passes():
    """Within a pass, each new equation is rewritten again (--(--x) in one go). A rule that
    needs x read once fires in a later pass, once the other reader has been rewritten
    away (`uses_of` is counted at the start of each pass)."""
    def single_reader(x):
        return op.multiply(x, -1.0) if uses_of(x) == 1 else None

    rules = tracejit.rewrite.rules.SIMPLIFY + RuleSet("test", [
        Rule("-x -> x*-1 (x read once)", P("negative", "x"), single_reader)])
    f = lambda x: (np.where(True, np.sin(x), np.exp(x)), -np.exp(x))  # noqa: E731
    before = traced(f, X)
    before = merge_common_subexpressions(before)[0]  # one exp, read by where and negative
    fired = []
    after = eliminate_dead_code(rewrite(before, rules, fired, strict=True))
    assert [f.rule for f in fired] == ["where(True, a, b) -> a", "-x -> x*-1 (x read once)"]
    assert ops(after) == ["sin", "exp", "constant", "multiply"]
    for got, want in zip(run(after, X), f(X), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_rule_that_keeps_matching_its_own_replacement_stops():
    rules = RuleSet("test", [Rule("exp(x) -> exp(x)", P("exp", "x"), lambda x: op.exp(x))])
    fired = []
    graph = rewrite(traced(np.exp, X), rules, fired)
    assert len(fired) <= MAX_DEPTH * MAX_PASSES
    np.testing.assert_array_equal(run(eliminate_dead_code(graph), X)[0], np.exp(X))


def test_fired_records_name_rule_set_op_and_the_users_line():
    def f(x):
        y = np.sin(x)
        return np.log(1 + y) * 1
    line = inspect.getsourcelines(f)[1] + 2
    fired = optimize(traced(f, X)).fired
    by_rule = {r.rule: r for r in fired}
    log1p = by_rule["log(1+x) -> log1p(x)"]
    assert (log1p.ruleset, log1p.op) == ("stabilize", "log")
    assert (log1p.source.filename, log1p.source.lineno, log1p.source.function) == \
        (__file__, line, "f")
    assert by_rule["x*1 -> x"].ruleset == "simplify"
    assert str(log1p) == f"[stabilize] log(1+x) -> log1p(x)  # {__file__}:{line}"


def test_combined_rule_sets_keep_each_rules_set_name():
    rules = tracejit.rewrite.rules.SIMPLIFY + tracejit.rewrite.rules.STABILIZE_FORMS
    assert len(rules) == len(tracejit.rewrite.rules.SIMPLIFY) + \
        len(tracejit.rewrite.rules.STABILIZE_FORMS)
    _, fired = rewritten(lambda x: np.log(1 + x) * 1, rules, X)
    assert {(f.rule, f.ruleset) for f in fired} == {("x*1 -> x", "simplify"),
                                                    ("log(1+x) -> log1p(x)", "stabilize")}


# --- common subexpressions ------------------------------------------------------------


def hand_graph(x: Var, *eqns: Eqn, outputs=None) -> Graph:
    return Graph((x,), eqns, tuple(outputs if outputs is not None else eqns[-1].outputs))


def constant(value, dtype=np.float64) -> Eqn:
    value = ConstValue(value, dtype)
    return Eqn("constant", (), (Var(value.array.shape, value.array.dtype),), {"value": value})


def test_equal_expressions_merge():
    f = lambda x: (np.exp(x) * 2.0 + np.exp(x) * 2.0, x * 2.0)  # noqa: E731
    graph, merged = merge_common_subexpressions(traced(f, X))
    assert Counter(ops(graph)) == Counter({"constant": 1, "exp": 1, "multiply": 2, "add": 1})
    assert merged == 2  # an exp, then its product with 2
    for got, want in zip(run(graph, X), f(X), strict=True):
        np.testing.assert_array_equal(got, want)


def test_equal_constants_merge():
    x = Var((3,), np.float64)
    a, b = constant([1.0, np.nan, 3.0]), constant([1.0, np.nan, 3.0])
    total = Eqn("add", (a.outputs[0], b.outputs[0]), (Var((3,), np.float64),))
    graph, merged = merge_common_subexpressions(hand_graph(x, a, b, total))
    assert merged == 1 and graph.eqns[-1].inputs == (a.outputs[0],) * 2


def test_constants_that_differ_do_not_merge():
    """Different dtypes, signs of zero, and large constants (compared by identity)."""
    x = Var((3,), np.float64)
    big = np.ones(MAX_COMPARED_BYTES // 8 + 1)
    for a, b in [(constant(2.0), constant(2.0, np.float32)), (constant(0.0), constant(-0.0)),
                 (constant(big), constant(big)), (constant([1.0, 2.0]), constant([1.0, 3.0]))]:
        graph = hand_graph(x, a, b, outputs=(a.outputs[0], b.outputs[0]))
        assert merge_common_subexpressions(graph)[1] == 0, (a, b)


def test_fills_of_zeros_of_either_sign_stay_apart():
    f = lambda x: (x * np.full(6, -0.0), x * np.full(6, 0.0))  # noqa: E731
    after = optimize(traced(f, X)).graph
    for got, want in zip(run(after, X), f(X), strict=True):
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_effects_never_merge():
    """Two identical run-time checks stay two (each raises at its own point)."""
    x = Var((3,), np.float64)
    cond = Var((), np.bool_)
    checks = [Eqn("check", (cond,), (), {"message": "m"}) for _ in range(2)]
    graph = Graph((x,), (Eqn("all", (x,), (cond,), {"axes": (0,), "keepdims": False}),
                         *checks), (x,))
    merged, count = merge_common_subexpressions(graph)
    assert count == 0 and ops(merged) == ["all", "check", "check"]
    assert ops(eliminate_dead_code(merged)) == ["all", "check", "check"]  # kept: effects


def test_asserts_survive_optimization():
    def f(x):
        assert np.all(x > 0), "positive"
        return x + 1

    jitted = tracejit.jit(f)
    np.testing.assert_array_equal(jitted(np.ones(3)), 2.0)
    with pytest.raises(AssertionError, match="positive"):
        jitted(-np.ones(3))
    assert "check" in ops(jitted._cache[next(iter(jitted._cache))].graph)


# --- constant folding --------------------------------------------------------------


def test_small_constant_subgraphs_fold():
    f = lambda x: x + np.sqrt(np.full(4, 2.0) * 2 + 1)  # noqa: E731
    graph, folded = fold_constants(traced(f, np.ones(4)))
    graph = eliminate_dead_code(graph)
    assert folded == 3 and ops(graph) == ["constant", "add"]  # multiply, add, sqrt
    np.testing.assert_array_equal(run(graph, np.ones(4))[0], f(np.ones(4)))


def test_large_results_are_not_folded():
    n = MAX_FOLDED_ELEMENTS
    f = lambda x: x + np.full(x.shape, 2.0) * 3  # noqa: E731
    graph, folded = fold_constants(traced(f, np.ones(n + 1)))
    assert folded == 0 and "multiply" in ops(graph)
    assert fold_constants(traced(f, np.ones(n)))[1] == 1


def test_division_by_zero_is_left_to_run_time():
    f = lambda x: x + np.ones(3) / np.zeros(3)  # noqa: E731
    graph, folded = fold_constants(traced(f, np.ones(3)))
    assert folded == 0 and "divide" in ops(graph)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        compile_graph(graph)(np.ones(3))


def test_creation_ops_stay_as_they_are():
    graph, folded = fold_constants(traced(lambda x: x + np.arange(3.0), np.ones(3)))
    assert folded == 0 and "arange" in ops(graph)


# --- dead code and outputs ---------------------------------------------------------


def test_replaced_equations_are_left_for_dead_code_elimination():
    before = traced(lambda x: np.log(1 + x), X)
    kept = rewrite(before, tracejit.rewrite.rules.STABILIZE_FORMS)
    assert ops(kept) == ["constant", "add", "log1p"]
    assert ops(eliminate_dead_code(kept)) == ["log1p"]


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_outputs_stay_distinct_arrays(backend):
    """Results that were different arrays stay different arrays after merging (x * 1 is
    x, np.exp(x) twice is one exp), and none is the argument itself."""
    def f(x):
        return x * 1, np.exp(x), np.exp(x), x + 0

    x = X.copy()
    results = tracejit.jit(f, backend=backend)(x)
    for i, a in enumerate(results):
        assert not np.shares_memory(a, x)
        for b in results[i + 1:]:
            assert not np.shares_memory(a, b)
    for got, want in zip(results, f(X), strict=True):
        np.testing.assert_array_equal(got, want)
    graph = optimize(traced(f, X)).graph
    assert len(set(graph.outputs)) == 4 and not set(graph.outputs) & set(graph.inputs)


def test_the_same_array_returned_twice_stays_one_value():
    x = Var((3,), np.float64)
    exp = Eqn("exp", (x,), (Var((3,), np.float64),))
    graph = optimize(hand_graph(x, exp, outputs=exp.outputs * 2)).graph
    assert graph.outputs[0] is graph.outputs[1] and ops(graph) == ["exp"]


# --- loop bodies ---------------------------------------------------------------------


def test_loop_bodies_are_optimized():
    def f(x):
        return tracejit.fori_loop(0, 3, lambda i, v: np.log(1 + v) * 1, x)

    result = optimize(traced(f, X[X > 0]))
    loop, = result.graph.eqns
    assert ops(loop.params["body"]) == ["log1p"]
    assert {r.rule for r in result.fired} == {"log(1+x) -> log1p(x)", "x*1 -> x"}
    np.testing.assert_allclose(tracejit.jit(f)(X[X > 0]), f(X[X > 0]), rtol=1e-15)
