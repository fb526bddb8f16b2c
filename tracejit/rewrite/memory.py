"""Memory planning: which fused loops write their results into a dead buffer.

Theano's in-place rewrites, on the fusion plan: a loop that stores `v` may write it into
the buffer of a value `u` it reads, instead of a new array, when

* `u` has `v`'s shape and dtype, and the loop reads it only at the index it stores `v`
  at (each iteration reads `u[i]` before it writes `v[i]`, and never reads another
  element of `u`: no shifted or transposed reads);
* nothing reads `u` (or a view of it) after this loop, and `u` is no graph output;
* the buffer is the function's to overwrite (the backend says: an array it allocated,
  or an input the caller donated).

`h = np.tanh(x @ w + b)` then writes `h` into the product's buffer: one allocation,
not two.

An output that the caller writes back into a donated input (`out[...] = expr`, `x *= 2`
with `x` an argument) is stored straight into that input's buffer, its *home*, under
the same conditions but for the home being a graph input the loop need not read: the
write-back then finds the value already there and copies nothing. The plan is
backend-neutral; the backend allocates accordingly.
"""

from __future__ import annotations

import math
from typing import Callable

from tracejit.graph.ir import Var
from tracejit.rewrite.fusion import VIEW_OPS, Call, Loop, Plan, Read, identity_map


def plan_memory(plan: Plan, owned: Callable[[Var], bool],
                homes: dict[Var, Var] | None = None) -> dict[Var, Var]:
    """For each stored value that takes over a dead buffer, that buffer's first value:
    `{v: u}` means "write `v` into `u`'s array". `homes`: outputs and the donated
    inputs they are written back into."""
    buffer: dict[Var, Var] = {}  # value -> the first value of the buffer it lives in

    def buffer_of(v: Var) -> Var:
        while v in buffer:
            v = buffer[v]
        return v

    last: dict[Var, float] = {}
    for k, kernel in enumerate(plan.kernels):
        for v in reads(kernel):
            last[buffer_of(v)] = k
        if isinstance(kernel, Call) and kernel.eqn.op in VIEW_OPS:
            for out in kernel.eqn.outputs:  # a view keeps its base alive
                buffer[out] = buffer_of(kernel.eqn.inputs[0])
    for v in plan.graph.outputs:
        last[buffer_of(v)] = math.inf
    viewed = {buffer_of(out) for kernel in plan.kernels if isinstance(kernel, Call)
              and kernel.eqn.op in VIEW_OPS for out in kernel.eqn.outputs}

    reuse: dict[Var, Var] = {}
    for k, kernel in enumerate(plan.kernels):
        if not isinstance(kernel, Loop) or kernel.kind != "map":
            continue
        taken: set[Var] = set()
        for v in kernel.stores:
            u = home_buffer(kernel, v, k, (homes or {}).get(v), last, buffer_of, viewed,
                            taken) or dead_buffer(kernel, v, k, last, buffer_of, owned, taken)
            if u is None:
                continue
            base = buffer_of(u)
            reuse[v] = u
            taken.add(base)
            buffer[v] = base
            last[base] = max(last.get(base, k), last.pop(v, k))
    return reuse


def reads(kernel: Loop | Call) -> list[Var]:
    if isinstance(kernel, Call):
        return list(kernel.eqn.inputs)
    found = [step.var for step in kernel.body if isinstance(step, Read)]
    if kernel.scatter is not None:
        found.append(kernel.scatter.inputs[0])
    return found


def dead_buffer(loop: Loop, v: Var, k: int, last: dict[Var, float],
                buffer_of: Callable[[Var], Var], owned: Callable[[Var], bool],
                taken: set[Var]) -> Var | None:
    """A value `loop` (kernel `k`) reads whose buffer `v` may take, or None."""
    if not v.ndim or v.shape != loop.shape:
        return None
    here = identity_map(v.ndim)
    for step in loop.body:
        if not isinstance(step, Read):
            continue
        u = step.var
        base = buffer_of(u)
        if (u.shape != v.shape or u.dtype != v.dtype or base in taken
                or last.get(base) != k or not owned(base)):
            continue
        if all(s.index == here for s in loop.body if isinstance(s, Read) and s.var is u):
            return u
    return None


def home_buffer(loop: Loop, v: Var, k: int, home: Var | None, last: dict[Var, float],
                buffer_of: Callable[[Var], Var], viewed: set[Var],
                taken: set[Var]) -> Var | None:
    """`home`, the donated input `v` is written back into, when `loop` (kernel `k`) may
    store `v` straight into it: same shape and dtype, no view of it anywhere, nothing
    reading it after this loop, and this loop reading its buffer only where it stores."""
    if home is None or not v.ndim or v.shape != loop.shape or home.shape != v.shape \
            or home.dtype != v.dtype:
        return None
    # a graph input is the first value of its own buffer
    if home in taken or home in viewed or last.get(home, k) > k:
        return None
    here = identity_map(v.ndim)
    if all(s.index == here for s in loop.body
           if isinstance(s, Read) and buffer_of(s.var) is home):
        return home
    return None
