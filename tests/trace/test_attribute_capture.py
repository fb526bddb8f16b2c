"""Arrays reached through objects are captures: read at call time, written back.

An array the jitted function reaches through an attribute or item of an object (an
argument, a global, a closure variable, a module, a bound method's object, a partial's
argument) is read on every call through the same path, as NumPy would read it: an
attribute rebound to a new array, or changed in place, is seen without a retrace (a new
shape or dtype retraces), an object replaced by another one is never served from the old
one's arrays, and writes through the path (in place, or by rebinding the attribute to a
computed array) are visible after the call. What cannot be replayed is refused with an
error naming the function and the path. Every case runs the plain function beside the
jitted one where it can.
"""

from __future__ import annotations

import collections
import functools
import types
from dataclasses import dataclass

import numpy as np
import pytest
from support import assert_same

import tracejit
from tracejit import errors


def jit(f=None, **kw):
    kw.setdefault("backend", "numpy")
    return tracejit.jit(f, **kw) if f is not None else tracejit.jit(**kw)


class Box:
    def __init__(self, w=None, **attrs):
        self.w = np.ones(3) if w is None else w
        self.__dict__.update(attrs)


# --- the reported bug: a method reading self.w ---------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_attribute_rebound_between_calls_is_read(backend):
    class M:
        def __init__(s):
            s.w = np.ones(3)

        @tracejit.jit(backend=backend)
        def __call__(s, x):
            return x @ s.w

    m = M()
    assert m(np.ones(3)) == 3.0
    m.w = np.full(3, 5.0)  # a new array of the same shape: read, no retrace
    assert m(np.ones(3)) == 15.0
    m.w[:] = 7.0  # the new array changed in place
    assert m(np.ones(3)) == 21.0
    info = M.__call__.cache_info()
    assert (info.traces, info.hits) == (1, 2)


def test_attribute_new_shape_and_dtype_retrace():
    f = jit(lambda s, x: x * s.w)
    b = Box()
    assert_same(f(b, np.ones(3)), np.ones(3))
    b.w = np.arange(4.0)
    assert_same(f(b, np.ones(4)), np.arange(4.0))
    b.w = np.arange(4, dtype=np.float32)
    assert_same(f(b, np.ones(4, np.float32)), np.arange(4, dtype=np.float32))
    b.w = np.arange(4.0)
    b.w.flags.writeable = False
    assert_same(f(b, np.ones(4)), np.arange(4.0))
    assert f.cache_info().traces == 4


def test_another_object_of_the_same_type():
    f = jit(lambda s, x: x * s.w)
    a, b = Box(np.full(3, 2.0)), Box(np.full(3, 3.0))
    assert_same(f(a, np.ones(3)), np.full(3, 2.0))
    assert_same(f(b, np.ones(3)), np.full(3, 3.0))
    assert_same(f(a, np.ones(3)), np.full(3, 2.0))


def test_objects_equal_by_value_read_their_own_arrays():
    class Config:  # equal and hashed alike: one cache entry for both
        def __init__(self, w):
            self.w = w

        def __eq__(self, other):
            return isinstance(other, Config)

        def __hash__(self):
            return 1

    f = jit(lambda x, c: x * c.w, static_argnames="c")
    c1, c2 = Config(np.ones(3)), Config(np.full(3, 4.0))
    assert_same(f(np.ones(3), c1), np.ones(3))
    assert_same(f(np.ones(3), c2), np.full(3, 4.0))
    assert f.cache_info().traces == 1


def test_unhashable_object_argument():
    @dataclass
    class Params:  # eq=True makes it unhashable: keyed by identity
        w: np.ndarray
        b: np.ndarray

    def f(p, x):
        return x @ p.w + p.b

    jf = jit(f)
    p = Params(np.ones((3, 2)), np.zeros(2))
    x = np.arange(3.0)
    assert_same(jf(p, x), f(p, x))
    p.b = np.full(2, 10.0)
    assert_same(jf(p, x), f(p, x))
    q = Params(np.full((3, 2), 2.0), np.ones(2))
    assert_same(jf(q, x), f(q, x))


