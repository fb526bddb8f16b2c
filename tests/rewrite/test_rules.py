"""Every rule of every rule set: it fires on a function that contains its pattern, the graph
changes as its name says, values are kept (before and after, on the NumPy interpreter, on
random inputs and on edge values), and a near-miss pattern does not fire.

`CASES` maps each rule name to its case; `test_every_rule_has_a_case` walks the rule sets,
so a new rule without a case fails. Values after the rewrite are compared with the
case's `reference` (what the rule promises, computed independently: in float128 for the
stability rules, or the documented value), or else with the graph before the rewrite.
Every rewrite runs with `strict=True`: a replacement of the wrong shape or dtype raises.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tracejit
import tracejit.rewrite.pipeline as pipeline
from tracejit.emit.numpy import compile_graph
from tracejit.graph import typecheck
from tracejit.rewrite import optimize, rewrite
from tracejit.rewrite.rules import MATMUL, SIMPLIFY, STABILIZE, STABILIZE_FORMS

RULE_SETS = (SIMPLIFY, STABILIZE_FORMS, STABILIZE, MATMUL)
inf, nan = np.inf, np.nan
LD = np.longdouble
#: edge values: infinities, nan, signed zeros, huge, tiny (normal and subnormal), values
#: where exp overflows or underflows in float64, and a few plain ones
EDGES = (inf, -inf, nan, 0.0, -0.0, 1e300, -1e300, 1e-300, -1e-300, 5e-324,
         1e-18, 800.0, -800.0, 1.0, -1.0, 0.5, 3.0, -2.5)
#: edge values for reassociated products: huge and tiny ones overflow in another order
PRODUCT_EDGES = (inf, -inf, nan, 0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -2.5)


@dataclass(frozen=True)
class Form:
    """A function, how to make its arguments from a random generator, and what the
    rewritten graph must compute (None: what the graph computed before)."""

    fn: Callable
    args: Callable[[np.random.Generator], tuple]
    reference: Callable | None = None


@dataclass(frozen=True)
class Case:
    form: Form
    #: ops that must be in the rewritten graph, and ops that must not be
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    #: near misses: the rule must not fire on these
    misses: tuple[Form, ...] = ()
    #: more forms the rule fires on (checked like `form`)
    also: tuple[Form, ...] = ()
    #: relative tolerance against the reference (0: equal, signs of zeros included)
    rtol: float = 0.0
    #: relative tolerance against the graph before, on random inputs (naive formulas
    #: lose precision); None: `rtol`
    rtol_before: float | None = None
    #: absolute tolerance, as a fraction of the largest value (reassociated sums)
    atol: float = 0.0
    #: "all": edge values compared everywhere; "finite": only where the graph before
    #: gives a finite value (reassociation); "none": no edge values
    edges: str = "all"
    edge_values: tuple[float, ...] = EDGES


def form(fn: Callable, *shapes: tuple, low: float = -3.0, high: float = 3.0,
         dtype=np.float64, ref: Callable | None = None) -> Form:
    """A form whose arguments are uniform random arrays of these shapes."""
    def args(rng: np.random.Generator) -> tuple:
        return tuple(rng.uniform(low, high, s).astype(dtype) for s in shapes)

    return Form(fn, args, ref)


def ints(fn: Callable, *shapes: tuple, dtype=np.int64) -> Form:
    return Form(fn, lambda rng: tuple(rng.integers(-5, 6, s).astype(dtype) for s in shapes))


# --- references --------------------------------------------------------------------


def ld(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=LD)


def softplus_ref(x):
    return np.logaddexp(LD(0), ld(x))


def logsumexp_ref(x, axis, keepdims=False):
    return np.logaddexp.reduce(ld(x), axis=axis, keepdims=keepdims)


def log_softmax_ref(x, axis):
    """-log(sum_j exp(x_j - x_i)) over `axis` (an int or a tuple): a logaddexp of the
    differences, in float128, without a max shift. x_i - x_i is 0, also at x_i = -inf
    (whose log-softmax is -inf); at +inf and nan, nan (as the formula, naive or not)."""
    axes = tuple(range(np.ndim(x))) if axis is None else np.atleast_1d(axis) % np.ndim(x)
    rest = [a for a in range(np.ndim(x)) if a not in axes]
    moved = np.transpose(ld(x), rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    with np.errstate(invalid="ignore"):
        d = flat[..., None, :] - flat[..., :, None]
        n = flat.shape[-1]
        d[..., np.arange(n), np.arange(n)] = np.where(np.isneginf(flat), 0, d.diagonal(0, -2, -1))
        out = -np.logaddexp.reduce(d, axis=-1)
    return np.transpose(out.reshape(moved.shape), np.argsort(rest + list(axes)))


def exp_of_log_ref(x):
    """exp(log(x)) exactly: x for x > 0 (inf included), +0 at +-0 (log(+-0) = -inf),
    nan for x < 0 and nan."""
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, x, np.where(x == 0, 0.0, nan))


# --- the cases ---------------------------------------------------------------------

V, M, CUBE = (12,), (6, 7), (3, 4, 5)


def gathered(fn: Callable, shape: tuple, high: int, n: int, ref: Callable) -> Form:
    """A function of a float array and an index array (n indices below `high`)."""
    return Form(fn, lambda rng: (rng.normal(size=shape), rng.integers(0, high, n)), ref)


def softmax_ref(x, axis, keepdims=True):
    """exp(x - logsumexp(x)); in a slice holding +inf, the naive formula's value (nan
    where exp overflows: exp(x)/sum(exp(x)) divides inf by inf there, before and after)."""
    exact = np.exp(log_softmax_ref(x, axis)).astype(np.float64)
    naive = np.exp(x) / np.exp(x).sum(axis, keepdims=keepdims)
    return np.where(np.isposinf(x).any(axis, keepdims=True), naive, exact)


COMPLEX = Form(None, lambda rng: (rng.normal(size=V) + 4j,))


def complex_miss(fn: Callable) -> Form:
    """Complex x (imaginary part 4 > pi): the rule is for real floats only."""
    return Form(fn, COMPLEX.args)


CASES: dict[str, Case] = {
    # --- simplify ---
    "x*1 -> x": Case(
        form(lambda x: np.sin(x) * 1, V), absent=("multiply",),
        also=(form(lambda x: x * np.ones((3, 12)), V),),  # x broadcast
        misses=(form(lambda x: np.sin(x) * 2, V),)),
    "x/1 -> x": Case(
        form(lambda x: np.sin(x) / 1, V), absent=("divide",),
        also=(form(lambda x: x / np.ones((3, 12)), V),),
        misses=(form(lambda x: np.sin(x) / 2, V),)),
    "x+0 -> x": Case(
        form(lambda x: np.sin(x) + -0.0, V), absent=("add",),
        also=(ints(lambda k: (k * 3) + 0, V),),
        misses=(form(lambda x: np.sin(x) + 1, V),
                form(lambda x: np.sin(x) + 0.0, V))),  # +0.0 turns -0.0 into +0.0
    "x-0 -> x": Case(
        form(lambda x: np.sin(x) - 0, V), absent=("subtract",),
        also=(ints(lambda k: (k * 3) - 0, V),),
        misses=(form(lambda x: np.sin(x) - 1, V),
                form(lambda x: np.sin(x) - -0.0, V))),  # x - -0.0 is x + 0.0
    "--x -> x": Case(
        form(lambda x: np.negative(-np.sin(x)), V), absent=("negative",),
        misses=(form(lambda x: -np.exp(-x), V),)),
    # differs where x is 0, inf or nan, or x*y overflows: see test_x_times_y_over_x_...
    "x*y/x -> y": Case(
        form(lambda x, y: x * y / x, M, M, ref=lambda x, y: y), absent=("multiply", "divide"),
        rtol_before=1e-15,
        also=(form(lambda x: x * 2.0 / x, M, ref=lambda x: np.full(M, 2.0)),),  # y broadcast
        misses=(form(lambda x, y, z: x * y / z, M, M, M),)),
    "exp(log(x)) -> x": Case(
        form(lambda x: np.exp(np.log(x)), V, ref=exp_of_log_ref), absent=("exp", "log"),
        rtol_before=1e-14,
        misses=(form(lambda x: np.exp(np.log2(x)), V, low=0.1),)),
    # more accurate than NumPy where exp overflows: the reference is x itself
    "log(exp(x)) -> x": Case(
        form(lambda x: np.log(np.exp(x)), V, ref=lambda x: x), absent=("exp", "log"),
        rtol_before=1e-12,
        misses=(form(lambda x: np.log(np.exp2(x)), V),
                complex_miss(lambda z: np.log(np.exp(z))))),  # log(exp(4j)) is (4-2pi)j
    "x**1 -> x": Case(
        form(lambda x: np.sin(x) ** 1, V), absent=("power",),
        misses=(form(lambda x: np.sin(x) ** 1.5, V),)),
    "x**2 -> x*x": Case(
        form(lambda x: x ** 2, V), present=("multiply",), absent=("power",),
        also=(ints(lambda k: k ** 2, V),),
        misses=(form(lambda x: x ** 3, V),)),
    "x**0.5 -> sqrt(x)": Case(
        form(lambda x: x ** 0.5, V, low=0), present=("sqrt",), absent=("power",),
        misses=(form(lambda x: x ** 0.25, V),)),
    "x**-1 -> reciprocal(x)": Case(
        form(lambda x: x ** -1, V), present=("reciprocal",), absent=("power",),
        misses=(form(lambda x: x ** -2, V),)),
    "transpose(transpose(x)) -> transpose(x)": Case(
        form(lambda x: np.sin(x.transpose(1, 2, 0).transpose(1, 2, 0)), CUBE),
        present=("transpose",),
        also=(form(lambda x: np.sin(x.T.T), M),),
        misses=(form(lambda x: np.sin(np.exp(x.T).T), M),)),
    "reshape(reshape(x)) -> reshape(x)": Case(
        form(lambda x: np.sin(x.reshape(7, 6).reshape(42)), M),
        misses=(form(lambda x: np.sin(np.exp(x.reshape(7, 6)).reshape(42)), M),)),
    "reshape(x, x.shape) -> x": Case(
        form(lambda x: np.sin(x.flatten()), V), absent=("reshape",),
        misses=(form(lambda x: np.sin(x.flatten()), M),)),
    "x[a][b] -> x[c]": Case(
        form(lambda x: np.sin(x[1:][::2, 1:6][:, ::-1]), M),
        also=(form(lambda x: np.sin(x[::-1][4:-1][::-2]), V),),
        misses=(form(lambda x: np.sin(np.exp(x[1:])[::2]), M),)),
    "sum(broadcast(x)) -> x*n": Case(
        form(lambda x: np.broadcast_to(x, (3, 6, 7)).sum(axis=0), M),
        present=("multiply",), absent=("sum",), rtol=1e-15,
        also=(form(lambda x: np.broadcast_to(x, (3, 6, 7)).sum(axis=(0, 2), keepdims=True),
                   (6, 1)),
              form(lambda x: np.broadcast_to(x, (2, 6, 7)).sum(axis=(0, 1)), (1, 7))),
        misses=(form(lambda x: np.broadcast_to(x, (6, 7)).sum(axis=1), (1, 7)),
                ints(lambda k: np.broadcast_to(k, (3, 6, 7)).sum(axis=0), M))),
    "where(True, a, b) -> a": Case(
        form(lambda x, y: np.where(True, np.sin(x), y), M, (7,)), absent=("where",),
        also=(form(lambda x, y: np.where(True, np.sin(y), x), M, (7,)),),  # a broadcasts
        misses=(form(lambda x, y: np.where(x > 0, x, y), M, M),
                form(lambda x, y: np.where(np.arange(7) % 2 == 0, x, y), M, M))),
    "where(False, a, b) -> b": Case(
        form(lambda x, y: np.where(False, x, np.sin(y)), M, M), absent=("where",),
        misses=(form(lambda x, y: np.where(x < 0, x, y), M, M),)),

    # --- stabilize (whole formulas) ---
    "log(1/(1+exp(-x))) -> -softplus(-x)": Case(
        form(lambda x: np.log(1 / (1 + np.exp(-x))), V, ref=lambda x: -softplus_ref(-x)),
        absent=("divide",), rtol=1e-15, rtol_before=1e-13,
        misses=(form(lambda x: np.log(1 / (2 + np.exp(-x))), V),
                complex_miss(lambda z: np.log(1 / (1 + np.exp(-z)))))),
    "log(1-1/(1+exp(-x))) -> -softplus(x)": Case(
        form(lambda x: np.log(1 - 1 / (1 + np.exp(-x))), V, ref=lambda x: -softplus_ref(x)),
        absent=("divide",), rtol=1e-15, rtol_before=1e-10,
        misses=(form(lambda x: np.log(2 - 1 / (1 + np.exp(-x))), V),)),
    "log(1+x) -> log1p(x)": Case(
        form(lambda x: np.log(1 + x), V, low=-0.9, ref=lambda x: np.log1p(ld(x))),
        present=("log1p",), absent=("log",), rtol=1e-15, rtol_before=1e-10,
        misses=(form(lambda x: np.log(2 + x), V), complex_miss(lambda z: np.log(1 + z)))),
    "log(1-x) -> log1p(-x)": Case(
        form(lambda x: np.log(1 - x), V, high=0.9, ref=lambda x: np.log1p(-ld(x))),
        present=("log1p",), absent=("log",), rtol=1e-15, rtol_before=1e-10,
        misses=(form(lambda x: np.log(x - 1), V, low=1.1),)),
    "log1p(exp(x)) -> softplus(x)": Case(
        form(lambda x: np.log1p(np.exp(x)), V, ref=softplus_ref), rtol=1e-15,
        rtol_before=1e-15,
        misses=(form(lambda x: np.log1p(np.exp2(x)), V),)),
    "exp(x)-1 -> expm1(x)": Case(
        form(lambda x: np.exp(x) - 1, V, ref=lambda x: np.expm1(ld(x))),
        present=("expm1",), absent=("exp",), rtol=1e-15, rtol_before=1e-10,
        misses=(form(lambda x: np.exp(x) - 2, V), form(lambda x: 1 - np.exp(x), V))),
    "log(sum(exp(x))) -> logsumexp(x)": Case(
        form(lambda x: np.log(np.sum(np.exp(x), axis=1)), M,
             ref=lambda x: logsumexp_ref(x, 1)),
        present=("max",), rtol=1e-15, rtol_before=1e-14,
        also=(form(lambda x: np.log(np.sum(np.exp(x))), M,
                   ref=lambda x: logsumexp_ref(x, None)),
              form(lambda x: np.log(np.exp(x).sum(axis=(0, 2), keepdims=True)), CUBE,
                   ref=lambda x: logsumexp_ref(x, (0, 2), keepdims=True))),
        misses=(form(lambda x: np.log(np.sum(np.exp2(x), axis=1)), M),
                form(lambda x: np.log(np.sum(np.exp(x), axis=1)), (3, 0)),  # max of nothing
                form(lambda x: np.log(np.sum(np.exp(x), dtype=np.float32)), M))),
    "log(exp(x)/sum(exp(x))) -> log_softmax(x)": Case(
        form(lambda x: np.log(np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)), M,
             ref=lambda x: log_softmax_ref(x, 1)),
        rtol=1e-14, rtol_before=1e-14,
        also=(form(lambda x: np.log(np.exp(x) / np.exp(x).sum(0)), M,  # leading axis
                   ref=lambda x: log_softmax_ref(x, 0)),),
        misses=(form(lambda x: np.log(np.exp(x) / np.exp(x).sum(1)), (7, 7)),)),
    "log(softmax(x)[i]) -> log_softmax(x)[i]": Case(
        gathered(lambda z, y: -np.log((np.exp(z) / np.exp(z).sum(1, keepdims=True))
                                      [np.arange(6), y]),
                 M, 7, 6, lambda z, y: -log_softmax_ref(z, 1)[np.arange(6), y]),
        rtol=1e-14, rtol_before=1e-14,
        also=(gathered(lambda z, y: np.log((np.exp(z) / np.exp(z).sum(1, keepdims=True))[y]),
                       M, 6, 4, lambda z, y: log_softmax_ref(z, 1)[y]),
              gathered(lambda z, y: np.log((np.exp(z) / np.exp(z).sum((1, 2), keepdims=True))
                                           [y, y, y]),
                       CUBE, 3, 5, lambda z, y: log_softmax_ref(z, (1, 2))[y, y, y])),
        misses=(gathered(lambda z, y: np.log((np.exp(z) / np.exp(z).sum(1))[y]),
                         (7, 7), 7, 4, None),)),
    "log(exp(a)+exp(b)) -> logaddexp(a, b)": Case(
        form(lambda a, b: np.log(np.exp(a) + np.exp(b)), M, (7,),
             ref=lambda a, b: np.logaddexp(ld(a), ld(b))),
        present=("logaddexp",), rtol=1e-15, rtol_before=1e-14,
        misses=(form(lambda a, b: np.log(np.exp(a) - np.exp(b)), M, M, low=1),
                Form(lambda a, b: np.log(np.exp(a) + np.exp(b)),  # float32 and float64
                     lambda rng: (rng.normal(size=V).astype(np.float32), rng.normal(size=V))))),
    "sqrt(x*x) -> |x|": Case(
        form(lambda x: np.sqrt(x * x), V, ref=np.abs), present=("absolute",), absent=("sqrt",),
        misses=(form(lambda x, y: np.sqrt(x * y), V, V, low=0),
                ints(lambda k: np.sqrt(k * k), V))),
    "sqrt(x**2) -> |x|": Case(
        form(lambda x: np.sqrt(np.square(x)), V, ref=np.abs), present=("absolute",),
        absent=("sqrt",),
        misses=(form(lambda x: np.sqrt(np.square(x) + 1), V),
                ints(lambda k: np.sqrt(np.square(k)), V))),

    # --- stabilize (what is left) ---
    "1/(1+exp(-x)) -> sigmoid(x)": Case(
        form(lambda x: 1 / (1 + np.exp(-x)), V, ref=lambda x: 1 / (1 + np.exp(-ld(x)))),
        rtol=1e-15, rtol_before=1e-15,
        misses=(form(lambda x: 1 / (1 + np.exp(x)), V),
                form(lambda x: 2 / (1 + np.exp(-x)), V))),
    "exp(x)/sum(exp(x)) -> softmax(x)": Case(
        form(lambda x: np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True), M,
             ref=lambda x: softmax_ref(x, 1)),
        present=("max",), rtol=1e-15, rtol_before=1e-14,
        also=(form(lambda x: np.exp(x) / np.exp(x).sum(0), M,
                   ref=lambda x: softmax_ref(x, 0, keepdims=False)),),
        misses=(form(lambda x: np.exp(x) / np.exp(x).sum(1), (7, 7)),
                form(lambda x, y: np.exp(x) / np.exp(y).sum(1, keepdims=True), M, M))),

    # --- matmul (reassociation: edge values compared where the product before is finite)
    "(c*A) @ B -> c * (A @ B)": Case(
        form(lambda a, v: (2.5 * a) @ v, (30, 20), (20,)), rtol=1e-13, atol=1e-14,
        edges="finite", edge_values=PRODUCT_EDGES,
        misses=(form(lambda a, b: (2.5 * a) @ b, (2, 3), (3, 50)),  # a bigger product
                form(lambda a, v: (v * a) @ v, (20, 20), (20,)),  # not a scalar
                ints(lambda a, v: (3 * a) @ v, (30, 20), (20,)))),
    "A @ (c*B) -> c * (A @ B)": Case(
        form(lambda a, b: a @ (2.5 * b), (5, 40), (40, 30)), rtol=1e-13, atol=1e-14,
        edges="finite", edge_values=PRODUCT_EDGES,
        misses=(form(lambda a, b: a @ (2.5 * b), (50, 3), (3, 2)),)),
    "(A @ B) @ C -> A @ (B @ C)": Case(
        form(lambda a, b, v: (a @ b) @ v, (30, 20), (20, 30), (30,)), rtol=1e-13, atol=1e-14,
        edges="finite", edge_values=PRODUCT_EDGES,
        misses=(form(lambda a, b, c: (a @ b) @ c, (2, 30), (30, 30), (30, 40)),
                Form(lambda a, b, v: ((a @ b) @ v, a @ b),  # a @ b is read twice
                     form(None, (30, 20), (20, 30), (30,)).args))),
    "A @ (B @ C) -> (A @ B) @ C": Case(
        form(lambda a, b, c: a @ (b @ c), (2, 30), (30, 30), (30, 40)), rtol=1e-13,
        atol=1e-14, edges="finite", edge_values=PRODUCT_EDGES,
        misses=(form(lambda a, b, v: a @ (b @ v), (30, 20), (20, 30), (30,)),)),
}


# --- running a case ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """Every rewrite in `optimize` raises on a replacement of the wrong shape or dtype."""
    def strict_rewrite(graph, rules, fired=None, strict=True):
        return rewrite(graph, rules, fired, strict=True)

    monkeypatch.setattr(pipeline, "rewrite", strict_rewrite)


def traced(fn: Callable, args: tuple):
    return tracejit.jit(fn, backend="numpy").graph(*args)


def run(graph, args: tuple) -> list:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_graph(graph)(*[np.array(a, copy=True) for a in args])


def fired_rules(graph) -> tuple[object, list[str]]:
    """The optimized graph and the names of what fired. Optimizing it again fires no
    rule: the rewrite reached its fixpoint (a replacement a rule matches again would
    grow the graph until the engine's depth limit)."""
    result = optimize(graph)
    typecheck(result.graph)
    again = [f.rule for f in optimize(result.graph).fired if f.ruleset != "passes"]
    assert not again, f"rules fire on the optimized graph: {again}\n{result.graph}"
    return result.graph, [f.rule for f in result.fired]


def assert_values(actual, expected, rtol: float, where: str, atol: float = 0.0) -> None:
    """Same shape; values within `rtol` (and `atol` times the largest value), NaN equal
    to NaN; equal, with the signs of zeros and the dtype, when both are 0."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
    if rtol == 0 and atol == 0:
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype}"
        np.testing.assert_array_equal(actual, expected, err_msg=where)
        zeros = (actual == 0) & (expected == 0)
        np.testing.assert_array_equal(np.signbit(actual[zeros]), np.signbit(expected[zeros]),
                                      err_msg=f"{where}: signs of zeros")
        return
    with np.errstate(over="ignore"):  # float128 beyond float64's range: inf
        expected = expected.astype(actual.dtype)
    finite = np.isfinite(expected)
    scale = np.max(np.abs(expected[finite]), initial=1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale,
                               equal_nan=True, err_msg=where)


def edge_args(args: tuple, values: tuple[float, ...], rng: np.random.Generator) -> tuple:
    """`args` with every float array's elements drawn from `values`."""
    return tuple(rng.choice(np.array(values), a.shape).astype(a.dtype)
                 if a.dtype.kind == "f" else a for a in args)


def check_form(name: str, case: Case, shape: Form, main: bool) -> None:
    """The rule fires on `shape`, the graph changes as the case says (for its main
    form), and values are kept on random inputs and edge values."""
    before = traced(shape.fn, shape.args(np.random.default_rng(0)))
    after, fired = fired_rules(before)
    assert name in fired, f"{name!r} did not fire: {fired}\n{before}"
    ops = {e.op for e in after.eqns}
    if main:
        assert set(case.present) <= ops, f"{case.present} not all in\n{after}"
        assert not set(case.absent) & ops, f"{case.absent} still in\n{after}"
    rtol_before = case.rtol if case.rtol_before is None else case.rtol_before
    for seed in range(3):
        args = shape.args(np.random.default_rng(seed))
        got, want = run(after, args), run(before, args)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_values(g, w, rtol_before, f"{name}: random inputs, output {i}", case.atol)
        if shape.reference is not None:
            assert_values(got[0], shape.reference(*args), case.rtol, f"{name}: reference",
                          case.atol)
    for seed in range(0 if case.edges == "none" else 8):
        edges = edge_args(args, case.edge_values, np.random.default_rng(seed))
        got, want = run(after, edges), run(before, edges)
        if shape.reference is not None:
            with np.errstate(all="ignore"):
                want = [shape.reference(*edges)]
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            where = f"{name}: edge values {edges}, output {i}"
            if case.edges == "finite":
                finite = np.isfinite(w)
                assert np.all(np.isfinite(g[finite])), where
                g, w = np.where(finite, g, 0), np.where(finite, w, 0)
            assert_values(g, w, case.rtol, where, case.atol)


def test_every_rule_has_a_case():
    names = {rule.name for rules in RULE_SETS for rule in rules.rules}
    assert names - set(CASES) == set(), "rules without a case in CASES"
    assert set(CASES) - names == set(), "cases for rules that do not exist"


@pytest.mark.parametrize("name", CASES)
def test_rule_fires_and_keeps_values(name):
    case = CASES[name]
    for i, shape in enumerate((case.form, *case.also)):
        check_form(name, case, shape, main=i == 0)


MISSES = [(name, i) for name, case in CASES.items() for i in range(len(case.misses))]


@pytest.mark.parametrize("name, i", MISSES)
def test_near_miss_does_not_fire(name, i):
    miss = CASES[name].misses[i]
    args = miss.args(np.random.default_rng(0))
    before = traced(miss.fn, args)
    after, fired = fired_rules(before)
    assert name not in fired, f"{name!r} fired on a near miss:\n{before}\n{after}"
    for g, w in zip(run(after, args), run(before, args), strict=True):
        assert_values(g, w, 1e-14, f"{name}: near miss {i}")


# --- documented differences and edges found by these tests ---------------------------


def test_x_times_y_over_x_gives_y_where_numpy_gives_nan():
    """`x*y/x -> y` is exact where x is finite and nonzero and x*y neither overflows nor
    underflows; elsewhere NumPy's formula gives nan, inf or 0, and the rewrite y."""
    x = np.array([0.0, -0.0, inf, -inf, nan, 1e300, 1e-300, 2.0])
    y = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 1e10, 1e-30, 3.0])
    before = traced(lambda x, y: x * y / x, (x, y))
    after, fired = fired_rules(before)
    assert "x*y/x -> y" in fired
    naive, = run(before, (x, y))
    np.testing.assert_array_equal(naive, [nan, nan, nan, nan, nan, inf, 0.0, 3.0])
    np.testing.assert_array_equal(run(after, (x, y))[0], y)


