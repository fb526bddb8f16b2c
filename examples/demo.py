"""tracejit in one screen: decorate plain NumPy code, get NumPy's exact results.

Run: python examples/demo.py
"""

import time

import numpy as np

import tracejit


def gray_scott_step(U, V, Du, F):
    u = U[1:-1, 1:-1]
    Lu = U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * u
    u += Du * Lu - u * V[1:-1, 1:-1] ** 2 + F * (1 - u)  # writes through the view into U
    return np.linalg.norm(u, axis=1), float(Du)


def main() -> None:
    rng = np.random.default_rng(0)
    U, V = rng.random((256, 256)), rng.random((256, 256))
    U_numpy, U_jit = U.copy(), U.copy()

    step = tracejit.jit(gray_scott_step)
    norms_jit, du = step(U_jit, V, 0.1, 0.04)
    norms_numpy, _ = gray_scott_step(U_numpy, V, 0.1, 0.04)
    print("traced graph:")
    print(step.graph(U_jit, V, 0.1, 0.04))
    print()
    print("same values:", np.allclose(norms_jit, norms_numpy),
          "| same dtype:", norms_jit.dtype == norms_numpy.dtype,
          "| U mutated the same way:", np.array_equal(U_jit, U_numpy),
          "| float(Du) returned:", du)

    def per_call(fn, U):
        times = []
        for _ in range(20):
            start = time.perf_counter()
            fn(U, V, 0.1, 0.04)
            times.append(time.perf_counter() - start)
        return np.median(times) * 1e3

    print(f"NumPy: {per_call(gray_scott_step, U_numpy.copy()):.3f} ms per call; "
          f"tracejit (backend={step.backend}): {per_call(step, U_jit.copy()):.3f} ms per call")
    print("cache:", step.cache_info())
    if step.backend in ("numpy", "auto"):
        print("(backend 'numpy' is the reference interpreter: one NumPy call per graph "
              "equation, exact but not faster than NumPy; compiled backends build on it)")


if __name__ == "__main__":
    main()
