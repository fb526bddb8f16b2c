"""Tracing: the proxy array (`Tracer`), the tracing context, functionalization of
in-place updates and views, capture of globals, and the NumPy API on tracers."""
