"""The slow tokenizer's character tables against the Rust library, code point by code point.

Every code point of planes 0-2 and 14 goes through the slow normalizer and pre-tokenizer and through
the Rust BertNormalizer / BertPreTokenizer. They may disagree only where the two sides' Unicode data
differ: Python 3.11 ships Unicode 14, the Rust library partly older tables (its category crate) and
partly newer ones (Rust's own lowercasing). Such a code point is one that is

- unassigned in Python's table (category Cn), or
- assigned after Unicode 3.2 (Python keeps that table as `unicodedata.ucd_3_2_0`) and, in Python's
  table, a mark (Mn, Mc), a format character (Cf) or punctuation (P*), the categories whose newer
  members the Rust tables miss, or
- a character whose category changed since Unicode 3.2 (e.g. U+166D, punctuation then, a symbol now).

Anything else (a letter, a symbol such as an emoji, a CJK ideograph, a space) must agree; a wrong
table or rule in the slow tokenizer fails here.
"""

from __future__ import annotations

import string
import unicodedata

import pytest
from tokenizers import normalizers, pre_tokenizers

from bert_common.tokenization import BertTokenizer
from bert_common.tokenization.chars import (
    ASCII_PUNCTUATION,
    ASCII_PUNCTUATION_RANGES,
    CONTROL_RANGES,
    WHITESPACE,
    WHITESPACE_RANGES,
    range_chars,
)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CODE_POINTS = [c for c in [*range(0x30000), *range(0xE0000, 0xE1000)] if not 0xD800 <= c < 0xE000]
UNICODE_VERSION_CATEGORIES = {"Mn", "Mc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}


def explained_by_unicode_versions(ch: str) -> bool:
    """True for a character whose properties differ between Unicode versions (see the module doc)."""
    now, then = unicodedata.category(ch), unicodedata.ucd_3_2_0.category(ch)
    if now == "Cn":
        return True
    if then == "Cn":
        return now in UNICODE_VERSION_CATEGORIES
    return then != now


def _disagreements(slow: BertTokenizer, chunk_size: int = 1024) -> list[str]:
    rust_normalizer = normalizers.BertNormalizer(
        clean_text=slow.clean_text,
        handle_chinese_chars=slow.tokenize_chinese_chars,
        strip_accents=slow.strip_accents,
        lowercase=slow.do_lower_case,
    )
    rust_pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    def agree(text: str) -> bool:
        normalized = slow.normalize_str(text)
        return normalized == rust_normalizer.normalize_str(text) and slow.pre_tokenize_str(
            normalized
        ) == rust_pre_tokenizer.pre_tokenize_str(normalized)

    bad = []
    for start in range(0, len(CODE_POINTS), chunk_size):
        chunk = [chr(c) for c in CODE_POINTS[start : start + chunk_size]]
        # "x" between characters keeps combining marks from different code points apart
        if not agree("x".join(chunk)):
            bad.extend(ch for ch in chunk if not agree(f"x{ch}x"))
    return bad


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {},
        {
            "do_lower_case": False,
            "strip_accents": False,
            "clean_text": False,
            "tokenize_chinese_chars": False,
        },
    ],
    ids=["bert-defaults", "cased-raw"],
)
def test_every_code_point_agrees_with_rust(options):
    slow = BertTokenizer.from_vocab(SPECIALS, **options)
    bad = _disagreements(slow)
    unexplained = [
        f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in bad if not explained_by_unicode_versions(ch)
    ]
    assert unexplained == []
    assert len(bad) < 1000  # a handful of recent additions, not a broken table


def test_the_sweep_catches_a_wrong_table():
    # a deliberately wrong CJK range (Transformers' Python one, starting at U+2B820) would show up
    ch = "\U0002b820"
    assert not explained_by_unicode_versions(ch)
    slow = BertTokenizer.from_vocab(SPECIALS)
    assert slow.normalize_str(ch) == ch  # not isolated with spaces, as in the Rust library


def test_the_shared_character_tables():
    # bert_common.tokenization.chars is the one copy of the tables; bert_tf builds its RE2 classes from
    # the *_RANGES, so each range table must be exactly the character set it names (the CJK ranges are
    # checked against Rust by the sweep above)
    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    splitter = pre_tokenizers.WhitespaceSplit()  # Rust char::is_whitespace
    rust_whitespace = {ch for ch in bmp if len(splitter.pre_tokenize_str(f"a{ch}b")) == 2}
    assert set(range_chars(WHITESPACE_RANGES)) == WHITESPACE == rust_whitespace
    control = {ch for ch in bmp if unicodedata.category(ch) == "Cc"} - set("\t\n\r")
    assert set(range_chars(CONTROL_RANGES)) == control
    assert set(range_chars(ASCII_PUNCTUATION_RANGES)) == ASCII_PUNCTUATION == set(string.punctuation)
