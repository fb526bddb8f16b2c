"""Where generated CUDA programs run: a GPU through CuPy, or the host CPU for the tests.

A device allocates arrays, compiles a translation unit and launches its kernels. The
program (`program.py`) is written against this small interface only, so the same launch
code, argument arithmetic and host loops run in the tests on `HostDevice`, which
compiles the very same source with the system C++ compiler and runs each kernel as one
block of one thread on NumPy arrays.

`CupyDevice` compiles with CuPy's `RawModule` (NVRTC; CuPy keeps compiled kernels in its
on-disk cache, keyed by the source text, so a new process does not recompile) and
launches on CuPy's current stream.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tracejit.emit.cuda.kernels import BLOCK
from tracejit.graph.ops import run_impl

NEEDS_GPU = ("backend='cuda' needs CuPy and an NVIDIA GPU: install CuPy for your CUDA "
             "version (pip install cupy-cuda12x), or use backend='numba' on the CPU. "
             "tracejit.show_source(f, *args, backend='cuda') shows the generated kernels "
             "without a GPU.")


class CupyDevice:
    """The GPU, through CuPy."""

    name = "cuda"

    def __init__(self) -> None:
        import cupy

        self.cp = cupy
        self.ndarray = cupy.ndarray
        self.sms = cupy.cuda.Device().attributes["MultiProcessorCount"]
        self.modules: dict[str, Any] = {}
        # no fused multiply-add across NumPy's separately rounded operations
        self.options = ("--std=c++17", "--fmad=false")

    def is_array(self, x: Any) -> bool:
        return isinstance(x, self.ndarray)

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        return self.cp.asarray(x, dtype=dtype)

    def to_host(self, x: Any) -> np.ndarray:
        return self.cp.asnumpy(x)

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.cp.empty(shape, dtype)

    def item(self, x: Any) -> Any:
        return x.item()  # waits for the kernels that compute it

    def module(self, source: str) -> Any:
        mod = self.modules.get(source)
        if mod is None:
            mod = self.modules[source] = self.cp.RawModule(code=source, options=self.options)
        return mod

    def grid(self, count: int) -> int:
        """Blocks for `count` threads' worth of grid-stride work: enough to fill the
        device several times over, no more."""
        return max(1, min(math.ceil(count / BLOCK), self.sms * 32))

    def splits(self, n_out: int, n_red: int) -> int:
        """Blocks per output of a reduction: one when there are outputs enough to fill
        the device, else enough for every SM to take part in a large reduction."""
        if n_out >= 2 * self.sms:
            return 1
        want = max(1, math.ceil(n_red / (BLOCK * 8)))
        return min(want, max(1, (self.sms * 8) // max(n_out, 1)))

    def launch(self, module: Any, name: str, blocks: int, args: list[Any]) -> None:
        fn = module.get_function(name)
        fn((blocks,), (BLOCK,), tuple(a if self.is_array(a) else np.int64(a) for a in args))

    def call(self, op: Any, arrays: list[Any], params: dict) -> list[Any]:
        """A library op on device arrays: NumPy's functions dispatch to CuPy's
        (`__array_function__`, `__array_ufunc__`); a result computed on the host (a
        constant) is copied to the device."""
        return [x if self.is_array(x) else self.asarray(x) for x in run_impl(op, arrays, params)]


class HostDevice:
    """The CPU: kernels compiled by the host C++ compiler, run as one thread. For tests:
    it checks the generated code and the launch arithmetic against NumPy."""

    name = "host"
    ndarray = np.ndarray

    def __init__(self, compiler: str | None = None, opt: str = "-O1") -> None:
        self.compiler = compiler or shutil.which("g++") or shutil.which("c++")
        if self.compiler is None:
            raise RuntimeError("HostDevice needs a C++ compiler (g++) on PATH")
        self.opt = opt
        self.modules: dict[str, ctypes.CDLL] = {}

    def is_array(self, x: Any) -> bool:
        return isinstance(x, np.ndarray)

    def asarray(self, x: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=dtype)

    def to_host(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    def item(self, x: Any) -> Any:
        return np.asarray(x).item()

    def module(self, source: str) -> ctypes.CDLL:
        lib = self.modules.get(source)
        if lib is None:
            lib = self.modules[source] = compile_host(source, self.compiler, self.opt)
        return lib

    def grid(self, count: int) -> int:
        return 1

    def splits(self, n_out: int, n_red: int) -> int:
        return 1

    def launch(self, module: ctypes.CDLL, name: str, blocks: int, args: list[Any]) -> None:
        fn = getattr(module, name)
        fn.restype = None
        fn(*(ctypes.c_void_p(a.ctypes.data) if isinstance(a, np.ndarray)
             else ctypes.c_longlong(int(a)) for a in args))

    def call(self, op: Any, arrays: list[Any], params: dict) -> list[Any]:
        return [np.asarray(x) for x in run_impl(op, arrays, params)]


def compile_host(source: str, compiler: str, opt: str) -> ctypes.CDLL:
    """Build `source` as a shared library (cached by its text in a temporary folder)."""
    digest = hashlib.sha256(f"{compiler} {opt}\n{source}".encode()).hexdigest()[:20]
    folder = Path(tempfile.gettempdir()) / f"tracejit-host-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    lib = folder / f"tu_{digest}.so"
    if not lib.exists():
        src = folder / f"tu_{digest}_{os.getpid()}.cpp"
        src.write_text(source)
        tmp = folder / f"tu_{digest}_{os.getpid()}.so"
        done = subprocess.run([compiler, opt, "-std=c++17", "-shared", "-fPIC", "-w",
                               "-o", str(tmp), str(src)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"host compile of generated CUDA source failed:\n{done.stderr}")
        os.replace(tmp, lib)  # atomic: a concurrent test worker sees all or nothing
        src.unlink()
    return ctypes.CDLL(str(lib))


_current: list[Any] = []


def current() -> Any:
    """The device programs run on: the innermost `use(...)`, else the GPU (CuPy)."""
    if _current:
        return _current[-1]
    return gpu()


@functools.cache
def gpu_or_error() -> Any:
    try:
        return CupyDevice()
    except Exception as exc:  # noqa: BLE001 - no CuPy, no driver, no device
        return exc


def gpu() -> CupyDevice:
    found = gpu_or_error()
    if isinstance(found, Exception):
        raise RuntimeError(f"{NEEDS_GPU} ({type(found).__name__}: {found})") from found
    return found


@contextlib.contextmanager
def use(device: Any) -> Iterator[Any]:
    """Run CUDA programs on `device` inside the block (tests: `use(HostDevice())`)."""
    _current.append(device)
    try:
        yield device
    finally:
        _current.pop()
