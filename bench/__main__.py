"""tracejit's benchmark runner (shared/BENCHMARKS.md): every workload in plain NumPy, run
through NumPy, tracejit and each installed peer, checked for agreement, then timed.

Run from the repository root:

    python -m bench                      # the sizes of BENCHMARKS.md (< 10 min on 2 cores)
    python -m bench --quick              # small sizes only, a smoke check
    python -m bench --only haversine     # workloads whose name contains this
    python -m bench --json results.json  # also write the data
    python -m bench --rewrites-off       # a column of tracejit without graph rewrites

Peers: `pip install -e '.[bench]'` (numexpr, JAX, PyTensor; Numba is a dependency).
Progress goes to stderr as it runs; the table is printed to stdout at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import asdict, replace

from bench import fresh, peers, report
from bench.measure import Row, Settings, copy_bandwidth, measure
from bench.workloads import WORKLOADS

FRESH_ROWS = ("first-call", "peak-memory")
FIRST_CALL_N = 10_000
PEAK_MEMORY_N = {"quick": 1_000_000, "full": 10_000_000}
COPY_N = {"quick": 1_000_000, "full": 10_000_000}  # elements, for the machine's copy GB/s
QUICK = Settings(rounds=3, min_rounds=3, block_seconds=0.01, row_budget=5.0, build_timeout=30.0,
                 slow_call=1.0)


def parse(argv: list[str]) -> argparse.Namespace:
    summary = __doc__.split("\n\n")[0].replace("\n", " ")
    parser = argparse.ArgumentParser(prog="python -m bench", description=summary)
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke check)")
    names = ", ".join([w.name for w in WORKLOADS] + list(FRESH_ROWS))
    parser.add_argument("--only", metavar="NAME", default="",
                        help=f"run the workloads whose name contains NAME ({names})")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--rewrites-off", action="store_true",
                        help="add a column: tracejit with its graph rewrites turned off")
    parser.add_argument("--rounds", type=int, help="timed rounds per row (default 7, quick 3)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="per column, for building plus the first call, and for "
                             "calibrating (default 60, quick 30); past it the cell reads Timeout")
    return parser.parse_args(argv)


START = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the run started."""
    print(f"[{time.perf_counter() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def quiet_peers() -> None:
    """Peers' advice about their own setup is not a benchmark result."""
    for module in ("pytensor", "numba", "jax"):
        warnings.filterwarnings("ignore", module=module)
        warnings.filterwarnings("ignore", message=f".*{module}.*", category=UserWarning)


def run(options: argparse.Namespace) -> tuple[list[Row], Settings, float | None]:
    scale = "quick" if options.quick else "full"
    settings = QUICK if options.quick else Settings()
    if options.rounds:
        settings = replace(settings, rounds=options.rounds,
                           min_rounds=min(settings.min_rounds, options.rounds))
    if options.timeout:
        settings = replace(settings, build_timeout=options.timeout)
    rows: list[Row] = []
    for workload in WORKLOADS:
        if options.only in workload.name:
            for size in workload.quick_sizes if options.quick else workload.sizes:
                rows.append(measure(workload, size, settings, log))
    if options.only in "first-call":
        log("first call in a fresh process")
        rounds = 2 if options.quick else fresh.FIRST_CALL_ROUNDS
        rows += fresh.first_call_rows(FIRST_CALL_N, log, rounds)
    if options.only in "peak-memory":
        log("peak memory in a fresh process")
        rows.append(fresh.peak_memory_row(PEAK_MEMORY_N[scale], log))
    copy_gbps = copy_bandwidth(COPY_N[scale]) if any(r.bytes_moved for r in rows) else None
    return rows, settings, copy_gbps


def main(argv: list[str] | None = None) -> None:
    options = parse(sys.argv[1:] if argv is None else argv)
    quiet_peers()
    if options.rewrites_off:
        peers.compare_rewrites()
    rows, settings, copy_gbps = run(options)
    log("done\n")
    print(report.render(rows, copy_gbps))
    if options.json:
        report.write_json(options.json, rows, {**asdict(settings), "quick": options.quick},
                          copy_gbps)


if __name__ == "__main__":
    main()
