"""Rule sets by purpose. Combine them with `+`; run them with `tracejit.rewrite.rewrite`."""

from tracejit.rewrite.rules.algebra import SIMPLIFY
from tracejit.rewrite.rules.linalg import MATMUL
from tracejit.rewrite.rules.stability import STABILIZE, STABILIZE_FORMS

__all__ = ["MATMUL", "SIMPLIFY", "STABILIZE", "STABILIZE_FORMS"]
