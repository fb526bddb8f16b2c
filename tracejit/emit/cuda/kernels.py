"""Writes the loops of a fusion plan as CUDA C++ kernels, one translation unit per graph.

Each `Loop` of the plan (`tracejit.rewrite.fusion`, the same plan the Numba backend
writes) becomes one `extern "C" __global__` kernel named after what it computes
(`haversine_k0_map_sin_cos_arcsin`, `rosen_k0_sum_of_subtract_square`): CuPy's
profiler and Nsight show those names.

Shapes are run-time arguments: the text depends only on the graph's structure (ops,
dtypes, ranks, which axes each read moves along), so a new shape reuses the compiled
module (CuPy's kernel cache is keyed by the text). Every read is

    a[a_off + a_s0 * i0 + a_s1 * i1]

with the element offset and per-loop-axis steps computed on the host from the array's
strides and the read's index map: slices, transposes, broadcasts and `x[i, 1:]` at a
traced `i` are index arithmetic, never copies, and non-contiguous inputs need no copy
either. Stores are contiguous (`out[k]`, k the flat index).

Three kernel shapes, all written with grid-stride loops so any launch covers the work
(one block of one thread included: that is how the tests run them on the CPU):

* map: one thread per element of the loop shape; computes the body, stores.
* reduce: one block per (output element, split); the block's threads accumulate
  strided elements of the reduced axes in registers, then a shared-memory tree combines
  them. With one split the block writes the output; otherwise a second kernel
  (`..._combine`) folds each output's partials in split order. The order is fixed by
  the launch, so results are deterministic (no atomics).
* scatter: one thread per element of the update; writes (or adds) into the target
  through the update's index map (the target was copied first unless in place).

The same text compiles on the host with a C++ compiler (`units.HOST_SHIMS`:
one block of one thread); the tests use that to check the generated index arithmetic
against NumPy without a GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from tracejit.emit.cuda import scalars
from tracejit.graph.ir import Eqn, Var
from tracejit.rewrite.fusion import Apply, IndexMap, Loop, Part, Read, update_map

#: threads per block of every kernel (a power of two: the reduction tree halves it)
BLOCK = 256


@dataclass(frozen=True)
class ReadArgs:
    """The host computes, per launch, the element offset of read `var` through `index`
    and its step along each loop axis in `axes`."""

    var: Var
    index: IndexMap
    axes: tuple[int, ...]


@dataclass
class Kernel:
    """One generated kernel: `params` says what the host passes, in order:
    ("array", var), ("read", ReadArgs) (offset then one step per axis), ("extent", axis),
    ("count",) the loop's element count; reduce kernels add ("out",), ("partial",),
    ("n_out",), ("n_red",), ("splits",); scatter kernels ("target",) and
    ("write", ReadArgs) for where the update goes."""

    name: str
    loop: Loop
    params: list[tuple] = field(default_factory=list)
    text: str = ""
    combine: str | None = None  # the partials kernel of a reduction



class KernelWriter:
    """Writes the kernel of one loop. `names`: the printed graph's variable names."""

    def __init__(self, loop: Loop, name: str, names: dict[Var, str]) -> None:
        self.loop = loop
        self.kernel = Kernel(name, loop)
        self.names = names
        self.lines: list[str] = []
        self.indent = 1
        self.temps = 0
        self.reads: dict[tuple[Var, IndexMap], str] = {}

    # --- text ---------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps - 1}"

    def param_list(self) -> list[str]:
        """The C parameter declarations, from `kernel.params`."""
        out = []
        for p in self.kernel.params:
            kind = p[0]
            if kind == "array":
                v = p[1]
                const = "" if p[2] else "const "
                # a scatter in place reads and writes one buffer through two names
                restrict = "" if self.loop.kind == "scatter" else " __restrict__"
                out.append(f"{const}{scalars.ctype(v.dtype)}*{restrict} {self.names[v]}")
            elif kind in ("read", "write"):
                r, base = p[1], p[2]
                out.append(f"long long {base}_off")
                out += [f"long long {base}_s{a}" for a in r.axes]
            elif kind == "extent":
                out.append(f"long long d{p[1]}")
            else:
                out.append(p[2])
        return out

    def finish(self, comment: list[str]) -> Kernel:
        params = ",\n    ".join(self.param_list())
        self.kernel.text = "\n".join([*comment, f'extern "C" __global__ void {self.kernel.name}(',
                                      f"    {params})", "{", *self.lines, "}", ""])
        return self.kernel

    # --- arrays and reads ---------------------------------------------------------

    def array(self, v: Var, written: bool = False) -> str:
        if not any(p[0] == "array" and p[1] is v for p in self.kernel.params):
            self.kernel.params.append(("array", v, written))
        return self.names[v]

    def address(self, v: Var, m: IndexMap, kind: str = "read") -> str:
        """`name[off + step * i ...]` for reading (or writing) `v` through `m`."""
        key = (v, m, kind)
        if key not in self.reads:
            name = self.names[v]
            n = sum(1 for k in self.reads if k[0] is v)
            base = name if n == 0 and kind == "read" else f"{name}_{kind[0]}{n}"
            axes = tuple(sorted({axis for axis, _, _ in m if axis is not None}))
            self.kernel.params.append((kind, ReadArgs(v, m, axes), base))
            self.reads[key] = base
        base = self.reads[key]
        args = next(p[1] for p in self.kernel.params if p[0] == kind and p[2] == base)
        terms = [f"{base}_off"] + [f"{base}_s{a} * i{a}" for a in args.axes]
        return f"{self.array(v, kind == 'write')}[{' + '.join(terms)}]"

    # --- the body -----------------------------------------------------------------

    def body(self) -> list[str]:
        """Emit the per-element steps; returns each body position's register value."""
        refs: list[str] = []
        for step in self.loop.body:
            if isinstance(step, Read):
                ref = self.temp()
                v = step.var
                self.emit(f"const {scalars.regtype(v.dtype)} {ref} = "
                          f"{scalars.load(v.dtype, self.address(v, step.index))};")
            elif isinstance(step, Part):
                raise NotImplementedError("multi-output ops are not inlined on CUDA")
            elif not step.args:
                ref = constant(step.eqn)
            else:
                ref = self.temp()
                out = step.eqn.outputs[0].dtype
                expr = scalars.scalar_expr(step.eqn, [refs[a] for a in step.args])
                self.emit(f"const {scalars.regtype(out)} {ref} = {expr};")
            refs.append(ref)
        return refs

    def indices(self, axes: list[int], flat: str) -> None:
        """Loop indices `i<axis>` for `axes` (row-major) from the flat index `flat`;
        only those some read or write moves along are declared."""
        used = self.used_axes()
        if not used & set(axes):
            return
        if len(axes) == 1:
            self.emit(f"const long long i{axes[0]} = {flat};")
            return
        rest = f"{flat}_rest"
        self.emit(f"long long {rest} = {flat};")
        for a in reversed(axes[1:]):
            if a in used:
                self.emit(f"const long long i{a} = {rest} % d{a};")
            if used & set(axes[:axes.index(a)]):
                self.emit(f"{rest} /= d{a};")
        if axes[0] in used:
            self.emit(f"const long long i{axes[0]} = {rest};")

    def used_axes(self) -> set[int]:
        maps = [step.index for step in self.loop.body if isinstance(step, Read)]
        if self.loop.scatter is not None:
            maps.append(update_map(self.loop.scatter))
        return {axis for m in maps for axis, _, _ in m if axis is not None}

    def extents(self, axes: list[int]) -> None:
        for a in axes:
            self.kernel.params.append(("extent", a))

    def grid_stride(self, var: str, count: str, per_block: bool = False) -> None:
        if per_block:
            self.emit(f"for (long long {var} = blockIdx.x; {var} < {count}; "
                      f"{var} += gridDim.x) {{")
        else:
            self.emit(f"for (long long {var} = (long long)blockIdx.x * blockDim.x + "
                      f"threadIdx.x; {var} < {count}; {var} += (long long)gridDim.x * "
                      "blockDim.x) {")
        self.indent += 1

    def close(self) -> None:
        self.indent -= 1
        self.emit("}")

    # --- the three kernel shapes --------------------------------------------------

    def elementwise_body(self) -> list[str]:
        """A thread per element of the loop shape (grid-stride over the flat `k`); the
        body's values."""
        axes = list(range(len(self.loop.shape)))
        self.kernel.params.append(("count", None, "long long n"))
        self.extents(axes)
        self.grid_stride("k", "n")
        self.indices(axes, "k")
        return self.body()

    def map_kernel(self) -> Kernel:
        loop = self.loop
        refs = self.elementwise_body()
        for v, pos in loop.stores.items():
            self.emit(f"{self.array(v, True)}[k] = {scalars.store(v.dtype, refs[pos])};")
        self.close()
        return self.kernel

    def scatter_kernel(self) -> Kernel:
        loop, eqn = self.loop, self.loop.scatter
        out = eqn.outputs[0]
        value = self.elementwise_body()[loop.scatter_value]
        target = self.address(out, update_map(eqn), "write")
        if eqn.op == "scatter_add":
            value = added(out.dtype, scalars.load(out.dtype, target), value)
        self.emit(f"{target} = {scalars.store(out.dtype, value)};")
        self.close()
        return self.kernel

    def reduce_kernel(self) -> Kernel:
        loop, eqn = self.loop, self.loop.reduce
        out = eqn.outputs[0]
        acc_t = scalars.acc_type(eqn)
        reduced = list(eqn.params["axes"])
        kept = [a for a in range(len(loop.shape)) if a not in reduced]
        self.kernel.params += [
            ("out", out, f"{scalars.ctype(out.dtype)}* __restrict__ {self.names[out]}"),
            ("partial", None, f"{acc_t}* __restrict__ partial"),
            ("n_out", None, "long long n_out"), ("n_red", None, "long long n_red"),
            ("splits", None, "long long splits")]
        self.extents(list(range(len(loop.shape))))
        self.emit(f"__shared__ {acc_t} tree[{BLOCK}];")
        self.grid_stride("blk", "n_out * splits", per_block=True)
        self.emit("const long long o = blk / splits;")
        self.emit("const long long s = blk % splits;")
        self.indices(kept, "o")
        self.emit(f"{acc_t} acc = {scalars.fold_init(eqn)};")
        self.emit("for (long long r = s * blockDim.x + threadIdx.x; r < n_red; "
                  "r += splits * blockDim.x) {")
        self.indent += 1
        self.indices(reduced, "r")
        refs = self.body()
        value = scalars.fold_value(eqn, refs[loop.reduce_value], eqn.inputs[0].dtype)
        self.emit(f"acc = {scalars.fold_combine(eqn, 'acc', value)};")
        self.close()
        self.emit("tree[threadIdx.x] = acc;")
        self.emit("__syncthreads();")
        self.emit("for (unsigned w = blockDim.x / 2; w > 0; w >>= 1) {")
        self.emit("    if (threadIdx.x < w)")
        combined = scalars.fold_combine(eqn, "tree[threadIdx.x]", "tree[threadIdx.x + w]")
        self.emit(f"        tree[threadIdx.x] = {combined};")
        self.emit("    __syncthreads();")
        self.emit("}")
        self.emit("if (threadIdx.x == 0) {")
        self.emit("    if (splits == 1)")
        result = scalars.store(out.dtype, scalars.fold_result(eqn, "tree[0]"))
        self.emit(f"        {self.names[out]}[o] = {result};")
        self.emit("    else")
        self.emit("        partial[blk] = tree[0];")
        self.emit("}")
        self.emit("__syncthreads();")
        self.close()
        self.kernel.combine = combine_kernel(self.kernel.name + "_combine", eqn,
                                             self.names[out])
        return self.kernel


