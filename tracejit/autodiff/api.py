"""`grad`, `value_and_grad`, `vjp`, `jvp`, `jacobian`, `hessian`: JAX's semantics.

Each returns a jitted function whose trace runs the user's function on tracers (into the
current graph) and then the reverse or forward transform over the equations it recorded.
So the derivative is one graph with the forward pass, compiled like any other, and the
transforms compose: `grad(grad(f))` differentiates the equations the inner `grad`
recorded, `jit(grad(f))` and `grad(jit(f))` trace straight through.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from tracejit import errors, tree
from tracejit.autodiff import transform
from tracejit.autodiff.build import full, is_inexact, reshape, zeros
from tracejit.graph.ir import Aval, Var
from tracejit.jit import Jitted
from tracejit.trace.context import TraceContext, current
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, bind, constant, fresh, lift


@dataclass
class Linearized:
    """A function traced into the current context with some argument leaves marked."""

    ctx: TraceContext
    start: int  # the function's equations are ctx.eqns[start:]
    roots: list[Var]  # the marked leaves' values
    root_leaves: list[Tracer]
    out: Any  # the function's result (a pytree of tracers and constants)

    def eqns(self) -> list:
        return self.ctx.eqns[self.start:]


def linearize(fun: Callable, args: tuple, kwargs: dict, argnums: Sequence[int],
              what: str) -> tuple[Linearized, list[Any]]:
    """Run `fun(*args, **kwargs)` in the current trace with the leaves of the arguments at
    `argnums` as differentiation roots. Returns the record and each argnum's treedef."""
    ctx = current()
    args = list(args)
    counts: dict[int, int] = {}  # tracers per buffer: an array passed more than once
    for leaf in tree.flatten((args, kwargs))[0]:
        if isinstance(leaf, Tracer):
            counts[id(leaf._buf)] = counts.get(id(leaf._buf), 0) + 1
    roots, root_leaves, treedefs = [], [], []
    for i in argnums:
        leaves, treedef = tree.flatten(args[i])
        marked = [root_tracer(leaf, counts, what, f"argument {i}") for leaf in leaves]
        args[i] = tree.unflatten(treedef, marked)
        roots += [t.sym for t in marked]
        root_leaves += marked
        treedefs.append(treedef)
    start = len(ctx.eqns)
    out = traced_call(ctx, fun)(*args, **kwargs)
    for leaf in tree.flatten(out)[0]:
        if isinstance(leaf, Tracer):
            leaf.sym  # noqa: B018 - record a view's slicing now, inside the function's run
    return Linearized(ctx, start, roots, root_leaves, out), treedefs


def root_tracer(leaf: Any, counts: dict[int, int], what: str, where: str) -> Tracer:
    if not isinstance(leaf, Tracer) or not is_inexact(leaf.dtype):
        kind = getattr(leaf, "dtype", type(leaf).__name__)
        raise errors.NotDifferentiableError(
            what, f"{where} has a leaf of type {kind}; only floating-point (or complex) "
            "values can be differentiated",
            "pass a float array (x.astype(float)), or leave this argument out of argnums",
            user_source())
    if counts.get(id(leaf._buf), 0) > 1:  # one array passed twice: differentiate this use
        return fresh(leaf._ctx, bind("reshape", [leaf], {"shape": leaf.shape}).sym,
                     leaf.kind, leaf.weak)
    return leaf


def traced_call(ctx: TraceContext, fun: Callable) -> Callable:
    if isinstance(fun, Jitted) or not hasattr(fun, "__code__"):
        return fun  # a jitted function traces straight through when called
    from tracejit.trace.capture import shadow_function

    return shadow_function(ctx, fun)


def scalar_output(out: Any, what: str) -> Tracer:
    if isinstance(out, (float, int)) and not isinstance(out, bool):
        return lift(float(out))
    if not isinstance(out, Tracer) or out.shape != () or out.dtype.kind != "f":
        desc = f"{out.dtype}{list(out.shape)}" if isinstance(out, Tracer) else type(out).__name__
        raise TypeError(f"{what} requires a real scalar output (a float or a 0-d float "
                        f"array), got {desc}; use tracejit.jacobian or tracejit.vjp for "
                        "non-scalar outputs")
    return out


def root_result(lin: Linearized, cts: list[Any]) -> list[Tracer]:
    """Cotangents as tracers shaped like the roots (zeros where nothing flowed), each of
    the kind its argument leaf had (array, NumPy scalar, Python float)."""
    out = []
    for leaf, ct in zip(lin.root_leaves, cts, strict=True):
        if ct is None:
            ct = zeros(Aval(leaf.shape, leaf.dtype))
        out.append(fresh(lin.ctx, ct.sym, leaf.kind))
    return out


def regroup(leaves: list[Any], treedefs: list[Any], single: bool) -> Any:
    groups, k = [], 0
    for treedef in treedefs:
        count = len(tree.leaf_paths(treedef))
        groups.append(tree.unflatten(treedef, leaves[k:k + count]))
        k += count
    return groups[0] if single else tuple(groups)


