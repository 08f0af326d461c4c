"""Every Python code block of README.md and docs/ runs (tests/docs/blocks.py says how).

Each page runs in its own process (the frameworks' global state stays apart), in an empty working
directory, with the hub offline, on the embedded all-MiniLM-L6-v2 or models the page itself saves;
several pages run at once (conftest.py's `page_runs`). A failure names the page, the line of the block
and the error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, documentation_pages, python_blocks
from tests.docs.conftest import PAGES, page_id


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_python_block_of_the_page_runs(page, page_runs):
    done = page_runs.result(page_id(page))
    assert done.returncode == 0, "\n".join([*done.failed, "", done.stderr[-3000:]])


def test_the_pages_with_code_are_found():
    names = {page_id(p) for p in PAGES}
    assert {"README.md", "docs/export.md", "docs/conversion.md"} <= names


def test_skip_markers_are_rare_and_give_a_reason():
    skipped = [b for p in documentation_pages() for b in python_blocks(p) if b.skip]
    total = sum(len(python_blocks(p)) for p in documentation_pages())
    assert len(skipped) <= max(2, total // 10), [f"{b.where}: {b.skip}" for b in skipped]
    assert all(b.skip.strip() for b in skipped)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_are_python_fences_in_order_with_their_lines(tmp_path):
    page = write(
        tmp_path,
        "# t\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n~~~py\ny = x + 1\n~~~\n\n````python\nz = '```'\n````\n",
    )
    blocks = python_blocks(page)
    assert [(b.line, b.code) for b in blocks] == [(3, "x = 1\n"), (11, "y = x + 1\n"), (15, "z = '```'\n")]


def test_a_skip_marker_needs_a_reason(tmp_path):
    page = write(tmp_path, "<!-- skip: needs a GPU -->\n\n```python\nimport nothing\n```\n")
    assert python_blocks(page)[0].skip == "needs a GPU"
    with pytest.raises(ValueError, match="a skip marker needs a reason"):
        python_blocks(write(tmp_path, "<!-- skip: -->\n```python\nx = 1\n```\n"))


def test_an_unclosed_fence_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="page.md:1: a code fence that is never closed"):
        python_blocks(write(tmp_path, "```python\nx = 1\n"))


def test_a_failing_block_is_named_by_page_and_line(tmp_path):
    page = write(
        tmp_path, "```python\nvalue = 1\n```\n\n```python\nprint(value)\nraise KeyError('oops')\n```\n"
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docs" / "blocks.py"), str(page)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == f"FAILED {page}:5 (block 2): KeyError: 'oops'"