def combine_kernel(name: str, eqn: Eqn, out_name: str) -> str:
    """Folds each output's partials, in split order."""
    out = eqn.outputs[0]
    acc_t = scalars.acc_type(eqn)
    result = scalars.store(out.dtype, scalars.fold_result(eqn, "acc"))
    return "\n".join([
        f"// {out_name}: the partials of {name[:-len('_combine')]}, folded in split order",
        f'extern "C" __global__ void {name}(',
        f"    const {acc_t}* __restrict__ partial,",
        f"    {scalars.ctype(out.dtype)}* __restrict__ {out_name},",
        "    long long n_out,",
        "    long long splits)",
        "{",
        "    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < n_out; "
        "o += (long long)gridDim.x * blockDim.x) {",
        f"        {acc_t} acc = partial[o * splits];",
        "        for (long long s = 1; s < splits; s++)",
        f"            acc = {scalars.fold_combine(eqn, 'acc', 'partial[o * splits + s]')};",
        f"        {out_name}[o] = {result};",
        "    }",
        "}", ""])


def added(dtype: np.dtype, a: str, b: str) -> str:
    """`a + b` in `dtype`'s arithmetic (registers; integers wrap as NumPy's do)."""
    if dtype == np.bool_:
        return f"({a} || {b})"
    if dtype.kind in "iu":  # in unsigned arithmetic: signed overflow is undefined in C
        return f"({scalars.ctype(dtype)})((unsigned long long)({a}) + (unsigned long long)({b}))"
    return f"{a} + {b}"


