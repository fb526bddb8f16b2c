"""Pytrees: nested tuples, lists, dicts and namedtuples of leaves.

`flatten(obj)` gives (leaves, treedef); the treedef is hashable and part of cache keys;
`unflatten(treedef, leaves)` rebuilds the same containers.
"""

from __future__ import annotations

from typing import Any

LEAF = None


def flatten(obj: Any) -> tuple[list[Any], Any]:
    leaves: list[Any] = []
    return leaves, _flatten(obj, leaves)


def _flatten(obj: Any, leaves: list[Any]) -> Any:
    kind = type(obj)
    if kind is tuple or kind is list:
        return (kind, tuple(_flatten(x, leaves) for x in obj))
    if kind is dict:
        return (dict, tuple(obj.keys()), tuple(_flatten(v, leaves) for v in obj.values()))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return (kind, tuple(_flatten(x, leaves) for x in obj))
    leaves.append(obj)
    return LEAF


def unflatten(treedef: Any, leaves: list[Any]) -> Any:
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(treedef: Any, it: Any) -> Any:
    if treedef is LEAF:
        return next(it)
    kind = treedef[0]
    if kind is dict:
        return {k: _unflatten(d, it) for k, d in zip(treedef[1], treedef[2], strict=True)}
    children = [_unflatten(d, it) for d in treedef[1]]
    if kind is tuple or kind is list:
        return kind(children)
    return kind(*children)


def leaf_paths(treedef: Any, prefix: str = "") -> list[str]:
    """A readable path per leaf: `[0]`, `['w']`, `[1][2]`, in flatten order."""
    if treedef is LEAF:
        return [prefix or "value"]
    kind = treedef[0]
    if kind is dict:
        return [p for k, d in zip(treedef[1], treedef[2], strict=True)
                for p in leaf_paths(d, f"{prefix}[{k!r}]")]
    return [p for i, d in enumerate(treedef[1]) for p in leaf_paths(d, f"{prefix}[{i}]")]


def argument_paths(treedef: Any, names: list[str]) -> list[str]:
    """Leaf paths of a tuple of parameter values, rooted at the parameter names."""
    return [p for name, d in zip(names, treedef[1], strict=True) for p in leaf_paths(d, name)]
