"""Derivatives of shape, indexing and creation ops: all linear (or constant), so each
VJP is the transpose of the op and each JVP is the op applied to the tangent."""

from __future__ import annotations

import numpy as np

from tracejit.autodiff.build import (
    full,
    reshape,
    set_slice,
    slice_,
    sum_to,
    transpose,
    zeros_like,
)
from tracejit.autodiff.rules import defvjp, linear_jvp, nondiff
from tracejit.graph.ir import Aval
from tracejit.trace.tracer import bind, constant

# --- shapes --------------------------------------------------------------------------------


def concatenate_vjp(ct, ans, *xs, axis):
    cts, start = [], 0
    for x in xs:
        stop = start + x.shape[axis]
        cts.append(slice_(ct, tuple((start, stop, 1) if i == axis else (0, n, 1)
                                    for i, n in enumerate(ct.shape))))
        start = stop
    return cts


defvjp("reshape", lambda ct, ans, x, shape: [reshape(ct, x.shape)],
       linear_jvp("reshape", 0))
defvjp("transpose", lambda ct, ans, x, axes: [
    transpose(ct, tuple(int(i) for i in np.argsort(axes)))], linear_jvp("transpose", 0))
defvjp("broadcast_to", lambda ct, ans, x, shape: [sum_to(ct, x.shape)],
       linear_jvp("broadcast_to", 0))


def concatenate_jvp(ts, ans, *xs, axis):
    parts = [t if t is not None else zeros_like(x) for t, x in zip(ts, xs, strict=True)]
    return bind("concatenate", parts, {"axis": axis})


defvjp("concatenate", concatenate_vjp, concatenate_jvp)

# --- indexing ------------------------------------------------------------------------------


def slice_vjp(ct, ans, x, *, triples):
    return [set_slice(zeros_like(x), ct, triples)]


def set_slice_vjp(ct, ans, x, update, *, triples):
    return [set_slice(ct, zeros_like(update), triples), slice_(ct, triples)]


def gather_vjp(ct, ans, x, *indices, spec):
    return [bind("scatter_add", [zeros_like(x), ct, *indices], {"spec": spec})] + \
        [None] * len(indices)


def scatter_vjp(ct, ans, x, update, *indices, spec):
    """x[idx] = u: the overwritten part of x gets no cotangent; u gets ct[idx], except
    where a repeated index means a later element of u overwrote this one (NumPy's
    assignment keeps the last)."""
    params = {"spec": spec}
    positions = constant(np.arange(update.size, dtype=np.intp).reshape(update.shape))
    slots = bind("scatter", [full(Aval(x.shape, np.intp), -1), positions, *indices], params)
    kept = bind("gather", [slots, *indices], params) == positions
    picked = bind("gather", [ct, *indices], params)
    x_ct = bind("scatter", [ct, zeros_like(update), *indices], params)
    return [x_ct, np.where(kept, picked, zeros_like(picked))] + [None] * len(indices)


def scatter_add_vjp(ct, ans, x, update, *indices, spec):
    return [ct, bind("gather", [ct, *indices], {"spec": spec})] + [None] * len(indices)


defvjp("slice", slice_vjp, linear_jvp("slice", 0))
defvjp("set_slice", set_slice_vjp, linear_jvp("set_slice", 0, 1))
defvjp("gather", gather_vjp, linear_jvp("gather", 0))
defvjp("scatter", scatter_vjp, linear_jvp("scatter", 0, 1))
defvjp("scatter_add", scatter_add_vjp, linear_jvp("scatter_add", 0, 1))

# --- creation: no array inputs, nothing to differentiate -----------------------------------
nondiff("constant", "full", "arange", "linspace", "eye")
