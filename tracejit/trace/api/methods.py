"""ndarray attributes and methods on Tracer, each forwarding to its NumPy function."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.trace.api import creation, shapes
from tracejit.trace.tracer import Tracer, astype, bind, fresh

FORWARDED = ["sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "any",
             "all", "cumsum", "cumprod", "clip", "round", "squeeze", "swapaxes", "take",
             "repeat", "nonzero", "dot", "conj", "conjugate", "ravel", "copy"]


def forward(name: str):
    fn = getattr(np, name)

    def method(self: Tracer, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Same as np.{name}(self, ...)."
    return method


for _name in FORWARDED:
    setattr(Tracer, _name, forward(_name))


def reshape(self: Tracer, *shape: Any, order: str = "C", copy: Any = None) -> Tracer:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return shapes.reshape(self, shape, order, copy=copy)


def transpose(self: Tracer, *axes: Any) -> Tracer:
    if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
        axes = axes[0]
    return shapes.transpose(self, axes or None)


def flatten(self: Tracer, order: str = "C") -> Tracer:
    return bind("reshape", [self], {"shape": (self.size,)}, kind="array")


def astype_method(self: Tracer, dtype: Any, order: str = "K", casting: str = "unsafe",
                  subok: bool = True, copy: bool = True) -> Tracer:
    result = astype(self, dtype, kind="array" if self.ndim else self.kind)
    return fresh(self._ctx, result.sym, result.kind) if result is self and copy else result


def conj_method(self: Tracer) -> Any:
    """x.conj(): NumPy returns x itself for a real x (np.conj(x) makes a copy)."""
    return self if self.dtype.kind != "c" else np.conjugate(self)


def fill(self: Tracer, value: Any) -> None:
    self[...] = value


Tracer.reshape = reshape
Tracer.transpose = transpose
Tracer.flatten = flatten
Tracer.astype = astype_method
Tracer.fill = fill
Tracer.conj = Tracer.conjugate = conj_method
Tracer.T = property(lambda self: shapes.transpose(self))
Tracer.mT = property(lambda self: shapes.swapaxes(self, -1, -2))
Tracer.real = property(lambda self: np.real(self))
Tracer.imag = property(lambda self: np.imag(self))
Tracer.flat = property(lambda self: shapes.ravel(self))
Tracer.__copy__ = lambda self: creation.copy(self)
Tracer.__deepcopy__ = lambda self, memo: creation.copy(self)