# --- writes through attributes -------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_in_place_update_through_attribute(backend):
    def step(s, x):
        s.w += x
        s.v[1:] = s.v[:-1] * 2
        return s.w.sum()

    jf = jit(step, backend=backend)
    for _ in range(2):
        a, b = Box(np.arange(3.0), v=np.arange(4.0)), Box(np.arange(3.0), v=np.arange(4.0))
        for _ in range(2):
            assert_same(jf(a, np.ones(3)), step(b, np.ones(3)))
            assert_same(a.w, b.w)
            assert_same(a.v, b.v)
    old = a.w
    a.w = np.zeros(3)  # writes go to the array the attribute holds now
    jf(a, np.ones(3))
    assert_same(a.w, np.ones(3))
    assert_same(old, np.arange(3.0) + 2)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_attribute_rebound_inside_the_function(backend):
    def step(s, x):
        s.w = s.w * 2 + x
        return s.w.sum()

    jf = jit(step, backend=backend)
    a, b = Box(), Box()
    first = a.w
    for _ in range(3):
        assert_same(jf(a, np.ones(3)), step(b, np.ones(3)))
        assert_same(a.w, b.w)
    assert_same(first, np.ones(3))  # rebinding leaves the old array alone
    assert a.w is not first and type(a.w) is np.ndarray


def test_new_attributes_and_items_set_to_traced_values():
    def f(s, x):
        s.out = x * 2
        s.total = (x * 2).sum()
        s.params["g"] = x + 1
        s.pair = (x, x * 3)
        return s.total

    jf = jit(f)
    for x in (np.ones(3), np.arange(3.0)):
        a, b = Box(params={}), Box(params={})
        assert_same(jf(a, x), f(b, x))
        for name in ("out", "total", "params", "pair"):
            assert_same(getattr(a, name), getattr(b, name), name)
        assert a.pair[0] is x  # NumPy binds the argument itself


def test_attribute_bound_to_an_argument_or_a_view_of_a_capture():
    def f(s, x):
        s.a = x
        s.b = s.w[1:]
        return x.sum()

    jf = jit(f)
    for _ in range(2):
        s, x = Box(np.arange(4.0)), np.ones(2)
        jf(s, x)
        assert s.a is x
        assert s.b.base is s.w and np.array_equal(s.b, np.arange(1.0, 4.0))


def test_attributes_exchanged():
    def f(s, x):
        s.a, s.b = s.b, s.a
        return x

    jf = jit(f)
    s = Box(a=np.zeros(2), b=np.ones(2))
    a0, b0 = s.a, s.b
    jf(s, np.ones(1))
    assert (s.a, s.b) == (b0, a0) or (s.a is b0 and s.b is a0)
    jf(s, np.ones(1))
    assert s.a is a0 and s.b is b0


def test_object_restored_after_the_trace_even_when_it_raises():
    def bad(s, x):
        s.w += 1
        raise RuntimeError("boom")

    jf = jit(bad)
    s = Box(params={"w": np.ones(2)}, items=[np.ones(2)])
    w, pw, item = s.w, s.params["w"], s.items[0]
    with pytest.raises(RuntimeError, match="boom"):
        jf(s, np.ones(3))
    assert s.w is w and s.params["w"] is pw and s.items[0] is item
    assert_same(w, np.ones(3))  # nothing was written: the call never ran


# --- paths: nested attributes, containers, modules, globals, closures ----------------


