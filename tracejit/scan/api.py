"""`scan`, `fori_loop`, `while_loop`: loops as single nodes of the graph, with JAX's
semantics. Inside a trace each records one `scan` or `while` equation whose body was
traced once; outside a trace they run as the plain Python loops they stand for.

Carried values keep their shape and dtype across iterations. One relaxation, so that
plain NumPy code such as `total = 0.0; for x in xs: total = total + x` works: a carry
that starts as a Python scalar (weakly typed) takes the type its first iteration gives
it, which is exactly what NumPy's promotion does on the first iteration.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tracejit import errors, tree
from tracejit.graph.ir import Aval, Var
from tracejit.scan.body import Body, Spec, check_carries, slice_by_counter, trace_body
from tracejit.scan.op import COUNTER
from tracejit.trace.context import TraceContext, current
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, astype, bind, fresh, lift

#: the step counter as loop bodies see it: an int that promotes like a Python int, as
#: the `i` of `for i in range(n)` does
COUNTER_SPEC = Spec(Aval((), COUNTER), kind="python", weak=True)

#: a carry whose type settles needs at most this many traces of the body
MAX_RETRACES = 3


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:
    """`carry, ys = scan(f, init, xs)`: `carry, y = f(carry, x)` for each `x` in `xs`
    (sliced along the first axis of every leaf), stacking the `y`s. As `jax.lax.scan`.

    `unroll=True` (or an `unroll` of at least the trip count) runs the loop in Python
    while tracing, one copy of the body per step; smaller `unroll` values are accepted
    and change nothing: the compiled loop has no per-iteration dispatch to amortize.
    """
    x_leaves, x_tree = flatten(xs)
    length = trip_count(x_leaves, length)
    if not isinstance(unroll, (bool, int)) or (unroll is not True and unroll < 1):
        raise ValueError(f"scan: unroll must be a positive int or a bool, not {unroll!r}")
    order = range(length - 1, -1, -1) if reverse else range(length)
    ctx = current()
    if ctx is None or unroll is True or (unroll is not False and unroll >= max(length, 2)):
        return python_scan(f, init, x_leaves, x_tree, order)
    init_leaves, init_tree = tree.flatten(init)
    xs_t = [lift(x) for x in x_leaves]
    out_tree: list[Any] = []

    def step(k: Tracer, *flat: Tracer) -> tuple[list, list]:
        carry = tree.unflatten(init_tree, list(flat[:len(init_leaves)]))
        x = unflatten(x_tree, list(flat[len(init_leaves):]))
        result = f(carry, x)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"scan: the body must return a pair (carry, y), got "
                            f"{type(result).__name__} (at {user_source()})")
        new_leaves, new_tree = tree.flatten(result[0])
        if new_tree != init_tree:
            raise errors.LoopCarryError(
                "scan", f"the body returned a carry of structure {new_tree}, but the "
                f"initial carry has structure {init_tree}", "return a carry of the same "
                "structure as init", user_source())
        y_leaves, y_tree = flatten(result[1])
        out_tree[:] = [y_tree]
        return new_leaves, y_leaves

    xspecs = [Spec(Aval(x.shape[1:], x.dtype)) for x in xs_t]
    carries, body = trace_carried(ctx, step, [COUNTER_SPEC], init_leaves, xspecs,
                                  "scan", tree.leaf_paths(init_tree, "carry"))
    params = {"body": body.graph, "n_consts": len(body.consts), "n_carry": body.n_carry,
              "length": length, "reverse": bool(reverse)}
    outs = record_loop(ctx, "scan", body.consts + [c.sym for c in carries] +
                       body.buffer_inits + [x.sym for x in xs_t], params, body)
    n = body.n_explicit
    carry = tree.unflatten(init_tree, outs[:n])
    ys = [fresh(ctx, v) for v in outs[body.n_carry:]]
    return carry, unflatten(out_tree[0], ys)


def fori_loop(lower: Any, upper: Any, body: Callable, init: Any) -> Any:
    """`for i in range(lower, upper): val = body(i, val)`, as `jax.lax.fori_loop`. With
    Python int bounds it is a `scan` (differentiable); traced bounds make it a
    `while_loop` (forward only)."""
    if is_static_int(lower) and is_static_int(upper):
        lower, upper = int(lower), int(upper)

        def step(carry: Any, k: Any) -> tuple[Any, None]:
            return body(k if lower == 0 else lower + k, carry), None

        if current() is None:
            for i in range(lower, upper):
                init = body(i, init)
            return init
        carry, _ = scan_counted(step, init, max(upper - lower, 0))
        return carry

    def cond(state: Any) -> Any:
        return state[0] < upper

    def loop(state: Any) -> Any:
        return state[0] + 1, body(state[0], state[1])

    i0 = lower if isinstance(lower, Tracer) else np.asarray(lower)
    return while_loop(cond, loop, (i0, init))[1]


def scan_counted(f: Callable, init: Any, length: int) -> tuple[Any, Any]:
    """A scan with no per-step inputs whose body sees the step number: `f(carry, k)`."""
    ctx = current()
    init_leaves, init_tree = tree.flatten(init)

    def step(k: Tracer, *flat: Tracer) -> tuple[list, list]:
        new, _ = f(tree.unflatten(init_tree, list(flat)), k)
        return same_structure("fori_loop", new, init_tree), []

    carries, body = trace_carried(ctx, step, [COUNTER_SPEC], init_leaves, [], "fori_loop",
                                  tree.leaf_paths(init_tree, "val"))
    body, rows = slice_by_counter(body, length)
    params = {"body": body.graph, "n_consts": len(body.consts), "n_carry": body.n_carry,
              "length": length, "reverse": False}
    outs = record_loop(ctx, "scan", body.consts + [c.sym for c in carries] +
                       body.buffer_inits + rows, params, body)
    return tree.unflatten(init_tree, outs[:body.n_explicit]), None


def while_loop(cond_fun: Callable, body_fun: Callable, init: Any) -> Any:
    """`while cond_fun(val): val = body_fun(val)`, as `jax.lax.while_loop`. Forward only:
    its number of iterations is not known in advance, so it has no reverse-mode rule."""
    ctx = current()
    if ctx is None:
        val = init
        while cond_fun(val):
            val = body_fun(val)
        return val
    init_leaves, init_tree = tree.flatten(init)

    def step(*flat: Tracer) -> tuple[list, list]:
        new = body_fun(tree.unflatten(init_tree, list(flat)))
        return same_structure("while_loop", new, init_tree), []

    carries, body = trace_carried(ctx, step, [], init_leaves, [], "while_loop",
                                  tree.leaf_paths(init_tree, "val"))
    specs = [Spec.of(c) for c in carries]

    def test(*flat: Tracer) -> tuple[list, list]:
        ok = lift(cond_fun(tree.unflatten(init_tree, list(flat))))
        if ok.shape != () or ok.dtype != np.bool_:
            raise TypeError(f"while_loop: the condition must give a boolean scalar, not "
                            f"{ok.dtype}{list(ok.shape)} (at {user_source()})")
        return list(flat), [ok]

    cond = trace_body(ctx, test, [], specs, [], "while_loop condition", body.buffers)
    if cond.n_carry != body.n_carry:
        raise errors.TracejitError(
            "while_loop", "the condition writes into an array", "compute the condition "
            "without assigning into arrays", user_source())
    # the condition's graph returns (*carries, ok): keep `ok` only
    cgraph = cond.graph
    cond_graph = type(cgraph)(cgraph.inputs, cgraph.eqns, cgraph.outputs[-1:], cgraph.name)
    params = {"cond": cond_graph, "body": body.graph, "n_cond_consts": len(cond.consts),
              "n_body_consts": len(body.consts)}
    outs = record_loop(ctx, "while", cond.consts + body.consts + [c.sym for c in carries] +
                       body.buffer_inits, params, body)
    return tree.unflatten(init_tree, outs[:body.n_explicit])


# --- shared machinery -----------------------------------------------------------------


def same_structure(name: str, value: Any, treedef: Any) -> list[Any]:
    """The leaves of a body's returned value, which must have the initial value's tree."""
    leaves, new_tree = tree.flatten(value)
    if new_tree != treedef:
        raise errors.LoopCarryError(
            name, f"the body returned a value of structure {new_tree}, but the initial "
            f"value has structure {treedef}", "return the same structure as init_val",
            user_source())
    return leaves

NONE = ("none",)  # xs=None and y=None are empty trees, as in JAX


def flatten(obj: Any) -> tuple[list[Any], Any]:
    return ([], NONE) if obj is None else tree.flatten(obj)


def unflatten(treedef: Any, leaves: list[Any]) -> Any:
    return None if treedef == NONE else tree.unflatten(treedef, leaves)


# ----------------------------------------------------------------


def trace_carried(ctx: TraceContext, step: Callable, lead: list[Spec], init_leaves: list[Any],
                  xs: list[Spec], name: str, names: list[str]) -> tuple[list[Tracer], Body]:
    """Trace `step` with carries typed like `init_leaves`, retracing while a weakly typed
    initial value (a Python scalar) settles into the type the body gives it."""
    carries = [lift(c) for c in init_leaves]
    for _ in range(MAX_RETRACES):
        specs = [Spec.of(c) for c in carries]
        body = trace_body(ctx, step, lead, specs, xs, name)
        returned = body.out_specs[:body.n_explicit]
        settled = [settle(c, s, r) for c, s, r in zip(carries, specs, returned, strict=True)]
        if all(new is old for new, old in zip(settled, carries, strict=True)):
            check_carries(name, specs, returned, names)
            return carries, body
        carries = settled
    check_carries(name, specs, returned, names)
    return carries, body


def settle(carry: Tracer, entered: Spec, returned: Spec) -> Tracer:
    """The initial value retyped as the body returns it, where NumPy's first iteration
    would do the same: a weak scalar takes the returned dtype (and is broadcast to a
    returned shape); a Python-kind value becomes the NumPy scalar the body returns."""
    if entered == returned:
        return carry
    if entered.aval == returned.aval:  # kind or weak type only
        out = fresh(carry._ctx, carry.sym, returned.kind, returned.weak)
        return out
    if not entered.weak or entered.aval.shape != ():
        return carry
    out = astype(carry, returned.aval.dtype, kind=returned.kind)
    if returned.aval.shape != ():
        out = bind("broadcast_to", [out], {"shape": returned.aval.shape}, kind="array")
    out.kind, out.weak = returned.kind, returned.weak
    return out


def record_loop(ctx: TraceContext, op: str, inputs: list[Var], params: dict[str, Any],
                body: Body) -> list[Tracer]:
    """Record the loop equation; point each buffer it carries at its final value, and
    return tracers for the explicit carries and stacked outputs."""
    outs = ctx.record(op, inputs, params)
    for buf, var in zip(body.buffers, outs[body.n_explicit:body.n_carry], strict=True):
        buf.var = var
    specs = body.out_specs
    explicit = [fresh(ctx, v, s.kind, s.weak)
                for v, s in zip(outs[:body.n_explicit], specs[:body.n_explicit], strict=True)]
    return explicit + list(outs[body.n_explicit:])


def trip_count(x_leaves: list[Any], length: int | None) -> int:
    lengths = {np.shape(x)[0] if np.ndim(x) else None for x in x_leaves}
    if None in lengths:
        raise ValueError("scan: every leaf of xs must have a leading axis to scan over")
    if length is not None:
        length = int(length)
        if lengths and lengths != {length}:
            raise ValueError(f"scan: length={length} but xs have leading axes "
                             f"{sorted(lengths)}")
        return length
    if len(lengths) > 1:
        raise ValueError(f"scan: xs leaves have different leading axes {sorted(lengths)}")
    if not lengths:
        raise ValueError("scan: give xs or length")
    return lengths.pop()


def python_scan(f: Callable, init: Any, x_leaves: list[Any], x_tree: Any,
                order: range) -> tuple[Any, Any]:
    """The loop itself, one body call per step (outside a trace, or fully unrolled)."""
    carry, ys = init, {}
    for k in order:
        carry, y = f(carry, unflatten(x_tree, [x[k] for x in x_leaves]))
        ys[k] = y
    if not ys:  # no steps: the per-step output's type from a call on zeros, as JAX's
        x0 = [np.zeros(np.shape(x)[1:], np.asarray(x).dtype) for x in x_leaves]
        _, y = f(init, unflatten(x_tree, x0))
        leaves, y_tree = flatten(y)
        empty = [np.empty((0,) + np.shape(v), np.asarray(v).dtype) for v in leaves]
        return carry, unflatten(y_tree, empty)
    if ys[order[0]] is None:
        return carry, None
    leaves = [flatten(ys[k])[0] for k in sorted(ys)]
    y_tree = flatten(ys[order[0]])[1]
    stack = np.stack if current() is None else _traced_stack
    stacked = [stack([leaf[i] for leaf in leaves]) for i in range(len(leaves[0]))]
    return carry, tree.unflatten(y_tree, stacked)


def _traced_stack(items: list[Any]) -> Any:
    return np.stack([lift(t) for t in items])


def is_static_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)
