"""The loop ops in the Numba backend: `scan` and `while` as loops of the generated entry
function, their bodies planned by the fusion planner like any graph and written inline
(`Writer(plan, parallel, parent=w)`), so a body's elementwise chains fuse, its matmuls
stay BLAS calls and its slices are index arithmetic, with no Python per iteration.

    # d:i64[], e:f64[:, :] = scan: compiled loop, body s1_*  (model.py:12)
    s1_c = b.copy()                       # carried buffers: the loop's own
    s1_c_spare = np.empty_like(s1_c)      # a spare to write the next value into
    for s1_a in range(d0):                # the trip count is a run-time value
        ...                               # the body's kernels, names prefixed s1_
        s1_c, s1_c_spare = s1_t, s1_c     # carries passed on (see scan/fusion.py)
    e = s1_c

Stacked outputs are allocated once before the loop; per-step inputs are views `xs[k]`.
Which buffers the body writes and how carries pass on without copies is decided by
`tracejit.scan.fusion`. Each body picks serial or parallel loops from the work of one
iteration (a parallel region per step must pay for waking the threads).
"""

from __future__ import annotations

from typing import Sequence

from tracejit.emit.numba import calls, parallel_for, scalars, work
from tracejit.emit.numba.writer import Writer
from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.rewrite.fusion import plan_fusion
from tracejit.scan import checks
from tracejit.scan.fusion import Move, Region, plan_carries, writable_carries

#: element-operations per iteration from which a body's loops run in parallel. Each
#: iteration opens a parallel region of its own, about 50 us with 2 threads that sleep
#: between regions (OMP_WAIT_POLICY=PASSIVE): 2-D diffusion steps (13 operations per
#: point) break even at 512x512, 3.4M operations; at 1024x1024 threads halve the time.
BODY_PARALLEL_WORK = 1 << 22


def supported(eqn: Eqn) -> bool:
    """Numba computes every value of the bodies (nested loops decide for themselves)."""
    graphs = [eqn.params["body"]] + ([eqn.params["cond"]] if eqn.op == "while" else [])
    if any(e.op == "matmul" and not calls.matmul_native(e) for g in graphs for e in g.eqns):
        # a matmul in object mode inside the compiled loop (no BLAS: neither NumPy's
        # OpenBLAS nor SciPy), which Numba's lowering cannot do for loop-carried values:
        # the whole loop runs as one call
        return False
    return all(scalars.numba_dtype_ok(v.dtype) for g in graphs
               for v in g.inputs + tuple(u for e in g.eqns for u in e.inputs + e.outputs))


def body_writer(w: Writer, graph: Graph, prefix: str, preset: dict[Var, str],
                writable: frozenset[Var] = frozenset()) -> Writer:
    plan = plan_fusion(graph, scalars.inlinable, scalars.foldable, writable)
    parallel = parallel_for(work(plan), BODY_PARALLEL_WORK) and not calls.wakes_blas_threads(graph)
    return Writer(plan, parallel, w, prefix, preset)


