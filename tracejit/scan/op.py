"""The loop rows of the op table: `scan` (a counted loop) and `while` (a loop until a
condition fails), each with a body subgraph.

    carries', ys = scan(*consts, *carries, *xs)   body, n_consts, n_carry, length, reverse

runs `body(k, *consts, *carries, *x_k) -> (*carries, *y_k)` for k = 0 .. length-1 (or
length-1 .. 0 when `reverse`): `x_k = xs[k]` and `ys[k] = y_k`, so the per-step inputs
and the stacked outputs are indexed by k in both directions, as in JAX's `lax.scan`. The
counter k (int64) is the body's first input: loops indexing arrays by their counter read
it directly.

    carries' = while(*cond_consts, *body_consts, *carries)
               cond, body, n_cond_consts, n_body_consts

runs `carries = body(*body_consts, *carries)` while `cond(*cond_consts, *carries)` (a
boolean scalar) holds.

Both keep their bodies as `Graph`s in their params: a body is an ordinary graph, so every
pass, backend and transform treats it as one, recursively.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracejit.graph.interpret import eval_graph
from tracejit.graph.ir import Aval, Graph
from tracejit.graph.ops import Op, register

COUNTER = np.dtype(np.int64)


def scan_impl(*args: np.ndarray, body: Graph, n_consts: int, n_carry: int, length: int,
              reverse: bool) -> tuple[np.ndarray, ...]:
    """The reference loop: the body run by the interpreter once per step."""
    consts = list(args[:n_consts])
    carries = list(args[n_consts:n_consts + n_carry])
    xs = args[n_consts + n_carry:]
    y_avals = [v.aval for v in body.outputs[n_carry:]]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for k in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = eval_graph(body, np.int64(k), *consts, *carries, *(x[k] for x in xs))
        carries = [np.asarray(c) for c in outs[:n_carry]]
        for y, out in zip(ys, outs[n_carry:], strict=True):
            y[k] = out
    return tuple(carries) + tuple(ys)


def scan_infer(*avals: Aval, body: Graph, n_consts: int, n_carry: int, length: int,
               reverse: bool) -> list[Aval]:
    carries = list(avals[n_consts:n_consts + n_carry])
    xs = avals[n_consts + n_carry:]
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise ValueError(f"scan over {length} steps got a per-step input {x} whose first "
                             f"axis is not {length}")
    expected = [Aval((), COUNTER)] + list(avals[:n_consts]) + carries + \
        [Aval(x.shape[1:], x.dtype) for x in xs]
    check_signature("scan body inputs", [v.aval for v in body.inputs], expected)
    outs = [v.aval for v in body.outputs]
    check_signature("scan body carries (output vs input)", outs[:n_carry], carries)
    return carries + [Aval((length,) + a.shape, a.dtype) for a in outs[n_carry:]]


def while_impl(*args: np.ndarray, cond: Graph, body: Graph, n_cond_consts: int,
               n_body_consts: int) -> Any:
    cond_consts = list(args[:n_cond_consts])
    body_consts = list(args[n_cond_consts:n_cond_consts + n_body_consts])
    carries = [np.asarray(a) for a in args[n_cond_consts + n_body_consts:]]
    while bool(eval_graph(cond, *cond_consts, *carries)[0]):
        carries = [np.asarray(c) for c in eval_graph(body, *body_consts, *carries)]
    return tuple(carries)


def while_infer(*avals: Aval, cond: Graph, body: Graph, n_cond_consts: int,
                n_body_consts: int) -> list[Aval]:
    carries = list(avals[n_cond_consts + n_body_consts:])
    check_signature("while condition inputs", [v.aval for v in cond.inputs],
                    list(avals[:n_cond_consts]) + carries)
    if [v.aval for v in cond.outputs] != [Aval((), np.dtype(np.bool_))]:
        raise TypeError(f"a while condition must give one boolean scalar, not "
                        f"{', '.join(str(v.aval) for v in cond.outputs)}")
    check_signature("while body inputs", [v.aval for v in body.inputs],
                    list(avals[n_cond_consts:n_cond_consts + n_body_consts]) + carries)
    check_signature("while body carries (output vs input)",
                    [v.aval for v in body.outputs], carries)
    return carries


def check_signature(what: str, got: list[Aval], expected: list[Aval]) -> None:
    if list(got) != list(expected):
        raise TypeError(f"{what} do not match: ({', '.join(map(str, got))}) vs "
                        f"({', '.join(map(str, expected))})")


scan = register(Op("scan", scan_impl, scan_infer, "loop", nout=-1))
while_ = register(Op("while", while_impl, while_infer, "loop", nout=-1))
