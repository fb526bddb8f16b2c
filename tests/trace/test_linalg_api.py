"""Products and np.linalg under tracejit.jit: same values, dtypes, shapes and types as
NumPy, and errors that name the user's line."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import tracejit
from tracejit import errors

RNG = np.random.default_rng(20240611)
F8, F4, I8, C16, B = (np.dtype(t) for t in ("f8", "f4", "i8", "c16", "?"))


def make(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return RNG.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        return RNG.integers(-4, 5, shape).astype(dtype)
    x = RNG.standard_normal(shape)
    if dtype.kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def spd(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Well-conditioned Hermitian positive definite matrices."""
    a = make(shape, dtype)
    n = shape[-1]
    eye = np.eye(n, dtype=dtype)
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * eye).astype(dtype)


def tolerance(dtype: np.dtype) -> float:
    return {"e": 1e-3, "f": 1e-5, "F": 1e-5}.get(np.dtype(dtype).char, 1e-12)


def compare(got, expected) -> None:
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=False):
            compare(g, e)
        return
    if not isinstance(expected, (np.ndarray, np.generic)):
        assert got == expected
        return
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert np.shape(got) == np.shape(expected)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
        return
    rtol = tolerance(expected.dtype)
    scale = float(np.max(np.abs(expected), initial=1.0)) if np.size(expected) else 1.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


def check(fn, *args) -> None:
    """`jit(fn)(*args)` returns exactly what `fn(*args)` returns."""
    expected = fn(*args)
    compare(tracejit.jit(fn)(*args), expected)


def marked_line(fn, marker: str = "# error here") -> int:
    lines, start = inspect.getsourcelines(fn)
    (index,) = [i for i, line in enumerate(lines) if marker in line]
    return start + index


def check_error(fn, *args, exc=ValueError, texts=()) -> str:
    """The error names this file, the marked line of `fn`, and each of `texts`."""
    with pytest.raises(exc) as info:
        tracejit.jit(fn)(*args)
    message = str(info.value)
    assert os.path.basename(__file__) in message, message
    assert f":{marked_line(fn)}" in message, message
    for text in texts:
        assert text in message, message
    return message


# --- dot, matmul --------------------------------------------------------------------

PRODUCT_SHAPES = [
    ((), ()), ((), (3,)), ((3, 2), ()), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)),
    ((3, 4), (4, 5)), ((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5)),
    ((2, 3, 4), (5, 4, 6)), ((3, 4), (2, 4, 5)), ((0,), (0,)), ((3, 0), (0, 4)),
    ((0, 3), (3, 2)), ((2, 0, 3), (3,)),
]
DTYPE_PAIRS = [(F8, F8), (F4, F4), (I8, I8), (C16, C16), (F4, F8), (I8, F4),
               (np.dtype("i4"), F4), (B, B), (C16, F8), (np.dtype("i1"), np.dtype("u1"))]


@pytest.mark.parametrize("shapes", PRODUCT_SHAPES, ids=str)
@pytest.mark.parametrize("dtypes", DTYPE_PAIRS, ids=str)
def test_dot(shapes, dtypes):
    check(lambda a, b: np.dot(a, b), make(shapes[0], dtypes[0]), make(shapes[1], dtypes[1]))


def test_dot_method_and_python_scalars():
    x = make((3,), F4)
    check(lambda a: np.dot(a, 2.0), x)  # asarray(2.0) is float64: so is the result
    check(lambda a: np.dot(3, a), x)
    check(lambda a, s: np.dot(a, s), x, 2.5)
    check(lambda a, s: np.dot(s, a), x, np.float32(2.5))


def test_dot_of_lists_float16_and_outside_arrays():
    w = make((4, 2), F8)
    check(lambda a: np.dot(a, [1.0, 2.0, 3.0]), make((2, 3), F4))
    check(lambda a: np.dot(a, w), make((3, 4), F4))
    check(lambda a, b: np.dot(a, b), make((3, 8), np.dtype("f2")), make((8,), np.dtype("f2")))


def test_dot_out():
    a, b = make((3, 4), F8), make((4, 2), F8)

    def fn(a, b):
        out = np.zeros((3, 2))
        result = np.dot(a, b, out=out)
        return result + out

    check(fn, a, b)


