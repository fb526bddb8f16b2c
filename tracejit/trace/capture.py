"""What the traced function sees instead of the outside world.

Arrays are read at call time, not baked in: the traced function runs with *shadow*
globals and closure cells in which every NumPy array it names is a Tracer bound to an
implicit graph input (a capture), `numpy` is a proxy whose creation functions record
creation ops, and plain Python helper functions it calls are shadowed the same way, so
their arrays are captured too. Writes to captured arrays are written back after the call.

Arrays held by objects are captures too. Before the function runs, every object it can
reach from its arguments, globals and closure cells (instances of classes defined
outside the libraries, and the dicts, lists and tuples they hold) is walked, and each
array found in an attribute or item is swapped for the Tracer of a capture whose
accessor is the *path* to it (`argument s` `.layer` `.w`; `global params` `['w']`),
re-evaluated on every call. After the trace every swapped slot gets its array back.
An attribute or item the function rebound to a traced value (`s.w = s.w * 2`) is
rebound to the computed array after each call. `Objects.guard` checks on each call
that every other path the walk found to a captured array (an object shared by two
attributes, an argument also held by an attribute) still leads to the same object.
Modules are seen through a proxy that captures their arrays the same way.
"""

from __future__ import annotations

import collections
import dis
import functools
import keyword
import linecache
import os
import sys
import types
from typing import Any, Callable

import numpy as np

from tracejit import errors, tree
from tracejit.graph.ir import Source, Var
from tracejit.trace import views
from tracejit.trace.context import Buffer, External, TraceContext
from tracejit.trace.source import user_source
from tracejit.trace.tracer import Tracer, check_array_dtype

LIBRARY_PREFIXES = ("numpy", "tracejit", "scipy", "numba", "builtins", "math", "functools")


class Mismatch:
    """What an accessor returns when its path no longer leads anywhere."""

    def __repr__(self) -> str:
        return "<path no longer valid>"


MISMATCH = Mismatch()
#: an object or container deeper than this below its root is not walked
MAX_DEPTH = 12
#: a container with more items than this is not walked (its arrays are read by reference)
MAX_ITEMS = 10_000
#: values visited per trace, at most
MAX_VISITS = 50_000


def capture(ctx: TraceContext, a: np.ndarray, accessor: Callable[..., Any] | None,
            describe: str) -> Tracer:
    """A Tracer for an array from outside the arguments (a global, closure, attribute).
    `accessor(leaves=None)` fetches it at call time; None: this very array object."""
    check_array_dtype(a)
    if accessor is None and type(a) is np.ndarray:
        path = global_path(a)  # a global of code tracejit does not shadow (a method)
        if path is not None:
            return objects_of(ctx).visit(a, path)
    var = ctx.add_input(Var(a.shape, a.dtype))
    buf = Buffer(var, writeable=a.flags.writeable, external=len(ctx.externals),
                 strides=views.layout_of(a))
    if accessor is None:
        ctx.keepalive.append(a)
        accessor = by_reference(a)
    ctx.externals.append(External(var, buf, "capture", accessor=accessor, describe=describe))
    t = Tracer(ctx, buf, kind="array")
    ctx.captured[id(a)] = t
    return t


SKIP_FILES = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
    "<",
)


