"""The CUDA scalar rules (`tracejit/emit/cuda/scalars.py`) against NumPy, on the CPU.

Every inlinable elementwise equation (each ufunc on each of its NumPy loops over bool,
the integers and float16/32/64; astype between all of them; where, clip, round, angle,
...) and every foldable reduction becomes one function of a single C++ translation unit:
the prelude plus the same expression strings the kernels use. g++ compiles it once (no
fast-math, so IEEE semantics as on the GPU without `--fmad`); each test runs its op's
functions on edge values (0, -0.0, inf, NaN, huge, subnormal, MIN, zero divisors, shift
counts past the width, ...) and compares with NumPy's loop for the same dtypes:

* bitwise (NaN compared as NaN, zero signs compared) for every op but `scalars.LIBM`;
* LIBM ops (exp, sin, pow, ...) call glibc here and NumPy's SIMD libraries there:
  special values bitwise, finite values within ULPS units in the last place.

float16 results come back as the float registers, so a missing rounding to half shows.
Folds reduce each half of an array separately, then combine the two, as a tree does.

nvcc, where present, compiles the same expressions as device code for sm_80 and sm_90.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tracejit.emit.cuda import scalars
from tracejit.graph.ir import Aval, Eqn, Var
from tracejit.graph.ops import OPS

#: glibc and NumPy's SIMD math libraries differ by this many ulps at most (measured: 2)
ULPS = 4
DTYPES = [np.dtype(c) for c in "?bhiqBHIQefd"]
GXX = shutil.which("g++")
NVCC = shutil.which("nvcc") or shutil.which("/usr/local/bin/nvcc")


@contextlib.contextmanager
def quiet():
    """NumPy's warnings on edge values (overflow in casts, division by zero) are expected."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@dataclass
class Case:
    name: str
    eqn: Eqn


def make_eqn(op: str, ins: list[np.dtype], **params: object) -> Eqn:
    avals = [Aval((1,), d) for d in ins]
    with quiet():
        outs = OPS[op].infer(*avals, **params)
    return Eqn(op, tuple(Var((1,), d) for d in ins), tuple(Var(a.shape, a.dtype) for a in outs),
               params)


def elementwise_eqns() -> list[Eqn]:
    eqns = []
    for name in sorted(scalars.UFUNCS):
        nin = scalars.UFUNCS[name].nin
        for loop in sorted(scalars.ufunc_loops(name), key=str):
            eqns.append(make_eqn(name, list(loop[:nin])))
    eqns += [make_eqn("astype", [a], dtype=b) for a in DTYPES for b in DTYPES]
    eqns += [make_eqn(op, [d]) for op in ("real", "imag") for d in DTYPES]
    eqns += [make_eqn("angle", [d], deg=deg) for d in DTYPES for deg in (False, True)]
    eqns += [make_eqn("round", [d], decimals=n) for d in DTYPES[1:]  # no bool round
             for n in (0, 1, 2, 5, 12, 25, -1, -2, -12)]
    eqns += [make_eqn("where", [np.dtype(c), d, d]) for d in DTYPES for c in "?f"]
    eqns += [make_eqn("where", [np.dtype("?"), np.dtype(a), np.dtype(b)])
             for a, b in ("bf", "ed", "hQ", "e?")]
    eqns += [make_eqn("clip", [d, d, d]) for d in DTYPES]
    eqns += [make_eqn("clip", [np.dtype(a), np.dtype(b), np.dtype(c)])
             for a, b, c in ("fdd", "bhh", "eff")]
    return eqns


def fold_eqns() -> list[Eqn]:
    eqns = []
    reductions = [("sum", {}), ("prod", {}), ("max", {}), ("min", {}), ("any", {}), ("all", {})]
    reductions += [("reduce", {"ufunc": u}) for u in ("bitwise_and", "bitwise_or", "bitwise_xor",
                                                      "fmax", "fmin", "add", "maximum")]
    for (op, extra), d in itertools.product(reductions, DTYPES):
        params = {"axes": (0,), "keepdims": False, **extra}
        if op not in ("max", "min", "any", "all"):
            params["dtype"] = None
        try:
            eqns.append(make_eqn(op, [d], **params))
        except (TypeError, ValueError):
            continue  # NumPy has no such reduction (bitwise on floats)
    for op, d, acc in [("sum", "e", "f"), ("sum", "b", "b"), ("prod", "B", "B"), ("sum", "f", "e"),
                       ("sum", "?", "?"), ("prod", "?", "?"), ("sum", "d", "q")]:
        params = {"axes": (0,), "keepdims": False, "dtype": np.dtype(acc)}
        eqns.append(make_eqn(op, [np.dtype(d)], **params))
    return eqns


