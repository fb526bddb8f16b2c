"""Mutation semantics of jitted functions, each checked against plain NumPy.

Every test builds its arguments twice with the same factory, runs the function once with
plain NumPy and once through `jit`, and compares the results (values, dtypes, shapes,
types), the arguments afterwards (and the arrays they are views of), and which results
share memory with which arguments. Jitted functions are called more than once, so both
the tracing call and the cached path are exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import array_leaves, assert_same

from tracejit import jit

# --- helpers ------------------------------------------------------------------------


def bases(a: np.ndarray) -> list[np.ndarray]:
    out = []
    while isinstance(a.base, np.ndarray):
        a = a.base
        out.append(a)
    return out


def compare_args(args_jit, args_np):
    for i, (a, e) in enumerate(zip(args_jit, args_np, strict=False)):
        assert_same(a, e, f"argument {i} after the call")
        if isinstance(e, np.ndarray):
            for k, (ba, be) in enumerate(zip(bases(a), bases(e), strict=False)):
                assert_same(ba, be, f"argument {i} base {k} after the call")


def compare_aliasing(result_jit, result_np, args_jit, args_np):
    """A result shares memory with an argument under jit exactly when it does in NumPy."""
    rj, rn = array_leaves(result_jit), array_leaves(result_np)
    aj, an = array_leaves(list(args_jit)), array_leaves(list(args_np))
    for i, (r1, r2) in enumerate(zip(rj, rn, strict=False)):
        for k, (a1, a2) in enumerate(zip(aj, an, strict=False)):
            want = np.shares_memory(r2, a2)
            assert np.shares_memory(r1, a1) == want, \
                f"result leaf {i} {'should' if want else 'should not'} share memory with " \
                f"argument {k}"


def check(f, make, calls=2, jf=None):
    """Run `f` on `make()` with NumPy and through jit (`calls` times); compare."""
    jf = jf or jit(f)
    for _ in range(calls):
        args_np, args_jit = make(), make()
        with np.errstate(all="ignore"):
            expected = f(*args_np)
        got = jf(*args_jit)
        assert_same(got, expected)
        compare_args(args_jit, args_np)
        compare_aliasing(got, expected, args_jit, args_np)
    return jf


def grid(*shape, dtype=np.float64):
    return np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


# --- views alias --------------------------------------------------------------------


def test_interior_view_write_seen_by_base():
    def f(U):
        u = U[1:-1, 1:-1]
        u += 1
        return U.sum()

    check(f, lambda: (grid(5, 6),))


def test_interior_view_write_then_return_base():
    def f(U):
        u = U[1:-1, 1:-1]
        u *= 2
        return U

    check(f, lambda: (grid(4, 4),))


def test_transposed_view_write():
    def f(U):
        U.T[0] = np.arange(U.shape[0]) * 10.0
        return U.copy(), U[:, 0].sum()

    check(f, lambda: (grid(3, 4),))


def test_transposed_view_augmented():
    def f(U):
        t = U.T
        t[1:, :2] += 100
        return U[0] + U[1]

    check(f, lambda: (grid(3, 4),))


def test_reshape_view_of_contiguous_array():
    def f(x):
        v = x.reshape(3, 4)
        v[1] = -1.0
        w = x.reshape(-1)
        w[::5] = 7.0
        return x.sum(axis=0), v

    check(f, lambda: (grid(2, 6),))


def test_ravel_of_contiguous_is_view():
    def f(x):
        r = np.ravel(x)
        r[2] = 99
        return x

    check(f, lambda: (grid(2, 3, dtype=np.int64),))


def test_slice_of_slice_write():
    def f(x):
        x[::2][1:] = 5.0
        return x

    check(f, lambda: (grid(9),))


def test_chained_views_write_and_read_through_other_alias():
    def f(x):
        col = x[:, 0]          # taken before the write, read after it
        y = x[1:]
        z = y.T
        w = z[::-1]
        w[0] = -3.0            # writes x[1:, -1]
        w[:, 0] += 10          # writes x[1, :]
        return col * 2, x[-1].copy(), y.sum()

    check(f, lambda: (grid(3, 4),))


def test_negative_step_views():
    def f(x):
        r = x[::-1, ::-2]
        r[0] = 0.5
        r[1:, 1] *= -1
        return x

    check(f, lambda: (grid(4, 5),))


def test_integer_and_newaxis_views():
    def f(x):
        row = x[1]
        row[...] = row * 3
        e = x[None, 2, :, None]
        e[0, 1:3, 0] = -7
        return x, row, e

    check(f, lambda: (grid(4, 4),))


def test_reads_before_write_keep_old_value():
    def f(x):
        old = x + 0
        row = x[0] * 1
        x[...] = 1.0
        return old, row, x

    check(f, lambda: (grid(2, 3),))


@pytest.mark.parametrize("take", [lambda x: x.copy(), lambda x: np.array(x),
                                  lambda x: x.astype(x.dtype)])
def test_copy_before_write_keeps_old_value(take):
    def f(x):
        snapshot = take(x)
        x[...] = 1.0
        return snapshot

    check(f, lambda: (grid(2, 3),))


def test_swapaxes_and_moveaxis_views_write():
    def f(x):
        np.swapaxes(x, 0, 2)[0] = 1.0
        np.moveaxis(x, 1, 0)[-1] += 5
        return x

    check(f, lambda: (grid(2, 3, 4),))


def test_view_of_temporary_writes_temporary():
    def f(x):
        y = x * 2
        y[1:, ::2] = 0
        y.T[0] = -1
        return y

    check(f, lambda: (grid(3, 3),))


# --- reshape of a non-contiguous view copies ----------------------------------------


def test_reshape_of_noncontiguous_view_is_copy():
    def f(x):
        v = x[:, ::2].reshape(-1)
        v[:] = 0.0
        return x, v

    check(f, lambda: (grid(3, 4),))


def test_reshape_of_transpose_is_copy():
    def f(x):
        v = x.T.reshape(-1)
        v += 100
        f2 = x.T.ravel()
        f2[0] = -5
        return x.sum(), v, f2

    check(f, lambda: (grid(3, 4),))


def test_reshape_of_noncontiguous_that_numpy_can_view():
    # x[::2] keeps rows contiguous: reshaping its rows is a view in NumPy
    def f(x):
        v = x[::2].reshape(2, 2, 3)
        v[0, 1] = -1.0
        return x

    check(f, lambda: (grid(4, 6),))


# --- write-back of arguments --------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
def test_zero_d_argument_written_back(dtype):
    def f(x):
        x[...] = 1
        return x

    check(f, lambda: (np.array(0, dtype=dtype),))


def test_zero_d_argument_augmented():
    def f(x):
        x += 2.5
        return x * 2

    check(f, lambda: (np.array(1.0),))


def test_fortran_argument_written_back():
    def f(x):
        x[0] = -1
        v = x.reshape(-1)    # a copy for a Fortran array
        v[:] = 0
        x.T.reshape(-1)[1] = 50  # x.T is C-contiguous: a view
        return x, v

    jf = check(f, lambda: (np.asfortranarray(grid(3, 4)),))
    check(f, lambda: (grid(3, 4),), jf=jf)  # the C layout gets its own trace


def test_noncontiguous_strided_argument_written_back():
    def f(x):
        x += 1
        x[0, ::2] = -1
        return x.sum()

    check(f, lambda: (grid(6, 7)[1::2, ::-3],))


def test_noncontiguous_argument_reshape_is_copy():
    def f(x):
        v = x.reshape(-1)
        v[:] = 3.0
        return x, v

    check(f, lambda: (grid(4, 4)[:, ::2],))


def test_same_array_passed_twice():
    def f(x, y):
        x += 1
        y[0] = -5
        return x + y, y.sum()

    def make():
        a = grid(3, 2)
        return a, a

    check(f, make)


def test_same_array_passed_twice_out():
    def f(x, y):
        np.add(x, y, out=x)
        return y

    def make():
        a = grid(4)
        return a, a

    check(f, make)


def test_argument_and_global_naming_the_same_array():
    def f(x):
        x[0] += 100
        G_ALIAS[1] += 10
        return G_ALIAS.sum(), x * 1

    jf = jit(f)
    for _ in range(2):
        G_ALIAS[...] = np.arange(4.0)
        expected = f(G_ALIAS)
        after = G_ALIAS.copy()
        G_ALIAS[...] = np.arange(4.0)
        got = jf(G_ALIAS)
        assert_same(got, expected)
        assert_same(G_ALIAS, after, "G_ALIAS")


G_ALIAS = np.zeros(4)


@pytest.mark.filterwarnings("ignore:.*overlap in memory:RuntimeWarning")
def test_overlapping_views_passed_as_two_arguments():
    def f(x, y):
        x[:] = 0.0
        return y.sum()

    def make():
        a = grid(6)
        return a[1:], a[:-1]

    check(f, make)


# --- globals and closures -----------------------------------------------------------

G = np.arange(6.0).reshape(2, 3)
H = np.ones(3)


def read_global(x):
    return x * G


def write_global(x):
    G[...] += 1
    G[0] = G[0] + x
    return G.sum()


def test_global_read_at_call_time_after_mutation():
    global G
    G = np.arange(6.0).reshape(2, 3)
    jf = jit(read_global)
    x = np.full(3, 2.0)
    assert_same(jf(x), read_global(x))
    G[...] = -1.0
    assert_same(jf(x), read_global(x))
    G[1, 2] = 42.0
    assert_same(jf(x), read_global(x))


def test_global_rebound_to_new_array():
    global G
    G = np.arange(6.0).reshape(2, 3)
    jf = jit(read_global)
    x = np.full(3, 2.0)
    assert_same(jf(x), read_global(x))
    G = np.full((2, 3), 7.0)  # same shape and dtype: cache hit, new array read
    assert_same(jf(x), read_global(x))
    G = np.full((4, 3), 2.0)  # new shape: retraced
    assert_same(jf(x), read_global(x))


def test_global_written_back():
    global G
    G = np.arange(6.0).reshape(2, 3)
    jf = jit(write_global)
    x = np.array([1.0, 2.0, 3.0])
    G_np = G.copy()
    for _ in range(3):
        G, saved = G_np, G
        expected = write_global(x)
        G_np, G = G, saved
        got = jf(x)
        assert_same(got, expected)
        assert_same(G, G_np, "G")


def test_global_written_back_after_rebinding():
    global G
    G = np.zeros((2, 3))
    jf = jit(write_global)
    x = np.ones(3)
    jf(x)
    first = G
    G = np.full((2, 3), 10.0)
    jf(x)
    np.testing.assert_array_equal(first, [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(G, [[12.0, 12.0, 12.0], [11.0, 11.0, 11.0]])


def test_global_write_through_view_and_read_back():
    global H
    H = np.ones(3)

    def f(x):
        h = H[1:]
        h += x
        return H * 2

    jf = jit(f)
    for _ in range(2):
        saved = H.copy()
        expected = f(np.array([1.0, 2.0]))
        after = H.copy()
        H[...] = saved
        got = jf(np.array([1.0, 2.0]))
        assert_same(got, expected)
        assert_same(H, after, "H")


def make_closure(W):
    def f(x):
        return x @ W + W.sum()

    def set_w(new):
        nonlocal W
        W = new

    return f, set_w


def test_closure_read_at_call_time():
    W = np.eye(3)
    f, set_w = make_closure(W)
    jf = jit(f)
    x = np.arange(3.0)
    assert_same(jf(x), f(x))
    W[0, 2] = 5.0  # mutate the captured array
    assert_same(jf(x), f(x))
    set_w(np.full((3, 3), 2.0))  # rebind the cell
    assert_same(jf(x), f(x))


def test_closure_written_back():
    state = np.zeros(3)

    def f(x):
        state[...] += x
        state[0] = state.sum()
        return state * 1

    jf = jit(f)
    ref = np.zeros(3)
    for i in range(3):
        x = np.full(3, float(i + 1))
        ref += x
        ref[0] = ref.sum()
        assert_same(jf(x), ref.copy())
        assert_same(state, ref, "state")


def test_closure_rebound_and_written():
    def outer():
        acc = np.zeros(2)

        def f(x):
            acc[:] += x
            return acc.copy()

        def rebind(new):
            nonlocal acc
            acc = new

        return f, rebind, lambda: acc

    f, rebind, get = outer()
    jf = jit(f)
    jf(np.ones(2))
    np.testing.assert_array_equal(get(), [1.0, 1.0])
    rebind(np.full(2, 10.0))
    out = jf(np.ones(2))
    np.testing.assert_array_equal(get(), [11.0, 11.0])
    np.testing.assert_array_equal(out, [11.0, 11.0])


# --- copyto, out=, index-array and mask assignment ----------------------------------


def test_copyto():
    def f(x, y):
        np.copyto(x, y)
        np.copyto(x[:1], 7)
        return x

    check(f, lambda: (grid(2, 3), np.arange(3, dtype=np.int32)))


def test_copyto_casting_error():
    def f(x, y):
        np.copyto(x, y)
        return x

    with pytest.raises(TypeError):
        f(np.zeros(3, np.int32), np.ones(3))
    with pytest.raises(TypeError):
        jit(f)(np.zeros(3, np.int32), np.ones(3))


def test_ufunc_out_is_first_argument():
    def f(x, y):
        r = np.add(x, y, out=x)
        return r, x * 1

    check(f, lambda: (grid(2, 3), grid(3)))


def test_ufunc_out_returns_the_out_array():
    def f(x, y):
        return np.add(x, y, out=x)

    jf = jit(f)
    x = grid(3)
    r = jf(x, grid(3))
    assert r is x


def test_ufunc_out_overlapping_view():
    def f(a):
        np.multiply(a[:-1], 2, out=a[1:])
        return a

    check(f, lambda: (grid(6),))


def test_ufunc_out_slice_2d():
    def f(a):
        np.multiply(a[0], 2, out=a[1:])
        np.negative(a[:, 1], out=a[:, 0])
        return a

    check(f, lambda: (grid(3, 4, dtype=np.int64),))


def test_ufunc_out_temporary():
    def f(x):
        out = np.zeros_like(x)
        np.sqrt(x, out=out)
        np.add(out[1::2], 1, out=out[::2])
        return out

    check(f, lambda: (grid(6),))


def test_index_array_assignment():
    def f(x, idx, v):
        x[idx] = v
        x[[0, -1]] += 100
        return x

    check(f, lambda: (grid(6), np.array([4, 1, 2]), np.array([-1.0, -2.0, -3.0])))


def test_index_array_assignment_2d_through_view():
    def f(x, idx):
        x[1:, :][idx, 1] = 0
        x.T[idx] = -1
        return x

    check(f, lambda: (grid(4, 3), np.array([2, 0])))


def test_index_array_assignment_duplicates_last_wins():
    def f(x):
        x[np.array([1, 1, 1])] = np.array([5.0, 6.0, 7.0])
        return x

    check(f, lambda: (grid(3),))


def test_traced_boolean_mask_assignment():
    def f(x):
        x[x > 3] = 0
        x[x < 1] = -1.5
        return x

    check(f, lambda: (grid(2, 4),))


def test_traced_boolean_mask_leading_axes():
    def f(x, m):
        x[m] = 9
        return x

    check(f, lambda: (grid(3, 2, dtype=np.int32), np.array([True, False, True])))


def test_traced_boolean_mask_through_view():
    def f(x):
        v = x[:, 1:]
        v[v > 2] = 0
        return x

    check(f, lambda: (grid(3, 3),))


# --- returning views and copies -----------------------------------------------------


def test_returned_view_is_real_view_of_argument():
    def f(x):
        return x[1:, ::2]

    jf = check(f, lambda: (grid(3, 4),))
    x = grid(3, 4)
    r = jf(x)
    assert np.shares_memory(r, x)
    r[0, 0] = -99
    assert x[1, 0] == -99


def test_returned_argument_is_the_argument():
    def f(x):
        x[0] = 1
        return x

    x = grid(3)
    assert jit(f)(x) is x


def test_returned_transpose_and_reshape_views():
    def f(x):
        x += 1
        return x.T, x.reshape(-1), x[None]

    jf = check(f, lambda: (grid(2, 3),))
    x = grid(2, 3)
    t, r, n = jf(x)
    t[2, 1] = -1
    assert x[1, 2] == -1
    r[0] = -2
    n[0, 0, 1] = -3
    np.testing.assert_array_equal(x[0, :2], [-2, -3])


def test_returned_copy_is_independent():
    def f(x):
        x[0] = 5
        return x.copy()

    jf = check(f, lambda: (grid(3),))
    x = grid(3)
    c = jf(x)
    assert not np.shares_memory(c, x)
    c[:] = -1
    np.testing.assert_array_equal(x, [5, 1, 2])


def test_returned_computation_is_independent():
    def f(x):
        return x + 0, np.copy(x), x.astype(np.float64)

    check(f, lambda: (grid(3),))


# --- errors -------------------------------------------------------------------------


def readonly(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("body", [
    lambda x: x.__setitem__(0, 1.0),
    lambda x: x.__iadd__(1.0),
    lambda x: np.add(x, 1, out=x),
    lambda x: np.copyto(x, 2.0),
    lambda x: x[1:].fill(3.0),
    lambda x: x.T.__setitem__(0, 1.0),
])
def test_readonly_argument_write_raises(body):
    def f(x):
        body(x)
        return x

    with pytest.raises(ValueError):
        f(readonly(grid(3)))
    x = readonly(grid(3))
    with pytest.raises(ValueError):
        jit(f)(x)
    np.testing.assert_array_equal(x, grid(3))


def test_readonly_argument_read_ok():
    check(lambda x: x[::-1] * 2, lambda: (readonly(grid(3)),))


def test_broadcast_view_write_raises():
    def f(x):
        b = np.broadcast_to(x, (2, 3))
        b[0, 0] = 1
        return b

    with pytest.raises(ValueError):
        f(grid(3))
    with pytest.raises(ValueError):
        jit(f)(grid(3))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_int_inplace_add_float_raises(dtype):
    def f(x):
        x += 1.5
        return x

    with pytest.raises(TypeError):
        f(np.arange(3, dtype=dtype))
    x = np.arange(3, dtype=dtype)
    with pytest.raises(TypeError):
        jit(f)(x)
    np.testing.assert_array_equal(x, np.arange(3, dtype=dtype))


def test_int_view_inplace_multiply_float_array_raises():
    def f(x, y):
        v = x[1:]
        v *= y
        return x

    with pytest.raises(TypeError):
        f(np.arange(3), np.ones(2))
    with pytest.raises(TypeError):
        jit(f)(np.arange(3), np.ones(2))


def test_int_inplace_with_int_ok():
    check(lambda x: x.__iadd__(3), lambda: (np.arange(4, dtype=np.int8),))


# --- helpers and nested jit ---------------------------------------------------------


def helper_scale_(a, k):
    a[1:] *= k
    return a[0]


@jit
def jitted_helper_(a, b):
    a += b
    b[0] = -1.0
    return a.sum()


def test_nested_plain_helper_mutates_argument():
    def f(x):
        first = helper_scale_(x, 3.0)
        helper_scale_(x[0], 2.0)  # a row view: helper writes through it
        return first, x

    check(f, lambda: (grid(3, 2),))


def test_nested_jit_function_mutates_arguments():
    def f(x, y):
        s = jitted_helper_(x, y)
        s2 = jitted_helper_(x[::2], y[:2])
        return s, s2, x, y

    def f_np(x, y):
        s = jitted_helper_.fn(x, y)
        s2 = jitted_helper_.fn(x[::2], y[:2])
        return s, s2, x, y

    jf = jit(f)
    for _ in range(2):
        args_np, args_jit = (grid(4), grid(4)), (grid(4), grid(4))
        expected = f_np(*args_np)
        got = jf(*args_jit)
        assert_same(got, expected)
        compare_args(args_jit, args_np)
    assert jitted_helper_.cache_info().traces == 0  # inlined, never traced on its own


def test_nested_helper_mutating_a_temporary():
    def f(x):
        t = x * 1
        helper_scale_(t, -1.0)
        return t, x

    check(f, lambda: (grid(4),))


def test_nested_closure_helper_mutating_captured_argument():
    def f(x):
        def bump(i):
            x[i] += 10

        bump(0)
        bump(-1)
        return x

    check(f, lambda: (grid(3),))


# --- more edge cases ----------------------------------------------------------------

G_LAYOUT = np.zeros((2, 3))


def reshape_global_and_write():
    v = G_LAYOUT.reshape(-1)  # a view of a C-contiguous array, a copy of a Fortran one
    v[0] = 5.0
    return v.sum()


def test_global_rebound_to_other_layout_retraces():
    global G_LAYOUT
    jf = jit(reshape_global_and_write)
    G_LAYOUT = np.zeros((2, 3))
    assert jf() == 5.0
    assert G_LAYOUT[0, 0] == 5.0
    G_LAYOUT = np.asfortranarray(np.zeros((2, 3)))
    expected_array = G_LAYOUT.copy()
    assert jf() == 5.0
    np.testing.assert_array_equal(G_LAYOUT, expected_array)  # NumPy: unchanged


def test_ufunc_out_broadcast_into_view():
    def f(a):
        np.multiply(a, 2, out=a[1:])  # (1, 3) broadcast into the (0, 3) view a[1:]
        np.multiply(a[0], 2, out=a[:, :])
        return a

    check(f, lambda: (grid(1, 3),))


def test_ufunc_out_bad_shape_raises():
    def f(a):
        np.multiply(a, 2, out=a[1:])
        return a

    with pytest.raises(ValueError):
        f(grid(3, 3))
    with pytest.raises(ValueError):
        jit(f)(grid(3, 3))


def test_ufunc_out_casting_checked_before_shape():
    def f(a, b):
        np.divide(a, b, out=a)  # int out: a TypeError, although the shapes also clash
        return a

    args = (np.arange(3), np.ones(4, np.int64))
    with pytest.raises(TypeError):
        f(*args)
    with pytest.raises(TypeError):
        jit(f)(*args)


@pytest.mark.parametrize("value, error", [(float("nan"), ValueError), (float("inf"), OverflowError),
                                          (1000, OverflowError), (-1, OverflowError)])
def test_setitem_python_scalar_conversion_errors(value, error):
    def f(x):
        x[0] = value
        return x

    with pytest.raises(error):
        f(np.zeros(3, np.uint8))
    x = np.zeros(3, np.uint8)
    with pytest.raises(error):
        jit(f)(x)
    np.testing.assert_array_equal(x, 0)


def test_setitem_python_scalar_truncates_like_numpy():
    def f(x, y):
        x[0] = 2.75
        x[1:] = -1.5
        y[...] = 300.0  # a float into float32 / int into float: plain conversion
        return x, y

    check(f, lambda: (np.zeros(3, np.int32), np.zeros(2, np.float32)))


def test_setitem_value_with_extra_leading_unit_axes():
    def f(x, z):
        x[1:] = np.ones((1, 1, 3)) * 7
        z[...] = np.full((1,), 4.0)[None]
        x[0, ...] = np.arange(3.0)[None]
        return x, z

    check(f, lambda: (grid(3, 3), np.array(0.0)))


def test_setitem_single_element_with_array_raises():
    def f(x):
        x[0, 1] = np.ones(1)
        return x

    with pytest.raises(ValueError):
        f(grid(2, 2))
    with pytest.raises(ValueError):
        jit(f)(grid(2, 2))


def test_zero_d_indexing_result_types():
    def f(z, v):
        return z[()], z[...], v[..., 1], v[1], v[1, ...], v[None, 1]

    check(f, lambda: (np.array(2.5), grid(3)))


def test_empty_reversed_slice_of_length_one_axis():
    def f(x):
        e = x[-2::-1]
        e[...] = 9.0  # writes nothing
        return e, x[None, -3::-1], x

    check(f, lambda: (grid(1),))


def test_constant_index_out_of_bounds_raises_even_if_unused():
    def f(x):
        x[[0, 5]]  # NumPy raises here even though the result is unused
        return x * 2

    with pytest.raises(IndexError):
        f(grid(3))
    with pytest.raises(IndexError):
        jit(f)(grid(3))


def test_empty_list_index_assignment():
    def f(x):
        x[[]] = 5.0
        return x

    check(f, lambda: (grid(3),))


def test_where_python_int_wraps_into_small_int_dtype():
    def f(x):
        return np.where(x > 0, 300, x), np.where(x > 0, x, -1)

    check(f, lambda: (np.array([0, 5], np.int8), ))
    check(f, lambda: (np.array([0, 5], np.uint8), ))


def test_comparison_of_python_ints_into_out():
    def f(x, n):
        np.equal(n, n, out=x)
        return x, np.less(n, 3)

    check(f, lambda: (np.array(0.0), 2))


def test_inplace_through_fancy_index_no_accumulation():
    def f(x):
        x[[0, 0, 2]] += 1  # duplicates: NumPy adds once
        x[np.array([1, -1])] *= 10
        return x

    check(f, lambda: (grid(4),))


def test_ravel_copies_unless_c_contiguous():
    def f(a, b):
        r = np.ravel(a)      # (2, 1) with a gap between rows: NumPy copies
        r[:] = -1
        q = b.ravel()        # a 1-d strided view: NumPy copies as well
        q[0] = -2
        s = a.reshape(-1)    # ... although reshape can make this one a view
        s[1] = -3
        return a, b, r, q

    check(f, lambda: (grid(2, 3)[:, :1], grid(6)[::2]))


def test_add_at_float_into_int_is_refused():
    # NumPy adds in float and truncates after each addition; rather than differ from
    # that for negative partial sums, tracejit asks for an explicit cast.
    def f(x, i, v):
        np.add.at(x, i, v)

    with pytest.raises(TypeError, match="np.add.at.*astype"):
        jit(f)(np.zeros(3, np.int64), np.array([0, 0]), np.array([0.5, 0.5]))


@pytest.mark.parametrize("value_shape", [(1, 0), (2, 0), (0, 1), (0,), (3, 0, 1), (0, 0),
                                         (1, 1, 0), (2, 1), (1, 1, 1), (0, 3)])
@pytest.mark.parametrize("target_shape, index", [((1,), [0]), ((3,), [0, 1, 2]),
                                                  ((0,), []), ((2, 3), [0, 1])])
def test_index_array_assignment_takes_the_values_numpy_takes(value_shape, target_shape,
                                                               index):
    """x[index_array] = value: NumPy drops leading length-1 axes of the value and lets an
    empty value with extra leading axes fill an empty target; anything else that does
    not broadcast is a ValueError (found by the random programs: a (1, 0) value was taken
    as empty and filled a length-1 target)."""
    def f(x, v):
        x[np.array(index, dtype=np.intp)] = v
        return x

    x, v = np.zeros(target_shape), np.ones(value_shape)
    try:
        want = f(x.copy(), v)
    except ValueError:
        with pytest.raises(ValueError):
            jit(f, backend="numpy")(x.copy(), v)
        return
    assert_same(jit(f, backend="numpy")(x.copy(), v), want)
