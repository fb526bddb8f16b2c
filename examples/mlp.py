"""A small MLP trained on synthetic data with `tracejit.value_and_grad`.

Three interleaved spirals in the plane (a classic non-linearly-separable toy problem), a
2-64-3 tanh network, softmax cross-entropy, full-batch gradient descent. The parameters are
a list of arrays (a pytree); the jitted training step updates them in place. Prints the
loss and accuracy as training goes, and the time per step against hand-written NumPy
backprop of the same network.

Run: python examples/mlp.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
STEPS = 200 if QUICK else 3000
HIDDEN = 16 if QUICK else 64


def spirals(points_per_class, classes, rng):
    """Points on `classes` noisy spiral arms; the label is the arm."""
    n = points_per_class * classes
    x = np.empty((n, 2))
    y = np.empty(n, dtype=np.int64)
    for c in range(classes):
        rows = slice(c * points_per_class, (c + 1) * points_per_class)
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = np.linspace(c * 4.0, (c + 1) * 4.0, points_per_class)
        angle += 0.2 * rng.standard_normal(points_per_class)
        x[rows] = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        y[rows] = c
    return x, y


def init_params(rng, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(np.zeros(fan_out))
    return params


def loss_fn(params, x, y):
    """Mean softmax cross-entropy of the 2-layer tanh network."""
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


loss_and_grad = tracejit.value_and_grad(loss_fn)


@tracejit.jit
def train_step(params, x, y, learning_rate):
    loss, grads = loss_and_grad(params, x, y)
    for p, g in zip(params, grads, strict=True):  # a Python list: unrolled while tracing
        p -= learning_rate * g  # in place: the caller's arrays are updated
    return loss


@tracejit.jit
def accuracy(params, x, y):
    w1, b1, w2, b2 = params
    return np.mean(np.argmax(np.tanh(x @ w1 + b1) @ w2 + b2, axis=1) == y)


def train_step_numpy(params, x, y, learning_rate):
    """Hand-written backprop of the same network, for the timing comparison."""
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    probs = e / e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = -np.log(probs[rows, y]).mean()
    d_logits = probs
    d_logits[rows, y] -= 1
    d_logits /= len(y)
    d_h = (d_logits @ w2.T) * (1 - h**2)
    grads = [x.T @ d_h, d_h.sum(axis=0), h.T @ d_logits, d_logits.sum(axis=0)]
    for p, g in zip(params, grads, strict=True):
        p -= learning_rate * g
    return loss


def median_time(step, params, x, y, repeats):
    params = [p.copy() for p in params]
    step(params, x, y, 0.5)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(params, x, y, 0.5)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    x, y = spirals(100, 3, rng)
    params = init_params(rng, [2, HIDDEN, 3])
    initial = [p.copy() for p in params]

    start = time.perf_counter()
    loss = train_step(params, x, y, 0.5)
    print(f"{len(x)} points, 3 classes, network 2-{HIDDEN}-3; first call (trace + compile, "
          f"or load from the disk cache): {time.perf_counter() - start:.2f} s")
    print(f"step {0:5d}: loss {float(loss):.4f}")
    for step in range(1, STEPS):
        loss = train_step(params, x, y, 0.5)
        if step % (STEPS // 5) == 0 or step == STEPS - 1:
            print(f"step {step:5d}: loss {float(loss):.4f}, "
                  f"accuracy {accuracy(params, x, y):.1%}")

    # Same first step as hand-written backprop?
    mine, theirs = [p.copy() for p in initial], [p.copy() for p in initial]
    train_step(mine, x, y, 0.5)
    train_step_numpy(theirs, x, y, 0.5)
    diff = max(np.max(np.abs(a - b)) for a, b in zip(mine, theirs, strict=True))
    print(f"one step vs hand-written backprop: parameters agree to {diff:.1e}")

    repeats = 20 if QUICK else 200
    t_jit = median_time(train_step, initial, x, y, repeats)
    t_numpy = median_time(train_step_numpy, initial, x, y, repeats)
    print(f"time per step: @jit + value_and_grad {t_jit * 1e3:.3f} ms | hand-written NumPy "
          f"backprop {t_numpy * 1e3:.3f} ms ({t_numpy / t_jit:.2f}x)")


if __name__ == "__main__":
    main()
