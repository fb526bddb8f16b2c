"""The package as users install it: a version, a changelog entry for it, type hints on the
public API and the `py.typed` marker that makes type checkers read them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import tracejit

ROOT = Path(__file__).resolve().parent.parent


def test_version_is_pep440_and_in_the_changelog():
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", tracejit.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {tracejit.__version__} " in changelog


def test_pyproject_takes_the_version_from_the_package_and_ships_py_typed():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "tracejit.__version__"}
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["tracejit"]
    assert (ROOT / "tracejit" / "py.typed").exists()


def unannotated(fn) -> list[str]:
    sig = inspect.signature(fn)
    missing = [name for name, p in sig.parameters.items()
               if name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_public_api_is_annotated():
    missing = {}
    for name in tracejit.__all__:
        obj = getattr(tracejit, name)
        if inspect.isfunction(obj):
            missing[name] = unannotated(obj)
        elif inspect.isclass(obj) and obj.__module__.startswith("tracejit"):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and (not attr.startswith("_")
                                                   or attr in ("__init__", "__call__")):
                    missing[f"{name}.{attr}"] = unannotated(member)
    assert not {k: v for k, v in missing.items() if v}
