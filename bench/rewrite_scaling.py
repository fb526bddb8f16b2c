"""Time of the rewrite pipeline against graph size: 2.5k, 5k, 10k and 20k equations.

The graph is a traced straight-line NumPy function made of repeated blocks in which
most rules of SIMPLIFY and STABILIZE find something to rewrite (log(1+x), x*1,
exp(x)-1, --x, x**2, softplus and softmax forms, a sum of a broadcast), read across
blocks so that values have several readers. Issue 6's target: a 10,000-equation graph
rewritten well under a second, growing linearly.

Run: python bench/rewrite_scaling.py
"""

from __future__ import annotations

import linecache
import statistics
import time

import numpy as np

import tracejit
from tracejit.rewrite import optimize, rewrite
from tracejit.rewrite.rules import SIMPLIFY, STABILIZE_FORMS

SIZES = (2_500, 5_000, 10_000, 20_000)
BLOCK = """\
    a = np.log(1 + x) * 1
    b = np.exp(a) - 1 + -(-y)
    c = np.log(1 / (1 + np.exp(-b))) + b ** 2
    d = np.log(np.exp(c).sum(axis=1, keepdims=True)) + np.broadcast_to(z, (3, 4, 5)).sum(0)
    e = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    y, z, x = x, d, np.sin(e + x) * 0.5
"""


def program(blocks: int):
    """A function of (x, y, z) with `blocks` copies of BLOCK (no loop: one equation per
    op, as a long model would be traced)."""
    source = "def f(x, y, z):\n" + BLOCK * blocks + "    return x + y + z\n"
    filename = f"<rewrite-scaling-{blocks}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


ARGS = (np.ones((4, 5)), np.ones((4, 5)), np.ones((4, 5)))


def graph_of(n_eqns: int):
    per_block = len(tracejit.jit(program(2)).graph(*ARGS).eqns) - \
        len(tracejit.jit(program(1)).graph(*ARGS).eqns)
    return tracejit.jit(program(max(1, round(n_eqns / per_block)))).graph(*ARGS)


def seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"{'equations':>10} {'optimize s':>11} {'us/eqn':>7} {'one rewrite s':>14} "
          f"{'fired':>6} {'after':>6}")
    previous = None
    for size in SIZES:
        graph = graph_of(size)
        result = optimize(graph)
        total = seconds(lambda g=graph: optimize(g))
        one = seconds(lambda g=graph: rewrite(g, SIMPLIFY + STABILIZE_FORMS))
        n = len(graph.eqns)
        growth = f"  x{total / previous:.2f} for x2" if previous else ""
        print(f"{n:>10} {total:>11.3f} {total / n * 1e6:>7.1f} {one:>14.3f} "
              f"{len(result.fired):>6} {len(result.graph.eqns):>6}{growth}")
        previous = total


if __name__ == "__main__":
    main()