def test_log_of_exp_is_x_where_exp_overflows():
    x = np.array([800.0, 1e300, -800.0, 1e-300])
    before = traced(lambda x: np.log(np.exp(x)), (x,))
    after, _ = fired_rules(before)
    np.testing.assert_array_equal(run(before, (x,))[0], [inf, inf, -inf, 0.0])
    np.testing.assert_array_equal(run(after, (x,))[0], x)


@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_of_a_broadcast_over_an_empty_axis_is_zero(keepdims):
    """Not x * 0: that is nan at inf and nan, and -0.0 for negative x."""
    x = np.array([[inf, -inf, nan, -1.0, 2.0]])
    f = lambda x: np.broadcast_to(x, (0, 4, 5)).sum(axis=(0, 1), keepdims=keepdims)  # noqa: E731
    before = traced(f, (x,))
    after, fired = fired_rules(before)
    assert "sum(broadcast(x)) -> x*n" not in fired
    assert_values(run(after, (x,))[0], f(x), 0.0, "empty sum")


def test_zeros_keep_their_sign():
    """x + 0.0 is +0.0 at x = -0.0 (so it is not x), x + -0.0 is x, and so on."""
    x = np.array([-0.0, 0.0, -1.0, inf, nan])
    for f in (lambda x: x + 0.0, lambda x: x + -0.0, lambda x: 0.0 + x, lambda x: x - 0.0,
              lambda x: x - -0.0, lambda x: x * 1.0, lambda x: x / 1.0,
              lambda x: np.exp(np.log(x)), lambda x: x ** 0.5, lambda x: x ** -1,
              lambda x: np.where(True, x + 1, x) - 1):
        after, _ = fired_rules(traced(f, (x,)))
        with np.errstate(all="ignore"):
            assert_values(run(after, (x,))[0], f(x), 0.0, "signed zeros")


