"""Graph-to-graph passes. Each is a plain `Graph -> Graph` function whose docstring states
the invariant it keeps."""

from tracejit.rewrite.dce import eliminate_dead_code

__all__ = ["eliminate_dead_code"]
