"""The Python code blocks of the documentation, and running them.

A block is a fenced block whose info string is `python` (or `py`). The blocks of one page run in page
order in one namespace, in an empty working directory, with the hub offline (HF_HUB_OFFLINE=1): a block
may use what an earlier block of the same page defined, never what another page did. A block right
after an HTML comment `<!-- skip: reason -->` (blank lines between are allowed) is not run; the reason
is required and says why (data that is not available here, for example).

    python tests/docs/blocks.py docs/export.md               # run one page's blocks, as the tests do
    python tests/docs/blocks.py --keep-going docs/keras.md   # go on after a failure: list every one
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SKIP = re.compile(r"^\s*<!--\s*skip:(?P<reason>.*?)-->\s*$")


@dataclass
class Block:
    """One Python block: its page, the line of its opening fence (1-based), its code and, when marked,
    why it is not run."""

    page: str
    line: int
    code: str
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def documentation_pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(path: Path) -> list[Block]:
    """The Python blocks of the Markdown file `path`, in order.

    Raises:
        ValueError: a skip marker without a reason, or a fence that is never closed.
    """
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip().split()
        start = i
        i += 1
        body = []
        while i < len(lines) and not _closes(lines[i], fence):
            body.append(
                lines[i][len(match["indent"]) :] if lines[i].startswith(match["indent"]) else lines[i]
            )
            i += 1
        if i == len(lines):
            raise ValueError(f"{page}:{start + 1}: a code fence that is never closed")
        i += 1
        if info and info[0] in ("python", "py"):
            blocks.append(Block(page, start + 1, "\n".join(body) + "\n", _skip_reason(lines, start, page)))
    return blocks


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a block opened by `fence`: the same character, at least as many, alone."""
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {fence[0]}


def _skip_reason(lines: list[str], fence_index: int, page: str) -> str | None:
    j = fence_index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    match = _SKIP.match(lines[j]) if j >= 0 else None
    if match is None:
        return None
    reason = match["reason"].strip()
    if not reason:
        raise ValueError(f"{page}:{fence_index + 1}: a skip marker needs a reason: <!-- skip: why -->")
    return reason


def run_page(path: Path, keep_going: bool = False) -> int:
    """Run the page's blocks (see the module docstring); prints one line per block; returns 0 when
    every block ran, 1 at the first that raised (its traceback follows), or with `keep_going` after
    the last block (later failures may follow from an earlier one)."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    failed = 0
    for number, block in enumerate(python_blocks(path), start=1):
        if block.skip:
            print(f"skipped {block.where} (block {number}): {block.skip}", flush=True)
            continue
        start = time.perf_counter()
        try:
            exec(compile(block.code, f"{block.where} (block {number})", "exec"), namespace)
        except BaseException as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            print(f"FAILED {block.where} (block {number}): {type(err).__name__}: {first}", flush=True)
            traceback.print_exc()
            if not keep_going:
                return 1
            failed = 1
            continue
        print(f"ran {block.where} (block {number}) in {time.perf_counter() - start:.1f}s", flush=True)
    return failed


if __name__ == "__main__":
    keep = "--keep-going" in sys.argv[1:]
    pages = [a for a in sys.argv[1:] if a != "--keep-going"]
    sys.exit(max(run_page(Path(page).resolve(), keep_going=keep) for page in pages))
