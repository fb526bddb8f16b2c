"""Gradients of small composite models against hand-written backpropagation (float64,
rtol 1e-10) and, where JAX is installed, against `jax.grad` of the same model in
jax.numpy. The MLP also runs compiled by Numba in float32."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit

RTOL = 1e-10


def close(actual, expected, rtol=RTOL, atol=1e-12):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def close_all(actual, expected, rtol=RTOL, atol=1e-12):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert np.shape(a) == np.shape(e)
        close(a, e, rtol, atol)


# --- logistic regression ------------------------------------------------------------------


def logistic_loss(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def logistic_data(seed=0, n=20, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (rng.uniform(size=n) < 0.5).astype(float)
    return 0.5 * rng.normal(size=d), 0.1, X, y


def test_logistic_regression():
    w, b, X, y = logistic_data()
    gw, gb = tracejit.grad(logistic_loss, argnums=(0, 1))(w, b, X, y)
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    close(gw, X.T @ (p - y) / len(y))
    assert type(gb) is float
    close(gb, np.mean(p - y))
    value, _ = tracejit.value_and_grad(logistic_loss)(w, b, X, y)
    close(value, logistic_loss(w, b, X, y), rtol=1e-14)


def test_logistic_regression_vs_jax(jax_x64):
    jnp = jax_x64.numpy

    def loss(w, b, X, y):
        p = 1.0 / (1.0 + jnp.exp(-(X @ w + b)))
        return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))

    args = logistic_data(1)
    want = jax_x64.grad(loss, argnums=(0, 1))(*args)
    close_all(tracejit.grad(logistic_loss, argnums=(0, 1))(*args), [np.asarray(v) for v in want])


# --- MLP ----------------------------------------------------------------------------------


def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def mlp_backprop(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = p.copy()
    d_logits[np.arange(len(y)), y] -= 1
    d_logits /= len(y)
    d_z = (d_logits @ W2.T) * (1 - h ** 2)
    return X.T @ d_z, d_z.sum(axis=0), h.T @ d_logits, d_logits.sum(axis=0)


def mlp_data(seed=0, n=16, d=5, hidden=8, classes=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(d, hidden)) / np.sqrt(d), 0.1 * rng.normal(size=hidden),
              rng.normal(size=(hidden, classes)) / np.sqrt(hidden),
              0.1 * rng.normal(size=classes)]
    X = rng.normal(size=(n, d))
    y = rng.integers(0, classes, size=n)
    return [p.astype(dtype) for p in params] + [X.astype(dtype), y]


def test_mlp():
    args = mlp_data()
    grads = tracejit.grad(mlp_loss, argnums=(0, 1, 2, 3))(*args)
    close_all(grads, mlp_backprop(*args))
    value, grads2 = tracejit.value_and_grad(mlp_loss, argnums=(0, 1, 2, 3))(*args)
    close(value, mlp_loss(*args), rtol=1e-14)
    close_all(grads2, grads, rtol=0, atol=0)
    other = mlp_data(seed=3)  # same shapes: the cached compile, new values
    close_all(tracejit.grad(mlp_loss, argnums=(0, 1, 2, 3))(*other), mlp_backprop(*other))


@pytest.mark.filterwarnings("error::tracejit.errors.BackendFallbackWarning")
def test_mlp_numba_float32():
    args = mlp_data(dtype=np.float32)
    g = tracejit.jit(tracejit.grad(mlp_loss, argnums=(0, 1, 2, 3)), backend="numba")
    for _ in range(2):  # the compiling call, then the cached one
        grads = g(*args)
        assert all(v.dtype == np.float32 for v in grads)
        want = mlp_backprop(*[a.astype(np.float64) for a in args[:5]], args[5])
        for got, w in zip(grads, want, strict=True):
            close(got, w, rtol=1e-5, atol=1e-5 * np.abs(w).max())


def test_mlp_vs_jax(jax_x64):
    jnp = jax_x64.numpy

    def loss(W1, b1, W2, b2, X, y):
        h = jnp.tanh(X @ W1 + b1)
        logits = h @ W2 + b2
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - jnp.log(jnp.exp(logits).sum(axis=1, keepdims=True))
        return -logp[jnp.arange(len(y)), y].mean()

    args = mlp_data(seed=2)
    want = jax_x64.grad(loss, argnums=(0, 1, 2, 3))(*args)
    close_all(tracejit.grad(mlp_loss, argnums=(0, 1, 2, 3))(*args), [np.asarray(v) for v in want])


# --- least squares ------------------------------------------------------------------------


def lstsq_loss(x, A, b):
    r = A @ x - b
    return 0.5 * (r @ r)


def lstsq_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=4), rng.normal(size=(6, 4)), rng.normal(size=6)


def test_least_squares():
    x, A, b = lstsq_data()
    close(tracejit.grad(lstsq_loss)(x, A, b), A.T @ (A @ x - b))
    close(tracejit.hessian(lstsq_loss)(x, A, b), A.T @ A)
    gA = tracejit.grad(lstsq_loss, argnums=1)(x, A, b)
    close(gA, np.outer(A @ x - b, x))


def test_least_squares_vs_jax(jax_x64):
    def loss(x, A, b):
        r = A @ x - b
        return 0.5 * (r @ r)

    args = lstsq_data(1)
    close_all(tracejit.grad(lstsq_loss, argnums=(0, 1, 2))(*args),
              [np.asarray(v) for v in jax_x64.grad(loss, argnums=(0, 1, 2))(*args)])
    close(tracejit.hessian(lstsq_loss)(*args), np.asarray(jax_x64.hessian(loss)(*args)))


# --- tanh RNN (a Python loop, unrolled by tracing) ----------------------------------------


def rnn_loss(W, U, b, xs):
    h = np.zeros((xs.shape[1], W.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t] @ U + b)
    return (h ** 2).sum()


def rnn_bptt(W, U, b, xs):
    hs = [np.zeros((xs.shape[1], W.shape[0]))]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(hs[-1] @ W + xs[t] @ U + b))
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    d_h = 2 * hs[-1]
    for t in reversed(range(xs.shape[0])):
        d_z = d_h * (1 - hs[t + 1] ** 2)
        gW += hs[t].T @ d_z
        gU += xs[t].T @ d_z
        gb += d_z.sum(axis=0)
        d_h = d_z @ W.T
    return gW, gU, gb


def rnn_data(seed=0, T=4, batch=3, d=2, hidden=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
            rng.normal(size=(d, hidden)), 0.1 * rng.normal(size=hidden),
            rng.normal(size=(T, batch, d)))


def test_rnn_bptt():
    args = rnn_data()
    close_all(tracejit.grad(rnn_loss, argnums=(0, 1, 2))(*args), rnn_bptt(*args))


def test_rnn_vs_jax(jax_x64):
    jnp = jax_x64.numpy

    def loss(W, U, b, xs):
        h = jnp.zeros((xs.shape[1], W.shape[0]))
        for t in range(xs.shape[0]):
            h = jnp.tanh(h @ W + xs[t] @ U + b)
        return (h ** 2).sum()

    args = rnn_data(1)
    close_all(tracejit.grad(rnn_loss, argnums=(0, 1, 2, 3))(*args),
              [np.asarray(v) for v in jax_x64.grad(loss, argnums=(0, 1, 2, 3))(*args)])
