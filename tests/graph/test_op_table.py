"""The op rows against NumPy, driven by the op-case table (tests/cases.py).

(a) For every case with a `Row`: the row's `infer` on the operands' avals gives the shape
    and dtype of NumPy's result, and its `impl` gives NumPy's values (bitwise; NaN == NaN;
    the sign of zero checked); where NumPy raises, the row raises the same built-in type.
(b) Every op in `OPS` has a case, and a row-level one.
(c) Edge values (inf, -inf, nan, -0.0, 0, integer extremes, 0-d and empty arrays) through
    the rows, bit for bit.
(d) Every equation the tracer records for a case: `infer`'s avals are what `impl` really
    returns, the graph typechecks, and the rows the case declares are recorded.
"""

from __future__ import annotations

import warnings

import cases
import numpy as np
import pytest

import tracejit
from tracejit import tree
from tracejit.graph import OPS, Aval, typecheck
from tracejit.graph.ops import run_impl


class Quiet:
    def __enter__(self):
        self.err = np.errstate(all="ignore")
        self.err.__enter__()
        self.warn = warnings.catch_warnings()
        self.warn.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self.warn.__exit__(*exc)
        self.err.__exit__(*exc)


def row_operands(case, values):
    """The row's operands: `Row.inputs`, or the arguments as arrays; for a ufunc row,
    cast to the loop NumPy resolves for them (Python scalars weak, as NEP 50 says)."""
    row = case.row
    if row.inputs is not None:
        return [np.asarray(v) for v in row.inputs(*values)]
    fn = OPS[row.op].numpy_fn
    if isinstance(fn, np.ufunc):
        types = tuple(type(v) if type(v) in (int, float, complex) else np.asarray(v).dtype
                      for v in values)
        loop = fn.resolve_dtypes(types + (None,) * fn.nout)
        return [np.asarray(v, dtype=dt) for v, dt in zip(values, loop, strict=False)]
    return [np.asarray(v) for v in values]


def row_params(kind):
    out = []
    for c in cases.CASES:
        if c.row is None:
            continue
        sets = c.args if kind == "args" else c.edge
        out += [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.row_marks)
                for a in sets if a.row]
    return out


def check_row(case, args):
    op = OPS[case.row.op]
    values = cases.copy_args(args.values)
    try:
        with Quiet():
            if case.row.expected is not None:
                expected = case.row.expected(*values)
            else:
                expected = case.fn(*values)
        np_exc = None
    except Exception as exc:  # noqa: BLE001
        np_exc = exc
    values = cases.copy_args(args.values)
    params = case.row.params_for(values)

    if np_exc is not None:
        if args.raises is None:
            raise AssertionError(f"NumPy raised {type(np_exc).__name__}: {np_exc}") from np_exc
        with pytest.raises(Exception) as info, Quiet():
            operands = row_operands(case, values)
            op.infer(*(Aval(o.shape, o.dtype) for o in operands), **params)
            run_impl(op, operands, params)
        cases.assert_same_exception(np_exc, info.value)
        return
    assert args.raises in (None, cases.MATCH), f"NumPy did not raise {args.raises.__name__}"

    operands = row_operands(case, values)
    avals = op.infer(*(Aval(o.shape, o.dtype) for o in operands), **params)
    with Quiet():
        outs = run_impl(op, operands, params)
    expected = [expected] if op.nout == 1 else list(expected)
    assert len(avals) == len(outs) == len(expected)
    assert op.nout in (-1, len(outs))
    for k, (aval, out, exp) in enumerate(zip(avals, outs, expected, strict=False)):
        exp = np.asarray(exp)
        assert aval == Aval(exp.shape, exp.dtype), \
            f"output {k}: infer gives {aval}, NumPy's result is {exp.dtype}{list(exp.shape)}"
        out = np.asarray(out)
        assert out.dtype == exp.dtype and out.shape == exp.shape, \
            f"output {k}: impl gives {out.dtype}{list(out.shape)}, NumPy " \
            f"{exp.dtype}{list(exp.shape)}"
        cases.assert_values(out, exp, case.exact, f"output {k}")


# --- (a) rows against NumPy ----------------------------------------------------------------


