"""Logistic regression, the Theano tutorial task, in plain NumPy.

400 samples of 784 features with random labels; the weights live in module-level arrays
(Theano's "shared variables") that a jitted training step updates in place, using
`tracejit.grad` for the gradient. Prints the loss going down, the training accuracy, and
the time per step against the same step without `@jit` and against hand-written NumPy.

Run: python examples/logistic_regression.py   (--quick, or TRACEJIT_EXAMPLES_QUICK=1)
"""

import os
import sys
import time

import numpy as np

import tracejit

QUICK = "--quick" in sys.argv or os.environ.get("TRACEJIT_EXAMPLES_QUICK") == "1"
N, FEATS = 400, 784
STEPS = 50 if QUICK else 2000
LEARNING_RATE = 0.1

rng = np.random.default_rng(0)
X = rng.standard_normal((N, FEATS))
Y = rng.integers(0, 2, size=N).astype(np.float64)

# The model's parameters: module-level arrays, read and written by the jitted step.
w = 0.01 * rng.standard_normal(FEATS)
b = np.zeros(())


def cost(w, b, x, y):
    p_1 = 1 / (1 + np.exp(-(x @ w + b)))  # probability that the label is 1
    xent = -y * np.log(p_1) - (1 - y) * np.log(1 - p_1)  # cross-entropy per sample
    return xent.mean() + 0.01 * (w**2).sum()  # plus L2 regularization


grad_cost = tracejit.grad(cost, argnums=(0, 1))


def train_step(x, y):
    """One step of gradient descent; updates `w` and `b` in place, returns the cost."""
    gw, gb = grad_cost(w, b, x, y)
    loss = cost(w, b, x, y)
    w[...] -= LEARNING_RATE * gw
    b[...] -= LEARNING_RATE * gb
    return loss


train_step_jit = tracejit.jit(train_step)


@tracejit.jit
def predict(x):
    return 1 / (1 + np.exp(-(x @ w) - b)) > 0.5


def train_step_numpy(x, y):
    """The same step with the gradient written out by hand, for comparison."""
    p_1 = 1 / (1 + np.exp(-(x @ w) - b))
    loss = (-y * np.log(p_1) - (1 - y) * np.log(1 - p_1)).mean() + 0.01 * (w**2).sum()
    dz = (p_1 - y) / len(y)
    w[...] -= LEARNING_RATE * (x.T @ dz + 0.02 * w)
    b[...] -= LEARNING_RATE * dz.sum()
    return loss


def per_step(step, repeats):
    """Median seconds per call of `step(X, Y)`, parameters restored afterwards."""
    saved = w.copy(), b.copy()
    step(X, Y)  # warm up (trace and compile on the first call)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(X, Y)
        times.append(time.perf_counter() - start)
    w[...], b[...] = saved
    return float(np.median(times))


def main() -> None:
    w0, b0 = w.copy(), b.copy()
    start = time.perf_counter()
    first = train_step_jit(X, Y)
    print(f"first call (trace + compile, or load from the disk cache): "
          f"{time.perf_counter() - start:.2f} s")
    print(f"step {0:5d}: loss {float(first):.4f}")
    report_every = max(STEPS // 5, 1)
    for step in range(1, STEPS):
        loss = train_step_jit(X, Y)
        if step % report_every == 0 or step == STEPS - 1:
            print(f"step {step:5d}: loss {float(loss):.4f}")
    accuracy = np.mean(predict(X) == (Y > 0.5))
    print(f"training accuracy after {STEPS} steps: {accuracy:.1%}")

    # The jitted step gives what NumPy gives: replay the first step by hand.
    trained = w.copy(), b.copy()
    w[...], b[...] = w0, b0
    expected = train_step_numpy(X, Y)
    w_numpy = w.copy()
    w[...], b[...] = w0, b0
    got = train_step_jit(X, Y)
    print(f"first step vs hand-written NumPy: loss equal to {abs(got - expected):.1e}, "
          f"weights to {np.max(np.abs(w - w_numpy)):.1e}")
    w[...], b[...] = trained

    repeats = 20 if QUICK else 200
    t_jit = per_step(train_step_jit, repeats)
    t_plain = per_step(train_step, repeats)
    t_numpy = per_step(train_step_numpy, repeats)
    print(f"time per step: @jit {t_jit * 1e3:.3f} ms | same code without @jit "
          f"(grad_cost still compiled, the rest NumPy) {t_plain * 1e3:.3f} ms "
          f"({t_plain / t_jit:.1f}x) | hand-written NumPy gradient {t_numpy * 1e3:.3f} ms "
          f"({t_numpy / t_jit:.1f}x)")


if __name__ == "__main__":
    main()
