"""The fast path of a jitted call: a generated key function, one dict lookup, one call
into compiled code.

The general path (`Jitted.__call__`) binds the signature, flattens pytrees and builds a
canonical key with each array's layout class; that costs several microseconds. Most
calls repeat one pattern: the same number of positional arguments, arrays where there
were arrays, Python floats where there were floats, the same static values. For that
pattern `FastPath` generates a function (source below) keyed on what each position
needs, `(shape, strides, dtype)` for an array, `type` for a traced float, `(type, value)`
for a static value, and maps each key to the compiled entry point of the entry the
general path found for it. Strides stand in for the layout class: an array with new
strides misses once, takes the general path (which may find the same compiled entry),
and is added here. Entries qualify when nothing has to happen after the compiled call
but returning its result: no captured globals to read, no arguments to write back, and
outputs that are the compiled code's own fresh arrays or scalars.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

MISS = object()
#: most keys remembered per function; beyond that, new keys take the general path
MAX_KEYS = 256


def position_kinds(args: tuple, static: frozenset[int]) -> tuple[str, ...] | None:
    """The pattern of a call: per position "array", "float" or "static"; None when a
    position is none of these (containers, NumPy scalars, ...)."""
    kinds = []
    for i, a in enumerate(args):
        kind = type(a)
        if i in static or kind in (int, bool):
            kinds.append("static")
        elif kind is np.ndarray:
            kinds.append("array")
        elif kind is float or kind is complex:
            kinds.append("float")
        else:
            return None
    return tuple(kinds)


class FastPath:
    def __init__(self, kinds: tuple[str, ...],
                 failed: Callable[[Exception, tuple], None] | None = None) -> None:
        self.kinds = kinds
        #: a bound method called with what the compiled call raised and the arguments
        #: before it propagates (`Jitted.run_failed` raises it located instead); held
        #: weakly, as its object holds this
        self.failed = weakly(failed) if failed is not None else (lambda exc, args: None)
        self.table: dict[Any, tuple] = {}
        self.source, self.call = self.generate()

    def generate(self) -> tuple[str, Callable[..., Any]]:
        params = [f"a{i}" for i in range(len(self.kinds))]
        parts, passed = [], []
        for p, kind in zip(params, self.kinds, strict=True):
            if kind == "array":  # the type: a NumPy scalar is not a 0-d array
                parts += [f"type({p})", f"{p}.shape", f"{p}.strides", f"{p}.dtype"]
            elif kind == "float":
                parts.append(f"type({p})")
            else:
                parts.append(f"(type({p}), {p})")
            if kind != "static":
                passed.append(p)
        key = ", ".join(parts) + ("," if len(parts) == 1 else "")
        unpack = f"    {', '.join(params)}{',' if len(params) == 1 else ''} = args\n" \
            if params else ""
        source = (
            "def fast_call(*args):\n"
            f"    if len(args) != {len(params)}:\n"
            "        return MISS\n"
            f"{unpack}"
            "    try:\n"
            f"        run, extra, post = table[({key})]\n"
            "    except (KeyError, AttributeError, TypeError):\n"
            "        return MISS\n"
            f"    counter[0] += 1\n"
            "    try:\n"
            f"        out = run({''.join(p + ', ' for p in passed)}*extra)\n"
            "    except Exception as exc:\n"
            "        failed(exc, args)\n"
            "        raise\n"
            "    return out if post is None else post(out)\n")
        self.counter = [0]
        namespace = {"MISS": MISS, "table": self.table, "counter": self.counter,
                     "failed": self.failed}
        exec(compile(source, "<tracejit fast path>", "exec"), namespace)  # noqa: S102
        return source, namespace["fast_call"]

    def hits(self) -> int:
        """Calls served by the fast path so far."""
        return self.counter[0]

    def add(self, args: tuple, run: Callable[..., Any], extra: tuple,
            post: Callable[[Any], Any] | None) -> None:
        if len(self.table) >= MAX_KEYS:
            return
        parts: list[Any] = []
        for a, kind in zip(args, self.kinds, strict=True):
            if kind == "array":
                parts += [type(a), a.shape, a.strides, a.dtype]
            elif kind == "float":
                parts.append(type(a))
            else:
                parts.append((type(a), a))
        try:
            self.table[tuple(parts)] = (run, extra, post)
        except TypeError:  # an unhashable static value
            pass


def weakly(method: Callable[..., None]) -> Callable[..., None]:
    """`method` (bound) without a strong reference to its object."""
    ref = weakref.WeakMethod(method)  # type: ignore[arg-type]

    def call(*args: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*args)

    return call


def result_builder(traced: Any) -> tuple[bool, Callable | None]:
    """Whether the compiled result can be returned with at most a cheap conversion, and
    that conversion (None: return it as it is)."""
    graph_outputs = traced.graph.outputs
    specs = traced.out_specs
    out_tree = traced.out_tree
    if any(spec[0] != "var" or spec[3] for spec in specs):
        return False, None
    positions = [spec[1] for spec in specs]
    if positions != list(range(len(graph_outputs))):
        return False, None
    bare = out_tree is None  # the function returns one leaf, not a container
    if not bare and not (out_tree[0] is tuple and all(d is None for d in out_tree[1])):
        return False, None
    converts = []
    for spec, var in zip(specs, graph_outputs, strict=True):
        kind = spec[2]
        if kind == "array":
            converts.append(None if var.ndim else
                            (lambda v, dt=var.dtype: np.asarray(v, dtype=dt)))
        elif kind == "scalar":
            converts.append(var.dtype.type)
        else:
            converts.append(python_scalar(var.dtype))
    if len(graph_outputs) == 1:  # the compiled entry returns a single output bare
        (c,) = converts
        if bare:
            return True, c
        return True, (lambda v: (v,)) if c is None else (lambda v: (c(v),))
    if all(c is None for c in converts):
        return True, None
    return True, lambda out: tuple(v if c is None else c(v)
                                   for v, c in zip(out, converts, strict=True))


def python_scalar(dtype: np.dtype) -> Callable[[Any], Any]:
    kind = dtype.kind
    return bool if kind == "b" else int if kind in "iu" else complex if kind == "c" else float
