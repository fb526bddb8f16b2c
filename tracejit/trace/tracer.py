"""`Tracer`: the proxy array a jitted function runs on.

A Tracer is a view of a `Buffer`: `steps` (slices, reshapes, transposes) applied to the
buffer's current value. It records NumPy operations into the current trace through
`__array_ufunc__`, `__array_function__`, Python operators and ndarray methods.

`kind` mirrors what NumPy would hand back: "array" (ndarray), "scalar" (a NumPy scalar,
what `x.sum()` or `np.sin(0-d)` gives) or "python" (a traced Python float argument and
arithmetic on it). `weak` marks values that promote like Python scalars (NEP 50).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit import errors
from tracejit.graph.creation import ConstValue
from tracejit.graph.ir import Var
from tracejit.graph.ops import OPS, run_impl
from tracejit.trace import views
from tracejit.trace.context import Buffer, Respecialize, TraceContext, current, resolve_entry
from tracejit.trace.source import user_source
from tracejit.trace.views import Step

PY_SCALARS = (bool, int, float, complex)


def is_py_scalar(x: Any) -> bool:
    """A Python number (weak under NEP 50); np.float64 subclasses float but is strong."""
    return isinstance(x, PY_SCALARS) and not isinstance(x, np.generic)


class Tracer:
    __slots__ = ("_ctx", "_buf", "_steps", "_strides", "_shape", "_dtype", "_seen", "_val",
                 "kind", "weak")
    __array_priority__ = 1000.0
    __hash__ = None  # mutable, like ndarray

    def __init__(self, ctx: TraceContext, buf: Buffer, steps: tuple[Step, ...] = (),
                 shape: tuple[int, ...] | None = None, dtype: np.dtype | None = None,
                 strides: tuple[int, ...] | None = None, kind: str | None = None,
                 weak: bool = False) -> None:
        self._ctx = ctx
        self._buf = buf
        self._steps = steps
        self._shape = buf.var.shape if shape is None else shape
        self._dtype = buf.var.dtype if dtype is None else dtype
        self._strides = buf.strides if not steps else strides
        self._seen = None
        self._val = None
        self.kind = kind or ("scalar" if len(self._shape) == 0 and not steps else "array")
        self.weak = weak

    # --- value --------------------------------------------------------------------

    @property
    def sym(self) -> Var:
        """The current value: the buffer's latest version seen through this view."""
        base = self._buf.var
        if not self._steps:
            return base
        if self._seen is not base:
            value = base
            for step in self._steps:
                (value,) = self._ctx.record(step.op, [value], step_params(step))
            self._seen, self._val = base, value
        return self._val

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self._dtype.itemsize

    def __repr__(self) -> str:
        return f"Tracer({self._dtype}{list(self._shape)}, kind={self.kind})"

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._shape[0]))

    # --- concretization -----------------------------------------------------------

    def _concrete(self, what: str) -> Any:
        """The concrete value, if it is a constant; otherwise a clear error."""
        var = self.sym
        deps = self._ctx.input_dependencies(var)
        if not deps:
            return evaluate_constant(self._ctx, var)
        inputs = set(self._ctx.inputs)
        if any(v not in inputs for v in deps):
            raise errors.LoopVaryingError(
                what, f"the traced {short(self)} changes from one iteration to the next of "
                "a loop tracejit compiles as one loop node, so its value is not known while "
                "tracing", "compute with np.where(cond, a, b) instead of if/else, or run "
                "the loop in Python with `for ... in tracejit.unroll(range(n))`",
                user_source())
        leaves = [self._ctx.scalar_leaves.get(v) for v in deps]
        if all(leaf is not None for leaf in leaves):
            raise Respecialize(frozenset(leaves))
        raise errors.ConcretizationError(
            what, f"the value of a traced {short(self)} is not known while tracing "
            f"(it depends on {self._ctx.describe_inputs(deps)})",
            "use np.where(cond, a, b) instead of if/else on array values, or mark the "
            "argument static with jit(static_argnames=...)", user_source())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self._concrete("bool() / if / while on a traced value"))

    def __float__(self) -> float:
        return float(self._concrete("float() of a traced value"))

    def __int__(self) -> int:
        return int(self._concrete("int() of a traced value"))

    def __complex__(self) -> complex:
        return complex(self._concrete("complex() of a traced value"))

    def __index__(self) -> int:
        if self._dtype.kind not in "iub":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._concrete("using a traced value as an index or size"))

    def item(self, *args: Any) -> Any:
        return np.asarray(self._concrete("x.item() of a traced value")).item(*args)

    def tolist(self) -> Any:
        return np.asarray(self._concrete("x.tolist() of a traced value")).tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = np.asarray(self._concrete(
            "converting a traced value to a NumPy array (np.asarray, a library call, or "
            "writing it into a NumPy array created outside the trace)"))
        return value if dtype is None else value.astype(dtype)

    # --- dispatch -----------------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any):
        from tracejit.trace.ufuncs import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any):
        from tracejit.trace.api import dispatch

        return dispatch(func, args, kwargs)

    def __getitem__(self, index: Any) -> Tracer:
        from tracejit.trace.indexing import getitem

        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        from tracejit.trace.indexing import setitem

        setitem(self, index, value)


def short(t: Tracer) -> str:
    from tracejit.graph.ir import type_str

    return type_str(t.shape, t.dtype)


