"""Graph-to-graph passes and the rewrite engine.

Whole-graph passes are plain `Graph -> Graph` functions whose docstrings state the
invariant they keep (dead code, common subexpressions, constant folding); rules are data
(`engine.Rule`: a pattern and a replacement) in sets by purpose (`rules`), run to a
fixpoint by `engine.rewrite`. `optimize` is the pipeline every compiled graph goes
through; fusion planning (`fusion`) is the backends' last step.
"""

from tracejit.rewrite.cse import merge_common_subexpressions
from tracejit.rewrite.dce import eliminate_dead_code
from tracejit.rewrite.engine import ANY, Fired, P, Rule, RuleSet, rewrite
from tracejit.rewrite.fold import fold_constants
from tracejit.rewrite.pipeline import Optimized, optimize

__all__ = ["ANY", "Fired", "Optimized", "P", "Rule", "RuleSet", "eliminate_dead_code",
           "fold_constants", "merge_common_subexpressions", "optimize", "rewrite"]
