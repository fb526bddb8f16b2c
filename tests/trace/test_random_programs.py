"""Random NumPy programs: `jit(f)` must agree with `f`.

A program is data: argument arrays (random shapes 0-d..3-d with sizes 0..5, random
dtypes) and a list of instructions over a register file of arrays (`a0`, `a1`, ... the
arguments, `v0`, `v1`, ... the values computed). Each instruction is rendered into a line
or two of plain NumPy, and the program into the source of a Python function that is
`exec`ed to get `f`; a failing example prints that source.

While a program is generated it is also run, instruction by instruction, with NumPy on
copies of its arguments, so every instruction is drawn knowing the shapes and dtypes of
the registers (and whether it raises: instructions that raise are usually dropped, and
sometimes kept as the last one, to check that jit raises the same kind of error).

The check: same results (values with NaN == NaN, dtypes, shapes, container and scalar
types), same arguments afterwards, and results that are views of an argument under NumPy
are views of it under jit too (and only those). Each jitted function is called twice on
fresh arguments (the tracing call and the cached one).

Profiles: "ci" (derandomized, 150 examples; used when the CI environment variable is
set) and "dev" (300 examples); RANDOM_PROGRAMS_EXAMPLES=N overrides the count.
"""

from __future__ import annotations

import linecache
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support import array_leaves, assert_same

from tracejit import jit

settings.register_profile(
    "ci", derandomize=True, max_examples=150, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile("ci" if os.environ.get("CI") else "dev")
if os.environ.get("RANDOM_PROGRAMS_EXAMPLES"):  # a longer hunt: RANDOM_PROGRAMS_EXAMPLES=5000
    PROFILE = settings(PROFILE, max_examples=int(os.environ["RANDOM_PROGRAMS_EXAMPLES"]))

# --- the program as data ------------------------------------------------------------

DTYPES = [np.float64, np.float32, np.int64, np.int32, np.int8, np.uint8, np.bool_]

FLOAT_POOL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -3.0, 10.0, 1e-3, 1e30,
              math.nan, math.inf, -math.inf]
INT_POOL = [0, 1, -1, 2, 3, -7, 5, 100, 127, -128, 255, 1000]

# Python scalar operands: ints exercise NEP 50 weak promotion (and OverflowError for
# small integer dtypes), floats promote ints to float64 but keep float32.
INT_LITERALS = [0, 1, 2, 3, -1, -2, 7, 100, 200, 300, -129]
FLOAT_LITERALS = [0.5, -1.5, 2.0, 0.0, 1e10, math.nan, math.inf]

UNARY = ["negative", "absolute", "sqrt", "exp", "sin", "square", "floor", "sign",
         "logical_not", "invert", "isnan", "reciprocal", "positive", "tanh", "log1p",
         "rint", "isfinite"]
BINARY = ["add", "subtract", "multiply", "divide", "floor_divide", "remainder", "power",
          "maximum", "minimum", "equal", "less", "greater_equal", "not_equal",
          "logical_and", "logical_xor", "bitwise_and", "bitwise_or", "arctan2", "hypot",
          "fmax", "copysign"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<", "<=", "==", "!=",
             ">", ">="]
INPLACE = ["+=", "-=", "*=", "/=", "//=", "%=", "&=", "|=", "**="]
REDUCTIONS = ["sum", "mean", "max", "min", "prod", "any", "all"]


class Instr(NamedTuple):
    op: str  # what kind of instruction (for `event` statistics)
    lines: tuple[str, ...]  # its NumPy source


