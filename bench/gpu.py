"""GPU rows (issue 7): tracejit's CUDA backend against CuPy running the same NumPy code
unfused, and JAX `jit` on the same GPU where installed.

    python -m bench.gpu              # N = 10^8 float32 (about 2 GB of device memory)
    python -m bench.gpu --n 1000000  # smaller

Every column gets CuPy arrays and returns CuPy (or JAX) arrays; results are checked
against CuPy's before timing. Times are medians of CUDA-event-timed rounds after a
warm-up call (the first call compiles). The device's copy bandwidth (a device-to-device
`copy` of N float32) is measured in the same run, and each memory-bound row reports
the fraction of it achieved: bytes read and written once per element over the time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any, Callable

import numpy as np

from bench.workloads.elementwise import (
    chain,
    chain_xp,
    haversine,
    haversine_xp,
    rosenbrock,
    rosenbrock_xp,
)
from bench.workloads.rnn import rnn_forward, rnn_forward_jax, rnn_inputs

ROUNDS = 15


def timed(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    """Median seconds of `rounds` calls, each timed with CUDA events."""
    import cupy

    fn()  # warm up: compile, allocate
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(rounds):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


def copy_bandwidth(n: int) -> float:
    """Bytes per second of a device-to-device copy of n float32 (read + write)."""
    import cupy

    x = cupy.ones(n, cupy.float32)
    y = cupy.empty_like(x)
    seconds = timed(lambda: cupy.copyto(y, x))
    return 2 * x.nbytes / seconds


def jax_version(name: str) -> Callable | None:
    """The workload as a JAX `jit` function when JAX runs on a GPU here."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    if jax.default_backend() != "gpu":
        return None
    return jax.jit({
        "haversine": lambda *a: haversine_xp(jnp, *a),
        "chain": lambda *a: chain_xp(jnp, *a),
        "rosenbrock": lambda x: rosenbrock_xp(jnp, x),
        "rnn-forward": lambda *a: rnn_forward_jax(jnp, *a),
    }[name])


def rows(n: int) -> list[tuple[str, Callable, tuple, int]]:
    """(name, NumPy function, CuPy inputs, bytes moved once per call)."""
    import cupy

    rng = cupy.random.default_rng(0)
    u = [rng.uniform(-1.5, 1.5, n, dtype=cupy.float32) for _ in range(4)]
    xs, h0, wx, wh, b = (cupy.asarray(a.astype(np.float32)) for a in rnn_inputs(100))
    item = 4
    return [("haversine", haversine, tuple(u), 5 * n * item),
            ("chain", chain, tuple(u), 5 * n * item),
            ("rosenbrock", rosenbrock, (u[0],), n * item),
            ("rnn-forward", rnn_forward, (xs, h0, wx, wh, b), 0)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__)
    parser.add_argument("--n", type=int, default=10**8, help="elements per array")
    options = parser.parse_args(argv)
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001
        print(f"bench.gpu needs CuPy and a CUDA GPU ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return 2
    import tracejit

    bandwidth = copy_bandwidth(options.n)
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"# {name}; device-to-device copy: {bandwidth / 1e9:.0f} GB/s "
          f"(N = {options.n:.0e} float32)")
    print(f"{'workload':<12} {'tracejit ms':>12} {'cupy ms':>9} {'×cupy':>7} {'jax ms':>8} "
          f"{'jax/ours':>9} {'of copy bw':>11}")
    for label, fn, args, moved in rows(options.n):
        ours_fn = tracejit.jit(fn)
        want = fn(*args)
        got = ours_fn(*args)
        np.testing.assert_allclose(cupy.asnumpy(got), cupy.asnumpy(want), rtol=1e-3, atol=1e-3)
        ours = timed(lambda: ours_fn(*args))  # noqa: B023
        theirs = timed(lambda: fn(*args))  # noqa: B023
        jax_fn = jax_version(label)
        jax_ms = ""
        ratio = ""
        if jax_fn is not None:
            import jax.numpy as jnp

            jargs = tuple(jnp.asarray(a) for a in args)
            jax_s = timed(lambda: jax_fn(*jargs).block_until_ready())  # noqa: B023
            jax_ms, ratio = f"{jax_s * 1e3:8.3f}", f"{jax_s / ours:9.2f}"
        share = f"{moved / ours / bandwidth:10.0%}" if moved else ""
        print(f"{label:<12} {ours * 1e3:12.3f} {theirs * 1e3:9.3f} {theirs / ours:7.2f} "
              f"{jax_ms:>8} {ratio:>9} {share:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
