"""Views as data: a view of a buffer is a chain of steps applied to the buffer's value.

Reading a view replays its steps on the buffer's current version; writing through a view
replays them backwards (`unapply`), producing the buffer's next version. Strides are
tracked in elements, as NumPy lays the view out, so `reshape` is a view exactly when
NumPy's would be one (and a copy otherwise).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tracejit.graph.indexing import as_slice


class Step(NamedTuple):
    op: str  # "slice" | "reshape" | "transpose" | "real" | "imag"
    params: tuple

    def apply_numpy(self, x: np.ndarray) -> np.ndarray:
        """The same view of a concrete array (used to return views of arguments)."""
        if self.op == "slice":
            return x[tuple(as_slice(*t) for t in self.params)]
        if self.op == "reshape":
            return x.reshape(self.params)
        if self.op in ("real", "imag"):
            return getattr(x, self.op)
        return x.transpose(self.params)


def c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= max(d, 1)
    return tuple(reversed(strides))


def is_c_contiguous(shape: tuple[int, ...], strides: tuple[int, ...] | None) -> bool:
    """NumPy's C_CONTIGUOUS flag (length-1 axes' strides do not matter)."""
    if strides is None:
        return False
    if 0 in shape:
        return True
    expected = 1
    for d, s in zip(reversed(shape), reversed(strides), strict=True):
        if d != 1 and s != expected:
            return False
        expected *= d
    return True


def slice_strides(strides: tuple[int, ...], triples: tuple) -> tuple[int, ...]:
    return tuple(s * t[2] for s, t in zip(strides, triples, strict=True))


def reshape_strides(shape: tuple[int, ...], strides: tuple[int, ...] | None,
                    new_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Strides of `reshape` as a view, or None where NumPy must copy."""
    if strides is None:
        return None
    if 0 in shape:
        return c_strides(new_shape)
    old = [(d, s) for d, s in zip(shape, strides, strict=True) if d != 1]
    new_strides = [0] * len(new_shape)
    oi = ni = 0
    while ni < len(new_shape) and oi < len(old):
        n_prod, o_prod = new_shape[ni], old[oi][0]
        nj, oj = ni + 1, oi + 1
        while n_prod != o_prod:
            if n_prod < o_prod:
                n_prod *= new_shape[nj]
                nj += 1
            else:
                o_prod *= old[oj][0]
                oj += 1
        # the old axes oi..oj-1 must be laid out contiguously, outer to inner
        for k in range(oi, oj - 1):
            if old[k][1] != old[k + 1][0] * old[k + 1][1]:
                return None
        new_strides[nj - 1] = old[oj - 1][1]
        for k in range(nj - 1, ni, -1):
            new_strides[k - 1] = new_strides[k] * new_shape[k]
        ni, oi = nj, oj
    return tuple(new_strides)


def transpose_strides(strides: tuple[int, ...] | None, axes: tuple[int, ...]):
    return None if strides is None else tuple(strides[a] for a in axes)


def inverse_permutation(axes: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


def layout_of(array: np.ndarray) -> tuple[int, ...] | None:
    """Strides in elements of a concrete array, or None if not a whole number of items."""
    item = array.itemsize
    if item == 0 or any(s % item for s in array.strides):
        return None
    return tuple(s // item for s in array.strides)