MATMUL_SHAPES = [
    ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (6, 4, 2)), ((0, 3), (3, 4)), ((3, 0), (0, 4)),
    ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((0, 2, 3), (3, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("dtypes", [(F8, F8), (F4, F4), (I8, I8), (C16, C16), (F4, I8),
                                    (B, B)], ids=str)
def test_matmul(shapes, dtypes):
    a, b = make(shapes[0], dtypes[0]), make(shapes[1], dtypes[1])
    check(lambda a, b: np.matmul(a, b), a, b)
    check(lambda a, b: a @ b, a, b)


def test_matmul_with_outside_array():
    w = make((4, 3), F4)
    check(lambda x: np.matmul(x, w), make((2, 4), F4))
    check(lambda x: w.T @ x, make((4,), F4))


# --- vdot, inner, outer, tensordot --------------------------------------------------


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3, 2)), ((2, 2), (4,)),
                                    ((), ()), ((0,), (0, 2))], ids=str)
@pytest.mark.parametrize("dtypes", [(F8, F8), (F4, F4), (I8, I8), (C16, C16), (C16, F8),
                                    (F8, C16)], ids=str)
def test_vdot(shapes, dtypes):
    check(lambda a, b: np.vdot(a, b), make(shapes[0], dtypes[0]), make(shapes[1], dtypes[1]))


@pytest.mark.parametrize("shapes", [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)),
                                    ((2, 3), (4, 3)), ((2, 2, 3), (4, 3)), ((0,), (0,)),
                                    ((3,), (2, 5, 3)), ((2, 0), (3, 0))], ids=str)
@pytest.mark.parametrize("dtypes", [(F8, F8), (F4, F4), (I8, F8), (C16, C16)], ids=str)
def test_inner(shapes, dtypes):
    check(lambda a, b: np.inner(a, b), make(shapes[0], dtypes[0]), make(shapes[1], dtypes[1]))


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 2), (3,)), ((), (3,)), ((0,), (3,)),
                                    ((2, 3), (2, 2))], ids=str)
@pytest.mark.parametrize("dtypes", [(F8, F8), (F4, F4), (I8, I8), (B, B), (C16, F4)],
                         ids=str)
def test_outer(shapes, dtypes):
    check(lambda a, b: np.outer(a, b), make(shapes[0], dtypes[0]), make(shapes[1], dtypes[1]))


def test_outer_python_scalar_and_linalg_outer():
    x = make((3,), F4)
    check(lambda a: np.outer(2.0, a), x)
    check(lambda a: np.linalg.outer(a, a[:2]), x)


TENSORDOT_CASES = [
    ((3, 4, 5), (4, 5, 6), 2), ((3, 4), (4, 5), 1), ((2, 3), (4,), 0), ((3, 4), (3, 4), 2),
    ((3, 4, 5), (5, 4, 2), ([1, 2], [1, 0])), ((3, 4, 5), (4, 3), ([-2, 0], [0, -1])),
    ((2, 3), (3,), (1, 0)), ((0, 3), (3, 2), 1), ((2, 0), (0, 3), 1), ((), (), 0),
]


@pytest.mark.parametrize("case", TENSORDOT_CASES, ids=str)
@pytest.mark.parametrize("dtypes", [(F8, F8), (F4, F4), (I8, I8), (I8, F4), (C16, C16)],
                         ids=str)
def test_tensordot(case, dtypes):
    sa, sb, axes = case
    a, b = make(sa, dtypes[0]), make(sb, dtypes[1])
    check(lambda a, b: np.tensordot(a, b, axes), a, b)
    check(lambda a, b: np.linalg.tensordot(a, b, axes=axes), a, b)


# --- einsum -------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", (3, 4), (4, 5)), ("ij,jk", (3, 4), (4, 5)), ("ii", (3, 3)),
    ("ii->i", (3, 3)), ("ij->ji", (2, 3)), ("i,i", (4,), (4,)), ("i,j->ij", (2,), (3,)),
    ("...ij,...jk->...ik", (2, 3, 4), (2, 4, 5)), ("...ij->...", (2, 3, 4)),
    ("bA", (2, 3)), ("...Z,...Z", (2, 3), (2, 3)), ("ijk,ikl->ijl", (2, 3, 4), (2, 4, 5)),
    ("i...,i...", (3, 2), (3, 2)), ("ij,ij->", (0, 3), (0, 3)), (",i->i", (), (3,)),
    ("ab, bc -> ca", (2, 3), (3, 4)), ("i", (5,)), ("...", (2, 3)),
]


@pytest.mark.parametrize("case", EINSUM_CASES, ids=str)
@pytest.mark.parametrize("dtype", [F8, F4, I8, C16], ids=str)
def test_einsum(case, dtype):
    subscripts, *shapes = case
    arrays = [make(s, dtype) for s in shapes]
    check(lambda *xs: np.einsum(subscripts, *xs), *arrays)


