"""Every op's derivative rules against central differences, driven by the op-case table.

For each case whose float arguments are float64 (and whose outputs include a real float
one), with random tangent `t` for the float arguments and random cotangent `c` for the
float outputs:

* VJP, the inner-product check: `<t, vjp(c)> == <c, (F(x + εt) - F(x - εt)) / 2ε>`;
* JVP: `<c, jvp(t)>` equals the same difference quotient;
* second order, for the elementwise family: the VJP of `x ↦ <t2, ∇<c, F>(x)>` against
  central differences of the gradient.

In-place cases are checked through the values they write: the function is wrapped to
return its (copied, then mutated) array arguments as well.
"""

from __future__ import annotations

import warnings

import cases
import numpy as np
import pytest

import tracejit
from tracejit.graph import OPS

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-8

# Arguments at a kink, a pole or a boundary of the domain, where a central difference
# measures something other than the (sub)gradient: (case name, argument id) -> why.
NOT_SMOOTH = {
    ("out_forms", "f8"): "returns through out= arrays the numeric harness cannot perturb",
    ("norm", "empty"): "the norm of an empty array is 0, where sqrt has no derivative (the "
                       "JVP is nan, as JAX's is)",
}

# Cases that must refuse to differentiate, with the exception they raise:
# (case name, argument id, or None for every argument set) -> exception.
REFUSED = {
    # u and vh of a full_matrices=True SVD of a non-square matrix: arbitrary extra columns
    ("svd", "f8-wide"): tracejit.errors.NotDifferentiableError,
    ("while_doubling", None): tracejit.errors.NotDifferentiableError,  # forward only, as JAX
}


def float_positions(values: tuple) -> list[int]:
    return [i for i, v in enumerate(values)
            if (isinstance(v, np.ndarray) and v.dtype == np.float64)
            or (isinstance(v, float) and not isinstance(v, bool))]


def usable(case: cases.Case, args: cases.Args) -> bool:
    if args.raises is not None:
        return False
    kinds = {np.asarray(v).dtype.kind for v in args.values
             if isinstance(v, (np.ndarray, np.generic, float))}
    dtypes = {np.asarray(v).dtype for v in args.values if isinstance(v, np.ndarray)}
    return bool(float_positions(args.values)) and "c" not in kinds and \
        all(d == np.float64 for d in dtypes if d.kind == "f")


def as_function(case: cases.Case, values: tuple, traced: bool):
    """F(*floats) -> list of real float outputs, the other arguments fixed. The traced
    form calls the case through `jit` so that it is traced as a jitted function is
    (NumPy's creation functions inside it record ops)."""
    positions = float_positions(values)
    inner = tracejit.jit(case.fn) if traced else case.fn
    # decided here: inside the traced function `values` is a captured closure variable,
    # its arrays tracers
    written = [i for i in positions if isinstance(values[i], np.ndarray)]

    def call(*floats):
        args = list(values)
        for i, x in zip(positions, floats, strict=True):
            args[i] = x.copy() if hasattr(x, "copy") else x
        out = inner(*args)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if case.inplace:
            outs += [args[i] for i in written]
        return [o for o in outs if hasattr(o, "dtype") and o.dtype.kind == "f"
                or isinstance(o, float)]

    return call, [values[i] for i in positions]


def numeric_directional(fn, xs, ts, eps=EPS):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plus = fn(*[step(x, eps * t) for x, t in zip(xs, ts, strict=True)])
        minus = fn(*[step(x, -eps * t) for x, t in zip(xs, ts, strict=True)])
    return [(np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps)
            for p, m in zip(plus, minus, strict=True)]


def step(x, dx):
    """x + dx, keeping a 0-d array a 0-d array (NumPy would return a scalar)."""
    return np.asarray(x + dx) if isinstance(x, np.ndarray) else x + dx


def random_like(x, rng):
    return rng.standard_normal(np.shape(x)) if np.ndim(x) else float(rng.standard_normal())


def dot(a, b) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(a, b, strict=True)))


PARAMS = [pytest.param(c, a, id=f"{c.name}-{a.id}")
          for c in cases.CASES for a in c.args if usable(c, a)]


