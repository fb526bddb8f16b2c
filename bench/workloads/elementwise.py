"""Elementwise workloads: haversine (transcendentals), a memory-bound chain (allocating,
and into a preallocated output), the Rosenbrock sum (a fused reduction), and dispatch
overhead (`x + y` on 3 elements)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from bench import peers
from bench.peers import Impl
from bench.workload import (
    Workload,
    hand_prange,
    jax_jitted,
    jitted,
    njitted,
    numexpr_evaluated,
    pytensor_compiled,
)

EARTH_RADIUS_KM = 6371.0


def uniform_inputs(count: int, low: float, high: float, seed: int = 0):
    def inputs(n: int) -> tuple:
        rng = np.random.default_rng(seed)
        return tuple(rng.uniform(low, high, n) for _ in range(count))

    return inputs


# --- haversine -------------------------------------------------------------------------


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in radians."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def haversine_xp(xp, lat1, lon1, lat2, lon2):
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = xp.sin(dlat / 2) ** 2 + xp.cos(lat1) * xp.cos(lat2) * xp.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * xp.arcsin(xp.sqrt(a))


def haversine_prange(lat1, lon1, lat2, lon2):
    out = np.empty_like(lat1)
    for i in prange(lat1.shape[0]):
        s_lat = math.sin((lat2[i] - lat1[i]) / 2)
        s_lon = math.sin((lon2[i] - lon1[i]) / 2)
        a = s_lat * s_lat + math.cos(lat1[i]) * math.cos(lat2[i]) * s_lon * s_lon
        out[i] = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
    return out


HAVERSINE_NUMEXPR = ("2 * 6371.0 * arcsin(sqrt(sin((lat2 - lat1) / 2) ** 2"
                     " + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2))")

HAVERSINE = Workload(
    name="haversine",
    numpy=haversine,
    inputs=uniform_inputs(4, -1.5, 1.5),
    sizes=(10_000, 10_000_000),
    quick_sizes=(10_000,),
    tracejit=jitted(haversine),
    peers={
        "numexpr": numexpr_evaluated(HAVERSINE_NUMEXPR, "lat1 lon1 lat2 lon2"),
        "numba": njitted(haversine),
        "prange": hand_prange(haversine_prange),
        "jax": jax_jitted(haversine_xp),
        "pytensor": pytensor_compiled(haversine_xp),
    },
)


# --- memory-bound chain ----------------------------------------------------------------


def chain(a, b, c, d):
    return 0.5 * (a + b) * (c - d) + a * d - 3


def chain_out(a, b, c, d, out):
    out[...] = 0.5 * (a + b) * (c - d) + a * d - 3


def chain_xp(xp, a, b, c, d):
    return 0.5 * (a + b) * (c - d) + a * d - 3


def chain_into(a, b, c, d, out):
    for i in prange(a.shape[0]):
        out[i] = 0.5 * (a[i] + b[i]) * (c[i] - d[i]) + a[i] * d[i] - 3


def chain_prange(a, b, c, d):
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        out[i] = 0.5 * (a[i] + b[i]) * (c[i] - d[i]) + a[i] * d[i] - 3
    return out


def chain_out_inputs(n: int) -> tuple:
    return (*uniform_inputs(4, -1.0, 1.0)(n), np.zeros(n))


CHAIN_NUMEXPR = "0.5 * (a + b) * (c - d) + a * d - 3"

CHAIN = Workload(
    name="chain",
    numpy=chain,
    inputs=uniform_inputs(4, -1.0, 1.0),
    sizes=(10_000_000,),
    quick_sizes=(1_000_000,),
    tracejit=jitted(chain),
    peers={
        "numexpr": numexpr_evaluated(CHAIN_NUMEXPR, "a b c d"),
        "numba": njitted(chain),
        "prange": hand_prange(chain_prange),
        "jax": jax_jitted(chain_xp),
        "pytensor": pytensor_compiled(chain_xp),
    },
    bytes_moved=lambda n: 5 * 8 * n,
)

# JAX arrays are immutable and PyTensor owns its outputs: no preallocated output for them.
CHAIN_OUT = Workload(
    name="chain-out",
    numpy=chain_out,
    inputs=chain_out_inputs,
    sizes=(10_000_000,),
    quick_sizes=(1_000_000,),
    tracejit=jitted(chain_out),
    peers={
        "numexpr": numexpr_evaluated(CHAIN_NUMEXPR, "a b c d", out_arg=4),
        "numba": njitted(chain_out),
        "prange": hand_prange(chain_into),
    },
    mutates=(4,),
    output_arg=4,
    bytes_moved=lambda n: 5 * 8 * n,
)


# --- Rosenbrock ------------------------------------------------------------------------


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_xp(xp, x):
    return xp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_prange(x):
    total = 0.0
    for i in prange(x.shape[0] - 1):
        step = x[i + 1] - x[i] * x[i]
        rest = 1.0 - x[i]
        total += 100.0 * step * step + rest * rest
    return total


def rosenbrock_numexpr(args: tuple) -> Impl:
    """numexpr has no slicing: the two shifted views are its operands."""
    evaluate = peers.numexpr_impl("sum(100 * (hi - lo ** 2) ** 2 + (1 - lo) ** 2)", "hi lo").fn
    return Impl(lambda x: evaluate(x[1:], x[:-1]))


ROSENBROCK = Workload(
    name="rosenbrock",
    numpy=rosenbrock,
    inputs=lambda n: (np.random.default_rng(1).uniform(-2.0, 2.0, n),),
    sizes=(1_000_000, 10_000_000),
    quick_sizes=(100_000,),
    tracejit=jitted(rosenbrock),
    peers={
        "numexpr": rosenbrock_numexpr,
        "numba": njitted(rosenbrock),
        "prange": hand_prange(rosenbrock_prange),
        "jax": jax_jitted(rosenbrock_xp),
        "pytensor": pytensor_compiled(rosenbrock_xp),
    },
)


# --- dispatch --------------------------------------------------------------------------


def add(x, y):
    return x + y


def add_xp(xp, x, y):
    return x + y


DISPATCH = Workload(
    name="dispatch",
    numpy=np.add,
    inputs=lambda n: (np.ones(n), np.full(n, 2.0)),
    sizes=(3,),
    quick_sizes=(3,),
    tracejit=jitted(add),
    peers={
        "numexpr": numexpr_evaluated("x + y", "x y"),
        "numba": njitted(add),
        "jax": jax_jitted(add_xp),
        "pytensor": pytensor_compiled(add_xp),
    },
    size_label=lambda n: f"x + y, {n} elems",
)
