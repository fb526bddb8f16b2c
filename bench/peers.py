"""The implementations a workload is timed through, and how each peer is wrapped.

Every column of the table is an `Impl`: a callable plus a `prepare` step that turns the
NumPy inputs into what the callable takes (JAX keeps its inputs on its device, PyTensor
wants 0-d arrays for scalars). Peers are optional packages, imported lazily; a peer that
is not installed is a skipped column.

Workloads are written for the peers in two shapes:
- plain NumPy functions (what a user writes), handed to `tracejit.jit` and `numba.njit`;
- `f(xp, *arrays)` functions written against a NumPy-like module, for JAX (`xp` is
  `jax.numpy`) and PyTensor (`xp` is `pytensor.tensor`, the arrays are symbols).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: peer columns, in table order (NumPy and tracejit come first, always)
PEERS = ("numexpr", "numba", "prange", "jax", "pytensor")
IMPLS = ("numpy", "tracejit", *PEERS)

MODULES = {"numexpr": "numexpr", "numba": "numba", "prange": "numba", "jax": "jax",
           "pytensor": "pytensor", "tracejit": "tracejit", "numpy": "numpy",
           "no-rewrites": "tracejit"}
#: the extra column `--rewrites-off` adds: tracejit with `config.rewrites` off
NO_REWRITES = "no-rewrites"


def compare_rewrites() -> None:
    """Add the column of tracejit without its rewrite pipeline, after tracejit's."""
    global IMPLS
    if NO_REWRITES not in IMPLS:
        IMPLS = ("numpy", "tracejit", NO_REWRITES, *PEERS)

#: compile Numba functions with `cache=True` (set by the fresh-process measurements)
numba_cache = False

#: PyTensor's C backend: the C virtual machine linker with the fast_run rewrites
PYTENSOR_MODE = "CVM"


@dataclass(frozen=True)
class Impl:
    """A callable to time, and how to turn the NumPy inputs into its own (once)."""

    fn: Callable[..., Any]
    prepare: Callable[[tuple], tuple] = tuple


@functools.cache
def installed(impl: str) -> bool:
    return importlib.util.find_spec(MODULES[impl]) is not None


def version(impl: str) -> str | None:
    """The installed version of the package behind a column, or None."""
    if not installed(impl):
        return None
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(MODULES[impl])
    except PackageNotFoundError:
        return "?"


def preload(impl: str) -> None:
    """Import (and configure) the package behind a column, so a first-call timing
    measures compiling and running, not importing."""
    if impl == "jax":
        load_jax()
    elif impl == "pytensor":
        load_pytensor()
    elif installed(impl):
        importlib.import_module(MODULES[impl])
        if MODULES[impl] == "tracejit":  # its CPU backend loads on the first compile
            importlib.import_module("tracejit.emit.numba")


# --- tracejit --------------------------------------------------------------------------


def tracejit_impl(fn: Callable) -> Impl:
    import tracejit

    return Impl(tracejit.jit(fn))


def tracejit_grad_impl(fn: Callable, argnums: tuple[int, ...]) -> Impl:
    """`jit(grad(fn))`: raises AttributeError (shown in the cell) until `grad` exists."""
    import tracejit

    return Impl(tracejit.jit(tracejit.grad(fn, argnums=argnums)))


def without_rewrites(impl: Impl) -> Impl:
    """The same jitted function, compiled (on its first call) and called with
    `config.rewrites` off: the graph goes to the backend as traced."""
    import tracejit

    def call(*args: Any) -> Any:
        saved, tracejit.config.rewrites = tracejit.config.rewrites, False
        try:
            return impl.fn(*args)
        finally:
            tracejit.config.rewrites = saved

    return Impl(call, impl.prepare)


# --- Numba -----------------------------------------------------------------------------


def njit(fn: Callable, **options: Any) -> Callable:
    import numba

    return numba.njit(fn, cache=numba_cache, **options)


def numba_impl(fn: Callable) -> Impl:
    """Numba `njit` on the plain NumPy code, as it is."""
    return Impl(njit(fn))


def prange_impl(fn: Callable) -> Impl:
    """A hand-written loop kernel: parallel over `prange`, strict IEEE (no fastmath)."""
    return Impl(njit(fn, parallel=True, fastmath=False))


# --- numexpr ---------------------------------------------------------------------------


def numexpr_impl(expr: str, names: str, out_arg: int | None = None) -> Impl:
    """`numexpr.evaluate(expr)` with the call's arguments bound to `names` (split on
    spaces); with `out_arg`, that argument is the preallocated output."""
    import numexpr

    keys = names.split()

    def evaluate(*args: Any) -> Any:
        local = dict(zip(keys, args, strict=False))  # the output argument has no name
        out = None if out_arg is None else args[out_arg]
        return numexpr.evaluate(expr, local_dict=local, out=out)

    return Impl(evaluate)


# --- JAX -------------------------------------------------------------------------------


@functools.cache
def load_jax() -> Any:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64 workloads stay float64
    return jax


def jax_impl(fn_xp: Callable, grad_argnums: tuple[int, ...] | None = None) -> Impl:
    """`jax.jit(fn)` (or `jax.jit(jax.grad(fn))`), inputs moved to the device once,
    results waited for (JAX dispatches asynchronously)."""
    jax = load_jax()
    fn = functools.partial(fn_xp, jax.numpy)
    if grad_argnums is not None:
        fn = jax.grad(fn, argnums=grad_argnums)
    compiled = jax.jit(fn)

    def call(*args: Any) -> Any:
        return jax.block_until_ready(compiled(*args))

    def to_device(args: tuple) -> tuple:
        return tuple(jax.device_put(a) if isinstance(a, np.ndarray) else a for a in args)

    return Impl(call, to_device)


# --- PyTensor --------------------------------------------------------------------------


@functools.cache
def load_pytensor() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not link to a BLAS" is expected with pip
        import pytensor
        import pytensor.tensor
    return pytensor


def pytensor_impl(fn_xp: Callable, args: tuple,
                  grad_argnums: tuple[int, ...] | None = None) -> Impl:
    """A PyTensor function (C backend, `trust_input=True`) of `fn_xp(pt, *symbols)`,
    with one symbol per argument of the example `args` (same dtype and rank); with
    `grad_argnums`, the gradient of that scalar with respect to those arguments."""
    pytensor = load_pytensor()
    pt = pytensor.tensor
    symbols = [pt.tensor(dtype=np.asarray(a).dtype, shape=(None,) * np.ndim(a)) for a in args]
    output = fn_xp(pt, *symbols)
    if grad_argnums is not None:
        output = pt.grad(output, [symbols[i] for i in grad_argnums])
    compiled = pytensor.function(symbols, output, mode=PYTENSOR_MODE, trust_input=True)

    def as_arrays(values: tuple) -> tuple:
        return tuple(np.asarray(v) for v in values)  # trust_input takes arrays only

    return Impl(compiled, as_arrays)