@pytest.mark.parametrize("case,args", row_params("args"))
def test_row_matches_numpy(case, args):
    check_row(case, args)


# --- (b) completeness ----------------------------------------------------------------------


def test_every_op_has_a_case():
    covered = {op for c in cases.CASES for op in c.ops}
    missing = sorted(set(OPS) - covered)
    assert not missing, f"ops in OPS with no case in tests/cases.py: {missing}"


def test_every_op_has_a_row_level_case():
    covered = {c.row.op for c in cases.CASES if c.row is not None}
    missing = sorted(set(OPS) - covered)
    assert not missing, f"ops in OPS with no row-level case (Case.row): {missing}"


def test_case_ops_are_rows():
    unknown = sorted({(c.name, op) for c in cases.CASES for op in c.ops if op not in OPS})
    assert not unknown, f"cases naming ops that are not in OPS: {unknown}"
    bad_rows = sorted(c.name for c in cases.CASES if c.row and c.row.op not in c.ops)
    assert not bad_rows, f"cases whose Row op is not among their ops: {bad_rows}"


# --- (c) edge values -----------------------------------------------------------------------


@pytest.mark.parametrize("case,args", row_params("edge"))
def test_row_edge_values(case, args):
    check_row(case, args)


def test_edge_values_cover_every_elementwise_row():
    """Every float elementwise ufunc row sees inf, -inf, nan and -0.0."""
    seen = set()
    for c in cases.CASES:
        if c.row is None or not c.edge:
            continue
        for a in c.edge:
            arrays = [np.asarray(v) for v in a.values]
            if any(x.dtype.kind in "fc" and np.isnan(x).any() and np.isinf(x).any()
                   for x in arrays):
                seen.add(c.row.op)
    float_rows = {name for name, op in OPS.items() if op.family == "elementwise"
                  and isinstance(op.numpy_fn, np.ufunc)
                  and any(t[0] in "efdgFDG" for t in op.numpy_fn.types)
                  and name not in ("ldexp",)}
    missing = sorted(float_rows - seen)
    assert not missing, f"elementwise rows with no inf/nan edge case: {missing}"


# --- (d) recorded equations ----------------------------------------------------------------


def graph_params():
    """Cases whose jit call succeeds (cases marked xfail for the jit tests are left out:
    their trace is what fails)."""
    return [pytest.param(c, a, id=f"{c.name}-{a.id}", marks=c.row_marks)
            for c in cases.CASES for a in c.args if a.raises is None
            and not any(m.name == "xfail" for m in c.marks if m not in c.row_marks)]


def input_value(leaf):
    if type(leaf) is float:
        return np.float64(leaf)
    if type(leaf) is complex:
        return np.complex128(leaf)
    return leaf


@pytest.mark.parametrize("case,args", graph_params())
def test_recorded_equations(case, args):
    jitted = tracejit.jit(case.fn)
    with Quiet():
        jitted(*cases.copy_args(args.values))
    (entry,) = jitted._cache.values()  # noqa: SLF001 - the traced graph of that call
    traced = entry.traced
    graph = traced.graph
    typecheck(graph)
    recorded = {e.op for e in graph.eqns}
    missing = sorted(set(case.ops) - recorded)
    assert not missing, f"case declares ops {missing} but the trace records {sorted(recorded)}"

    values = cases.copy_args(args.values)
    leaves, _ = tree.flatten(jitted.canonical(values, {}))
    inputs = [input_value(leaves[i]) for i in traced.arg_leaves] + \
        [ext.accessor() for ext in traced.captures]
    env = dict(zip(graph.inputs, inputs, strict=True))
    for i, eqn in enumerate(graph.eqns):
        with Quiet():
            outs = run_impl(OPS[eqn.op], [env[v] for v in eqn.inputs], eqn.params)
        for var, out in zip(eqn.outputs, outs, strict=True):
            arr = np.asarray(out)
            assert (arr.shape, arr.dtype) == (var.shape, var.dtype), (
                f"equation {i} {eqn.op}({', '.join(str(v.aval) for v in eqn.inputs)}, "
                f"{eqn.params}): infer gave {var.aval}, impl returned "
                f"{arr.dtype}{list(arr.shape)}")
            env[var] = out
