"""Helpers the generated modules import. Compiled into each module's code, so their
source is part of every module's cache key (see `cache.fingerprint`)."""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload


def scalar_of(x):
    """A 0-d argument as a scalar: NumPy scalars pass through, 0-d arrays are read."""
    return x[()] if isinstance(x, np.ndarray) else x


@overload(scalar_of)
def scalar_of_overload(x):
    if isinstance(x, types.Array):
        return lambda x: x[()]
    return lambda x: x


def copy_into(dst, src):
    """dst[...] = src for arrays of one shape (or a scalar src), as plain loops.

    Numba's own array assignment compiles a shape-mismatch message into every caller,
    and the string code behind it takes seconds to compile once per process; the shapes
    here are equal by construction (the graph's types), so no check is needed."""
    dst[...] = src


@overload(copy_into)
def copy_into_overload(dst, src):
    if not isinstance(dst, types.Array):
        return None
    n = dst.ndim
    if n == 0:
        read = "src[()]" if isinstance(src, types.Array) else "src"
        return _compile_copy(f"def impl(dst, src):\n    dst[()] = {read}\n")
    index = ", ".join(f"i{k}" for k in range(n))
    lines = ["def impl(dst, src):"]
    for k in range(n):
        lines.append(f"{'    ' * (k + 1)}for i{k} in range(dst.shape[{k}]):")
    read = f"src[{index}]" if isinstance(src, types.Array) else "src"
    lines.append(f"{'    ' * (n + 1)}dst[{index}] = {read}")
    return _compile_copy("\n".join(lines) + "\n")


def _compile_copy(source: str):
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - loops over an ndim known at typing time
    return namespace["impl"]


# --- pairwise summation, in NumPy's order -----------------------------------------------
#
# NumPy sums a contiguous run of floats pairwise: a run of at most PAIRWISE_BLOCK elements
# is a leaf, summed by `block_sum`; a longer one splits at half its length rounded down to
# a multiple of 8 and adds the two halves' sums. `pairwise_plan(n)` writes that tree for a
# length n once, in post-order: a leaf's length (>= 0), or COMBINE (add the two sums on
# top of the stack). Generated code replays the plan for each row: a leaf's values are
# computed into a buffer by one vectorizable loop over the fused body and summed, a COMBINE
# adds. The result is NumPy's to the bit, and the loops vectorize where a single running
# accumulator cannot. The replay is written inline, with no call per leaf but `block_sum`
# (a walk through helper calls cost 30% on a 10M-element sum; inlining those helpers
# quadrupled the compile time of every row sum).

PAIRWISE_BLOCK = 128
#: frames and pending sums a pairwise walk can need (log2 of any array length, plus slack)
PAIRWISE_DEPTH = 64
COMBINE = -1


@numba.njit
def pairwise_half(n):
    h = n // 2
    return h - h % 8


@numba.njit
def pairwise_plan(n):
    """NumPy's pairwise tree over n elements, in post-order (see above)."""
    leaves = 1
    m = n
    while m > PAIRWISE_BLOCK:  # right halves are the longer: the rightmost path is deepest
        m -= pairwise_half(m)
        leaves *= 2
    plan = np.empty(2 * leaves + 1, dtype=np.int64)
    size = 0
    lengths = np.empty(PAIRWISE_DEPTH, dtype=np.int64)
    states = np.empty(PAIRWISE_DEPTH, dtype=np.int64)
    lengths[0], states[0], sp = n, 0, 1
    while sp > 0:
        top = sp - 1
        length = lengths[top]
        if length <= PAIRWISE_BLOCK:
            plan[size] = length
            size += 1
            sp -= 1
        elif states[top] == 0:  # go left
            states[top] = 1
            lengths[sp], states[sp] = pairwise_half(length), 0
            sp += 1
        elif states[top] == 1:  # go right
            states[top] = 2
            lengths[sp], states[sp] = length - pairwise_half(length), 0
            sp += 1
        else:  # both halves summed
            plan[size] = COMBINE
            size += 1
            sp -= 1
    return plan[:size]