@pytest.mark.parametrize("optimize", [True, "greedy", "optimal", False])
def test_einsum_optimize_is_accepted(optimize):
    a, b, c = make((3, 4), F8), make((4, 5), F8), make((5, 2), F8)
    check(lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c, optimize=optimize), a, b, c)


def test_einsum_mixed_dtypes_dtype_and_out():
    a, b = make((3, 4), I8), make((4,), F4)
    check(lambda a, b: np.einsum("ij,j->i", a, b), a, b)
    check(lambda a, b: np.einsum("ij,j->i", a, 2.0 * b), a, b)
    check(lambda a: np.einsum("ij->j", a, dtype=np.float64), a)

    def with_out(a, b):
        out = np.zeros(3)
        np.einsum("ij,j->i", a, b.astype(np.float64), out=out)
        return out

    check(with_out, a, b)


# --- norm ---------------------------------------------------------------------------

INF = np.inf
NORM_CASES = [
    ((5,), None, None), ((5,), 2, None), ((5,), 1, None), ((5,), INF, None),
    ((5,), -INF, None), ((5,), 0, None), ((5,), 3, None), ((5,), 0.5, None),
    ((5,), -1, None), ((5,), 2.5, 0), ((3, 4), None, None), ((2, 3, 4), None, None),
    ((3, 4), "fro", None), ((3, 4), "f", None), ((3, 4), 1, None), ((3, 4), -1, None),
    ((3, 4), INF, None), ((3, 4), -INF, None), ((3, 4), 2, None), ((3, 4), -2, None),
    ((3, 4), "nuc", None), ((3, 4), None, 0), ((3, 4), None, 1), ((3, 4), 1, -1),
    ((3, 4), INF, 0), ((3, 4), 0, 1), ((3, 4), 4, 1), ((3, 4), None, (1, 0)),
    ((3, 4), 2, (1, 0)), ((2, 3, 4), "fro", (2, 0)), ((2, 3, 4), 1, (0, 2)),
    ((2, 3, 4), -1, (2, 1)), ((2, 3, 4), INF, (1, 2)), ((2, 3, 4), -INF, (2, 0)),
    ((2, 3, 4), 2, (1, 2)), ((2, 3, 4), -2, (0, 1)), ((2, 3, 4), "nuc", (-1, -2)),
    ((2, 3, 4), None, (0, 1)), ((2, 3, 4), 3, 1), ((), None, None), ((0,), None, None),
    ((0,), INF, None), ((0,), 1, None), ((0, 3), 1, None), ((3, 0), INF, None),
    ((0, 3), 2, None), ((0, 3), "nuc", None), ((0, 3), "fro", None), ((4, 0), 2, 1),
]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("case", NORM_CASES, ids=str)
@pytest.mark.parametrize("dtype", [F8, F4, I8, C16], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm(case, dtype, keepdims):
    shape, ord, axis = case
    check(lambda x: np.linalg.norm(x, ord, axis, keepdims), make(shape, dtype))


def test_norm_of_bool_float16_and_numpy_ord():
    check(lambda x: np.linalg.norm(x), make((4,), B))
    check(lambda x: np.linalg.norm(x, 3), make((4,), np.dtype("f2")))
    check(lambda x: np.linalg.norm(x, np.float64(3)), make((4,), F4))


# --- np.linalg ----------------------------------------------------------------------

LINALG_DTYPES = [F8, F4, I8, C16]


@pytest.mark.parametrize("shapes", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                                    ((2, 3, 3), (3,)), ((2, 3, 3), (1, 3, 4))], ids=str)
@pytest.mark.parametrize("dtype", LINALG_DTYPES, ids=str)
def test_solve(shapes, dtype):
    a, b = spd(shapes[0], dtype), make(shapes[1], dtype)
    check(lambda a, b: np.linalg.solve(a, b), a, b)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1), (0, 0)], ids=str)
@pytest.mark.parametrize("dtype", LINALG_DTYPES, ids=str)
def test_inv_det_slogdet(shape, dtype):
    a = spd(shape, dtype)
    check(lambda a: np.linalg.inv(a), a)
    check(lambda a: np.linalg.det(a), a)
    check(lambda a: tuple(np.linalg.slogdet(a)), a)
    check(lambda a: np.linalg.slogdet(a).logabsdet, a)
    check(lambda a: np.linalg.slogdet(a).sign, a)


def test_slogdet_result_is_the_namedtuple():
    check(lambda a: np.linalg.slogdet(a), spd((3, 3), F8))


def test_det_of_general_matrix():
    check(lambda a: np.linalg.det(a), make((4, 4), F8))
    check(lambda a: np.linalg.slogdet(a * 0), make((2, 2), F8))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (0, 0)], ids=str)
@pytest.mark.parametrize("dtype", LINALG_DTYPES, ids=str)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, dtype, upper):
    check(lambda a: np.linalg.cholesky(a, upper=upper), spd(shape, dtype))


def test_cholesky_default_svdvals_and_keywords():
    check(lambda a: np.linalg.cholesky(a), spd((3, 3), F8))
    check(lambda a: np.linalg.svdvals(a), make((2, 3, 4), F8))
    check(lambda a, b: np.linalg.solve(a=a, b=b), spd((3, 3), F4), make((3,), F4))
    check(lambda a: np.linalg.matmul(a, a), make((2, 2), C16))


def test_composition():
    def fn(x, w, b):
        h = np.tanh(x @ w + b)
        gram = np.einsum("ni,nj->ij", h, h) + np.eye(h.shape[1])
        return np.linalg.solve(gram, np.ones(h.shape[1])), np.linalg.norm(h, axis=1)

    check(fn, make((5, 3), F8), make((3, 4), F8), make((4,), F8))


# --- errors -------------------------------------------------------------------------


def test_dot_shape_mismatch_names_the_line():
    def fn(a, b):
        c = a + 1
        return np.dot(c, b)  # error here

    check_error(fn, make((2, 3), F8), make((4, 5), F8), texts=["(2, 3)", "(4, 5)"])


def test_matmul_shape_mismatch_names_the_line():
    def fn(a, b):
        return a @ b  # error here

    def fn2(a, b):
        return np.matmul(a, b)  # error here

    check_error(fn, make((2, 3), F8), make((4, 5), F8), texts=["2,3", "4,5"])
    check_error(fn2, make((7,), F8), make((2, 4, 5), F8), texts=["7", "2,4,5"])


def test_matmul_of_a_scalar_is_an_error():
    def fn(a):
        return np.matmul(a, a.sum())  # error here

    check_error(fn, make((3,), F8))


@pytest.mark.parametrize("call", [
    lambda a, b: np.dot(a, b),  # error here
    lambda a, b: np.inner(a, b),  # error here
    lambda a, b: np.vdot(a, b),  # error here
    lambda a, b: np.tensordot(a, b, 1),  # error here
    lambda a, b: np.tensordot(a, b, ([1], [1])),  # error here
    lambda a, b: np.tensordot(a, b, ([0, 1], [1])),  # error here
    lambda a, b: np.tensordot(a, b, ([2], [0])),  # error here
    lambda a, b: np.einsum("ij,jk", a, b),  # error here
])
def test_product_mismatches(call):
    check_error(call, make((2, 3), F8), make((4, 2), F8))


@pytest.mark.parametrize("call", [
    lambda a: np.einsum("ij->k", a),  # error here
    lambda a: np.einsum("ijk", a),  # error here
    lambda a: np.einsum("i.j", a),  # error here
    lambda a: np.linalg.norm(a, "fro", axis=0),  # error here
    lambda a: np.linalg.norm(a, 3),  # error here
    lambda a: np.linalg.norm(a, 2, (0, 0)),  # error here
    lambda a: np.linalg.norm(a, axis=2),  # error here
    lambda a: np.linalg.norm(a[0, 0], 1),  # error here
    lambda a: np.linalg.det(a[:, :2]),  # error here
    lambda a: np.linalg.inv(a[0]),  # error here
    lambda a: np.linalg.solve(a, a[:2]),  # error here
])
def test_invalid_arguments(call):
    check_error(call, make((3, 3), F8))


def test_norm_axis_must_be_int_or_tuple():
    def fn(a):
        return np.linalg.norm(a, axis=[0])  # error here

    check_error(fn, make((3, 3), F8), exc=TypeError)


def test_einsum_sublist_form_is_rejected():
    def fn(a, b):
        return np.einsum(a, [0, 1], b, [1, 2], [0, 2])  # error here

    message = check_error(fn, make((2, 3), F8), make((3, 4), F8),
                          exc=errors.UnsupportedFunctionError)
    assert "subscripts as a string" in message


def test_einsum_explicit_path_is_rejected():
    def fn(a, b):
        return np.einsum("ij,jk", a, b, optimize=["einsum_path", (0, 1)])  # error here

    check_error(fn, make((2, 3), F8), make((3, 4), F8), exc=errors.UnsupportedFunctionError)


def test_dot_out_of_the_wrong_dtype():
    def fn(a, b):
        out = np.zeros((2, 2), dtype=np.float32)
        return np.dot(a, b, out=out)  # error here

    check_error(fn, make((2, 3), F8), make((3, 2), F8), texts=["float32"])
