"""The same NumPy function on the CPU and on an NVIDIA GPU (backend="cuda").

Runs only where CuPy and a CUDA GPU are present; anywhere else it says which one is
missing and exits with status 0. NumPy arrays in give NumPy arrays out (copied to the
GPU and back); CuPy arrays in stay on the GPU, and `backend="auto"` picks CUDA for them.

Run: python examples/gpu.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
N = 100_000 if QUICK else 10_000_000


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distances in km between two arrays of points."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def probe(x):
    return -x


def why_not() -> str | None:
    """None if this machine can run the example, else the reason it cannot."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install cupy-cuda12x)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDA driver missing or broken
        return f"CuPy finds no usable CUDA driver ({type(error).__name__}: {error})"
    if count == 0:
        return "no CUDA GPU is visible"
    try:
        tracejit.jit(probe, backend="cuda")(np.ones(2))
    except RuntimeError as error:  # CuPy present but unusable (no device, no NVRTC)
        return str(error)
    return None


def median_time(fn, args, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    reason = why_not()
    if reason is not None:
        print(f"skipped: {reason}.")
        return
    rng = np.random.default_rng(0)
    args = (rng.uniform(-90, 90, N), rng.uniform(-180, 180, N),
            rng.uniform(-90, 90, N), rng.uniform(-180, 180, N))
    cpu, gpu = tracejit.jit(haversine), tracejit.jit(haversine, backend="cuda")
    expected = cpu(*args)
    got = gpu(*args)
    print(f"haversine, {N:,} pairs: GPU result equals the CPU's to "
          f"{np.max(np.abs(np.asarray(got) - expected)):.1e} km")
    repeats = 3 if QUICK else 10
    t_numpy = median_time(haversine, args, repeats)
    t_cpu = median_time(cpu, args, repeats)
    t_gpu = median_time(gpu, args, repeats)
    print(f"NumPy {t_numpy * 1e3:.2f} ms | tracejit CPU {t_cpu * 1e3:.2f} ms | "
          f"tracejit GPU {t_gpu * 1e3:.2f} ms (including the transfers)")
    import cupy

    on_device = tuple(cupy.asarray(a) for a in args)
    resident = tracejit.jit(haversine)  # "auto": CuPy arguments run on the GPU

    def synced(*a):
        out = resident(*a)
        cupy.cuda.Device().synchronize()
        return out

    t_resident = median_time(synced, on_device, repeats)
    print(f"CuPy arrays in, CuPy out (no transfers): {t_resident * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
