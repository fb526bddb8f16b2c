"""Integer-array indexing in the Numba backend: `gather`, `scatter`, `scatter_add` as loops.

Native for the common form, `x[i0, i1, ..., <slices>]`: index arrays on the leading axes
(0-d or all of one 1-d length) followed by basic slices. Each index is wrapped when
negative and bounds-checked (IndexError, as NumPy), then the trailing slices are copied
element by element. Updates run in index order, so a repeated index keeps the last
assignment (`scatter`) or accumulates (`scatter_add`, `np.add.at`), as in NumPy. Other
forms go through object mode (see `calls.object_mode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracejit.emit.numba import scalars
from tracejit.graph.ir import Eqn, Var

if TYPE_CHECKING:
    from tracejit.emit.numba.writer import Writer


def native_form(x: Var, spec: tuple, indices: tuple[Var, ...]) -> bool:
    m = len(indices)
    lengths = {v.shape[0] for v in indices if v.ndim == 1}
    return (m > 0 and all(item[0] == "a" for item in spec[:m])
            and all(item[0] == "s" for item in spec[m:])
            and all(v.ndim <= 1 and v.dtype.kind in "iu" for v in indices)
            and len(lengths) == 1 and scalars.numba_dtype_ok(x.dtype))


def open_rows(w: Writer, x: Var, indices: tuple[Var, ...], what: str) -> tuple[str, list[str]]:
    """`for j in range(n):` and the wrapped, checked index of each leading axis."""
    n = next((v.shape[0] for v in indices if v.ndim == 1), 1)
    j = w.temp("j")
    w.emit(f"for {j} in range({w.dim(n)}):")
    w.indent += 1
    picks = []
    for axis, v in enumerate(indices):
        k, extent = w.temp("k"), w.dim(x.shape[axis])
        w.emit(f"{k} = {w.name(v)}[{j}]" if v.ndim else f"{k} = {w.name(v)}")  # 0-d: a scalar
        w.emit(f"if {k} < 0:")
        w.emit(f"    {k} += {extent}")
        w.emit(f"if {k} < 0 or {k} >= {extent}:")
        w.emit(f'    raise IndexError("index out of bounds in {what}")')
        picks.append(k)
    return j, picks


def open_slices(w: Writer, spec: tuple, m: int) -> tuple[list[str], list[str]]:
    """Loops over the trailing slices: (indices into x, indices into the region). Starts
    and steps are run-time slots, like sizes: other bounds do not change the text."""
    into_x, into_region = [], []
    for start, stop, step in (item[1:] for item in spec[m:]):
        s = w.temp("s")
        w.emit(f"for {s} in range({w.dim(len(range(start, stop, step)))}):")
        w.indent += 1
        into_x.append(f"{w.dim(start)} + {s} * {w.dim(step)}")
        into_region.append(s)
    return into_x, into_region


def gather(w: Writer, eqn: Eqn, check: bool) -> bool:
    x, *indices = eqn.inputs
    (y,) = eqn.outputs
    spec, m = eqn.params["spec"], len(indices)
    if check:
        return native_form(x, spec, tuple(indices))
    w.emit(f"{w.name(y)} = np.empty({w.shape_tuple(y.shape)}, dtype={scalars.cast(y.dtype)})")
    depth = w.indent
    j, picks = open_rows(w, x, tuple(indices), "x[index_array]")
    into_x, into_y = open_slices(w, spec, m)
    row = [j]
    w.emit(f"{w.name(y)}[{', '.join(row + into_y)}] = {w.name(x)}[{', '.join(picks + into_x)}]")
    w.indent = depth
    return True


def scatter(w: Writer, eqn: Eqn, check: bool) -> bool:
    """`scatter` (x[idx] = u, the last write wins) and `scatter_add` (np.add.at)."""
    x, u, *indices = eqn.inputs
    (y,) = eqn.outputs
    spec, m = eqn.params["spec"], len(indices)
    if check:
        return native_form(x, spec, tuple(indices)) and u.dtype == x.dtype
    w.emit(f"{w.name(y)} = {w.name(x)}.copy()")
    depth = w.indent
    j, picks = open_rows(w, x, tuple(indices), "x[index_array] = value")
    into_x, into_u = open_slices(w, spec, m)
    target = f"{w.name(y)}[{', '.join(picks + into_x)}]"
    update = f"{w.name(u)}[{', '.join([j] + into_u)}]"
    w.emit(f"{target} {'+=' if eqn.op == 'scatter_add' else '='} {update}")
    w.indent = depth
    return True


NATIVE = {"gather": gather, "scatter": scatter, "scatter_add": scatter}
