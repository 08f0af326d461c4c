"""Write bert_common/tokenization/unicode_tables.py: the Unicode data of the Rust `tokenizers` library, read
off the library itself, code point by code point.

    python scripts/derive_unicode_tables.py            # rewrite the module
    python scripts/derive_unicode_tables.py --check    # exit 1 when the module differs from the probe

BertNormalizer and BertPreTokenizer classify characters with tables compiled into `tokenizers` (a
category crate, a normalization crate and Rust's own lowercasing), each of its own Unicode version.
Python's `unicodedata` and TensorFlow's RE2 / ICU are other versions. So that the slow tokenizer
(`bert_common.tokenization.chars`) and the in-graph one (`bert_tf.tokenizer_ops`) give the ids of the
fast one on every code point, both read the library's own answers from the generated module instead of
their runtime's Unicode data:

- CONTROL      removed by clean_text (Rust `is_control`: Cc, Cf, Co as the library knows them; NUL
               included, U+FFFD listed apart in the rule; \\t \\n \\r kept);
- MARKS        removed by strip_accents after NFD (the library's Mn);
- PUNCTUATION  split off by BertPreTokenizer (ASCII punctuation and the library's P*);
- LOWERCASE    Rust's `char::to_lowercase`, single code points, as runs; U+0130 is the one code point
               that lowercases to two (LOWERCASE_SPECIAL);
- DECOMPOSED   code points the library's NFD decomposes (their decompositions are those of every later
               Unicode version: canonical decompositions never change once assigned);
- COMBINING    canonical combining classes > 0 as the library knows them (NFD's reordering);
- ICU_NFD_NEWER  code points TensorFlow's ICU decomposes or gives a combining class while the library
               (older normalization tables) leaves them alone: the in-graph tokenizer shields them from
               ICU's NFD.

Needs tokenizers, tensorflow and tensorflow-text; takes about a minute. A maintenance tool, not part of
the library. Every property is probed on the library (single characters, "a" + c + "b" for the
pre-tokenizer, reordering probes for the combining classes) and the script stops if Python's
decompositions disagree with the library's where both have one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import tensorflow as tf
import tensorflow_text as tf_text
import tokenizers
from tokenizers import normalizers, pre_tokenizers

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "bert_common" / "tokenization" / "unicode_tables.py"
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
GRAVE, OVERLAY = "\u0301", "\u0334"  # combining classes 230 and 1, the reordering probes


TEMPLATE = '''"""The Unicode data of the Rust `tokenizers` library, code point by code point. Generated: do not edit.

BertNormalizer and BertPreTokenizer classify characters with tables compiled into `tokenizers`, each of
its own Unicode version, different from Python's `unicodedata` and from TensorFlow's RE2 and ICU. The
slow tokenizer (`bert_common.tokenization.chars`) and the in-graph one (`bert_tf.tokenizer_ops`) read
the library's answers from here, so that the three tokenizers agree on every code point.

Each table is a tuple of inclusive (first, last) code point ranges unless said otherwise:

- CONTROL: removed by clean_text (Rust `is_control`; U+0000 included; U+FFFD, removed too, is named
  apart in the rule; surrogates are not characters and never reach it).
