"""Random NumPy programs (tests/trace/test_random_programs.py's generator) through the
rewrite pipeline with every combination of rule sets, against the same programs with no
rewrites, both on the NumPy interpreter.

Per combination (simplify, stabilize, matmul: on or off; the whole-graph passes always
run): rewrites are strict (a replacement of the wrong shape or dtype raises) and reach
their fixpoint (rewriting their result again fires nothing), the optimized graph
typechecks, and
results and arguments afterwards have the same structure, dtypes and shapes. Values are
equal up to reassociation (rtol 1e-12 in 64 bits, 1e-6 in 32), signs of zeros included;
beyond that, a value may differ only where the program without rewrites gives a
non-finite value or 0 (NaN at x*y/x for x = 0, exp overflowing in log(exp(x)), a naive
formula losing everything: the rules' documented differences).

A second test draws programs from the rules' own patterns (nested three deep, over
random and edge values), where most rules fire; with a stability rule on, a value that
moved beyond rounding must be at least as close to the program run in float128 as
NumPy's (the rule's better value, carried through later cancellations).

Examples: the project's profile (derandomized under CI), REWRITE_PROGRAMS_EXAMPLES
(default 60) random programs and three times as many pattern programs.
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st

from tracejit import config, jit
from tracejit.graph import typecheck
from tracejit.rewrite import RuleSet, pipeline, rewrite

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trace"))
import test_random_programs as random_programs  # noqa: E402

JIT_MODULE = sys.modules["tracejit.jit"]
EXAMPLES = int(os.environ.get("REWRITE_PROGRAMS_EXAMPLES", "60"))
PROFILE = settings(random_programs.PROFILE, max_examples=EXAMPLES)
#: programs of the rules' patterns are smaller and each fires several rules: more of them
PATTERN_PROFILE = settings(random_programs.PROFILE, max_examples=3 * EXAMPLES)
RULE_SETS = {"simplify": ("SIMPLIFY",), "stabilize": ("STABILIZE_FORMS", "STABILIZE"),
             "matmul": ("MATMUL",)}
COMBINATIONS = [c for n in range(len(RULE_SETS) + 1)
                for c in itertools.combinations(RULE_SETS, n)]


class Pipeline:
    """`optimize` with only some rule sets (the others empty), strict, checked. (Not
    `optimize` twice: folding runs after the rules and may enable one, as
    `where(a != 0, ...)` with `a` folded to 0 becomes `where(False, ...)`.)"""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.originals = {name: getattr(pipeline, name)
                          for names in RULE_SETS.values() for name in names}
        real = pipeline.optimize

        def strict(graph, rules, fired=None, strict=True):
            result = rewrite(graph, rules, fired, strict=True)
            again = []
            rewrite(result, rules, again)
            assert not again, f"rules fire on their own result: {[f.rule for f in again]}"
            return result

        def checked(graph, *, stability=True):
            result = real(graph, stability=stability)
            typecheck(result.graph)
            for rule in {f.rule for f in result.fired}:
                event(f"fired: {rule}")
            return result

        monkeypatch.setattr(pipeline, "rewrite", strict)
        monkeypatch.setattr(JIT_MODULE, "optimize", checked)

    def use(self, combination: tuple[str, ...]) -> None:
        for key, names in RULE_SETS.items():
            for name in names:
                rules = self.originals[name] if key in combination else RuleSet(key, ())
                self.monkeypatch.setattr(pipeline, name, rules)


def run(program, rewrites: bool):
    """Results and arguments afterwards of the program jitted on the interpreter, or the
    exception it raised."""
    args = program.fresh_args()
    f = random_programs.build(program)
    config.rewrites = rewrites
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return (jit(f, backend="numpy")(*args), args), None
    except Exception as exc:  # noqa: BLE001 - compared with what the other run raised
        return None, exc
    finally:
        config.rewrites = True


def assert_kept(got, want, where: str, signs: bool = True) -> None:
    """Same structure, types, dtypes and shapes; values as the module docstring says
    (signs of zeros unless `signs` is False: log1p(-0.0) is -0.0, log(1 + -0.0) +0.0)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for key in want:
            assert_kept(got[key], want[key], f"{where}[{key!r}]", signs)
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_kept(g, w, f"{where}[{i}]", signs)
    elif isinstance(want, (np.ndarray, np.generic)):
        assert (got.dtype, got.shape) == (want.dtype, want.shape), where
        if want.dtype.kind == "c":
            assert_kept(got.real, want.real, f"{where}.real", signs)
            assert_kept(got.imag, want.imag, f"{where}.imag", signs)
        elif want.dtype.kind == "f":
            assert_floats(np.asarray(got), np.asarray(want), where, signs)
        else:
            np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, float) and np.isnan(want):
        assert np.isnan(got), where
    else:
        assert got == want, where


