"""Indexing ops: basic slicing (`slice`, `set_slice`) and integer-array indexing
(`gather`, `scatter`, and `scatter_add`, which is `np.add.at`: repeated indices
accumulate, the transpose of `gather`).

`slice` takes normalized per-axis (start, stop, step) triples as `slice.indices` gives
them, so every axis is present and steps may be negative. Integer indices and `None` are
traced as `slice` + `reshape`. `gather`/`scatter` carry a static `spec` describing the
index tuple, one item per position: ``("s", start, stop, step)`` a slice, ``("a",)`` the
next index-array input, ``("n",)`` a new axis; its shape rule is NumPy's advanced-indexing
rule (adjacent advanced indices keep their place, separated ones move to the front).
"""

from __future__ import annotations

import numpy as np

from tracejit.graph.ir import Aval
from tracejit.graph.ops import Op, broadcast_shapes, register

Triple = tuple[int, int, int]


def as_slice(start: int, stop: int, step: int) -> slice:
    # slice.indices gives stop=-1 for a reversed slice that runs through index 0; as a
    # Python slice that -1 would mean "the last element", so spell it None. An empty
    # reversed slice can also have start=-1 (x[-2::-1] of length 1): spell it 0:0.
    if not len(range(start, stop, step)):
        return slice(0, 0, 1)
    return slice(start, None if stop < 0 else stop, step)


def slice_len(start: int, stop: int, step: int) -> int:
    return len(range(start, stop, step))


def slice_impl(x: np.ndarray, *, triples: tuple[Triple, ...]) -> np.ndarray:
    return x[tuple(as_slice(*t) for t in triples)]


def slice_infer(x: Aval, *, triples: tuple[Triple, ...]) -> list[Aval]:
    if len(triples) != x.ndim:
        raise ValueError(f"slice of a {x.ndim}-d array needs {x.ndim} triples")
    return [Aval(tuple(slice_len(*t) for t in triples), x.dtype)]


def set_slice_impl(x: np.ndarray, update: np.ndarray, *,
                   triples: tuple[Triple, ...]) -> np.ndarray:
    out = np.array(x, copy=True)
    out[tuple(as_slice(*t) for t in triples)] = update
    return out


def set_slice_infer(x: Aval, update: Aval, *, triples: tuple[Triple, ...]) -> list[Aval]:
    (target,) = slice_infer(x, triples=triples)
    if update.shape != target.shape or update.dtype != x.dtype:
        raise ValueError(f"set_slice update {update} does not match the slice {target}")
    return [Aval(x.shape, x.dtype)]


def spec_index(spec: tuple, arrays: tuple) -> tuple:
    """Rebuild the NumPy index tuple from a static spec and the index arrays."""
    it = iter(arrays)
    index = []
    for item in spec:
        if item[0] == "s":
            index.append(as_slice(*item[1:]))
        elif item[0] == "a":
            index.append(next(it))
        else:
            index.append(None)
    return tuple(index)


def gather_shape(x_shape: tuple[int, ...], spec: tuple, index_shapes: list) -> tuple:
    adv_shape = broadcast_shapes(*index_shapes)
    positions = [i for i, item in enumerate(spec) if item[0] == "a"]
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    dims: list = []
    axis = 0
    for item in spec:
        if item[0] == "s":
            dims.append(slice_len(*item[1:]))
            axis += 1
        elif item[0] == "n":
            dims.append(1)
        else:
            dims.append(None)  # placeholder for an advanced index
            axis += 1
    if axis != len(x_shape):
        raise IndexError(f"index spec covers {axis} axes of a {len(x_shape)}-d array")
    basic_before = [d for d in dims[: positions[0]] if d is not None]
    basic_after = [d for d in dims[positions[0]:] if d is not None]
    if adjacent:
        return tuple(basic_before) + adv_shape + tuple(basic_after)
    return adv_shape + tuple(d for d in dims if d is not None)


def gather_impl(x: np.ndarray, *indices: np.ndarray, spec: tuple) -> np.ndarray:
    return np.asarray(x[spec_index(spec, indices)])


def gather_infer(x: Aval, *indices: Aval, spec: tuple) -> list[Aval]:
    for idx in indices:
        if idx.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be of integer type, got {idx.dtype}")
    return [Aval(gather_shape(x.shape, spec, [i.shape for i in indices]), x.dtype)]


def scatter_impl(x: np.ndarray, update: np.ndarray, *indices: np.ndarray,
                 spec: tuple) -> np.ndarray:
    out = np.array(x, copy=True)
    out[spec_index(spec, indices)] = update
    return out


def scatter_infer(x: Aval, update: Aval, *indices: Aval, spec: tuple) -> list[Aval]:
    (target,) = gather_infer(x, *indices, spec=spec)
    if update.shape != target.shape or update.dtype != x.dtype:
        raise ValueError(f"scatter update {update} does not match the indexed region {target}")
    return [Aval(x.shape, x.dtype)]


def scatter_add_impl(x: np.ndarray, update: np.ndarray, *indices: np.ndarray,
                     spec: tuple) -> np.ndarray:
    out = np.array(x, copy=True)
    np.add.at(out, spec_index(spec, indices), update)
    return out


slice_ = register(Op("slice", slice_impl, slice_infer, "indexing"))
set_slice = register(Op("set_slice", set_slice_impl, set_slice_infer, "indexing"))
gather = register(Op("gather", gather_impl, gather_infer, "indexing"))
scatter = register(Op("scatter", scatter_impl, scatter_infer, "indexing"))
scatter_add = register(Op("scatter_add", scatter_add_impl, scatter_infer, "indexing"))
