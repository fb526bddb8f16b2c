"""The disk cache of generated modules.

Numba caches compiled code next to a function's source file, keyed by that file's stamp.
So each generated module is written to the cache directory under a name that is a hash
of its text (`tj_<function>_<hash>.py`), and Numba's own cache (`cache=True`) keeps the
machine code beside it in `__pycache__`. A new process that traces the same structure
writes nothing and compiles nothing.

Directory: `$TRACEJIT_CACHE_DIR`, else `$XDG_CACHE_HOME/tracejit`, else
`~/.cache/tracejit`; a temporary directory if none of those can be written.

Safety: files are written to a temporary name and renamed into place, so a concurrent
writer (another process compiling the same function) never exposes a half-written file;
an existing module file is used only if its text is exactly the expected text; any
failure to load cached machine code removes that module's cache files and compiles
afresh (`purge`), so a corrupt or foreign entry costs a compile, never a wrong result
or a crash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numba
import numpy as np

from tracejit.emit.numba import blas

log = logging.getLogger("tracejit")

ENV_VAR = "TRACEJIT_CACHE_DIR"
_modules: dict[str, ModuleType] = {}
_fallback_dir: Path | None = None


def cache_dir() -> Path:
    """Where generated modules live (created on first use)."""
    global _fallback_dir
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "tracejit"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    if _fallback_dir is None:
        _fallback_dir = Path(tempfile.mkdtemp(prefix="tracejit-cache-"))
        log.warning("tracejit: cache directory %s is not writable; compiled code is kept in "
                    "%s for this process only (set %s to a writable directory)",
                    path, _fallback_dir, ENV_VAR)
    return _fallback_dir


def fingerprint() -> str:
    """What besides a module's own text decides its machine code: the runtime helpers,
    vector math and BLAS binding it imports, the BLAS library that binding found, and
    the versions of Python, NumPy and Numba."""
    helpers = [Path(__file__).with_name(f"{name}.py").read_bytes()
               for name in ("runtime", "vecmath", "blas")]
    text = b"|".join([*helpers, blas.describe().encode(), sys.version.encode(),
                      np.__version__.encode(), numba.__version__.encode()])
    return hashlib.sha256(text).hexdigest()[:16]


def module_name(stem: str, source: str) -> str:
    return f"tj_{stem}_{hashlib.sha256(source.encode()).hexdigest()[:20]}"


def load(source: str, stem: str) -> ModuleType:
    """The module for `source`: from this process's table, else from the cache
    directory (writing it there first if missing or different)."""
    name = module_name(stem, source)
    module = _modules.get(name)
    if module is not None:
        return module
    path = cache_dir() / f"{name}.py"
    if read_text(path) != source:
        write_atomically(path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _modules[name] = module
    return module


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other users may share the cache
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def purge(module: ModuleType) -> None:
    """Remove Numba's cached machine code for `module` (after it failed to load)."""
    pycache = Path(module.__file__).parent / "__pycache__"
    for path in pycache.glob(f"{module.__name__}.*"):
        try:
            path.unlink()
        except OSError:
            pass
