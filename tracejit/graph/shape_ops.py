"""Shape ops: reshape, transpose, broadcast_to, concatenate.

Every NumPy shape function (squeeze, expand_dims, moveaxis, stack, tile, flip, roll, ...)
is traced into these four plus slicing (`indexing.py`), so a backend that implements
this small set implements them all.
"""

from __future__ import annotations

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, broadcast_shapes, normalize_axis, probe_dtypes, register


def reshape_impl(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    return np.reshape(x, shape)


def reshape_infer(x: Aval, *, shape: tuple[int, ...]) -> list[Aval]:
    if int(np.prod(shape, dtype=np.int64)) != x.size or any(d < 0 for d in shape):
        raise ValueError(f"cannot reshape array of size {x.size} into shape {tuple(shape)}")
    return [Aval(tuple(shape), x.dtype)]


def transpose_impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    return np.transpose(x, axes)


def transpose_infer(x: Aval, *, axes: tuple[int, ...]) -> list[Aval]:
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"axes {tuple(axes)} don't match array of {x.ndim} dimensions")
    return [Aval(tuple(x.shape[a] for a in axes), x.dtype)]


def broadcast_to_impl(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(x, shape)


def broadcast_to_infer(x: Aval, *, shape: tuple[int, ...]) -> list[Aval]:
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != tuple(shape):
        raise ValueError(f"cannot broadcast an array of shape {x.shape} to shape {tuple(shape)}")
    return [Aval(tuple(shape), x.dtype)]


def concatenate_impl(*xs: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def concatenate_infer(*xs: Aval, axis: int) -> list[Aval]:
    first = xs[0]
    if first.ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis(axis, first.ndim)
    for x in xs[1:]:
        same = x.ndim == first.ndim and all(
            a == b for i, (a, b) in enumerate(zip(x.shape, first.shape, strict=True)) if i != axis)
        if not same:
            raise ValueError("all the input array dimensions except for the concatenation "
                             f"axis must match exactly, but got shapes "
                             f"{', '.join(str(v.shape) for v in xs)} along axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    dtypes = probe_dtypes(concatenate_impl, tuple(x.dtype for x in xs), (1,) * len(xs),
                          (("axis", 0),))
    return [Aval(tuple(shape), dtypes[0])]


reshape = register(Op("reshape", reshape_impl, reshape_infer, "shape", numpy_fn=np.reshape))
transpose = register(Op("transpose", transpose_impl, transpose_infer, "shape",
                        numpy_fn=np.transpose))
broadcast_to = register(Op("broadcast_to", broadcast_to_impl, broadcast_to_infer, "shape",
                           numpy_fn=np.broadcast_to))
concatenate = register(Op("concatenate", concatenate_impl, concatenate_infer, "shape",
                          numpy_fn=np.concatenate))