def step_params(step: Step) -> dict[str, Any]:
    if step.op == "slice":
        return {"triples": step.params}
    if step.op == "reshape":
        return {"shape": step.params}
    if step.op in ("real", "imag"):
        return {}
    return {"axes": step.params}


def evaluate_constant(ctx: TraceContext, var: Var) -> np.ndarray:
    """Evaluate a value that depends on no input, with the interpreter. Inside a loop
    body, an entry variable evaluates as the outer value it stands for."""
    values: dict[Var, Any] = {}
    stack = [var]
    while stack:
        v = stack[-1]
        if v in values:
            stack.pop()
            continue
        outer = resolve_entry(v)
        if outer is not None:
            if outer in values:
                values[v] = values[outer]
                stack.pop()
            else:
                stack.append(outer)
            continue
        eqn = ctx.producer[v]
        missing = [u for u in eqn.inputs if u not in values]
        if missing:
            stack.extend(missing)
            continue
        outs = run_impl(OPS[eqn.op], [values[u] for u in eqn.inputs], eqn.params)
        values.update(zip(eqn.outputs, outs, strict=True))
        stack.pop()
    return values[var]


# --- building tracers -------------------------------------------------------------


def fresh(ctx: TraceContext, var: Var, kind: str | None = None, weak: bool = False) -> Tracer:
    """A tracer owning a new buffer (the result of a computation)."""
    buf = Buffer(var, strides=views.c_strides(var.shape))
    return Tracer(ctx, buf, kind=kind or ("scalar" if var.ndim == 0 else "array"), weak=weak)


def bind(op: str, inputs: list[Tracer], params: dict[str, Any] | None = None,
         kind: str | None = None, weak: bool = False) -> Tracer | list[Tracer]:
    ctx = inputs[0]._ctx if inputs else get_ctx()
    outs = ctx.record(op, [t.sym for t in inputs], params or {})
    tracers = [fresh(ctx, v, kind, weak) for v in outs]
    return tracers[0] if len(tracers) == 1 else tracers


def create(op: str, params: dict[str, Any], kind: str = "array") -> Tracer:
    """An op with no array inputs (a constant, zeros, arange, ...)."""
    ctx = get_ctx()
    (var,) = ctx.record(op, [], params)
    return fresh(ctx, var, kind)


def get_ctx() -> TraceContext:
    ctx = current()
    if ctx is None:
        raise RuntimeError("tracejit: no trace is active (a Tracer escaped its jit call?)")
    return ctx


def constant(value: Any, dtype: Any = None, kind: str = "array", count: bool = False
             ) -> Tracer:
    """A constant; `count`: an element count of the traced arrays (see `ConstValue`)."""
    ctx = get_ctx()
    const = ConstValue(value, dtype, count)
    key = ("const", const)
    var = ctx.consts.get(key)
    if var is None:
        (var,) = ctx.record("constant", [], {"value": const})
        ctx.consts[key] = var
    return fresh(ctx, var, kind if var.ndim == 0 or kind != "scalar" else "array")


def lift(x: Any, dtype: Any = None) -> Tracer:
    """Anything array-like as a Tracer: Tracers pass through, NumPy arrays from outside
    the trace are captured (read at call time), Python and NumPy scalars and lists become
    constants. `dtype`, when given, is the dtype a Python scalar takes."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, np.ndarray):
        check_array_dtype(x)
        return capture_array(x)
    if is_py_scalar(x):
        if dtype is None:
            t = constant(x, kind="python")
            t.weak = not isinstance(x, bool)
            return t
        return constant(scalar_in_dtype(x, dtype), kind="scalar")
    if isinstance(x, np.generic):
        check_array_dtype(np.asarray(x))
        return constant(x, kind="scalar")
    if isinstance(x, (list, tuple)):
        from tracejit.trace.api.shapes import array_from_sequence

        return array_from_sequence(x, dtype)
    raise errors.UnsupportedArgumentError(
        "converting to an array", f"cannot use a {type(x).__name__} as an array inside a "
        "jitted function", "pass NumPy arrays, Python numbers, or lists of them",
        user_source())


def scalar_in_dtype(x: Any, dtype: Any) -> np.ndarray:
    """A Python scalar as a 0-d array of `dtype`, raising OverflowError as NumPy does."""
    return np.array(x, dtype=dtype)


def check_array_dtype(a: np.ndarray) -> None:
    if a.dtype.kind not in "biufc":
        raise errors.UnsupportedArgumentError(
            "array argument", f"arrays of dtype {a.dtype} (shape {a.shape}) cannot be traced",
            "pass numeric or boolean arrays; keep strings and objects outside the jitted "
            "function", user_source())


def capture_array(a: np.ndarray) -> Tracer:
    """An ndarray created outside the trace: an implicit input, read at call time."""
    ctx = get_ctx()
    t = ctx.captured.get(id(a))
    if t is None:
        from tracejit.trace.capture import capture

        t = capture(ctx, a, accessor=None, describe=f"array {a.dtype}{list(a.shape)}")
    return t


def weak_type(t: Tracer) -> Any:
    """The operand type NumPy's resolver sees: a dtype, or a Python type for weak values."""
    if t.weak:
        return {"f": float, "c": complex, "i": int, "u": int}.get(t._dtype.kind, t._dtype)
    return t._dtype


def astype(t: Tracer, dtype: Any, kind: str | None = None) -> Tracer:
    dtype = np.dtype(dtype)
    if t._dtype == dtype:
        return t
    return bind("astype", [t], {"dtype": dtype}, kind=kind or t.kind)