def test_nested_attributes():
    def f(s, x):
        return x * s.layer.w + s.layer.inner.b

    jf = jit(f)
    s = Box(layer=Box(np.ones(3), inner=Box(b=np.zeros(3))))
    x = np.arange(3.0)
    assert_same(jf(s, x), f(s, x))
    s.layer.w = np.full(3, 3.0)
    assert_same(jf(s, x), f(s, x))
    s.layer.inner = Box(b=np.full(3, -1.0))
    assert_same(jf(s, x), f(s, x))
    s.layer = Box(np.full(3, 5.0), inner=Box(b=np.ones(3)))
    assert_same(jf(s, x), f(s, x))
    assert jf.cache_info().traces == 1


def test_dicts_lists_and_tuples_held_by_an_argument():
    Pair = collections.namedtuple("Pair", "w b")

    def f(s, x):
        y = x * s.params["w"] + s.items[1] + s.pair.b + s.plain[0]
        s.params["w"] += 1
        s.items[0][:] = y
        return y

    jf = jit(f)

    def make(k):
        return Box(params={"w": np.full(3, k)}, items=[np.zeros(3), np.full(3, k)],
                   pair=Pair(np.ones(3), np.full(3, 2 * k)), plain=(np.full(3, 3 * k),))

    a, b = make(1.0), make(1.0)
    x = np.arange(3.0)
    for k in (1.0, 2.0, 3.0):
        assert_same(jf(a, x), f(b, x))
        assert_same(a.params["w"], b.params["w"])
        assert_same(a.items, b.items)
        a.items[1], b.items[1] = np.full(3, k), np.full(3, k)
        a.pair, b.pair = make(k).pair, make(k).pair
        a.params, b.params = {"w": np.full(3, k)}, {"w": np.full(3, k)}
    assert jf.cache_info().traces == 1


def test_dict_subclasses():
    class AttrDict(dict):  # an attribute-style config: p.w is p["w"]
        def __getattr__(self, name):
            return self[name]

        def __setattr__(self, name, value):
            self[name] = value

    def f(p, x):
        p.b += x
        return x * p.w + p.extra["v"]

    jf = jit(f)
    ordered = collections.OrderedDict(v=np.zeros(3))
    p, q = AttrDict(w=np.ones(3), b=np.zeros(3), extra=ordered), \
        AttrDict(w=np.ones(3), b=np.zeros(3), extra=collections.OrderedDict(v=np.zeros(3)))
    for k in (1.0, 2.0):
        assert_same(jf(p, np.ones(3)), f(q, np.ones(3)))
        assert_same(dict(p), dict(q))
        p.w, q.w = np.full(3, k), np.full(3, k)
        p.extra["v"], q.extra["v"] = np.full(3, -k), np.full(3, -k)
    assert jf.cache_info().traces == 1


def test_item_rebound_inside_the_function():
    def f(s, x):
        s.params["w"] = s.params["w"] - 0.5 * x
        s.items[0] = s.items[0] * 2
        return x

    jf = jit(f)
    a, b = Box(params={"w": np.ones(3)}, items=[np.ones(2)]), \
        Box(params={"w": np.ones(3)}, items=[np.ones(2)])
    for _ in range(3):
        jf(a, np.ones(3))
        f(b, np.ones(3))
        assert_same(a.params, b.params)
        assert_same(a.items, b.items)


def test_slots_object():
    class S:
        __slots__ = ("w", "n")

        def __init__(self):
            self.w = np.ones(3)
            self.n = 2

    def f(s, x):
        s.w += x
        return x * s.w * s.n

    jf = jit(f)
    a, b = S(), S()
    for w in (None, np.full(3, 3.0)):
        if w is not None:
            a.w, b.w = w.copy(), w.copy()
        assert_same(jf(a, np.ones(3)), f(b, np.ones(3)))
        assert_same(a.w, b.w)


GLOBAL_MODEL = Box(params={"w": np.ones(3)})
GLOBAL_PARAMS = {"w": np.ones(3)}
GLOBAL_PAIR = (np.ones(3), np.zeros(3))
MOD = types.ModuleType("tracejit_test_attribute_module")
MOD.W = np.ones(3)
MOD.inner = Box(np.ones(3))