@pytest.mark.parametrize("exponent", [lambda: 0.5, lambda: np.float64(0.5),
                                      lambda: np.full(5, 0.5)])
def test_square_root_as_a_power_is_numpys(exponent):
    """NumPy computes x ** 0.5 (a scalar exponent) as sqrt(x): nan at -inf, -0.0 at
    -0.0. By an array of 0.5s it calls C's pow: +inf at -inf, +0.0 at -0.0, and the rule
    does not fire."""
    x = np.array([-inf, -0.0, 0.0, 4.0, -1.0])
    f = lambda x: np.power(x, exponent())  # noqa: E731
    before = traced(f, (x,))
    after, fired = fired_rules(before)
    assert ("x**0.5 -> sqrt(x)" in fired) == (np.ndim(exponent()) == 0)
    with np.errstate(invalid="ignore"):
        assert_values(run(after, (x,))[0], f(x), 0.0, "power")


SLICES = [slice(None), slice(1, None), slice(None, -1), slice(None, None, -1),
          slice(None, None, 2), slice(4, 0, -2), slice(-2, None, -3), slice(3, 3),
          slice(5, 1), slice(1, 6, 4), slice(-1, -8, -1), slice(0, 100, 3)]


@pytest.mark.parametrize("first", SLICES, ids=str)
def test_slices_of_slices_compose_as_numpys(first):
    x = np.arange(9.0)
    for second in SLICES:
        f = lambda x: np.sin(x[first][second])  # noqa: E731, B023
        after, _ = fired_rules(traced(f, (x,)))
        assert [e.op for e in after.eqns].count("slice") <= 1
        assert_values(run(after, (x,))[0], f(x), 0.0, f"x[{first}][{second}]")
