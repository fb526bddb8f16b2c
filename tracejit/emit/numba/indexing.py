"""Integer-array indexing in the Numba backend: `gather`, `scatter`, `scatter_add` as loops.

Native for the common form, `x[i0, i1, ..., <slices>]`: index arrays on the leading axes
(0-d or all of one 1-d length) followed by basic slices. Each index is wrapped when
negative and bounds-checked (IndexError, as NumPy), then the trailing slices are copied
element by element. Updates run in index order, so a repeated index keeps the last
assignment (`scatter`) or accumulates (`scatter_add`, `np.add.at`), as in NumPy. Other
forms go through object mode (see `calls.object_mode`).

Indexing by 0-d indices only (`x[i, 1:]`, `x[:, i]`, `x[i] = v` with a traced `i`: a loop
counter) is no call: the fusion plan reads the gather as a view and writes the scatter as
a slice update, at run-time offsets (`fusion.At`). Here each such index is wrapped and
checked once, before the loops read it (`check_indices`), and rendered (`offset`).

    # f:f64[:] = gather: index checks, reads are views  (model.py:9)
    f_k0 = np.intp(b)
    if f_k0 < 0:
        f_k0 += d3
    if f_k0 < 0 or f_k0 >= d3:
        raise IndexError("index " + str(b) + " is out of bounds for axis 0 with size " + ...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracejit.emit.numba import scalars
from tracejit.graph.ir import Eqn, Var
from tracejit.rewrite.fusion import (
    At,
    identity_map,
    index_axes,
    index_inputs,
    index_map,
    scalar_indexed,
)

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
    if scalar_indexed(eqn):  # a view in fusion plans (`view_checks`); here, a copy
        if not check:
            view_copy(w, eqn)
        return True
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


# --- indexing by 0-d indices: views and slice updates at run-time offsets ---------------


def index_name(w: Writer, var: Var, pos: int) -> str:
    return f"{w.name(var)}_k{pos}"


def check_indices(w: Writer, eqn: Eqn) -> None:
    """`<out>_k<pos>`: each 0-d index of `eqn`, wrapped when negative and checked against
    its axis (IndexError with NumPy's message). Unsigned indices never wrap."""
    x, out = eqn.inputs[0], eqn.outputs[0]
    for pos, (axis, v) in enumerate(zip(index_axes(eqn.params["spec"]), index_inputs(eqn),
                                        strict=True)):
        k, extent, i = index_name(w, out, pos), w.dim(x.shape[axis]), w.name(v)
        message = (f'"index " + str({i}) + " is out of bounds for axis {axis} with size " '
                   f"+ str({extent})")
        if v.dtype.kind == "u":
            w.emit(f"if {i} >= np.uint64({extent}):")
            w.emit(f"    raise IndexError({message})")
            w.emit(f"{k} = np.intp({i})")
            continue
        w.emit(f"{k} = np.intp({i})")
        w.emit(f"if {k} < 0:")
        w.emit(f"    {k} += {extent}")
        w.emit(f"if {k} < 0 or {k} >= {extent}:")
        w.emit(f"    raise IndexError({message})")


def offset(w: Writer, at: At) -> str:
    """The element an `At` offset reads: the checked index, sliced by the views between."""
    k = index_name(w, at.var, at.pos)
    if (at.scale, at.shift) == (1, 0):
        return k
    term = k if abs(at.scale) == 1 else f"{abs(at.scale)} * {k}"
    return f"np.uintp({w.dim(at.shift)} {'+' if at.scale > 0 else '-'} {term})"


def view_checks(w: Writer, eqn: Eqn) -> None:
    """The kernel of a gather the fusion plan reads as a view: its index checks."""
    w.comment(eqn, "index checks, reads are views")
    check_indices(w, eqn)


def view_copy(w: Writer, eqn: Eqn) -> None:
    """`y = x[i, 1:]` as a copy, element by element."""
    (y,) = eqn.outputs
    check_indices(w, eqn)
    w.allocate(y)
    depth = w.open_loops(list(range(y.ndim)), [w.dim(n) for n in y.shape], False)
    at = ", ".join(f"i{k}" for k in range(y.ndim))
    read = f"{w.name(eqn.inputs[0])}[{w.index(index_map(eqn, identity_map(y.ndim)))}]"
    w.emit(f"{w.name(y)}[{at}] = {read}" if y.ndim else f"{w.name(y)} = {read}")
    w.indent -= depth
