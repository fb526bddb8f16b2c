"""The derivative tables, keyed by op name like every other per-op table.

* `VJP[op](ct, ans, *xs, **params)` returns one cotangent per input (`None` where the
  input is not differentiable). `ct` and `ans` are a tracer each for a single-output op,
  tuples for a multi-output one (a missing cotangent arrives as zeros). Cotangents may
  come back broadcast or in a wider dtype: the transform fits them to the input.
* `JVP[op](ts, ans, *xs, **params)` gets one tangent per input (`None` for zero) and
  returns the output tangent (a tuple for a multi-output op). An op with a VJP rule but
  no JVP rule gets one by transposing its VJP (see `transform.jvp_from_vjp`).
* `NONDIFF`: ops whose derivative is zero wherever it exists (rounding, comparisons,
  integer and boolean ops): they pass no cotangent and no tangent.
* `NO_RULE[op]`: differentiable ops without a rule yet, with the reason; differentiating
  through one raises instead of silently returning zero.
* `OPTIONAL_CTS`: multi-output ops whose VJP rule gets None, not zeros, for an output
  nobody differentiates: part of the rule may be infinite where that output is not
  differentiable (svd's u and vh at equal singular values), and 0 * inf is nan.
* `WITH_ACTIVE`: ops whose VJP rule also gets `active=` (one bool per input: whether the
  transform wants its cotangent). A loop's rule builds a cotangent carry per wanted input,
  and a carry nobody reads still costs work every iteration.
"""

from __future__ import annotations

from typing import Callable

from tracejit.autodiff.build import zeros_like
from tracejit.trace.tracer import bind

VJP: dict[str, Callable] = {}
JVP: dict[str, Callable] = {}
NONDIFF: set[str] = set()
NO_RULE: dict[str, str] = {}
OPTIONAL_CTS: set[str] = set()
WITH_ACTIVE: set[str] = set()


def defvjp(name: str, vjp: Callable, jvp: Callable | None = None) -> None:
    assert name not in VJP, f"VJP rule for {name!r} defined twice"
    VJP[name] = vjp
    if jvp is not None:
        JVP[name] = jvp


def nondiff(*names: str) -> None:
    NONDIFF.update(names)


def linear_jvp(name: str, *linear_in: int) -> Callable:
    """The JVP of an op linear in the inputs at `linear_in` (the others are static data,
    like index arrays): the op itself applied to the tangents."""

    def jvp(ts, ans, *xs, **params):
        if all(ts[i] is None for i in linear_in):
            return None
        args = [(ts[i] if ts[i] is not None else zeros_like(x)) if i in linear_in else x
                for i, x in enumerate(xs)]
        return bind(name, args, params)

    return jvp
