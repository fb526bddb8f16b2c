"""The op-case table: one list, `CASES`, driving the per-op tests.

Each `Case` is a plain NumPy function `fn(*args)` plus argument sets. Two test modules read
it:

* ``tests/graph/test_op_table.py`` checks the op rows themselves: for a case with a
  `Row`, the row's ``infer`` on the operands' avals gives the shape and dtype NumPy's
  result has, and its ``impl`` gives NumPy's values; every op in ``OPS`` has a case; and
  edge values (inf, -inf, nan, -0.0, integer extremes) come out bit-for-bit the same.
* ``tests/trace/test_numpy_api.py`` checks ``tracejit.jit(fn)(*args) == fn(*args)``: the
  same type, dtype, shape and values, the same mutations of the arguments, and the same
  built-in exception type where NumPy raises.

`Case.ops` names the op rows the traced function records; a test checks that they are
recorded, so the table's claims about coverage stay true.

This module is loaded by file path (see `load` in the test modules) under the name
``opcases``; it must not start with ``tracejit`` (tracejit treats such modules as library
code and would not shadow their helper functions).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

from tracejit.graph.creation import ConstValue
from tracejit.graph.elementwise import BINARY_UFUNCS, UNARY_UFUNCS

# --- the table's types ------------------------------------------------------------------

#: `Args.raises` value: whatever NumPy does (raise or not), tracejit must do the same.
MATCH = "match"


@dataclass(frozen=True)
class Args:
    """One argument set. `raises`: None (NumPy must succeed), an exception class NumPy
    must raise (tracejit must raise the same built-in type), or `MATCH`. `row=False`
    keeps this set out of the row-level test (the tracer does work the row does not)."""

    id: str
    values: tuple
    raises: Any = None
    row: bool = True


@dataclass(frozen=True)
class Row:
    """How `fn` maps onto one op row: `OPS[op].impl(*inputs(*args), **params(*args))`
    must equal `expected(*args)` (default: `fn(*args)`). `inputs` defaults to the
    arguments as arrays (ufunc rows: cast to the loop NumPy resolves, as the tracer does).
    """

    op: str
    params: Any = field(default_factory=dict)  # dict, or callable(*args) -> dict
    inputs: Callable[..., list] | None = None
    expected: Callable[..., Any] | None = None

    def params_for(self, args: tuple) -> dict:
        return self.params(*args) if callable(self.params) else dict(self.params)


@dataclass(frozen=True)
class Case:
    name: str
    ops: tuple[str, ...]  # op rows the traced function records
    fn: Callable
    args: tuple[Args, ...]
    row: Row | None = None
    edge: tuple[Args, ...] = ()  # edge-value argument sets (inf, nan, -0.0, extremes)
    exact: bool = True  # bitwise equality; False: assert_allclose (rtol 1e-12 / 1e-6)
    marks: tuple = ()  # pytest marks (xfail ...) for the jit tests of this case
    row_marks: tuple = ()  # pytest marks for the row-level / recorded-graph tests
    inplace: bool = False  # fn mutates its arguments
    alias: bool = True  # check outputs alias arguments exactly where NumPy's do

    def all_args(self) -> tuple[Args, ...]:
        return self.args + self.edge


CASES: list[Case] = []


def case(name: str, ops: str | tuple[str, ...], fn: Callable, args: Any, **kw: Any) -> Case:
    ops = (ops,) if isinstance(ops, str) else tuple(ops)
    args = tuple(a if isinstance(a, Args) else Args(*a) for a in args)
    ids = [a.id for a in args + tuple(kw.get("edge", ()))]
    assert len(set(ids)) == len(ids), f"{name}: repeated argument ids {ids}"
    assert all(c.name != name for c in CASES), f"case {name!r} defined twice"
    c = Case(name, ops, fn, args, **kw)
    CASES.append(c)
    return c


def A(id: str, *values: Any, raises: Any = None, row: bool = True) -> Args:
    return Args(id, tuple(values), raises, row)


LINALG_XFAIL = pytest.mark.xfail(strict=False, reason="linalg handlers in progress")

# --- argument generators ------------------------------------------------------------------

DT = {"f8": np.float64, "f4": np.float32, "f2": np.float16, "i8": np.int64, "i1": np.int8,
      "u1": np.uint8, "b": np.bool_, "c16": np.complex128, "c8": np.complex64}
MAIN = ("f8", "f4", "i8", "i1", "b", "c16")
PY_SCALAR = {"f": 2.5, "c": 1.5 - 2j, "i": 3, "u": 3, "b": True}


def make(dt: str, shape: tuple[int, ...] = (3, 4), dom: str = "any", k: int = 0) -> Any:
    """A deterministic array: dtype `dt`, `shape`, values from domain `dom`
    ("any", "pos", "unit", "ge1", "shift", "small")."""
    dtype = np.dtype(DT[dt])
    rng = np.random.default_rng(zlib.crc32(f"{dt}|{shape}|{dom}|{k}".encode()))
    n = math.prod(shape)
    if dtype.kind == "b":
        v = rng.random(n) < 0.5
    elif dtype.kind in "iu":
        lo, hi = {"any": (-5, 6), "pos": (1, 6), "shift": (0, 5), "small": (0, 4),
                  "unit": (-1, 2), "ge1": (1, 6)}[dom]
        v = rng.integers(max(lo, 0) if dtype.kind == "u" else lo, hi, n)
    else:
        v = real_values(rng, n, dom)
        if dtype.kind == "c":
            v = v + 1j * real_values(rng, n, dom)
    return np.asarray(v).astype(dtype).reshape(shape)


def real_values(rng: np.random.Generator, n: int, dom: str) -> np.ndarray:
    if dom == "pos":
        return np.round(rng.uniform(0.1, 4.0, n), 3)
    if dom == "unit":
        return np.round(rng.uniform(-0.95, 0.95, n), 3)
    if dom == "ge1":
        return np.round(rng.uniform(1.0, 4.0, n), 3)
    if dom in ("shift", "small"):
        return rng.integers(0, 4, n).astype(float)
    v = np.round(rng.normal(0.0, 2.0, n), 2)
    v[::5] = np.round(v[::5]) + 0.5  # exact halves: rounding ties
    return v


def spd(n: int = 3, batch: tuple[int, ...] = (), dt: str = "f8", k: int = 0) -> np.ndarray:
    m = make(dt, batch + (n, n), k=k)
    m = m @ np.swapaxes(m, -1, -2).conj() + n * np.eye(n)
    return m.astype(DT[dt])


def wellcond(n: int = 3, batch: tuple[int, ...] = (), dt: str = "f8", k: int = 0):
    return (make(dt, batch + (n, n), k=k) + 4 * n * np.eye(n)).astype(DT[dt])


def edge_pool(dt: str) -> np.ndarray:
    """Edge values of a dtype, as a 1-d array (12 floats, 36 complex, 7 ints)."""
    dtype = np.dtype(DT[dt])
    if dtype.kind == "f":
        fi = np.finfo(dtype)
        vals = [np.inf, -np.inf, np.nan, -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, fi.max,
                fi.smallest_subnormal, -fi.max]
        return np.array(vals, dtype=dtype)
    if dtype.kind == "c":
        parts = [np.inf, -np.inf, np.nan, -0.0, 0.0, 1.0]
        return np.array([complex(r, i) for r in parts for i in parts], dtype=dtype)
    if dtype.kind in "iu":
        ii = np.iinfo(dtype)
        vals = [ii.min, ii.min + 1, -1, 0, 1, 2, ii.max] if dtype.kind == "i" else \
            [0, 1, 2, ii.max - 1, ii.max]
        return np.array(vals, dtype=dtype)
    return np.array([False, True])


ZEROS_GRID = np.array([[-0.0, -0.0, -0.0, -0.0], [0.0, -0.0, 0.0, -0.0],
                       [-0.0, 0.0, -0.0, 0.0]])


def edge_unary(dts: list[str]) -> tuple[Args, ...]:
    out = [A(f"edge-{dt}", edge_pool(dt), raises=MATCH) for dt in dts
           if dt in ("f8", "f4", "c16", "i1", "i8")]
    if any(np.dtype(DT[dt]).kind == "f" for dt in dts):
        out += [A("edge-0d-negzero", np.array(-0.0), raises=MATCH),
                A("edge-0d-nan", np.array(np.nan), raises=MATCH),
                A("edge-0d-neginf", np.array(-np.inf), raises=MATCH)]
    return tuple(out)


def edge_binary(dts: list[str]) -> tuple[Args, ...]:
    """All pairs of edge values: pool[:, None] op pool[None, :]."""
    out = []
    for dt in dts:
        if dt in ("f8", "f4", "c16", "i1", "i8"):
            p = edge_pool(dt)
            out.append(A(f"edge-{dt}", p[:, None], p[None, :], raises=MATCH))
    return tuple(out)


def edge_grids(dts: tuple[str, ...] = ("f8", "f4")) -> tuple[Args, ...]:
    """(3, 4) grids of edge values for reductions: the pool, and signed zeros."""
    out = []
    for dt in dts:
        out.append(A(f"edge-{dt}", edge_pool(dt).reshape(3, 4), raises=MATCH))
        out.append(A(f"edge-zeros-{dt}", ZEROS_GRID.astype(DT[dt]), raises=MATCH))
        finite = np.array([[1.0, -0.0, 2.5, -1.0], [np.inf, 1.0, 0.5, -np.inf],
                           [-np.inf, 2.0, np.inf, 3.0]], dtype=DT[dt])
        out.append(A(f"edge-infs-{dt}", finite, raises=MATCH))
    return tuple(out)


def has_loop(ufunc: np.ufunc, dts: tuple[str, ...]) -> bool:
    try:
        ufunc.resolve_dtypes(tuple(np.dtype(DT[d]) for d in dts) + (None,) * ufunc.nout)
        return True
    except (TypeError, np.exceptions.DTypePromotionError):
        return False


# --- 1. elementwise: one case per ufunc row -------------------------------------------------

UNARY_DOMAIN = {"arcsin": "unit", "arccos": "unit", "arctanh": "unit", "arccosh": "ge1",
                "log": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos"}
BINARY_DOMAIN = {"left_shift": "shift", "right_shift": "shift", "power": "small",
                 "float_power": "small", "ldexp": "shift", "gcd": "any", "lcm": "any"}


def call_ufunc(u: np.ufunc) -> Callable:
    def fn(*xs):
        return u(*xs)

    fn.__name__ = fn.__qualname__ = u.__name__
    return fn


def unary_ufunc_cases() -> None:
    for u in UNARY_UFUNCS:
        name = u.__name__
        dom = UNARY_DOMAIN.get(name, "any")
        dts = [d for d in MAIN if has_loop(u, (d,))]
        d0 = "f8" if "f8" in dts else dts[0]
        args = [A(d, make(d, (3, 4), dom)) for d in dts]
        args += [A(f"{d0}-0d", make(d0, (), dom)), A(f"{d0}-empty", make(d0, (0, 3), dom)),
                 A(f"{d0}-1d", make(d0, (5,), dom, k=1)),
                 A("f2", make("f2", (2, 3), dom)) if has_loop(u, ("f2",)) else None,
                 A("u1", make("u1", (2, 3), dom)) if has_loop(u, ("u1",)) else None,
                 A(f"{d0}-scalar", make(d0, (), dom)[()])]
        py = PY_SCALAR[np.dtype(DT[d0]).kind]
        if not isinstance(py, int):  # Python ints are static: a constant, no graph input
            args.append(A("py", py))
        bad = [d for d in MAIN if d not in dts]
        if bad:
            args.append(A(f"{bad[0]}-noloop", make(bad[0], (2, 2)), raises=TypeError))
        case(name, name, call_ufunc(u), [a for a in args if a is not None], row=Row(name),
             edge=edge_unary(dts))


def binary_ufunc_cases() -> None:
    for u in BINARY_UFUNCS:
        name = u.__name__
        dom = BINARY_DOMAIN.get(name, "any")
        if name == "ldexp":  # (float mantissa, int exponent)
            args = [A("f8-i8", make("f8", (3, 4)), make("i8", (3, 4), dom)),
                    A("f4-i1", make("f4", (3, 4)), make("i1", (3, 4), dom)),
                    A("f8-i8-bcast", make("f8", (2, 1, 4)), make("i8", (3, 1), dom)),
                    A("f4-pyint", make("f4", (3, 4)), 3),
                    A("f8-0d", make("f8", ()), make("i8", (), dom)),
                    A("f8-empty", make("f8", (0, 4)), make("i8", (4,), dom)),
                    A("f8-f8-noloop", make("f8", (2,)), make("f8", (2,)), raises=TypeError)]
            fi = edge_pool("f8")
            edge = (A("edge-f8", fi[:, None], np.array([[-1075, -1, 0, 1, 1024]]),
                      raises=MATCH),)
            case(name, name, call_ufunc(u), args, row=Row(name), edge=edge)
            continue
        dts = [d for d in MAIN if has_loop(u, (d, d))]
        d0 = "f8" if "f8" in dts else dts[0]
        small = next(d for d in ("f4", "i1", "b") if d in dts)
        args = [A(d, make(d, (3, 4)), make(d, (3, 4), dom, k=1)) for d in dts]
        args += [
            A(f"{d0}-bcast", make(d0, (2, 1, 4)), make(d0, (3, 1), dom, k=1)),
            A(f"{d0}-0d", make(d0, ()), make(d0, (), dom, k=1)),
            A(f"{d0}-empty", make(d0, (0, 4)), make(d0, (4,), dom, k=1)),
            A(f"{d0}-scalars", make(d0, ())[()], make(d0, (), dom, k=1)[()]),
        ]
        kind = np.dtype(DT[small]).kind
        if kind == "f":  # NEP 50: a Python float keeps a float32 array float32
            args += [A(f"{small}-pyfloat", make(small, (3, 4)), 2.0),
                     A(f"pyfloat-{small}", 2.0, make(small, (3, 4))),
                     A("pyfloats", 2.5, 1.5)]
        elif kind == "i":  # a Python int keeps int8 (traced as a static constant)
            args += [A(f"{small}-pyint", make(small, (3, 4)), 2),
                     A(f"pyint-{small}", 2, make(small, (3, 4), dom, k=1))]
        mixed = [("f4", "f8"), ("i1", "i8"), ("i1", "f4"), ("b", "i1"), ("u1", "i1"),
                 ("i8", "f4"), ("f4", "c16")]
        for a, b in mixed:
            if has_loop(u, (a, b)) and has_loop(u, (a, a)) and has_loop(u, (b, b)):
                args.append(A(f"{a}-{b}", make(a, (3, 4)), make(b, (4,), dom, k=1)))
        if "f4" in dts:  # a NumPy scalar is strong: float32 array with np.float64 → f64
            args.append(A("f4-npf8", make("f4", (3, 4)), np.float64(2.0)))
        bad = [d for d in MAIN if d not in dts]
        if bad:
            args.append(A(f"{bad[0]}-noloop", make(bad[0], (2,)), make(bad[0], (2,)),
                          raises=TypeError))
        case(name, name, call_ufunc(u), args, row=Row(name), edge=edge_binary(dts))


unary_ufunc_cases()
binary_ufunc_cases()

# --- 2. Python operators, NEP 50 weak scalars, in-place operators -------------------------


def f32(shape=(3, 4), **kw):
    return make("f4", shape, **kw)


def f64(shape=(3, 4), **kw):
    return make("f8", shape, **kw)


def i8(shape=(3, 4), **kw):
    return make("i1", shape, **kw)


def i64(shape=(3, 4), **kw):
    return make("i8", shape, **kw)


def bools(shape=(3, 4), **kw):
    return make("b", shape, **kw)


def c128(shape=(3, 4), **kw):
    return make("c16", shape, **kw)


ARITH = [f64(), f32(), i64(), i8(), c128()]
ARITH_IDS = ["f8", "f4", "i8", "i1", "c16"]


def per_dtype(arrays, ids, *extra):
    return [A(i, a, *extra) for i, a in zip(ids, arrays, strict=False)]


case("op_neg", "negative", lambda x: -x,
     per_dtype(ARITH, ARITH_IDS) + [A("f8-0d", f64(())), A("py", 2.5)])
case("op_pos", "positive", lambda x: +x, per_dtype(ARITH, ARITH_IDS) + [A("f8-0d", f64(()))])
case("op_abs", "absolute", lambda x: abs(x),
     per_dtype(ARITH, ARITH_IDS) + [A("i1-min", np.array([-128, -1, 5], np.int8))])
case("int_power_negative", "power", lambda x: x ** -1,
     [A("i1", i8(dom="pos"), raises=ValueError), A("f4", f32(dom="pos"))])
case("shift_by_large", ("left_shift", "right_shift"), lambda x: (x << 70, x >> 9, 1 << x),
     [A("i1", i8()), A("i8", i64(dom="shift"))])
case("bool_arithmetic", ("add", "multiply"), lambda x, y: (x + y, x * y, x + True, x * 2),
     [A("b", bools(), bools(k=1))])
case("op_invert", "invert", lambda x: ~x,
     [A("i8", i64()), A("i1", i8()), A("b", bools()), A("f8", f64(), raises=TypeError)])

BINARY_OPS = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y, "divide": lambda x, y: x / y,
    "floor_divide": lambda x, y: x // y, "remainder": lambda x, y: x % y,
    "power": lambda x, y: x ** y, "divmod": lambda x, y: divmod(x, y),
    "bitwise_and": lambda x, y: x & y, "bitwise_or": lambda x, y: x | y,
    "bitwise_xor": lambda x, y: x ^ y, "left_shift": lambda x, y: x << y,
    "right_shift": lambda x, y: x >> y, "equal": lambda x, y: x == y,
    "not_equal": lambda x, y: x != y, "less": lambda x, y: x < y,
    "less_equal": lambda x, y: x <= y, "greater": lambda x, y: x > y,
    "greater_equal": lambda x, y: x >= y,
}
INT_OPS = {"bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"}
for _op, _fn in BINARY_OPS.items():
    if _op in INT_OPS:
        _args = [A("i8", i64(), i64((4,), dom="shift")), A("i1", i8(), i8(dom="shift")),
                 A("b", bools(), bools(k=1)), A("i1-pyint", i8(), 2),
                 A("pyint-i1", 3, i8(dom="shift")),
                 A("f8", f64(), f64(), raises=TypeError)]
    else:
        _dom = "small" if _op == "power" else "any"
        _reflected = [] if _op in ("less", "less_equal", "greater", "greater_equal") else \
            [A("pyfloat-f4", 2.0, f32(dom=_dom)), A("pyint-i1", 2, i8(dom=_dom))]
        _args = _reflected + [
                 A("f8", f64(), f64(dom=_dom, k=1)), A("f4-f8", f32(), f64((4,), dom=_dom)),
                 A("i1-i8", i8(), i64(dom=_dom)), A("f4-pyfloat", f32(), 2.0),
                 A("i1-pyint", i8(), 2), A("i1-pyfloat", i8(), 0.5),
                 A("f8-0d", f64(()), f64((), dom=_dom, k=1)),
                 A("pyfloats", 2.5, 1.5), A("bcast", f64((3, 1)), f64((1, 4), dom=_dom))]
        if _op not in ("floor_divide", "remainder", "divmod"):
            _args.append(A("c16-pyfloat", c128(), 2.0))
    case(f"op_{_op}", _op, _fn, _args)

# `2 < x` is `x > 2`: Python reflects a comparison to the mirrored operator
case("op_compare_reflected", ("greater", "less", "greater_equal", "less_equal"),
     lambda x: (2 < x, 2.5 > x, 1 <= x, 0.5 >= x),
     [A("i1", i8()), A("f4", f32()), A("u1", make("u1"))])

# dtype= picks the loop (signature=(None, ..., dtype)); inputs are cast to it
case("ufunc_dtype_kw", ("add", "sqrt", "multiply"),
     lambda x: (np.add(x, 1, dtype=np.float32), np.sqrt(x, dtype=np.float32),
                np.multiply(x, x, dtype=np.complex64)),
     [A("i1", i8(dom="pos")), A("f8", f64(dom="pos")), A("b", bools())])
case("ufunc_dtype_kw_bad", (), lambda x: np.add(x, 1.5, dtype=np.int8),
     [A("i1", i8(), raises=TypeError)])
case("ufunc_dtype_kw_out", ("add",), lambda x, o: np.add(x, x, out=o, dtype=np.float32),
     [A("i1-into-f8", i8(), np.zeros((3, 4)))], inplace=True)

# weak Python scalars written in the function body (NEP 50)
case("weak_f32_times_2", ("multiply", "constant"), lambda x: x * 2.0,
     [A("f4", f32()), A("f4-0d", f32(())), A("f2", make("f2")), A("i1", i8()),
      A("c8", make("c8")), A("b", bools())])
case("weak_int8_plus_1", ("add", "constant"), lambda x: x + 1,
     [A("i1", i8()), A("u1", make("u1")), A("f4", f32()), A("b", bools()),
      A("i1-scalar", np.int8(5))])
case("weak_int8_plus_1000", "add", lambda x: x + 1000,
     [A("i1", i8(), raises=OverflowError), A("u1", make("u1"), raises=OverflowError),
      A("i8", i64()), A("f4", f32())])
case("weak_uint8_minus_1", "add", lambda x: x + (-1),
     [A("u1", make("u1"), raises=OverflowError), A("i1", i8())])
case("weak_int8_compare_1000", ("less", "equal", "bitwise_or"),
     lambda x: (x < 1000) | (x == -1000),
     [A("i1", i8()), A("u1", make("u1"))])
case("weak_int8_times_float", "multiply", lambda x: x * 0.5, [A("i1", i8()), A("b", bools())])
case("weak_reflected", ("subtract", "divide", "power"),
     lambda x: (2.5 - x, 1 / x, 2 ** x),
     [A("f4", f32(dom="pos")), A("i1", i8(dom="shift")), A("f8-0d", f64((), dom="pos"))])
case("weak_complex", "multiply", lambda x: x * 1j, [A("f4", f32()), A("i1", i8())])
case("py_float_args", ("multiply", "add"), lambda s, t: s * t + 1.0,
     [A("floats", 2.5, -1.25), A("float-int", 2.5, 3), A("complex", 1.5j, 2.0)])
case("py_float_arg_with_array", ("multiply", "sin"), lambda x, s: np.sin(s) * x,
     [A("f4", f32(), 0.5), A("i1", i8(), 0.5), A("f8-0d", f64(()), -1.5)])
case("np_scalar_arg", ("multiply", "add"), lambda x, s: x * s + s,
     [A("f4-npf8", f32(), np.float64(1.5)), A("f4-npf4", f32(), np.float32(1.5)),
      A("i1-npi8", i8(), np.int64(3)), A("npf4-npf4", np.float32(2.0), np.float32(3.0))])
case("mixed_chain", ("multiply", "add", "sqrt", "absolute"),
     lambda x, y: np.sqrt(abs(x * y + 1)),
     [A("f4-i1", f32(), i8((4,))), A("i1-b", i8(), bools()), A("u1-i1", make("u1"), i8())])


def iadd(x, y):
    x += y


def isub_py(x):
    x -= 1


def imul_f(x):
    x *= 2.5


def itruediv(x, y):
    x /= y
    return x


def ifloordiv_pow(x):
    x //= 2
    x **= 2
    return x


def imod_bits(x, y):
    x %= 3
    x &= y
    x |= 4
    x ^= 1
    x <<= 1
    x >>= 1
    return x


def imatmul(x, y):
    x @= y
    return x


def ufunc_out(x, y):
    np.add(x, y, out=x)
    np.sin(x, out=x)
    return x


def ufunc_out_other(x, y, out):
    r = np.multiply(x, y, out=out)
    return r


def scalar_rebind(x):
    s = x[0, 0]
    s += 1
    return s, x


case("iadd", ("add",), iadd,
     [A("f8", f64(), f64(k=1)), A("f8-0d", f64(()), f64((), k=1)),
      A("i1-0d-py", i8(()), 5), A("f4-f8", f32(), f64((4,))), A("i1-i8", i8(), i64()),
      A("i8-f8", i64(), f64(), raises=TypeError), A("f8-bcast", f64(), f64((1, 4))),
      A("f8-badshape", f64((4,)), f64((3, 4)), raises=ValueError),
      A("i1-pyint", i8(), 7), A("i1-pyint-overflow", i8(), 300, raises=OverflowError),
      A("f4-pyfloat", f32(), 0.25)], inplace=True)
case("isub_pyint", ("subtract",), isub_py, [A("i1", i8()), A("u1", make("u1")),
                                            A("f4", f32())], inplace=True)
case("imul_float", ("multiply",), imul_f,
     [A("f4", f32()), A("c16", c128()), A("i8", i64(), raises=TypeError)], inplace=True)
case("itruediv", ("divide",), itruediv,
     [A("f4", f32(), f32(k=1)), A("i8", i64(), i64(dom="pos"), raises=TypeError)],
     inplace=True)
case("ifloordiv_ipow", ("floor_divide", "power"), ifloordiv_pow,
     [A("i1", i8()), A("f8", f64()), A("i8", i64())], inplace=True)
case("imod_ibits", ("remainder", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                    "right_shift"), imod_bits, [A("i8", i64(), i64(k=1)), A("i1", i8(), i8(k=1))],
     inplace=True)
case("imatmul", ("matmul",), imatmul,
     [A("f8", f64((3, 3)), f64((3, 3), k=1)), A("f8-bad", f64((3, 4)), f64((4, 2)),
                                                raises=ValueError)], inplace=True)
case("ufunc_out", ("add", "sin"), ufunc_out,
     [A("f8", f64(), f64(k=1)), A("f4-f8", f32(), f64()), A("i8", i64(), i64(),
                                                            raises=TypeError)], inplace=True)
case("ufunc_out_other", "multiply", ufunc_out_other,
     [A("f8", f64(), f64(k=1), np.zeros((3, 4))), A("f4-into-f8", f32(), f32(), np.zeros((3, 4))),
      A("bcast-out", f64((4,)), f64((4,)), np.zeros((3, 4))),
      A("f8-into-i8", f64(), f64(), np.zeros((3, 4), np.int64), raises=TypeError)],
     inplace=True)
def out_forms(x, o, o2, o0):
    np.sum(x, axis=0, out=o)
    np.cumsum(x, axis=1, out=o2)
    r = np.mean(x, out=o0)
    np.clip(x, -1, 1, out=x)
    np.round(x, 1, out=x)
    return r


def out_matmul(x, o):
    return np.matmul(x, x.T, out=o)


def out_dot(x, o):
    return np.dot(x, x.T, out=o)


case("out_forms", ("sum", "cumsum", "clip", "round"), out_forms,
     [A("f8", f64(), np.zeros(4), np.zeros((3, 4)), np.zeros(())),
      A("f4-into-f8", f32(), np.zeros(4), np.zeros((3, 4)), np.zeros(()))], inplace=True)
case("out_matmul", ("matmul",), out_matmul, [A("f8", f64(), np.zeros((3, 3)))], inplace=True)
case("out_dot", ("matmul",), out_dot, [A("f8", f64(), np.zeros((3, 3))),
                                       A("bad-dtype", f64(), np.zeros((3, 3), np.float32),
                                         raises=ValueError)], inplace=True)
case("scalar_rebind", ("slice", "reshape", "add"), scalar_rebind, [A("f8", f64()), A("i1", i8())])

# --- 3. non-ufunc elementwise rows ----------------------------------------------------------

case("real", "real", lambda z: np.real(z).copy(),  # np.real(z) alone is a view of z
     [A("c16", c128()), A("c8", make("c8")), A("c16-0d", c128(())),
      A("c16-empty", c128((0, 2)))],
     row=Row("real"), edge=(A("edge-c16", edge_pool("c16"), raises=MATCH),))
case("parts_of_python_complex", ("real", "imag"), lambda z: (np.real(z), np.imag(z)),
     [A("py", 1.5 - 2j)])
case("real_of_real", (), lambda x: np.real(x) + 0, [A("f8", f64()), A("i1", i8())])
case("imag", "imag", lambda z: np.imag(z).copy(),
     [A("c16", c128()), A("c16-0d", c128(())), A("f8", f64()), A("i1", i8())],
     row=Row("imag"), edge=(A("edge-c16", edge_pool("c16"), raises=MATCH),))
case("real_imag_views", (), lambda z: (np.real(z), z.imag),
     [A("c16", c128())])


def write_real_imag(z):
    z.real[0] = 1.0
    np.imag(z)[1:] = -0.0
    return z


case("real_imag_write_through", ("complex",), write_real_imag,
     [A("c16", c128()), A("c8", make("c8"))], inplace=True,
     row=Row("complex", inputs=lambda z: [z.real.copy(), z.imag.copy()],
             expected=lambda z: z.copy()))
case("real_imag_attrs", ("real", "imag", "add"), lambda z: z.real + z.imag,
     [A("c16", c128()), A("c8", make("c8"))])
case("conj", "conjugate", lambda z: (np.conj(z), z.conj(), np.conjugate(z)),
     [A("c16", c128()), A("f8", f64()), A("i1", i8())])
case("angle", "angle", lambda z: np.angle(z),
     [A("c16", c128()), A("f8", f64()), A("f4", f32()), A("i1", i8()), A("c16-0d", c128(())),
      A("c8", make("c8"))],
     row=Row("angle", {"deg": False}),
     edge=(A("edge-c16", edge_pool("c16"), raises=MATCH),
           A("edge-f8", edge_pool("f8"), raises=MATCH)))
case("angle_deg", "angle", lambda z: np.angle(z, deg=True),
     [A("c16", c128()), A("f4", f32())], row=Row("angle", {"deg": True}))
case("complex_abs", "absolute", lambda z: np.abs(z), [A("c16", c128()), A("c8", make("c8"))],
     edge=(A("edge-c16", edge_pool("c16"), raises=MATCH),))
case("complex_predicates", ("isnan", "isinf", "isfinite"),
     lambda z: (np.isnan(z), np.isinf(z), np.isfinite(z)),
     [A("c16", c128()), A("f8", f64()), A("i1", i8())],
     edge=(A("edge-c16", edge_pool("c16"), raises=MATCH),
           A("edge-f8", edge_pool("f8"), raises=MATCH)))

case("round", "round", lambda x: np.round(x),
     [A("f8", f64()), A("f4", f32()), A("i1", i8()), A("c16", c128()), A("f8-0d", f64(())),
      A("f8-empty", f64((0,)))],
     row=Row("round", {"decimals": 0}), edge=edge_unary(["f8", "f4"]))
case("round_decimals", "round", lambda x: np.round(x, 1),
     [A("f8", f64()), A("f4", f32()), A("i8", i64())], row=Row("round", {"decimals": 1}))
case("round_neg_decimals", "round", lambda x: np.round(x * 100, -1),
     [A("f8", f64()), A("i8", i64())])
case("round_method", "round", lambda x: x.round(2), [A("f8", f64()), A("f4", f32())])
case("around", "round", lambda x: np.around(x, 1), [A("f8", f64())])


def where_inputs(c, x, y):
    dt = np.result_type(x, y)
    return [np.asarray(c, bool), np.asarray(x, dt), np.asarray(y, dt)]


case("where", "where", lambda c, x, y: np.where(c, x, y),
     [A("f8", bools(), f64(), f64(k=1)), A("f4-f8", bools(), f32(), f64((4,))),
      A("i1-i8", bools(), i8(), i64()), A("bcast", bools((3, 1)), f64((4,)), f64((3, 4))),
      A("0d", np.array(True), f64(()), f64((), k=1)),
      A("c16", bools(), c128(), f64()), A("empty", bools((0, 4)), f64((0, 4)), f64((4,)))],
     row=Row("where", inputs=where_inputs),
     edge=(A("edge-f8", np.array([True, False] * 6), edge_pool("f8"),
             edge_pool("f8")[::-1], raises=MATCH),))
case("where_weak", ("where", "greater"), lambda x: np.where(x > 0, x, 0.0),
     [A("f4", f32()), A("i1", i8()), A("f8-0d", f64(()))])
case("where_scalars", "where", lambda c: np.where(c, 1, 0),
     [A("b", bools()), A("0d", np.array(False))])
case("where_noncond", "where", lambda c, x: np.where(c, x, -x),
     [A("f8-cond", f64(), f64(k=1)), A("i1-cond", i8(), i8(k=1))])


def clip_inputs(x, lo, hi):
    dt = np.result_type(x, lo, hi)
    return [np.asarray(x, dt), np.asarray(lo, dt), np.asarray(hi, dt)]


case("clip", "clip", lambda x, lo, hi: np.clip(x, lo, hi),
     [A("f8", f64(), f64(k=1) - 1, f64(k=2) + 1), A("f8-py", f64(), -1.0, 1.5),
      A("f4-py", f32(), -1.0, 1.5), A("i1-py", i8(), -2, 3), A("i1-f4", i8(), f32((4,)), 2.0),
      A("f8-0d", f64(()), -0.5, 0.5), A("empty", f64((0, 3)), 0.0, 1.0)],
     row=Row("clip", inputs=clip_inputs),
     edge=(A("edge-f8", edge_pool("f8"), -1.0, 1.0, raises=MATCH),
           A("edge-nan-bounds", edge_pool("f8"), np.nan, 1.0, raises=MATCH),
           A("edge-zero-bounds", edge_pool("f8"), -0.0, 0.0, raises=MATCH)))
case("clip_method", "clip", lambda x: x.clip(-1.5, 2), [A("f8", f64()), A("i1", i8())])
case("clip_min_only", "maximum", lambda x: np.clip(x, 0, None), [A("f8", f64()), A("i8", i64())])
case("clip_max_only", "minimum", lambda x: np.clip(x, None, 1.0), [A("f4", f32())])
case("clip_kw", "clip", lambda x: np.clip(x, min=-1, max=1), [A("f8", f64()), A("i1", i8())])

case("astype_int8", "astype", lambda x: x.astype(np.int8),
     [A("f8", f64() * 10), A("i8", i64() * 50), A("b", bools()), A("f8-0d", f64(())),
      A("f8-empty", f64((0, 3)))],
     row=Row("astype", {"dtype": np.dtype(np.int8)}),
     edge=(A("edge-f8-finite", np.array([-0.0, 0.0, 1.5, -1.5, 127.9, -128.9]),
             raises=MATCH),))
case("astype_float32", "astype", lambda x: x.astype(np.float32),
     [A("f8", f64()), A("i8", i64()), A("b", bools()), A("f8-0d", f64(()))],
     row=Row("astype", {"dtype": np.dtype(np.float32)}), edge=edge_unary(["f8"]))
case("astype_bool", "astype", lambda x: x.astype(bool),
     [A("f8", f64()), A("i1", i8()), A("c16", c128())],
     row=Row("astype", {"dtype": np.dtype(np.bool_)}), edge=edge_unary(["f8", "c16"]))
case("astype_complex", "astype", lambda x: x.astype(np.complex64), [A("f8", f64()),
                                                                      A("i8", i64())])
case("astype_same_copy", (), lambda x: x.astype(x.dtype), [A("f8", f64()), A("i1", i8())])
case("np_astype", "astype", lambda x: np.astype(x, np.int64), [A("f8", f64()), A("b", bools())])
case("copy", (), lambda x: (np.copy(x), x.copy()),
     [A("f8", f64()), A("i1-0d", i8(())), A("c16", c128())])

case("isclose_allclose", ("absolute", "subtract", "less_equal", "all"),
     lambda x, y: (np.isclose(x, y), np.allclose(x, y), np.isclose(x, y, equal_nan=True),
                   np.allclose(x, x, rtol=0.0, atol=0.0)),
     [A("f8", f64(), f64() + 1e-9), A("f4-i1", f32(), i8()),
      A("edge", edge_pool("f8"), edge_pool("f8")[::-1])])

# --- 4. reductions --------------------------------------------------------------------------

RED_ARGS = [A("f8", f64()), A("f4", f32()), A("i8", i64()), A("i1", i8()), A("b", bools()),
            A("c16", c128())]


def red_params(axis, keepdims=False, dtype=None, has_dtype=True):
    def params(x):
        axes = tuple(range(x.ndim)) if axis is None else \
            tuple(sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)))
        p = {"axes": axes, "keepdims": keepdims}
        if has_dtype:
            p["dtype"] = None if dtype is None else np.dtype(dtype)
        return p

    return params


case("sum", "sum", lambda x: np.sum(x),
     RED_ARGS + [A("f8-0d", f64(())), A("f8-empty", f64((0, 3))), A("f8-3d", f64((2, 3, 4)))],
     row=Row("sum", red_params(None)), edge=edge_grids())
case("sum_axis_keepdims", "sum", lambda x: np.sum(x, axis=1, keepdims=True),
     RED_ARGS + [A("f8-empty", f64((0, 3))), A("f8-3d", f64((2, 3, 4))),
                 A("f8-1d", f64((5,)), raises=ValueError, row=False)],
     row=Row("sum", red_params(1, True)), edge=edge_grids())
case("sum_axes_tuple", "sum", lambda x: x.sum(axis=(0, -1)),
     [A("f8-3d", f64((2, 3, 4))), A("i1-3d", i8((2, 3, 4))), A("f4-2d", f32())],
     row=Row("sum", red_params((0, -1))))
case("sum_dtype", "sum", lambda x: np.sum(x, axis=0, dtype=np.float32),
     [A("f8", f64()), A("i1", i8()), A("b", bools())],
     row=Row("sum", red_params(0, dtype=np.float32)))
case("sum_int8_dtype", "sum", lambda x: x.sum(dtype=np.int8),
     [A("i1", i8() * 20), A("i8", i64())], row=Row("sum", red_params(None, dtype=np.int8)))
AXIS_ERROR = [A("f8", f64(), raises=np.exceptions.AxisError)]
case("sum_bad_axis", (), lambda x: np.sum(x, axis=2), AXIS_ERROR)
case("sum_empty_axes", "sum", lambda x: (np.sum(x, axis=()), x.prod(axis=()), x.max(axis=())),
     [A("i1", i8()), A("f4", f32()), A("b", bools())])
case("argmax_keepdims_all", "argmax", lambda x: np.argmax(x, keepdims=True),
     [A("f8", f64()), A("i1-3d", i8((2, 3, 4)))])
case("cumsum_0d", ("reshape", "cumsum"), lambda x: (np.cumsum(x, axis=0), np.cumprod(x, -1)),
     [A("f8", f64(())), A("i1", i8(()))])
case("cumsum_0d_bad_axis", (), lambda x: np.cumsum(x, axis=1),
     [A("f8", f64(()), raises=np.exceptions.AxisError)])
case("accumulate_0d", (), lambda x: np.maximum.accumulate(x),
     [A("f8", f64(()), raises=TypeError)])
case("var_large_ddof", ("sum", "divide"), lambda x: (np.var(x, ddof=20), np.std(x, ddof=12)),
     [A("f8", f64())])
case("max_bad_axis", (), lambda x: x.max(axis=-3), AXIS_ERROR)
case("mean_bad_axis", (), lambda x: np.mean(x, axis=(0, 2)), AXIS_ERROR)
case("argmax_bad_axis", (), lambda x: np.argmax(x, axis=2), AXIS_ERROR)
case("cumsum_bad_axis", (), lambda x: np.cumsum(x, axis=2), AXIS_ERROR)
case("accumulate_bad_axis", (), lambda x: np.add.accumulate(x, axis=2), AXIS_ERROR)
case("reduce_bad_axis", (), lambda x: np.add.reduce(x, axis=2), AXIS_ERROR)
case("concatenate_bad_axis", (), lambda x: np.concatenate([x, x], axis=2), AXIS_ERROR)
case("stack_bad_axis", (), lambda x: np.stack([x, x], axis=4), AXIS_ERROR)
case("squeeze_bad_axis", (), lambda x: np.squeeze(x, axis=2), AXIS_ERROR)
case("expand_dims_bad_axis", (), lambda x: np.expand_dims(x, 3), AXIS_ERROR)
case("moveaxis_bad_axis", (), lambda x: np.moveaxis(x, 2, 0), AXIS_ERROR)
case("swapaxes_bad_axis", (), lambda x: np.swapaxes(x, 0, 2), AXIS_ERROR)
case("flip_bad_axis", (), lambda x: np.flip(x, 2), AXIS_ERROR)
case("roll_bad_axis", (), lambda x: np.roll(x, 1, axis=2), AXIS_ERROR)
case("diff_bad_axis", (), lambda x: np.diff(x, axis=2), AXIS_ERROR)
case("take_bad_axis", (), lambda x: np.take(x, [0], axis=2), AXIS_ERROR)
case("split_bad_axis", (), lambda x: np.split(x, 2, axis=2),  # NumPy: IndexError
     [A("f8", f64(), raises=IndexError)])
case("transpose_bad_axes", (), lambda x: np.transpose(x, (0, 2)), AXIS_ERROR)
case("norm_bad_axis", (), lambda x: np.linalg.norm(x, axis=2), AXIS_ERROR)
case("tensordot_bad_axes", (), lambda x: np.tensordot(x, x, axes=([2], [0])),
     [A("f8", f64((3, 3)), raises=IndexError)])  # NumPy: IndexError
case("prod", "prod", lambda x: np.prod(x, axis=-1),
     RED_ARGS + [A("f8-empty", f64((3, 0))), A("f8-1d", f64((5,)))],
     row=Row("prod", red_params(-1)), edge=edge_grids())
case("prod_all", "prod", lambda x: x.prod(), [A("f8", f64()), A("i1", i8()), A("f8-0d", f64(()))],
     row=Row("prod", red_params(None)))
case("max", "max", lambda x: np.max(x, axis=0),
     RED_ARGS + [A("f8-empty", f64((0, 3)), raises=ValueError),
                 A("f8-empty-other", f64((3, 0)))],
     row=Row("max", red_params(0, has_dtype=False)), edge=edge_grids())
case("max_all", "max", lambda x: x.max(),
     [A("f8", f64()), A("i1", i8()), A("f8-0d", f64(())), A("empty", f64((0,)), raises=ValueError)],
     row=Row("max", red_params(None, has_dtype=False)), edge=edge_grids())
case("amax_keepdims", "max", lambda x: np.amax(x, axis=1, keepdims=True), [A("f4", f32())],
     row=Row("max", red_params(1, True, has_dtype=False)))
case("min", "min", lambda x: np.min(x, axis=(0, 1)),
     RED_ARGS + [A("f8-3d", f64((2, 3, 4)))],
     row=Row("min", red_params((0, 1), has_dtype=False)), edge=edge_grids())
case("min_method", "min", lambda x: x.min(axis=1), [A("i8", i64()), A("b", bools())])
case("any", "any", lambda x: np.any(x, axis=1),
     RED_ARGS + [A("f8-empty", f64((2, 0)))],
     row=Row("any", red_params(1, has_dtype=False)), edge=edge_grids())
case("all", "all", lambda x: np.all(x),
     RED_ARGS + [A("f8-empty", f64((2, 0))), A("f8-0d", f64(()))],
     row=Row("all", red_params(None, has_dtype=False)), edge=edge_grids())
case("any_all_methods", ("any", "all"), lambda x: (x.any(), x.all(axis=0, keepdims=True)),
     [A("b", bools()), A("i1", i8())])


def reduce_params(ufunc, axis, keepdims=False, dtype=None):
    def params(x):
        p = red_params(axis, keepdims, dtype)(x)
        return {"ufunc": ufunc, **p}

    return params


case("add_reduce", "reduce", lambda x: np.add.reduce(x),
     RED_ARGS + [A("f8-empty", f64((0, 3)))],
     row=Row("reduce", reduce_params("add", 0)), edge=edge_grids())
case("maximum_reduce", "reduce", lambda x: np.maximum.reduce(x, axis=(0, 1)),
     RED_ARGS[:5] + [A("empty", f64((0, 3)), raises=ValueError)],
     row=Row("reduce", reduce_params("maximum", (0, 1))), edge=edge_grids())
case("multiply_reduce_keepdims", "reduce",
     lambda x: np.multiply.reduce(x, axis=1, keepdims=True),
     [A("f8", f64()), A("i1", i8())], row=Row("reduce", reduce_params("multiply", 1, True)))
case("logical_and_reduce", "reduce", lambda x: np.logical_and.reduce(x, axis=None),
     [A("b", bools()), A("f8", f64())], row=Row("reduce", reduce_params("logical_and", None)))
case("add_reduce_dtype", "reduce", lambda x: np.add.reduce(x, axis=1, dtype=np.int16),
     [A("i1", i8() * 20), A("b", bools())],
     row=Row("reduce", reduce_params("add", 1, dtype=np.int16)))
case("minimum_reduce_fmin", "reduce", lambda x: (np.minimum.reduce(x, 1), np.fmin.reduce(x, 1)),
     [A("f8", f64())], edge=edge_grids(("f8",)))
case("argmax", "argmax", lambda x: np.argmax(x),
     RED_ARGS[:5] + [A("f8-0d", f64(())), A("empty", f64((0,)), raises=ValueError)],
     row=Row("argmax", {"axis": None, "keepdims": False}), edge=edge_grids())
case("argmax_axis", "argmax", lambda x: x.argmax(axis=1),
     RED_ARGS[:5] + [A("f8-emptyrows", f64((0, 3)))],
     row=Row("argmax", {"axis": 1, "keepdims": False}), edge=edge_grids())
case("argmin_keepdims", "argmin", lambda x: np.argmin(x, axis=0, keepdims=True),
     RED_ARGS[:5] + [A("f8-3d", f64((2, 3, 4)))],
     row=Row("argmin", {"axis": 0, "keepdims": True}), edge=edge_grids())
case("argmin_all", "argmin", lambda x: np.argmin(x), [A("f8", f64()), A("b", bools())],
     row=Row("argmin", {"axis": None, "keepdims": False}))

case("cumsum", "cumsum", lambda x: np.cumsum(x, axis=1),
     RED_ARGS + [A("f8-empty", f64((3, 0)))],
     row=Row("cumsum", {"axis": 1, "dtype": None}), edge=edge_grids())
case("cumsum_flat", ("reshape", "cumsum"), lambda x: x.cumsum(),
     [A("f8", f64()), A("i1", i8()), A("f8-0d", f64(()))])
case("cumsum_dtype", "cumsum", lambda x: np.cumsum(x, axis=0, dtype=np.float32),
     [A("i8", i64()), A("f8", f64())], row=Row("cumsum", {"axis": 0, "dtype": np.dtype("f4")}))
case("cumprod", "cumprod", lambda x: np.cumprod(x, axis=0),
     RED_ARGS, row=Row("cumprod", {"axis": 0, "dtype": None}), edge=edge_grids())
case("cumprod_flat", ("reshape", "cumprod"), lambda x: x.cumprod(), [A("f4", f32())])
case("maximum_accumulate", "accumulate", lambda x: np.maximum.accumulate(x),
     RED_ARGS[:5] + [A("f8-1d", f64((6,)))],
     row=Row("accumulate", {"ufunc": "maximum", "axis": 0, "dtype": None}), edge=edge_grids())
case("minimum_accumulate_axis", "accumulate", lambda x: np.minimum.accumulate(x, axis=1),
     [A("f8", f64()), A("f4", f32()), A("i1", i8())],
     row=Row("accumulate", {"ufunc": "minimum", "axis": 1, "dtype": None}))
case("fmax_accumulate", "accumulate", lambda x: np.fmax.accumulate(x, axis=-1),
     [A("f8", f64((2, 5))), A("f8-3d", f64((2, 3, 4)))],
     row=Row("accumulate", {"ufunc": "fmax", "axis": -1, "dtype": None}))
case("add_accumulate_axis", "accumulate", lambda x: np.add.accumulate(x, axis=1),
     RED_ARGS, row=Row("accumulate", {"ufunc": "add", "axis": 1, "dtype": None}))
case("multiply_accumulate_dtype", "accumulate",
     lambda x: np.multiply.accumulate(x, axis=-1, dtype=np.float64),
     [A("i1", i8()), A("f4", f32())],
     row=Row("accumulate", {"ufunc": "multiply", "axis": 1, "dtype": np.dtype("f8")}))
case("ufunc_outer", ("reshape", "multiply"), lambda x, y: np.multiply.outer(x, y),
     [A("f8", f64((3,)), f64((4,))), A("i1-2d", i8((2, 2)), i8((3,)))])

MEAN_ARGS = [A("f8", f64()), A("f4", f32()), A("i8", i64()), A("i1", i8()), A("b", bools()),
             A("c16", c128()), A("f2", make("f2"))]
case("mean", ("sum", "divide"), lambda x: np.mean(x), MEAN_ARGS + [A("f8-0d", f64(()))],
     edge=edge_grids())
case("mean_axis", ("sum", "divide"), lambda x: x.mean(axis=1, keepdims=True),
     MEAN_ARGS + [A("f8-empty-axis", f64((3, 0))), A("f8-3d", f64((2, 3, 4)))])
case("mean_dtype", ("sum", "divide"), lambda x: np.mean(x, axis=0, dtype=np.float32),
     [A("f8", f64()), A("i8", i64())])
case("var", ("sum", "subtract", "multiply", "divide"), lambda x: np.var(x),
     MEAN_ARGS + [A("f8-0d", f64(()))], edge=edge_grids(("f8",)))
case("var_axis_ddof", ("sum", "subtract", "divide"), lambda x: x.var(axis=0, ddof=1),
     MEAN_ARGS + [A("f8-3d", f64((2, 3, 4)))])
case("std", ("sum", "sqrt"), lambda x: np.std(x, axis=-1),
     MEAN_ARGS + [A("f8-3d", f64((2, 3, 4)))], edge=edge_grids(("f8",)))
case("std_ddof_keepdims", ("sum", "sqrt"), lambda x: x.std(axis=(0, 1), ddof=1, keepdims=True),
     [A("f8", f64()), A("f4", f32()), A("i1", i8())])

# --- 5. shape functions -------------------------------------------------------------------

SHAPE_ARGS = [A("f8", f64((3, 4))), A("i1", i8((3, 4))), A("b", bools((3, 4))),
              A("c16", c128((3, 4)))]

case("reshape_row", "reshape", lambda x: x.reshape(4, 3) + 0,
     [A("f8", f64()), A("i1", i8())], row=Row("reshape", {"shape": (4, 3)},
                                              expected=lambda x: x.reshape(4, 3)))
case("reshape_minus1", (), lambda x: np.reshape(x, -1), SHAPE_ARGS + [A("f8-0d", f64(()))])
case("reshape_method", (), lambda x: x.reshape(2, -1, 2),
     SHAPE_ARGS + [A("f8-empty", f64((0, 4))), A("bad", f64((3, 5)), raises=ValueError)])
case("reshape_tuple", (), lambda x: x.reshape((6, 2)), [A("f8", f64())])
case("reshape_copy", "reshape", lambda x: x.T.reshape(-1), [A("f8", f64()), A("i1", i8())])
case("reshape_fortran_arg", (), lambda x: x.reshape(-1),
     [A("f8-F", np.asfortranarray(f64())), A("f8-C", f64())])
case("transpose_row", "transpose", lambda x: np.transpose(x, (1, 0)) * 1,
     [A("f8", f64()), A("c16", c128())], row=Row("transpose", {"axes": (1, 0)},
                                                   expected=lambda x: x.T))
case("transpose_T", (), lambda x: x.T, SHAPE_ARGS + [A("f8-3d", f64((2, 3, 4))),
                                                    A("f8-0d", f64(()))])
case("transpose_axes", (), lambda x: np.transpose(x, (1, 2, 0)), [A("f8-3d", f64((2, 3, 4)))])
case("transpose_method", (), lambda x: (x.transpose(), x.transpose(2, 0, 1), x.mT),
     [A("f8-3d", f64((2, 3, 4)))])
case("swapaxes", (), lambda x: np.swapaxes(x, 0, -1), SHAPE_ARGS + [A("f8-3d", f64((2, 3, 4)))])
case("swapaxes_method", (), lambda x: x.swapaxes(1, 2), [A("f8-3d", f64((2, 3, 4)))])
case("moveaxis", (), lambda x: np.moveaxis(x, 0, -1), [A("f8-3d", f64((2, 3, 4))),
                                                       A("i1", i8())])
case("moveaxis_multi", (), lambda x: np.moveaxis(x, [0, 1], [-1, -2]),
     [A("f8-3d", f64((2, 3, 4)))])
case("expand_dims", (), lambda x: np.expand_dims(x, 1),
     SHAPE_ARGS + [A("f8-0d", f64(()), raises=ValueError)])
case("expand_dims_0d", (), lambda x: np.expand_dims(x, 0), [A("f8-0d", f64(()))])
case("expand_dims_multi", (), lambda x: np.expand_dims(x, (0, -1)), [A("f8", f64())])
case("squeeze", (), lambda x: np.squeeze(x), [A("f8", f64((1, 3, 1, 4))), A("f8-11", f64((1, 1)))])
case("squeeze_axis", (), lambda x: x.squeeze(axis=0),
     [A("f8", f64((1, 3, 1))), A("bad", f64((2, 3)), raises=ValueError)])
case("broadcast_to", "broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4)),
     [A("f8-row", f64((4,))), A("f8-col", f64((3, 1))), A("i1-0d", i8(())),
      A("bad", f64((2,)), raises=ValueError)],
     row=Row("broadcast_to", {"shape": (2, 3, 4)}), alias=False)
# alias=False above and below: NumPy's broadcast_to gives a read-only *view* of the argument
# (later writes to the argument show through it); tracejit returns a writeable copy
# (jit.output_value copies read-only results)
case("broadcast_arrays", "broadcast_to", lambda x, y: np.broadcast_arrays(x, y),
     [A("f8", f64((3, 1)), f64((4,)))], alias=False)
case("ravel", (), lambda x: np.ravel(x), SHAPE_ARGS + [A("f8-0d", f64(()))])
case("ravel_method_transposed", "reshape", lambda x: x.T.ravel(), [A("f8", f64())])
case("flatten", "reshape", lambda x: x.flatten(), SHAPE_ARGS + [A("f8-3d", f64((2, 3, 4)))])
case("concatenate_row", "concatenate", lambda x, y: np.concatenate([x, y], axis=1),
     [A("f8", f64((3, 2)), f64((3, 4))), A("i1", i8((3, 1)), i8()),
      A("f4-f8", f32((3, 2)), f64((3, 1))), A("empty", f64((3, 0)), f64((3, 2))),
      A("bad", f64((2, 2)), f64((3, 2)), raises=ValueError)],
     row=Row("concatenate", {"axis": 1}))
case("concatenate_axis0", "concatenate", lambda x, y: np.concatenate((x, y)),
     [A("f8", f64((2, 4)), f64()), A("i1-b", i8(), bools()), A("1d", f64((3,)), f64((2,))),
      A("0d", f64(()), f64(()), raises=ValueError)])
case("concatenate_dtype", "concatenate",
     lambda x, y: (np.concatenate([x, y], dtype=np.float32),
                   np.concatenate([x, y], dtype=np.int8, casting="unsafe"),
                   np.stack([x, y], dtype=np.float32), np.vstack([x, y], dtype=np.float32)),
     [A("f8-i1", f64(), i8())])
case("concatenate_dtype_bad", (), lambda x, y: np.concatenate([x, y], dtype=np.int8),
     [A("f8-i1", f64(), i8(), raises=TypeError)])
case("stack_dtype_bad", (), lambda x, y: np.stack([x, y], axis=1, dtype=np.int8),
     [A("f8-i1", f64(), i8(), raises=TypeError)])
case("concatenate_none", "concatenate", lambda x, y: np.concatenate([x, y], axis=None),
     [A("f8", f64((2, 2)), f64((3,))), A("i8-f4", i64(), f32((2,)))])
case("concatenate_list_arg", "concatenate", lambda xs: np.concatenate(xs, axis=-1),
     [A("list", [f64((2, 1)), f64((2, 3)), f64((2, 2))])])
case("stack", "concatenate", lambda x, y: np.stack([x, y]),
     [A("f8", f64(), f64(k=1)), A("i1-f4", i8((4,)), f32((4,))),
      A("bad", f64((3,)), f64((4,)), raises=ValueError), A("0d", f64(()), f64((), k=1))])
case("stack_axis", "concatenate", lambda x, y: np.stack((x, y), axis=-1),
     [A("f8", f64(), f64(k=1))])
case("hstack", "concatenate", lambda x, y: np.hstack([x, y]),
     [A("1d", f64((3,)), f64((2,))), A("2d", f64((3, 1)), f64((3, 2))),
      A("0d", f64(()), f64(()))])
case("vstack", "concatenate", lambda x, y: np.vstack((x, y)),
     [A("1d", f64((3,)), f64((3,))), A("2d", f64((1, 4)), f64((3, 4))),
      A("i1-f8", i8((4,)), f64((2, 4)))])
case("split", (), lambda x: np.split(x, 2, axis=1),
     [A("f8", f64()), A("i1", i8()), A("bad", f64((3, 5)), raises=ValueError)])
case("split_indices", (), lambda x: np.split(x, [1, 3]),
     [A("f8", f64((5, 2))), A("1d", f64((6,)))])
case("array_split", (), lambda x: np.array_split(x, 3), [A("f8", f64((7,)))])
case("split_then_compute", ("slice", "add"), lambda x: [p + 1 for p in np.split(x, 2)],
     [A("f8", f64((4, 3)))])
case("flip", (), lambda x: np.flip(x), [A("f8", f64()), A("i1-3d", i8((2, 3, 4)))])
case("flip_axis", (), lambda x: (np.flip(x, 0), np.flip(x, axis=-1), np.fliplr(x),
                                      np.flipud(x)),
     [A("f8", f64()), A("b", bools())])
case("roll", ("slice", "concatenate"), lambda x: np.roll(x, 2),
     [A("f8", f64()), A("i1-1d", i8((5,)))])
case("roll_0d", "reshape", lambda x: np.roll(x, 2), [A("f8-0d", f64(()))])
case("roll_axis", ("slice", "concatenate"), lambda x: np.roll(x, -1, axis=1),
     [A("f8", f64()), A("c16", c128())])
case("roll_tuple", ("slice", "concatenate"), lambda x: np.roll(x, (1, 5), axis=(0, 1)),
     [A("f8", f64())])
case("roll_zero", (), lambda x: np.roll(x, 4, axis=1), [A("f8", f64())])
case("diff", ("slice",), lambda x: np.diff(x),
     [A("f8", f64()), A("i1", i8()), A("b", bools()), A("f8-1d", f64((5,)))])
case("diff_n2_axis0", ("slice", "subtract"), lambda x: np.diff(x, n=2, axis=0),
     [A("f8", f64()), A("u1", make("u1"))])
case("diff_prepend", ("concatenate", "subtract"), lambda x: np.diff(x, prepend=0, append=1.5),
     [A("f8", f64()), A("f4-1d", f32((5,)))])
case("tile", ("reshape", "broadcast_to"), lambda x: np.tile(x, 2),
     [A("f8", f64((2, 3))), A("1d", i8((3,))), A("0d", f64(()))])
case("tile_reps", ("reshape", "broadcast_to"), lambda x: np.tile(x, (2, 1, 3)),
     [A("f8", f64((2, 3)))])
case("repeat", "gather", lambda x: np.repeat(x, 2),
     [A("f8", f64()), A("i1-0d", i8(()))])
case("repeat_axis", "gather", lambda x: np.repeat(x, [1, 0, 2], axis=0),
     [A("f8", f64()), A("c16", c128())])
case("repeat_method", "gather", lambda x: x.repeat(3, axis=1), [A("f8", f64())])
case("pad", ("constant", "concatenate"), lambda x: np.pad(x, 1),
     [A("f8", f64()), A("i1", i8()), A("f8-1d", f64((3,)))])
case("pad_widths_values", ("constant", "concatenate"),
     lambda x: np.pad(x, ((1, 0), (2, 3)), constant_values=-1.5),
     [A("f8", f64()), A("i1", i8()), A("f4", f32())])
case("pad_mode_constant", ("constant", "concatenate"),
     lambda x: np.pad(x, (0, 2), mode="constant", constant_values=(4, 5)), [A("i8", i64((3,)))])
case("atleast_1d", (), lambda x: np.atleast_1d(x),
     [A("0d", f64(())), A("1d", f64((3,))), A("2d", f64())])
case("atleast_1d_multi", (), lambda x, y: np.atleast_1d(x, y), [A("0d-2d", f64(()), i8())])
case("atleast_2d", (), lambda x: np.atleast_2d(x),
     [A("0d", f64(())), A("1d", i8((3,))), A("2d", f64())])
case("atleast_2d_scalar_arg", (), lambda x: np.atleast_2d(x), [A("npscalar", np.float32(2.0))])

# --- 6. indexing --------------------------------------------------------------------------


def triples(*slices):
    def params(x, *rest):
        return {"triples": tuple(s.indices(d) for s, d in zip(slices, x.shape, strict=False))}

    return params


IDX_ARGS = [A("f8", f64((5, 4))), A("i1", i8((5, 4))), A("b", bools((5, 4))),
            A("c16", c128((5, 4)))]

case("slice_row", "slice", lambda x: x[1:4:2, ::-1].copy(), IDX_ARGS,
     row=Row("slice", triples(slice(1, 4, 2), slice(None, None, -1))))
case("slice_neg_through_zero", "slice", lambda x: x[::-2] + 0,
     [A("f8", f64((5,))), A("f8-6", f64((6,))), A("empty", f64((0,)))],
     row=Row("slice", triples(slice(None, None, -2))))
case("getitem_steps", (), lambda x: (x[1:3], x[::2], x[::-1], x[5:1:-2], x[:, ::3], x[-3:]),
     IDX_ARGS)
case("getitem_newaxis_int", (), lambda x: x[::-2, None, 1], IDX_ARGS)
case("getitem_newaxis_int_copy", ("slice",), lambda x: x[::-2, None, 1] * 1, IDX_ARGS)
case("getitem_ellipsis", (), lambda x: (x[..., 0], x[0, ...], x[..., None], x[...]),
     [A("f8-3d", f64((2, 3, 4))), A("i1", i8((5, 4)))])
case("getitem_int", (), lambda x: (x[1], x[-1], x[0, 2], x[-1, -1]),
     IDX_ARGS + [A("oob", f64((1, 4)), raises=IndexError)])
case("getitem_0d", (), lambda x: (x[()], x[...], x[None]), [A("f8", f64(())), A("i1", i8(()))])
case("getitem_oob", (), lambda x: x[5], [A("f8", f64((5, 4)), raises=IndexError)])
case("getitem_too_many", (), lambda x: x[0, 0, 0], [A("f8", f64((5, 4)), raises=IndexError)])
case("getitem_none_only", (), lambda x: x[None, :, None], [A("f8", f64())])
case("gather_row", "gather", lambda x, i: x[:, i],
     [A("f8", f64((5, 4)), np.array([[0, 3, 1], [2, 2, -1]])),
      A("i1", i8((5, 4)), np.array([3, 0], np.int32)),
      A("empty-index", f64((5, 4)), np.zeros((0,), np.intp))],
     row=Row("gather", lambda x, i: {"spec": (("s", 0, x.shape[0], 1), ("a",))}))
case("gather_separated", "gather", lambda x, i, j: x[i, :, j],
     [A("f8", f64((3, 4, 5)), np.array([0, 2]), np.array([[1], [4]])),
      A("c16", c128((3, 4, 5)), np.array([1, -1]), np.array([0, 3]))],
     row=Row("gather", lambda x, i, j: {"spec": (("a",), ("s", 0, x.shape[1], 1), ("a",))}))
case("getitem_intarray", "gather", lambda x, i: x[i],
     [A("f8", f64((5, 4)), np.array([4, 0, -1])), A("i1", i8((5, 4)), np.array([1], np.int8)),
      A("u1-index", f64((5, 4)), np.array([3, 1], np.uint8)),
      A("0d-index", f64((5, 4)), np.array(2)),
      A("f8-index", f64((5, 4)), np.array([1.0]), raises=IndexError),
      A("f8-2didx", f64((5, 4)), np.array([[0, 1], [4, -5]])),
                     A("oob", f64((5, 4)), np.array([0, 5]), raises=IndexError)])
case("getitem_list", "gather", lambda x: (x[[0, 2]], x[:, [1, 0]], x[[0, 1], [2, 3]]), IDX_ARGS)
case("getitem_mixed", "gather", lambda x, i: (x[1:, i], x[i, 1], x[None, i, ::-1]),
     [A("f8", f64((5, 4)), np.array([2, 0, 1]))])
case("take", "gather", lambda x, i: np.take(x, i),
     [A("f8", f64((5, 4)), np.array([0, 7, 19])), A("i1-0d", i8((5, 4)), np.intp(3))])
case("take_axis", "gather", lambda x, i: (np.take(x, i, axis=1), x.take(i, axis=0)),
     [A("f8", f64((5, 4)), np.array([[0, 3], [1, 1]]))])


def set_slice_fn(x, v):
    x[1:4:2, ::-1] = v
    return x


case("set_slice_row", "set_slice", set_slice_fn,
     [A("f8", f64((5, 4)), f64((2, 4), k=1)), A("i1", i8((5, 4)), i8((2, 4), k=1)),
      A("c16", c128((5, 4)), c128((2, 4), k=1))],
     row=Row("set_slice", triples(slice(1, 4, 2), slice(None, None, -1)),
             inputs=lambda x, v: [x, v]), inplace=True)


def setitem_basic(x, v):
    x[1:3] = v
    x[::-2, 0] = -v[0, 0]
    x[..., 1] = 7
    x[-1] = 0.5
    x[0, 2] = 9
    x[None, 1, 1:3] = v[0, :2]
    return None


def setitem_cast(x):
    x[0] = 2.7
    x[1:] = -1


def setitem_everything(x, s):
    x[...] = s


def setitem_int_array(x, i, v):
    x[i] = v
    return x


def setitem_list_index(x, v):
    x[[0, 2]] = v
    x[:, [1, 0]] = -v[0, :2]
    return x


def setitem_mask(x, m):
    x[m] = 0
    return x


def setitem_dup(x):
    x[[0, 0, 1]] = np.array([1.0, 2.0, 3.0])[:, None]
    return x


def setitem_augmented(x, v):
    x[1:] += v
    x[::-1, 0] *= 2
    return x


def setitem_aug_gather(x, i):
    x[i] += 1
    return x


def setitem_view_chain(x):
    v = x.T[::-1]
    v[0] = 5
    w = x.reshape(-1)
    w[::3] = -1
    return v, w


def setitem_0d(x):
    x[()] = 3
    x[...] += 1
    return x


def setitem_bad(x):
    x[0] = np.ones(3)


def setitem_oob(x):
    x[[0, 7]] = 1


case("setitem_basic", ("set_slice",), setitem_basic,
     [A("f8", f64((5, 4)), f64((2, 4), k=1)), A("i1", i8((5, 4)), i8((2, 4), k=1))],
     inplace=True)
case("setitem_cast", ("set_slice",), setitem_cast,
     [A("i8", i64()), A("f4", f32()), A("b", bools())], inplace=True)
case("setitem_everything", (), setitem_everything,
     [A("f8-py", f64(), 2.5), A("i1-arr", i8(), i8((4,), k=1)), A("f8-0d", f64(()), 1.5)],
     inplace=True)
case("scatter_row", "scatter", setitem_int_array,
     [A("f8", f64((5, 4)), np.array([3, 0]), f64((2, 4), k=1)),
      A("i1-neg", i8((5, 4)), np.array([-1, 2]), i8((2, 4), k=1)),
      A("oob", f64((5, 4)), np.array([0, 9]), f64((2, 4)), raises=IndexError)],
     row=Row("scatter", {"spec": (("a",), ("s", 0, 4, 1))},
             inputs=lambda x, i, v: [x, v, i]), inplace=True)
case("setitem_int_array_bcast", ("scatter",), setitem_int_array,
     [A("f8-scalar", f64((5, 4)), np.array([[0, 4], [1, 1]]), 3.0),
      A("i1-row", i8((5, 4)), np.array([2]), i8((4,)))], inplace=True)
def add_at(x, i, v):
    np.add.at(x, i, v)
    return x


def add_at_columns(x, i, v):
    np.add.at(x, (slice(None), i), v)


case("add_at_rows", "scatter_add", add_at,
     [A("f8-dup", f64((5, 4)), np.array([3, 0, 3, 3]), f64((4, 4), k=1)),
      A("f4-scalar", f32((5, 4)), np.array([[1, 1], [4, 1]]), 0.5),
      A("i8-neg", i64((5, 4)), np.array([-1, 1, -1]), i64((3, 4), k=1)),
      A("oob", f64((5, 4)), np.array([0, 9]), f64((2, 4)), raises=IndexError)],
     row=Row("scatter_add", {"spec": (("a",), ("s", 0, 4, 1))},
             inputs=lambda x, i, v: [x, np.broadcast_to(np.asarray(v, x.dtype),
                                                        (len(np.ravel(i)), 4))
                                     if np.ndim(i) == 1 else np.broadcast_to(
                                         np.asarray(v, x.dtype), np.shape(i) + (4,)), i]),
     inplace=True)
case("add_at_columns", ("scatter_add",), add_at_columns,
     [A("f8", f64((3, 5)), np.array([4, 4, 0]), f64((3, 3), k=1))], inplace=True)
case("setitem_list_index", ("scatter",), setitem_list_index,
     [A("f8", f64((5, 4)), f64((2, 4), k=1))], inplace=True)
case("setitem_mask", ("where",), setitem_mask,
     [A("f8", f64(), bools()), A("i1-rows", i8(), bools((3,)))], inplace=True)
case("setitem_duplicates", ("scatter",), setitem_dup, [A("f8", f64((3, 2)))], inplace=True)
case("setitem_augmented", ("set_slice", "add", "multiply"), setitem_augmented,
     [A("f8", f64((5, 4)), f64((4, 4), k=1)), A("i1", i8((5, 4)), i8((4,), k=1))],
     inplace=True)
case("setitem_aug_gather", ("gather", "scatter", "add"), setitem_aug_gather,
     [A("f8", f64((5,)), np.array([0, 0, 3])), A("i8-2d", i64(), np.array([1, -1]))],
     inplace=True)
case("setitem_view_chain", ("set_slice",), setitem_view_chain, [A("f8", f64()), A("i1", i8())],
     inplace=True)
case("setitem_0d", ("add",), setitem_0d, [A("f8", f64(())), A("i1", i8(()))], inplace=True)
case("setitem_bad_shape", (), setitem_bad, [A("f8", f64(), raises=ValueError)], inplace=True)
case("setitem_oob", (), setitem_oob, [A("f8", f64((5, 4)), raises=IndexError)], inplace=True)
def setitem_scalar(x):
    s = x[0, 0]
    s[()] = 1.0


case("setitem_scalar_target", (), setitem_scalar, [A("f8", f64(), raises=TypeError)])


def overlap_iadd(x):
    x += x[::-1]
    return x


def overlap_shift(x):
    x[1:] = x[:-1]
    return x


def overlap_aug_shift(x):
    x[1:] += x[:-1]
    return x


def running_sum_loop(x):
    for i in range(1, x.shape[0]):
        x[i] += x[i - 1]
    return x


def write_view_of_temp(x):
    y = x * 2
    v = y[::2]
    v[:] = 0
    w = y.T
    w[0] = -1
    return y


def same_array_twice(x):
    np.add(x, x, out=x)
    x *= x
    return x


def outputs_alias(x):
    y = x + 1
    return y, y, x, x.T, x[1:]


def outputs_view_of_result(x):
    y = x + 1
    return y, y[1:], y.T


def view_then_mutate_base(x):
    v = x[1]
    x[1] = 7
    return v * 1, v


case("overlap_iadd", "add", overlap_iadd, [A("f8", f64()), A("i1", i8())], inplace=True)
case("overlap_shift", "set_slice", overlap_shift, [A("f8", f64()), A("i1-1d", i8((6,)))],
     inplace=True)
case("overlap_aug_shift", ("set_slice", "add"), overlap_aug_shift,
     [A("f8", f64()), A("i8-1d", i64((6,)))], inplace=True)
case("running_sum_loop", ("scan",), running_sum_loop,
     [A("f8", f64((5, 2))), A("i1", i8((6,)))], inplace=True)
case("write_view_of_temp", ("multiply", "set_slice"), write_view_of_temp, [A("f8", f64()),
                                                                            A("i1", i8())])
case("same_array_twice", ("add", "multiply"), same_array_twice, [A("f8", f64()),
                                                                 A("i1", i8())], inplace=True)
case("outputs_alias", "add", outputs_alias, [A("f8", f64()), A("b", bools())])
case("outputs_view_of_result", "add", outputs_view_of_result, [A("f8", f64())])
case("view_then_mutate_base", ("set_slice",), view_then_mutate_base,
     [A("f8", f64()), A("i1", i8())], inplace=True)


def fill_method(x):
    x.fill(3)
    return x


def copyto_fn(x, y):
    np.copyto(x, y)
    return x


case("fill", ("constant", "broadcast_to"), fill_method, [A("f8", f64()), A("i1", i8())],
     inplace=True)
case("copyto", (), copyto_fn, [A("f8", f64(), f32((4,))),
                               A("i8-f8", i64(), f64(), raises=TypeError)], inplace=True)

case("static_outputs", (), lambda x: (x.ndim, x.shape, x.size, len(x), x.dtype, None),
     [A("f8", f64()), A("i1-3d", i8((2, 3, 4)))])
case("dict_output", ("add", "sum"), lambda x: {"a": x + 1, "b": x.sum(), "c": [x.T, 2.5]},
     [A("f8", f64()), A("i1", i8())])
case("list_output_python_scalars", "multiply", lambda s, x: [s * 2.0, s * x, s],
     [A("py", 1.5, f32())])

# --- 7. creation ----------------------------------------------------------------------------

case("constant_row", ("constant", "add"), lambda x: x + [1.0, -0.0, 2.5, 3.0],
     [A("f8", f64()), A("f4", f32()), A("i1", i8())],
     row=Row("constant", {"value": ConstValue(np.array([1.0, -0.0, 2.5, 3.0]))},
             inputs=lambda x: [], expected=lambda x: np.array([1.0, -0.0, 2.5, 3.0])))
case("constant_nested_list", ("constant", "multiply"), lambda x: x * [[1], [2], [3]],
     [A("i1", i8()), A("f4", f32())])
case("np_array_of_tracers", ("concatenate",), lambda x, y: np.array([x, y, x]),
     [A("f8", f64((3,)), f64((3,), k=1)), A("i1-f4", i8((2,)), f32((2,)))])
case("np_asarray", (), lambda x: np.asarray(x) + np.asarray([1, 2, 3, 4]),
     [A("f8", f64()), A("i1", i8())])
case("zeros", "full", lambda: np.zeros((3, 4)), [A("none")],
     row=Row("full", {"shape": (3, 4), "fill_value": 0, "dtype": np.dtype("f8")}))
case("zeros_int", "full", lambda: (np.zeros(3, dtype=np.int8), np.zeros((), np.float32),
                                   np.zeros((2, 0))), [A("none")])
case("zeros_static_shape", "full", lambda n: np.zeros((n, 2), dtype=bool),
     [A("n3", 3), A("n0", 0), A("neg", -1, raises=ValueError)])
case("ones", "full", lambda: (np.ones((2, 3)), np.ones(4, dtype=np.complex128)), [A("none")],
     row=Row("full", {"shape": (2, 3), "fill_value": 1, "dtype": np.dtype("f8")},
             expected=lambda: np.ones((2, 3))))
case("full", "full", lambda: (np.full((2, 3), 7, dtype=np.int8), np.full(3, 2.5),
                              np.full((2,), True), np.full((2, 2), -0.0)), [A("none")],
     row=Row("full", {"shape": (2, 3), "fill_value": 7, "dtype": np.dtype("i1")},
             expected=lambda: np.full((2, 3), 7, dtype=np.int8)))
case("full_traced_value", ("broadcast_to",), lambda s: np.full((2, 3), s),
     [A("0d", f64(())), A("1d", i8((3,)))])


def empty_filled():
    e = np.empty((2, 3))
    e[...] = 1.5
    f = np.empty(4, dtype=np.int8)
    f.fill(2)
    return e, f


case("empty", ("constant", "broadcast_to"), empty_filled, [A("none")])


def empty_like_filled(x):
    e = np.empty_like(x)
    e[:] = 3
    return e


case("empty_like", ("constant", "broadcast_to"), empty_like_filled, [A("f8", f64()), A("i1", i8())])
case("zeros_ones_like", "full", lambda x: (np.zeros_like(x), np.ones_like(x, dtype=np.float32)),
     [A("f8", f64()), A("i1-0d", i8(())), A("b", bools()), A("c16", c128())])
case("full_like", "full", lambda x: (np.full_like(x, 3), np.full_like(x, 0.5),
                                     np.full_like(x, 2, shape=(2,))),
     [A("f8", f64()), A("i1", i8()), A("f4", f32())])
case("arange", "arange", lambda: np.arange(1, 10, 3), [A("none")],
     row=Row("arange", {"start": 1, "stop": 10, "step": 3, "dtype": np.dtype(np.int64)}))
case("arange_forms", "arange", lambda: (np.arange(5), np.arange(0.0, 1.0, 0.25),
                                        np.arange(5, dtype=np.float32), np.arange(3, 0, -1),
                                        np.arange(0), np.arange(2, 2)), [A("none")])
case("arange_float_row", "arange", lambda: np.arange(0.5, 3.0, 0.5), [A("none")],
     row=Row("arange", {"start": 0.5, "stop": 3.0, "step": 0.5, "dtype": np.dtype("f8")}))
case("arange_static", ("arange", "add"), lambda x, n: x[:n] + np.arange(n),
     [A("f8", f64((5,)), 3), A("i1", i8((5,)), 4)])
case("linspace", "linspace", lambda: np.linspace(0, 1, 5), [A("none")],
     row=Row("linspace", {"start": 0, "stop": 1, "num": 5, "endpoint": True,
                          "dtype": np.dtype("f8")}))
case("linspace_forms", "linspace",
     lambda: (np.linspace(0, 1, 4, endpoint=False), np.linspace(-1.5, 2, 7, dtype=np.float32),
              np.linspace(2, 3, 1), np.linspace(0, 10, 0), np.linspace(1, 0, 3)), [A("none")])
case("linspace_retstep", "linspace",
     lambda: (np.linspace(0, 1, 5, retstep=True), np.linspace(0, 1, 1, retstep=True),
              np.linspace(0, 1, 4, endpoint=False, retstep=True, dtype=np.float32)),
     [A("none")])
case("linspace_int_dtype", "linspace", lambda: np.linspace(0, 10, 4, dtype=np.int64), [A("none")],
     row=Row("linspace", {"start": 0, "stop": 10, "num": 4, "endpoint": True,
                          "dtype": np.dtype("i8")}))
case("eye", "eye", lambda: np.eye(3, 4, k=1, dtype=np.int64), [A("none")],
     row=Row("eye", {"n": 3, "m": 4, "k": 1, "dtype": np.dtype("i8")}))
case("eye_forms", "eye", lambda: (np.eye(3), np.eye(2, 3, k=-1), np.eye(3, dtype=bool),
                                  np.eye(0)), [A("none")])
case("identity", "eye", lambda: (np.identity(3), np.identity(2, dtype=np.int8)), [A("none")])
case("eye_with_arg", ("eye", "add"), lambda x: x + np.eye(3), [A("f4", f32((3, 3))),
                                                               A("i1", i8((3, 3)))])

# --- 8. products and linear algebra --------------------------------------------------------

case("matmul", "matmul", lambda x, y: x @ y,
     [A("f8", f64((3, 4)), f64((4, 2))), A("f4", f32((3, 4)), f32((4, 2))),
      A("i8", i64((3, 4)), i64((4, 2))), A("i1", i8((3, 4)), i8((4, 2))),
      A("b", bools((3, 4)), bools((4, 2))), A("c16", c128((3, 4)), c128((4, 2))),
      A("f4-f8", f32((3, 4)), f64((4, 2))), A("vec-mat", f64((4,)), f64((4, 3))),
      A("mat-vec", f64((3, 4)), f64((4,))), A("vec-vec", f64((4,)), f64((4,), k=1)),
      A("batch", f64((2, 3, 4)), f64((4, 5))), A("bcast-batch", f64((2, 1, 3, 4)),
                                                  f64((5, 4, 2))),
      A("empty-k", f64((3, 0)), f64((0, 2))), A("empty-m", f64((0, 4)), f64((4, 2))),
      A("mismatch", f64((3, 4)), f64((3, 4)), raises=ValueError),
      A("0d", f64(()), f64((3,)), raises=ValueError)],
     row=Row("matmul"))
case("np_matmul", "matmul", lambda x, y: np.matmul(x, y),
     [A("f8", f64((2, 3)), f64((3, 2))), A("i1-f4", i8((2, 3)), f32((3,)))])
case("dot", "matmul", lambda x, y: np.dot(x, y),
     [A("1d-1d", f64((4,)), f64((4,), k=1)), A("2d-2d", f64((3, 4)), f64((4, 2))),
      A("2d-1d", f64((3, 4)), f64((4,))), A("f4-f8", f32((3, 4)), f64((4,))),
      A("i1", i8((3, 4)), i8((4, 2))), A("c16", c128((4,)), c128((4,), k=1)),
      A("mismatch", f64((3, 4)), f64((3,)), raises=ValueError)])
case("dot_nd", ("matmul",), lambda x, y: np.dot(x, y),
     [A("3d-2d", f64((2, 3, 4)), f64((4, 5))), A("2d-3d", f64((3, 4)), f64((2, 4, 5)))],
     exact=False)  # np.dot of N-d arrays sums in another order than matmul
case("dot_scalar", "multiply", lambda x: (np.dot(x, 2.0), np.dot(3, x)),
     [A("f4", f32((3,))), A("i1", i8((3,)))])
case("dot_method", "matmul", lambda x, y: x.dot(y), [A("f8", f64((3, 4)), f64((4,)))])
case("vdot", ("matmul",), lambda x, y: np.vdot(x, y),
     [A("f8", f64(), f64(k=1)), A("c16", c128((4,)), c128((4,), k=1)),
      A("i1-f4", i8((2, 2)), f32((4,))), A("bad", f64((3,)), f64((4,)), raises=ValueError)])
case("inner", "matmul", lambda x, y: np.inner(x, y),
     [A("1d", f64((4,)), f64((4,), k=1)), A("2d-1d", f64((3, 4)), f64((4,))),
      A("2d-2d", f64((3, 4)), f64((2, 4))),
      A("bad", f64((3,)), f64((4,)), raises=ValueError)])
case("inner_0d", "multiply", lambda x, y: np.inner(x, y), [A("0d", f64(()), f64((3,)))])
case("outer", ("reshape", "multiply"), lambda x, y: np.outer(x, y),
     [A("f8", f64((3,)), f64((4,))), A("2d", f64((2, 2)), i8((3,))),
      A("c16", c128((2,)), c128((3,)))])
case("tensordot", ("matmul",), lambda x, y: np.tensordot(x, y, axes=1),
     [A("f8", f64((2, 3)), f64((3, 4))), A("3d", f64((2, 3, 4)), f64((4, 2)))])
case("tensordot_pairs", ("transpose", "reshape", "matmul"),
     lambda x, y: np.tensordot(x, y, axes=([1, 0], [0, 1])),
     [A("f8", f64((3, 4, 2)), f64((4, 3, 5))),
      A("bad", f64((3, 4, 2)), f64((3, 4, 5)), raises=ValueError)])
case("tensordot_full", ("reshape", "matmul"), lambda x, y: np.tensordot(x, y),
     [A("f8", f64((3, 4)), f64((3, 4), k=1))])
case("einsum_matmul", "einsum", lambda x, y: np.einsum("ij,jk->ik", x, y),
     [A("f8", f64((3, 4)), f64((4, 2))), A("i1", i8((3, 4)), i8((4, 2))),
      A("f4-f8", f32((3, 4)), f64((4, 2))), A("bad", f64((3, 4)), f64((3, 2)),
                                              raises=ValueError)],
     row=Row("einsum", {"subscripts": "ij,jk->ik"}))
case("einsum_forms", "einsum",
     lambda x: (np.einsum("ii->i", x), np.einsum("ij->", x), np.einsum("ij->ji", x),
                np.einsum("ii", x), np.einsum("ij,ij->i", x, x)),
     [A("f8", f64((3, 3))), A("i8", i64((3, 3)))], alias=False)
# alias=False: NumPy's einsum returns views for "ii->i" and "ij->ji"; tracejit copies
case("einsum_batch", "einsum", lambda x, y: np.einsum("bij,bjk->bik", x, y),
     [A("f8", f64((2, 3, 4)), f64((2, 4, 5)))], row=Row("einsum", {"subscripts": "bij,bjk->bik"}))
case("einsum_dot_scalar", "einsum", lambda x, y: np.einsum("i,i->", x, y),
     [A("f8", f64((4,)), f64((4,), k=1))], row=Row("einsum", {"subscripts": "i,i->"}))
case("einsum_ellipsis", "einsum", lambda x, y: np.einsum("...ij,...jk->...ik", x, y),
     [A("f8", f64((2, 3, 4)), f64((4, 2)))])

LA = dict(marks=())
case("solve", "solve", lambda a, b: np.linalg.solve(a, b),
     [A("f8-mat", wellcond(3), f64((3, 2))), A("f8-vec", wellcond(3), f64((3,))),
      A("f4", wellcond(3, dt="f4"), f32((3, 2))), A("batch", wellcond(3, (2,)), f64((2, 3, 2))),
      A("c16", wellcond(2, dt="c16"), c128((2,))), A("i8", np.array([[2, 1], [1, 3]]),
                                                      np.array([1, 2])),
      A("singular", np.ones((2, 2)), f64((2,)), raises=np.linalg.LinAlgError),
      A("nonsquare", f64((2, 3)), f64((2,)), raises=np.linalg.LinAlgError)],
     row=Row("solve"))
case("inv", "inv", lambda a: np.linalg.inv(a),
     [A("f8", wellcond(3)), A("f4", wellcond(3, dt="f4")), A("batch", wellcond(2, (3,))),
      A("c16", wellcond(2, dt="c16")), A("i1", np.array([[2, 1], [1, 1]], np.int8)),
      A("singular", np.ones((2, 2)), raises=np.linalg.LinAlgError),
      A("nonsquare", f64((2, 3)), raises=np.linalg.LinAlgError)],
     row=Row("inv"))
case("det", "det", lambda a: np.linalg.det(a),
     [A("f8", wellcond(3)), A("f4", wellcond(3, dt="f4")), A("batch", wellcond(2, (3,))),
      A("c16", wellcond(2, dt="c16")), A("i8", np.array([[2, 1], [1, 3]])),
      A("singular", np.ones((2, 2))), A("nonsquare", f64((2, 3)),
                                        raises=np.linalg.LinAlgError)],
     row=Row("det"))
case("slogdet", "slogdet", lambda a: np.linalg.slogdet(a),
     [A("f8", wellcond(3)), A("f4", wellcond(3, dt="f4")), A("batch", wellcond(2, (3,))),
      A("c16", wellcond(2, dt="c16")), A("neg", -wellcond(3)), A("singular", np.ones((2, 2)))],
     row=Row("slogdet"))
case("slogdet_fields", "slogdet", lambda a: (np.linalg.slogdet(a).sign,
                                             np.linalg.slogdet(a).logabsdet),
     [A("f8", wellcond(3))])
case("cholesky", "cholesky", lambda a: np.linalg.cholesky(a),
     [A("f8", spd(3)), A("f4", spd(3, dt="f4")), A("batch", spd(2, (3,))),
      A("c16", spd(2, dt="c16")),
      A("not-pd", -spd(3), raises=np.linalg.LinAlgError)],
     row=Row("cholesky"))
case("cholesky_upper", ("cholesky", "transpose"), lambda a: np.linalg.cholesky(a, upper=True),
     [A("f8", spd(3)),  # NumPy reads the upper triangle for upper=True, the lower one else
      A("f8-lower-ignored", spd(3) + np.tril(np.full((3, 3), 7.0), -1))], exact=False)
case("cholesky_upper_complex", ("cholesky", "transpose", "conjugate"),
     lambda a: np.linalg.cholesky(a, upper=True), [A("c16", spd(2, dt="c16"))],
     exact=False)  # conj(L).T vs LAPACK's upper factor: last-bit differences
case("svdvals", "svdvals", lambda a: np.linalg.svdvals(a),
     [A("f8", f64((3, 4))), A("f4", f32((4, 3))), A("batch", f64((2, 3, 3))),
      A("c16", c128((2, 3))), A("1d", f64((3,)), raises=np.linalg.LinAlgError)],
     row=Row("svdvals"))
case("svd", "svd", lambda a: np.linalg.svd(a),
     [A("f8", f64((3, 3))), A("f8-wide", f64((3, 4))), A("f4", f32((4, 3))),
      A("batch", f64((2, 3, 3))), A("c16", c128((2, 3))), A("empty", f64((0, 3))),
      A("1d", f64((3,)), raises=np.linalg.LinAlgError)],
     row=Row("svd", {"full_matrices": True}))
case("svd_thin", "svd", lambda a: tuple(np.linalg.svd(a, full_matrices=False)),
     [A("f8-tall", f64((4, 3))), A("f8-wide", f64((3, 5))), A("batch", f64((2, 4, 3))),
      A("c16", c128((3, 2)))],
     row=Row("svd", {"full_matrices": False}))
case("svd_values_only", "svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
     [A("f8", f64((3, 4))), A("batch", f64((2, 2, 3)))])

NORM_ARGS = [A("f8", f64()), A("f4", f32()), A("i1", i8()), A("c16", c128())]
case("norm", ("matmul", "sqrt"), lambda x: np.linalg.norm(x),
     NORM_ARGS + [A("1d", f64((5,))), A("0d", f64(())), A("empty", f64((0, 3)))])
case("norm_keepdims", ("reshape", "matmul", "sqrt"), lambda x: np.linalg.norm(x, keepdims=True),
     [A("f8", f64()), A("1d", f32((5,)))])
case("norm_vec_ords", (), lambda x: (np.linalg.norm(x, 1), np.linalg.norm(x, 2),
                                     np.linalg.norm(x, np.inf), np.linalg.norm(x, -np.inf),
                                     np.linalg.norm(x, 0), np.linalg.norm(x, 3)),
     [A("f8", f64((5,))), A("f4", f32((5,))), A("c16", c128((4,))), A("i8", i64((5,)))])
case("norm_mat_ords", "svdvals", lambda x: (np.linalg.norm(x, 1), np.linalg.norm(x, 2),
                                            np.linalg.norm(x, np.inf), np.linalg.norm(x, "fro"),
                                            np.linalg.norm(x, "nuc"), np.linalg.norm(x, -1),
                                            np.linalg.norm(x, -2)),
     [A("f8", f64()), A("f4", f32()), A("c16", c128((3, 3)))])
case("norm_axis", ("sum", "sqrt"), lambda x: (np.linalg.norm(x, axis=0),
                                              np.linalg.norm(x, axis=1, keepdims=True),
                                              np.linalg.norm(x, ord=1, axis=-1),
                                              np.linalg.norm(x, ord=np.inf, axis=0)),
     [A("f8", f64()), A("f4", f32()), A("c16", c128()), A("i1", i8())])
case("norm_axis_pair", (), lambda x: (np.linalg.norm(x, axis=(1, 2)),
                                      np.linalg.norm(x, 2, axis=(0, 2)),
                                      np.linalg.norm(x, np.inf, axis=(2, 1))),
     [A("f8", f64((2, 3, 4)))])
case("norm_bad_ord", (), lambda x: np.linalg.norm(x, "fro", axis=0),
     [A("f8", f64(), raises=ValueError)])

# --- 9. loops ---------------------------------------------------------------------------------
# Functions written with tracejit's loop API run as plain Python loops outside a trace, so
# NumPy gives the expected values. The row-level checks run the loop equation the trace
# records on the values its operands had.


def loop_eqn(fn: Callable, args: tuple) -> tuple[Any, list]:
    """The first loop equation `fn(*args)` records (args: arrays only), and the values of
    its operands."""
    import tracejit
    from tracejit import tree
    from tracejit.graph.interpret import eval_graph
    from tracejit.graph.ir import Graph
    from tracejit.graph.ops import OPS

    jitted = tracejit.jit(fn, backend="numpy")
    jitted(*copy_args(args))
    (entry,) = jitted._cache.values()  # noqa: SLF001 - the traced graph of that call
    graph = entry.traced.graph
    eqn = next(e for e in graph.eqns if OPS[e.op].family == "loop")
    leaves, _ = tree.flatten(jitted.canonical(copy_args(args), {}))
    inputs = [leaves[i] for i in entry.traced.arg_leaves]
    operands = eval_graph(Graph(graph.inputs, graph.eqns, eqn.inputs), *inputs)
    return eqn, operands


def loop_row(op: str, fn: Callable, expected: Callable | None = None) -> Row:
    return Row(op, params=lambda *a: loop_eqn(fn, a)[0].params,
               inputs=lambda *a: loop_eqn(fn, a)[1], expected=expected)


def scan_cumulative(x):
    import tracejit

    def step(c, xi):
        c = c + xi
        return c, c * c
    return tracejit.scan(step, np.zeros(x.shape[1:], x.dtype), x)


def scan_reverse(x):
    import tracejit

    def step(c, xi):
        return c * 0.5 + xi, c - xi
    return tracejit.scan(step, x[0] * 0, x, reverse=True)


def fori_scale(x):
    import tracejit

    return tracejit.fori_loop(0, 5, lambda i, v: v * 0.5 + i, x)


def scan_writes_argument(x):
    import tracejit

    def step(c, _):
        x[1:] += x[:-1]
        return c, None
    tracejit.scan(step, 0, None, length=3)


def while_doubling(x):
    import tracejit

    return tracejit.while_loop(lambda v: v.sum() < 100, lambda v: v * 2, x)


case("scan_cumulative", "scan", scan_cumulative,
     [A("f8", f64((4, 3))), A("f4", f32((5, 2))), A("i8", i64((4, 3))),
      A("f8-empty", f64((0, 3)))],
     row=loop_row("scan", scan_cumulative))
case("scan_reverse", "scan", scan_reverse, [A("f8", f64((4, 3)))], exact=False,
     row=loop_row("scan", scan_reverse))
case("fori_loop_scale", "scan", fori_scale, [A("f8", f64((3,))), A("f4", f32((2, 2)))],
     row=loop_row("scan", fori_scale, expected=lambda x: (fori_scale(x),)))
case("scan_writes_argument", "scan", scan_writes_argument,
     [A("f8", f64((5,))), A("i8", i64((4, 2)))], inplace=True)
def assert_positive_log(x):
    assert x.min() > 0, "x must be positive"
    return np.log(x)


case("assert_positive", ("check", "log"), assert_positive_log,
     [A("f8", f64((3, 4), dom="pos")),
      A("f8-neg", -f64((3,), dom="pos"), raises=AssertionError, row=False),
      A("f4", f32((2, 2), dom="pos"))],
     row=Row("check", {"message": "x must be positive"}, inputs=lambda x: [x.min() > 0],
             expected=lambda x: ()))
case("while_doubling", "while", while_doubling,
     [A("f8", f64((3,), dom="pos")), A("i8", np.array([1, 2, 3]))],
     row=loop_row("while", while_doubling, expected=lambda x: (while_doubling(x),)))

def debug_print_sum(x):
    import tracejit

    tracejit.debug_print("x = {}, sum {total}", x, total=x.sum())
    return x * 2


case("debug_print", ("debug_print", "multiply"), debug_print_sum,
     [A("f8", f64((3,))), A("i8", i64((2, 2))), A("f4-0d", f32(()))],
     row=Row("debug_print", {"fmt": "x = {}, sum {total}", "slots": (("t", 0), ("t", "total"))},
             inputs=lambda x: [x, x.sum()], expected=lambda x: ()))


# --- bookkeeping --------------------------------------------------------------------------

CASES_BY_NAME = {c.name: c for c in CASES}


def _linalg_xfail() -> None:
    """Linalg cases get LINALG_XFAIL when the linalg handler module is missing."""
    import importlib.util

    if importlib.util.find_spec("tracejit.trace.api.linalg") is not None:
        return
    for i, c in enumerate(CASES):
        if c.name in LINALG_CASE_NAMES:
            CASES[i] = Case(**{**c.__dict__, "marks": c.marks + (LINALG_XFAIL,),
                               "row_marks": c.row_marks + (LINALG_XFAIL,)})


LINALG_CASE_NAMES = {c.name for c in CASES if c.name.startswith(
    ("solve", "inv", "det", "slogdet", "cholesky", "svdvals", "norm", "dot", "vdot", "inner",
     "outer", "tensordot", "einsum"))}
_linalg_xfail()


# --- helpers shared by the test modules ---------------------------------------------------


def copy_args(values: Any) -> Any:
    """Deep copies of the arrays in an argument tuple (layout kept); other leaves as is."""
    if isinstance(values, np.ndarray):
        return values.copy(order="K")
    if type(values) in (tuple, list):
        return type(values)(copy_args(v) for v in values)
    return values


def array_leaves(values: Any, path: str = "") -> list[tuple[str, np.ndarray]]:
    if isinstance(values, np.ndarray):
        return [(path, values)]
    if isinstance(values, (tuple, list)):
        return [leaf for i, v in enumerate(values) for leaf in array_leaves(v, f"{path}[{i}]")]
    if isinstance(values, dict):
        return [leaf for k, v in values.items() for leaf in array_leaves(v, f"{path}[{k!r}]")]
    return []


def builtin_bases(exc_type: type) -> set[type]:
    """The built-in exception classes a user could catch this exception as."""
    return {c for c in exc_type.__mro__
            if c.__module__ == "builtins" and c not in (BaseException, Exception, object)}


def assert_same_exception(np_exc: BaseException, jit_exc: BaseException) -> None:
    missing = builtin_bases(type(np_exc)) - builtin_bases(type(jit_exc))
    assert not missing, (
        f"NumPy raised {type(np_exc).__name__} ({np_exc}); tracejit raised "
        f"{type(jit_exc).__name__}, which is not a {sorted(c.__name__ for c in missing)}:\n"
        f"{jit_exc}")


def rtol_for(dtype: np.dtype) -> float:
    size = dtype.itemsize // (2 if dtype.kind == "c" else 1)
    return {8: 1e-12, 4: 1e-6, 2: 1e-3}[size]


def assert_values(got: Any, expected: Any, exact: bool = True, where: str = "") -> None:
    """Equal values: NaN equals NaN; for floats the sign of every non-NaN value (so
    -0.0 != 0.0) must match too. `exact=False`: assert_allclose with rtol 1e-12 (64-bit),
    1e-6 (32-bit), 1e-3 (16-bit)."""
    g, e = np.asarray(got), np.asarray(expected)
    assert g.shape == e.shape, f"{where}: shape {g.shape} != NumPy's {e.shape}"
    if e.dtype.kind == "c":
        assert_values(g.real, e.real, exact, f"{where}.real")
        assert_values(g.imag, e.imag, exact, f"{where}.imag")
        return
    if e.dtype.kind != "f" or g.dtype.kind != "f":
        np.testing.assert_array_equal(g, e, err_msg=where, strict=False)
        return
    if exact:
        np.testing.assert_array_equal(g, e, err_msg=where)
        keep = ~np.isnan(e)
        sg, se = np.signbit(g)[keep], np.signbit(e)[keep]
        assert np.array_equal(sg, se), f"{where}: sign bits differ (e.g. -0.0 vs 0.0):\n" \
            f"got      {g!r}\nexpected {e!r}"
        return
    rtol = rtol_for(e.dtype)
    finite = e[np.isfinite(e)]
    atol = rtol * float(np.max(np.abs(finite))) if finite.size else 0.0
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)


def assert_same(got: Any, expected: Any, exact: bool = True, where: str = "out") -> None:
    """Same structure and container types, same leaf types (ndarray / NumPy scalar /
    Python scalar), dtypes, shapes and values."""
    assert type(got) is type(expected), \
        f"{where}: type {type(got).__name__} != NumPy's {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(got) == list(expected), f"{where}: keys {list(got)} != {list(expected)}"
        for k in expected:
            assert_same(got[k], expected[k], exact, f"{where}[{k!r}]")
        return
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected), f"{where}: length {len(got)} != {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=False)):
            assert_same(g, e, exact, f"{where}[{i}]")
        return
    if isinstance(expected, (np.ndarray, np.generic)):
        assert got.dtype == expected.dtype, \
            f"{where}: dtype {got.dtype} != NumPy's {expected.dtype}"
        assert got.shape == expected.shape, \
            f"{where}: shape {got.shape} != NumPy's {expected.shape}"
        assert_values(got, expected, exact, where)
        return
    if isinstance(expected, (bool, int, float, complex)):
        assert_values(got, expected, exact, where)
        return
    assert got == expected, f"{where}: {got!r} != {expected!r}"


def assert_same_aliasing(got: Any, expected: Any, jit_args: tuple, np_args: tuple) -> None:
    """An output is (a view of) an argument, or of another output, in tracejit exactly
    where it is in NumPy."""
    out_j, out_n = array_leaves(got), array_leaves(expected)
    for i, ((path, oj), (_, on)) in enumerate(zip(out_j, out_n, strict=False)):
        for (path2, oj2), (_, on2) in list(zip(out_j, out_n, strict=False))[i + 1:]:
            if on is on2:
                assert oj is oj2, f"out{path} and out{path2}: NumPy returns one array twice"
            shares_n, shares_j = np.shares_memory(on, on2), np.shares_memory(oj, oj2)
            assert shares_n == shares_j, (
                f"out{path} and out{path2} {'share' if shares_n else 'do not share'} memory "
                f"in NumPy, {'do' if shares_j else 'do not'} in tracejit")
    arg_j, arg_n = array_leaves(jit_args, "arg"), array_leaves(np_args, "arg")
    for (path, oj), (_, on) in zip(out_j, out_n, strict=False):
        for (apath, aj), (_, an) in zip(arg_j, arg_n, strict=False):
            if on is an:
                assert oj is aj, f"out{path}: NumPy returns the argument {apath} itself"
            shares_n, shares_j = np.shares_memory(on, an), np.shares_memory(oj, aj)
            assert shares_n == shares_j, (
                f"out{path}: NumPy's result {'is' if shares_n else 'is not'} a view of "
                f"{apath}, tracejit's {'is' if shares_j else 'is not'}")


def strided(a: np.ndarray) -> np.ndarray:
    """A non-contiguous, negatively strided view with `a`'s values (a fresh buffer)."""
    shape = a.shape[:-1] + (2 * a.shape[-1],)
    buf = np.zeros(shape, dtype=a.dtype)
    view = buf[..., ::-2]
    view[...] = a
    return view


def strided_args(values: Any) -> Any:
    """The arguments with every non-empty array of at least 1 dimension made strided."""
    if isinstance(values, np.ndarray):
        return strided(values) if values.ndim and values.size else values.copy()
    if type(values) in (tuple, list):
        return type(values)(strided_args(v) for v in values)
    return values
