"""A compiled CUDA program: the plan's kernels and library calls, run in order on a device.

The host walks the plan: for a loop it allocates the stored arrays and launches the
kernel with the sizes, offsets and strides of this call's arrays; for a library call
(matmul, linalg, sorting, anything not fused) it calls the op's NumPy rule on the
device arrays, which NumPy dispatches to CuPy (cuBLAS, cuSOLVER); a loop op (`scan`,
`while`) runs as a host loop over its body's program.

NumPy inputs are copied to the device and the outputs back (`backend="cuda"` called
with NumPy arrays); device inputs give device outputs. Mixing NumPy and device arrays
in one call is an error (which copy is wanted is the caller's call).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tracejit.emit.cuda import devices, kernels, scalars, units
from tracejit.graph.ir import Eqn, Graph, Var
from tracejit.graph.ops import OPS
from tracejit.graph.printing import var_names
from tracejit.rewrite.fusion import (
    At,
    Call,
    Loop,
    Plan,
    index_axes,
    index_inputs,
    plan_fusion,
    scalar_indexed,
)

LOOP_OPS = frozenset({"scan", "while"})


def inlinable(eqn: Eqn) -> bool:
    return len(eqn.outputs) == 1 and scalars.inlinable(eqn)


class Program:
    """`graph` compiled for CUDA. Call it with the graph's inputs; it returns the outputs
    as a list. Nothing needs a GPU until it is called: `source` is the CUDA C++ text."""

    fresh_outputs = True

    def __init__(self, graph: Graph, donated: Iterable[int] = ()) -> None:
        self.graph = graph
        writable = frozenset(graph.inputs[i] for i in donated)
        if units.supported(graph):
            plan = plan_fusion(graph, inlinable, scalars.foldable, writable)
        else:  # complex values: every equation is a CuPy call (unfused)
            plan = Plan(graph, [Call(e) for e in graph.eqns], set(graph.inputs), graph)
        self.plan = plan
        self.outputs = plan.graph.outputs  # the source's, after identity updates dropped
        fresh = var_names()
        named = plan.source or plan.graph
        self.names = {v: units.c_name(next(fresh)) for v in
                      named.inputs + tuple(o for e in named.eqns for o in e.outputs)}
        prefix = units.kernel_prefix(graph.name)
        self.steps: list[kernels.Kernel | Call] = []
        for kernel in plan.kernels:
            if isinstance(kernel, Loop):
                index = sum(isinstance(s, kernels.Kernel) for s in self.steps)
                self.steps.append(kernels.write_kernel(kernel, index, prefix, self.names))
            else:
                self.steps.append(kernel)
        self.unit = units.translation_unit(plan, [s for s in self.steps
                                                    if isinstance(s, kernels.Kernel)])
        self.bodies = {id(s.eqn): loop_bodies(s.eqn) for s in self.steps
                       if isinstance(s, Call) and s.eqn.op in LOOP_OPS}
        self.constants: dict[Var, Any] = {}  # made on the device once, by input-less calls

    # --- the source ---------------------------------------------------------------

    def units(self) -> list[str]:
        """Every translation unit that may run: this graph's, then its loop bodies'."""
        out = [self.unit] if any(isinstance(s, kernels.Kernel) for s in self.steps) else []
        for bodies in self.bodies.values():
            for body in bodies:
                out += body.units()
        return out

    @property
    def source(self) -> str:
        units = self.units()
        if len(units) <= 1:
            return units[0] if units else \
                f"// `{self.graph.name}`: no kernels (library calls only)\n"
        return "\n".join(f"// ===== translation unit {k + 1} of {len(units)} =====\n{u}"
                         for k, u in enumerate(units))

    # --- running ------------------------------------------------------------------

    def __call__(self, *inputs: Any) -> list[Any]:
        device = devices.current()
        host = placement(device, self.graph, inputs)
        env: dict[Var, Any] = {}
        for v, x in zip(self.graph.inputs, inputs, strict=True):
            env[v] = x if device.is_array(x) else device.asarray(x, dtype=v.dtype)
        self.run(device, env)
        outs = [env[v] for v in self.outputs]
        outs = [x.copy() if any(x is c for c in self.constants.values()) else x for x in outs]
        return [device.to_host(x) for x in outs] if host else outs

    def run(self, device: Any, env: dict[Var, Any]) -> None:
        offsets: dict[tuple[Var, int], int] = {}
        module = None
        for step in self.steps:
            if isinstance(step, kernels.Kernel):
                if module is None:
                    module = device.module(self.unit)
                launch(device, module, step, env, offsets)
            elif step.eqn.op == "gather" and scalar_indexed(step.eqn):
                check_indices(device, step.eqn, env, offsets)  # the reads are views
            elif step.eqn.op in LOOP_OPS:
                outs = run_loop(device, step.eqn, self.bodies[id(step.eqn)],
                                [env[v] for v in step.eqn.inputs])
                env.update(zip(step.eqn.outputs, outs, strict=True))
            else:
                self.call(device, step.eqn, env)

    def call(self, device: Any, eqn: Eqn, env: dict[Var, Any]) -> None:
        if not eqn.inputs and eqn.outputs[0] in self.constants:
            env[eqn.outputs[0]] = self.constants[eqn.outputs[0]]
            return
        outs = device.call(OPS[eqn.op], [env[v] for v in eqn.inputs], eqn.params)
        for v, x in zip(eqn.outputs, outs, strict=True):
            env[v] = x if x.dtype == v.dtype else x.astype(v.dtype)
            if not eqn.inputs:
                self.constants[v] = env[v]


def placement(device: Any, graph: Graph, inputs: tuple) -> bool:
    """Whether this call came from the host (NumPy arrays in, NumPy out). Scalars go
    either way; NumPy and device arrays together are an error."""
    on_host = [x for x in inputs if isinstance(x, np.ndarray) and x.ndim]
    on_device = [x for x in inputs if device.is_array(x) and not isinstance(x, np.ndarray)]
    if on_host and on_device:
        raise TypeError(
            f"tracejit: `{graph.name}` (backend='cuda') got both NumPy arrays "
            f"({', '.join(f'{x.dtype}{list(x.shape)}' for x in on_host[:3])}) and device "
            f"arrays ({', '.join(f'{x.dtype}{list(x.shape)}' for x in on_device[:3])}); "
            "move them to one place first: cupy.asarray(x) for the GPU, or x.get() for "
            "the host")
    return bool(on_host) or not on_device and device.name != "host"


# --- kernels --------------------------------------------------------------------------


def launch(device: Any, module: Any, kernel: kernels.Kernel, env: dict[Var, Any],
           offsets: dict) -> None:
    loop = kernel.loop
    count = math.prod(loop.shape)
    if loop.kind == "map":
        for v in loop.stores:
            env[v] = device.empty(v.shape, v.dtype)
    elif loop.kind == "scatter":
        eqn = loop.scatter
        if eqn.op != "set_slice":
            check_indices(device, eqn, env, offsets)
        target = env[eqn.inputs[0]]
        env[eqn.outputs[0]] = target if loop.in_place else target.copy()
    else:
        out = loop.reduce.outputs[0]
        env[out] = device.empty(out.shape, out.dtype)
        n_out = out.size
        n_red = count // max(n_out, 1)
        if n_out == 0:
            return
        splits = device.splits(n_out, n_red) if n_red else 1
        partial = device.empty((n_out * splits if splits > 1 else 1,),
                               scalars.acc_dtype(loop.reduce))
        sizes = {"out": env[out], "partial": partial, "n_out": n_out, "n_red": n_red,
                 "splits": splits}
        args = arguments(kernel, env, offsets, count, sizes)
        device.launch(module, kernel.name, min(n_out * splits, device.grid(1 << 40)), args)
        if splits > 1:
            device.launch(module, kernel.name + "_combine", device.grid(n_out),
                          [partial, env[out], n_out, splits])
        return
    if count:
        device.launch(module, kernel.name, device.grid(count),
                      arguments(kernel, env, offsets, count, {}))


def arguments(kernel: kernels.Kernel, env: dict[Var, Any], offsets: dict, count: int,
              sizes: dict[str, Any]) -> list[Any]:
    """The launch arguments, in the order of `kernel.params`."""
    args: list[Any] = []
    for p in kernel.params:
        kind = p[0]
        if kind == "array":
            args.append(env[p[1]])
        elif kind in ("read", "write"):
            args += strided(env[p[1].var], p[1], offsets)
        elif kind == "extent":
            args.append(kernel.loop.shape[p[1]])
        elif kind == "count":
            args.append(count)
        else:
            args.append(sizes[kind])
    return args


def strided(array: Any, read: kernels.ReadArgs, offsets: dict) -> list[int]:
    """The element offset of `read` and its step along each of its loop axes, for this
    array's strides (any layout: views of inputs are read where they are)."""
    itemsize = array.dtype.itemsize
    strides = [s // itemsize for s in array.strides]
    base, steps = 0, dict.fromkeys(read.axes, 0)
    for stride, (axis, step, offset) in zip(strides, read.index, strict=True):
        if isinstance(offset, At):
            offset = offset.shift + offset.scale * offsets[(offset.var, offset.pos)]
        base += stride * offset
        if axis is not None:
            steps[axis] += stride * step
    return [base] + [steps[a] for a in read.axes]


def check_indices(device: Any, eqn: Eqn, env: dict[Var, Any], offsets: dict) -> None:
    """Each 0-d index of a gather or scatter, read on the host, wrapped when negative
    and checked against its axis (IndexError with NumPy's message)."""
    x, out = eqn.inputs[0], eqn.outputs[0]
    axes = index_axes(eqn.params["spec"])
    for pos, (axis, v) in enumerate(zip(axes, index_inputs(eqn), strict=True)):
        extent, k = x.shape[axis], int(device.item(env[v]))
        wrapped = k + extent if k < 0 and v.dtype.kind != "u" else k
        if not 0 <= wrapped < extent:
            raise IndexError(f"index {k} is out of bounds for axis {axis} with size {extent}")
        offsets[(out, pos)] = wrapped


# --- loop ops: host loops over their bodies' programs ---------------------------------


def loop_bodies(eqn: Eqn) -> list[Program]:
    if eqn.op == "scan":
        return [Program(eqn.params["body"])]
    return [Program(eqn.params["cond"]), Program(eqn.params["body"])]


def run_loop(device: Any, eqn: Eqn, bodies: list[Program], args: list[Any]) -> list[Any]:
    p = eqn.params
    if eqn.op == "while":
        cond, body = bodies
        nc, nb = p["n_cond_consts"], p["n_body_consts"]
        cond_consts, body_consts, carries = args[:nc], args[nc:nc + nb], args[nc + nb:]
        while bool(device.item(run_body(device, cond, [*cond_consts, *carries])[0])):
            carries = run_body(device, body, [*body_consts, *carries])
        return carries
    (body,) = bodies
    consts = args[:p["n_consts"]]
    carries = args[p["n_consts"]:p["n_consts"] + p["n_carry"]]
    xs = args[p["n_consts"] + p["n_carry"]:]
    length, n_carry = p["length"], p["n_carry"]
    ys = [device.empty((length,) + v.shape, v.dtype) for v in body.graph.outputs[n_carry:]]
    for k in (range(length - 1, -1, -1) if p["reverse"] else range(length)):
        counter = device.asarray(np.int64(k))
        outs = run_body(device, body, [counter, *consts, *carries, *(x[k] for x in xs)])
        carries = outs[:n_carry]
        for y, out in zip(ys, outs[n_carry:], strict=True):
            y[k] = out
    return [*carries, *ys]


def run_body(device: Any, body: Program, args: list[Any]) -> list[Any]:
    env = {v: x if device.is_array(x) else device.asarray(x, dtype=v.dtype)
           for v, x in zip(body.graph.inputs, args, strict=True)}
    body.run(device, env)
    return [env[v] for v in body.outputs]
