"""Which kernel computes each equation: the backend's fusion plan, named for people.

`kernels(graph, backend)` plans `graph` as the backend does (`rewrite/fusion.py` with the
Numba backend's per-element and folding rules; loop bodies planned on their own) and
returns the kernels in order, each with the equations it computes. Kernels are named `k0,
k1, ...`; a loop body's are named after their loop (`k3.0`). Views and scalar literals
belong to no kernel: they are index arithmetic and constants inside their readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracejit.graph.ir import Eqn, Graph
from tracejit.rewrite.fusion import Apply, Call, plan_fusion

LOOP_KINDS = {"map": "fused loop", "reduce": "fused reduction", "scatter": "fused slice update"}


@dataclass
class Kernel:
    name: str
    kind: str  # "fused loop", "fused reduction", "fused slice update", "call", "compiled loop"
    eqns: list[Eqn] = field(default_factory=list)
    shape: tuple[int, ...] | None = None
    native: bool = True  # False: a call run in object mode (the interpreter)

    @property
    def label(self) -> str:
        over = f" over [{','.join(map(str, self.shape))}]" if self.shape is not None else ""
        ops = ", ".join(dict.fromkeys(e.op for e in self.eqns))
        mode = "" if self.native else ", object mode"
        return f"{self.name}: {self.kind}{over} ({ops}{mode})"


def kernels(graph: Graph, backend: str) -> list[Kernel]:
    """The kernels the backend runs `graph` as (bodies' kernels after their loop's)."""
    if backend not in ("numba", "auto"):
        return [Kernel(f"k{k}", "call", [e]) for k, e in enumerate(graph.eqns)]
    from tracejit.emit.numba import scalars

    return planned(graph, "k", scalars.inlinable, scalars.foldable)


def planned(graph: Graph, prefix: str, inlinable, foldable) -> list[Kernel]:
    plan = plan_fusion(graph, inlinable, foldable)
    original = source_eqns(plan.graph, graph)
    out: list[Kernel] = []
    seen: set[int] = set()
    for k, planned_kernel in enumerate(plan.kernels):
        name = f"{prefix}{k}" if prefix == "k" else f"{prefix}.{k}"
        if isinstance(planned_kernel, Call):
            eqn = original.get(id(planned_kernel.eqn), planned_kernel.eqn)
            loop = any(isinstance(p, Graph) for p in eqn.params.values())
            kernel = Kernel(name, "compiled loop" if loop else "call", [eqn],
                            native=native_call(eqn))
            out.append(kernel)
            for sub in (p for p in eqn.params.values() if isinstance(p, Graph)):
                out += planned(sub, name, inlinable, foldable)
            continue
        kernel = Kernel(name, LOOP_KINDS[planned_kernel.kind], shape=planned_kernel.shape)
        steps = [s.eqn for s in planned_kernel.body if isinstance(s, Apply)]
        steps += [e for e in (planned_kernel.reduce, planned_kernel.scatter) if e is not None]
        for e in steps:
            e = original.get(id(e), e)
            if id(e) not in seen:  # recomputed in several loops: listed in the first
                seen.add(id(e))
                kernel.eqns.append(e)
        out.append(kernel)
    return out


def source_eqns(planned_graph: Graph, graph: Graph) -> dict[int, Eqn]:
    """id(equation of the planned graph) -> the same equation of `graph` (the plan drops
    identity slice updates and rebuilds the other equations)."""
    by_output = {e.outputs[0]: e for e in graph.eqns if e.outputs}
    effects = iter(e for e in graph.eqns if not e.outputs)
    return {id(e): by_output[e.outputs[0]] if e.outputs else next(effects)
            for e in planned_graph.eqns}


def native_call(eqn: Eqn) -> bool:
    """Whether the Numba backend has a native rule for `eqn` (else: object mode)."""
    from tracejit.emit.numba import calls

    rule = calls.NATIVE.get(eqn.op)
    if rule is None:
        return False
    try:
        return bool(rule(None, eqn, check=True))
    except Exception:  # noqa: BLE001 - a check that needs a writer: assume it is native
        return True


def groups(kernel_list: list[Kernel]) -> dict[Eqn, str]:
    """Equation -> its kernel's label (for printing and pictures)."""
    return {e: k.label for k in kernel_list for e in k.eqns}