def refused(case, args):
    exc = REFUSED.get((case.name, args.id)) or REFUSED.get((case.name, None))
    return pytest.raises(exc) if exc else None


def prepare(case, args):
    if (case.name, args.id) in NOT_SMOOTH:
        pytest.skip(NOT_SMOOTH[(case.name, args.id)])
    fn, xs = as_function(case, cases.copy_args(args.values), traced=False)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = fn(*xs)
    if not outs or not all(np.all(np.isfinite(o)) for o in outs):
        pytest.skip("no finite real float output to differentiate")
    rng = np.random.default_rng(0)
    ts = [random_like(x, rng) for x in xs]
    cs = [random_like(o, rng) for o in outs]
    coarse = dot(cs, numeric_directional(fn, xs, ts))
    fine = dot(cs, numeric_directional(fn, xs, ts, EPS / 10))
    if not np.isclose(coarse, fine, rtol=1e-3, atol=1e-6):
        pytest.skip(f"not differentiable here (a jump): difference quotients {coarse} at "
                    f"step {EPS}, {fine} at {EPS / 10}")
    traced, _ = as_function(case, cases.copy_args(args.values), traced=True)
    return fn, traced, xs, ts, cs


@pytest.mark.parametrize("case,args", PARAMS)
def test_vjp_inner_product(case, args):
    fn, traced, xs, ts, cs = prepare(case, args)
    expected = dot(cs, numeric_directional(fn, xs, ts))
    with np.errstate(all="ignore"):
        out, pullback = tracejit.vjp(traced, *xs)
        ct = type(out)(np.asarray(c, np.float64) if np.ndim(c) else c for c in cs)
        if refused(case, args):
            with refused(case, args):
                pullback(ct)
            return
        x_bars = pullback(ct)
    got = dot(ts, x_bars)
    assert np.isclose(got, expected, rtol=RTOL, atol=ATOL * (1 + abs(expected))), \
        f"<t, vjp(c)> = {got}, central differences give {expected}"


@pytest.mark.parametrize("case,args", PARAMS)
def test_jvp(case, args):
    fn, traced, xs, ts, cs = prepare(case, args)
    expected = dot(cs, numeric_directional(fn, xs, ts))
    with np.errstate(all="ignore"):
        if refused(case, args):
            with refused(case, args):
                tracejit.jvp(traced, xs, ts)
            return
        _, tangents = tracejit.jvp(traced, xs, ts)
    got = dot(cs, tangents)
    assert np.isclose(got, expected, rtol=RTOL, atol=ATOL * (1 + abs(expected))), \
        f"<c, jvp(t)> = {got}, central differences give {expected}"


ELEMENTWISE = [p for p in PARAMS
               if all(OPS[op].family == "elementwise" for op in p.values[0].ops)
               and p.values[0].ops and not p.values[0].inplace]


@pytest.mark.parametrize("case,args", ELEMENTWISE)
def test_second_order(case, args):
    _, traced, xs, ts, cs = prepare(case, args)

    def scalar(*floats):  # <c, F(x)>
        return sum(np.sum(c * o) for c, o in zip(cs, traced(*floats), strict=True))

    argnums = tuple(range(len(xs)))
    grad = tracejit.grad(scalar, argnums=argnums)

    def along(*floats):  # <t, ∇<c, F>(x)>
        return sum(np.sum(t * g) for t, g in zip(ts, grad(*floats), strict=True))

    with np.errstate(all="ignore"):
        hvp = tracejit.grad(along, argnums=argnums)(*xs)
    rng = np.random.default_rng(1)
    t2 = [random_like(x, rng) for x in xs]
    gradient = lambda *f: [np.asarray(g) for g in grad(*f)]  # noqa: E731
    expected = dot(ts, numeric_directional(gradient, xs, t2))
    if not np.isclose(expected, dot(ts, numeric_directional(gradient, xs, t2, EPS / 10)),
                      rtol=1e-3, atol=1e-6):
        pytest.skip("the gradient jumps here (a tie or a kink)")
    got = dot(t2, hvp)
    assert np.isclose(got, expected, rtol=1e-4, atol=1e-6 * (1 + abs(expected))), \
        f"second order: {got}, central differences of the gradient give {expected}"
