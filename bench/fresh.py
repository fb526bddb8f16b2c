"""Measurements that need a fresh process each: the first call (with empty, then warm,
disk caches) and the peak memory of one call.

The parent starts `python -m bench.fresh first-call IMPL N` or `... peak-memory IMPL N`
in the repository root; the child prints one JSON line. Imports are done before the
clock starts: a first call is building, compiling and running the function.

Disk caches live in one temporary directory per round: tracejit's (`TRACEJIT_CACHE_DIR`),
Numba's (`NUMBA_CACHE_DIR`, functions compiled with `cache=True`), JAX's persistent
compilation cache and PyTensor's compiledir. The first process of each column finds them
empty; the second finds what the first wrote. A first call is one sample per process and
varies by tens of percent on a shared machine: the rows run `FIRST_CALL_ROUNDS` rounds,
each with new empty caches, and give each cell's median.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import peers
from bench.measure import Cell, Log, Row, factories
from bench.workload import Workload, short
from bench.workloads import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
FIRST_CALL = "haversine"
PEAK_MEMORY = "chain"
PEAK_MEMORY_IMPLS = ("numpy", "tracejit", "numexpr", "numba", "prange")
CHILD_TIMEOUT = 300


# --- in the child ----------------------------------------------------------------------


def first_call(impl: str, n: int) -> dict:
    workload = BY_NAME[FIRST_CALL]
    peers.numba_cache = True
    peers.preload(impl)
    if impl == "jax":
        use_jax_disk_cache(os.environ["JAX_COMPILATION_CACHE_DIR"])
    args = workload.inputs(n)
    start = time.perf_counter()
    built = factories(workload)[impl](args)
    built.fn(*built.prepare(args))
    return {"seconds": time.perf_counter() - start}


def use_jax_disk_cache(path: str) -> None:
    jax = peers.load_jax()
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def peak_memory(impl: str, n: int) -> dict:
    """Peak resident memory of one call above what was resident before it.

    Compiling and tracing happen in a first call at the same size; the memory it freed
    is handed back to the system (`malloc_trim`, else the allocator would keep it
    resident and hide the next call's temporaries), then the high-water mark is reset
    (Linux `clear_refs`). Without those, the warm-up runs at a small size instead."""
    workload = BY_NAME[PEAK_MEMORY]
    args = workload.inputs(n)
    built = factories(workload)[impl](args)
    prepared = built.prepare(args)
    can_reset = reset_peak_rss() and release_free_memory()
    warm_args = prepared if can_reset else built.prepare(workload.inputs(1000))
    built.fn(*warm_args)
    gc.collect()
    if can_reset:
        release_free_memory()
        reset_peak_rss()
    before = current_rss()
    out = built.fn(*prepared)
    peak = peak_rss()
    return {"peak_extra": peak - before, "output": np.asarray(out).nbytes,
            "inputs": sum(a.nbytes for a in args),
            "method": "clear_refs" if can_reset else "ru_maxrss"}


def release_free_memory() -> bool:
    """glibc's `malloc_trim(0)`: return freed heap pages to the system."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    libc.malloc_trim(0)
    return True


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def child_main(argv: list[str]) -> None:
    kind, impl, n = argv[0], argv[1], int(argv[2])
    measure = {"first-call": first_call, "peak-memory": peak_memory}[kind]
    try:
        result = measure(impl, n)
    except Exception as exc:  # reported in the parent's cell
        result = {"error": type(exc).__name__, "detail": str(exc).strip()[:300]}
    print(json.dumps(result))


# --- in the parent ---------------------------------------------------------------------


def run_child(kind: str, impl: str, n: int, env: dict[str, str]) -> dict:
    command = [sys.executable, "-m", "bench.fresh", kind, impl, str(n)]
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": "Timeout", "detail": f"no result after {CHILD_TIMEOUT} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()
        return {"error": f"exit {proc.returncode}", "detail": tail[-1] if tail else ""}
    return json.loads(lines[-1])


def cache_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    flags = [env["PYTENSOR_FLAGS"]] if env.get("PYTENSOR_FLAGS") else []
    env.update(
        TRACEJIT_CACHE_DIR=str(root / "tracejit"),
        NUMBA_CACHE_DIR=str(root / "numba"),
        JAX_COMPILATION_CACHE_DIR=str(root / "jax"),
        PYTENSOR_FLAGS=",".join([*flags, f"base_compiledir={root / 'pytensor'}"]),
    )
    return env


def cell_of(result: dict, key: str) -> Cell:
    if "error" in result:
        return Cell(note=result["error"], detail=result.get("detail", ""))
    return Cell(float(result[key]))


def columns(workload: Workload, impls: tuple[str, ...]) -> tuple[list[str], dict[str, Cell]]:
    """The columns to run, and the cells of those that cannot."""
    run, skipped = [], {}
    for impl, factory in factories(workload).items():
        if impl not in impls or factory is None:
            skipped[impl] = Cell(note="—")
        elif not peers.installed(impl):
            skipped[impl] = Cell(note="not installed")
        else:
            run.append(impl)
    return run, skipped


#: rounds of the first-call rows (each: a process with empty caches, then one with warm)
FIRST_CALL_ROUNDS = 9


def first_call_rows(n: int, log: Log, rounds: int = FIRST_CALL_ROUNDS) -> list[Row]:
    """Two rows: first call in a fresh process with empty disk caches, then warm ones;
    each cell the median of `rounds` rounds."""
    workload = BY_NAME[FIRST_CALL]
    # the no-rewrites column is timed in-process only (a child knows the standard ones)
    run, skipped = columns(workload, tuple(i for i in peers.IMPLS if i != peers.NO_REWRITES))
    label = f"{workload.name} N={short(n)}"
    empty = Row("first-call", f"{label}, empty cache", "first-call", dict(skipped))
    warm = Row("first-call", f"{label}, warm cache", "first-call", dict(skipped))
    samples: dict[tuple[str, str], list[Cell]] = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="tracejit-bench-") as tmp:
            env = cache_env(Path(tmp))
            for impl in run:
                for row in (empty, warm):
                    cell = cell_of(run_child("first-call", impl, n, env), "seconds")
                    samples.setdefault((row.label, impl), []).append(cell)
    for row in (empty, warm):
        for impl in run:
            row.cells[impl] = median_cell(samples[row.label, impl])
            cache = row.label.split(", ")[-1]
            log(f"  first call, {cache}: {impl}: {show(row.cells[impl], unit='s')} "
                f"(median of {rounds})")
    return [empty, warm]


def median_cell(cells: list[Cell]) -> Cell:
    """The median of the measured cells; the first failure where any failed."""
    failed = [c for c in cells if c.value is None]
    return failed[0] if failed else Cell(statistics.median(c.value for c in cells))


def peak_memory_row(n: int, log: Log) -> Row:
    workload = BY_NAME[PEAK_MEMORY]
    run, skipped = columns(workload, PEAK_MEMORY_IMPLS)
    row = Row("peak-memory", f"{workload.name} N={short(n)}", "memory", dict(skipped))
    for impl in run:
        result = run_child("peak-memory", impl, n, dict(os.environ))
        row.cells[impl] = cell_of(result, "peak_extra")
        row.output_bytes = result.get("output", row.output_bytes)
        log(f"  peak memory: {impl}: {show(row.cells[impl], scale=1e6, unit='MB')}")
    return row


def show(cell: Cell, unit: str, scale: float = 1.0) -> str:
    if cell.value is None:
        return f"{cell.note}: {cell.detail}"
    return f"{cell.value / scale:.4g} {unit}"


if __name__ == "__main__":
    child_main(sys.argv[1:])
