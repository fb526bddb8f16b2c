"""Seeing inside tracejit: graphs as text and pictures (`make_graph`, `render`), `explain`,
NaN hunting (`debug_nans`), run-time printing (`debug_print`), and the records behind the
recompilation log.

Kept free of imports at package level: `tracejit.jit` imports `debug.recompile`, and the
other modules import `tracejit.jit`.
"""
