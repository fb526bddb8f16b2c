"""Find the user's frame: the innermost one outside tracejit and NumPy."""

from __future__ import annotations

import os
import sys

import numpy as np

from tracejit.graph.ir import Source

_SKIP = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
    "<__array_function__",
)


def user_source() -> Source | None:
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_SKIP):
            return Source(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None
