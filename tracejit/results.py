"""What a compiled call's results become: the outputs the caller gets (arrays realized
once per buffer, views rebuilt on the real arguments), and the inputs whose memory the
compiled code may take because the write-back overwrites them anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.placement import is_device_array
from tracejit.trace.driver import Traced
from tracejit.trace.views import Step


def donated_inputs(traced: Traced) -> dict[int, int]:
    """Graph inputs whose arrays the write-back overwrites after the call, that no
    returned value is or reads after it: the compiled code may reuse their memory.
    Maps each such input's position to the position of the output written into it."""
    graph, n = traced.graph, len(traced.arg_leaves)
    written = dict(traced.writebacks)
    returned = {graph.outputs[s[1]] for s in traced.out_specs if s[0] in ("var", "subview")}
    donated = {}
    for i, v in enumerate(graph.inputs):
        pos = written.get(("arg", traced.arg_leaves[i]) if i < n else ("capture", i - n))
        if pos is not None and v not in graph.outputs and graph.outputs[pos] not in returned:
            donated[i] = pos
    return donated


def input_value(leaf: Any) -> Any:
    kind = type(leaf)
    if kind is float:
        return np.float64(leaf)
    if kind is complex:
        return np.complex128(leaf)
    return leaf


def shares_memory(a: np.ndarray, b: np.ndarray) -> bool:
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=10_000))
    except np.exceptions.TooHardError:
        return True


def fresh_value(value: Any, inputs: list[Any], fresh: bool) -> Any:
    """`value` as an array owning its memory, unless it is safe to read after writes
    into the input arrays (it is neither an input nor a view of anything)."""
    if isinstance(value, np.ndarray) and ((value.base is not None and not fresh)
                                          or any(value is x for x in inputs)):
        return value.copy()
    return value


def output_value(spec: tuple, results: list[Any], realized: dict[int, Any],
                 fresh: bool) -> Any:
    """An output leaf from the graph's results. Arrays are realized once per buffer
    (`realized`), so returning `y, y[1:]` gives a view of the returned `y`, as NumPy."""
    tag = spec[0]
    if tag == "static":
        return spec[1]
    if tag == "subview":
        _, pos, steps, _, copy = spec
        value = realize(pos, results, realized, copy, fresh)
        for step in steps:
            value = Step.apply_numpy(step, value)
        return value
    _, pos, kind, copy = spec
    if kind == "python":
        return results[pos].item()
    if kind == "scalar":  # a device's 0-d array stays on the device, as CuPy's own
        value = results[pos]
        return value if is_device_array(value) else np.asarray(value)[()]
    return realize(pos, results, realized, copy, fresh)


def realize(pos: int, results: list[Any], realized: dict[int, Any], copy: bool,
            fresh: bool) -> Any:
    value = realized.get(pos)
    if value is None:
        value = results[pos]
        if copy or not isinstance(value, np.ndarray) or (value.base is not None and not fresh) \
                or not value.flags.writeable:
            value = np.array(value, copy=True)
        realized[pos] = value
    return value


def view_value(spec: tuple, leaves: list[Any], captured: list[Any]) -> Any:
    """A returned view of an argument or captured array: the same view of the real one."""
    (kind, where), steps = spec[1], spec[2]
    value = leaves[where] if kind == "arg" else captured[where]
    for step in steps:
        value = Step.apply_numpy(step, value)
    return value