ELEMENTWISE = [e for e in elementwise_eqns() if scalars.inlinable(e)]
FOLDS = [e for e in fold_eqns() if scalars.foldable(e)]
CASES = [Case(f"tj_case_{i}", e) for i, e in enumerate(ELEMENTWISE)]
FOLD_CASES = [Case(f"tj_fold_{i}", e) for i, e in enumerate(FOLDS)]


def case_id(eqn: Eqn) -> str:
    sig = ",".join(v.dtype.name for v in eqn.inputs) + "->" + eqn.outputs[0].dtype.name
    params = "".join(f" {k}={v}" for k, v in sorted(eqn.params.items()) if k != "axes")
    return f"{eqn.op}({sig}){params}"


# --- the translation unit ----------------------------------------------------------------


def type_check(expr: str, dtype: np.dtype) -> str:
    """A static_assert that `expr` has exactly the register type of `dtype` (host only)."""
    return (f"static_assert(std::is_same<std::decay<decltype({expr})>::type, "
            f"{scalars.regtype(dtype)}>::value, \"type of {expr[:40]}\");")


def case_body(eqn: Eqn, host: bool) -> list[str]:
    """The loop body: load each operand, compute, store `out[k]`."""
    lines = []
    for j, v in enumerate(eqn.inputs):
        load = scalars.load(v.dtype, f"in{j}[k]")
        lines.append(f"const {scalars.regtype(v.dtype)} x{j} = {load};")
        lines.append(f"(void)x{j};")  # unused where the result is a constant (isnan of ints)
    out = eqn.outputs[0].dtype
    expr = scalars.scalar_expr(eqn, [f"x{j}" for j in range(len(eqn.inputs))])
    if host:
        lines.append(type_check(expr, out))
    lines.append(f"out[k] = {stored(out, expr, host)};")
    return lines


def fold_body(eqn: Eqn, host: bool) -> list[str]:
    """Folds the first and second half of `in0` separately, then combines the two (as a
    tree reduction does), into `out[0]`."""
    x, out, acc = eqn.inputs[0].dtype, eqn.outputs[0].dtype, scalars.acc_type(eqn)
    init = scalars.fold_init(eqn)
    value = scalars.fold_value(eqn, "x0", x)
    lines = [f"{acc} part[2] = {{{init}, {init}}};", "for (long long k = 0; k < n; k++) {",
             f"    const {scalars.regtype(x)} x0 = {scalars.load(x, 'in0[k]')};",
             f"    {acc}& a = part[k < n / 2 ? 0 : 1];",
             f"    a = {scalars.fold_combine(eqn, 'a', value)};", "}"]
    result = scalars.fold_result(eqn, scalars.fold_combine(eqn, "part[0]", "part[1]"))
    if host:
        lines.append(type_check(init, np.dtype(np.float32) if acc == "float" else out))
        lines.append(type_check(result, out))
    return lines + [f"out[0] = {stored(out, result, host)};"]


def stored(dtype: np.dtype, expr: str, host: bool) -> str:
    """The host harness stores float16 results as their float registers, so the test sees
    whether each op rounded to half (a store would hide it; chained ops would not)."""
    return expr if host and dtype == np.float16 else scalars.store(dtype, expr)


def out_dtype(eqn: Eqn, host: bool) -> np.dtype:
    out = eqn.outputs[0].dtype
    return np.dtype(np.float32) if host and out == np.float16 else out


def function(name: str, eqn: Eqn, body: list[str], host: bool, loop: bool) -> str:
    params = [f"const {scalars.ctype(v.dtype)}* in{j}" for j, v in enumerate(eqn.inputs)]
    params += [f"{scalars.ctype(out_dtype(eqn, host))}* out", "long long n"]
    head = f'extern "C" {"" if host else "__global__ "}void {name}({", ".join(params)}) {{'
    if not loop:
        return "\n".join([head, *("    " + line for line in body), "}"])
    start = "0" if host else "blockIdx.x * (long long)blockDim.x + threadIdx.x"
    step = "1" if host else "(long long)gridDim.x * blockDim.x"
    return "\n".join([head, f"    for (long long k = {start}; k < n; k += {step}) {{",
                      *("        " + line for line in body), "    }", "}"])


