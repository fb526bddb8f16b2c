"""Automatic differentiation as a graph transform: derivative rules per op, the reverse
and forward transforms, and the public API (`grad`, `vjp`, `jvp`, ...)."""

from tracejit.autodiff import elementwise, linalg, reductions, rules, shapes
from tracejit.autodiff.api import grad, hessian, jacobian, jvp, value_and_grad, vjp

del elementwise, linalg, reductions, shapes

__all__ = ["grad", "hessian", "jacobian", "jvp", "rules", "value_and_grad", "vjp"]
