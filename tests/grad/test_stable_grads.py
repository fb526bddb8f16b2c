"""Gradients of naive formulas are taken after the stability rewrites: the derivative of
the stable formula, finite where the chain rule through overflow gives nan."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit


def sigmoid(z):
    """An accurate reference: exp of a non-positive number only."""
    e = np.exp(-np.abs(z))
    return np.where(z < 0, e / (1 + e), 1 / (1 + e))


Z = np.array([-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_log_sigmoid_and_softplus(backend):
    log_sig = tracejit.jit(tracejit.grad(lambda z: np.log(1 / (1 + np.exp(-z))).sum()),
                           backend=backend)
    np.testing.assert_allclose(log_sig(Z), sigmoid(-Z), rtol=1e-12, atol=1e-300)
    softplus = tracejit.jit(tracejit.grad(lambda z: np.log(1 + np.exp(z)).sum()),
                            backend=backend)
    np.testing.assert_allclose(softplus(Z), sigmoid(Z), rtol=1e-12, atol=1e-300)


def test_logistic_loss_at_extreme_logits():
    def loss(z, y):
        s = 1 / (1 + np.exp(-z))
        return -(y * np.log(s) + (1 - y) * np.log(1 - s)).sum()

    y = (Z > 0).astype(float)[::-1]  # the wrong label at the extremes: a gradient of +-1
    g = tracejit.grad(loss)(Z, y)
    np.testing.assert_allclose(g, sigmoid(Z) - y, rtol=1e-12, atol=1e-300)


def test_logsumexp_and_cross_entropy_at_logits_of_1000():
    x = np.array([1000.0, 1000.0, 999.0])
    g = tracejit.grad(lambda x: np.log(np.sum(np.exp(x))))(x)
    e = np.exp(x - x.max())
    np.testing.assert_allclose(g, e / e.sum(), rtol=1e-14)

    def xent(z, y):
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        return -np.log(p[np.arange(len(y)), y]).mean()

    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 10.0]])
    np.testing.assert_allclose(tracejit.grad(xent)(z, np.array([1, 1])),
                               [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)


def test_stability_off_differentiates_the_formula_as_written():
    tracejit.config.stability = False
    try:
        with np.errstate(all="ignore"):
            g = tracejit.grad(lambda z: np.log(1 / (1 + np.exp(-z))).sum())(np.array([-800.0]))
    finally:
        tracejit.config.stability = True
    assert np.isnan(g).all()
