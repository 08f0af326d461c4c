"""Derive the tables of bert_tf/unicode_tables.py: where TensorFlow's Unicode data and the tables compiled
into Hugging Face `tokenizers` disagree.

    python scripts/derive_unicode_tables.py > /tmp/tables.py

Runs every code point (all of Unicode but the surrogates and NUL) through the Rust BertNormalizer /
BertPreTokenizer and through the TensorFlow operations TFBertTokenizer uses, one normalization step at a
time, and prints each disagreement table; paste the output between `# BEGIN GENERATED` and
`# END GENERATED` in bert_tf/unicode_tables.py (and run `ruff format` on it). Needs tensorflow,
tensorflow-text and tokenizers; takes a few minutes. This is a maintenance tool, not part of the library.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import tensorflow as tf
import tensorflow_text as tf_text
from tokenizers import normalizers, pre_tokenizers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bert_tf.tokenizer_ops import ASCII_PUNCTUATION, CONTROL, WHITESPACE


def to_ranges(code_points: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sorted code points -> inclusive (first, last) runs."""
    out: list[tuple[int, int]] = []
    for cp in sorted(set(code_points)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return tuple(out)


def _format(name: str, value: Sequence[tuple[int, int]], kind: str = "Ranges") -> str:
    """The Python source of one table, as unicode_tables.py holds it."""
    lines = [f"{name}: {kind} = ("]
    row: list[str] = []
    for a, b in value:
        row.append(f"(0x{a:X}, 0x{b:X}),")
        if len(row) == 5:
            lines.append("    " + " ".join(row))
            row = []
    if row:
        lines.append("    " + " ".join(row))
    lines.append(")")
    return "\n".join(lines) if value else f"{name}: {kind} = ()"


def derive_tables() -> dict[str, Sequence[tuple[int, int]]]:
    """Probe `tokenizers` and TensorFlow with every code point and return the disagreement tables.

    Each table is measured against the raw TensorFlow operation (no table applied), one normalization
    step at a time, on single characters ("a" + c + "b" for the pre-tokenizer).
    """
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c != 0]
    chars = [chr(c) for c in code_points]
    text = tf.constant(chars)

    def hf(lower: bool, strip: bool, clean: bool) -> list[str]:
        normalizer = normalizers.BertNormalizer(
            clean_text=clean, handle_chinese_chars=False, strip_accents=strip, lowercase=lower
        )
        return [normalizer.normalize_str(c) for c in chars]

    def decoded(tensor: tf.Tensor) -> list[str]:
        return [value.decode("utf-8") for value in tensor.numpy()]

    tables: dict[str, list[int] | list[tuple[int, int]]] = {}
    # clean_text: controls and format characters removed
    ref = hf(False, False, True)
    removed = tf.strings.regex_replace(text, f"[{CONTROL}\\p{{Cf}}\\p{{Co}}\\x{{FFFD}}]", "")
    mine = decoded(tf.strings.regex_replace(removed, f"[{WHITESPACE}]", " "))
    tables["FORMAT_KEPT"] = [c for c, r, m in zip(code_points, ref, mine) if r == chr(c) and m == ""]
    tables["CONTROL_EXTRA"] = [c for c, r, m in zip(code_points, ref, mine) if r == "" and m != ""]
    # strip_accents: NFD, then nonspacing marks dropped
    ref = hf(False, True, False)
    nfd = decoded(tf_text.normalize_utf8(text, "NFD"))
    tables["NFD_KEPT"] = [c for c, r, n in zip(code_points, ref, nfd) if r == chr(c) and n != chr(c)]
    mine = decoded(tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFD"), r"\p{Mn}", ""))
    tables["MARKS_KEPT"] = [c for c, r, m in zip(code_points, ref, mine) if r == chr(c) and m == ""]
    tables["MARKS_EXTRA"] = [c for c, r, m in zip(code_points, ref, mine) if r == "" and m == chr(c)]
    # lowercase: Rust's per-character to_lowercase against ICU
    ref = hf(True, False, False)
    mine = decoded(tf.strings.lower(text, encoding="utf-8"))
    lower = []
    for c, r, m in zip(code_points, ref, mine):
        if r != m:
            if len(r) != 1:
                raise ValueError(
                    f"U+{c:04X} lowercases to {len(r)} characters; the table holds single characters"
                )
            lower.append((c, ord(r)))
    tables["LOWERCASE_EXTRA"] = lower
    # BertPreTokenizer: punctuation split off
    splitter = pre_tokenizers.BertPreTokenizer()
    probes = ["a" + c + "b" for c in chars]
    punctuation = f"[{ASCII_PUNCTUATION}\\p{{P}}]"
    words = tf_text.regex_split(tf.constant(probes), f"[{WHITESPACE}]|{punctuation}", punctuation).to_list()
    not_split, extra = [], []
    for c, probe, row in zip(code_points, probes, words):
        ref_words = [w for w, _ in splitter.pre_tokenize_str(probe)]
        if len(ref_words) == 1 and len(row) == 3:
            not_split.append(c)
        elif len(ref_words) == 3 and len(row) == 1:
            extra.append(c)
    tables["PUNCTUATION_NOT_SPLIT"] = not_split
    tables["PUNCTUATION_EXTRA"] = extra
    return {
        name: (value if name == "LOWERCASE_EXTRA" else to_ranges(value))  # type: ignore[arg-type]
        for name, value in tables.items()
    }


def main() -> None:
    """Print the tables, ready to paste between BEGIN GENERATED and END GENERATED."""
    tables = derive_tables()
    order = (
        "FORMAT_KEPT",
        "CONTROL_EXTRA",
        "MARKS_KEPT",
        "MARKS_EXTRA",
        "NFD_KEPT",
        "PUNCTUATION_NOT_SPLIT",
        "PUNCTUATION_EXTRA",
    )
    for name in order:
        print(_format(name, tables[name]))
    print(_format("LOWERCASE_EXTRA", tables["LOWERCASE_EXTRA"], "tuple[tuple[int, int], ...]"))


if __name__ == "__main__":
    main()