@dataclass
class Program:
    args: list  # argument values: arrays, and maybe a Python scalar
    params: list[str]
    layouts: list[str]  # per argument: "C", "F" (Fortran order), "S" (strided view), or
    # "=k" (the same array object as argument k), "v:k:INDEX" (a view of argument k)
    instrs: list[Instr] = field(default_factory=list)
    returns: str = "None"

    def source(self) -> str:
        body = [line for instr in self.instrs for line in instr.lines]
        body.append(f"return {self.returns}")
        return f"def f({', '.join(self.params)}):\n" + "".join(f"    {b}\n" for b in body)

    def fresh_args(self) -> list:
        out: list = []
        for a, layout in zip(self.args, self.layouts, strict=False):
            if layout.startswith("="):
                out.append(out[int(layout[1:])])
            elif layout.startswith("v:"):
                _, k, index = layout.split(":", 2)
                out.append(eval(f"x[{index}]", {"x": out[int(k)]}))
            else:
                out.append(with_layout(a, layout) if isinstance(a, np.ndarray) else a)
        return out

    def describe(self) -> str:
        shown = []
        for name, a, layout in zip(self.params, self.args, self.layouts, strict=False):
            if layout.startswith("="):
                shown.append(f"{name} = {self.params[int(layout[1:])]}  # the same array")
            elif layout.startswith("v:"):
                _, k, index = layout.split(":", 2)
                shown.append(f"{name} = {self.params[int(k)]}[{index}]  # a view")
            elif isinstance(a, np.ndarray):
                text = f"np.{a!r}" if a.size else f"np.zeros({a.shape}, np.{a.dtype})"
                if layout == "F":
                    text = f"np.asfortranarray({text})"
                elif layout == "S":
                    text = f"strided({text})  # a non-contiguous view"
                shown.append(f"{name} = {text}")
            else:
                shown.append(f"{name} = {a!r}")
        return "\n".join(shown) + "\n" + self.source()


def with_layout(a: np.ndarray, layout: str) -> np.ndarray:
    """A fresh copy of `a` laid out as `layout` says."""
    if layout == "F":
        return np.asfortranarray(a.copy())
    if layout == "S":
        return strided(a)
    return a.copy()


def strided(a: np.ndarray) -> np.ndarray:
    """`a`'s values as a non-contiguous view (every other element of a wider array)."""
    if a.ndim == 0:
        return a.copy()
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


_COUNTER = [0]


def build(program: Program):
    """`exec` the program's source into a function (registered with linecache, so
    tracebacks and tracejit's error messages show the generated lines)."""
    source = program.source()
    _COUNTER[0] += 1
    filename = f"<random-program-{_COUNTER[0]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


# --- rendering helpers --------------------------------------------------------------


def literal(x) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return f"float('{x}')"
    return repr(x)


def render_index(items: list) -> str:
    parts = []
    for item in items:
        if item is None:
            parts.append("None")
        elif item is Ellipsis:
            parts.append("...")
        elif isinstance(item, slice):
            start = "" if item.start is None else str(item.start)
            stop = "" if item.stop is None else str(item.stop)
            text = f"{start}:{stop}"
            if item.step is not None:
                text += f":{item.step}"
            parts.append(text)
        elif isinstance(item, list):
            parts.append(repr(item))
        else:
            parts.append(str(item))
    if not parts:
        return "()"
    if len(parts) == 1 and isinstance(items[0], slice):
        return parts[0]
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


def broadcasts(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def broadcasts_to(src: tuple, dst: tuple) -> bool:
    try:
        return np.broadcast_shapes(src, dst) == tuple(dst)
    except ValueError:
        return False


# --- generation ---------------------------------------------------------------------


@st.composite
def shapes_like(draw, base: tuple) -> tuple:
    """A shape that broadcasts with `base` most of the time: a suffix of it with some
    axes replaced by 1."""
    if draw(st.integers(0, 5)) == 0:
        return draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    k = draw(st.integers(0, len(base)))
    suffix = base[len(base) - k:]
    return tuple(1 if draw(st.integers(0, 3)) == 0 else d for d in suffix)


def elements(dtype) -> st.SearchStrategy:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind == "f":
        return st.sampled_from(FLOAT_POOL)
    info = np.iinfo(dtype)
    return st.sampled_from([v for v in INT_POOL if info.min <= v <= info.max])


@st.composite
def argument(draw, base: tuple) -> tuple[np.ndarray, str]:
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes_like(base))
    a = draw(hnp.arrays(dtype, shape, elements=elements(dtype)))
    layout = draw(st.integers(0, 7))
    if layout == 0 and a.ndim >= 2:
        return a, "F"
    if layout == 1 and a.ndim >= 1:
        return a, "S"
    return a, "C"


