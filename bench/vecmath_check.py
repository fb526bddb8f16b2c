"""Timing and vectorization check of `tracejit.emit.numba.vecmath` (not part of the suite).

For each function and dtype, times `out[...] = f(x[...])` over a 256x512 array (nested
loop) and a 10**6-element array (flat loop), as a serial `@njit` loop and as a `prange`
loop (`parallel=True`), with our function and with Numba's built-in `np.exp`/`np.log`/
`np.tanh`/`np.expm1` in the same loop, against the NumPy ufunc. Prints medians (ms) of
at least 20 runs. Then says whether the serial loop of each vecmath function vectorized,
from its assembly: packed float instructions on ymm/zmm registers, and no libm call.

    python -m bench.vecmath_check            # all
    python -m bench.vecmath_check tanh f32   # names / dtypes containing these words
"""

from __future__ import annotations

import re
import sys
import time

import numba
import numpy as np
from numba import prange

from tracejit.emit.numba import vecmath

FUNCS = {  # name: (NumPy ufunc, input range)
    "exp": (np.exp, (-10.0, 10.0)),
    "log": (np.log, (1e-3, 1e3)),
    "tanh": (np.tanh, (-5.0, 5.0)),
    "expm1": (np.expm1, (-2.0, 2.0)),
}
SHAPES = {"256x512": (256, 512), "1e6": (10**6,)}
JIT = dict(error_model="numpy")  # as the generated modules


def kernels(f, ndim: int):
    """(serial, parallel) loops applying the scalar function f elementwise."""
    if ndim == 1:
        def loop1(x, out):
            for i in range(x.shape[0]):
                out[i] = f(x[i])

        def ploop1(x, out):
            for i in prange(x.shape[0]):
                out[i] = f(x[i])
        return numba.njit(**JIT)(loop1), numba.njit(parallel=True, **JIT)(ploop1)

    def loop2(x, out):
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = f(x[i, j])

    def ploop2(x, out):
        for i in prange(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = f(x[i, j])
    return numba.njit(**JIT)(loop2), numba.njit(parallel=True, **JIT)(ploop2)


def median_ms(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def vectorized(loop) -> str:
    asm = loop.inspect_asm(loop.signatures[0])
    packed = re.findall(r"^\s*v\w+p[sd]\s.*\b[yz]mm\d+", asm, flags=re.M)
    libm = re.findall(r"\b(?:exp|log|tanh|expm1)f?\b", asm)
    width = "zmm" if any("zmm" in p for p in packed) else "ymm"
    if packed and not libm:
        return f"yes ({len(packed)} packed {width} ops)"
    return f"no ({len(packed)} packed ops, libm calls: {sorted(set(libm))})"


def main(words: list[str]) -> None:
    rng = np.random.default_rng(0)
    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.config.NUMBA_NUM_THREADS} "
          "threads; medians in ms")
    head = f"{'function':<12}{'shape':<9}{'numpy':>9}{'ours':>9}{'builtin':>9}" \
           f"{'ours||':>9}{'builtin||':>10}{'builtin/ours':>14}{'ours/numpy':>12}"
    print(head)
    checks = []
    for name, (ufunc, (lo, hi)) in FUNCS.items():
        for dt, suffix in ((np.float32, "f32"), (np.float64, "f64")):
            label = f"{name}_{suffix}"
            if words and not all(w in label for w in words):
                continue
            ours = getattr(vecmath, label)
            builtin = numba.njit(inline="always")(lambda v, u=ufunc: u(v))
            for shape_name, shape in SHAPES.items():
                x = rng.uniform(lo, hi, shape).astype(dt)
                out = np.empty_like(x)
                runs = 50 if x.size < 10**6 else 20
                (s_ours, p_ours), (s_np, p_np) = kernels(ours, x.ndim), kernels(builtin, x.ndim)
                row = [median_ms(lambda u=ufunc, x=x, out=out: u(x, out=out), runs)]
                row += [median_ms(lambda k=k, x=x, out=out: k(x, out), runs)
                        for k in (s_ours, s_np, p_ours, p_np)]
                s_ours(x, out)
                with np.errstate(all="ignore"):
                    assert np.allclose(out, ufunc(x), rtol=1e-5 if dt == np.float32 else 1e-13)
                print(f"{label:<12}{shape_name:<9}" + "".join(f"{v:>9.3f}" for v in row[:4])
                      + f"{row[4]:>10.3f}{row[2] / row[1]:>13.1f}x{row[1] / row[0]:>11.1f}x")
                if shape_name == "256x512":
                    checks.append((label, vectorized(s_ours), vectorized(s_np)))
    print("\nvectorized serial 256x512 loop:  vecmath | Numba built-in")
    for label, ours, builtin in checks:
        print(f"  {label:<12}{ours} | {builtin}")


if __name__ == "__main__":
    main(sys.argv[1:])
