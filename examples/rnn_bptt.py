"""A tanh RNN written as a plain Python loop, trained with backprop through time.

The loss runs the recurrence `h = tanh(x[t] @ Wx + h @ Wh + b)` over the sequence in an
ordinary `for t in range(T)` loop. Under `@jit`, tracejit rewrites that loop into one
`scan` node whose body is traced once, so tracing and compiling do not grow with T, and
`tracejit.grad` differentiates the scan (a reverse scan: backprop through time). The task:
from a stream of random numbers, output at each step the sum of the last 3 inputs (the
network has to remember them). Prints the converted loop, the graph size for two sequence
lengths, the loss going down and the time per training step.

Run: python examples/rnn_bptt.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
STEPS = 60 if QUICK else 600
T, BATCH, HIDDEN, LAG = 30, 32, 24, 3


def loss_fn(params, xs, ys):
    """Mean squared error of the RNN's prediction at every step of the sequence."""
    wx, wh, b, wy = params
    h = np.zeros((xs.shape[1], wh.shape[0]))
    total = 0.0
    for t in range(xs.shape[0]):  # a Python loop: becomes one scan node
        h = np.tanh(xs[t] @ wx + h @ wh + b)
        total = total + np.mean((h @ wy - ys[t]) ** 2)
    return total / xs.shape[0]


loss_and_grad = tracejit.value_and_grad(loss_fn)


@tracejit.jit
def train_step(params, xs, ys, learning_rate):
    loss, grads = loss_and_grad(params, xs, ys)
    for p, g in zip(params, grads, strict=True):
        p -= learning_rate * np.clip(g, -1.0, 1.0)  # clipped gradient step, in place
    return loss


def batch(rng, length):
    xs = rng.uniform(-1, 1, size=(length, BATCH, 1))
    ys = np.zeros_like(xs)
    for lag in range(LAG):  # target: sum of the current and previous LAG-1 inputs
        ys[lag:] += xs[: length - lag]
    return xs, ys


def main() -> None:
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((1, HIDDEN)) * 0.5,
              rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN),
              np.zeros(HIDDEN),
              rng.standard_normal((HIDDEN, 1)) / np.sqrt(HIDDEN)]

    print("the loop as tracejit converts it (tracejit.show_converted(loss_fn)):")
    converted = tracejit.show_converted(loss_fn).splitlines()
    print("\n".join("    " + line for line in converted if line.strip()))

    jitted_loss = tracejit.jit(loss_fn)
    for length in (10, 1000):
        xs, ys = batch(rng, length)
        graph = jitted_loss.graph(params, xs, ys)
        print(f"T={length:4d}: the traced loss has {len(graph.eqns)} equations "
              f"({sum(e.op == 'scan' for e in graph.eqns)} scan)")

    xs, ys = batch(rng, T)
    check = jitted_loss(params, xs, ys), loss_fn(params, xs, ys)
    print(f"loss: jitted {check[0]:.12f}, plain Python/NumPy {check[1]:.12f}")

    start = time.perf_counter()
    train_step(params, xs, ys, 0.05)
    print(f"first training step (trace + compile, or load from the disk cache): "
          f"{time.perf_counter() - start:.2f} s")
    times = []
    for step in range(1, STEPS + 1):
        xs, ys = batch(rng, T)
        start = time.perf_counter()
        loss = train_step(params, xs, ys, 0.05)
        times.append(time.perf_counter() - start)
        if step % (STEPS // 5) == 0:
            print(f"step {step:4d}: loss {float(loss):.4f}")
    print(f"(predicting 0 everywhere scores {np.mean(ys**2):.4f})")
    plain = []
    for _ in range(5):
        start = time.perf_counter()
        loss_fn(params, xs, ys)
        plain.append(time.perf_counter() - start)
    print(f"time per training step (forward + BPTT + update), T={T}, batch {BATCH}, hidden "
          f"{HIDDEN}: {np.median(times) * 1e3:.3f} ms; the forward pass alone in plain "
          f"NumPy: {np.median(plain) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