class Carried:
    """A body with its carried values: their buffers before the loop, passing them on
    at the end of an iteration, and the loop's results after it."""

    def __init__(self, w: Writer, body: Graph, first: int, n_carry: int,
                 consts: Sequence[Var], prefix: str, readers: frozenset[Var] = frozenset()):
        self.w = w
        self.inputs = body.inputs[first:first + n_carry]
        preset = {v: w.name(c) for v, c in zip(body.inputs[first - len(consts):first], consts,
                                                strict=True)}
        self.sub = body_writer(w, body, prefix, preset, writable_carries(body, first, n_carry))
        self.outputs = self.sub.graph.outputs[:n_carry]  # as planned (identity updates gone)
        self.plan = plan_carries(self.sub.plan, first, n_carry,
                                 lambda e: not calls.may_alias(e), readers)
        self.buffers = {("carry", i): self.sub.name(v) for i, v in enumerate(self.inputs)}
        self.buffers.update({("spare", i): f"{self.sub.name(self.inputs[i])}_spare"
                             for i in self.plan.spares})
        for v, (kind, i) in self.plan.storage.items():
            if kind == "spare":
                self.sub.storage[v] = self.buffers[("spare", i)]

    def start(self, eqn: Eqn, inits: Sequence[Var]) -> None:
        """The loop's own buffers, before it starts: copies of the initial values, or
        their arrays where nothing else needs them (`Writer.adoptable`)."""
        adopted: set[Var] = set()
        for v, init in zip(self.inputs, inits, strict=True):
            value = self.w.name(init)
            if not v.ndim:
                value = f"{scalars.cast(v.dtype)}({value})"
            elif init in adopted or not self.w.adoptable(init, eqn):
                value = f"{value}.copy()"
            adopted.add(init)
            self.w.emit(f"{self.sub.name(v)} = {value}")
        for i, kind in self.plan.spares.items():
            carry = self.buffers[("carry", i)]
            value = f"{carry}.copy()" if kind == "outside" else f"np.empty_like({carry})"
            self.w.emit(f"{self.buffers[('spare', i)]} = {value}")

    def pass_on(self, first: str) -> None:
        """End of an iteration (`first`: a test for the first one): copies where needed,
        then one assignment of every carry and spare that changes."""
        sub = self.sub
        targets, values = [], []
        for move in self.plan.moves:
            value = self.value(move, first)
            if value != self.buffers[move.target]:
                targets.append(self.buffers[move.target])
                values.append(value)
        for v, out in zip(self.inputs, self.outputs, strict=True):
            if not v.ndim and out is not v:
                targets.append(sub.name(v))
                values.append(f"{scalars.cast(v.dtype)}({sub.name(out)})")
        if targets:
            sub.emit(f"{', '.join(targets)} = {', '.join(values)}")

    def value(self, move: Move, first: str) -> str:
        """The buffer `move.target` gets, after copying what it needs into it."""
        sub = self.sub
        if move.take:
            return sub.name(move.source)
        if move.reuse is None:  # no old buffer of this type is free (not expected)
            like = self.buffers[("carry", move.target[1])]
            return f"np.empty_like({like})" if move.source is None else \
                f"{sub.name(move.source)}.copy()"
        target = self.buffers[move.reuse]
        if move.source is not None:
            if move.once:
                sub.emit(f"if {first}:  # later iterations find it there already")
                sub.indent += 1
            copy_region(sub, target, sub.name(move.source), move.region)
            sub.indent -= move.once
        return target

    def finish(self, outs: Sequence[Var], ran: str) -> None:
        """The loop's results, one buffer each. A carry whose buffer holds only the part
        the next iteration would read gets the rest from the carry holding its value
        (when the loop ran at least once)."""
        regions = {m.target[1]: m.region for m in self.plan.moves if m.target[0] == "carry"}
        for i, out in enumerate(outs):
            own, final = self.buffers[("carry", i)], self.buffers[("carry", self.plan.finals[i])]
            if final != own:
                self.w.emit(f"if {ran}:")
                self.w.indent += 1
                rest = regions[i]
                if rest == "none":
                    self.w.emit(f"rt.copy_into({own}, {final})")
                else:
                    at = ", ".join(f"{self.w.dim(a)}:{self.w.dim(b)}" for a, b, _ in rest)
                    self.w.emit(f"rt.copy_into({own}[{at}], {final}[{at}])")
                self.w.indent -= 1
            self.w.emit(f"{self.w.name(out)} = {own}")


def copy_region(w: Writer, dst: str, src: str, region: Region) -> None:
    """`dst[...] = src[...]` over a region (see `tracejit.scan.fusion.Region`); outside
    a slice, as one copy per side of each axis."""
    if region == "none":
        return
    if region == "full":
        w.emit(f"rt.copy_into({dst}, {src})")
        return
    for axis, (start, stop, _) in enumerate(region):
        lead = [f"{w.dim(a)}:{w.dim(b)}" for a, b, _ in region[:axis]]
        for side in (f":{w.dim(start)}", f"{w.dim(stop)}:"):
            at = ", ".join(lead + [side])
            w.emit(f"rt.copy_into({dst}[{at}], {src}[{at}])")


