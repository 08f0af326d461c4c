"""docs/export.md's measured section: written by `python -m bert_zoo.export_report`, never by hand, for
every export of the embedded model and of a tiny model of every head, each within 1e-5."""

from __future__ import annotations

import re

from bert_zoo.export_report import CASES, END, START
from tests.docs.blocks import ROOT

PAGE = ROOT / "docs" / "export.md"


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text[text.index(START) : text.index(END) + len(END)]


def rows(table_title: str) -> dict[str, list[str]]:
    part = section().split(table_title, 1)[1].split("###", 1)[0]
    found = {}
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            line.startswith("| ")
            and not line.startswith("| ---")
            and cells[0] not in ("head", "output field")
        ):
            found[cells[0]] = cells[1:]
    return found


def as_float(cell: str) -> float:
    assert re.fullmatch(r"\d\.\de[+-]\d\d", cell), cell
    return float(cell)


def test_the_section_was_written_by_the_script():
    assert "<!-- Written by `python -m bert_zoo.export_report`; do not edit by hand. -->" in section()
    assert re.search(
        r"Measured with torch \S+, onnx \S+, onnxruntime \S+, jax \S+, flax \S+, on CPU\.", section()
    )


def test_the_embedded_model_is_measured_in_every_format_within_1e_5():
    table = rows("### all-MiniLM-L6-v2")
    assert set(table) == {"`last_hidden_state`", "`pooler_output`"}
    for cells in table.values():
        assert len(cells) == 3 and all(as_float(c) <= 1e-5 for c in cells)


def test_every_head_is_measured_in_every_format_within_1e_5():
    table = rows("### A tiny model of every head")
    assert set(table) == {c.replace("+cross", " (cross-attention)") for c in CASES}
    for cells in table.values():
        assert len(cells) == 4 and all(as_float(c) <= 1e-5 for c in cells[1:])