class Gen:
    """Draws instructions for a program, running each with NumPy as it goes."""

    def __init__(self, draw, program: Program) -> None:
        self.draw = draw
        self.program = program
        self.regs = [p for p, a in zip(program.params, program.args, strict=False)
                     if isinstance(a, np.ndarray)]
        self.scalar_params = [p for p, a in zip(program.params, program.args, strict=False)
                              if not isinstance(a, np.ndarray)]
        self.count = 0
        self.env = self.fresh_env()

    def fresh_env(self) -> dict:
        env = {"np": np}
        env.update(zip(self.program.params, self.program.fresh_args(), strict=False))
        return env

    def run(self, lines: tuple[str, ...], env: dict) -> None:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec("\n".join(lines), env)

    def value(self, name: str):
        return self.env[name]

    def shape(self, name: str) -> tuple:
        return np.shape(self.env[name])

    def new(self) -> str:
        name = f"v{self.count}"
        self.count += 1
        return name

    # --- operands ---

    def reg(self, arrays_only: bool = False, prefer_args: bool = False) -> str:
        regs = self.regs
        if arrays_only:
            regs = [r for r in regs if isinstance(self.env[r], np.ndarray)] or regs
        if prefer_args and self.draw(st.booleans()):
            args = [r for r in regs if r.startswith("a")]
            regs = args or regs
        return self.draw(st.sampled_from(regs))

    def scalar(self) -> str:
        choices = ["int", "float", "bool"] + (["param"] if self.scalar_params else [])
        kind = self.draw(st.sampled_from(choices))
        if kind == "int":
            return literal(self.draw(st.sampled_from(INT_LITERALS)))
        if kind == "float":
            return literal(self.draw(st.sampled_from(FLOAT_LITERALS)))
        if kind == "bool":
            return literal(self.draw(st.booleans()))
        return self.draw(st.sampled_from(self.scalar_params))

    def operand_like(self, shape: tuple, into: bool = False) -> str:
        """A register broadcasting with `shape` (into it, if `into`), or a scalar."""
        if self.draw(st.integers(0, 3)) == 0:
            return self.scalar()
        ok = broadcasts_to if into else broadcasts
        candidates = [r for r in self.regs if ok(self.shape(r), shape)]
        if candidates and self.draw(st.integers(0, 7)):
            return self.draw(st.sampled_from(candidates))
        return self.reg()

    def stored_value(self, shape: tuple, dtype: np.dtype) -> str:
        """The right-hand side of `x[...] = value`."""
        return self.storable(self.operand_like(shape, into=True), dtype)

    def storable(self, v: str, dtype: np.dtype) -> str:
        """NumPy converts a NumPy scalar, or a Python float stored into an integer array,
        through Python: an OverflowError (or ValueError for NaN) that depends on the value,
        which a trace of a computed value cannot know. Those are stored as np.asarray(v),
        which NumPy casts like any array (a known difference, kept out of the programs)."""
        value = self.env.get(v)
        if isinstance(value, np.generic) or (isinstance(value, float)
                                             and np.dtype(dtype).kind in "iu"):
            return f"np.asarray({v})"
        return v

    def axis(self, ndim: int) -> str:
        kind = self.draw(st.integers(0, 4))
        if kind == 0 or ndim == 0:
            return "None"
        if kind == 1 and ndim >= 2:
            axes = self.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                      unique_by=lambda a: a % ndim))
            return repr(tuple(axes))
        return str(self.draw(st.integers(-ndim, ndim - 1)))

    def basic_index(self, shape: tuple, allow_int: bool = True) -> list:
        items: list = []
        ndim = len(shape)
        ellipsis_at = self.draw(st.integers(-1, ndim)) if self.draw(st.integers(0, 3)) == 0 \
            else -1
        for axis in range(ndim):
            if axis == ellipsis_at:
                items.append(Ellipsis)
                break
            if self.draw(st.integers(0, 6)) == 0:
                items.append(None)
            kind = self.draw(st.integers(0, 4 if allow_int else 3))
            if kind == 4 and shape[axis] > 0:
                items.append(self.draw(st.integers(-shape[axis], shape[axis] - 1)))
            elif kind == 0 and self.draw(st.booleans()):
                items.append(slice(None))
            else:
                bound = st.one_of(st.none(), st.integers(-6, 6))
                step = self.draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
                items.append(slice(self.draw(bound), self.draw(bound), step))
        if ellipsis_at == ndim:
            items.append(Ellipsis)
        # drop trailing full slices sometimes: x[1:] rather than x[1:, :]
        while items and items[-1] == slice(None) and self.draw(st.booleans()):
            items.pop()
        return items

    def int_array_index(self, shape: tuple) -> list:
        """Integer-array indices: on one axis, or on two (adjacent, or apart so that
        NumPy moves the indexed axis to the front), slices, ints or None elsewhere."""
        axes = [self.draw(st.integers(0, len(shape) - 1))]
        if len(shape) >= 2 and self.draw(st.integers(0, 2)) == 0:
            axes.append(self.draw(st.sampled_from([a for a in range(len(shape))
                                                   if a != axes[0]])))
        length = self.draw(st.integers(0, 4))
        items: list = []
        for axis in range(max(axes) + 1):
            n = shape[axis]
            if axis in axes:
                values = self.draw(st.lists(st.integers(-n, n - 1) if n else st.just(0),
                                            min_size=length, max_size=length))
                as_array = self.draw(st.booleans())
                items.append(f"np.array({values!r}, dtype=np.intp)" if as_array else values)
            else:
                kind = self.draw(st.integers(0, 3))
                if kind == 0 and n:
                    items.append(self.draw(st.integers(-n, n - 1)))
                elif kind == 1:
                    items.append(slice(None, None, self.draw(st.sampled_from([1, -1, 2]))))
                else:
                    items.append(slice(None))
            if self.draw(st.integers(0, 7)) == 0:
                items.append(None)
        return items

    # --- instructions ---

    def instruction(self) -> Instr:
        kind = self.draw(st.sampled_from([
            "unary", "binary", "binary", "operator", "reduction", "slice", "slice",
            "shape", "where", "astype", "concatenate", "setitem", "setitem_array",
            "getitem_array", "inplace_view", "inplace", "out", "copy", "setitem_mask",
            "scalar_arith"]))
        return getattr(self, f"gen_{kind}")()

    def gen_unary(self) -> Instr:
        x, d = self.reg(), self.new()
        form = self.draw(st.integers(0, 5))
        if form == 0:
            op = self.draw(st.sampled_from(["-", "~", "abs"]))
            text = f"abs({x})" if op == "abs" else f"{op}{x}"
        else:
            text = f"np.{self.draw(st.sampled_from(UNARY))}({x})"
        return Instr("unary", (f"{d} = {text}",))

    def gen_binary(self) -> Instr:
        x, d = self.reg(), self.new()
        y = self.operand_like(self.shape(x))
        if self.draw(st.integers(0, 4)) == 0:
            x, y = y, x
        return Instr("binary", (f"{d} = np.{self.draw(st.sampled_from(BINARY))}({x}, {y})",))

    def gen_operator(self) -> Instr:
        x, d = self.reg(), self.new()
        y = self.operand_like(self.shape(x))
        op = self.draw(st.sampled_from(OPERATORS))
        if self.draw(st.integers(0, 3)) == 0:
            x, y = y, x
        if x not in self.env and y not in self.env:
            x = self.reg()
        if op == "**" and self.scalar_math(x, y):
            op = "*"
        return Instr("operator", (f"{d} = {x} {op} {y}",))

    def scalar_math(self, *operands: str) -> bool:
        """No operand is an array: NumPy computes `**` on NumPy/Python scalars with its
        scalar math (libm pow), which can differ by an ulp from the np.power loop that a
        trace runs on 0-d arrays (a known difference, kept out of these programs)."""
        return not any(isinstance(self.env.get(o), np.ndarray) for o in operands)

    def gen_reduction(self) -> Instr:
        x, d = self.reg(), self.new()
        name = self.draw(st.sampled_from(REDUCTIONS))
        axis = self.axis(np.ndim(self.env[x]))
        keepdims = self.draw(st.booleans())
        kw = f"axis={axis}" + (", keepdims=True" if keepdims else "")
        if self.draw(st.booleans()) and isinstance(self.env[x], np.ndarray):
            return Instr("reduction", (f"{d} = {x}.{name}({kw})",))
        return Instr("reduction", (f"{d} = np.{name}({x}, {kw})",))

    def gen_slice(self) -> Instr:
        x, d = self.reg(arrays_only=True), self.new()
        items = self.basic_index(self.shape(x))
        return Instr("slice", (f"{d} = {x}[{render_index(items)}]",))

    def gen_shape(self) -> Instr:
        x, d = self.reg(arrays_only=True), self.new()
        shape = self.shape(x)
        form = self.draw(st.integers(0, 5))
        if form == 0:
            text = f"{x}.T"
        elif form == 1:
            perm = self.draw(st.permutations(range(len(shape))))
            text = f"np.transpose({x}, {tuple(perm)!r})"
        elif form == 2:
            text = f"np.ravel({x})" if self.draw(st.booleans()) else f"{x}.reshape(-1)"
        elif form == 3 and len(shape) >= 2:
            a, b = self.draw(st.permutations(range(len(shape))))[:2]
            text = f"np.swapaxes({x}, {a}, {b})"
        else:
            size = int(np.prod(shape))
            new = self.factor(size)
            if new and self.draw(st.booleans()) and size:
                new[self.draw(st.integers(0, len(new) - 1))] = -1
            text = f"{x}.reshape({tuple(new)!r})"
        return Instr("shape", (f"{d} = {text}",))

    def factor(self, size: int) -> list[int]:
        """A random shape with `size` elements, up to 3 axes."""
        if size == 0:
            return self.draw(st.sampled_from([[0], [0, 3], [2, 0], [1, 0, 1]]))
        dims, rest = [], size
        for _ in range(self.draw(st.integers(0, 2))):
            divisors = [k for k in range(1, rest + 1) if rest % k == 0]
            k = self.draw(st.sampled_from(divisors))
            dims.append(k)
            rest //= k
        dims.append(rest)
        if self.draw(st.integers(0, 3)) == 0:
            dims.insert(self.draw(st.integers(0, len(dims))), 1)
        return self.draw(st.permutations(dims))

    def gen_where(self) -> Instr:
        x, d = self.reg(), self.new()
        shape = self.shape(x)
        if self.draw(st.booleans()):
            cond = f"{x} > {self.scalar()}"
        else:
            bools = [r for r in self.regs if np.asarray(self.env[r]).dtype == np.bool_
                     and broadcasts(self.shape(r), shape)]
            cond = self.draw(st.sampled_from(bools)) if bools else f"{x} != 0"
        a = x if self.draw(st.booleans()) else self.operand_like(shape)
        b = self.operand_like(shape)
        return Instr("where", (f"{d} = np.where({cond}, {a}, {b})",))

    def gen_astype(self) -> Instr:
        x, d = self.reg(arrays_only=True), self.new()
        dtype = np.dtype(self.draw(st.sampled_from(DTYPES))).name
        dtype = "bool_" if dtype == "bool" else dtype
        return Instr("astype", (f"{d} = {x}.astype(np.{dtype})",))

    def gen_concatenate(self) -> Instr:
        x, d = self.reg(arrays_only=True), self.new()
        shape = self.shape(x)
        if self.draw(st.integers(0, 5)) == 0 or len(shape) == 0:
            others = [self.reg(arrays_only=True)]
            axis = "None" if self.draw(st.booleans()) else "0"
        else:
            ax = self.draw(st.integers(0, len(shape) - 1))
            compatible = [r for r in self.regs if np.ndim(self.env[r]) == len(shape) and all(
                a == b for i, (a, b) in enumerate(zip(self.shape(r), shape, strict=True))
                if i != ax)]
            others = self.draw(st.lists(st.sampled_from(compatible), min_size=1, max_size=2))
            axis = str(ax - len(shape) if self.draw(st.booleans()) else ax)
        parts = ", ".join([x] + others)
        return Instr("concatenate", (f"{d} = np.concatenate([{parts}], axis={axis})",))

    def gen_setitem(self) -> Instr:
        x = self.reg(arrays_only=True, prefer_args=True)
        if not isinstance(self.env[x], np.ndarray):
            return self.gen_slice()
        items = self.basic_index(self.shape(x))
        region = np.shape(self.env[x][tuple(items)]) if self.valid(x, items) else ()
        value = self.stored_value(region, self.env[x].dtype)
        return Instr("setitem", (f"{x}[{render_index(items)}] = {value}",))

    def valid(self, x: str, items: list) -> bool:
        try:
            self.env[x][tuple(items)]
            return True
        except (IndexError, ValueError, TypeError):
            return False

    def int_array_items(self, x: str) -> list | None:
        shape = self.shape(x)
        if not isinstance(self.env[x], np.ndarray) or not shape:
            return None
        return self.int_array_index(shape)

    def gen_setitem_array(self) -> Instr:
        x = self.reg(arrays_only=True, prefer_args=True)
        items = self.int_array_items(x)
        if items is None:
            return self.gen_setitem()
        env_items = [eval(i, {"np": np}) if isinstance(i, str) else i for i in items]
        try:
            region = np.shape(self.env[x][tuple(env_items)])
        except IndexError:
            region = ()
        value = self.stored_value(region, self.env[x].dtype)
        op = "=" if self.draw(st.integers(0, 2)) else self.draw(st.sampled_from(INPLACE))
        return Instr("setitem_array", (f"{x}[{render_index(items)}] {op} {value}",))

    def gen_setitem_mask(self) -> Instr:
        """x[mask] = scalar with a traced mask (x > c, or a boolean register covering
        x's leading axes); jit supports scalar values only."""
        x = self.reg(arrays_only=True, prefer_args=True)
        shape = self.shape(x)
        if not isinstance(self.env[x], np.ndarray) or not shape:
            return self.gen_setitem()
        masks = [r for r in self.regs if isinstance(self.env[r], np.ndarray)
                 and self.env[r].dtype == np.bool_ and self.env[r].ndim >= 1
                 and shape[:self.env[r].ndim] == self.shape(r)]
        if masks and self.draw(st.booleans()):
            mask = self.draw(st.sampled_from(masks))
        else:
            mask = f"{x} {self.draw(st.sampled_from(['>', '<', '==']))} {self.scalar()}"
        value = self.storable(self.scalar(), self.env[x].dtype)
        return Instr("setitem_mask", (f"{x}[{mask}] = {value}",))

    def gen_scalar_arith(self) -> Instr:
        """Arithmetic on the Python scalar argument: Python scalars stay Python scalars."""
        if not self.scalar_params:
            return self.gen_operator()
        d = self.new()
        op = self.draw(st.sampled_from(["+", "-", "*", "/", "**"]))
        # no division by zero, no fractional powers of negatives (Python would give a
        # ZeroDivisionError or a complex number: value-dependent, a trace cannot know)
        other = self.draw(st.sampled_from([2, 3, -1, 2.0] if op == "**" else
                                          [2, 3, -1, 0.5, 2.0, -1.5]))
        if self.draw(st.booleans()) and op != "**":
            text = f"{literal(other)} {op} {self.scalar_params[0]}"
        else:
            text = f"{self.scalar_params[0]} {op} {literal(other)}"
        return Instr("scalar_arith", (f"{d} = {text}",))

    def gen_getitem_array(self) -> Instr:
        x = self.reg(arrays_only=True)
        items = self.int_array_items(x)
        if items is None:
            return self.gen_slice()
        d = self.new()
        return Instr("getitem_array", (f"{d} = {x}[{render_index(items)}]",))

    def gen_inplace_view(self) -> Instr:
        """u = a[1:, ::2]; u += value: an augmented assignment through a view."""
        x = self.reg(arrays_only=True, prefer_args=True)
        if not isinstance(self.env[x], np.ndarray):
            return self.gen_unary()
        items = self.basic_index(self.shape(x), allow_int=self.draw(st.booleans()))
        region = np.shape(self.env[x][tuple(items)]) if self.valid(x, items) else ()
        u = self.new()
        op = self.draw(st.sampled_from(INPLACE))
        value = self.operand_like(region, into=True)
        scalar = self.valid(x, items) and not isinstance(self.env[x][tuple(items)], np.ndarray)
        if op == "**=" and scalar and self.scalar_math(value):
            op = "*="
        return Instr("inplace_view", (f"{u} = {x}[{render_index(items)}]",
                                      f"{u} {op} {value}"))

    def gen_inplace(self) -> Instr:
        x = self.reg(arrays_only=True, prefer_args=True)
        op = self.draw(st.sampled_from(INPLACE))
        value = self.operand_like(self.shape(x), into=True)
        if op == "**=" and self.scalar_math(x, value):
            op = "*="
        return Instr("inplace", (f"{x} {op} {value}",))

    def gen_out(self) -> Instr:
        """np.<ufunc>(x, y, out=target): into a register or a slice of one."""
        t = self.reg(arrays_only=True, prefer_args=True)
        target = t
        shape = self.shape(t)
        if self.draw(st.booleans()) and isinstance(self.env[t], np.ndarray):
            items = self.basic_index(shape, allow_int=False)
            if self.valid(t, items):
                target = f"{t}[{render_index(items)}]"
                shape = np.shape(self.env[t][tuple(items)])
        x = self.operand_like(shape, into=True)
        if x not in self.env:
            x = target if self.draw(st.booleans()) else self.reg()
        d = self.new()
        if self.draw(st.integers(0, 2)) == 0:
            ufunc = self.draw(st.sampled_from(UNARY))
            return Instr("out", (f"{d} = np.{ufunc}({x}, out={target})",))
        y = self.operand_like(shape, into=True)
        ufunc = self.draw(st.sampled_from(BINARY))
        return Instr("out", (f"{d} = np.{ufunc}({x}, {y}, out={target})",))

    def gen_copy(self) -> Instr:
        x, d = self.reg(arrays_only=True), self.new()
        text = f"{x}.copy()" if self.draw(st.booleans()) else f"np.copy({x})"
        return Instr("copy", (f"{d} = {text}",))


