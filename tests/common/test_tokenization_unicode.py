"""The slow tokenizer's character tables against the Rust library, code point by code point.

Every code point of planes 0-3 and 14 (where characters are assigned) and a sample of the others goes
through the slow normalizer and pre-tokenizer and through the Rust BertNormalizer / BertPreTokenizer,
for each normalization option. They must agree on every one: the slow tokenizer reads the library's
own Unicode data (bert_common/tokenization/unicode_tables.py), never Python's `unicodedata` tables,
whose version differs (Python 3.11 ships Unicode 14; the library's category tables are older, its
lowercasing newer). With Python's tables the default options disagreed on 559 code points (nonspacing
marks, punctuation and format characters newer than the library's tables, U+166D, letters Rust
lowercases that Unicode 14 does not have); the reference is the library itself.
"""

from __future__ import annotations

import string

import pytest
from tokenizers import normalizers, pre_tokenizers

from bert_common.tokenization import BertTokenizer
from bert_common.tokenization import unicode_tables as tables
from bert_common.tokenization.chars import (
    ASCII_PUNCTUATION,
    ASCII_PUNCTUATION_RANGES,
    CONTROL_RANGES,
    MARK_RANGES,
    PUNCTUATION_RANGES,
    WHITESPACE,
    WHITESPACE_RANGES,
    combining_class,
    lower_char,
    nfd_char,
    range_chars,
)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ASSIGNED_PLANES = [*range(0x40000), *range(0xE0000, 0xF0000)]
CODE_POINTS = [c for c in ASSIGNED_PLANES if not 0xD800 <= c < 0xE000] + list(range(0x40000, 0xE0000, 257))
CODE_POINTS += [*range(0xF0000, 0x110000, 257), 0x10FFFD, 0x10FFFE, 0x10FFFF]


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
            bad.extend(f"U+{ord(ch):04X}" for ch in chunk if not agree(f"x{ch}x"))
    return bad


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"do_lower_case": False, "strip_accents": True},
        {"do_lower_case": True, "strip_accents": False},
        {
            "do_lower_case": False,
            "strip_accents": False,
            "clean_text": False,
            "tokenize_chinese_chars": False,
        },
    ],
    ids=["bert-defaults", "cased-strip", "lower-keep-accents", "cased-raw"],
)
def test_every_code_point_agrees_with_rust(options):
    slow = BertTokenizer.from_vocab(SPECIALS, **options)
    bad = _disagreements(slow)
    assert bad == [], f"{len(bad)} code points differ, e.g. {bad[:10]}"


def test_characters_newer_than_one_side_s_tables():
    # the examples of the issue: each differed between slow and fast before the tables were shared
    slow = BertTokenizer.from_vocab(SPECIALS)
    rust = normalizers.BertNormalizer(lowercase=True, strip_accents=None)
    splitter = pre_tokenizers.BertPreTokenizer()
    for text in ["a\u0890b", "a\u2e5db", "a\u0898b", "a\u166db", "\u1c89", "a\U00011938b", "x\u1734y"]:
        assert slow.normalize_str(text) == rust.normalize_str(text), f"{text!r}"
        words = slow.pre_tokenize_str(slow.normalize_str(text))
        assert words == splitter.pre_tokenize_str(rust.normalize_str(text)), f"{text!r}"


def test_cjk_block_starts_as_in_rust():
    # Transformers' Python tokenizer starts a CJK block at U+2B820; the Rust library at U+2B920
    slow = BertTokenizer.from_vocab(SPECIALS)
    assert slow.normalize_str("\U0002b820") == "\U0002b820"
    assert slow.normalize_str("\U0002b920") == " \U0002b920 "


def test_the_shared_character_tables():
    # bert_common.tokenization.chars is the one copy of the tables; bert_tf builds its RE2 classes and
    # maps from them, so each table must be exactly the character set it names, read off Rust
    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    splitter = pre_tokenizers.WhitespaceSplit()  # Rust char::is_whitespace
    rust_whitespace = {ch for ch in bmp if len(splitter.pre_tokenize_str(f"a{ch}b")) == 2}
    assert set(range_chars(WHITESPACE_RANGES)) == WHITESPACE == rust_whitespace
    clean = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
    )
    removed = {ch for ch in bmp if clean.normalize_str(ch) == ""} - {"\ufffd"}
    assert {ch for ch in range_chars(CONTROL_RANGES) if ord(ch) < 0x10000} == removed
    bert_split = pre_tokenizers.BertPreTokenizer()
    punctuation = {ch for ch in bmp if len(bert_split.pre_tokenize_str(f"a{ch}b")) == 3}
    assert {ch for ch in range_chars(PUNCTUATION_RANGES) if ord(ch) < 0x10000} == punctuation
    assert set(range_chars(ASCII_PUNCTUATION_RANGES)) == ASCII_PUNCTUATION == set(string.punctuation)
    strip = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False
    )
    nfd = normalizers.NFD()
    marks = {ch for ch in bmp if nfd.normalize_str(ch) == ch and strip.normalize_str(ch) == ""}
    assert {ch for ch in range_chars(MARK_RANGES) if ord(ch) < 0x10000} == marks
    lower = normalizers.Lowercase()
    assert [ch for ch in bmp if lower_char(ch) != lower.normalize_str(ch)] == []
    assert [ch for ch in bmp if nfd_char(ch) != nfd.normalize_str(ch)] == []
    assert lower_char("\u0130") == "i\u0307" and lower_char("\u03a3") == "\u03c3"


def test_combining_classes_order_as_in_rust():
    # NFD sorts each run of combining characters by class: every class-carrying character against a
    # representative of each class sorts as in Rust
    nfd = normalizers.NFD()
    representatives = {value: chr(low) for low, _, value in tables.COMBINING}
    for low, high, value in tables.COMBINING:
        ch = chr(low)
        assert combining_class(ch) == value and combining_class(chr(high)) == value
        for other_value, other in representatives.items():
            expected = "a" + (other + ch if other_value < value else ch + other)
            assert nfd.normalize_str("a" + ch + other) == expected
    assert combining_class("a") == 0