def assert_floats(got: np.ndarray, want: np.ndarray, where: str, signs: bool) -> None:
    assert np.all(kept(got, want)), f"{where}: {got!r} != {want!r}"
    if signs:
        zeros = (got == 0) & (want == 0)
        assert np.array_equal(np.signbit(got[zeros]), np.signbit(want[zeros])), \
            f"{where}: signs of zeros: {got!r} != {want!r}"


def kept(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Where `got` keeps `want`: equal up to reassociation (NaN equal to NaN), or `want`
    (the value without rewrites) is not finite or 0."""
    rtol = 1e-12 if want.dtype.itemsize >= 8 else 1e-6
    finite = want[np.isfinite(want)]
    atol = rtol * float(np.max(np.abs(finite), initial=0.0))
    with np.errstate(all="ignore"):
        close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    return close | ~np.isfinite(want) | (want == 0)


@PROFILE
@given(random_programs.programs())
def test_random_programs_keep_their_values_under_every_rule_set(program):
    note(program.describe())
    with pytest.MonkeyPatch.context() as patch:
        rules = Pipeline(patch)
        want, error = run(program, rewrites=False)
        assume(error is None)
        for combination in COMBINATIONS:
            rules.use(combination)
            got, error = run(program, rewrites=True)
            where = f"rule sets {combination or '(none)'}"
            if error is not None:
                raise AssertionError(f"{where}: {type(error).__name__}: {error}\n\n"
                                     f"{program.describe()}") from error
            try:
                assert_kept(got[0], want[0], f"{where}: result", "stabilize" not in combination)
                for name, g, w in zip(program.params, got[1], want[1], strict=False):
                    assert_kept(g, w, f"{where}: argument {name} afterwards",
                                "stabilize" not in combination)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n\n{program.describe()}") from None


# --- programs made of the rules' patterns ----------------------------------------------

#: snippets holding a rule's pattern (or a near miss), over values of shape (3, 4);
#: {x} and {y} are sub-expressions, W is a (4, 4) argument
PATTERNS = [
    "np.log(1 + {x})", "np.log(1 - {x})", "np.exp({x}) - 1", "np.log1p(np.exp({x}))",
    "np.log(1 / (1 + np.exp(-{x})))", "np.log(1 - 1 / (1 + np.exp(-{x})))",
    "1 / (1 + np.exp(-{x}))", "np.log(np.exp({x}) + np.exp({y}))", "np.sqrt({x} * {x})",
    "np.sqrt(np.square({x}))", "({x} * {y} / {x})", "np.exp(np.log({x}))", "np.log(np.exp({x}))",
    "({x} * 1)", "({x} / 1)", "({x} + 0)", "({x} - 0)", "({x} + -0.0)", "(-(-{x}))",
    "{x} ** 2", "{x} ** 0.5", "{x} ** -1", "{x} ** 1", "np.where(True, {x}, {y})",
    "np.where(False, {x}, {y})", "{x}.T.T", "{x}.reshape(4, 3).reshape(3, 4)",
    "np.broadcast_to({x}, (2, 3, 4)).sum(0)", "np.broadcast_to({x}[:1], (3, 4)).sum(0) + {y}",
    "np.log(np.sum(np.exp({x}), axis=1, keepdims=True)) + {y}",
    "np.log(np.sum(np.exp({x}), axis=1))[:, None] + {y}",
    "np.log(np.exp({x}).sum(0)) + {y}", "np.exp({x}) / np.exp({x}).sum(1, keepdims=True)",
    "np.exp({x}) / np.exp({x}).sum(0)", "np.log(np.exp({x}) / np.exp({x}).sum(1, keepdims=True))",
    "np.log((np.exp({x}) / np.exp({x}).sum(1, keepdims=True))[np.arange(3), [0, 3, 1]])[:, None]"
    " + {y}",
    "(2.5 * {x}) @ W", "{x} @ (0.5 * W)", "({x} @ W) @ W", "{x} @ (W @ W)",
    "np.sin({x})", "np.tanh({x}) * 30", "({x} + {y})", "({x} - {y})", "({x} * {y})",
]
VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 30.0, -30.0, 800.0, -800.0, 1e-18, 1e300,
          np.inf, -np.inf, np.nan]


@st.composite
def pattern_programs(draw, depth: int = 3) -> str:
    def expression(level: int) -> str:
        if level == 0 or draw(st.integers(0, 4)) == 0:
            return draw(st.sampled_from(["a", "b", "a", "b", "-a", "2.0 * b"]))
        snippet = draw(st.sampled_from(PATTERNS))
        return snippet.format(x=f"({expression(level - 1)})", y=f"({expression(level - 1)})")

    return expression(depth)


def pattern_values(draw) -> tuple:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pools = [rng.normal(size=(3, 4)) * draw(st.sampled_from([1.0, 30.0])),
             rng.choice(np.array(VALUES), (3, 4))]
    a, b = (pools[draw(st.integers(0, 1))] for _ in range(2))
    return a, b, rng.normal(size=(4, 4))


def assert_not_worse(got, naive, exact, where: str) -> None:
    """Each value of `got` is kept (see `kept`), or at least as close to the float128
    value (`exact`) as NumPy's (`naive`), within 1e-12 of it: a stability rule's more
    accurate value, carried through the rest of the program, differs from NumPy's by
    more than rounding where later ops cancel."""
    got, naive = np.asarray(got), np.asarray(naive)
    assert (got.dtype, got.shape) == (naive.dtype, naive.shape), where
    exact = np.asarray(exact, dtype=LD)
    with np.errstate(all="ignore"):
        err_got = np.where(np.isfinite(got), np.abs(ld(got) - exact), np.inf)
        err_naive = np.where(np.isfinite(naive), np.abs(ld(naive) - exact), np.inf)
        better = np.isfinite(exact) & (err_got <= 2 * err_naive + 1e-12 * np.abs(exact))
    assert np.all(kept(got, naive) | better), \
        f"{where}: {got!r}\nNumPy: {naive!r}\nfloat128: {exact!r}"


def assert_no_new_non_finite(got, naive, where: str) -> None:
    """Without a float128 reference (it overflows as well), a rewritten program may give
    other values where NumPy's cancels catastrophically (`(x - 1e300) + 1e300`), but no
    inf or NaN where NumPy's is finite."""
    got, naive = np.asarray(got), np.asarray(naive)
    assert (got.dtype, got.shape) == (naive.dtype, naive.shape), where
    assert np.all(np.isfinite(got) | ~np.isfinite(naive)), f"{where}: {got!r}\nNumPy: {naive!r}"


LD = np.longdouble


def ld(x):
    return np.asarray(x, dtype=LD)


@PATTERN_PROFILE
@given(pattern_programs(), st.data())
def test_programs_of_the_rules_patterns(source, data):
    a, b, w = pattern_values(data.draw)
    namespace = {"np": np}
    exec(f"def f(a, b, W):\n    return {source}\n", namespace)
    f = namespace["f"]
    note(f"def f(a, b, W):\n    return {source}\n\na = {a!r}\nb = {b!r}")
    with np.errstate(all="ignore", over="raise"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exact = f(ld(a), ld(b), ld(w))
        except FloatingPointError:  # overflows in float128 too (exp(1e300)): no reference
            exact = None
    moderate = all(np.all(np.abs(v) < 1e100) for v in (a, b))
    with pytest.MonkeyPatch.context() as patch:
        rules = Pipeline(patch)
        config.rewrites = False
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = jit(f, backend="numpy")(a, b, w)
        finally:
            config.rewrites = True
        for combination in COMBINATIONS:
            rules.use(combination)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = jit(f, backend="numpy")(a, b, w)
            where = f"rule sets {combination or '(none)'}"
            if "matmul" in combination and not moderate:
                # a reassociated product of infinities or huge values may differ in
                # where it overflows and which inf - inf makes a NaN
                assert (got.dtype, got.shape) == (want.dtype, want.shape), where
                continue
            try:
                assert_kept(got, want, where, "stabilize" not in combination)
            except AssertionError:
                if exact is None:  # both are rounding garbage somewhere; no worse in kind
                    assert_no_new_non_finite(got, want, where)
                else:
                    assert_not_worse(got, want, exact, where)
