"""Numerical stability: naive formulas replaced by ones that stay finite and accurate.

Two sets, run in order. `STABILIZE_FORMS` recognizes whole formulas (log of a sigmoid,
log of a softmax, log of a sum of exps) at their outermost op; `STABILIZE` then rewrites
what is left of the inner pieces (a sigmoid or a softmax used on its own). The order
matters because the engine works bottom-up: a softmax rewritten first would hide the
log-softmax around it.

The replacements are compositions of ordinary ops (they fuse like any other chain):

    softplus(x)   = max(x, 0) + log1p(exp(-|x|))
    sigmoid(x)    = e/(1+e) for x < 0, 1/(1+e) otherwise, with e = exp(-|x|)
    logsumexp(x)  = m + log(sum(exp(x - m))), m = max(x) where finite, else 0
"""

from __future__ import annotations

from tracejit.graph.ir import Eqn, Var
from tracejit.rewrite.build import op, producer_of
from tracejit.rewrite.engine import ANY, P, RuleSet

# --- the stable formulas -------------------------------------------------------------


def softplus(x: Var) -> Var:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)), with -|x| spelled
    min(x, -x), whose derivative at 0 is 0 (ties split, as in JAX), so the derivative
    of the whole at 0 is max's 1/2, the sigmoid's value there (abs's subgradient 1 at 0
    would make it 0)."""
    tail = op.log1p(op.exp(op.minimum(x, op.negative(x))))
    return op.add(op.maximum(x, 0), tail)


def sigmoid(x: Var) -> Var:
    """1 / (1 + exp(-x)) without overflow, accurate for large negative x."""
    e = op.exp(op.negative(op.absolute(x)))
    one_plus = op.add(e, 1)
    return op.where(op.less(x, 0), op.divide(e, one_plus), op.reciprocal(one_plus))


def shifted(x: Var, axes: tuple[int, ...]) -> Var:
    """x - m, with m the maximum over `axes` (kept), or 0 where that is not finite (all
    -inf: the sum of exps is then 0 and its log -inf, as in the naive formula)."""
    m = op.max(x, axes=axes, keepdims=True)
    m = op.where(op.isfinite(m), m, 0)
    return op.subtract(x, m), m


def reduced(x: Var, axes: tuple[int, ...], keepdims: bool) -> Var:
    if keepdims:
        return x
    return op.reshape(x, shape=tuple(d for i, d in enumerate(x.shape) if i not in axes))


def real_float(x: Var) -> bool:
    return x.dtype.kind == "f"


def reduces_nonempty(x: Var, total: Eqn) -> bool:
    """A max over these axes is defined (NumPy's max of an empty axis raises)."""
    return all(x.shape[a] > 0 for a in total.params["axes"]) and real_float(x)


def broadcasts_as_kept(x: Var, total: Eqn) -> bool:
    """The reduction's result broadcasts against x as if its axes were kept: kept, or
    reduced away only at the front (NumPy aligns shapes from the right)."""
    axes = total.params["axes"]
    return total.params["keepdims"] or tuple(axes) == tuple(range(len(axes)))


def is_shifted(x: Var, axes: tuple[int, ...]) -> bool:
    """Whether x is already y - max(y) over these axes (the user's shift, or ours, which
    also takes care of a non-finite max): then the sum of exps cannot overflow."""
    sub = producer_of(x)
    if sub is None or sub.op != "subtract":
        return False
    y, m = sub.inputs
    made = producer_of(m)
    if made is not None and made.op == "where":
        test = producer_of(made.inputs[0])
        if test is None or test.op != "isfinite" or made.inputs[1] is not test.inputs[0]:
            return False
        made = producer_of(made.inputs[1])
    return (made is not None and made.op == "max" and made.inputs[0] is y
            and made.params["axes"] == tuple(axes) and made.params["keepdims"])


def needs_shift(x: Var, total: Eqn) -> bool:
    return reduces_nonempty(x, total) and not is_shifted(x, total.params["axes"])


def logsumexp(x: Var, total: Eqn) -> Var | None:
    """log(sum(exp(x), axes)) -> m + log(sum(exp(x - m), axes))."""
    if not needs_shift(x, total) or total.params.get("dtype") is not None:
        return None
    axes, keepdims = total.params["axes"], total.params["keepdims"]
    d, m = shifted(x, axes)
    s = op.log(op.sum(op.exp(d), axes=axes, keepdims=True, dtype=None))
    return reduced(op.add(s, m), axes, keepdims)


def log_softmax(x: Var, total: Eqn) -> Var | None:
    """log(exp(x) / sum(exp(x), axes)) -> (x - m) - log(sum(exp(x - m), axes))."""
    if not (reduces_nonempty(x, total) and broadcasts_as_kept(x, total)):
        return None
    axes = total.params["axes"]
    d = x if is_shifted(x, axes) else shifted(x, axes)[0]
    return op.subtract(d, op.log(op.sum(op.exp(d), axes=axes, keepdims=True, dtype=None)))


def softmax(x: Var, total: Eqn) -> Var | None:
    """exp(x) / sum(exp(x), axes) -> exp(x - m) / sum(exp(x - m), axes)."""
    if not (needs_shift(x, total) and broadcasts_as_kept(x, total)):
        return None
    axes = total.params["axes"]
    d, _ = shifted(x, axes)
    e = op.exp(d)
    return op.divide(e, op.sum(e, axes=axes, keepdims=True, dtype=None))


def log_of_gathered_softmax(x: Var, total: Eqn, picked: Eqn) -> Var | None:
    """log(softmax(x)[i, j]) -> log_softmax(x)[i, j] (the cross-entropy form)."""
    inner = log_softmax(x, total)
    if inner is None:
        return None
    return op.gather(inner, *picked.inputs[1:], **picked.params)


def nonpositive(x: Var) -> bool:
    """x is -|y| (as -abs(y) or min(y, -y)): exp(x) <= 1 cannot overflow (softplus's
    own tail, which the rule for log1p(exp(x)) must leave alone, or it rewrites its own
    replacement again and again)."""
    made = producer_of(x)
    if made is None:
        return False
    if made.op == "minimum":
        y, other = made.inputs
        negated = producer_of(other)
        return negated is not None and negated.op == "negative" and negated.inputs[0] is y
    inner = producer_of(made.inputs[0]) if made.op == "negative" else None
    return inner is not None and inner.op == "absolute"


def float_only(fn):
    def rule(x: Var, **more: object) -> Var | None:
        return fn(x, **more) if real_float(x) else None

    return rule


# --- patterns ------------------------------------------------------------------------

EXP_NEG = P("exp", P("negative", "x"))
NAIVE_SIGMOID = P("divide", 1, P("add", 1, EXP_NEG))
EXP_SUM = P("sum", P("exp", "x"), eqn="total")
NAIVE_SOFTMAX = P("divide", P("exp", "x"), EXP_SUM)


def gathered_softmax(n_indices: int) -> P:
    return P("log", P("gather", NAIVE_SOFTMAX, *([ANY] * n_indices), eqn="picked"))


STABILIZE_FORMS = RuleSet("stabilize", [
    ("log(1/(1+exp(-x))) -> -softplus(-x)", P("log", NAIVE_SIGMOID),
     float_only(lambda x: op.negative(softplus(op.negative(x))))),
    ("log(1-1/(1+exp(-x))) -> -softplus(x)", P("log", P("subtract", 1, NAIVE_SIGMOID)),
     float_only(lambda x: op.negative(softplus(x)))),
    ("log(1+x) -> log1p(x)", P("log", P("add", 1, "x")), float_only(op.log1p)),
    ("log(1-x) -> log1p(-x)", P("log", P("subtract", 1, "x")),
     float_only(lambda x: op.log1p(op.negative(x)))),
    ("log1p(exp(x)) -> softplus(x)", P("log1p", P("exp", "x")),
     float_only(lambda x: None if nonpositive(x) else softplus(x))),
    ("exp(x)-1 -> expm1(x)", P("subtract", P("exp", "x"), 1), float_only(op.expm1)),
    ("log(sum(exp(x))) -> logsumexp(x)", P("log", EXP_SUM), logsumexp),
    ("log(exp(x)/sum(exp(x))) -> log_softmax(x)", P("log", NAIVE_SOFTMAX), log_softmax),
    *[("log(softmax(x)[i]) -> log_softmax(x)[i]", gathered_softmax(n),
       log_of_gathered_softmax) for n in (1, 2, 3)],
    ("log(exp(a)+exp(b)) -> logaddexp(a, b)", P("log", P("add", P("exp", "a"), P("exp", "b"))),
     lambda a, b: op.logaddexp(a, b) if real_float(a) and a.dtype == b.dtype else None),
    ("sqrt(x*x) -> |x|", P("sqrt", P("multiply", "x", "x")), float_only(op.absolute)),
    ("sqrt(x**2) -> |x|", P("sqrt", P("square", "x")), float_only(op.absolute)),
])

STABILIZE = RuleSet("stabilize", [
    ("1/(1+exp(-x)) -> sigmoid(x)", NAIVE_SIGMOID, float_only(sigmoid)),
    ("exp(x)/sum(exp(x)) -> softmax(x)", NAIVE_SOFTMAX, softmax),
])
