"""Reduction loops of the Numba backend: a fused elementwise body folded into accumulators.

Three shapes, by which axes are reduced:

- trailing axes (`x.sum(axis=-1)`, a full reduction): the kept axes outside, the reduced
  ones inside, one accumulator per output element. A float sum over the last axis walks
  NumPy's pairwise tree (`runtime.pairwise_*`): each leaf of up to 128 elements is
  computed into a buffer by one loop over the fused body, then summed with eight
  accumulators. That is NumPy's result to the bit, and both loops vectorize; a single
  running accumulator is one dependent add per element and keeps the body scalar.
- leading axes (`x.sum(axis=0)`): row by row into the output, so the inner loop runs
  along memory (and each output element still sums in index order, as NumPy does).
- anything else: the kept axes outside, the reduced ones inside, in index order.

In the parallel variant the outer loop runs in chunks over threads; a full float sum of a
vector splits along the top of NumPy's pairwise tree, so it too is NumPy's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tracejit.emit.numba import scalars
from tracejit.rewrite.fusion import Loop

if TYPE_CHECKING:
    from tracejit.emit.numba.writer import Writer

#: levels of the pairwise tree a parallel full sum splits into (2**6 = 64 chunks)
PARALLEL_LEVELS = 6


def reduce_loop(w: Writer, loop: Loop, extents: list[str]) -> None:
    eqn = loop.reduce
    out = eqn.outputs[0]
    axes = list(eqn.params["axes"])
    kept = [k for k in range(len(loop.shape)) if k not in axes]
    acc = w.temp("acc")
    if not kept:
        full_reduction(w, loop, extents, acc)
        if out.ndim:
            w.emit(f"{w.name(out)} = np.full({(1,) * out.ndim}, {acc})")
        else:
            w.emit(f"{w.name(out)} = {acc}")
        return
    if axes == list(range(len(axes))):
        leading_reduction(w, loop, extents, kept)
        return
    w.allocate(out)
    depth, first = chunked(w, extents[kept[0]]) if w.parallel else (0, None)
    scratch = pairwise_scratch(w, loop, extents)  # per thread: inside the chunk loop
    depth += open_axes(w, kept, extents, first)
    w.emit(f"{acc} = {scalars.fold_init(eqn)}")
    fold(w, loop, extents, acc, axes, scratch)
    w.emit(f"{target(w, loop)} = {acc}")
    w.indent -= depth


def target(w: Writer, loop: Loop) -> str:
    """The output element the current kept indices select."""
    eqn = loop.reduce
    axes, keepdims = eqn.params["axes"], eqn.params["keepdims"]
    at = ", ".join("0" if k in axes else f"i{k}" for k in range(len(loop.shape))
                   if keepdims or k not in axes)
    return f"{w.name(eqn.outputs[0])}[{at}]"


def chunked(w: Writer, n: str) -> tuple[int, str]:
    """Open `for k in prange(chunks)` over an axis of extent n: (loops opened, that
    axis's range within a chunk, for `open_axes`)."""
    chunks, k = w.temp("c"), w.temp("k")
    w.emit(f"{chunks} = min({n}, CHUNKS)")
    w.emit(f"for {k} in prange({chunks}):")
    w.indent += 1
    return 1, f"range({k} * {n} // {chunks}, ({k} + 1) * {n} // {chunks})"


def open_axes(w: Writer, axes: list[int], extents: list[str], first: str | None = None
              ) -> int:
    """Serial loops over `axes`; the first runs over `first` where given."""
    for n, axis in enumerate(axes):
        rng = first if n == 0 and first else f"range({extents[axis]})"
        w.emit(f"for i{axis} in {rng}:")
        w.indent += 1
    return len(axes)


def leading_reduction(w: Writer, loop: Loop, extents: list[str], kept: list[int]) -> None:
    """Reduce over leading axes (a bias gradient's `sum(axis=0)`) row by row into the
    output, so the inner loop runs along memory and vectorizes. Each output element
    still sums in index order. In parallel, chunks of the first kept axis."""
    eqn = loop.reduce
    w.allocate(eqn.outputs[0])
    into = target(w, loop)
    depth, first = chunked(w, extents[kept[0]]) if w.parallel else (0, None)
    inner = open_axes(w, kept, extents, first)
    w.emit(f"{into} = {scalars.fold_init(eqn)}")
    w.indent -= inner
    inner = open_axes(w, list(eqn.params["axes"]), extents) + \
        open_axes(w, kept, extents, first)
    refs = w.body(loop)
    value = scalars.fold_value(eqn, refs[loop.reduce_value], eqn.inputs[0].dtype)
    w.emit(f"{into} = {scalars.fold_combine(eqn, into, value)}")
    w.indent -= inner + depth


def full_reduction(w: Writer, loop: Loop, extents: list[str], acc: str) -> None:
    eqn = loop.reduce
    init = scalars.fold_init(eqn)
    axes = list(range(len(loop.shape)))
    if not (w.parallel and axes):
        scratch = pairwise_scratch(w, loop, extents)
        w.emit(f"{acc} = {init}")
        fold(w, loop, extents, acc, axes, scratch)
        return
    if len(axes) == 1 and pairwise(loop):
        parallel_pairwise(w, loop, extents[0], acc)
        return
    n0, chunks, part, k = extents[0], w.temp("c"), w.temp("part"), w.temp("k")
    w.emit(f"{chunks} = min({n0}, CHUNKS)")
    w.emit(f"{part} = np.empty({chunks}, dtype={scalars.cast(eqn.outputs[0].dtype)})")
    w.emit(f"for {k} in prange({chunks}):")
    w.indent += 1
    scratch = pairwise_scratch(w, loop, extents)
    inner = acc + "_"
    w.emit(f"{inner} = {init}")
    w.emit(f"for i0 in range({k} * {n0} // {chunks}, ({k} + 1) * {n0} // {chunks}):")
    w.indent += 1
    fold(w, loop, extents, inner, axes[1:], scratch)
    w.indent -= 1
    w.emit(f"{part}[{k}] = {inner}")
    w.indent -= 1
    w.emit(f"{acc} = {init}")
    w.emit(f"for {k} in range({chunks}):")
    w.emit(f"    {acc} = {scalars.fold_combine(eqn, acc, f'{part}[{k}]')}")


def fold(w: Writer, loop: Loop, extents: list[str], acc: str, axes: list[int],
         scratch: tuple[str, str, str] | None) -> None:
    """`acc` combined with the body's values over `axes` (loops opened here, inside the
    ones already open); pairwise along the last axis where `scratch` is given."""
    last = len(loop.shape) - 1
    if scratch is not None and axes and axes[-1] == last:
        depth = open_axes(w, axes[:-1], extents)
        part = pairwise_walk(w, loop, "0", scratch)
        w.emit(f"{acc} = {acc} + {part}")
        w.indent -= depth
        return
    depth = open_axes(w, axes, extents)
    fold_body(w, loop, acc)
    w.indent -= depth


def fold_body(w: Writer, loop: Loop, acc: str) -> None:
    eqn = loop.reduce
    refs = w.body(loop)
    value = scalars.fold_value(eqn, refs[loop.reduce_value], eqn.inputs[0].dtype)
    w.emit(f"{acc} = {scalars.fold_combine(eqn, acc, value)}")


# --- pairwise sums ----------------------------------------------------------------------


def pairwise(loop: Loop) -> bool:
    """A float sum over the last axis: summed in NumPy's pairwise order."""
    eqn = loop.reduce
    out = eqn.outputs[0].dtype
    return (scalars.fold_kind(eqn) == "sum" and out in (np.float32, np.float64)
            and len(loop.shape) - 1 in eqn.params["axes"])


def pairwise_scratch(w: Writer, loop: Loop, extents: list[str]
                     ) -> tuple[str, str, str] | None:
    """Allocate a leaf buffer and a stack of pending sums, and write the plan of NumPy's
    pairwise tree over the last of `extents`; None: the loop sums otherwise."""
    if not pairwise(loop):
        return None
    n = extents[-1]
    buf, sums, plan = w.temp("buf"), w.temp("sums"), w.temp("plan")
    w.emit(f"{buf}, {sums} = rt.pairwise_scratch({scalars.cast(loop.reduce.outputs[0].dtype)})")
    w.emit(f"{plan} = rt.pairwise_plan({n})")
    return buf, sums, plan


def pairwise_walk(w: Writer, loop: Loop, start: str, scratch: tuple[str, str, str]) -> str:
    """Emit NumPy's pairwise sum of the body's values at last-axis indices from `start`
    on (the other indices open), replaying the plan; returns the name of the sum."""
    eqn = loop.reduce
    buf, sums, plan = scratch
    last = len(loop.shape) - 1
    lo, sp, step, m, j = (w.temp(p) for p in ("lo", "sp", "step", "m", "j"))
    w.emit(f"{lo}, {sp} = {start}, 0")
    w.emit(f"for {step} in range({plan}.shape[0]):  # NumPy's pairwise tree, leaf by leaf")
    w.indent += 1
    w.emit(f"{m} = {plan}[{step}]")
    w.emit(f"if {m} < 0:  # add the two sums on top")
    w.emit(f"    {sp} -= 1")
    w.emit(f"    {sums}[{sp} - 1] = {sums}[{sp} - 1] + {sums}[{sp}]")
    w.emit("else:  # sum a leaf of m values")
    w.indent += 1
    w.emit(f"{lo} = rt.nonneg({lo})")
    w.emit(f"for {j} in range({m}):")
    w.indent += 1
    w.emit(f"i{last} = {lo} + {j}")
    refs = w.body(loop)
    value = scalars.fold_value(eqn, refs[loop.reduce_value], eqn.inputs[0].dtype)
    w.emit(f"{buf}[{j}] = {value}")
    w.indent -= 1
    w.emit(f"{sums}[{sp}] = rt.block_sum({buf}, {m})")
    w.emit(f"{sp} += 1")
    w.emit(f"{lo} += {m}")
    w.indent -= 2
    return f"{sums}[0]"


def parallel_pairwise(w: Writer, loop: Loop, n: str, acc: str) -> None:
    """A full float sum of a vector: the top levels of NumPy's tree split over threads,
    each node summed pairwise, then the node sums added up the tree."""
    eqn = loop.reduce
    dtype = scalars.cast(eqn.outputs[0].dtype)
    nodes, totals, k = w.temp("nodes"), w.temp("totals"), w.temp("k")
    w.emit(f"{nodes} = rt.pairwise_nodes({n}, {PARALLEL_LEVELS})")
    w.emit(f"{totals} = np.empty({nodes}.shape[0], dtype={dtype})")
    w.emit(f"for {k} in prange({nodes}.shape[0]):")
    w.indent += 1
    scratch = pairwise_scratch(w, loop, [f"{nodes}[{k}, 1]"])
    assert scratch is not None
    w.emit(f"{totals}[{k}] = {pairwise_walk(w, loop, f'{nodes}[{k}, 0]', scratch)}")
    w.indent -= 1
    w.emit(f"{acc} = {scalars.fold_init(eqn)} + rt.pairwise_combine({totals})")