def test_global_objects_dicts_and_tuples():
    global GLOBAL_PAIR

    def f(x):
        return x * GLOBAL_MODEL.w + GLOBAL_MODEL.params["w"] + GLOBAL_PARAMS["w"] \
            + GLOBAL_PAIR[0] * GLOBAL_PAIR[1]

    jf = jit(f)
    x = np.arange(3.0)
    assert_same(jf(x), f(x))
    GLOBAL_MODEL.w = np.full(3, 2.0)
    GLOBAL_MODEL.params["w"] = np.full(3, 3.0)
    GLOBAL_PARAMS["w"] = np.full(3, 4.0)
    GLOBAL_PAIR = (np.full(3, 5.0), np.ones(3))
    assert_same(jf(x), f(x))
    assert jf.cache_info().traces == 1


def test_module_attributes():
    def f(x):
        MOD.W += x
        return x * MOD.inner.w + MOD.W

    jf = jit(f)
    MOD.W, MOD.inner = np.ones(3), Box(np.ones(3))
    assert_same(jf(np.ones(3)), np.full(3, 3.0))
    assert_same(MOD.W, np.full(3, 2.0))
    MOD.W, MOD.inner = np.zeros(3), Box(np.full(3, 5.0))
    assert_same(jf(np.ones(3)), np.full(3, 6.0))
    assert_same(MOD.W, np.ones(3))
    assert jf.cache_info().traces == 1


def test_module_attribute_assignment_refused():
    def f(x):
        MOD.W = x * 2
        return x

    with pytest.raises(errors.UnsupportedFunctionError,
                       match=r"test_attribute_capture.py:\d+ .*\n.*MOD.W = x \* 2\n.*"
                             r"assigning global MOD.W.*\n  fix: mutate the array in place"):
        jit(f)(np.ones(3))


def test_closure_object():
    box = Box(np.ones(3), items=[np.ones(3)])

    def f(x):
        box.items[0] *= 2
        return x * box.w + box.items[0]

    jf = jit(f)
    assert_same(jf(np.ones(3)), np.full(3, 3.0))
    box.w, box.items = np.full(3, 10.0), [np.ones(3)]
    assert_same(jf(np.ones(3)), np.full(3, 12.0))
    assert_same(box.items[0], np.full(3, 2.0))


HELPER_W = np.ones(3)


class Helper:
    def __init__(self):
        self.w = np.ones(3)

    def apply(self, x):  # a method: tracejit runs it as it is, with its own globals
        return x * HELPER_W + self.w


def test_method_reading_a_module_global():
    global HELPER_W

    def f(h, x):
        return h.apply(x)

    jf = jit(f)
    h = Helper()
    assert_same(jf(h, np.ones(3)), np.full(3, 2.0))
    HELPER_W = np.full(3, 5.0)
    h.w = np.full(3, 10.0)
    assert_same(jf(h, np.ones(3)), np.full(3, 15.0))


# --- bound methods, partials ---------------------------------------------------------


def test_bound_method_jitted():
    h = Helper()
    jf = jit(h.apply)
    assert_same(jf(np.ones(3)), h.apply(np.ones(3)))
    h.w = np.full(3, 7.0)
    assert_same(jf(np.ones(3)), h.apply(np.ones(3)))
    assert jf.cache_info().traces == 1


def test_grad_of_bound_method():
    class Model:
        def __init__(self):
            self.w = np.ones(3)

        def loss(self, x):
            return ((x * self.w) ** 2).sum()

    m = Model()
    g = tracejit.grad(m.loss)
    assert_same(g(np.ones(3)), np.full(3, 2.0))
    m.w = np.full(3, 2.0)
    assert_same(g(np.ones(3)), np.full(3, 8.0))