# --- scan ---------------------------------------------------------------------------


def scan_rule(w: Writer, eqn: Eqn, check: bool) -> bool:
    if check:
        return supported(eqn)
    p = eqn.params
    body, nc, ncar = p["body"], p["n_consts"], p["n_carry"]
    consts, inits, xs = eqn.inputs[:nc], eqn.inputs[nc:nc + ncar], eqn.inputs[nc + ncar:]
    prefix = f"s{next(w.ids['loop'])}_"
    loop = Carried(w, body, 1 + nc, ncar, consts, prefix)
    sub = loop.sub
    w.comment(eqn, f"compiled loop{' from the end' if p['reverse'] else ''}, body {prefix}*")
    loop.start(eqn, inits)
    stacked = eqn.outputs[ncar:]
    for y in stacked:
        w.emit(f"{w.name(y)} = np.empty({w.shape_tuple(y.shape)}, dtype={scalars.cast(y.dtype)})")
    n, k = w.dim(p["length"]), sub.name(body.inputs[0])
    w.emit(f"for {k} in range({n} - 1, -1, -1):" if p["reverse"] else f"for {k} in range({n}):")
    sub.indent = w.indent + 1
    for v, x in zip(body.inputs[1 + nc + ncar:], xs, strict=True):
        sub.emit(f"{sub.name(v)} = {w.name(x)}[{k}]")
    rows = {v: j for v, (kind, j) in loop.plan.storage.items() if kind == "row"}
    for v, j in rows.items():
        sub.storage[v] = f"{w.name(stacked[j])}[{k}]"
    sub.kernels()
    for j, (v, y) in enumerate(zip(sub.graph.outputs[ncar:], stacked, strict=True)):
        if rows.get(v) != j:
            row = f"{w.name(y)}[{k}]"
            sub.emit(f"rt.copy_into({row}, {sub.name(v)})" if y.ndim > 1 else
                     f"{row} = {sub.name(v)}")
    loop.pass_on(f"{k} == {n} - 1" if p["reverse"] else f"{k} == 0")
    loop.finish(eqn.outputs[:ncar], f"{n} > 0")
    return True


# --- while --------------------------------------------------------------------------


def while_rule(w: Writer, eqn: Eqn, check: bool) -> bool:
    if check:
        return supported(eqn)
    p = eqn.params
    cond, body, ncc, nbc = p["cond"], p["body"], p["n_cond_consts"], p["n_body_consts"]
    inits = eqn.inputs[ncc + nbc:]
    used = {u for e in cond.eqns for u in e.inputs} | set(cond.outputs)
    readers = frozenset(b for b, c in zip(body.inputs[nbc:], cond.inputs[ncc:], strict=True)
                        if c in used)
    number = next(w.ids["loop"])
    loop = Carried(w, body, nbc, len(inits), eqn.inputs[ncc:ncc + nbc], f"w{number}_", readers)
    preset = {v: w.name(c) for v, c in zip(cond.inputs[:ncc], eqn.inputs[:ncc], strict=True)}
    preset.update({v: loop.sub.name(b) for v, b in zip(cond.inputs[ncc:], loop.inputs,
                                                         strict=True)})
    test = body_writer(w, cond, f"w{number}c_", preset)
    w.comment(eqn, f"compiled loop, condition w{number}c_*, body w{number}_*")
    loop.start(eqn, inits)
    ran = w.temp("ran") if any(i != j for i, j in loop.plan.finals.items()) else None
    if ran:
        w.emit(f"{ran} = False")
    w.emit("while True:")
    test.indent = loop.sub.indent = w.indent + 1
    test.kernels()
    test.emit(f"if not {test.name(test.graph.outputs[0])}:")
    test.emit("    break")
    loop.sub.kernels()
    loop.pass_on(f"not {ran}" if ran else "True")
    if ran:
        loop.sub.emit(f"{ran} = True")
    loop.finish(eqn.outputs, ran or "False")
    return True


calls.register("scan", scan_rule, own_comment=True)
calls.register("while", while_rule, own_comment=True)
calls.register("check", checks.emit_numba)
