"""What a workload is: the NumPy code, its inputs, and one factory per column.

A factory takes the example inputs and returns a `peers.Impl`; the harness calls it
lazily, so a peer's package is imported only when its column runs. A workload with no
factory for a peer leaves that column blank ("—", not applicable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from bench import peers
from bench.peers import Impl

Factory = Callable[[tuple], Impl]


def short(n: int) -> str:
    """10000 -> '10k', 10000000 -> '10M'."""
    for suffix, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


def element_count(n: int) -> str:
    return f"N={short(n)}"


@dataclass(frozen=True)
class Workload:
    name: str
    #: what the NumPy column runs (plain NumPy, or hand-written backprop); the reference
    numpy: Callable[..., Any]
    #: size -> the arguments (deterministic)
    inputs: Callable[[int], tuple]
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    tracejit: Factory
    peers: dict[str, Factory] = field(default_factory=dict)
    #: relative tolerance of the agreement check (atol is rtol times the largest |value|)
    rtol: float = 1e-7
    #: arguments the call writes into: each implementation gets its own copy
    mutates: tuple[int, ...] = ()
    #: the result is this argument after the call (`out=`-style workloads)
    output_arg: int | None = None
    #: size -> bytes read plus written by one call, for memory-bound rows (GB/s)
    bytes_moved: Callable[[int], int] | None = None
    #: calls BLAS: pause after each timed block so OpenBLAS's spinning threads settle
    blas: bool = False
    size_label: Callable[[int], str] = element_count

    def result(self, returned: Any, args: tuple) -> Any:
        return returned if self.output_arg is None else args[self.output_arg]

    def fresh_args(self, args: tuple) -> tuple:
        """The arguments with the written ones copied, so each caller has its own."""
        return tuple(np.copy(a) if i in self.mutates else a for i, a in enumerate(args))


def jitted(fn: Callable) -> Factory:
    """The tracejit column: `tracejit.jit(fn)` with the default backend."""
    return lambda args: peers.tracejit_impl(fn)


def jitted_grad(fn: Callable, argnums: tuple[int, ...]) -> Factory:
    """The tracejit column of a gradient workload: `tracejit.jit(tracejit.grad(fn))`."""
    return lambda args: peers.tracejit_grad_impl(fn, argnums)


def njitted(fn: Callable) -> Factory:
    """The Numba column: `numba.njit` on the same plain NumPy code."""
    return lambda args: peers.numba_impl(fn)


def hand_prange(fn: Callable) -> Factory:
    """The hand-written Numba `prange` column."""
    return lambda args: peers.prange_impl(fn)


def jax_jitted(fn_xp: Callable, grad_argnums: tuple[int, ...] | None = None) -> Factory:
    return lambda args: peers.jax_impl(fn_xp, grad_argnums)


def pytensor_compiled(fn_xp: Callable, grad_argnums: tuple[int, ...] | None = None) -> Factory:
    return lambda args: peers.pytensor_impl(fn_xp, args, grad_argnums)


def numexpr_evaluated(expr: str, names: str, out_arg: int | None = None) -> Factory:
    return lambda args: peers.numexpr_impl(expr, names, out_arg)