def test_partial_with_object_and_array_arguments():
    def f(s, scale, x):
        scale *= 2  # the partial's own array, updated in place
        return x * s.w * scale

    s, scale = Box(), np.ones(3)
    jf = jit(functools.partial(f, s, scale))
    assert_same(jf(np.ones(3)), np.full(3, 2.0))
    s.w = np.full(3, 3.0)
    assert_same(jf(np.ones(3)), np.full(3, 12.0))
    assert_same(scale, np.full(3, 4.0))


# --- aliasing: several paths to one object -------------------------------------------


def test_shared_object_replaced_under_one_path():
    def f(s, x):
        return x * s.b.w

    jf = jit(f)
    inner = Box(np.ones(3))
    s = Box(a=inner, b=inner)
    assert_same(jf(s, np.ones(3)), np.ones(3))
    s.b = Box(np.full(3, 5.0))  # s.a still holds the old one: retraced, not stale
    assert_same(jf(s, np.ones(3)), np.full(3, 5.0))


def test_back_reference_replaced():
    def f(s, x):
        return x * s.child.parent.w

    jf = jit(f)
    s = Box(np.ones(3))
    s.child = Box(parent=s)
    assert_same(jf(s, np.ones(3)), np.ones(3))
    s.child.parent = Box(np.full(3, 7.0))
    assert_same(jf(s, np.ones(3)), np.full(3, 7.0))


def test_argument_also_held_by_an_attribute():
    def f(s, x):
        x += 1
        return s.w * 1

    jf = jit(f)
    for _ in range(2):
        a, b = Box(), Box()
        assert_same(jf(a, a.w), f(b, b.w))
        assert_same(a.w, b.w)
        assert_same(jf(a, np.zeros(3)), f(b, np.zeros(3)))
        assert_same(a.w, b.w)


GLOBAL_W = np.ones(3)


def test_argument_that_is_also_a_global():
    def f(x):
        return x + GLOBAL_W

    jf = jit(f)
    assert_same(jf(GLOBAL_W), f(GLOBAL_W))
    assert_same(jf(np.zeros(3)), f(np.zeros(3)))

    def g(x):
        x += 1
        return GLOBAL_W * 1

    jg = jit(g)
    GLOBAL_W[:] = 1.0
    assert_same(jg(np.zeros(3)), np.ones(3))
    assert_same(jg(GLOBAL_W), np.full(3, 2.0))  # the write is seen through the global
    GLOBAL_W[:] = 1.0


def test_same_array_twice_then_two_arrays():
    def f(x, y):
        return x + 2 * y

    jf = jit(f)
    a, b = np.ones(3), np.zeros(3)
    assert_same(jf(a, a), f(a, a))
    assert_same(jf(a, b), f(a, b))

    def g(x, y):
        x += 1
        return y * 1

    jg = jit(g)
    a, b = np.zeros(3), np.zeros(3)
    assert_same(jg(a, b), np.zeros(3))
    assert_same(jg(a, a), np.full(3, 2.0))  # NumPy: y is x, already incremented


# --- refused, loudly ----------------------------------------------------------------


def test_attribute_set_to_an_untraced_value_refused():
    def f(s, x):
        s.w = None
        return x

    s = Box()
    w = s.w
    with pytest.raises(errors.UnsupportedFunctionError,
                       match=r"(?s)test_attribute_capture.py:\d+ \(in f\).*def f\(s, x\).*"
                             r"assigning argument s.w: it held an array.*NoneType.*fix:"):
        jit(f)(s, np.ones(3))
    assert s.w is w


def test_attribute_deleted_refused():
    def f(s, x):
        del s.w
        return x

    s = Box()
    with pytest.raises(errors.UnsupportedFunctionError, match="deleting argument s.w"):
        jit(f)(s, np.ones(3))
    assert type(s.w) is np.ndarray


