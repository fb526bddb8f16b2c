"""Creation functions traced with NumPy's result dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import tracejit


@pytest.mark.parametrize("bounds", [(4,), (4.0,), (0, np.float32(4), 1), (np.int32(0), np.int32(5)),
                                    (0, 5, 0.5), (True, 5), (1, 7, 2)])
def test_arange_dtype_follows_all_bounds(bounds):
    f = tracejit.jit(lambda x: np.arange(*bounds) + 0 * x)
    x = np.ones(1, np.int8)
    got, want = f(x), np.arange(*bounds) + 0 * x
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
