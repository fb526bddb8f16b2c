"""Fixtures of the gradient suites."""

import pytest


@pytest.fixture
def jax_x64():
    """JAX in float64, for comparing gradients (skips where JAX is not installed)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax
