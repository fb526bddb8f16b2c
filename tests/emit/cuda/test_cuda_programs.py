"""The CUDA backend's generated kernels and launch code, run on the CPU.

`HostDevice` compiles each generated translation unit with the host C++ compiler and
runs every kernel as one block of one thread on NumPy arrays, through the same program
code that launches them on a GPU (argument arithmetic, strides, reduction staging,
index checks, in-place updates, host loops). So the kernels' index arithmetic, fused
bodies and reductions are checked against NumPy here without a GPU; what only a GPU
shows (many threads, the shared-memory tree, CuPy's calls) is in test_cuda_gpu.py.
"""

from __future__ import annotations

import copy
import shutil

import cases
import numpy as np
import pytest

import tracejit
from tracejit.emit.cuda import devices
from tracejit.emit.cuda.program import Program

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")


@pytest.fixture(autouse=True)
def host_device():
    with devices.use(devices.HostDevice(opt="-O0")) as device:
        yield device


def run_both(fn, *args, **jit_options):
    """`fn` jitted for CUDA (on the host device) and plain, on copies of `args`; checks
    results and arguments afterwards agree, returns the jitted function."""
    jitted = tracejit.jit(fn, backend="cuda", **jit_options)
    ours, theirs = copy.deepcopy(args), copy.deepcopy(args)
    with np.errstate(all="ignore"):
        expected = fn(*theirs)
        got = jitted(*ours)
    cases.assert_same(got, expected, exact=False)
    cases.assert_same(ours, theirs, exact=False, where="arguments after the call")
    return jitted


def programs(jitted) -> list[Program]:
    return [e.run for e in jitted._cache.values()]


RNG = np.random.default_rng(7)


def haversine(lat1, lon1, lat2, lon2):
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_haversine_one_kernel(dtype):
    args = [RNG.uniform(-1, 1, 1000).astype(dtype) for _ in range(4)]
    jitted = run_both(haversine, *args)
    (program,) = programs(jitted)
    (kernel,) = program.steps  # one fused kernel, named for what it computes
    assert kernel.name == "haversine_k0_map_subtract_divide_sin_multiply"


def test_rosenbrock_one_reduction_over_views():
    jitted = run_both(rosenbrock, RNG.standard_normal(1001))
    (program,) = programs(jitted)
    (kernel,) = program.steps
    assert kernel.loop.kind == "reduce" and "x[" not in kernel.text  # views: offsets only


@pytest.mark.parametrize("axis", [None, 0, 1, 2, (0, 2), (1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_axes(axis, keepdims):
    x = RNG.standard_normal((4, 5, 6))

    def f(x):
        return (np.exp(x).sum(axis=axis, keepdims=keepdims), x.max(axis=axis, keepdims=keepdims),
                (x > 0).any(axis=axis), np.abs(x).min(axis=axis))

    run_both(f, x)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_,
                                   np.float16])
def test_reduction_dtypes(dtype):
    x = (RNG.integers(-100, 100, (7, 9)) if dtype != np.bool_
         else RNG.integers(0, 2, (7, 9))).astype(dtype)

    def f(x):
        return x.sum(), x.sum(axis=0), x.max(axis=1), x.prod(axis=0), x.min()

    run_both(f, x)


def test_nan_propagates_through_max():
    x = RNG.standard_normal((3, 8))
    x[1, 5] = np.nan
    run_both(lambda x: (x.max(axis=1), x.min(), np.sum(x, axis=0)), x)


def test_views_strides_and_broadcasts():
    def f(x, y, b):
        return x.T[1:, ::-2] * 2.0 + y[::2, None, :1], np.sin(x[:, ::3]) - b

    x = RNG.standard_normal((6, 7))
    y = RNG.standard_normal((14, 3))
    run_both(f, x, y, RNG.standard_normal(3))


def test_non_contiguous_and_fortran_inputs():
    x = np.asfortranarray(RNG.standard_normal((5, 6)))
    y = RNG.standard_normal((10, 12))[::2, 1::2]
    run_both(lambda x, y: (x * y + 1.0, (x - y).sum(axis=1)), x, y)


def test_scalar_arguments_and_empty_arrays():
    run_both(lambda x, s: x * s + 1.0, RNG.standard_normal(5), 2.5)
    run_both(lambda x: (np.exp(x), x.sum(), x.sum(axis=0), x.prod(axis=1)), np.ones((0, 3)))


def test_slice_update_in_place_stencil():
    def diffusion(u, steps):
        for _ in range(steps):
            u[1:-1, 1:-1] += 0.1 * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
                                     - 4 * u[1:-1, 1:-1])
        return u

    run_both(diffusion, RNG.random((12, 10)), 5)


def test_row_updates_at_traced_indices():
    def rows(x, n):
        out = np.zeros_like(x)
        for i in range(n):
            out[i] = x[i] * 2.0 + x[i - 1]
            out[i, 1:] += x[i, :-1]
        return out

    run_both(rows, RNG.standard_normal((6, 4)), 5)


def test_index_errors_name_the_axis():
    def pick(x, i):
        return x[i] * 2.0

    jitted = tracejit.jit(pick, backend="cuda")
    x = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(jitted(x, np.int64(-1)), x[-1] * 2.0)
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 0 with size 4"):
        jitted(x, np.int64(4))


def test_rnn_scan_with_matmul_calls():
    def rnn(h, xs, w, u):
        for t in range(xs.shape[0]):
            h = np.tanh(xs[t] @ w + h @ u)
        return h

    jitted = run_both(rnn, RNG.standard_normal((4, 5)), RNG.standard_normal((6, 4, 3)),
                      RNG.standard_normal((3, 5)), RNG.standard_normal((5, 5)))
    (program,) = programs(jitted)
    assert "scan" in [getattr(s, "eqn", None) and s.eqn.op for s in program.steps]
    assert "tanh" in program.source  # the body's kernel is part of the source


def test_while_loop():
    def newton(x):
        y = x.copy()
        i = 0
        while i < 6:
            y = y - (y * y - x) / (2 * y)
            i += 1
        return y

    run_both(newton, RNG.random(10) + 1)


def test_complex_runs_as_library_calls():
    z = RNG.standard_normal(6) + 1j * RNG.standard_normal(6)
    jitted = run_both(lambda z: np.abs(z * z) + 1.0, z)
    (program,) = programs(jitted)
    assert "no kernels" in program.source


def test_source_does_not_depend_on_shapes():
    f = tracejit.jit(haversine, backend="cuda")
    small = tracejit.show_source(f, *[np.ones(3)] * 4)
    large = tracejit.show_source(f, *[np.ones(3000)] * 4)
    assert small == large
    assert "3000" not in large and 'extern "C" __global__ void haversine_k0_' in large


def test_outputs_are_fresh_arrays():
    f = tracejit.jit(lambda: np.arange(4.0) * 1.0, backend="cuda")
    a, b = f(), f()
    a[0] = 99
    assert b[0] == 0


class FakeGpuArray:
    def __init__(self, a):
        self.shape, self.dtype, self.ndim = a.shape, a.dtype, a.ndim


class FakeGpu:
    name = "cuda"

    @staticmethod
    def is_array(x):
        return isinstance(x, FakeGpuArray)


def test_placement_mixed_arrays_is_a_type_error():
    from tracejit.emit.cuda.program import placement

    graph = tracejit.make_graph(lambda x, y: x + y)(np.ones(2), np.ones(2))
    on_device = FakeGpuArray(np.ones(2))
    with pytest.raises(TypeError, match=r"both NumPy arrays \(float64\[2\]\) and device"):
        placement(FakeGpu(), graph, (np.ones(2), on_device))
    assert placement(FakeGpu(), graph, (np.ones(2), 1.0)) is True  # NumPy in: NumPy out
    assert placement(FakeGpu(), graph, (on_device, 1.0)) is False


def test_no_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(devices, "_current", [])
    devices.gpu_or_error.cache_clear()
    monkeypatch.setattr(devices, "CupyDevice", lambda: (_ for _ in ()).throw(
        ImportError("No module named 'cupy'")))
    f = tracejit.jit(lambda x: x + 1.0, backend="cuda")
    try:
        with pytest.raises(RuntimeError, match="needs CuPy and an NVIDIA GPU"):
            f(np.ones(3))
    finally:
        devices.gpu_or_error.cache_clear()
