"""Library calls in the Numba backend: equations that run on whole arrays.

Native rules cover what Numba does well (matmul through BLAS, see `blas.py`; reshape,
concatenate, cumulative sums, ahead-of-time constants, the common forms of integer-array
indexing; transposes read only by BLAS, as views). Every other
op runs its NumPy reference implementation in object mode (`numba.objmode`): correct for
every op in the table and every dtype, at the cost of a trip through the interpreter (a
few microseconds) per call. So every row has
a rule here; tests/emit/test_numba_cases.py runs every op case through this backend.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from tracejit.emit.numba import blas, indexing, scalars
from tracejit.graph.ir import Eqn, Graph, Var, short_dtype
from tracejit.graph.ops import OPS, run_impl
from tracejit.rewrite.fusion import Call, Loop, Plan, Read

if TYPE_CHECKING:
    from tracejit.emit.numba.writer import Writer

#: ops computed once, at trace time, and passed in as arguments
#: (`full` and 1-element constants never get here: the fusion plan inlines them as literals)
AHEAD_OF_TIME = frozenset({"constant", "arange", "linspace", "eye"})
BLAS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64),
        np.dtype(np.complex128))


def emit_call(w: Writer, eqn: Eqn) -> None:
    rule = NATIVE.get(eqn.op)
    native = rule is not None and rule(w, eqn, check=True)
    if not (native and eqn.op in OWN_COMMENT):
        w.comment(eqn, "library call")
    if native:
        rule(w, eqn, check=False)
    else:
        object_mode(w, eqn)


def register(op: str, rule: Callable[..., bool], own_comment: bool = False) -> None:
    """A native rule for an op defined outside this package (`tracejit/scan/numba.py`).
    `own_comment`: the rule writes its kernel's comment itself."""
    NATIVE[op] = rule
    if own_comment:
        OWN_COMMENT.add(op)


def may_alias(producer: Eqn | None) -> bool:
    """Whether an output made by `producer` can share memory with an argument or a
    cached constant (the other kernels make new arrays)."""
    return producer is not None and (producer.op in AHEAD_OF_TIME
                                     or producer.op in ("reshape", "transpose"))


def ahead_of_time(w: Writer, eqn: Eqn, check: bool) -> bool:
    if not check:
        (value,) = run_impl(OPS[eqn.op], [], eqn.params)
        w.constant_arg(eqn.outputs[0], value)
    return True


def reshape(w: Writer, eqn: Eqn, check: bool) -> bool:
    (x,), (y,) = eqn.inputs, eqn.outputs
    if check:
        return x.ndim > 0 and y.ndim > 0
    w.emit(f"{w.name(y)} = np.ascontiguousarray({w.name(x)}).reshape({w.shape_tuple(y.shape)})")
    return True


@functools.cache
def numba_has_blas() -> bool:
    """Numba's own `np.dot` calls BLAS through SciPy; without SciPy it cannot compile."""
    return importlib.util.find_spec("scipy") is not None


def matmul_native(eqn: Eqn) -> bool:
    """Whether `eqn` (a matmul) compiles natively: through NumPy's BLAS (`blas.py`), else
    Numba's `np.dot` (2-D and 1-D, non-empty, with SciPy); else it runs in object mode."""
    (a, b), (y,) = eqn.inputs, eqn.outputs
    if not (a.dtype == b.dtype == y.dtype and y.dtype in BLAS):
        return False
    return blas.available() or (numba_has_blas() and a.ndim <= 2 and b.ndim <= 2
                                and a.size > 0 and b.size > 0)


#: OpenBLAS runs a product on one thread below these sizes (interface/gemm.c, gemv.c:
#: m*n*k <= 65536 * GEMM_MULTITHREAD_THRESHOLD, m*n < 2304 * that threshold, which is 4)
GEMM_THREADED, GEMV_THREADED = 1 << 18, 2304 * 4


def wakes_blas_threads(graph: Graph) -> bool:
    """Whether `graph` (or a loop body in it) calls BLAS on sizes for which OpenBLAS
    wakes its worker threads. Those spin for ~0.1 s after each call (the library's
    THREAD_TIMEOUT, fixed when NumPy loads it), so a prange loop after a product finds
    the other cores busy: measured on 2 cores, a loop that runs 2x faster in parallel
    gained nothing right after a NumPy matmul, and the MLP gradient ran 15% faster with
    serial loops. Such graphs keep their loops serial (BLAS still uses every core)."""
    if not blas.threaded():
        return False
    for e in graph.eqns:
        if e.op == "matmul":
            (a, b) = e.inputs
            n = b.shape[-1] if b.ndim > 1 else 1
            if (a.ndim > 1 and b.ndim > 1 and a.shape[-2] * a.shape[-1] * n > GEMM_THREADED) \
                    or (min(a.ndim, b.ndim) == 1 and max(a.size, b.size) >= GEMV_THREADED):
                return True
        elif OPS[e.op].family == "linalg":
            return True
        for sub in e.params.values():
            if isinstance(sub, Graph) and wakes_blas_threads(sub):
                return True
    return False