@numba.njit
def pairwise_scratch(dtype):
    """A replay's leaf buffer and stack of pending sums."""
    return np.empty(PAIRWISE_BLOCK, dtype), np.empty(PAIRWISE_DEPTH, dtype)


@numba.njit
def block_sum(buf, n):
    """NumPy's sum of a leaf of n <= PAIRWISE_BLOCK values: eight accumulators."""
    res = buf.dtype.type(0)
    if n < 8:
        for i in range(n):
            res += buf[i]
        return res
    r0, r1, r2, r3 = buf[0], buf[1], buf[2], buf[3]
    r4, r5, r6, r7 = buf[4], buf[5], buf[6], buf[7]
    whole = n - n % 8
    for i in range(8, whole, 8):
        r0 += buf[i]
        r1 += buf[i + 1]
        r2 += buf[i + 2]
        r3 += buf[i + 3]
        r4 += buf[i + 4]
        r5 += buf[i + 5]
        r6 += buf[i + 6]
        r7 += buf[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(whole, n):
        res += buf[i]
    return res


@numba.njit
def pairwise_nodes(n, depth):
    """The nodes of NumPy's pairwise tree over n elements `depth` levels down, as rows
    (lo, length), for summing them in parallel; fewer levels (down to one node, the
    whole run) where a node would be a leaf before that."""
    while depth > 0 and n < (PAIRWISE_BLOCK + 8) << depth:
        depth -= 1
    nodes = np.empty((1 << depth, 2), dtype=np.int64)
    nodes[0, 0], nodes[0, 1] = 0, n
    count = 1
    for _ in range(depth):  # split every node, keeping the order
        for k in range(count - 1, -1, -1):
            lo, m = nodes[k, 0], nodes[k, 1]
            h = pairwise_half(m)
            nodes[2 * k, 0], nodes[2 * k, 1] = lo, h
            nodes[2 * k + 1, 0], nodes[2 * k + 1, 1] = lo + h, m - h
        count *= 2
    return nodes


@numba.njit
def pairwise_combine(sums):
    """Add the sums of a level of tree nodes up the tree, as NumPy's recursion does."""
    count = sums.shape[0]
    while count > 1:
        count //= 2
        for k in range(count):
            sums[k] = sums[2 * k] + sums[2 * k + 1]
    return sums[0]


@intrinsic
def nonneg(typingctx, x):
    """x, telling LLVM it is not negative. A leaf's index `lo + j` then needs no
    negative-index wraparound, and the leaf's loop vectorizes (with an unknown `lo`,
    Numba's wraparound select on every read kept it scalar: 6x slower)."""
    def codegen(context, builder, signature, args):
        (value,) = args
        is_nonneg = builder.icmp_signed(">=", value, ir.Constant(value.type, 0))
        builder.call(builder.module.declare_intrinsic("llvm.assume"), [is_nonneg])
        return value

    return x(x), codegen


def float_intrinsic(name: str, doc: str):
    """A two-argument LLVM float intrinsic (`llvm.maximum`, ...) as a Numba function."""

    @intrinsic
    def op(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None

        def codegen(context, builder, signature, args):
            t = args[0].type
            fn = builder.module.declare_intrinsic(name, [t], ir.FunctionType(t, [t, t]))
            return builder.call(fn, args)

        return a(a, b), codegen

    op.__doc__ = doc
    return op


# Reductions fold with these: LLVM vectorizes a loop folding with them (no fast-math
# needed), where the NaN-aware selects NumPy's semantics take otherwise kept it scalar
# (`x.max(axis=1)` at 1000 x 1000: 0.86 ms against NumPy's 0.19; with `fmaximum`, 0.19).
fmaximum = float_intrinsic("llvm.maximum", "np.maximum of two floats: NaN propagates, "
                           "and +0 is above -0 (IEEE 754-2019 maximum).")
fminimum = float_intrinsic("llvm.minimum", "np.minimum of two floats: NaN propagates, "
                           "and -0 is below +0 (IEEE 754-2019 minimum).")
fmaxnum = float_intrinsic("llvm.maxnum", "np.fmax of two floats: a NaN gives the other.")
fminnum = float_intrinsic("llvm.minnum", "np.fmin of two floats: a NaN gives the other.")
