"""The Numba backend's BLAS binding (tracejit/emit/numba/blas.py): gemm/gemv of the
OpenBLAS NumPy loaded, called from compiled code with or without SciPy.

The helpers against np.matmul for every BLAS dtype, shapes with empty and size-1 axes,
row-major, column-major (transposes, passed with BLAS's trans flag) and general strided
operands (copied); matmul through `jit` (2-D, batched with broadcasting, matrix-vector,
vector-vector) with the generated source calling the binding, not object mode; a
transpose read only by products as a view; a loop whose body multiplies matrices as a
native loop; the disk cache reloading such a module in a fresh process; and the fallback
when no library is found.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import cases
import numba
import numpy as np
import pytest

import tracejit
from tracejit.emit.numba import blas, cache, calls

RNG = np.random.default_rng(20261122)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not blas.available(), reason="NumPy loaded no known OpenBLAS")


def rand(*shape, dtype=np.float64):
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def tolerance(dtype) -> float:
    return 1e-12 if np.dtype(dtype) in (np.float64, np.complex128) else 2e-5


def assert_close(got, want, dtype):
    tol = tolerance(dtype)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max(
        initial=0.0)))


# --- the helpers -----------------------------------------------------------------------


@numba.njit
def gemm(a, b):
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    blas.gemm(a, b, out)
    return out


@numba.njit
def gemv(a, x, flip):
    out = np.empty(a.shape[1] if flip else a.shape[0], a.dtype)
    blas.gemv(a, x, out, flip)
    return out


@numba.njit
def dot(x, y):
    return blas.dot(x, y)


def layouts(a: np.ndarray) -> list[np.ndarray]:
    """`a` row-major, column-major (a transpose's layout), reversed rows, and strided.
    Every layout for float64; the other dtypes take the same trans-flag logic, so they
    run row-major only (each Numba layout type is a compile of its own: seconds each)."""
    wide = np.repeat(a, 2, axis=1)[:, ::2]
    if a.dtype != np.float64:
        return [a]
    return [a, np.asfortranarray(a), a[::-1], wide]


MKN = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (0, 4, 5), (3, 0, 5),
       (3, 4, 0), (0, 0, 0), (40, 33, 17)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", MKN)
def test_gemm_matches_matmul(dtype, m, k, n):
    a, b = rand(m, k, dtype=dtype), rand(k, n, dtype=dtype)
    for x in layouts(a):
        for y in layouts(b)[:3]:
            assert_close(gemm(x, y), x @ y, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", MKN)
def test_gemv_and_dot_match_matmul(dtype, m, k, n):
    a = rand(m, k, dtype=dtype)
    for x in layouts(a):
        for v in (rand(k, dtype=dtype), rand(2 * k, dtype=dtype)[::2],
                  rand(k, dtype=dtype)[::-1]):
            assert_close(gemv(x, v, False), x @ v, dtype)
            assert_close(dot(v, v), v @ v, dtype)
        u = rand(m, dtype=dtype)
        assert_close(gemv(x, u, True), u @ x, dtype)


@numba.njit
def gemm_into(a, b, out):
    blas.gemm(a, b, out)


@numba.njit
def gemv_into(a, x, out):
    blas.gemv(a, x, out, False)


def test_results_written_into_any_layout():
    a, b, x = rand(5, 3), rand(3, 4), rand(3)
    for out in (np.empty((4, 5)).T, np.empty((5, 8))[:, ::2], np.empty((10, 4))[::-2]):
        gemm_into(a, b, out)
        assert_close(out, a @ b, np.float64)
    for out in (np.empty(10)[::2], np.empty(5)[::-1]):
        gemv_into(a, x, out)
        assert_close(out, a @ x, np.float64)


def test_layout_takes_transposes_without_copying():
    assert blas.layout(3, 4, 4, 1) == (blas.NO_TRANS, 4)
    assert blas.layout(3, 4, 1, 3) == (blas.TRANS, 3)  # x.T of a contiguous 4 x 3
    assert blas.layout(3, 4, 8, 1) == (blas.NO_TRANS, 8)  # rows of a wider array
    assert blas.layout(1, 4, 0, 1) == (blas.NO_TRANS, 4)  # a size-1 axis: any stride
    assert blas.layout(3, 4, 4, 2)[0] == -1  # strided columns: copied
    assert blas.layout(3, 4, -4, 1)[0] == -1  # reversed rows: copied


# --- matmul through jit ----------------------------------------------------------------


def matmul(a, b):
    return a @ b


def products(a, b, c):
    """A transpose read only by a product (a view), and one read by a loop too."""
    return a.T @ b, np.exp(c.T) @ b + c.T @ b


SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
          ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
          ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((0, 4), (4, 5)), ((3, 0), (0, 5)),
          ((2, 0, 4), (4, 5)), ((1, 1), (1, 1)), ((1,), (1,))]


def source(f, *args) -> str:
    return tracejit.show_source(f, *args)


def assert_uses_blas(text: str) -> None:
    assert re.search(r"blas\.(gemm|gemv|dot)\(", text), text
    assert "numba.objmode" not in text and "np.dot" not in text, text


def native(fn):
    f = tracejit.jit(fn, backend="numba")

    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)
            return f(*args)

    return f, run


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
def test_jit_matmul_matches_numpy(dtype, sa, sb):
    a, b = rand(*sa, dtype=dtype), rand(*sb, dtype=dtype)
    f, run = native(matmul)
    got = run(a, b)
    assert np.asarray(got).dtype == np.dtype(dtype)
    assert_close(got, a @ b, dtype)
    assert_uses_blas(source(f, a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_operands_are_views(dtype):
    a, b, c = rand(6, 3, dtype=dtype), rand(6, 4, dtype=dtype), rand(6, 3, dtype=dtype)
    f, run = native(products)
    for got, want in zip(run(a, b, c), products(a, b, c), strict=True):
        assert_close(got, want, dtype)
    text = source(f, a, b, c)
    assert_uses_blas(text)
    assert re.search(r"^\s+\w+ = a\.T$", text, re.M), text  # a.T is a view, not a loop
    assert "= c.T" not in text  # c.T is read by exp too: computed by a loop


def batched_transpose(a, b):
    return np.swapaxes(a, -1, -2) @ b


def test_batched_transposed_operand():
    a, b = rand(2, 5, 3), rand(2, 5, 4)
    f, run = native(batched_transpose)
    assert_close(run(a, b), batched_transpose(a, b), np.float64)
    assert ".transpose((0, 2, 1))" in source(f, a, b)


def test_strided_argument():
    a, b = rand(8, 6)[::2, 1::2], rand(3, 5)[:, ::-1]
    f, run = native(matmul)
    assert_close(run(a, b), a @ b, np.float64)
    assert_close(run(a.T.copy().T, b), a @ b, np.float64)


def rnn(xs, h, wx, wh):
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ wx + h @ wh)
    return h


def test_loop_with_matmul_is_a_native_loop():
    xs, h = rand(5, 3, 4, dtype=np.float32), rand(3, 6, dtype=np.float32)
    wx, wh = rand(4, 6, dtype=np.float32), rand(6, 6, dtype=np.float32)
    f, run = native(rnn)
    assert_close(run(xs, h, wx, wh), rnn(xs, h, wx, wh), np.float32)
    text = source(f, xs, h, wx, wh)
    assert re.search(r"# .* = scan: compiled loop", text), text
    assert not re.search(r"# np (scan|while)\(", text)
    assert_uses_blas(text)


# --- threads ------------------------------------------------------------------------------


def dense(x, w):
    return np.tanh(x @ w) * 2.0 + np.exp(-x[:, :1])


def uses_prange(text: str) -> bool:
    return bool(re.search(r"\bin prange\(", text)) and "parallel=True" in text


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread")
def test_loops_stay_serial_beside_threaded_blas(monkeypatch):
    """OpenBLAS's workers spin after a product: a graph whose products wake them keeps
    its loops serial; small products (one BLAS thread) or one BLAS thread do not."""
    x, w = rand(4096, 128), rand(128, 128)
    f, run = native(dense)
    assert_close(run(x, w), dense(x, w), np.float64)
    assert uses_prange(source(f, rand(4096, 1), rand(1, 64)))  # m*n*k = 2**18: one thread
    if blas.threaded():
        assert not uses_prange(source(f, x, w))
    monkeypatch.setattr(blas, "threaded", lambda: False)
    assert uses_prange(source(tracejit.jit(dense, backend="numba"), x, w))


# --- without the library -----------------------------------------------------------------


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5))], ids=str)
def test_fallback_without_the_library(monkeypatch, sa, sb):
    monkeypatch.setattr(blas, "LIBRARY", None)
    a, b = rand(*sa), rand(*sb)
    f, run = native(matmul)
    assert_close(run(a, b), a @ b, np.float64)
    text = source(f, a, b)
    assert not re.search(r"blas\.(gemm|gemv|dot)\(", text)
    if calls.numba_has_blas() and len(sa) == 2:
        assert "np.dot" in text
    else:
        assert "numba.objmode" in text


def test_fallback_loop_without_the_library(monkeypatch):
    monkeypatch.setattr(blas, "LIBRARY", None)
    xs, h = rand(5, 3, 4), rand(3, 6)
    wx, wh = rand(4, 6), rand(6, 6)
    f, run = native(rnn)
    cases.assert_values(run(xs, h, wx, wh), rnn(xs, h, wx, wh), False, "rnn")


def test_a_library_not_loaded_is_not_opened():
    assert blas.open_loaded("/nonexistent/libscipy_openblas64_.so") is None
    assert blas.describe() != "none"


# --- the disk cache across processes -------------------------------------------------------

PROGRAM = textwrap.dedent('''\
    import json
    import warnings

    import numpy as np

    import tracejit

    warnings.simplefilter("error", tracejit.errors.BackendFallbackWarning)


    def dense(x, w, v):
        return np.tanh(x @ w) @ v, x.T @ x


    rng = np.random.default_rng(0)
    x, w, v = rng.random((7, 5)), rng.random((5, 3)), rng.random(3)
    f = tracejit.jit(dense, backend="numba")
    got = f(x, w, v)
    want = dense(x, w, v)
    (entry,) = f._cache.values()
    dispatcher = getattr(entry.run.module, entry.run.fname)
    print(json.dumps({
        "ok": all(bool(np.allclose(g, r, rtol=1e-12)) for g, r in zip(got, want)),
        "hits": sum(dispatcher.stats.cache_hits.values()),
        "misses": sum(dispatcher.stats.cache_misses.values()),
        "blas": "blas.gemm(" in open(entry.run.module.__file__).read(),
    }))
''')


def run_program(workdir: Path, cache_dir: Path) -> dict:
    script = workdir / "prog.py"
    script.write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env[cache.ENV_VAR] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, str(script)], cwd=workdir, env=env, timeout=300,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"the program failed:\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["blas"], f"{done.stdout}\n{done.stderr}"
    return result


def test_disk_cache_reloads_in_a_new_process(tmp_path):
    first = run_program(tmp_path, tmp_path / "cache")
    assert (first["hits"], first["misses"]) == (0, 1)
    second = run_program(tmp_path, tmp_path / "cache")
    assert (second["hits"], second["misses"]) == (1, 0)