def jitted(fun: Callable, wrapper: Callable, name: str) -> Jitted:
    """`wrapper` compiled with `fun`'s signature and (if `fun` is jitted) its options."""
    functools.update_wrapper(wrapper, fun.fn if isinstance(fun, Jitted) else fun)
    wrapper.__name__ = wrapper.__qualname__ = f"{name}_{getattr(fun, '__name__', 'f')}"
    if isinstance(fun, Jitted):
        return Jitted(wrapper, fun.backend, static_argnames=tuple(fun.static))
    return Jitted(wrapper)


def normalize_argnums(argnums: int | Sequence[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, (int, np.integer)):
        return (int(argnums),), True
    argnums = tuple(int(a) for a in argnums)
    if not argnums:
        raise ValueError("argnums must name at least one argument")
    return argnums, False


def check_argnums(fun: Callable, argnums: tuple[int, ...], nargs: int) -> None:
    bad = [a for a in argnums if not -nargs <= a < nargs]
    if bad:
        raise TypeError(f"{getattr(fun, '__name__', 'f')}: argnums {bad} out of range for "
                        f"{nargs} positional arguments")


# --- the public transforms ----------------------------------------------------------------


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Jitted:
    """`fun`'s value and its gradient with respect to the arguments at `argnums`.

        >>> loss_and_grads = tracejit.value_and_grad(loss, argnums=(0, 1))
        >>> value, (g_w, g_b) = loss_and_grads(w, b, x, y)

    `fun` returns a real scalar (or `(scalar, aux)` with `has_aux=True`: then the value
    is `(scalar, aux)`). An int `argnums` gives one gradient, a tuple a tuple of them;
    each gradient has its argument's structure, shapes and dtypes.
    """
    nums, single = normalize_argnums(argnums)

    def wrapper(*args, **kwargs):
        check_argnums(fun, nums, len(args))
        lin, treedefs = linearize(fun, args, kwargs, nums, "grad")
        out, aux = lin.out if has_aux else (lin.out, None)
        value = scalar_output(out, "grad")
        seed = full(Aval((), value.dtype), 1.0)
        cts = transform.backward(lin.ctx, lin.eqns(), lin.roots, [value.sym], [seed])
        grads = regroup(root_result(lin, cts), treedefs, single)
        return ((value, aux) if has_aux else value), grads

    return jitted(fun, wrapper, "value_and_grad")


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Jitted:
    """The gradient of a scalar function, compiled: `grad(f)(x)` has `x`'s shape.

        >>> g = tracejit.grad(loss, argnums=(0, 1, 2, 3))   # a tuple of four gradients
        >>> d2 = tracejit.grad(tracejit.grad(np.sin))        # -sin

    With `has_aux=True`, `fun` returns `(value, aux)` and `grad` returns `(grads, aux)`.
    """
    both = value_and_grad(fun, argnums, has_aux)

    def wrapper(*args, **kwargs):
        value, grads = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return jitted(fun, wrapper, "grad")


_VJP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """`(fun(*primals), vjp_fn)`: `vjp_fn(ct)` returns one cotangent per primal.

    `ct` has the structure, shapes and dtypes of `fun`'s output. `vjp_fn` is compiled;
    it recomputes the forward pass inside its graph rather than keeping residuals, from
    copies of the primals taken before `fun` ran (so it differentiates at the values the
    output came from, and does not repeat `fun`'s writes to its arguments).
    """
    forward, backward = vjp_functions(fun, has_aux)
    leaves, treedef = tree.flatten(primals)
    saved = tree.unflatten(treedef, [np.array(x, copy=True) if isinstance(x, np.ndarray)
                                     else x for x in leaves])
    result = forward(*primals)

    def vjp_fn(ct: Any) -> tuple:
        return backward(saved, ct)

    return (result[0], vjp_fn, result[1]) if has_aux else (result, vjp_fn)


def vjp_functions(fun: Callable, has_aux: bool) -> tuple[Jitted, Jitted]:
    key = (has_aux,)
    cache = _VJP_CACHE.setdefault(fun, {}) if is_weakrefable(fun) else {}
    if key in cache:
        return cache[key]

    def pullback(primals, ct):
        leaves, treedef = tree.flatten(primals)
        # the function writes into private copies: vjp_fn does not repeat its writes
        primals = tree.unflatten(treedef, [x.copy() if isinstance(x, Tracer) and x.ndim
                                           else x for x in leaves])
        lin, treedefs = linearize(fun, primals, {}, range(len(primals)), "vjp")
        out = lin.out[0] if has_aux else lin.out
        outs, out_tree = tree.flatten(out)
        cts, ct_tree = tree.flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"vjp: the cotangent's structure {ct_tree} does not match the "
                            f"output's {out_tree}")
        seeds, targets = [], []
        for o, c in zip(outs, cts, strict=True):
            o, c = lift(o), lift(c)
            if c.shape != o.shape:
                raise ValueError(f"vjp: cotangent of shape {c.shape} for an output of shape "
                                 f"{o.shape}")
            targets.append(o.sym)
            seeds.append(c)
        grads = transform.backward(lin.ctx, lin.eqns(), lin.roots, targets, seeds)
        return tuple(regroup(root_result(lin, grads), treedefs, False))

    forward = fun if isinstance(fun, Jitted) else Jitted(fun)
    backward = Jitted(rename(pullback, f"vjp_{getattr(fun, '__name__', 'f')}"))
    cache[key] = (forward, backward)
    return forward, backward


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """`(fun(*primals), J·tangents)`: forward mode. `tangents` matches `primals`."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    return jvp_function(fun)(primals, tangents)


_JVP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def jvp_function(fun: Callable) -> Jitted:
    if is_weakrefable(fun) and fun in _JVP_CACHE:
        return _JVP_CACHE[fun]

    def pushforward(primals, tangents):
        lin, _ = linearize(fun, primals, {}, range(len(primals)), "jvp")
        t_leaves, t_tree = tree.flatten(tangents)
        if len(t_leaves) != len(lin.roots):
            raise TypeError("jvp: tangents must have the primals' structure")
        seeds = []
        for leaf, t in zip(lin.root_leaves, t_leaves, strict=True):
            t = lift(t)
            if t.shape != leaf.shape:
                raise ValueError(f"jvp: tangent of shape {t.shape} for a primal of shape "
                                 f"{leaf.shape}")
            if t.dtype != leaf.dtype and not t.weak:
                raise TypeError(f"jvp: a {t.dtype} tangent for a {leaf.dtype} primal; "
                                "tangents must have their primals' dtypes (as in JAX)")
            seeds.append(t)
        tan = transform.forward(lin.ctx, lin.eqns(), lin.roots, seeds)
        outs, out_tree = tree.flatten(lin.out)
        t_out = []
        for o in outs:
            o = lift(o)
            t = tan.get(o.sym)
            t_out.append(fresh(lin.ctx, (t if t is not None else zeros(
                Aval(o.shape, o.dtype))).sym, o.kind))
        return lin.out, tree.unflatten(out_tree, t_out)

    result = Jitted(rename(pushforward, f"jvp_{getattr(fun, '__name__', 'f')}"))
    if is_weakrefable(fun):
        _JVP_CACHE[fun] = result
    return result


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Jitted:
    """The Jacobian by reverse mode: for an output leaf of shape `S` and an argument leaf
    of shape `A`, an array of shape `S + A`. Structure as JAX's `jacrev`: the output's
    structure, holding (per argnums) the arguments' structure.

    One backward pass per output element is recorded into the graph (they share the
    forward pass), so the graph grows with the output's size.
    """
    nums, single = normalize_argnums(argnums)

    def wrapper(*args, **kwargs):
        check_argnums(fun, nums, len(args))
        lin, treedefs = linearize(fun, args, kwargs, nums, "jacobian")
        out, aux = lin.out if has_aux else (lin.out, None)
        outs, out_tree = tree.flatten(out)
        rows = [jacobian_rows(lin, lift(o)) for o in outs]
        blocks = [regroup(r, treedefs, single) for r in rows]
        jac = tree.unflatten(out_tree, blocks)
        return (jac, aux) if has_aux else jac

    return jitted(fun, wrapper, "jacobian")


def jacobian_rows(lin: Linearized, out: Tracer) -> list[Tracer]:
    """d out / d root for every root, each of shape out.shape + root.shape."""
    if out.dtype.kind != "f":
        raise TypeError(f"jacobian requires real floating-point outputs, got {out.dtype}")
    m = out.size
    per_root: list[list[Tracer]] = [[] for _ in lin.roots]
    eye = np.eye(m, dtype=out.dtype)
    for k in range(m):
        seed = constant(eye[k].reshape(out.shape))
        cts = transform.backward(lin.ctx, lin.eqns(), lin.roots, [out.sym], [seed])
        for slot, leaf, ct in zip(per_root, lin.root_leaves, cts, strict=True):
            slot.append(ct if ct is not None else zeros(Aval(leaf.shape, leaf.dtype)))
    result = []
    for slot, leaf in zip(per_root, lin.root_leaves, strict=True):
        rows = [reshape(ct, (1,) + leaf.shape) for ct in slot]
        stacked = rows[0] if m == 1 else bind("concatenate", rows, {"axis": 0})
        result.append(fresh(lin.ctx, reshape(stacked, out.shape + leaf.shape).sym,
                            "array" if out.shape + leaf.shape else leaf.kind))
    return result


def hessian(fun: Callable, argnums: int | Sequence[int] = 0) -> Jitted:
    """The Hessian of a scalar function: `jacobian(grad(fun, argnums), argnums)`."""
    return jacobian(grad(fun, argnums), argnums)


def is_weakrefable(fun: Any) -> bool:
    try:
        weakref.ref(fun)
    except TypeError:
        return False
    return True


def rename(fn: Callable, name: str) -> Callable:
    fn.__name__ = fn.__qualname__ = name
    return fn