def constant(eqn: Eqn) -> str:
    """A scalar `full` or one-element `constant`, as a literal."""
    dtype = eqn.outputs[0].dtype
    if eqn.op == "full":
        return scalars.literal(eqn.params["fill_value"], dtype)
    return scalars.literal(eqn.params["value"].array.reshape(-1)[0], dtype)


def describe(loop: Loop, names: dict[Var, str]) -> tuple[str, list[str]]:
    """A kernel name suffix saying what the loop computes, and its comment lines."""
    ops: list[str] = []
    for step in loop.body:
        if isinstance(step, Apply) and step.args and step.eqn.op not in ops:
            ops.append(step.eqn.op)
    what = "_".join(ops[:4]) or "copy"
    root = loop.reduce or loop.scatter or None
    if loop.kind == "reduce":
        suffix = f"{root.op if root.op != 'reduce' else root.params['ufunc']}_of_{what}"
        stored = names[root.outputs[0]]
    elif loop.kind == "scatter":
        suffix = f"{root.op}_{what}"
        stored = names[root.outputs[0]]
    else:
        suffix = f"map_{what}"
        stored = ", ".join(names[v] for v in loop.stores)
    eqns = [s.eqn for s in loop.body if isinstance(s, Apply)] + ([root] if root else [])
    src = next((e.source for e in reversed(eqns) if e.source is not None), None)
    where = f"  ({os.path.basename(src.filename)}:{src.lineno})" if src else ""
    rank = len(loop.shape)
    comment = [f"// {stored} = {loop.kind} over {rank} {'axis' if rank == 1 else 'axes'}: "
               f"{', '.join(ops) or 'copy'}{where}"]
    return suffix, comment


def write_kernel(loop: Loop, index: int, prefix: str, names: dict[Var, str]) -> Kernel:
    suffix, comment = describe(loop, names)
    writer = KernelWriter(loop, f"{prefix}_k{index}_{suffix}", names)
    make = {"map": writer.map_kernel, "reduce": writer.reduce_kernel,
            "scatter": writer.scatter_kernel}[loop.kind]
    make()
    kernel = writer.finish(comment)
    if kernel.combine:
        kernel.text += "\n" + kernel.combine
    return kernel
