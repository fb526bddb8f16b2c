"""Writes a fusion plan as the source of one Python module with one Numba entry function.

The text is meant to be read: one statement per line, variables named as in the printed
graph (`a`, `b`, ...), per-iteration temporaries `t0, t1, ...`, loop indices `i0, i1,
...` named by the axis they run over, and a comment per kernel naming the equation and
the user's line it came from.

Sizes are run-time values: every extent and offset the plan needs is a slot of the
`dims` argument (`d0 = dims[0]`, ...), so a new shape with the same structure produces
the same text, hence the same compiled code. Steps, axes and dtypes are structure and
appear as literals.

A loop op's body is written by a child `Writer` (`Writer(plan, parallel, parent=w)`):
its own plan and names (prefixed, so they never meet the parent's), the parent's lines,
`dims`, constants and temporaries. `storage` tells a writer where some of its values
must be written instead of a new array (a loop's preallocated buffers).
"""

from __future__ import annotations

import itertools
import keyword
import os
from typing import Any

import numpy as np

from tracejit.emit.numba import calls, indexing, reductions, scalars
from tracejit.graph.ir import Eqn, Graph, Var, short_dtype
from tracejit.graph.printing import var_names
from tracejit.rewrite.fusion import (
    VIEW_OPS,
    At,
    Call,
    IndexMap,
    Loop,
    Part,
    Plan,
    Read,
    scalar_indexed,
    update_map,
)
from tracejit.rewrite.memory import plan_memory

RESERVED = frozenset({"np", "numba", "prange", "dims", "scalar_of", "CHUNKS", "vm", "rt",
                      "blas"})
#: a folded full reduction splits its outer axis into at most this many parallel chunks
CHUNKS = 64