def test_list_resized_while_tracing_is_a_trace_time_side_effect():
    def f(s, x):
        s.log.append(x.shape)  # a Python side effect: while tracing only, as documented
        s.ws.append(s.ws[0] * 2)  # likewise: the tracer it appends stays a tracer
        return x * s.ws[0]

    jf = jit(f)
    w = np.ones(3)
    s = Box(log=[], ws=[w])
    assert_same(jf(s, np.ones(3)), np.ones(3))
    assert s.log == [(3,)] and s.ws[0] is w and len(s.ws) == 2
    s.ws = [np.full(3, 2.0)]
    assert_same(jf(s, np.ones(3)), np.full(3, 2.0))  # still read through s.ws[0]
    assert s.log == [(3,)] and len(s.ws) == 1


def test_object_holding_traced_values_assigned_refused():
    def f(s, x):
        s.cache = [Box(x * 2)]
        return x

    s = Box()
    with pytest.raises(errors.UnsupportedFunctionError,
                       match=r"assigning argument s.cache: the value assigned \(a list\) "
                             r"holds traced values inside an object"):
        jit(f)(s, np.ones(3))
    assert not hasattr(s, "cache")


def test_python_side_effects_on_attributes_still_happen_at_trace_time():
    def f(s, x):
        s.calls += 1  # not an array: runs while tracing only, as documented
        return x * s.w

    jf = jit(f)
    s = Box(calls=0)
    jf(s, np.ones(3))
    jf(s, np.ones(3))
    assert s.calls == 1


# --- loops, fast path ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_loop_reads_and_writes_attributes(backend):
    def f(s, x, n):
        for i in range(n):
            s.h[i % 3] += x[i % 3] * s.w[i % 3]
        return s.h.sum()

    jf = jit(f, backend=backend)
    a, b = Box(np.arange(3.0), h=np.zeros(3)), Box(np.arange(3.0), h=np.zeros(3))
    for k in (1.0, 2.0):
        assert_same(jf(a, np.ones(3), 5), f(b, np.ones(3), 5))
        assert_same(a.h, b.h)
        a.w, b.w = np.full(3, k), np.full(3, k)


def test_plain_function_keeps_the_fast_path_capturing_ones_do_not():
    plain = jit(lambda x: x * 2.0, backend="numba")
    plain(np.ones(3))
    plain(np.ones(3))
    assert plain._fast_kinds is not None and plain._fast_hits == 1

    reads = jit(lambda x: x * GLOBAL_MODEL.w, backend="numba")
    GLOBAL_MODEL.w = np.ones(3)
    reads(np.ones(3))
    reads(np.ones(3))
    assert reads._fast_kinds is None  # its captures are fetched and checked on every call
    GLOBAL_MODEL.w = np.full(3, 2.0)
    assert_same(reads(np.ones(3)), np.full(3, 2.0))


def test_explain_reports_a_changed_attribute():
    f = jit(lambda s, x: x * s.w)
    s = Box()
    f(s, np.ones(3))
    s.w = np.ones((2, 3))
    report = str(tracejit.explain(f, s, np.ones(3)))
    assert "cache miss" in report


def test_captured_globals_keep_their_order_across_processes(tmp_path):
    """Captured globals become graph inputs in order of first use, not in a set's
    hash-seeded order: otherwise every new process generated different source, and the
    disk cache never hit for a function that reads module-level arrays."""
    import subprocess
    import sys

    script = tmp_path / "model.py"
    script.write_text(
        "import numpy as np\nimport tracejit\n"
        "alpha, beta, gamma, delta = np.ones(3), np.ones(()), np.ones((2, 3)), 2.0 * np.ones(2)\n"
        "@tracejit.jit\ndef f(x):\n"
        "    return delta * (gamma @ alpha + beta) + x\n"
        "print(tracejit.show_source(f, np.ones(2)))\n")
    sources = set()
    for seed in ("1", "2", "3"):
        env = dict(__import__("os").environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        sources.add(done.stdout)
    assert len(sources) == 1, "\n----\n".join(sources)
