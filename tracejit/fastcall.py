"""The fast path of a jitted call: a key from the arguments, one dict lookup, one call
into compiled code, with no Python frame where the C extension is built.

The general path (`Jitted.call_general`) binds the signature, flattens pytrees and
builds a canonical key with each array's layout class; that costs several microseconds.
Most calls repeat one pattern: the same number of positional arguments, arrays where
there were arrays, Python floats where there were floats, the same static values. After
a general call, `Jitted.remember_fast` installs that pattern (`position_kinds`: one
byte per position, `a` array, `f` traced float, `s` static value) and adds the call's
key to a table mapping it to the compiled entry point. The key holds what each position
needs: an array's dtype, flags, shape and strides, a float's type, a static value's type
and value. Strides stand in for the layout class: an array with new strides misses
once, takes the general path (which may find the same compiled entry), and is added.
Entries qualify when nothing has to happen after the compiled call but returning its
result: no captured globals to read, no arguments to write back, and outputs that are
the compiled code's own fresh arrays or scalars.

`Jitted` derives from `Dispatch`: the C type in `tracejit/_dispatch.c` whose `tp_call`
does all of this (a cached call of `x + y` costs about what Numba's own dispatch does),
or, where that extension was not built, `PyDispatch` below, the same protocol in
Python with a generated key function. Both call `self.call_general(args, kwargs)` on a
miss and `self.run_failed(exc, args)` when the compiled call raises.
"""

from __future__ import annotations

import struct
import weakref
from typing import Any, Callable

import numpy as np

MISS = object()
#: most keys remembered per function; beyond that, new keys take the general path (the
#: C type's limit is the same)
MAX_KEYS = 256


#: the static values a fast-path key holds (floats and complex numbers by their bits:
#: 0.0 equals -0.0 but needs other code); any other, a tuple say, takes the general path
#: ((1, 2) equals (1.0, 2.0))
STATIC_TYPES = (int, bool, str, type(None), float, complex)


def position_kinds(args: tuple, static: frozenset[int]) -> bytes | None:
    """The pattern of a call: per position `a` (an array), `f` (a traced Python float
    or complex) or `s` (a static value); None when a position is none of these
    (containers, NumPy scalars, ...)."""
    kinds = bytearray()
    for i, a in enumerate(args):
        kind = type(a)
        if i in static or kind in (int, bool):
            if kind not in STATIC_TYPES:  # see STATIC_TYPES
                return None
            kinds += b"s"
        elif kind is np.ndarray:
            kinds += b"a"
        elif kind is float or kind is complex:
            kinds += b"f"
        else:
            return None
    return bytes(kinds)


class PyDispatch:
    """The fast path in pure Python: the protocol of `tracejit._dispatch.Dispatch`."""

    _fast_kinds: bytes | None = None
    _fast_table: dict[Any, tuple] | None = None
    _fast_counter: list[int] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and self._fast_table is not None:
            out = self._fast_call(*args)
            if out is not MISS:
                return out
        return self.call_general(args, kwargs)  # type: ignore[attr-defined]

    def _fast_install(self, kinds: bytes | None) -> None:
        """A new call pattern with an empty table, or none."""
        self._fast_kinds = kinds
        if kinds is None:
            self._fast_table = None
            return
        self._fast_table = {}
        if self._fast_counter is None:
            self._fast_counter = [0]
        failed = report_to(weakref.ref(self))
        self._fast_call, self._fast_key = key_function(kinds, self._fast_table,
                                                       self._fast_counter, failed)

    def _fast_add(self, args: tuple, run: Callable[..., Any], extra: tuple,
                  post: Callable[[Any], Any] | None) -> bool:
        """Calls like `args` run `run(*traced args, *extra)`, then `post` on the result."""
        table = self._fast_table
        if table is None or len(table) >= MAX_KEYS:
            return False
        key = self._fast_key(*args)
        if key is MISS:
            return False
        table[key] = (run, extra, post)
        return True

    @property
    def _fast_hits(self) -> int:
        """Calls served by the fast path."""
        return self._fast_counter[0] if self._fast_counter else 0

    @_fast_hits.setter
    def _fast_hits(self, value: int) -> None:
        if self._fast_counter is None:
            self._fast_counter = [value]
        else:  # in place: the key function holds this list
            self._fast_counter[0] = value

    @property
    def _fast_keys(self) -> int:
        return len(self._fast_table) if self._fast_table else 0


def static_part(value: Any) -> Any:
    """A static value's part of a key: (type, value), floats by their bits; unhashable
    (so the lookup misses) for a type outside STATIC_TYPES."""
    kind = type(value)
    if kind is float:
        return kind, struct.pack("<d", value)
    if kind is complex:
        return kind, struct.pack("<dd", value.real, value.imag)
    return (kind, value) if kind in STATIC_TYPES else []


def key_function(kinds: bytes, table: dict, counter: list[int],
                 failed: Callable[[Exception, tuple], None]
                 ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The generated functions behind `PyDispatch`: the call (key, lookup, compiled
    call) and the key alone (MISS where the arguments do not fit), one text for both."""
    params = [f"a{i}" for i in range(len(kinds))]
    parts, passed = [], []
    for p, kind in zip(params, kinds.decode(), strict=True):
        if kind == "a":  # the type: a NumPy scalar is not a 0-d array
            parts += [f"type({p})", f"{p}.shape", f"{p}.strides", f"{p}.dtype",
                      f"{p}.flags.writeable", f"{p}.flags.aligned"]
        elif kind == "f":
            parts.append(f"type({p})")
        else:  # a type outside STATIC_TYPES makes the key unhashable: a miss
            parts.append(f"static_part({p})")
        if kind != "s":
            passed.append(p)
    key = ", ".join(parts) + ("," if len(parts) == 1 else "")
    unpack = f"    {', '.join(params)}{',' if len(params) == 1 else ''} = args\n" \
        if params else ""
    head = (f"    if len(args) != {len(params)}:\n"
            "        return MISS\n"
            f"{unpack}")
    source = (
        "def fast_call(*args):\n"
        f"{head}"
        "    try:\n"
        f"        run, extra, post = table[({key})]\n"
        "    except (KeyError, AttributeError, TypeError):\n"
        "        return MISS\n"
        "    counter[0] += 1\n"
        "    try:\n"
        f"        out = run({''.join(p + ', ' for p in passed)}*extra)\n"
        "    except Exception as exc:\n"
        "        failed(exc, args)\n"
        "        raise\n"
        "    return out if post is None else post(out)\n"
        "\n"
        "def key_of(*args):\n"
        f"{head}"
        "    try:\n"
        f"        key = ({key})\n"
        "        hash(key)\n"
        "    except (AttributeError, TypeError):\n"
        "        return MISS\n"
        "    return key\n")
    namespace = {"MISS": MISS, "table": table, "counter": counter, "failed": failed,
                 "static_part": static_part}
    exec(compile(source, "<tracejit fast path>", "exec"), namespace)  # noqa: S102
    return namespace["fast_call"], namespace["key_of"]


try:
    from tracejit._dispatch import Dispatch
except ImportError:  # built without a C compiler
    Dispatch = PyDispatch  # type: ignore[misc,assignment]


def report_to(ref: weakref.ref) -> Callable[[Exception, tuple], None]:
    """`run_failed` of the object behind `ref`, looked up when a call fails, and without
    a strong reference: the object holds the key function that holds this."""

    def failed(exc: Exception, args: tuple) -> None:
        obj = ref()
        if obj is not None:
            obj.run_failed(exc, args)

    return failed


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
