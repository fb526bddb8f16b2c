"""Unchanged NumPy functions, accelerated by adding `@jit`.

Each function below is ordinary NumPy code, as you would write it without tracejit. The
script runs each one plainly and through `tracejit.jit(fn)`, checks that the results agree,
and prints a table of median times and speedups. The first call of each jitted function
(trace + compile, or loading from the disk cache) is not in the medians; it is its own
column.

Run: python examples/dropin.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
SCALE = 0.05 if QUICK else 1.0
REPEATS = 5 if QUICK else 25


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distances in km between two arrays of points."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def pairwise_distances(a, b):
    """All Euclidean distances between the rows of a and the rows of b."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def blur(image):
    """One 5-point smoothing pass over the interior, in place."""
    image[1:-1, 1:-1] = 0.2 * (image[1:-1, 1:-1] + image[:-2, 1:-1] + image[2:, 1:-1]
                               + image[1:-1, :-2] + image[1:-1, 2:])


def rosenbrock(x):
    """The Rosenbrock function: a sum over shifted slices."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def log_softmax(logits):
    """Row-wise log-softmax, shifted by the row maximum."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def heat(u, steps):
    """Explicit time steps of the 1-D heat equation: a loop of in-place slice updates."""
    for _ in range(steps):
        u[1:-1] += 0.25 * (u[:-2] - 2 * u[1:-1] + u[2:])
    return u


def cases(rng):
    n = int(1_000_000 * SCALE)
    side = int(1024 * SCALE**0.5)
    lat = [rng.uniform(-90, 90, n) for _ in range(2)]
    lon = [rng.uniform(-180, 180, n) for _ in range(2)]
    points = rng.standard_normal((int(1000 * SCALE**0.5), 3))
    return [
        ("haversine", haversine, (lat[0], lon[0], lat[1], lon[1]), f"{n:,} pairs"),
        ("pairwise distances", pairwise_distances, (points, points),
         f"{len(points)}x{len(points)}x3"),
        ("5-point blur, in place", blur, (rng.random((side, side)),), f"{side}x{side}"),
        ("rosenbrock sum", rosenbrock, (rng.random(n),), f"{n:,}"),
        ("row log-softmax", log_softmax, (rng.standard_normal((n // 1000, 1000)),),
         f"{n // 1000}x1000"),
        ("heat equation loop", heat, (rng.random(n // 100), 200), f"{n // 100:,} x 200 steps"),
    ]


def median_time(fn, args, repeats):
    times = []
    for _ in range(repeats):
        fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        start = time.perf_counter()
        fn(*fresh)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'function':24} {'size':>16} {'NumPy':>10} {'tracejit':>10} {'speedup':>8} "
          f"{'first call':>11}  agrees")
    for name, fn, args, size in cases(rng):
        jitted = tracejit.jit(fn)
        mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        theirs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        start = time.perf_counter()
        got = jitted(*mine)
        first = time.perf_counter() - start
        want = fn(*theirs)
        agrees = all(np.allclose(x, y, rtol=1e-9, atol=1e-12)
                     for x, y in [(got, want), *zip(mine, theirs, strict=True)]
                     if x is not None)
        t_numpy = median_time(fn, args, REPEATS)
        t_jit = median_time(jitted, args, REPEATS)
        print(f"{name:24} {size:>16} {t_numpy * 1e3:8.3f}ms {t_jit * 1e3:8.3f}ms "
              f"{t_numpy / t_jit:7.1f}x {first:10.2f}s  {'yes' if agrees else 'NO'}")


if __name__ == "__main__":
    main()
