"""Helpers the generated modules import. Compiled into each module's code, so their
source is part of every module's cache key (see `cache.fingerprint`)."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload


def scalar_of(x):
    """A 0-d argument as a scalar: NumPy scalars pass through, 0-d arrays are read."""
    return x[()] if isinstance(x, np.ndarray) else x


@overload(scalar_of)
def scalar_of_overload(x):
    if isinstance(x, types.Array):
        return lambda x: x[()]
    return lambda x: x
