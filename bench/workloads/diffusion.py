"""2-D diffusion: 100 forward-Euler steps of the 5-point Laplacian, written as NumPy users
write it, an in-place update of the interior slice (each step reads the old grid whole,
as NumPy evaluates the right-hand side before writing)."""

from __future__ import annotations

import numpy as np
from numba import prange

from bench import peers
from bench.peers import Impl
from bench.workload import Workload, jax_jitted, jitted, njitted, pytensor_compiled

STEPS = 100
ALPHA = 0.2  # stable for forward Euler (<= 0.25)

#: below this many grid points a parallel region per step costs more than the step
SERIAL_BELOW = 256 * 256


def diffusion(u, alpha):
    for _ in range(STEPS):
        u[1:-1, 1:-1] += alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
                                  - 4 * u[1:-1, 1:-1])
    return u


def diffusion_loops(u, alpha):
    """What an expert writes: two grids swapped each step, one pass over the interior."""
    rows, cols = u.shape
    src, dst = u, u.copy()  # the copy carries the fixed boundary
    for _ in range(STEPS):
        for i in prange(1, rows - 1):
            for j in range(1, cols - 1):
                lap = src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1] - 4 * src[i, j]
                dst[i, j] = src[i, j] + alpha * lap
        src, dst = dst, src
    if STEPS % 2:
        u[:, :] = src
    return u


def diffusion_hand(args: tuple) -> Impl:
    """Serial loops on small grids, `prange` over rows on large ones."""
    if args[0].size < SERIAL_BELOW:
        return Impl(peers.njit(diffusion_loops, fastmath=False))
    return peers.prange_impl(diffusion_loops)


def diffusion_jax(jnp, u, alpha):
    from jax import lax

    def step(_, u):
        lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4 * u[1:-1, 1:-1]
        return u.at[1:-1, 1:-1].add(alpha * lap)

    return lax.fori_loop(0, STEPS, step, u)


def diffusion_pytensor(pt, u, alpha):
    import pytensor

    def step(u):
        lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4 * u[1:-1, 1:-1]
        return pt.inc_subtensor(u[1:-1, 1:-1], alpha * lap)

    states = pytensor.scan(step, outputs_info=u, n_steps=STEPS, return_updates=False)
    return states[-1]


def grid(n: int) -> tuple:
    """A random interior inside a fixed boundary of ones."""
    u = np.ones((n, n))
    u[1:-1, 1:-1] = np.random.default_rng(2).random((n - 2, n - 2))
    return u, ALPHA


DIFFUSION = Workload(
    name="diffusion",
    numpy=diffusion,
    inputs=grid,
    sizes=(128, 1024),
    quick_sizes=(128,),
    tracejit=jitted(diffusion),
    peers={
        "numba": njitted(diffusion),
        "prange": diffusion_hand,
        "jax": jax_jitted(diffusion_jax),
        "pytensor": pytensor_compiled(diffusion_pytensor),
    },
    mutates=(0,),
    size_label=lambda n: f"{n}², {STEPS} steps",
)
