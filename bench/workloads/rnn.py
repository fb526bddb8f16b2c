"""tanh RNN, T=100 steps, batch 32, 64 inputs, 128 hidden, float32: the forward pass (a
Python loop over time) and its gradient by backpropagation through time. The loss is
half the squared norm of the last hidden state."""

from __future__ import annotations

import numpy as np

from bench.workload import Workload, jax_jitted, jitted, jitted_grad, njitted, pytensor_compiled

BATCH, N_IN, N_HIDDEN = 32, 64, 128
WEIGHTS = (2, 3, 4)  # argument positions of wx, wh, b


def rnn_forward(xs, h0, wx, wh, b):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ wx + h @ wh + b)
    return h


def rnn_loss(xs, h0, wx, wh, b):
    h = rnn_forward(xs, h0, wx, wh, b)
    return 0.5 * np.sum(h * h)


def rnn_backprop(xs, h0, wx, wh, b):
    """The gradient of `rnn_loss` with respect to (wx, wh, b), by hand."""
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(xs[t] @ wx + hs[-1] @ wh + b))
    d_h = hs[-1]
    d_wx, d_wh, d_b = np.zeros_like(wx), np.zeros_like(wh), np.zeros_like(b)
    for t in reversed(range(xs.shape[0])):
        d_pre = d_h * (1 - hs[t + 1] ** 2)
        d_wx += xs[t].T @ d_pre
        d_wh += hs[t].T @ d_pre
        d_b += d_pre.sum(axis=0)
        d_h = d_pre @ wh.T
    return d_wx, d_wh, d_b


def rnn_forward_jax(jnp, xs, h0, wx, wh, b):
    from jax import lax

    def step(h, x):
        return jnp.tanh(x @ wx + h @ wh + b), None

    h, _ = lax.scan(step, h0, xs)
    return h


def rnn_forward_pytensor(pt, xs, h0, wx, wh, b):
    import pytensor

    def step(x, h, wx, wh, b):
        return pt.tanh(x @ wx + h @ wh + b)

    hs = pytensor.scan(step, sequences=xs, outputs_info=h0, non_sequences=[wx, wh, b],
                       return_updates=False)
    return hs[-1]


def half_square_norm(forward):
    """The loss `0.5 * sum(h * h)` of a forward pass written against `xp`."""

    def loss(xp, *args):
        h = forward(xp, *args)
        return 0.5 * xp.sum(h * h)

    return loss


def rnn_inputs(steps: int) -> tuple:
    rng = np.random.default_rng(4)

    def normal(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    xs = normal(steps, BATCH, N_IN)
    h0 = normal(BATCH, N_HIDDEN, scale=0.1)
    wx = normal(N_IN, N_HIDDEN, scale=N_IN ** -0.5)
    wh = normal(N_HIDDEN, N_HIDDEN, scale=0.9 * N_HIDDEN ** -0.5)
    b = normal(N_HIDDEN, scale=0.1)
    return xs, h0, wx, wh, b


def size_label(steps: int) -> str:
    return f"T={steps}, B={BATCH}, {N_IN}->{N_HIDDEN}"


RNN_FORWARD = Workload(
    name="rnn-forward",
    numpy=rnn_forward,
    inputs=rnn_inputs,
    sizes=(100,),
    quick_sizes=(100,),
    tracejit=jitted(rnn_forward),
    peers={
        "numba": njitted(rnn_forward),
        "jax": jax_jitted(rnn_forward_jax),
        "pytensor": pytensor_compiled(rnn_forward_pytensor),
    },
    rtol=1e-3,
    blas=True,
    size_label=size_label,
)

RNN_GRAD = Workload(
    name="rnn-grad",
    numpy=rnn_backprop,
    inputs=rnn_inputs,
    sizes=(100,),
    quick_sizes=(100,),
    tracejit=jitted_grad(rnn_loss, WEIGHTS),
    peers={
        "jax": jax_jitted(half_square_norm(rnn_forward_jax), grad_argnums=WEIGHTS),
        "pytensor": pytensor_compiled(half_square_norm(rnn_forward_pytensor),
                                      grad_argnums=WEIGHTS),
    },
    rtol=1e-3,
    blas=True,
    size_label=size_label,
)