- MARKS: removed by strip_accents after NFD (the library's nonspacing marks).
- PUNCTUATION: split off by BertPreTokenizer (ASCII punctuation and the library's P*).
- LOWERCASE: (first, last, step, delta): every step-th code point from first to last lowercases to
  itself + delta (Rust `char::to_lowercase`); LOWERCASE_SPECIAL: the one that lowercases to two.
- DECOMPOSED: code points the library's NFD decomposes; their decompositions are Python's (canonical
  decompositions never change once assigned; the generator checks every one).
- COMBINING: (first, last, class): canonical combining classes > 0 as the library knows them.
- ICU_NFD_NEWER: code points TensorFlow's ICU decomposes or gives a combining class although the
  library leaves them alone (newer than its normalization tables); the in-graph tokenizer keeps them
  out of ICU's NFD.

Written by `python scripts/derive_unicode_tables.py` (`--check` compares this file with a fresh probe)
from @@VERSIONS@@.
"""

from __future__ import annotations

import re

Ranges = tuple[tuple[int, int], ...]


def _ranges(spec: str) -> Ranges:
    """'0300-036F 0483' -> ((0x300, 0x36F), (0x483, 0x483))."""
    out = []
    for item in spec.split():
        first, _, last = item.partition("-")
        out.append((int(first, 16), int(last or first, 16)))
    return tuple(out)


def _combining(spec: str) -> tuple[tuple[int, int, int], ...]:
    """'0300-0314:230' -> ((0x300, 0x314, 230),)."""
    out = []
    for item in spec.split():
        span, _, value = item.partition(":")
        ((first, last),) = _ranges(span)
        out.append((first, last, int(value)))
    return tuple(out)


def _lowercase(spec: str) -> tuple[tuple[int, int, int, int], ...]:
    """'0041-005A:+32 0100-012E/2:+1' -> ((0x41, 0x5A, 1, 32), (0x100, 0x12E, 2, 1))."""
    out = []
    for item in spec.split():
        match = re.fullmatch(r"([0-9A-F]+)(?:-([0-9A-F]+))?(?:/(\\d+))?:([+-]\\d+)", item)
        assert match is not None, item  # internal: the generator writes this format
        first, last, step, delta = match.groups()
        out.append((int(first, 16), int(last or first, 16), int(step or 1), int(delta)))
    return tuple(out)


# BEGIN GENERATED
CONTROL: Ranges = _ranges(
@@CONTROL@@
)
MARKS: Ranges = _ranges(
@@MARKS@@
)
PUNCTUATION: Ranges = _ranges(
@@PUNCTUATION@@
)
LOWERCASE: tuple[tuple[int, int, int, int], ...] = _lowercase(
@@LOWERCASE@@
)
LOWERCASE_SPECIAL: dict[int, str] = {@@LOWERCASE_SPECIAL@@}
DECOMPOSED: Ranges = _ranges(
@@DECOMPOSED@@
)
COMBINING: tuple[tuple[int, int, int], ...] = _combining(
@@COMBINING@@
)
ICU_NFD_NEWER: Ranges = _ranges(
@@ICU_NFD_NEWER@@
)
# END GENERATED
'''


def to_ranges(code_points: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted code points -> inclusive (first, last) runs."""
    out: list[tuple[int, int]] = []
    for cp in sorted(set(code_points)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _reorders(nfd, c: str) -> bool:
    """Whether NFD moves c past a class-230 mark before it or a class-1 mark after it (class > 0)."""
    return nfd("a" + GRAVE + c) == "a" + c + GRAVE or nfd("a" + c + OVERLAY) == "a" + OVERLAY + c


def probe_library() -> dict[str, object]:
    """Every table but ICU_NFD_NEWER, from `tokenizers`."""
    chars = [chr(c) for c in CODE_POINTS]

    def bert(**flags: bool) -> normalizers.BertNormalizer:
        base = {
            "clean_text": False,
            "handle_chinese_chars": False,
            "strip_accents": False,
            "lowercase": False,
        }
        return normalizers.BertNormalizer(**{**base, **flags})

    clean, strip = bert(clean_text=True), bert(strip_accents=True)
    nfd = normalizers.NFD().normalize_str
    control = [c for c, ch in zip(CODE_POINTS, chars) if ch != "\ufffd" and clean.normalize_str(ch) == ""]
    decomposed = [c for c, ch in zip(CODE_POINTS, chars) if nfd(ch) != ch]
    for c in decomposed:
        if unicodedata.normalize("NFD", chr(c)) != nfd(chr(c)):
            sys.exit(
                f"U+{c:04X}: Python's NFD differs from the library's; the slow tokenizer relies on them agreeing"
            )
    marks = [c for c, ch in zip(CODE_POINTS, chars) if nfd(ch) == ch and strip.normalize_str(ch) == ""]
    splitter = pre_tokenizers.BertPreTokenizer()
    punctuation = [c for c, ch in zip(CODE_POINTS, chars) if len(splitter.pre_tokenize_str(f"a{ch}b")) == 3]
    lower = normalizers.Lowercase().normalize_str
    lowercase, special = [], {}
    for c, ch in zip(CODE_POINTS, chars):
        low = lower(ch)
        if len(low) == 1 and low != ch:
            lowercase.append((c, ord(low) - c))
        elif len(low) > 1:
            special[c] = low
    combining = {}
    for c, ch in zip(CODE_POINTS, chars):
        if nfd(ch) == ch and _reorders(nfd, ch):
            combining[c] = unicodedata.combining(ch)
            if not combining[c]:
                sys.exit(f"U+{c:04X} reorders in the library but has combining class 0 in Python")
    # the class values: every pair of a character and one representative of each class sorts as Python's
    representatives = {v: chr(c) for c, v in sorted(combining.items(), reverse=True)}
    for c, v in combining.items():
        for w, r in representatives.items():
            expected = "a" + (r + chr(c) if w < v else chr(c) + r)
            if nfd("a" + chr(c) + r) != expected:
                sys.exit(f"U+{c:04X}: combining class {v} disagrees with the library's reordering")
    return {
        "CONTROL": to_ranges(control),
        "MARKS": to_ranges(marks),
        "PUNCTUATION": to_ranges(punctuation),
        "DECOMPOSED": to_ranges(decomposed),
        "COMBINING": _value_runs(sorted(combining.items())),
        "LOWERCASE": _delta_runs(lowercase),
        "LOWERCASE_SPECIAL": special,
    }


def probe_icu(known: set[int]) -> list[tuple[int, int]]:
    """ICU_NFD_NEWER: code points outside `known` that TensorFlow's NFD decomposes or reorders."""
    candidates = [c for c in CODE_POINTS if c not in known and c != 0]

    def icu(texts: list[str]) -> list[str]:
        out = tf_text.normalize_utf8(tf.constant(texts), "NFD").numpy()
        return [t.decode("utf-8") for t in out]

    chars = [chr(c) for c in candidates]
    single = icu(chars)
    before = icu(["a" + GRAVE + ch for ch in chars])
    after = icu(["a" + ch + OVERLAY for ch in chars])
    newer = [
        c
        for c, ch, s, b, a in zip(candidates, chars, single, before, after)
        if s != ch or b == "a" + ch + GRAVE or a == "a" + OVERLAY + ch
    ]
    return to_ranges(newer)


def _value_runs(items: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(code point, value) -> (first, last, value) runs of consecutive code points with one value."""
    out: list[tuple[int, int, int]] = []
    for c, v in items:
        if out and c == out[-1][1] + 1 and v == out[-1][2]:
            out[-1] = (out[-1][0], c, v)
        else:
            out.append((c, c, v))
    return out


def _delta_runs(items: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """(code point, delta) -> (first, last, step, delta) runs: every step-th code point maps to cp + delta."""
    out: list[tuple[int, int, int, int]] = []
    for c, d in items:
        if out:
            first, last, step, delta = out[-1]
            if delta == d and (c - last == step or (first == last and c - last == 2)):
                out[-1] = (first, c, c - last, d)
                continue
        out.append((c, c, 1, d))
    return out


def _wrap(tokens: list[str], width: int = 96) -> str:
    """Space-separated tokens as implicitly concatenated string literal lines."""
    lines, line = [], ""
    for token in tokens:
        if line and len(line) + 1 + len(token) > width:
            lines.append(line + " ")
            line = token
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n".join(f'    "{text}"' for text in lines)


def render(tables: dict[str, object]) -> str:
    """The source of bert_common/tokenization/unicode_tables.py."""
    hx = "{:04X}".format

    def span(a: int, b: int) -> str:
        return hx(a) if a == b else f"{hx(a)}-{hx(b)}"

    body = {
        name: _wrap([span(a, b) for a, b in tables[name]])  # type: ignore[union-attr]
        for name in ("CONTROL", "MARKS", "PUNCTUATION", "DECOMPOSED", "ICU_NFD_NEWER")
    }
    body["COMBINING"] = _wrap([f"{span(a, b)}:{v}" for a, b, v in tables["COMBINING"]])  # type: ignore[union-attr]
    body["LOWERCASE"] = _wrap(
        [f"{span(a, b)}{'' if s == 1 else '/' + str(s)}:{d:+d}" for a, b, s, d in tables["LOWERCASE"]]  # type: ignore[union-attr]
    )
    body["LOWERCASE_SPECIAL"] = ", ".join(
        f"0x{c:X}: {s!a}"
        for c, s in tables["LOWERCASE_SPECIAL"].items()  # type: ignore[union-attr]
    )
    body["VERSIONS"] = (
        f"tokenizers {tokenizers.__version__}, tensorflow {tf.__version__} and tensorflow-text\n"
        f"{tf_text.__version__} (ICU_NFD_NEWER), decompositions checked against Python "
        f"{sys.version.split()[0]} (Unicode {unicodedata.unidata_version})"
    )
    text = TEMPLATE
    for name, value in body.items():
        text = text.replace(f"@@{name}@@", value)
    return text


def main() -> None:
    """Probe the installed libraries; write the module (or compare it with --check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the module instead of writing it")
    args = parser.parse_args()
    tables = probe_library()
    known = {c for a, b in tables["DECOMPOSED"] for c in range(a, b + 1)}  # type: ignore[union-attr]
    known |= {c for a, b, _ in tables["COMBINING"] for c in range(a, b + 1)}  # type: ignore[union-attr]
    tables["ICU_NFD_NEWER"] = probe_icu(known)
    text = render(tables)
    if args.check:
        current = TARGET.read_text(encoding="utf-8")
        formatted = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
            input=text, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        sys.exit(0 if formatted == current else f"{TARGET} differs from the probe; run without --check")
    TARGET.write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(TARGET)], check=True)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
