"""Timing of one workload at one size: build every column, check it agrees with NumPy,
then time all of them interleaved and keep the medians.

Each timed block repeats one call enough times to run for `block_seconds`; the blocks
of all columns are interleaved round by round (rotating the order), so drift and
neighbours' noise on these shared 2-core machines hit every column alike. The first call
of every column (its compile) is the agreement check and is never timed.
"""

from __future__ import annotations

import contextlib
import gc
import math
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from bench import peers
from bench.peers import Impl
from bench.workload import Workload

Log = Callable[[str], None]


@dataclass
class Cell:
    """One column of a row: a value (seconds per call, or bytes for memory rows), or
    a short note saying why there is none ("—" not applicable, "not installed",
    "WRONG", an exception class) and its longer `detail`."""

    value: float | None = None
    note: str = ""
    detail: str = ""


@dataclass
class Row:
    workload: str
    label: str
    kind: str = "time"  # "time", "first-call" or "memory"
    cells: dict[str, Cell] = field(default_factory=dict)
    bytes_moved: int | None = None  # per call, for GB/s
    output_bytes: int | None = None  # memory rows: what the call must allocate


@dataclass(frozen=True)
class Settings:
    rounds: int = 7
    min_rounds: int = 3
    block_seconds: float = 0.02
    #: after `min_rounds`, stop adding rounds once a row has spent this long timing
    row_budget: float = 25.0
    #: pause after each block of a BLAS-heavy workload (OpenBLAS threads spin ~0.1 s)
    blas_pause: float = 0.15
    #: a column whose build and first call (its compile) take longer is a "Timeout" cell
    build_timeout: float = 60.0
    #: a column slower than this per call is timed once, not in every round
    slow_call: float = 5.0


class Timeout(BaseException):
    """A column took longer than `Settings.build_timeout` to build and call once. A
    BaseException, like KeyboardInterrupt, so that a library's `except Exception`
    (a compiler's fallback path) does not swallow it."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise `Timeout` in this block after `seconds` (main thread on Unix; else no limit).

    The signal lands between Python bytecodes, so a compiler is unwound cleanly. It
    repeats every second until the block exits: Python drops an exception raised
    inside a garbage-collector callback or `__del__`, and the next one must land."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Timeout(f"no result after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def failure(exc: BaseException) -> Cell:
    message = str(exc).strip().splitlines()
    return Cell(note=type(exc).__name__, detail=message[0][:300] if message else "")


def leaves(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def disagreement(reference: Any, result: Any, rtol: float, same_dtype: bool) -> str | None:
    """Why `result` does not agree with NumPy's `reference`, or None: structure, shapes,
    dtypes (where asked: tracejit promises NumPy's), then values within rtol (atol is
    rtol times the largest |value|)."""
    expected, got = leaves(reference), leaves(result)
    if len(expected) != len(got):
        return f"{len(got)} results, NumPy has {len(expected)}"
    for want, have in zip(expected, got, strict=True):
        want, have = np.asarray(want), np.asarray(have)
        if want.shape != have.shape:
            return f"shape {have.shape}, NumPy's is {want.shape}"
        if same_dtype and want.dtype != have.dtype:
            return f"dtype {have.dtype}, NumPy's is {want.dtype}"
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        if not np.allclose(have, want, rtol=rtol, atol=rtol * scale, equal_nan=True):
            return f"values differ beyond rtol={rtol:g}"
    return None


def factories(workload: Workload) -> dict[str, Callable[[tuple], Impl] | None]:
    """Every column's factory, None where the workload has none for that peer."""
    own = {"numpy": lambda args: Impl(workload.numpy), "tracejit": workload.tracejit,
           peers.NO_REWRITES: lambda args: peers.without_rewrites(workload.tracejit(args)),
           **workload.peers}
    return {name: own.get(name) for name in peers.IMPLS}


