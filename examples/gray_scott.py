"""Gray-Scott reaction-diffusion: thousands of in-place stencil updates in a Python loop.

`simulate` is plain NumPy: views of the interior, five-point Laplacians, `+=` through the
views. Under `@jit` the `for` loop becomes one loop node, compiled with the updates done
in place. Prints the time against NumPy, checks that both give the same grid, draws the
pattern as text, and saves a PNG when matplotlib is installed.

Run: python examples/gray_scott.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
N = 64 if QUICK else 128
STEPS = 500 if QUICK else 5000
NUMPY_STEPS = 100 if QUICK else 500  # NumPy is timed on fewer steps, then scaled
PNG = "gray_scott.png"


def simulate(U, V, Du, Dv, F, k, steps):
    """`steps` forward-Euler steps of the Gray-Scott model; updates U and V in place."""
    u, v = U[1:-1, 1:-1], V[1:-1, 1:-1]
    for _ in range(steps):
        Lu = U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * u
        Lv = V[:-2, 1:-1] + V[2:, 1:-1] + V[1:-1, :-2] + V[1:-1, 2:] - 4 * v
        uvv = u * v * v
        u += Du * Lu - uvv + F * (1 - u)
        v += Dv * Lv + uvv - (F + k) * v


simulate_jit = tracejit.jit(simulate)
PARAMS = dict(Du=0.16, Dv=0.08, F=0.035, k=0.065)  # a "spots and stripes" regime


def initial(n):
    rng = np.random.default_rng(0)
    U, V = np.ones((n, n)), np.zeros((n, n))
    mid = slice(n // 2 - n // 8, n // 2 + n // 8)
    U[mid, mid], V[mid, mid] = 0.50, 0.25
    U += 0.05 * rng.random((n, n))
    V += 0.05 * rng.random((n, n))
    return U, V


def ascii_art(V, width=48):
    """The V field as characters, darker where V is larger."""
    shades = " .:-=+*#%@"
    step = max(V.shape[0] // (width // 2), 1)
    small = V[::step, ::step]
    scaled = (small - small.min()) / (np.ptp(small) or 1.0)
    idx = np.minimum((scaled * len(shades)).astype(int), len(shades) - 1)
    return "\n".join("".join(shades[i] * 2 for i in row) for row in idx)


def main() -> None:
    U, V = initial(N)
    start = time.perf_counter()
    simulate_jit(U.copy(), V.copy(), **PARAMS, steps=1)
    print(f"{N}x{N} grid; first call (trace + compile, or load from the disk cache): "
          f"{time.perf_counter() - start:.2f} s")

    # The same grid from NumPy and from tracejit, NUMPY_STEPS steps each.
    U_np, V_np, U_jit, V_jit = U.copy(), V.copy(), U.copy(), V.copy()
    start = time.perf_counter()
    simulate(U_np, V_np, **PARAMS, steps=NUMPY_STEPS)
    t_numpy = (time.perf_counter() - start) / NUMPY_STEPS
    simulate_jit(U_jit, V_jit, **PARAMS, steps=NUMPY_STEPS)
    print(f"after {NUMPY_STEPS} steps, tracejit's grid equals NumPy's to "
          f"{max(np.abs(U_jit - U_np).max(), np.abs(V_jit - V_np).max()):.1e}")

    start = time.perf_counter()
    simulate_jit(U, V, **PARAMS, steps=STEPS)  # one compiled loop, whatever `steps` is
    t_jit = (time.perf_counter() - start) / STEPS
    print(f"time per step: NumPy {t_numpy * 1e6:.1f} us, tracejit {t_jit * 1e6:.1f} us "
          f"({t_numpy / t_jit:.1f}x)")
    print(f"V after {STEPS} steps (min {V.min():.3f}, max {V.max():.3f}):")
    print(ascii_art(V))

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipped the PNG")
        return
    if QUICK:
        print("quick mode: skipped the PNG")
        return
    plt.imsave(PNG, V, cmap="viridis")
    print(f"saved the pattern to {PNG}")


if __name__ == "__main__":
    main()
