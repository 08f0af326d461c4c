"""bert_zoo.doc_sections: the one writer of the measured sections of the docs pages."""

from __future__ import annotations

import os

import pytest

from bert_zoo.doc_sections import replace_section, write_section

START, END = "<!-- probe: start -->", "<!-- probe: end -->"


def test_replace_section_keeps_the_rest_of_the_page():
    page = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_section(page, f"{START}\nnew\n{END}", START, END) == f"intro\n{START}\nnew\n{END}\noutro\n"
    twice = page + f"{START}\nsecond\n{END}\n"  # only the first span is the section
    assert replace_section(twice, f"{START}\nnew\n{END}", START, END).count("second") == 1


def test_a_page_without_its_markers_is_an_error_unless_appending():
    with pytest.raises(ValueError, match="the page has no <!-- probe: start --> ... <!-- probe: end -->"):
        replace_section("no markers\n", f"{START}\nx\n{END}", START, END)
    with pytest.raises(ValueError, match="has no"):  # the end marker before the start one
        replace_section(f"{END}\n{START}\n", f"{START}\nx\n{END}", START, END)
    with pytest.raises(ValueError, match="has no"):  # one marker only: never appended
        replace_section(f"{START}\n", f"{START}\nx\n{END}", START, END, append=True)
    assert (
        replace_section("page\n\n", f"{START}\nx\n{END}", START, END, append=True)
        == f"page\n\n{START}\nx\n{END}\n"
    )


def test_the_new_section_must_carry_the_markers():
    with pytest.raises(ValueError, match="must begin with"):
        replace_section(f"{START}\n{END}", "no markers", START, END)


def test_write_section_replaces_the_file_whole_and_leaves_it_on_error(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"é intro\n{START}\nold\n{END}\n", encoding="utf-8")
    page.chmod(0o644)
    write_section(page, f"{START}\nnew\n{END}", START, END)
    assert page.stat().st_mode & 0o777 == 0o644  # the page's permissions, not the temporary file's
    assert page.read_text(encoding="utf-8") == f"é intro\n{START}\nnew\n{END}\n"
    with pytest.raises(ValueError):
        write_section(page, "unmarked", START, END)
    assert page.read_text(encoding="utf-8") == f"é intro\n{START}\nnew\n{END}\n"
    assert os.listdir(tmp_path) == ["page.md"]  # no temporary file left beside it