def translation_unit(host: bool) -> str:
    parts = ["#include <type_traits>" if host else "", scalars.PRELUDE]
    parts += [function(c.name, c.eqn, case_body(c.eqn, host), host, True) for c in CASES]
    parts += [function(c.name, c.eqn, fold_body(c.eqn, host), host, False)
              for c in FOLD_CASES]
    return "\n\n".join(parts)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    if GXX is None:
        pytest.skip("no g++ to compile the scalar harness")
    tmp = tmp_path_factory.mktemp("cuda_scalars")
    (tmp / "harness.cpp").write_text(translation_unit(host=True))
    cmd = [GXX, "-O1", "-std=c++17", "-shared", "-fPIC", "-o", str(tmp / "harness.so"),
           str(tmp / "harness.cpp"), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    return ctypes.CDLL(str(tmp / "harness.so"))


# --- inputs and comparison -------------------------------------------------------------

FLOAT_VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -7.0, 7.0, 0.1,
                -0.3, 1e-3, 45.0, 90.0, 180.0, 100.0, 1e10, -1e10, 1e30, -1e30, 3e38, 1e300,
                -1e300, 65504.0, 70000.5, 2.0 ** 31, -2.0 ** 31 - 1, 2.0 ** 63, 2.0 ** 64,
                1e20, 6e-8, 1.2e-38, 1e-45, -1e-45, 2.2e-308, 5e-324, np.inf, -np.inf, np.nan]
INT_VALUES = [0, 1, -1, 2, -2, 3, -3, 5, -7, 7, 8, 12, 100, -100, 1000, 40000, -70000, 2 ** 31,
              -2 ** 40, 10 ** 12, 7, 15, 16, 31, 32, 33, 63, 64, 65]


def values(dtype: np.dtype) -> np.ndarray:
    with quiet():
        if dtype == np.bool_:
            return np.array([False, True])
        if dtype.kind == "f":
            return np.array(FLOAT_VALUES).astype(dtype)
        info = np.iinfo(dtype)
        ints = INT_VALUES + [info.min, info.max, info.min + 1, info.max - 1]
        return np.array([i % 2 ** info.bits for i in ints], dtype=np.uint64).astype(dtype)