def ready_columns(workload: Workload, args: tuple, cells: dict[str, Cell], timeout: float,
                  log: Log) -> dict[str, tuple[Callable, tuple]]:
    """Build each column and call it once on its own copy of the inputs (its compile);
    return the callable and prepared inputs of each column that agrees with NumPy, and
    put in `cells` why each other column has no time."""
    own = workload.fresh_args(args)
    reference = workload.result(workload.numpy(*own), own)
    ready = {"numpy": (workload.numpy, own)}
    for name, factory in factories(workload).items():
        if name == "numpy":
            continue
        if factory is None or not peers.installed(name):
            cells[name] = Cell(note="—" if factory is None else "not installed")
            continue
        start = time.perf_counter()
        try:
            with deadline(timeout):
                impl = factory(args)
                prepared = impl.prepare(workload.fresh_args(args))
                result = workload.result(impl.fn(*prepared), prepared)
            wrong = disagreement(reference, result, workload.rtol,
                                 name in ("tracejit", peers.NO_REWRITES))
        except (Exception, Timeout) as exc:  # a failing column is a cell, never a crash of the run
            cells[name] = failure(exc)
            log(f"  {name}: {cells[name].note}: {cells[name].detail}")
            continue
        seconds = time.perf_counter() - start
        if wrong:
            cells[name] = Cell(note="WRONG", detail=wrong)
            log(f"  {name}: WRONG, {wrong}")
            continue
        log(f"  {name}: built and first call {seconds:.3f} s, agrees")
        ready[name] = (impl.fn, prepared)
    return ready


def timed(fn: Callable, args: tuple, number: int) -> float:
    """Seconds for `number` calls, garbage collection off (as timeit does)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable, args: tuple, block_seconds: float) -> tuple[int, float]:
    """How many calls make one block last at least `block_seconds`, and the seconds per
    call that block took."""
    number = 1
    while True:
        elapsed = timed(fn, args, number)
        if elapsed >= block_seconds:
            return number, elapsed / number
        if elapsed < 1e-3:
            number *= 10  # too short to extrapolate from
        else:
            number = math.ceil(number * block_seconds / elapsed * 1.1)


def time_interleaved(work: dict[str, tuple[Callable, tuple]], settings: Settings,
                     pause: float, cells: dict[str, Cell]) -> dict[str, float]:
    """Median seconds per call of each entry, blocks interleaved round by round. An entry
    slower than `settings.slow_call` per call keeps its calibration block as its only
    sample; one that times out calibrating gets a "Timeout" cell instead."""
    numbers: dict[str, int] = {}
    samples: dict[str, list[float]] = {}
    for name, (fn, args) in work.items():
        try:
            with deadline(settings.build_timeout):
                number, seconds = calibrate(fn, args, settings.block_seconds)
        except Timeout as exc:
            cells[name] = failure(exc)
            continue
        samples[name] = [seconds]
        if seconds < settings.slow_call:
            numbers[name] = number
            samples[name] = []  # warm-up samples are not interleaved: drop them
        time.sleep(pause)
    names = list(numbers)
    start = time.perf_counter()
    for round_index in range(settings.rounds if names else 0):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            fn, args = work[name]
            samples[name].append(timed(fn, args, numbers[name]) / numbers[name])
            time.sleep(pause)
        gc.collect()
        spent = time.perf_counter() - start
        if round_index + 1 >= settings.min_rounds and spent > settings.row_budget:
            break
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(workload: Workload, size: int, settings: Settings, log: Log) -> Row:
    """One row: every column of `workload` at `size`, checked, then timed."""
    label = workload.size_label(size)
    log(f"{workload.name} [{label}]")
    cells: dict[str, Cell] = {}
    ready = ready_columns(workload, workload.inputs(size), cells, settings.build_timeout, log)
    pause = settings.blas_pause if workload.blas else 0.0
    medians = time_interleaved(ready, settings, pause, cells)
    for name, seconds in medians.items():
        cells[name] = Cell(seconds)
    log("  median: " + ", ".join(f"{name} {seconds * 1e3:.4g} ms"
                                 for name, seconds in medians.items()))
    moved = workload.bytes_moved(size) if workload.bytes_moved else None
    return Row(workload.name, label, "time", cells, bytes_moved=moved)


def copy_bandwidth(n: int, repeats: int = 5) -> float:
    """GB/s of `np.copyto` between two preallocated float64 arrays (read plus write)."""
    src = np.random.default_rng(0).random(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    seconds = statistics.median(timed(np.copyto, (dst, src), 1) for _ in range(repeats))
    return 2 * src.nbytes / seconds / 1e9
