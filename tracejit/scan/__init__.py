"""Loops as graph nodes: the `scan` and `while` ops, their rules, and the user API."""

from tracejit.scan import autodiff, op
from tracejit.scan.api import fori_loop, scan, while_loop

del autodiff, op

__all__ = ["fori_loop", "scan", "while_loop"]
