"""The fast-path protocol of a jitted call, on both implementations: the C type
`tracejit._dispatch.Dispatch` and the pure-Python `tracejit.fastcall.PyDispatch`."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from tracejit import fastcall

try:
    from tracejit._dispatch import Dispatch as CDispatch
except ImportError:  # pragma: no cover - the extension is built by `pip install`
    CDispatch = None

BASES = [pytest.param(fastcall.PyDispatch, id="python"),
         pytest.param(CDispatch, id="c", marks=pytest.mark.skipif(
             CDispatch is None, reason="tracejit._dispatch was not built"))]


def make(base):
    class Probe(base):
        """Records what reached the general path and the failure hook."""

        def __init__(self):
            self.general = []
            self.failures = []

        def call_general(self, args, kwargs):
            self.general.append((args, kwargs))
            return "general"

        def run_failed(self, exc, args):
            self.failures.append((exc, args))

    return Probe()


def record(*args):
    return ("run", args)


def remembering_one_array(base):
    """A probe that has remembered a call with one float64 vector, and that vector."""
    d, x = make(base), np.ones(3)
    d._fast_install(b"a")
    d._fast_add((x,), record, (), None)
    return d, x


def test_the_extension_is_built_and_used():
    # `pip install` builds it wherever a C compiler is present, as on CI; without it
    # every cached call costs about 1 µs more
    assert CDispatch is not None
    assert fastcall.Dispatch is CDispatch


@pytest.mark.parametrize("base", BASES)
def test_a_remembered_call_runs_the_entry_with_traced_args_and_extra(base):
    d = make(base)
    x, y = np.ones(3), np.zeros(3)
    d._fast_install(b"aa")
    assert d._fast_add((x, y), record, (7,), None)
    out = d(x, y)
    assert out[0] == "run" and out[1][0] is x and out[1][1] is y and out[1][2] == 7
    assert d._fast_hits == 1 and d.general == [] and d._fast_keys == 1


@pytest.mark.parametrize("base", BASES)
def test_post_converts_the_result(base):
    d = make(base)
    d._fast_install(b"f")
    d._fast_add((1.5,), lambda v: v * 2, (), lambda out: ("post", out))
    assert d(2.5) == ("post", 5.0)


@pytest.mark.parametrize("base", BASES)
def test_keys_tell_apart_what_the_compiled_code_depends_on(base):
    d, x = remembering_one_array(base)
    readonly = x.copy()
    readonly.flags.writeable = False
    for other in [np.ones(4), np.ones(6)[::2], x.astype(np.float32), x.reshape(1, 3),
                  x.astype(">f8"), readonly, x.view(np.matrix), np.float64(1.0), 1.0,
                  [1.0, 1.0, 1.0]]:
        assert d(other) == "general"
    # structured dtypes: the same type number, other fields
    d._fast_add((np.zeros(3, dtype=[("u", "f8")]),), record, (), None)
    assert d(np.zeros(3, dtype=[("v", "f8")])) == "general"
    assert d(np.ones(3).copy())[0] == "run"  # a new array of the same kind hits


@pytest.mark.parametrize("base", BASES)
def test_floats_and_static_values(base):
    d = make(base)
    d._fast_install(b"fs")
    d._fast_add((1.0, 3), record, (), None)
    assert d(2.0, 3) == ("run", (2.0,))  # the static value is compiled in, not passed
    assert d(2j, 3) == "general"  # complex: another type
    assert d(2.0, 4) == "general"
    assert d(2.0, True) == "general"  # equal to 1 but of another type
    assert d(2.0, 3.0) == "general"
    assert d(2.0, [3]) == "general"  # unhashable: not a fast call
    assert d._fast_add((1.0, [3]), record, (), None) is False


@pytest.mark.parametrize("base", BASES)
def test_keyword_arguments_and_other_counts_take_the_general_path(base):
    d, x = remembering_one_array(base)
    assert d(x=x) == "general" and d.general[-1] == ((), {"x": x})
    assert d(x, x) == "general" and d() == "general"
    d._fast_install(None)
    assert d(x) == "general" and d._fast_kinds is None


@pytest.mark.parametrize("base", BASES)
def test_a_failing_entry_reports_and_propagates(base):
    d = make(base)
    x = np.ones(3)

    def fails(*args):
        raise IndexError("out of bounds")

    d._fast_install(b"a")
    d._fast_add((x,), fails, (), None)
    with pytest.raises(IndexError, match="out of bounds"):
        d(x)
    ((exc, args),) = d.failures
    assert isinstance(exc, IndexError) and args[0] is x and exc.__traceback__ is not None

    def located(exc, args):
        raise ValueError("at the user's line") from exc

    d.run_failed = located
    with pytest.raises(ValueError, match="user's line") as info:
        d(x)
    assert isinstance(info.value.__cause__, IndexError)


@pytest.mark.parametrize("base", BASES)
def test_many_arguments_high_ndim_and_the_key_limit(base):
    d = make(base)
    arrays = tuple(np.ones(k + 1) for k in range(40))
    d._fast_install(b"a" * 40)
    assert d._fast_add(arrays, lambda *a: len(a), (1, 2), None)
    assert d(*arrays) == 42

    d._fast_install(b"a")
    deep = np.ones((1,) * 32)
    d._fast_add((deep,), record, (), None)
    assert d(deep)[0] == "run"
    for n in range(2, fastcall.MAX_KEYS + 5):
        d._fast_add((np.ones(n),), record, (), None)
    assert d._fast_keys == fastcall.MAX_KEYS
    assert d._fast_add((np.ones(1000),), record, (), None) is False
    assert d(np.ones(1000)) == "general"


@pytest.mark.parametrize("base", BASES)
def test_adding_a_key_again_replaces_its_entry(base):
    d, x = remembering_one_array(base)
    d._fast_add((x,), lambda a: "second", (), None)
    assert d(x) == "second" and d._fast_keys == 1


@pytest.mark.parametrize("base", BASES)
def test_hits_are_settable_and_survive_a_new_pattern(base):
    d = make(base)
    d._fast_install(b"f")
    d._fast_add((1.0,), record, (), None)
    d(1.0)
    d(1.0)
    assert d._fast_hits == 2
    d._fast_install(b"a")
    assert d._fast_hits == 2 and d._fast_keys == 0
    d._fast_hits = 0
    assert d._fast_hits == 0


@pytest.mark.parametrize("base", BASES)
def test_an_instance_its_table_refers_to_is_collected(base):
    d = make(base)
    d._fast_install(b"a")
    d._fast_add((np.ones(3),), lambda a, owner=d: owner, (), None)
    ref = weakref.ref(d)
    del d
    gc.collect()
    assert ref() is None


def test_without_the_extension_jitted_functions_take_the_python_fast_path():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        sys.modules["tracejit._dispatch"] = None  # as if it had not been built
        import numpy as np
        import tracejit
        from tracejit import fastcall
        assert fastcall.Dispatch is fastcall.PyDispatch
        f = tracejit.jit(lambda x, y: x * y + 1.0)
        x = np.arange(4.0)
        for _ in range(3):
            out = f(x, 2.0)
        assert (out == x * 2.0 + 1.0).all(), out
        info = f.cache_info()
        assert f._fast_hits == 2 and (info.hits, info.misses) == (2, 1), info
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


@pytest.mark.parametrize("base", BASES)
def test_static_floats_are_keyed_by_their_bits_and_containers_never_static(base):
    d = make(base)
    d._fast_install(b"s")
    assert d._fast_add((0.0,), lambda: "zero", (), None)
    assert d._fast_add((-0.0,), lambda: "minus zero", (), None)
    assert d._fast_add((1j,), lambda: "i", (), None)
    assert (d(0.0), d(-0.0), d(1j), d(1.0)) == ("zero", "minus zero", "i", "general")
    assert d._fast_keys == 3
    d._fast_install(b"s")
    assert d._fast_add(((1, 2),), lambda: "tuple", (), None) is False  # (1, 2) == (1.0, 2.0)
    assert d((1, 2)) == "general"
    assert fastcall.position_kinds(((1, 2),), frozenset({0})) is None


@pytest.mark.parametrize("base", BASES)
def test_a_static_key_added_twice_counts_once(base):
    d = make(base)
    d._fast_install(b"as")
    x = np.ones(2)
    d._fast_add((x, 3), record, (), None)
    d._fast_add((x, 3), record, (), None)
    assert d._fast_keys == 1


@pytest.mark.parametrize("base", BASES)
def test_the_table_may_be_reset_while_an_entry_runs(base):
    d = make(base)
    x = np.ones(3)

    def resets(a):
        d._fast_install(b"as")  # drops the table holding this very entry
        d._fast_add((a, 1), record, (), None)
        return "ran"

    d._fast_install(b"a")
    d._fast_add((x,), resets, (), None)
    assert d(x) == "ran"
    assert d(x, 1) == ("run", (x,)) and d(x) == "general"


@pytest.mark.parametrize("base", BASES)
def test_failure_hook_sees_the_exception_being_handled_and_not_interrupts(base):
    import sys

    d = make(base)
    x = np.ones(3)
    seen = []

    def located(exc, args):
        seen.append(sys.exc_info()[1] is exc)
        raise ValueError("located")

    def fails(a):
        raise IndexError("out of bounds")

    d.run_failed = located
    d._fast_install(b"a")
    d._fast_add((x,), fails, (), None)
    with pytest.raises(ValueError) as info:
        d(x)
    assert seen == [True] and isinstance(info.value.__context__, IndexError)

    def interrupted(a):
        raise KeyboardInterrupt

    d._fast_add((x,), interrupted, (), None)
    with pytest.raises(KeyboardInterrupt):
        d(x)
    assert seen == [True]  # not reported: only an Exception is


def test_calls_with_static_arguments_take_the_fast_path():
    import tracejit

    signed = tracejit.jit(lambda x, s: x * np.copysign(1.0, s), static_argnums=1,
                          backend="numba")
    scaled = tracejit.jit(lambda x, t: x * t[0], static_argnames="t", backend="numba")
    counted = tracejit.jit(lambda x, n: x * n, backend="numba")
    x, small = np.arange(3.0), np.arange(3, dtype=np.int8)
    for _ in range(3):
        np.testing.assert_array_equal(signed(x, 0.0), x)
        np.testing.assert_array_equal(signed(x, -0.0), -x)
        assert scaled(small, t=(1, 2)).dtype == np.int8  # by keyword: general path
        assert scaled(small, t=(1.0, 2.0)).dtype == np.float64
        np.testing.assert_array_equal(counted(x, 3), x * 3)
    assert signed._fast_hits == 4 and counted._fast_hits == 2
