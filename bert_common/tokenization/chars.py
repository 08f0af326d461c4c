"""Character rules of BERT's normalizer and pre-tokenizer, as the Rust `tokenizers` library defines them.

The one copy of the character tables: the pure-Python `BertTokenizer` tests characters with the
predicates below, and `bert_tf.tokenizer_ops` builds its RE2 character classes and code point maps from
the same tables (`*_RANGES`, inclusive `(low, high)` code point pairs; a single code point is `(cp, cp)`).
Everything that depends on a Unicode version (categories, lowercasing, decompositions, combining
classes) is read from `unicode_tables`, the library's own data probed code point by code point, never
from Python's `unicodedata`, whose Unicode version differs; so the slow tokenizer agrees with the fast
one on every code point, whichever Python runs it.

- White_Space (Rust `char::is_whitespace`): split on by the pre-tokenizer, mapped to " " by clean_text.
- Control characters (`CONTROL_RANGES`): removed by clean_text (Cc, Cf and Co as the library knows them,
  keeping \\t \\n \\r).
- Punctuation (`PUNCTUATION_RANGES`): ASCII punctuation and the library's P*, split off.
- Nonspacing marks (`MARK_RANGES`): removed by strip_accents after NFD.
- CJK ideographs: padded with spaces by tokenize_chinese_chars.

`normalize_char` and `normalize_reordering` apply the BertNormalizer steps to characters, tracking for
every output character the input character it came from.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable

from bert_common.tokenization import unicode_tables as tables

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
# The library's tables (see unicode_tables): removed by clean_text, split off, dropped by strip_accents.
CONTROL_RANGES: Ranges = tables.CONTROL
PUNCTUATION_RANGES: Ranges = tables.PUNCTUATION
MARK_RANGES: Ranges = tables.MARKS


def range_chars(ranges: Iterable[tuple[int, int]]) -> str:
    """The characters of inclusive code point ranges, in order."""
    return "".join(chr(cp) for low, high in ranges for cp in range(low, high + 1))


class _RangeSet:
    """Membership in sorted, disjoint inclusive code point ranges (a binary search)."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(ranges)
        self.starts = [low for low, _ in ordered]
        self.ends = [high for _, high in ordered]

    def __contains__(self, cp: int) -> bool:
        i = bisect.bisect_right(self.starts, cp) - 1
        return i >= 0 and cp <= self.ends[i]


def lowercase_map() -> dict[int, str]:
    """Rust's `char::to_lowercase` as {code point: lowercase} for every code point it changes."""
    out = {
        cp: chr(cp + delta)
        for low, high, step, delta in tables.LOWERCASE
        for cp in range(low, high + 1, step)
    }
    out.update(tables.LOWERCASE_SPECIAL)
    return out


def combining_classes() -> dict[int, int]:
    """{code point: canonical combining class} for every class > 0, as the library's NFD knows them."""
    return {cp: value for low, high, value in tables.COMBINING for cp in range(low, high + 1)}


WHITESPACE = frozenset(range_chars(WHITESPACE_RANGES))
WHITESPACE_STR = "".join(sorted(WHITESPACE))
ASCII_PUNCTUATION = frozenset(range_chars(ASCII_PUNCTUATION_RANGES))
_CONTROL = _RangeSet(CONTROL_RANGES)
_PUNCTUATION = frozenset(range_chars(PUNCTUATION_RANGES))
_MARKS = frozenset(range_chars(MARK_RANGES))
_DECOMPOSED = _RangeSet(tables.DECOMPOSED)
_LOWERCASE = lowercase_map()
_COMBINING = combining_classes()


def is_whitespace(ch: str) -> bool:
    """White_Space property (Rust char::is_whitespace)."""
    return ch in WHITESPACE


def is_control(ch: str) -> bool:
    """A character clean_text removes (besides U+FFFD): Cc, Cf and Co in the library's tables, except tab,
    newline and carriage return."""
    return ord(ch) in _CONTROL


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation (including $ + < = > ^ ` | ~) or punctuation (P*) in the library's tables."""
    return ch in _PUNCTUATION


def is_mark(ch: str) -> bool:
    """A nonspacing mark (Mn) in the library's tables: what strip_accents removes after NFD."""
    return ch in _MARKS


def is_chinese_char(ch: str) -> bool:
    """A CJK ideograph that tokenize_chinese_chars isolates."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def lower_char(ch: str) -> str:
    """Rust's `char::to_lowercase` of one character (no context: a capital sigma is always "σ")."""
    return _LOWERCASE.get(ord(ch), ch)


def combining_class(ch: str) -> int:
    """The canonical combining class of a character as the library's NFD knows it (0 for most)."""
    return _COMBINING.get(ord(ch), 0)


def nfd_char(ch: str) -> str:
    """The library's NFD of one character: Python's decomposition for the code points the library
    decomposes (decompositions never change once assigned), the character itself for any other."""
    return unicodedata.normalize("NFD", ch) if ord(ch) in _DECOMPOSED else ch


def normalize_char(ch: str, clean_text: bool, chinese: bool, strip: bool, lower: bool) -> tuple[str, int]:
    """What BertNormalizer makes of one character: (output, marks).

    ch: one character. clean_text / chinese / strip / lower: the normalizer steps (clean_text,
    tokenize_chinese_chars, strip_accents resolved to a bool, do_lower_case).
    Returns the output text (empty when removed, " c " around a CJK ideograph) and how many non-Mn
    combining characters (canonical combining class > 0) its NFD holds: two or more in a text mean
    that NFD's canonical reordering matters and `normalize_reordering` must be used instead.
    """
    if clean_text:
        if ch == "\ufffd" or is_control(ch):  # U+0000 is a control character
            return "", 0
        if ch in WHITESPACE:
            ch = " "
    pieces = f" {ch} " if chinese and is_chinese_char(ch) else ch
    marks = 0
    if strip:
        decomposed = "".join(nfd_char(c) for c in pieces)
        marks = sum(1 for c in decomposed if combining_class(c) and not is_mark(c))
        pieces = "".join(c for c in decomposed if not is_mark(c))
    if lower:
        pieces = "".join(lower_char(c) for c in pieces)
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
            if ch == "\ufffd" or is_control(ch):
                continue
            if ch in WHITESPACE:
                ch = " "
        for c in f" {ch} " if chinese and is_chinese_char(ch) else ch:
            before.append(i)
            chars.extend((d, int(k > 0)) for k, d in enumerate(nfd_char(c)))
    # canonical ordering: stable sort of each run of characters with combining class > 0
    j = 0
    while j < len(chars):
        if combining_class(chars[j][0]):
            k = j
            while k < len(chars) and combining_class(chars[k][0]):
                k += 1
            chars[j:k] = sorted(chars[j:k], key=lambda item: combining_class(item[0]))
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
        if is_mark(c):
            continue
        for lowered in lower_char(c) if lower else c:
            out.append(lowered)
            align.append(index)
    return "".join(out), align