def matmul(w: Writer, eqn: Eqn, check: bool) -> bool:
    """`y = a @ b` as BLAS gemm (matrix products), gemv (a vector operand) or a one-row
    gemv (vector dot), over a loop of the batch axes; broadcast batch axes index 0."""
    (a, b), (y,) = eqn.inputs, eqn.outputs
    if check:
        return matmul_native(eqn)
    if not blas.available():
        w.emit(f"{w.name(y)} = np.dot({w.name(a)}, {w.name(b)})")
        return True
    if "from tracejit.emit.numba import blas" not in w.globals:
        w.globals.append("from tracejit.emit.numba import blas")
    if y.ndim == 0:
        w.emit(f"{w.name(y)} = blas.dot({w.name(a)}, {w.name(b)})")
        return True
    w.allocate(y)
    batch = y.ndim - (a.ndim > 1) - (b.ndim > 1)
    extents = [w.dim(n) for n in y.shape[:batch]]
    depth = w.open_loops(list(range(batch)), extents, False)
    ea, eb = (operand(w, v, v.ndim - min(v.ndim, 2), batch) for v in (a, b))
    ey = operand(w, y, batch, batch)
    if a.ndim > 1 and b.ndim > 1:
        w.emit(f"blas.gemm({ea}, {eb}, {ey})")
    elif a.ndim > 1:
        w.emit(f"blas.gemv({ea}, {eb}, {ey}, False)")
    else:
        w.emit(f"blas.gemv({eb}, {ea}, {ey}, True)")
    w.indent -= depth
    return True


def operand(w: Writer, v: Var, own: int, batch: int) -> str:
    """`v`'s matrix (or vector) at the product's batch index (i0, i1, ...); `v` has
    `own` leading batch axes, aligned to the right of the product's `batch`."""
    at = ["0" if v.shape[k] == 1 else f"i{k + batch - own}" for k in range(own)]
    return f"{w.name(v)}[{', '.join(at)}]" if at else w.name(v)


def transposes_as_views(plan: Plan) -> Plan:
    """A transpose that only BLAS products read is not copied: it becomes a view
    (`x.T`), which BLAS takes with its trans flag. Its store is taken out of the loop
    that wrote it (where that loop read it straight from `x`'s array) and the view is
    made in its place; `x` must then outlive the products, which the memory plan sees
    as reads through the view."""
    if not blas.available():
        return plan
    users: dict[Var, list[Eqn]] = {}
    for e in plan.graph.eqns:
        for v in e.inputs:
            users.setdefault(v, []).append(e)
    kernels: list = []
    for kernel in plan.kernels:
        if isinstance(kernel, Loop) and kernel.kind == "map":
            for v, pos in list(kernel.stores.items()):
                eqn = transpose_for_blas(plan, v, users.get(v, []), kernel.body[pos])
                if eqn is not None:
                    del kernel.stores[v]
                    kernels.append(Call(eqn))
            if not kernel.stores:
                continue
        kernels.append(kernel)
    plan.kernels = kernels
    return plan


def transpose_for_blas(plan: Plan, v: Var, users: list[Eqn], step: object) -> Eqn | None:
    """The transpose equation computing `v`, if `v` can be a view for BLAS."""
    eqn = next((e for e in plan.graph.eqns if v in e.outputs), None)
    if (eqn is None or eqn.op != "transpose" or v.ndim < 2 or v in plan.graph.outputs
            or not isinstance(step, Read) or step.var is not eqn.inputs[0]):
        return None
    return eqn if users and all(u.op == "matmul" and matmul_native(u) for u in users) else None


def transpose(w: Writer, eqn: Eqn, check: bool) -> bool:
    """A transpose as a view (made only by `transposes_as_views`)."""
    (x,), (y,) = eqn.inputs, eqn.outputs
    if not check:
        w.comment(eqn, "a view, which BLAS reads transposed")
        axes = tuple(eqn.params["axes"])
        view = ".T" if axes == (1, 0) else f".transpose({axes})"
        w.emit(f"{w.name(y)} = {w.name(x)}{view}")
    return True


def concatenate(w: Writer, eqn: Eqn, check: bool) -> bool:
    y = eqn.outputs[0]
    if check:
        return all(scalars.numba_dtype_ok(v.dtype) for v in eqn.inputs + eqn.outputs)
    axis = eqn.params["axis"] % y.ndim
    w.emit(f"{w.name(y)} = np.empty({w.shape_tuple(y.shape)}, dtype={scalars.cast(y.dtype)})")
    start = 0
    for x in eqn.inputs:
        stop = start + x.shape[axis]
        lo, hi = w.dim(start), w.dim(stop)
        where = ", ".join(f"{lo}:{hi}" if k == axis else ":" for k in range(y.ndim))
        w.emit(f"rt.copy_into({w.name(y)}[{where}], {w.name(x)})")
        start = stop
    return True