def value_dependent(exc: BaseException) -> bool:
    """Errors NumPy raises for some values only: a trace may legitimately not raise them
    (the computation raising is dead code, eliminated), so programs avoid them."""
    return "negative integer powers" in str(exc)


@st.composite
def programs(draw) -> Program:
    base = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    n = draw(st.integers(1, 3))
    args, layouts = [], []
    for i in range(n):
        a, layout = draw(argument(base))
        alias = draw(st.integers(0, 11)) if i else 0
        if alias == 1:  # f(a, a): the same array twice
            k = draw(st.integers(0, i - 1))
            a, layout = args[k], f"={k}"
        elif alias == 2 and np.ndim(args[0]) >= 1:  # a view of another argument
            index = draw(st.sampled_from(["::-1", "1:", "..., ::2", "...", "::2"]))
            view = with_layout(args[0], layouts[0])[eval(f"np.s_[{index}]")]
            a, layout = view.copy(), f"v:0:{index}"
        args.append(a)
        layouts.append(layout)
    params = [f"a{i}" for i in range(n)]
    scalar = draw(st.integers(0, 5))
    if scalar == 0:  # a traced Python float (weakly typed, NEP 50)
        args.append(draw(st.sampled_from([0.5, -2.5, 3.0])))
        params.append("s")
    elif scalar == 1:  # a Python int (static)
        args.append(draw(st.sampled_from([2, -1, 300])))
        params.append("n")
    layouts += [""] * (len(args) - len(layouts))
    program = Program(args, params, layouts)
    gen = Gen(draw, program)
    for _ in range(draw(st.integers(1, 20))):
        instr = gen.instruction()
        try:
            gen.run(instr.lines, gen.env)
        except Exception as exc:  # noqa: BLE001 - NumPy rejects it: drop it, or end with it
            if not value_dependent(exc) and draw(st.integers(0, 7)) == 0:
                program.instrs.append(instr)
                break
            gen.env = gen.fresh_env()  # undo whatever it did before raising
            for kept in program.instrs:
                gen.run(kept.lines, gen.env)
            continue
        program.instrs.append(instr)
        for line in instr.lines:
            target = line.split(" = ")[0] if " = " in line else None
            if target and target.isidentifier() and target not in gen.regs:
                gen.regs.append(target)
    k = draw(st.integers(1, min(3, len(gen.regs))))
    chosen = draw(st.lists(st.sampled_from(gen.regs), min_size=k, max_size=k))
    form = draw(st.integers(0, 3))
    if form == 0 or len(chosen) == 1 and form == 1:
        program.returns = chosen[0]
    elif form == 1:
        program.returns = "[" + ", ".join(chosen) + "]"
    elif form == 2:
        program.returns = "{" + ", ".join(f"'r{i}': {c}" for i, c in enumerate(chosen)) + "}"
    else:
        program.returns = "(" + ", ".join(chosen) + ",)"
    return program


