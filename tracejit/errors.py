"""Exceptions raised to users. Each subclasses the built-in a NumPy user would catch
(TypeError, ValueError, IndexError) and its message names the user's file and line, the
operation, the shapes and dtypes involved, and what to do instead."""

from __future__ import annotations

import linecache

import numpy as np

from tracejit.graph.ir import Source


class TracejitError(Exception):
    """Base of tracejit's user-facing errors."""

    def __init__(self, operation: str, detail: str, fix: str = "",
                 source: Source | None = None) -> None:
        self.operation = operation
        self.detail = detail
        self.fix = fix
        self.source = source
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.source is not None:
            where = f"{self.source.filename}:{self.source.lineno} (in {self.source.function}): "
            line = linecache.getline(self.source.filename, self.source.lineno).strip()
            if line:
                where = f"{where}\n    {line}\n  "
        text = f"{where}{self.operation}: {self.detail}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class ConcretizationError(TracejitError, TypeError):
    """A traced value was needed as a concrete Python value (bool(), float(), .item())."""


class LoopVaryingError(ConcretizationError):
    """A value that changes from one loop iteration to the next was needed as a Python
    value inside a loop tracejit compiles as one loop node."""


class LoopEscapeError(TracejitError, ValueError):
    """A value computed inside a compiled loop's body was used outside the loop."""


class LoopCarryError(TracejitError, TypeError):
    """A loop-carried value changes shape or dtype from one iteration to the next."""


class DataDependentShapeError(TracejitError, ValueError):
    """The result's shape would depend on array values (np.nonzero, np.unique)."""


class BooleanIndexError(DataDependentShapeError, IndexError):
    """`x[mask]` with a traced mask: its shape depends on the mask's values."""


class UnsupportedFunctionError(TracejitError, TypeError):
    """A NumPy function or argument form tracejit cannot trace."""


class UnsupportedArgumentError(TracejitError, TypeError):
    """An argument of a type tracejit cannot trace (object arrays, strings, ...)."""


class TraceShapeError(TracejitError, ValueError):
    """Shapes that do not broadcast, a matmul core mismatch, a bad reshape, ..."""


class TraceLinAlgError(TracejitError, np.linalg.LinAlgError):
    """A linear-algebra operand NumPy rejects (not square, not a matrix, ...)."""


class TraceTypeError(TracejitError, TypeError):
    """Dtypes with no NumPy loop, or an invalid cast."""


class TraceIndexError(TracejitError, IndexError):
    """An index out of bounds or of an invalid kind."""


class TraceAxisError(TraceShapeError, IndexError):
    """An axis out of range: like NumPy's AxisError, both a ValueError and an IndexError."""


class NotDifferentiableError(TracejitError, TypeError):
    """grad through an op without a derivative rule, or of a non-float argument."""


class BackendFallbackWarning(RuntimeWarning):
    """A compiled backend could not compile a graph; it runs on the NumPy interpreter."""
