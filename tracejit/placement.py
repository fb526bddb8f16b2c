"""Where a jitted call runs: CuPy arguments pick the CUDA backend.

A CuPy array is recognised without importing CuPy (its type's module, and the CUDA
array interface). It is traced through a NumPy stand-in of the same shape, dtype and
memory order (`np.empty`: address space only, never written or read), so tracing is
the same code whatever the arrays live on; the compiled program then gets the CuPy
arrays themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_device_array(x: Any) -> bool:
    """A CuPy array (or another array on a CUDA device that CuPy's module defines)."""
    return type(x).__module__.partition(".")[0] == "cupy" and hasattr(
        x, "__cuda_array_interface__")


def stand_in(x: Any) -> np.ndarray:
    """A NumPy array with `x`'s shape, dtype and memory order, to trace with."""
    order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
    return np.empty(x.shape, np.dtype(x.dtype), order=order)


def backend_for(backend: str, leaves: list[Any], fn_name: str) -> str:
    """The backend a call with these argument leaves compiles for: "auto" becomes
    "cuda" for CuPy arguments; a CPU backend given CuPy arrays is an error."""
    device = [x for x in leaves if is_device_array(x)]
    if not device:
        return backend
    if backend in ("auto", "cuda"):
        return "cuda"
    x = device[0]
    raise TypeError(
        f"{fn_name} was jitted with backend={backend!r}, which runs on the CPU, and got a "
        f"CuPy array ({x.dtype}{list(x.shape)}); use backend='auto' or 'cuda' to run it on "
        "the GPU, or pass x.get() to run it on the CPU")