def inputs(eqn: Eqn) -> list[np.ndarray]:
    """Every combination of edge values (at most 16 per operand for three operands)."""
    pools = [values(v.dtype) for v in eqn.inputs]
    if len(pools) == 3:
        pools = [p[:: max(1, len(p) // 16)] for p in pools]
    grids = np.meshgrid(*pools, indexing="ij")
    return [np.ascontiguousarray(g.reshape(-1)) for g in grids]


def registered_loop(ufunc: np.ufunc, eqn: Eqn) -> tuple[np.dtype, ...]:
    """The equation's loop as the ufunc registered it: graph dtypes are canonical
    (int64, never its twin long long), and a signature must name the loop's own
    (NumPy's mixed int64/uint64 comparisons are registered as long long)."""
    want = tuple(v.dtype for v in eqn.inputs + eqn.outputs)
    for types in ufunc.types:
        chars = types.replace("->", "")
        if len(chars) == len(want) and all(
                np.dtype(c) == d for c, d in zip(chars, want, strict=True)):
            return tuple(np.dtype(c) for c in chars)
    return want


def reference(eqn: Eqn, arrays: list[np.ndarray]) -> np.ndarray:
    with quiet():
        if eqn.op in ("astype", "round"):  # element by element: NumPy's SIMD float ->
            # uint32 cast gives other values than its scalar loop for NaN and out-of-range
            # floats (so a result depends on its position in the array); we follow the latter
            return np.concatenate([OPS[eqn.op].impl(a[k:k + 1], **eqn.params)
                                   for a in arrays for k in range(len(a))])
        if eqn.op in scalars.UFUNCS:
            ufunc = scalars.UFUNCS[eqn.op]
            return ufunc(*arrays, signature=registered_loop(ufunc, eqn))
        return np.asarray(OPS[eqn.op].impl(*arrays, **eqn.params))


def run(lib: ctypes.CDLL, case: Case, arrays: list[np.ndarray], n_out: int) -> np.ndarray:
    out = np.empty(n_out, out_dtype(case.eqn, host=True))
    ptrs = [ctypes.c_void_p(a.ctypes.data) for a in arrays + [out]]
    getattr(lib, case.name)(*ptrs, ctypes.c_longlong(len(arrays[0])))
    return out


def ordered(x: np.ndarray) -> np.ndarray:
    """Floats as integers in the order of their values (ulp distance = difference)."""
    bits = x.view(f"i{x.itemsize}").astype(object)
    low = -(2 ** (8 * x.itemsize - 1))
    return np.where(bits < 0, low - bits, bits)


def mismatches(eqn: Eqn, got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Indices where `got` is not NumPy's `want` (see the module docstring); a float16
    result arrives as its float register, which must hold a half."""
    if want.dtype == np.float16 and got.dtype == np.float32:
        not_half = (got != got.astype(np.float16).astype(np.float32)) & ~np.isnan(got)
        return np.union1d(np.flatnonzero(not_half),
                          mismatches(eqn, got.astype(np.float16), want))
    if got.dtype.kind != "f":
        return np.flatnonzero(got != want)
    nan = np.isnan(want)
    bad = nan != np.isnan(got)
    same_bits = got.view(f"u{got.itemsize}") == want.view(f"u{got.itemsize}")
    if eqn.op in scalars.LIBM:
        special = (np.isinf(want) | (want == 0) | np.isinf(got) | (got == 0)) & ~nan
        far = abs(ordered(got) - ordered(want)) > ULPS
        bad |= ~nan & np.where(special, ~same_bits, far.astype(bool))
    else:
        bad |= ~nan & ~same_bits
    return np.flatnonzero(bad)


def report(case: Case, arrays: list[np.ndarray], got: np.ndarray, want: np.ndarray,
           bad: np.ndarray) -> str:
    rows = [f"{case_id(case.eqn)}: {len(bad)} of {len(got)} differ from NumPy, e.g."]
    for k in bad[:6]:
        operands = ", ".join(repr(a[k]) for a in arrays) if len(arrays[0]) == len(got) else ""
        rows.append(f"  ({operands}) -> {got[k]!r}, NumPy {want[k]!r}")
    return "\n".join(rows)


# --- tests -----------------------------------------------------------------------------

OPS_TESTED = sorted({c.eqn.op for c in CASES})


@pytest.mark.parametrize("op", OPS_TESTED)
def test_scalar_rule_matches_numpy(harness: ctypes.CDLL, op: str) -> None:
    failures = []
    for case in (c for c in CASES if c.eqn.op == op):
        arrays = inputs(case.eqn)
        want = reference(case.eqn, arrays).astype(case.eqn.outputs[0].dtype)
        got = run(harness, case, arrays, len(arrays[0]))
        bad = mismatches(case.eqn, got, want)
        if len(bad):
            failures.append(report(case, arrays, got, want, bad))
    assert not failures, "\n".join(failures)


def fold_inputs(dtype: np.dtype) -> list[np.ndarray]:
    """Arrays whose reductions are exact in any order: small dyadic floats (with NaN, with
    infinities, all -0.0), and integers that wrap when summed or multiplied."""
    with quiet():
        return fold_pools(dtype)


def fold_pools(dtype: np.dtype) -> list[np.ndarray]:
    if dtype == np.bool_:
        return [np.array(p, bool) for p in ([0, 0, 1, 0, 1], [1, 1, 1], [0, 0], [1])]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        pools = [[3, 1, 2, 7, 5, 6, 0, 4, 9], [info.max, info.max, 3, info.max],
                 [info.min, info.max, 1, 2, 3], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]]
        if info.min < 0:
            pools.append([-3, -1, 5, -7, 2, -2, 6])
        return [np.array(p).astype(dtype) for p in pools]
    return [np.array(p, dtype) for p in (
        [0.5, -2.0, 3.0, 1.25, 8.0, -0.75, 2.0, 4.0, 1.0, -1.0, 0.5],
        [1.0, np.nan, 2.0, -3.0], [2.0, 1.0, np.nan], [np.inf, 1.0, 2.0], [1.0, -np.inf, 5.0],
        [np.inf, -np.inf, 1.0], [-0.0, -0.0, -0.0], [np.nan, np.nan, np.nan], [3.0],
        [60000.0, 60000.0, 2.0], [-1e300, 1e300, 1e300])]


@pytest.mark.parametrize("kind", sorted({scalars.fold_kind(c.eqn) for c in FOLD_CASES}))
def test_fold_rule_matches_numpy(harness: ctypes.CDLL, kind: str) -> None:
    failures = []
    for case in (c for c in FOLD_CASES if scalars.fold_kind(c.eqn) == kind):
        for x in fold_inputs(case.eqn.inputs[0].dtype):
            want = reference(case.eqn, [x]).reshape(1).astype(case.eqn.outputs[0].dtype)
            got = run(harness, case, [x], 1)
            if len(mismatches(case.eqn, got, want)):
                failures.append(f"{case_id(case.eqn)} of {x!r}: {got[0]!r}, NumPy {want[0]!r}")
    assert not failures, "\n".join(failures)


LITERALS = [0.1, -0.0, 1e-45, 5e-324, 3.4028234663852886e38, 1e300, np.nan, np.inf, -np.inf,
            -2 ** 63, 2 ** 64 - 1, -2 ** 31, 255, -128, 65504, 0.33, True, 2.5]


def test_literals_read_back_exactly(tmp_path: Path) -> None:
    if GXX is None:
        pytest.skip("no g++")
    rows = [(v, d) for v in LITERALS for d in DTYPES if not (d.kind in "biu" and v != v)
            and not (d.kind in "biu" and abs(v) == np.inf)]
    lines = [scalars.PRELUDE, "#include <string.h>"]
    for i, (v, d) in enumerate(rows):
        lines.append(f'extern "C" void lit_{i}(void* out) {{ {scalars.ctype(d)} x = '
                     f"{scalars.store(d, scalars.literal(v, d))}; memcpy(out, &x, sizeof x); }}")
    (tmp_path / "lit.cpp").write_text("\n".join(lines))
    so = tmp_path / "lit.so"
    done = subprocess.run([GXX, "-std=c++17", "-shared", "-fPIC", "-o", str(so),
                           str(tmp_path / "lit.cpp")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lib = ctypes.CDLL(str(so))
    for i, (v, d) in enumerate(rows):
        got = np.empty(1, d)
        getattr(lib, f"lit_{i}")(ctypes.c_void_p(got.ctypes.data))
        with np.errstate(all="ignore"):
            want = np.asarray(v).astype(d).reshape(1)
        assert got.tobytes() == want.tobytes() or (d.kind == "f" and np.isnan(got[0])
                                                   and np.isnan(want[0])), (v, d, got, want)


def test_not_inlinable_as_documented() -> None:
    """What the module docstring says runs as CuPy calls instead."""
    f4, i4, u4, c8 = (np.dtype(c) for c in "fiIF")
    assert not scalars.inlinable(make_eqn("modf", [f4]))
    assert not scalars.inlinable(make_eqn("divmod", [i4, i4]))
    assert not scalars.inlinable(make_eqn("power", [i4, i4]))
    assert scalars.inlinable(make_eqn("power", [u4, u4]))
    assert not scalars.inlinable(make_eqn("exp", [c8]))
    mixed = Eqn("add", (Var((1,), i4), Var((1,), f4)), (Var((1,), np.dtype("d")),))
    assert not scalars.inlinable(mixed)  # not one of NumPy's loops: the tracer casts first
    inlinable_ops = {e.op for e in ELEMENTWISE}
    elementwise = {n for n, o in OPS.items() if o.family == "elementwise"}
    assert elementwise - inlinable_ops == {"complex", "modf", "frexp", "divmod"}


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_nvcc_compiles_every_rule(tmp_path: Path) -> None:
    """The prelude and every expression compile as device code for sm_80 and sm_90, without
    warnings. Unoptimized (cicc and ptxas -O0: 15 s instead of 50), one process per
    architecture, in parallel."""
    source = tmp_path / "scalars.cu"
    source.write_text(translation_unit(host=False))
    jobs = []
    for arch in ("80", "90"):
        cmd = [NVCC, "-std=c++17", "--fmad=false", "-Xcicc", "-O0", "-Xptxas", "-O0",
               "-cubin", f"-arch=sm_{arch}", str(source), "-o", str(tmp_path / f"{arch}.cubin")]
        jobs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True))
    for job in jobs:
        output = job.communicate()[0]
        assert job.returncode == 0, output[-5000:]
        assert "warning" not in output, output[-5000:]
