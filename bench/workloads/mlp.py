"""MLP 784-512-10 (ReLU), float32: the gradient of the mean softmax cross-entropy with
respect to all weights. NumPy's column is backprop written by hand; tracejit and the
peers differentiate the loss."""

from __future__ import annotations

import numpy as np

from bench.workload import Workload, jax_jitted, jitted_grad, pytensor_compiled

LAYERS = (784, 512, 10)
WEIGHTS = (0, 1, 2, 3)  # argument positions of w1, b1, w2, b2


def mlp_loss(w1, b1, w2, b2, x, y):
    """Mean softmax cross-entropy of a one-hidden-layer ReLU network; `y` is one-hot."""
    hidden = np.maximum(x @ w1 + b1, 0)
    logits = hidden @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(y * log_probs).sum(axis=1).mean()


def mlp_loss_xp(xp, w1, b1, w2, b2, x, y):
    hidden = xp.maximum(x @ w1 + b1, 0)
    logits = hidden @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    return -(y * log_probs).sum(axis=1).mean()


def mlp_backprop(w1, b1, w2, b2, x, y):
    """The gradient of `mlp_loss` with respect to (w1, b1, w2, b2), by hand."""
    pre = x @ w1 + b1
    hidden = np.maximum(pre, 0)
    logits = hidden @ w2 + b2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    d_logits = (exp / exp.sum(axis=1, keepdims=True) - y) / x.shape[0]
    d_pre = (d_logits @ w2.T) * (pre > 0)
    return x.T @ d_pre, d_pre.sum(axis=0), hidden.T @ d_logits, d_logits.sum(axis=0)


def mlp_inputs(batch: int) -> tuple:
    rng = np.random.default_rng(3)
    n_in, n_hidden, n_out = LAYERS

    def normal(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    w1 = normal(n_in, n_hidden, scale=n_in ** -0.5)
    b1 = normal(n_hidden, scale=0.1)
    w2 = normal(n_hidden, n_out, scale=n_hidden ** -0.5)
    b2 = normal(n_out, scale=0.1)
    x = normal(batch, n_in)
    y = np.eye(n_out, dtype=np.float32)[rng.integers(0, n_out, batch)]
    return w1, b1, w2, b2, x, y


MLP_GRAD = Workload(
    name="mlp-grad",
    numpy=mlp_backprop,
    inputs=mlp_inputs,
    sizes=(256,),
    quick_sizes=(256,),
    tracejit=jitted_grad(mlp_loss, WEIGHTS),
    peers={
        "jax": jax_jitted(mlp_loss_xp, grad_argnums=WEIGHTS),
        "pytensor": pytensor_compiled(mlp_loss_xp, grad_argnums=WEIGHTS),
    },
    rtol=1e-3,
    blas=True,
    size_label=lambda n: f"784-512-10, B={n}",
)
