"""Every ```python block of the user guide (docs/guide/*.md) runs.

The blocks of one page run in order in one namespace, as a reader would paste them into
one session, compiled under the page's own file name and line numbers (so tracebacks,
graph dumps and loop conversion see the Markdown lines). Info-string words after
`python` control a block:

- `no-run`: not run (shell-dependent, slow, or deliberately incomplete);
- `raises=Name`: must raise an exception whose class (or a base class) is named `Name`;
  a ```text block right after it quotes the message: its first line starts with the
  exception's name, and each later line must appear in the actual message.

Pages run on the test suite's backend (the NumPy interpreter, see conftest.py) unless a
block names one, or `TRACEJIT_DOCS_BACKEND` names another (`TRACEJIT_DOCS_BACKEND=auto`
runs them as a reader would, compiling each function); `tracejit.config` is restored after
each page.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import tracejit

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide"
FENCE = re.compile(r"^```(\w*)[ \t]*(.*)$")


@dataclasses.dataclass
class Block:
    lang: str
    words: list[str]
    line: int  # 1-based line of the block's first code line
    text: str


def blocks(path: Path) -> list[Block]:
    out, current, lines = [], None, path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if current is None and match:
            current = Block(match.group(1), match.group(2).split(), number + 1, "")
        elif current is not None and line.startswith("```"):
            out.append(current)
            current = None
        elif current is not None:
            current.text += line + "\n"
    assert current is None, f"{path.name}: unclosed code block at line {current.line - 1}"
    return out


def expected_error(block: Block) -> str | None:
    for word in block.words:
        if word.startswith("raises="):
            return word.split("=", 1)[1]
    return None


def check_quoted(path: Path, error: BaseException, quote: Block) -> None:
    first, *rest = quote.text.rstrip("\n").splitlines()
    names = {cls.__name__ for cls in type(error).__mro__}
    assert first.split(":")[0].split(".")[-1] in names, (path.name, quote.line, first)
    message = str(error)
    for line in rest:
        assert line.strip() in message, (
            f"{path.name}:{quote.line}: quoted line not in the message:\n{line.strip()}\n"
            f"actual message:\n{message}")


def run_page(path: Path) -> None:
    namespace: dict = {"__name__": f"guide_{path.stem.replace('-', '_')}"}
    page = blocks(path)
    for i, block in enumerate(page):
        if block.lang != "python" or "no-run" in block.words:
            continue
        # pad with newlines so the code's line numbers are the page's
        code = compile("\n" * (block.line - 1) + block.text, str(path), "exec")
        error_name = expected_error(block)
        try:
            # the interpreter warns where NumPy would (a page may show a naive formula)
            with redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                exec(code, namespace)
        except Exception as error:
            names = {cls.__name__ for cls in type(error).__mro__}
            if error_name is None or error_name not in names:
                raise AssertionError(f"{path.name}:{block.line}: block raised") from error
            follows = page[i + 1] if i + 1 < len(page) else None
            if follows is not None and follows.lang == "text":
                check_quoted(path, error, follows)
        else:
            assert error_name is None, f"{path.name}:{block.line}: expected {error_name}"


PAGES = sorted(GUIDE.glob("*.md"))


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_guide_page_runs(path):
    saved = dataclasses.asdict(tracejit.config)
    try:
        tracejit.config.backend = os.environ.get("TRACEJIT_DOCS_BACKEND", saved["backend"])
        run_page(path)
    finally:
        for name, value in saved.items():
            setattr(tracejit.config, name, value)


def test_guide_has_the_pages_the_issue_asks_for():
    names = {p.stem for p in PAGES}
    assert {"getting-started", "tracing", "loops", "gradients", "backends", "caching",
            "debugging", "performance", "faq"} <= names
