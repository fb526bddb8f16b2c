"""Derivatives of the loop ops.

`while` has none, as in JAX: its trip count is only known when it runs, so reverse mode
would have to store an unbounded number of carries. Loops with a trip count known while
tracing are `scan`s (`fori_loop` with Python bounds, converted `for` loops), which do.
"""

from __future__ import annotations

from tracejit.autodiff.rules import NO_RULE

NO_RULE["while"] = (
    "a while loop runs a number of iterations known only at run time, so reverse mode "
    "cannot store its carries; write the loop with a fixed trip count (a `for` loop over "
    "range(n), tracejit.fori_loop with Python bounds, or tracejit.scan), which is "
    "differentiable")
NO_RULE["scan"] = "derivatives through scan are in progress"
