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
# a multiple of 8 and adds the two halves' sums. Generated code walks that tree with an
# explicit stack (frames of lo, length, state in `stack`, left sums in `lefts`): it asks
# for the first leaf, computes the leaf's values into a buffer (one vectorizable loop over
# the fused body), sums it, and asks for the next leaf until none is left. The result is
# NumPy's to the bit, and the loops vectorize where a single accumulator cannot.

PAIRWISE_BLOCK = 128
#: frames a pairwise walk can need (log2 of any array length, plus slack)
PAIRWISE_DEPTH = 64


@numba.njit
def pairwise_half(n):
    h = n // 2
    return h - h % 8


@numba.njit
def pairwise_descend(stack, sp):
    """Split the frame on top until it is a leaf: (sp, lo, length) of that leaf."""
    while stack[sp - 1, 1] > PAIRWISE_BLOCK:
        lo, n = stack[sp - 1, 0], stack[sp - 1, 1]
        stack[sp - 1, 2] = 1  # waiting for its left half
        stack[sp, 0], stack[sp, 1], stack[sp, 2] = lo, pairwise_half(n), 0
        sp += 1
    return sp, stack[sp - 1, 0], stack[sp - 1, 1]


@numba.njit
def pairwise_scratch(dtype):
    """A walk's leaf buffer, stack and left sums."""
    return (np.empty(PAIRWISE_BLOCK, dtype), np.empty((PAIRWISE_DEPTH, 3), np.int64),
            np.empty(PAIRWISE_DEPTH, dtype))


@numba.njit
def pairwise_first(stack, lo, n):
    """Start summing the n elements from lo: (sp, lo, length) of the first leaf."""
    stack[0, 0], stack[0, 1], stack[0, 2] = lo, n, 0
    return pairwise_descend(stack, 1)


@numba.njit
def pairwise_next(stack, lefts, sp, total):
    """The leaf on top summed to `total`: add up finished halves and find the next leaf.
    (sp, lo, length, total); sp == 0 when the walk is done and `total` is the sum."""
    sp -= 1
    while sp > 0:
        top = sp - 1
        if stack[top, 2] == 1:  # its left half is done: keep that sum, go right
            lefts[top] = total
            stack[top, 2] = 2
            lo, n = stack[top, 0], stack[top, 1]
            h = pairwise_half(n)
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = lo + h, n - h, 0
            sp, lo, m = pairwise_descend(stack, sp + 1)
            return sp, lo, m, total
        total = lefts[top] + total  # both halves done
        sp -= 1
    return 0, 0, 0, total


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
