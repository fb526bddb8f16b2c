"""Helpers the generated modules import. Compiled into each module's code, so their
source is part of every module's cache key (see `cache.fingerprint`)."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload


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