def global_path(a: np.ndarray) -> Path | None:
    """The module global of the innermost user frame that holds `a`, if any."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(SKIP_FILES):
        frame = frame.f_back
    if frame is None:
        return None
    names = frame.f_globals
    for name, value in names.items():
        if value is a:
            return Path(("global", names, name))
    return None


def by_reference(obj: Any) -> Callable[..., Any]:
    def accessor(leaves: Any = None) -> Any:
        return obj

    accessor.by_reference = True  # type: ignore[attr-defined]
    return accessor


# --- paths ----------------------------------------------------------------------------


class Path:
    """How to reach a value from a root at call time.

    root: ("arg", leaf index, static) | ("global", globals dict, name) | ("cell", cell,
    name) | ("const", object, label). steps: ("attr", name) an instance-dict entry,
    ("slot", name) a __slots__ member, ("getattr", name) a module attribute, ("item", key)
    a dict, list or tuple item, ("ditem", key) an item of a dict subclass."""

    __slots__ = ("root", "steps")

    def __init__(self, root: tuple, steps: tuple = ()) -> None:
        self.root = root
        self.steps = steps

    def extend(self, how: str, key: Any) -> Path:
        return Path(self.root, (*self.steps, (how, key)))

    @property
    def key(self) -> tuple:
        kind, where, name = self.root
        if kind == "arg":
            return (kind, where, self.steps)
        if kind == "cell" or kind == "const":
            return (kind, id(where), self.steps)
        return (kind, id(where), name, self.steps)

    def get(self, leaves: list[Any]) -> Any:
        """The value at the end of the path (raises where the path is broken)."""
        kind, where, name = self.root
        if kind == "arg":
            value = leaves[where]
            if name:
                value = value.value
        elif kind == "global":
            value = where[name]
        elif kind == "cell":
            value = where.cell_contents
        else:
            value = where
        for how, key in self.steps:
            value = step_get(value, how, key)
        return value

    def source(self, ns: dict[str, Any]) -> str:
        """A Python expression for the value, `L` the argument leaves, constants in `ns`."""
        kind, where, name = self.root
        if kind == "arg":
            text = f"L[{where}]" + (".value" if name else "")
        elif kind == "global":
            text = f"{const(ns, where)}[{literal(ns, name)}]"
        elif kind == "cell":
            text = f"{const(ns, where)}.cell_contents"
        else:
            text = const(ns, where)
        for how, key in self.steps:
            if how == "attr":
                text += f".__dict__[{literal(ns, key)}]"
            elif how == "item":
                text += f"[{literal(ns, key)}]"
            elif how == "ditem":
                text = f"dict.__getitem__({text}, {literal(ns, key)})"
            elif key.isidentifier() and not keyword.iskeyword(key):
                text += f".{key}"
            else:
                text += f".__getattribute__({literal(ns, key)})"
        return text

    def describe(self, arg_names: list[str]) -> str:
        kind, where, name = self.root
        if kind == "arg":
            text = f"argument {arg_names[where] if where < len(arg_names) else where}"
        elif kind == "global":
            text = f"global {name}"
        elif kind == "cell":
            text = f"closure {name}"
        else:
            text = name
        for how, key in self.steps:
            text += f"[{key!r}]" if how in ("item", "ditem") else f".{key}"
        return text


def step_get(value: Any, how: str, key: Any) -> Any:
    if how == "attr":
        return value.__dict__[key]
    if how == "item":
        return value[key]
    if how == "ditem":
        return dict.__getitem__(value, key)
    return getattr(value, key)


def step_set(container: Any, how: str, key: Any, value: Any) -> None:
    if how == "attr":
        container.__dict__[key] = value
    elif how == "slot":
        object.__setattr__(container, key, value)
    elif how == "ditem":
        dict.__setitem__(container, key, value)
    elif how == "item" and type(container) is not list and isinstance(container, list):
        list.__setitem__(container, key, value)
    else:
        container[key] = value


def const(ns: dict[str, Any], value: Any) -> str:
    name = f"k{len(ns)}"
    ns[name] = value
    return name


def literal(ns: dict[str, Any], key: Any) -> str:
    if type(key) in (str, int) or key is None:
        return repr(key)
    return const(ns, key)


def compile_accessor(path: Path, default: list[Any]) -> Callable[..., Any]:
    """`path` as a function of the argument leaves (default: those of the trace) that
    returns MISMATCH where the path is broken."""
    ns: dict[str, Any] = {"MISMATCH": MISMATCH, "D": default}
    expr = path.source(ns)
    source = ("def accessor(L=None):\n"
              "    if L is None:\n"
              "        L = D\n"
              "    try:\n"
              f"        return {expr}\n"
              "    except (LookupError, AttributeError, TypeError):\n"
              "        return MISMATCH\n")
    exec(compile(source, "<tracejit capture>", "exec"), ns)  # noqa: S102
    accessor = ns["accessor"]
    accessor.path = path
    return accessor


def compile_guard(checks: list[tuple[Path, Path]], arrays: list[int] | None,
                  pattern: tuple | None, default: list[Any]) -> Callable[..., bool]:
    """One function of (argument leaves, captured values): every alternative path in
    `checks` leads to the same object as its primary one and, if `arrays` is given, the
    array arguments (those leaf positions) and captured values alias as in `pattern`."""
    ns: dict[str, Any] = {"D": default, "alias_pattern": alias_pattern, "P": pattern}
    lines = ["def guard(L, V):",
             "    traced = L is not None",
             "    if not traced:",
             "        L = D"]
    if checks:
        lines.append("    try:")
        lines += [f"        if {alt.source(ns)} is not {primary.source(ns)}:\n"
                  "            return False" for alt, primary in checks]
        lines += ["    except (LookupError, AttributeError, TypeError):",
                  "        return False"]
    if arrays is not None:
        ns["A"] = tuple(arrays)
        lines += ["    if traced and alias_pattern([L[i] for i in A] + V) != P:",
                  "        return False"]
    lines.append("    return True")
    exec(compile("\n".join(lines) + "\n", "<tracejit guard>", "exec"), ns)  # noqa: S102
    return ns["guard"]


def alias_pattern(values: list[Any]) -> tuple[int, ...]:
    """Per value, the position of the first value that is the same object."""
    first: dict[int, int] = {}
    return tuple(first.setdefault(id(v), i) for i, v in enumerate(values))


# --- walking objects ------------------------------------------------------------------


ABSENT = object()
SCALARS = frozenset({int, float, complex, bool, str, bytes, type(None), range, slice,
                     type(Ellipsis)})
DICTS = (collections.OrderedDict, collections.defaultdict)
_LIBRARY: dict[str, bool] = {}


def is_library_module(name: str | None) -> bool:
    """A module of NumPy, tracejit, the standard library or an installed package: its
    objects are not walked, its functions not shadowed."""
    if not name:
        return True
    known = _LIBRARY.get(name)
    if known is None:
        top = name.partition(".")[0]
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None) or ""
        known = (top in LIBRARY_PREFIXES or top in sys.stdlib_module_names
                 or "site-packages" in path or "dist-packages" in path)
        _LIBRARY[name] = known
    return known


def walkable_object(value: Any) -> bool:
    """An instance of a class defined outside the libraries (its attributes are walked)."""
    kind = type(value)
    if isinstance(value, (type, types.FunctionType, types.MethodType, types.ModuleType,
                          types.BuiltinFunctionType, Tracer, functools.partial)):
        return False
    if is_library_module(getattr(kind, "__module__", None)):
        return False
    return hasattr(value, "__dict__") or slot_names(kind) != ()


@functools.lru_cache(maxsize=1024)
def slot_names(kind: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in kind.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for s in slots:
            if s in ("__dict__", "__weakref__"):
                continue
            if s.startswith("__") and not s.endswith("__"):
                s = f"_{klass.__name__.lstrip('_')}{s}"
            names.append(s)
    return tuple(names)


def has_tracer(value: Any) -> bool:
    """Tracers among the leaves of `value` as a pytree (a value the compiled function
    can rebuild after a call)."""
    if isinstance(value, Tracer):
        return True
    if isinstance(value, (tuple, list, dict)):
        return any(isinstance(leaf, Tracer) for leaf in tree.flatten(value)[0])
    return False


def hidden_tracer(value: Any, depth: int = 0) -> bool:
    """A Tracer inside `value` below something that is not a pytree (an object of a user
    class): the compiled function could not rebuild it."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, (tuple, list)):
        return any(hidden_tracer(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(hidden_tracer(v, depth + 1) for v in value.values())
    if depth and isinstance(value, Tracer):
        return False  # a pytree leaf
    attrs = getattr(value, "__dict__", None) if walkable_object(value) else None
    return isinstance(attrs, dict) and any(
        isinstance(v, Tracer) or hidden_tracer(v, depth + 1) for v in attrs.values())


class Node:
    """An object or array the walk reached: the first path to it, and the others."""

    __slots__ = ("value", "path", "parent", "alts", "replacement")

    def __init__(self, value: Any, path: Path, parent: Node | None) -> None:
        self.value = value
        self.path = path
        self.parent = parent
        self.alts: list[tuple[Node | None, Path]] = []
        self.replacement = value


class Container:
    """A mutable container the walk swapped arrays in (or may see rebound): an object's
    instance dict or slots, a dict, a list."""

    __slots__ = ("target", "how", "node", "before", "swapped")

    def __init__(self, target: Any, how: str, node: Node, before: dict | list) -> None:
        self.target = target  # the mapping, list or (for slots) the object itself
        self.how = how  # "attr", "slot", "item", "ditem"
        self.node = node
        self.before = before
        self.swapped: dict[Any, Any] = {}

    def snapshot(self) -> dict | list:
        if self.how == "slot":
            return {k: getattr(self.target, k, ABSENT) for k in self.before}
        return list(self.target) if isinstance(self.target, list) else dict(self.target)

    def unswap_moved(self) -> None:
        """Put the arrays back in a list whose items moved: by identity, wherever."""
        originals = {id(mine): self.before[k] for k, mine in self.swapped.items()}
        for i, value in enumerate(list(self.target)):
            original = originals.get(id(value), ABSENT)
            if original is not ABSENT:
                list.__setitem__(self.target, i, original)

    def write(self, key: Any, value: Any) -> None:
        if self.how == "slot":
            if value is ABSENT:
                object.__delattr__(self.target, key)
            else:
                object.__setattr__(self.target, key, value)
        elif value is ABSENT:
            (dict.__delitem__ if self.how == "ditem" else type(self.target).__delitem__)(
                self.target, key)
        elif self.how == "ditem":
            dict.__setitem__(self.target, key, value)
        elif isinstance(self.target, list):
            list.__setitem__(self.target, key, value)
        else:
            self.target[key] = value


class Rebind:
    """An attribute or item the traced function set to a traced value: set after each
    call to the value computed (`container` evaluates the path to its holder)."""

    __slots__ = ("container", "how", "key", "describe")

    def __init__(self, container: Callable[..., Any], how: str, key: Any,
                 describe: str) -> None:
        self.container = container
        self.how = how
        self.key = key
        self.describe = describe


class Objects:
    """The objects one trace walked: swapped arrays, paths, and how to undo the swaps."""

    def __init__(self, ctx: TraceContext, leaves: list[Any], fn: Any) -> None:
        self.ctx = ctx
        self.fn = fn
        self.nodes: dict[int, Node] = {}
        self.capture_nodes: dict[Var, Node] = {}  # capture input -> its array's node
        self.containers: list[Container] = []
        self.visits = 0
        self.restored = False
        # the argument leaves accessors read by default (`explain`, the recompile
        # history): the trace's own, without its arrays (kept alive by nothing else)
        self.default = [None if isinstance(x, np.ndarray) else x for x in leaves]
        ctx.objects = self  # type: ignore[attr-defined]

    # --- the walk ---------------------------------------------------------------------

    def visit(self, value: Any, path: Path, parent: Node | None = None) -> Any:
        """What the function sees for `value` at `path`: a Tracer for an array, the same
        object (its arrays swapped) for a mutable container or object, a rebuilt tuple."""
        kind = type(value)
        if kind in SCALARS:
            return value
        if kind is np.ndarray:
            return self.array(value, path, parent)
        node = self.nodes.get(id(value))
        if node is not None:
            node.alts.append((parent, path))
            return node.replacement
        if len(path.steps) > MAX_DEPTH or self.visits > MAX_VISITS:
            return value
        self.visits += 1
        if kind is tuple or (isinstance(value, tuple) and hasattr(kind, "_fields")):
            if len(value) > MAX_ITEMS:
                return value
            node = self.node(value, path, parent)
            items = [self.visit(v, path.extend("item", i), node) for i, v in enumerate(value)]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                node.replacement = kind(items) if kind is tuple else kind._make(items)
            return node.replacement
        if kind is list:
            if len(value) <= MAX_ITEMS:
                self.walk(self.node(value, path, parent), value, "item")
            return value
        if kind is dict:
            if len(value) <= MAX_ITEMS:
                self.walk(self.node(value, path, parent), value, "item")
            return value
        if kind in DICTS or walkable_object(value):
            node = self.node(value, path, parent)
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict) and len(attrs) <= MAX_ITEMS:
                self.walk(node, attrs, "attr")
            slots = slot_names(kind)
            if slots:
                self.walk(node, value, "slot", slots)
            # a dict or list subclass (OrderedDict, an attribute dict): its items too,
            # read and written with dict's own methods (no default made, no hooks run)
            if isinstance(value, (dict, list)) and len(value) <= MAX_ITEMS:
                self.walk(node, value, "ditem" if isinstance(value, dict) else "item")
        return value

    def node(self, value: Any, path: Path, parent: Node | None) -> Node:
        node = Node(value, path, parent)
        self.nodes[id(value)] = node
        return node

    def walk(self, node: Node, target: Any, how: str, slots: tuple[str, ...] = ()) -> None:
        if how == "slot":
            items = [(k, getattr(target, k, ABSENT)) for k in slots]
            before: dict | list = dict(items)
        elif isinstance(target, list):
            before = list(target)
            items = list(enumerate(before))
        else:
            before = dict(target)
            items = list(before.items())
        container = Container(target, how, node, before)
        self.containers.append(container)
        for key, value in items:
            if value is ABSENT or type(value) in SCALARS:
                continue
            new = self.visit(value, node.path.extend(how, key), node)
            if new is not value:
                container.write(key, new)
                container.swapped[key] = new

    def array(self, a: np.ndarray, path: Path, parent: Node | None) -> Any:
        if a.dtype.kind not in "biufc":
            return a  # not traceable; left alone (an op on it raises then)
        node = self.nodes.get(id(a))
        if node is not None:
            node.alts.append((parent, path))
            return node.replacement
        ctx = self.ctx
        t = ctx.captured.get(id(a))
        if t is None:
            t = capture(ctx, a, accessor=self.accessor(path),
                        describe=path.describe(ctx.arg_names))
            node = self.node(a, path, parent)
            self.capture_nodes[ctx.externals[t._buf.external].var] = node
        else:
            ext = ctx.externals[t._buf.external]
            if ext.kind == "arg":  # an argument also held here: one buffer, guarded
                node = self.node(a, Path(("arg", ext.leaf, False)), None)
                node.alts.append((parent, path))
            else:  # captured by reference before the walk reached it: now by path
                ext.accessor = self.accessor(path)
                ext.describe = path.describe(ctx.arg_names)
                node = self.node(a, path, parent)
                self.capture_nodes[ext.var] = node
        node.replacement = t
        return t

    def accessor(self, path: Path) -> Callable[..., Any]:
        default = self.default

        def accessor(leaves: Any = None) -> Any:
            try:
                return path.get(default if leaves is None else leaves)
            except (LookupError, AttributeError, TypeError):
                return MISMATCH

        accessor.path = path  # type: ignore[attr-defined]
        return accessor

    # --- after the trace ---------------------------------------------------------------

    def finish(self) -> list[tuple[Container, Any, Any]]:
        """Give every swapped slot its array back; return the slots the function set to
        traced values, as (container, key, value). Raises for what cannot be replayed."""
        rebound: list[tuple[Container, Any, Any]] = []
        problems: list[errors.TracejitError] = []
        for c in reversed(self.containers):
            now = c.snapshot()
            if isinstance(now, list):
                assert isinstance(c.before, list)
                if len(now) != len(c.before):
                    # appended, inserted, removed: a Python side effect, which happens
                    # while tracing only (as any); the swapped arrays go back wherever
                    # they are now
                    c.unswap_moved()
                    continue
                keys: Any = range(len(now))
                get_now, get_before = now.__getitem__, c.before.__getitem__
            else:
                assert isinstance(c.before, dict)
                keys = list(dict.fromkeys([*c.before, *now]))
                get_now = (lambda d: lambda k: d.get(k, ABSENT))(now)
                get_before = (lambda d: lambda k: d.get(k, ABSENT))(c.before)
            for key in keys:
                value, before = get_now(key), get_before(key)
                mine = c.swapped.get(key, ABSENT)
                if mine is not ABSENT:
                    if value is mine:
                        c.write(key, before)
                        continue
                    c.write(key, before)
                    if value is ABSENT:
                        problems.append(self.refusal(
                            c, key, "deleting", "it held an array that tracejit reads at "
                            "call time", "delete it outside the jitted function"))
                    elif hidden_tracer(value):
                        problems.append(self.hidden(c, key, value))
                    elif has_tracer(value):
                        rebound.append((c, key, value))
                    else:
                        problems.append(self.refusal(
                            c, key, "assigning", f"it held an array that tracejit reads at "
                            f"call time and was set to a {type(value).__name__} that is not "
                            "computed by the function's traced operations, so the compiled "
                            "function cannot replay the assignment", "assign an array "
                            "computed in the function (s.w = s.w * 2), update it in place "
                            "(s.w[...] = new), or assign it outside the jitted function"))
                elif value is not before and value is not ABSENT and (
                        has_tracer(value) or hidden_tracer(value)):
                    c.write(key, before)
                    if hidden_tracer(value):
                        problems.append(self.hidden(c, key, value))
                    else:
                        rebound.append((c, key, value))
        self.restored = True
        if problems:
            raise problems[0]
        return rebound

    def restore(self) -> None:
        """Undo the swaps after a trace that raised (idempotent)."""
        if self.restored:
            return
        self.restored = True
        for c in reversed(self.containers):
            if isinstance(c.target, list):
                c.unswap_moved()
                continue
            for key, mine in c.swapped.items():
                try:
                    if c.snapshot().get(key, ABSENT) is mine:
                        c.write(key, c.before[key])
                except Exception:  # noqa: BLE001, S112 - best effort after an error
                    continue

    def refusal(self, c: Container, key: Any, what: str, why: str,
                fix: str) -> errors.TracejitError:
        where = c.node.path if key is None else c.node.path.extend(c.how, key)
        return errors.UnsupportedFunctionError(
            f"{what} {where.describe(self.ctx.arg_names)}", why, fix, definition(self.fn))

    def hidden(self, c: Container, key: Any, value: Any) -> errors.TracejitError:
        return self.refusal(
            c, key, "assigning", f"the value assigned (a {type(value).__name__}) holds "
            "traced values inside an object of a user class; the compiled function can set "
            "attributes to arrays, numbers and tuples, lists and dicts of them, but cannot "
            "rebuild other objects",
            "assign the arrays themselves (s.cache_w = w), or build the object outside "
            "the jitted function from what it returns")

    def rebinds(self, rebound: list[tuple[Container, Any, Any]]) -> list[Rebind]:
        return [Rebind(compile_accessor(c.node.path, self.default), c.how, key,
                       c.node.path.extend(c.how, key).describe(self.ctx.arg_names))
                for c, key, _ in rebound]

    def guard(self, captures: list[External], rebound: list[tuple[Container, Any, Any]],
              arrays: list[int] | None, pattern: tuple | None) -> Callable[..., bool] | None:
        """The per-call check that the paths the trace relied on still agree (None: none
        to check); compiles the kept captures' accessors."""
        starts: list[Node] = []
        for ext in captures:
            path = getattr(ext.accessor, "path", None)
            if path is not None:
                ext.accessor = compile_accessor(path, self.default)
            node = self.capture_nodes.get(ext.var)
            if node is not None:
                starts.append(node)
        starts += [n for n in self.nodes.values() if n.path.root[0] == "arg" and n.alts]
        starts += [c.node for c, _, _ in rebound]
        checks: list[tuple[Path, Path]] = []
        seen: set[int] = set()
        while starts:
            node = starts.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.parent is not None:
                starts.append(node.parent)
            for parent, alt in node.alts:
                if alt.key != node.path.key:
                    checks.append((alt, node.path))
                if parent is not None:
                    starts.append(parent)
        if not checks and arrays is None:
            return None
        return compile_guard(checks, arrays, pattern, self.default)


def definition(fn: Any) -> Source | None:
    """Where `fn` (a function, bound method or partial) is defined: its `def` line."""
    while isinstance(fn, (types.MethodType, functools.partial)):
        fn = fn.__func__ if isinstance(fn, types.MethodType) else fn.func
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    line = code.co_firstlineno
    for k in range(line, line + 40):  # past decorators
        if linecache.getline(code.co_filename, k).lstrip().startswith(("def ", "async def ")):
            line = k
            break
    return Source(code.co_filename, line, code.co_name)


def objects_of(ctx: TraceContext) -> Objects:
    objects = getattr(ctx, "objects", None)
    if objects is None:  # a context made without the driver: nothing walked by argument
        objects = Objects(ctx, [], None)
    return objects


# --- numpy, modules -------------------------------------------------------------------


class NumpyProxy(types.ModuleType):
    """`numpy` as the traced function sees it: creation functions record ops, np.random
    is refused (it would be frozen at trace time), everything else is NumPy itself."""

    def __init__(self) -> None:
        super().__init__("numpy")
        from tracejit.trace.api.creation import NUMPY_OVERRIDES

        self.__dict__.update(NUMPY_OVERRIDES)
        self.random = RandomRefusal()

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


class RandomRefusal:
    def __getattr__(self, name: str) -> Any:
        raise errors.UnsupportedFunctionError(
            f"np.random.{name}", "random numbers drawn while tracing would be frozen into "
            "the compiled function (every call would return the same numbers)",
            "draw them outside the jitted function and pass them in as an argument",
            user_source())


class ModuleProxy(types.ModuleType):
    """A user module as the traced function sees it: its attributes are shadowed like
    globals (`mod.W` is a capture read through `mod` at call time)."""

    def __init__(self, ctx: TraceContext, module: types.ModuleType, path: Path) -> None:
        super().__init__(module.__name__)
        object.__setattr__(self, "_tracejit", (ctx, module, path, {}))

    def __getattribute__(self, name: str) -> Any:
        ctx, module, path, memo = object.__getattribute__(self, "_tracejit")
        try:
            return memo[name]
        except KeyError:
            pass
        value = getattr(module, name)
        if not (name.startswith("__") and name.endswith("__")):
            value = shadow_value(ctx, value, path.extend("getattr", name))
            memo[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        ctx, module, path, memo = object.__getattribute__(self, "_tracejit")
        if name in memo and memo[name] is value:  # mod.W += x: updated in place
            return
        raise errors.UnsupportedFunctionError(
            f"assigning {path.extend('getattr', name).describe(ctx.arg_names)}",
            f"the jitted function sets an attribute of module {module.__name__}; tracejit "
            "cannot rebind it at run time", "mutate the array in place (mod.W[...] = new) "
            "or return the new value", user_source())

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def __dir__(self) -> list[str]:
        return dir(object.__getattribute__(self, "_tracejit")[1])

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_tracejit")[1])


# --- functions ------------------------------------------------------------------------


def code_names(code: types.CodeType) -> dict[str, None]:
    """The global names `code` and its nested code use, in order of first use: captured
    globals become graph inputs in this order, so it must not depend on string hashing
    (a set's order changes with PYTHONHASHSEED, and with it the generated source)."""
    names = dict.fromkeys(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names.update(code_names(c))
    return names


def stored_globals(code: types.CodeType) -> set[str]:
    found = {ins.argval for ins in dis.get_instructions(code)
             if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            found |= stored_globals(c)
    return found


def is_user_function(value: Any) -> bool:
    module = getattr(value, "__module__", None) or ""
    return isinstance(value, types.FunctionType) and \
        module.partition(".")[0] not in LIBRARY_PREFIXES


def shadow_value(ctx: TraceContext, value: Any, path: Path) -> Any:
    """What a global, closure variable or module attribute holding `value` (reached by
    `path`) becomes inside the trace."""
    if value is np:
        return NUMPY_PROXY
    kind = type(value)
    if kind in SCALARS:
        return value
    if isinstance(value, np.ndarray):
        if kind is not np.ndarray:  # a subclass: captured as it was
            existing = ctx.captured.get(id(value))
            return existing if existing is not None else capture(
                ctx, value, objects_of(ctx).accessor(path), path.describe(ctx.arg_names))
        return objects_of(ctx).visit(value, path)
    if getattr(value, "__module__", None) == "numpy" and callable(value):
        overrides = NUMPY_PROXY.__dict__
        return overrides.get(getattr(value, "__name__", ""), value)
    if is_user_function(value) or isinstance(value, functools.partial) or (
            isinstance(value, types.MethodType) and is_user_function(value.__func__)):
        return shadow_function(ctx, value)
    if isinstance(value, types.ModuleType):
        if is_library_module(value.__name__) or isinstance(value, ModuleProxy):
            return value
        return ModuleProxy(ctx, value, path)
    return objects_of(ctx).visit(value, path)


def shadow_function(ctx: TraceContext, fn: Any) -> Any:
    """`fn` re-bound to shadow globals and closure cells (memoized per trace); a bound
    method with its object walked, a partial with its arguments shadowed."""
    if isinstance(fn, types.MethodType):
        if not is_user_function(fn.__func__):
            return fn
        target = shadow_function(ctx, fn.__func__)
        owner = objects_of(ctx).visit(fn.__self__, Path(("const", fn.__self__, "self")))
        return types.MethodType(target, owner)
    if isinstance(fn, functools.partial):
        where = Path(("const", fn, getattr(fn.func, "__name__", "partial")))
        args = [shadow_value(ctx, a, where.extend("getattr", "args").extend("item", i))
                for i, a in enumerate(fn.args)]
        kwargs = {k: shadow_value(ctx, v, where.extend("getattr", "keywords").extend("item", k))
                  for k, v in fn.keywords.items()}
        func = shadow_value(ctx, fn.func, where.extend("getattr", "func"))
        return functools.partial(func, *args, **kwargs)
    if not isinstance(fn, types.FunctionType):
        return fn  # a jitted function (inlined when called), a builtin, a callable object
    cached = ctx.shadows.get(id(fn))
    if cached is not None:
        return cached
    stores = stored_globals(fn.__code__)
    if stores:
        raise errors.UnsupportedFunctionError(
            f"global {sorted(stores)[0]}", f"{fn.__qualname__} assigns a global variable; "
            "tracejit cannot rebind it at run time",
            "mutate the array in place (W[...] = new) or return the new value",
            None)
    g = dict(fn.__globals__)
    cells = tuple(types.CellType() for _ in fn.__closure__ or ())
    code, closure = fn.__code__, cells
    conv = converted_loops(fn)
    if conv is not None:  # loops rewritten to become loop nodes (tracejit/scan/convert.py)
        by_name = dict(zip(fn.__code__.co_freevars, cells, strict=True))
        code, closure = conv.code, tuple(by_name[n] for n in conv.code.co_freevars)
        g[conv.runtime_name] = conv.runtime
    shadow = types.FunctionType(code, g, fn.__name__, fn.__defaults__, closure or None)
    ctx.shadows[id(fn)] = shadow  # before filling it in: helpers may be recursive
    ctx.keepalive.append(fn)  # the memo is by id
    source_globals = fn.__globals__
    for name in code_names(fn.__code__):
        if name not in source_globals:
            continue
        g[name] = shadow_value(ctx, source_globals[name],
                               Path(("global", source_globals, name)))
    for var_name, cell, new in zip(fn.__code__.co_freevars, fn.__closure__ or (), cells,
                                   strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        new.cell_contents = shadow_value(ctx, value, Path(("cell", cell, var_name)))
    shadow.__kwdefaults__ = fn.__kwdefaults__
    shadow.__dict__.update(fn.__dict__)
    shadow.__qualname__ = fn.__qualname__
    shadow.__module__ = fn.__module__
    return shadow


def converted_loops(fn: types.FunctionType) -> Any:
    from tracejit.scan.convert import converted

    return converted(fn)


NUMPY_PROXY = NumpyProxy()