# --- comparison ---------------------------------------------------------------------


def builtin_base(exc: BaseException) -> type:
    """The first built-in exception class NumPy's exception derives from."""
    return next(c for c in type(exc).__mro__ if c.__module__ == "builtins")


EXPECTED_ERRORS = (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError)


def run_numpy(f, args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f(*args), None
        except Exception as exc:  # noqa: BLE001
            return None, exc


def check_program(program: Program) -> None:
    f = build(program)
    jf = jit(f)
    for call in ("first call (traced)", "second call (cached)"):
        args_np, args_jit = program.fresh_args(), program.fresh_args()
        expected, error = run_numpy(f, args_np)
        if error is not None:
            base = builtin_base(error)
            assume(issubclass(base, EXPECTED_ERRORS) and not value_dependent(error))
            event(f"numpy raised {base.__name__}")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    jf(*args_jit)
            except base:
                return
            except Exception as exc:  # noqa: BLE001
                raise AssertionError(f"{call}: NumPy raised {error!r} (a {base.__name__}), "
                                     f"jit raised {type(exc).__name__}: {exc}") from None
            raise AssertionError(f"{call}: NumPy raised {error!r}, jit did not raise")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = jf(*args_jit)
        assert_same(got, expected, f"{call}: result", rtol32=1e-6)
        for name, a, e in zip(program.params, args_jit, args_np, strict=False):
            assert_same(a, e, f"{call}: argument {name} afterwards", rtol32=1e-6)
        leaves_np, leaves_jit = array_leaves(expected), array_leaves(got)
        for i, (rn, rj) in enumerate(zip(leaves_np, leaves_jit, strict=False)):
            for name, an, aj in zip(program.params, args_np, args_jit, strict=False):
                if isinstance(an, np.ndarray):
                    want = np.shares_memory(rn, an)
                    assert np.shares_memory(rj, aj) == want, \
                        f"{call}: result array {i} {'is' if want else 'is not'} a view of " \
                        f"argument {name} under NumPy, but {'not' if want else 'is'} under jit"


@PROFILE
@given(programs())
def test_random_programs(program: Program) -> None:
    for instr in program.instrs:
        event(instr.op)
    event(f"{len(program.instrs) // 4 * 4}+ instructions")
    for layout in program.layouts:
        event({"F": "Fortran argument", "S": "strided argument", "=": "same array twice",
               "v": "argument viewing another"}.get(layout[:1], "C argument"))
    note(program.describe())
    try:
        check_program(program)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n\nprogram:\n{program.describe()}") from None
    except Exception as exc:
        if type(exc).__name__ in ("UnsatisfiedAssumption", "Skipped"):
            raise
        raise AssertionError(f"jit raised {type(exc).__name__}: {exc}\n\nprogram:\n"
                             f"{program.describe()}") from exc
