"""Character rules of BERT's normalizer and pre-tokenizer, as the Rust `tokenizers` library defines them.

The one copy of the character tables: the pure-Python `BertTokenizer` tests characters with the
predicates below, and `bert_tf.tokenizer_ops` builds its RE2 character classes from the same ranges
(`*_RANGES`, inclusive `(low, high)` code point pairs; a single code point is `(cp, cp)`).

- White_Space (Rust `char::is_whitespace`): split on by the pre-tokenizer, mapped to " " by clean_text.
- Control characters: clean_text removes categories Cc, Cf, Co and Cs (not Cn), keeping \\t \\n \\r;
  `CONTROL_RANGES` is the Cc part of that, the one fixed table (the other categories are looked up).
- ASCII punctuation (Rust `is_ascii_punctuation`, i.e. `string.punctuation`) and Unicode P*: split off.
- CJK ideographs: padded with spaces by tokenize_chinese_chars.

`normalize_char` and `normalize_reordering` apply the BertNormalizer steps to characters, tracking for
every output character the input character it came from.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]

# Rust's char::is_whitespace: the Unicode White_Space property. Unlike str.isspace() it excludes
# U+001C..U+001F; unlike Transformers' Python tokenizer it includes \x0b \x0c \x85 and U+2028/U+2029
# (those that are also control characters are removed by clean_text before this matters).
WHITESPACE_RANGES: Ranges = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2028),
    (0x2029, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
# General category Cc except \t \n \r: the control characters clean_text removes by table.
CONTROL_RANGES: Ranges = ((0x00, 0x08), (0x0B, 0x0B), (0x0C, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F))
# CJK ideograph blocks, as in the Rust BertNormalizer. Note 0x2B920 (Transformers' Python tokenizer
# starts that block at 0x2B820; the Rust library, our reference, does not treat U+2B820..U+2B91F as CJK).
CJK_RANGES: Ranges = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# ASCII punctuation and symbols, all split off by BertPreTokenizer (the characters of string.punctuation).
ASCII_PUNCTUATION_RANGES: Ranges = ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E))
# Categories clean_text removes (Rust's `is_other` minus Cn: unassigned code points are kept).
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})


def range_chars(ranges: Iterable[tuple[int, int]]) -> str:
    """The characters of inclusive code point ranges, in order."""
    return "".join(chr(cp) for low, high in ranges for cp in range(low, high + 1))


WHITESPACE = frozenset(range_chars(WHITESPACE_RANGES))
WHITESPACE_STR = "".join(sorted(WHITESPACE))
ASCII_PUNCTUATION = frozenset(range_chars(ASCII_PUNCTUATION_RANGES))


def is_whitespace(ch: str) -> bool:
    """White_Space property (Rust char::is_whitespace)."""
    return ch in WHITESPACE


def is_control(ch: str) -> bool:
    """A character clean_text removes: category Cc, Cf, Co or Cs, except tab, newline and carriage return."""
    return ch not in "\t\n\r" and unicodedata.category(ch) in CONTROL_CATEGORIES


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation (including $ + < = > ^ ` | ~) or a Unicode punctuation category P*."""
    return ch in ASCII_PUNCTUATION or unicodedata.category(ch)[0] == "P"


def is_chinese_char(ch: str) -> bool:
    """A CJK ideograph that tokenize_chinese_chars isolates."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def normalize_char(ch: str, clean_text: bool, chinese: bool, strip: bool, lower: bool) -> tuple[str, int]:
    """What BertNormalizer makes of one character: (output, marks).

    ch: one character. clean_text / chinese / strip / lower: the normalizer steps (clean_text,
    tokenize_chinese_chars, strip_accents resolved to a bool, do_lower_case).
    Returns the output text (empty when removed, " c " around a CJK ideograph) and how many non-Mn
    combining characters (canonical combining class > 0) its NFD holds: two or more in a text mean
    that NFD's canonical reordering matters and `normalize_reordering` must be used instead.
    """
    if clean_text:
        if ch in "\x00\ufffd" or is_control(ch):
            return "", 0
        if ch in WHITESPACE:
            ch = " "
    pieces = f" {ch} " if chinese and is_chinese_char(ch) else ch
    marks = 0
    if strip:
        decomposed = unicodedata.normalize("NFD", pieces)
        marks = sum(1 for c in decomposed if unicodedata.combining(c) and unicodedata.category(c) != "Mn")
        pieces = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    if lower:
        pieces = "".join(c.lower() for c in pieces)
    return pieces, marks


def normalize_reordering(text: str, clean_text: bool, chinese: bool, lower: bool) -> tuple[str, list[int]]:
    """BertNormalizer with accent stripping on a text whose NFD reorders combining characters.

    Decompose everything, reorder each run of combining characters by combining class, then drop
    nonspacing marks and lowercase. Returns the normalized text and, for each of its characters, the
    index of the input character it came from (as the Rust library assigns it after reordering).
    """
    before: list[int] = []  # input index of each character entering NFD
    chars: list[tuple[str, int]] = []  # (character, 0 for the first of a decomposition else 1)
    for i, ch in enumerate(text):
        if clean_text:
            if ch in "\x00\ufffd" or is_control(ch):
                continue
            if ch in WHITESPACE:
                ch = " "
        for c in f" {ch} " if chinese and is_chinese_char(ch) else ch:
            before.append(i)
            chars.extend((d, int(k > 0)) for k, d in enumerate(unicodedata.normalize("NFD", c)))
    # canonical ordering: stable sort of each run of characters with combining class > 0
    j = 0
    while j < len(chars):
        if unicodedata.combining(chars[j][0]):
            k = j
            while k < len(chars) and unicodedata.combining(chars[k][0]):
                k += 1
            chars[j:k] = sorted(chars[j:k], key=lambda item: unicodedata.combining(item[0]))
            j = k
        else:
            j += 1
    # Alignment as the Rust library assigns it after reordering: a "first of a decomposition"
    # character takes the next input character, any other the last one taken.
    out: list[str] = []
    align: list[int] = []
    taken = 0
    for c, is_extra in chars:
        if not is_extra:
            taken += 1
        index = before[max(taken - 1, 0)]
        if unicodedata.category(c) == "Mn":
            continue
        for lowered in c.lower() if lower else c:
            out.append(lowered)
            align.append(index)
    return "".join(out), align
