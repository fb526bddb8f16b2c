"""Loops as graph nodes: the `scan` and `while` ops, their rules, and the user API."""

from tracejit.scan import autodiff, checks, op
from tracejit.scan.api import fori_loop, scan, while_loop
from tracejit.scan.convert import show_converted
from tracejit.scan.loops import unroll

del autodiff, checks, op

__all__ = ["fori_loop", "scan", "show_converted", "unroll", "while_loop"]
