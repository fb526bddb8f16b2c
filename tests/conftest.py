"""Shared test set-up.

* tests/ is importable (cases.py, support.py).
* Semantics are tested on the NumPy interpreter: `config.backend` is "numpy" unless a
  test names a backend; the Numba backend has its own differential suites
  (tests/emit/test_numba_*.py).
* One compile cache for the whole run, every xdist worker included:
  `TRACEJIT_CACHE_DIR` defaults to `.cache/tracejit-tests` in the checkout, so a
  structure compiled by one test (or one earlier run) is loaded, not recompiled.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRACEJIT_CACHE_DIR", str(ROOT.parent / ".cache" / "tracejit-tests"))

import tracejit  # noqa: E402

tracejit.config.backend = "numpy"