def cumulative(w: Writer, eqn: Eqn, check: bool) -> bool:
    """cumsum/cumprod (and add/multiply.accumulate) as a loop with the axis innermost."""
    (x,), (y,) = eqn.inputs, eqn.outputs
    kind = {"cumsum": "sum", "cumprod": "prod"}.get(eqn.op) or {
        "add": "sum", "multiply": "prod"}.get(eqn.params.get("ufunc", ""))
    if check:
        return (kind is not None and x.ndim > 0 and scalars.numba_dtype_ok(x.dtype)
                and scalars.numba_dtype_ok(y.dtype))
    axis = eqn.params["axis"] % x.ndim
    fold = Eqn(kind, (x,), (Var((), y.dtype),), {"axes": (axis,), "keepdims": False})
    w.emit(f"{w.name(y)} = np.empty({w.shape_tuple(y.shape)}, dtype={scalars.cast(y.dtype)})")
    extents = [w.dim(n) for n in x.shape]
    outer = [k for k in range(x.ndim) if k != axis]
    depth = w.open_loops(outer, extents, True)
    acc = w.temp("acc")
    w.emit(f"{acc} = {scalars.fold_init(fold)}")
    w.emit(f"for i{axis} in range({extents[axis]}):")
    at = ", ".join(f"i{k}" for k in range(x.ndim))
    value = scalars.fold_value(fold, f"{w.name(x)}[{at}]", x.dtype)
    w.emit(f"    {acc} = {scalars.fold_combine(fold, acc, value)}")
    w.emit(f"    {w.name(y)}[{at}] = {acc}")
    w.indent -= depth
    return True


NATIVE: dict[str, Callable[..., bool]] = {
    **{op: ahead_of_time for op in AHEAD_OF_TIME},
    "reshape": reshape, "matmul": matmul, "transpose": transpose, "concatenate": concatenate,
    "cumsum": cumulative, "cumprod": cumulative, "accumulate": cumulative,
    **indexing.NATIVE,
}
#: ops whose rule comments its own code (loops: not a library call)
OWN_COMMENT: set[str] = {"transpose"}


# --- object mode ----------------------------------------------------------------------


def numba_type(v: Var) -> str:
    scalar = "numba.types.boolean" if v.dtype == np.bool_ else f"numba.types.{v.dtype.name}"
    return f'numba.types.Array({scalar}, {v.ndim}, "C")' if v.ndim else scalar


def object_mode(w: Writer, eqn: Eqn) -> None:
    """Run the op's NumPy implementation through `numba.objmode`."""
    hook = f"K{len(w.hooks)}"
    w.hooks[hook] = eqn
    # the hook is bound per module, so the text must name everything it depends on
    signature = ", ".join(f"{short_dtype(v.dtype)}[{v.ndim}d]" for v in eqn.inputs)
    digest = hashlib.sha256(repr(sorted(eqn.params.items(), key=str)).encode()).hexdigest()[:12]
    w.globals.append(f"{hook} = None  # np {eqn.op}({signature}) in object mode, params "
                     f"{digest}; set by the loader")
    types = []
    for k, v in enumerate(eqn.outputs):
        if v in w.live:  # Numba refuses annotations of values not used afterwards
            w.globals.append(f"{hook}_T{k} = {numba_type(v)}")
            types.append(f"{w.name(v)}={hook}_T{k}")
    outs = ", ".join(w.name(v) if v in w.live else "_" for v in eqn.outputs)
    w.emit(f"with numba.objmode({', '.join(types)}):")
    w.emit(f"    {outs}{',' if len(eqn.outputs) == 1 else ''} = "
           f"{hook}({', '.join(w.name(v) for v in eqn.inputs)})")


def make_hook(eqn: Eqn) -> Callable[..., tuple]:
    """The Python function an object-mode block calls for `eqn`: NumPy's result, as fresh
    C-contiguous arrays (or scalars, for 0-d outputs) of exactly the graph's dtypes."""
    op = OPS[eqn.op]
    in_dtypes = [v.dtype for v in eqn.inputs]
    outs = eqn.outputs

    def hook(*args: Any) -> tuple:
        arrays = [np.asarray(a, dtype=dt) for a, dt in zip(args, in_dtypes, strict=True)]
        results = run_impl(op, arrays, eqn.params)
        values = []
        for r, v in zip(results, outs, strict=True):
            r = np.asarray(r, dtype=v.dtype)
            if v.ndim == 0:
                values.append(r[()])
            elif r.flags.c_contiguous and r.base is None and not any(r is a for a in arrays):
                values.append(r)
            else:
                values.append(np.array(r, order="C", copy=True))
        return tuple(values)

    hook.__name__ = f"{eqn.op}_hook"
    return hook
