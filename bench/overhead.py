"""Trace cost per op and cached-call overhead of jitted functions (NumPy backend).

Run: python bench/overhead.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import tracejit


def chain(n_ops: int):
    def f(x, y):
        for i in range(n_ops // 2):
            x = x * y + 1.0 if i % 2 else np.sin(x) - y
        return x

    return f


def trace_cost(n_ops: int = 1000, repeats: int = 7) -> float:
    """Median microseconds per recorded equation for a chain of n_ops NumPy ops."""
    x, y = np.ones(8), np.ones(8)
    times, n_eqns = [], 0
    for _ in range(repeats):
        f = tracejit.jit(chain(n_ops))
        start = time.perf_counter()
        graph = f.graph(x, y)
        times.append(time.perf_counter() - start)
        n_eqns = len(graph.eqns)
    return statistics.median(times) / n_eqns * 1e6, n_eqns


def call_overhead(repeats: int = 20000) -> tuple[float, float]:
    """Median per-call microseconds: jitted x + y on 3-element arrays vs NumPy."""
    f = tracejit.jit(lambda x, y: x + y)
    x, y = np.ones(3), np.ones(3)
    f(x, y)

    def per_call(fn):
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(x, y)
            samples.append((time.perf_counter() - start) / repeats * 1e6)
        return statistics.median(samples)

    return per_call(f), per_call(np.add)


if __name__ == "__main__":
    per_op, n = trace_cost()
    print(f"trace cost: {per_op:.1f} us per equation ({n} equations)")
    jit_us, numpy_us = call_overhead()
    print(f"cached call, x + y on 3 elements: tracejit {jit_us:.2f} us, NumPy {numpy_us:.2f} us")
