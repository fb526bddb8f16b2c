"""The table printed at the end of a run, and the same data as JSON.

Time rows: each cell is the median per call and "× NumPy" (NumPy's time over the
column's, higher is faster). "tracejit/best" is tracejit's time over the fastest peer's
(lower is better; NumPy is not a peer). Memory rows: peak resident bytes during the call
above what was resident before it, and that as a multiple of the output's bytes (1.00 is
inputs + output only). First-call rows: seconds from building to the first result.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

from bench import peers
from bench.measure import Cell, Row

UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))
CELL_WIDTH = 15
LEGEND = __doc__.split("\n\n", 1)[1].strip()


def speedup(row: Row, impl: str) -> float | None:
    """NumPy's time over `impl`'s (time rows), or peak over output bytes (memory rows)."""
    value = row.cells.get(impl, Cell()).value
    if value is None or value <= 0:
        return None
    if row.kind == "memory":
        return value / row.output_bytes if row.output_bytes else None
    base = row.cells.get("numpy", Cell()).value
    return base / value if row.kind == "time" and base else None


def best_peer(row: Row) -> tuple[str, float] | None:
    timed = [(cell.value, name) for name, cell in row.cells.items()
             if name in peers.PEERS and cell.value is not None]
    return min(timed)[::-1] if timed else None


def versus_best(row: Row) -> tuple[float, str] | None:
    """tracejit's value over the best peer's, and that peer."""
    best = best_peer(row)
    mine = row.cells.get("tracejit", Cell()).value
    if best is None or mine is None:
        return None
    return mine / best[1], best[0]


def gbps(row: Row, impl: str) -> float | None:
    value = row.cells.get(impl, Cell()).value
    if not row.bytes_moved or value is None:
        return None
    return row.bytes_moved / value / 1e9


def unit_of(row: Row) -> tuple[str, float]:
    if row.kind == "memory":
        return "MB", 1e6
    values = [c.value for c in row.cells.values() if c.value is not None]
    smallest = min(values, default=1.0)
    return next((name, scale) for name, scale in UNITS
                if smallest >= 0.1 * scale or name == "µs")


def number(value: float) -> str:
    """Three or four significant digits, never an exponent."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def multiple(ratio: float) -> str:
    return f"×{ratio:.0f}" if ratio >= 10 else f"×{ratio:.2f}"


def cell_text(row: Row, impl: str, scale: float) -> str:
    cell = row.cells.get(impl, Cell(note="—"))
    if cell.value is None:
        return cell.note[:CELL_WIDTH - 1]
    text = number(cell.value / scale)
    ratio = speedup(row, impl)
    return f"{text} {multiple(ratio)}" if ratio is not None else text


def table(rows: list[Row]) -> str:
    name_width = max([len("workload")] + [len(r.workload) for r in rows]) + 2
    label_width = max([len("size")] + [len(r.label) for r in rows]) + 2
    header = ("workload".ljust(name_width) + "size".ljust(label_width) + "unit".ljust(5)
              + "".join(name.ljust(CELL_WIDTH) for name in peers.IMPLS) + "tracejit/best")
    lines = [header, "-" * len(header)]
    for row in rows:
        unit, scale = unit_of(row)
        best = versus_best(row)
        line = (row.workload.ljust(name_width) + row.label.ljust(label_width) + unit.ljust(5)
                + "".join(cell_text(row, name, scale).ljust(CELL_WIDTH) for name in peers.IMPLS)
                + (f"{best[0]:.2f} ({best[1]})" if best else ""))
        lines.append(line.rstrip())
    return "\n".join(lines)


def bandwidth_lines(rows: list[Row], copy_gbps: float | None) -> list[str]:
    lines = []
    for row in rows:
        rates = [(name, gbps(row, name)) for name in peers.IMPLS]
        shown = ", ".join(f"{name} {rate:.1f}" for name, rate in rates if rate is not None)
        if shown:
            lines.append(f"  {row.workload} [{row.label}]: {shown}")
    if lines and copy_gbps is not None:
        lines.append(f"  machine copy bandwidth (np.copyto, read + write): {copy_gbps:.1f}")
    return ["achieved GB/s (bytes read + written per call / median time):", *lines] \
        if lines else []


def note_lines(rows: list[Row]) -> list[str]:
    """The reason behind every failed cell (exception class in the table)."""
    lines = []
    for row in rows:
        for name, cell in row.cells.items():
            if cell.value is None and cell.detail:
                lines.append(f"  {row.workload} [{row.label}] {name}: {cell.note}: {cell.detail}")
    return ["notes:", *lines] if lines else []


def render(rows: list[Row], copy_gbps: float | None = None) -> str:
    parts = [table(rows), "", LEGEND]
    for extra in (bandwidth_lines(rows, copy_gbps), note_lines(rows)):
        if extra:
            parts += ["", "\n".join(extra)]
    return "\n".join(parts)


def row_data(row: Row) -> dict:
    data = asdict(row)
    data["cells"] = {name: data["cells"][name] for name in peers.IMPLS if name in data["cells"]}
    for name, cell in data["cells"].items():
        cell["x_numpy"] = speedup(row, name) if row.kind == "time" else None
        cell["peak_over_output"] = speedup(row, name) if row.kind == "memory" else None
        cell["gbps"] = gbps(row, name)
    best = versus_best(row)
    data["tracejit_over_best_peer"] = {"ratio": best[0], "peer": best[1]} if best else None
    return data


def write_json(path: str, rows: list[Row], settings: dict, copy_gbps: float | None) -> None:
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(),
               "python": platform.python_version(),
               "versions": {name: peers.version(name) for name in peers.IMPLS}}
    document = {"machine": machine, "settings": settings, "copy_gbps": copy_gbps,
                "units": {"time": "seconds per call", "first-call": "seconds",
                          "memory": "bytes above resident before the call"},
                "rows": [row_data(row) for row in rows]}
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