class Writer:
    def __init__(self, plan: Plan, parallel: bool, parent: Writer | None = None,
                 prefix: str = "", preset: dict[Var, str] | None = None,
                 donated: frozenset[Var] = frozenset(),
                 homes: dict[Var, Var] | None = None) -> None:
        """`parent`: write into its function (a loop body); `prefix` goes before every
        name; `preset` names some variables (a body's inputs that are outer values);
        `donated`: inputs whose memory the function may reuse; `homes`: outputs and the
        donated inputs the caller writes them back into (`tracejit.rewrite.memory`)."""
        self.plan = plan = calls.transposes_as_views(plan)  # BLAS reads x.T as it is
        self.donated = donated
        self.homes = homes or {}
        self.graph: Graph = plan.graph
        self.parallel = parallel
        self.names: dict[Var, str] = {}
        fresh = var_names()
        named = plan.source or plan.graph  # the graph as printed
        for v in named.inputs + tuple(o for e in named.eqns for o in e.outputs):
            if v not in self.names:
                name = prefix + next(fresh)  # the printed graph's name, even when preset
                self.names[v] = name + "_" if keyword.iskeyword(name) or name in RESERVED \
                    else name
        self.names.update(preset or {})
        self.producer = {v: e for e in self.graph.eqns for v in e.outputs}
        self.live = {v for e in self.graph.eqns for v in e.inputs} | set(self.graph.outputs)
        self.outputs = set(self.graph.outputs) - set(self.graph.inputs)
        self.out_args: list[Var] = []  # outputs the caller allocates (parallel variant)
        self.storage: dict[Var, str] = {}  # values written into a given buffer, not a new one
        self.reuse: dict[Var, Var] | None = None  # the memory plan, made when first needed
        if parent is not None:  # one function: share what the module accumulates
            self.dims, self.consts, self.const_names = parent.dims, parent.consts, \
                parent.const_names
            self.globals, self.hooks, self.lines = parent.globals, parent.hooks, parent.lines
            self.ids, self.indent = parent.ids, parent.indent
            return
        self.dims: list[int] = []
        self.consts: list[np.ndarray] = []
        self.const_names: list[str] = []
        self.globals: list[str] = []  # module-level definitions (objmode types, callables)
        self.hooks: dict[str, Eqn] = {}  # objmode callables the loader must provide
        self.lines: list[str] = []
        self.indent = 1
        self.ids = {"temp": itertools.count(), "loop": itertools.count(1)}

    # --- small helpers ------------------------------------------------------------

    def name(self, v: Var) -> str:
        return self.names[v]

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def dim(self, value: int) -> str:
        """A run-time integer: the next slot of `dims`."""
        self.dims.append(int(value))
        return f"d{len(self.dims) - 1}"

    def shape_tuple(self, shape: tuple[int, ...]) -> str:
        parts = [self.dim(n) for n in shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def temp(self, prefix: str = "t") -> str:
        return f"{prefix}{next(self.ids['temp'])}"

    def uses_prange(self) -> bool:
        return any(line.lstrip().startswith("for ") and " in prange(" in line
                   for line in self.lines)

    def index(self, m: IndexMap) -> str:
        parts = []
        for axis, step, offset in m:
            if isinstance(offset, At):  # a run-time index (x[i] with a traced i)
                parts.append(indexing.offset(self, offset))
                continue
            if axis is None:
                parts.append(self.dim(offset) if offset else "0")
                continue
            term = f"i{axis}" if abs(step) == 1 else f"{abs(step)} * i{axis}"
            if offset == 0 and step >= 0:
                parts.append(term)
            else:
                sign = "+" if step >= 0 else "-"
                parts.append(f"np.uintp({self.dim(offset)} {sign} {term})")
        return ", ".join(parts)

    def adoptable(self, v: Var, eqn: Eqn) -> bool:
        """Whether `eqn` may take `v`'s array as its own and overwrite it: a donated input
        or an array made here, that `eqn` reads once, that nothing reads after `eqn`
        (through a view either), and that is no output."""
        if not v.ndim or not (v in self.donated or self.made_here(v)):
            return False
        aliases, after = {v}, False
        for e in self.graph.eqns:
            uses = sum(u in aliases for u in e.inputs)
            if (e.op in VIEW_OPS or e.op == "gather" and scalar_indexed(e)) and uses:
                aliases.update(e.outputs)
            elif e is eqn:
                after = True
                if uses > 1:
                    return False
            elif uses and after:
                return False
        return not aliases & set(self.graph.outputs)

    def owns(self, v: Var) -> bool:
        """Whether this function may overwrite `v`'s array (the memory plan's question)."""
        return v.ndim > 0 and (v in self.donated or self.made_here(v))

    def made_here(self, v: Var) -> bool:
        """`v` is an array this function allocated (not a view, not a given buffer)."""
        if v in self.storage:
            return False
        for kernel in self.plan.kernels:
            if isinstance(kernel, Call) and v in kernel.eqn.outputs:
                return kernel.eqn.op not in VIEW_OPS and not calls.may_alias(kernel.eqn)
            if isinstance(kernel, Loop) and (v in kernel.stores or (
                    kernel.scatter and not kernel.in_place and v in kernel.scatter.outputs)):
                return True
        return False

    # --- the module -----------------------------------------------------------------

    def source(self, header: list[str], njit_options: str) -> str:
        """The module, after `body_lines` wrote the entry function's body."""
        fname = entry_name(self.graph.name)
        params = ([self.name(v) for v in self.graph.inputs] + ["dims"] + self.const_names
                  + [self.name(v) for v in self.out_args])
        dim_lines = [f"    d{k} = dims[{k}]" for k in range(len(self.dims))]
        blocks = [line for line in self.lines if line.lstrip().startswith("with numba.objmode(")]
        if blocks and blocks[0].startswith("     "):
            # Numba sets up the Python API at the first object-mode block it lowers and
            # reuses it in the later ones: that first block must dominate them (one in a
            # loop does not dominate one after it: "Instruction does not dominate all uses")
            dim_lines += ["    with numba.objmode():", "        pass"]
        outs = ", ".join(self.name(v) for v in self.graph.outputs)
        text = [*header, "import numba", "import numpy as np", "from numba import prange", "",
                "from tracejit.emit.numba import vecmath as vm",
                "from tracejit.emit.numba import runtime as rt",
                "from tracejit.emit.numba.runtime import scalar_of", ""]
        text += [f"CHUNKS = {CHUNKS}", *self.globals, ""]
        text += ["", f"@numba.njit({njit_options})",
                 f"def {fname}({', '.join(params)}):", *dim_lines, *self.lines,
                 f"    return {outs}" if len(self.graph.outputs) == 1 else
                 f"    return ({outs})", ""]
        return "\n".join(text)

    def body_lines(self) -> None:
        for v in self.graph.inputs:
            if v.ndim == 0:
                self.emit(f"{self.name(v)} = scalar_of({self.name(v)})")
        self.kernels()
        inputs = set(self.graph.inputs)
        for v in self.graph.outputs:
            # an output that is a view of something else becomes its own array
            if v not in inputs and v.ndim and calls.may_alias(self.producer.get(v)):
                self.emit(f"{self.name(v)} = {self.name(v)}.copy()")

    def kernels(self) -> None:
        for kernel in self.plan.kernels:
            if isinstance(kernel, Loop):
                self.loop(kernel)
            elif kernel.eqn.op == "gather" and scalar_indexed(kernel.eqn):
                indexing.view_checks(self, kernel.eqn)
            else:
                calls.emit_call(self, kernel.eqn)

    def comment(self, eqn: Eqn, what: str) -> None:
        where = ""
        if eqn.source is not None:
            where = f"  ({os.path.basename(eqn.source.filename)}:{eqn.source.lineno})"
        # types without sizes: the text must not change with the shape
        outs = ", ".join(f"{self.name(v)}:{short_dtype(v.dtype)}[{', '.join(':' * v.ndim)}]"
                         for v in eqn.outputs)
        self.emit(f"# {outs} = {eqn.op}: {what}{where}")

    # --- loops ----------------------------------------------------------------------

    def loop(self, loop: Loop) -> None:
        root = loop.reduce or loop.scatter or self.producer[next(iter(loop.stores))]
        stored = ", ".join(self.name(v) for v in loop.stores)
        what = {"map": f"fused loop storing {stored}", "reduce": "fused reduction",
                "scatter": "fused slice update" + (" in place" if loop.in_place else "")}
        rank = len(loop.shape)
        self.comment(root, what[loop.kind] + f" over {rank} {'axis' if rank == 1 else 'axes'}")
        extents = [self.dim(n) for n in loop.shape]
        if loop.kind == "reduce":
            reductions.reduce_loop(self, loop, extents)
        elif loop.kind == "scatter":
            self.scatter_loop(loop, extents)
        else:
            self.map_loop(loop, extents)

    def open_loops(self, axes: list[int], extents: list[str], parallel_first: bool) -> int:
        for k, axis in enumerate(axes):
            rng = "prange" if parallel_first and k == 0 and self.parallel else "range"
            self.emit(f"for i{axis} in {rng}({extents[axis]}):")
            self.indent += 1
        return len(axes)

    def body(self, loop: Loop) -> list[str]:
        """Emit the per-iteration steps; returns each body position's value."""
        refs: list[str] = []
        for step in loop.body:
            if isinstance(step, Read):
                if step.var.ndim == 0:
                    refs.append(self.name(step.var))
                    continue
                ref = self.temp()
                self.emit(f"{ref} = {self.name(step.var)}[{self.index(step.index)}]")
            elif isinstance(step, Part):
                ref = self.temp()
                self.emit(f"{ref} = {refs[step.source]}[{step.index}]")
            elif not step.args:  # a constant: used in place
                ref = self.constant_ref(step.eqn)
            else:
                ref = self.temp()
                expr = scalars.scalar_expr(step.eqn, [refs[a] for a in step.args])
                self.emit(f"{ref} = {expr}")
            refs.append(ref)
        return refs

    def constant_ref(self, eqn: Eqn) -> str:
        """A constant's value in a loop body: a literal, or, for an element count (a
        mean's divisor), a run-time `dims` slot, so the text does not depend on shapes."""
        if eqn.op == "constant" and eqn.params["value"].count:
            count = int(eqn.params["value"].array.reshape(-1)[0])
            return f"{scalars.cast(eqn.outputs[0].dtype)}({self.dim(count)})"
        return scalars.scalar_expr(eqn, [])

    def allocate(self, v: Var, output_arg: bool = False) -> None:
        """`v = np.empty(...)`, or, for `output_arg`, take `v` as an argument the caller
        allocates with NumPy (whose allocator asks for huge pages: a large output
        written in compiled code then costs a fraction of the page faults)."""
        if output_arg and v.ndim and v in self.outputs and v not in self.out_args:
            self.out_args.append(v)
            return
        if v in self.storage:
            self.emit(f"{self.name(v)} = {self.storage[v]}")
        elif v.ndim:
            self.emit(f"{self.name(v)} = np.empty({self.shape_tuple(v.shape)}, "
                      f"dtype={scalars.cast(v.dtype)})")

    def map_loop(self, loop: Loop, extents: list[str]) -> None:
        if self.reuse is None:
            self.reuse = plan_memory(self.plan, self.owns, self.homes)
        for v in loop.stores:
            if v in self.reuse and v not in self.storage:
                home = self.reuse[v]
                why = "the caller writes it back there" if self.homes.get(v) is home \
                    else "its buffer is dead"
                self.emit(f"{self.name(v)} = {self.name(home)}  # {why}")
            else:
                self.allocate(v, output_arg=self.parallel)
        depth = self.open_loops(list(range(len(loop.shape))), extents, True)
        refs = self.body(loop)
        at = ", ".join(f"i{k}" for k in range(len(loop.shape)))
        for v, pos in loop.stores.items():
            target = f"{self.name(v)}[{at}]" if v.ndim else self.name(v)
            self.emit(f"{target} = {refs[pos]}")
        self.indent -= depth

    def scatter_loop(self, loop: Loop, extents: list[str]) -> None:
        eqn = loop.scatter
        target, out = eqn.inputs[0], eqn.outputs[0]
        if target.ndim == 0:
            refs = self.body(loop)
            self.emit(f"{self.name(out)} = {refs[loop.scatter_value]}")
            return
        moving = eqn.op != "set_slice"  # x[i] = v: the written part moves with i
        if moving:
            indexing.check_indices(self, eqn)
        if out in self.storage:  # a buffer that already holds the target outside the slice
            self.emit(f"{self.name(out)} = {self.storage[out]}")
            if moving:
                self.emit(f"rt.copy_into({self.name(out)}, {self.name(target)})")
        else:
            copy = "" if loop.in_place else ".copy()"
            self.emit(f"{self.name(out)} = {self.name(target)}{copy}")
        depth = self.open_loops(list(range(len(loop.shape))), extents, True)
        refs = self.body(loop)
        assign = "+=" if eqn.op == "scatter_add" else "="
        self.emit(f"{self.name(out)}[{self.index(update_map(eqn))}] {assign} "
                  f"{refs[loop.scatter_value]}")
        self.indent -= depth

    # --- arguments and module-level values ------------------------------------------

    def constant_arg(self, v: Var, value: Any) -> None:
        """`v` is computed ahead of time and passed in as an argument."""
        self.consts.append(np.ascontiguousarray(value) if np.ndim(value) else value)
        self.const_names.append(self.name(v))


def entry_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "f"
    if cleaned[0].isdigit() or keyword.iskeyword(cleaned) or cleaned in RESERVED:
        cleaned = "f_" + cleaned
    return cleaned
