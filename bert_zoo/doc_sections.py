"""The measured sections of the docs pages: one reader and writer for every script that rewrites one.

A page marks a section with two HTML comments, `start` and `end`, each the whole of its line and
invisible in the rendered page. A script measures something, renders the section (markers included)
and puts it in place of the old one; the rest of the page is left as it was. Used by
bert_zoo.export_report, bert_zoo.bench_bf16, scripts/bench_pipelines.py,
scripts/sweep_padding_threshold.py and scripts/training_report.py.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def replace_section(page: str, section: str, start: str, end: str, *, append: bool = False) -> str:
    """`page` with its first `start` ... `end` span (both markers included) replaced by `section`.

    section: the new text, beginning with `start` and ending with `end` (so the page can be rewritten
        again).
    append: when the page has no such span, add the section at its end (after one blank line) instead
        of raising.

    Raises:
        ValueError: `section` does not begin with `start` and end with `end`; the page lacks a marker
            (unless `append` and it lacks both) or has `end` before `start`.
    """
    if not (section.startswith(start) and section.endswith(end)):
        raise ValueError(f"the new section must begin with {start!r} and end with {end!r}")
    begin = page.find(start)
    finish = page.find(end, begin + len(start)) if begin >= 0 else -1
    if begin < 0 and end not in page and append:
        return page.rstrip() + "\n\n" + section + "\n"
    if begin < 0 or finish < 0:
        raise ValueError(f"the page has no {start} ... {end} section to replace")
    return page[:begin] + section + page[finish + len(end) :]


def write_section(
    path: str | os.PathLike[str], section: str, start: str, end: str, *, append: bool = False
) -> None:
    """Replace the marked section of the UTF-8 file `path` (see `replace_section`).

    The page is written to a temporary file beside it (with the page's permissions) and moved over it,
    so an interrupted write leaves the old page whole, never half of the new one.

    Raises:
        ValueError: as replace_section (the file is left unchanged). OSError: the file cannot be read
            or written.
    """
    path = Path(path)
    text = replace_section(path.read_text(encoding="utf-8"), section, start, end, append=append)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))  # mkstemp made it 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
