"""BertTokenizer: BERT's WordPiece tokenizer in pure Python, a character-exact mirror of the Rust
`tokenizers` pipeline that BertTokenizerFast runs.

The pipeline, per text (each step as the `tokenizers` library does it, verified against it):

1. Special tokens and never_split tokens are found in the raw text (leftmost-longest) and kept whole.
2. The text between them is normalized (BertNormalizer), tracking for every output character the
   input character it came from:
   clean_text   drop U+0000, U+FFFD and control characters (categories Cc, Cf, Co, Cs; not Cn; but
                keeping \\t \\n \\r), then map White_Space characters to " ";
   chinese      put spaces around CJK ideographs;
   strip_accents  NFD, then drop nonspacing marks (Mn), on the whole text;
   lowercase    per character (str.lower of one character: no final-sigma context).
3. Pre-tokenization (BertPreTokenizer): split on White_Space (dropped) and on punctuation
   (ASCII punctuation or Unicode category P*, kept as one-character words).
4. WordPiece: greedy longest-match-first with the "##" continuation prefix; a word longer than
   max_input_chars_per_word characters, or one that cannot be covered, becomes the unknown token.
5. Truncation, the [CLS] A [SEP] (B [SEP]) template, overflow rows and padding, as the Rust library
   does them (see `Encoding`).

With do_basic_tokenize=False steps 2 and 3 are replaced by a split on White_Space of the raw text.
"""

from __future__ import annotations

import logging
import os
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bert_common.files import ModelNotFoundError
from bert_common.tokenization_base import (
    TOKENIZER_FILE,
    VOCAB_FILE,
    EncodeRequest,
    TokenizerBase,
    TokenizerOptions,
    truncation_targets,
)

logger = logging.getLogger("bert_zoo")

# --------------------------------------------------------------------------------------------------
# character classes, as the Rust library defines them

# Rust's char::is_whitespace: the Unicode White_Space property. Unlike str.isspace() it excludes
# U+001C..U+001F; unlike Transformers' Python tokenizer it includes \x0b \x0c \x85 and U+2028/U+2029
# (those that are also control characters are removed by clean_text before this matters).
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE_STR = "".join(sorted(WHITESPACE))
_ASCII_PUNCTUATION = frozenset(string.punctuation)
# Categories clean_text removes (Rust's `is_other` minus Cn: unassigned code points are kept).
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# CJK ideograph blocks, as in the Rust BertNormalizer. Note 0x2B920 (Transformers' Python tokenizer
# starts that block at 0x2B820; the Rust library, our reference, does not treat U+2B820..U+2B91F as CJK).
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_whitespace(ch: str) -> bool:
    """White_Space property (Rust char::is_whitespace)."""
    return ch in WHITESPACE


def is_control(ch: str) -> bool:
    """A character clean_text removes: category Cc, Cf, Co or Cs, except tab, newline and carriage return."""
    return ch not in "\t\n\r" and unicodedata.category(ch) in _CONTROL_CATEGORIES


def is_punctuation(ch: str) -> bool:
    """ASCII punctuation (including $ + < = > ^ ` | ~) or a Unicode punctuation category P*."""
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch)[0] == "P"


def is_chinese_char(ch: str) -> bool:
    """A CJK ideograph that tokenize_chinese_chars isolates."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


# --------------------------------------------------------------------------------------------------
# vocabulary files


def load_vocab(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read vocab.txt: one token per line, id = line number (as the Rust WordPiece reads it).

    Trailing White_Space (including "\\r") is stripped from each line; a token that appears twice keeps
    the id of its last line. Raises ModelNotFoundError for a missing file, ValueError for an empty one.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"vocabulary file not found: {path}")
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for index, line in enumerate(lines):
        vocab[line.rstrip(_WHITESPACE_STR)] = index
    if not vocab:
        raise ValueError(f"vocabulary file {path} is empty")
    return vocab


def vocab_from_list(tokens: Mapping[str, int] | Iterable[str]) -> dict[str, int]:
    """A {token: id} dict from a mapping or from tokens in id order."""
    if isinstance(tokens, Mapping):
        vocab = {}
        for token, index in tokens.items():
            if (
                not isinstance(token, str)
                or isinstance(index, bool)
                or not isinstance(index, int)
                or index < 0
            ):
                raise TypeError(f"vocab must map strings to non-negative ints, got {token!r}: {index!r}")
            vocab[token] = index
        return vocab
    if isinstance(tokens, (str, bytes)):
        raise TypeError("vocab must be a mapping or a list of tokens, not a string")
    vocab = {}
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"vocab entries must be strings, got {type(token).__name__} {token!r}")
        vocab[token] = index
    return vocab


# --------------------------------------------------------------------------------------------------
# Encoding: the pure-Python twin of tokenizers.Encoding


class Encoding:
    """One row of a tokenizer's output, with the same fields and alignment queries as
    `tokenizers.Encoding`: ids, type_ids, tokens, offsets (character spans in the row's own text),
    word_ids, sequence_ids, special_tokens_mask, attention_mask, overflowing.

    Its `truncate`, `merge_with` and `pad` reproduce the Rust library's rules, overflow included.
    """

    __slots__ = (
        "attention_mask",
        "ids",
        "offsets",
        "overflowing",
        "sequence_ranges",
        "special_tokens_mask",
        "tokens",
        "type_ids",
        "words",
    )

    def __init__(
        self,
        ids: list[int] | None = None,
        type_ids: list[int] | None = None,
        tokens: list[str] | None = None,
        words: list[int | None] | None = None,
        offsets: list[tuple[int, int]] | None = None,
        special_tokens_mask: list[int] | None = None,
        attention_mask: list[int] | None = None,
    ) -> None:
        self.ids = ids or []
        self.type_ids = type_ids or []
        self.tokens = tokens or []
        self.words = words or []
        self.offsets = offsets or []
        self.special_tokens_mask = special_tokens_mask or []
        self.attention_mask = attention_mask or []
        self.overflowing: list[Encoding] = []
        self.sequence_ranges: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Encoding(num_tokens={len(self.ids)}, tokens={self.tokens!r}, overflowing={len(self.overflowing)})"

    def _slice(self, start: int, stop: int) -> Encoding:
        return Encoding(
            self.ids[start:stop],
            self.type_ids[start:stop],
            self.tokens[start:stop],
            self.words[start:stop],
            self.offsets[start:stop],
            self.special_tokens_mask[start:stop],
            self.attention_mask[start:stop],
        )

    def _copy(self) -> Encoding:
        out = self._slice(0, len(self.ids))
        out.sequence_ranges = dict(self.sequence_ranges)
        return out

    # ---- queries -----------------------------------------------------------------------------
    @property
    def word_ids(self) -> list[int | None]:
        """Index of the word each token came from, in its own text (None for special/pad tokens)."""
        return list(self.words)

    @property
    def n_sequences(self) -> int:
        """Number of texts in the row (1 or 2)."""
        return len(self.sequence_ranges) or 1

    def sequence_range(self, sequence_index: int) -> tuple[int, int]:
        """Token range [start, end) of text `sequence_index` (the whole row when unknown)."""
        return self.sequence_ranges.get(sequence_index, (0, len(self.ids)))

    @property
    def sequence_ids(self) -> list[int | None]:
        """0 / 1 for tokens of the first / second text, None for special and pad tokens."""
        out: list[int | None] = [None] * len(self.ids)
        for seq in range(self.n_sequences):
            start, end = self.sequence_range(seq)
            out[start:end] = [seq] * (end - start)
        return out

    def token_to_sequence(self, token_index: int) -> int | None:
        """The text (0 or 1) a token belongs to, None for special and pad tokens."""
        if token_index > len(self.ids):
            return None
        if not self.sequence_ranges:
            return 0
        for seq, (start, end) in self.sequence_ranges.items():
            if start <= token_index < end:
                return seq
        return None

    def token_to_chars(self, token_index: int) -> tuple[int, int] | None:
        """Character span of a token in its own text, None for special and pad tokens."""
        if self.token_to_sequence(token_index) is None or not 0 <= token_index < len(self.ids):
            return None
        return self.offsets[token_index]

    def token_to_word(self, token_index: int) -> int | None:
        """Word index of a token, None for special and pad tokens."""
        if self.token_to_sequence(token_index) is None or not 0 <= token_index < len(self.ids):
            return None
        return self.words[token_index]

    def char_to_token(self, char_pos: int, sequence_index: int = 0) -> int | None:
        """The first token of text `sequence_index` whose span holds character `char_pos`, or None."""
        start, end = self.sequence_range(sequence_index)
        for i in range(start, min(end, len(self.offsets))):
            lo, hi = self.offsets[i]
            if lo <= char_pos < hi:
                return i
        return None

    # ---- the Rust library's rules ------------------------------------------------------------
    def set_sequence_id(self, sequence_id: int) -> None:
        """Mark the whole row as text `sequence_id`."""
        self.sequence_ranges = {sequence_id: (0, len(self.ids))}

    def truncate(self, max_len: int, stride: int) -> None:
        """Keep the first `max_len` tokens; the rest becomes `overflowing` chunks of `max_len` tokens,
        each starting `max_len - stride` tokens after the previous one (so `stride` tokens repeat)."""
        n = len(self.ids)
        if max_len >= n:
            return
        if max_len == 0:
            whole = self._copy()
            whole.overflowing = self.overflowing
            empty = Encoding()
            for name in self.__slots__:
                setattr(self, name, getattr(empty, name))
            self.overflowing = [whole]
            return
        if stride >= max_len:
            raise ValueError(
                f"stride={stride} must be smaller than the truncated length {max_len} of this sequence"
            )
        step = max_len - stride
        parts = []
        for start in range(0, n, step):
            stop = min(start + max_len, n)
            parts.append((start, stop))
            if stop == n:
                break
        first = self._slice(*parts[0])
        first.overflowing = [self._slice(start, stop) for start, stop in parts[1:]]
        for name in self.__slots__:
            setattr(self, name, getattr(first, name))

    def _extend(self, other: Encoding) -> None:
        shift = len(self.ids)
        for seq, (start, end) in other.sequence_ranges.items():
            self.sequence_ranges[seq] = (start + shift, end + shift)
        self.ids = self.ids + other.ids
        self.type_ids = self.type_ids + other.type_ids
        self.tokens = self.tokens + other.tokens
        self.words = self.words + other.words
        self.offsets = self.offsets + other.offsets
        self.special_tokens_mask = self.special_tokens_mask + other.special_tokens_mask
        self.attention_mask = self.attention_mask + other.attention_mask

    def merge_with(self, other: Encoding) -> None:
        """Append `other`, combining overflow rows as the Rust library does: each of our overflow rows
        with `other` and with each of its overflow rows, then ourself with each of its overflow rows."""
        overflowing = []
        for mine in self.overflowing:
            combined = mine._copy()
            combined._extend(other)
            overflowing.append(combined)
            for theirs in other.overflowing:
                combined = mine._copy()
                combined._extend(theirs)
                overflowing.append(combined)
        for theirs in other.overflowing:
            combined = self._copy()
            combined._extend(theirs)
            overflowing.append(combined)
        self._extend(other)
        self.overflowing = overflowing

    def pad(self, length: int, pad_id: int, pad_type_id: int, pad_token: str, side: str) -> None:
        """Pad to `length` (overflow rows too) with pad tokens: attention 0, special mask 1, offsets (0, 0)."""
        for row in self.overflowing:
            row.pad(length, pad_id, pad_type_id, pad_token, side)
        missing = length - len(self.ids)
        if missing <= 0:
            return
        fields = (
            ("ids", pad_id),
            ("type_ids", pad_type_id),
            ("tokens", pad_token),
            ("words", None),
            ("offsets", (0, 0)),
            ("special_tokens_mask", 1),
            ("attention_mask", 0),
        )
        for name, value in fields:
            current = getattr(self, name)
            filler = [value] * missing
            setattr(self, name, filler + current if side == "left" else current + filler)
        if side == "left":
            self.sequence_ranges = {
                k: (s + missing, e + missing) for k, (s, e) in self.sequence_ranges.items()
            }


def pad_encodings(encodings: list[Encoding], request: EncodeRequest, pad_id: int, pad_token: str) -> None:
    """Pad a batch in place: to the longest top-level row ("longest") or to request.pad_length,
    rounded up to pad_to_multiple_of."""
    if not encodings or request.padding is None:
        return
    if request.padding == "longest":
        length = max(len(e.ids) for e in encodings)
    else:
        assert request.pad_length is not None  # internal: resolved by TokenizerBase._request
        length = request.pad_length
    multiple = request.pad_to_multiple_of
    if multiple and length % multiple:
        length += multiple - length % multiple
    for encoding in encodings:
        encoding.pad(length, pad_id, 0, pad_token, request.padding_side)


# --------------------------------------------------------------------------------------------------
# the tokenizer


class BertTokenizer(TokenizerBase):
    """BERT's WordPiece tokenizer in pure Python (the "slow" tokenizer).

    vocab_file: vocab.txt, one token per line.
    do_lower_case: lowercase (default True).
    do_basic_tokenize: normalize and split on punctuation before WordPiece (default True); False runs
        WordPiece on the whitespace-separated words of the raw text.
    never_split: tokens matched in the raw text and kept whole (each must be in the vocabulary).
    unk_token / sep_token / pad_token / cls_token / mask_token: the special tokens.
    tokenize_chinese_chars: isolate CJK ideographs (default True).
    strip_accents: remove accents; None (default) follows do_lower_case.
    clean_up_tokenization_spaces: default of decode's clean-up (default True).
    **kwargs: other TokenizerOptions (model_max_length, additional_special_tokens, clean_text,
        wordpieces_prefix, max_input_chars_per_word, padding_side); unknown names raise TypeError.

    Produces exactly the ids, offsets and alignments of BertTokenizerFast with the same options.
    """

    is_fast = False

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        clean_up_tokenization_spaces: bool = True,
        **kwargs: Any,
    ) -> None:
        vocab = kwargs.pop("_vocab", None)
        if vocab is None:
            if not isinstance(vocab_file, (str, os.PathLike)):
                raise TypeError(f"vocab_file must be a path, got {type(vocab_file).__name__} {vocab_file!r}")
            vocab = load_vocab(vocab_file)
        options = TokenizerOptions.from_kwargs(
            type(self).__name__,
            dict(
                do_lower_case=do_lower_case,
                do_basic_tokenize=do_basic_tokenize,
                never_split=never_split,
                unk_token=unk_token,
                sep_token=sep_token,
                pad_token=pad_token,
                cls_token=cls_token,
                mask_token=mask_token,
                tokenize_chinese_chars=tokenize_chinese_chars,
                strip_accents=strip_accents,
                clean_up_tokenization_spaces=clean_up_tokenization_spaces,
                **kwargs,
            ),
        )
        options.check_vocab(vocab)
        self.options = options
        self.vocab_file = None if vocab_file is None else str(vocab_file)
        self.vocab: dict[str, int] = vocab
        self.ids_to_tokens: dict[int, str] = {i: t for t, i in vocab.items()}
        # Added tokens (special and never_split) matched leftmost-longest in the raw text: a regex
        # alternation tried longest first picks, at the leftmost match position, the longest token.
        added = sorted({*options.special_tokens, *options.never_split}, key=len, reverse=True)
        self._added_pattern = re.compile("|".join(re.escape(t) for t in added))
        self._strip = options.strip_accents if options.strip_accents is not None else options.do_lower_case
        self._char_cache: dict[str, tuple[str, int]] = {}
        self._punct_cache: dict[str, bool] = {}
        self._word_cache: dict[str, list[tuple[str, int, int, int]]] = {}

    @classmethod
    def from_vocab(cls, vocab: Mapping[str, int] | Iterable[str], **options: Any) -> BertTokenizer:
        """Build from an in-memory vocabulary ({token: id}, or tokens in id order) and options."""
        return cls(None, _vocab=vocab_from_list(vocab), **options)  # type: ignore[arg-type]

    @classmethod
    def _from_directory(cls, directory: Path, options: dict[str, Any]) -> BertTokenizer:
        # Option defaults come from tokenizer.json when there is one, exactly as for BertTokenizerFast;
        # the vocabulary from vocab.txt, else from tokenizer.json.
        parsed = None
        if (directory / TOKENIZER_FILE).is_file():
            from bert_common.tokenization_fast import read_tokenizer_json

            parsed = read_tokenizer_json(directory / TOKENIZER_FILE)
            options = parsed.merged_options(options)
        vocab_path = directory / VOCAB_FILE
        if vocab_path.is_file():
            vocab = load_vocab(vocab_path)
            if parsed is not None and parsed.vocab != vocab:
                logger.warning(
                    "%s: vocab.txt and tokenizer.json hold different vocabularies; BertTokenizer uses vocab.txt, "
                    "BertTokenizerFast tokenizer.json",
                    directory,
                )
            return cls(vocab_path, _vocab=vocab, **options)
        if parsed is not None:
            return cls(None, _vocab=parsed.vocab, **options)  # type: ignore[arg-type]
        raise ModelNotFoundError(
            f"{directory}: no {VOCAB_FILE} (nor {TOKENIZER_FILE}) to read a vocabulary from"
        )

    # ---- vocabulary --------------------------------------------------------------------------
    def get_vocab(self) -> dict[str, int]:
        """The vocabulary as {token: id} (a copy)."""
        return dict(self.vocab)

    @property
    def vocab_size(self) -> int:
        """Number of vocabulary entries."""
        return len(self.vocab)

    def _token_to_id(self, token: str) -> int | None:
        return self.vocab.get(token)

    def _id_to_token(self, index: int) -> str | None:
        return self.ids_to_tokens.get(index)

    def _check_ids(self, ids: list[int]) -> None:
        bad = [i for i in ids if i not in self.ids_to_tokens]
        if bad:
            raise ValueError(f"token id(s) {bad[:5]} are not in the vocabulary (size {len(self.vocab)})")

    # ---- normalization -----------------------------------------------------------------------
    def _normalize_char(self, ch: str) -> tuple[str, int]:
        """(output, marks): what the normalizer makes of one character, and how many non-Mn combining
        characters (canonical combining class > 0) its NFD holds (those may need reordering)."""
        o = self.options
        if o.clean_text:
            if ch in "\x00\ufffd" or is_control(ch):
                return "", 0
            if ch in WHITESPACE:
                ch = " "
        pieces = f" {ch} " if o.tokenize_chinese_chars and is_chinese_char(ch) else ch
        marks = 0
        if self._strip:
            decomposed = unicodedata.normalize("NFD", pieces)
            marks = sum(1 for c in decomposed if unicodedata.combining(c) and unicodedata.category(c) != "Mn")
            pieces = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        if o.do_lower_case:
            pieces = "".join(c.lower() for c in pieces)
        return pieces, marks

    def _normalize(self, text: str) -> tuple[str, list[int]]:
        """The normalized text and, for each of its characters, the index of its input character."""
        cache = self._char_cache
        out: list[str] = []
        align: list[int] = []
        marks = 0
        for i, ch in enumerate(text):
            hit = cache.get(ch)
            if hit is None:
                hit = cache[ch] = self._normalize_char(ch)
            piece, n_marks = hit
            marks += n_marks
            if len(piece) == 1:
                out.append(piece)
                align.append(i)
            elif piece:
                out.extend(piece)
                align.extend([i] * len(piece))
        if marks >= 2:  # two combining characters survive stripping: NFD's canonical reordering matters
            return self._normalize_reordering(text)
        return "".join(out), align

    def _normalize_reordering(self, text: str) -> tuple[str, list[int]]:
        """Slow path of `_normalize` for text whose NFD reorders combining characters that survive
        accent stripping: decompose everything, reorder by combining class, then filter and lowercase."""
        o = self.options
        before: list[int] = []  # input index of each character entering NFD
        chars: list[tuple[str, int]] = []  # (character, 0 for the first of a decomposition else 1)
        for i, ch in enumerate(text):
            if o.clean_text:
                if ch in "\x00\ufffd" or is_control(ch):
                    continue
                if ch in WHITESPACE:
                    ch = " "
            for c in f" {ch} " if o.tokenize_chinese_chars and is_chinese_char(ch) else ch:
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
            for lowered in c.lower() if o.do_lower_case else c:
                out.append(lowered)
                align.append(index)
        return "".join(out), align

    def normalize_str(self, text: str) -> str:
        """The normalizer's output for `text` (like `backend_tokenizer.normalizer.normalize_str`);
        `text` unchanged when do_basic_tokenize=False."""
        self._check_text("text", text)
        return self._normalize(text)[0] if self.options.do_basic_tokenize else text

    def pre_tokenize_str(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Words of (already normalized) `text` with their character spans, like
        `backend_tokenizer.pre_tokenizer.pre_tokenize_str`."""
        self._check_text("text", text)
        return [(text[start:end], (start, end)) for start, end in self._pre_tokenize(text)]

    def _is_punct(self, ch: str) -> bool:
        hit = self._punct_cache.get(ch)
        if hit is None:
            hit = self._punct_cache[ch] = is_punctuation(ch)
        return hit

    def _pre_tokenize(self, text: str) -> list[tuple[int, int]]:
        """Word spans [start, end) of normalized text: split on whitespace (dropped) and punctuation
        (one-character words); without basic tokenization, on whitespace only."""
        words: list[tuple[int, int]] = []
        start = -1
        split_punct = self.options.do_basic_tokenize
        for j, ch in enumerate(text):
            if ch in WHITESPACE:
                if start >= 0:
                    words.append((start, j))
                    start = -1
            elif split_punct and self._is_punct(ch):
                if start >= 0:
                    words.append((start, j))
                    start = -1
                words.append((j, j + 1))
            elif start < 0:
                start = j
        if start >= 0:
            words.append((start, len(text)))
        return words

    def _wordpiece(self, word: str) -> list[tuple[str, int, int, int]]:
        """(token, id, start, end) pieces of one word, greedy longest-match-first; [UNK] for the whole
        word when it is too long or cannot be covered."""
        hit = self._word_cache.get(word)
        if hit is not None:
            return hit
        vocab = self.vocab
        unk = self.options.unk_token
        n = len(word)
        pieces: list[tuple[str, int, int, int]] = []
        if n > self.options.max_input_chars_per_word:
            pieces = [(unk, vocab[unk], 0, n)]
        else:
            prefix = self.options.wordpieces_prefix
            start = 0
            while start < n:
                end = n
                found = None
                while start < end:
                    sub = word[start:end] if start == 0 else prefix + word[start:end]
                    index = vocab.get(sub)
                    if index is not None:
                        found = (sub, index, start, end)
                        break
                    end -= 1
                if found is None:
                    pieces = [(unk, vocab[unk], 0, n)]
                    break
                pieces.append(found)
                start = end
        if len(self._word_cache) > 100_000:
            self._word_cache.clear()
        self._word_cache[word] = pieces
        return pieces

    def _encode_text(self, text: str, type_id: int) -> Encoding:
        """Tokens of one text, without special tokens; offsets are character spans of `text`."""
        ids: list[int] = []
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        words: list[int | None] = []
        word_index = 0
        vocab = self.vocab
        position = 0
        segments: list[tuple[int, int, bool]] = []
        for match in self._added_pattern.finditer(text):
            if match.start() > position:
                segments.append((position, match.start(), False))
            segments.append((match.start(), match.end(), True))
            position = match.end()
        if position < len(text):
            segments.append((position, len(text), False))
        basic = self.options.do_basic_tokenize
        for seg_start, seg_end, is_added in segments:
            piece = text[seg_start:seg_end]
            if is_added:
                ids.append(vocab[piece])
                tokens.append(piece)
                offsets.append((seg_start, seg_end))
                words.append(word_index)
                word_index += 1
                continue
            if basic:
                normalized, align = self._normalize(piece)
            else:
                normalized, align = piece, list(range(len(piece)))
            for w_start, w_end in self._pre_tokenize(normalized):
                for token, index, p_start, p_end in self._wordpiece(normalized[w_start:w_end]):
                    ids.append(index)
                    tokens.append(token)
                    offsets.append(
                        (seg_start + align[w_start + p_start], seg_start + align[w_start + p_end - 1] + 1)
                    )
                    words.append(word_index)
                word_index += 1
        n = len(ids)
        return Encoding(ids, [type_id] * n, tokens, words, offsets, [0] * n, [1] * n)

    # ---- template ----------------------------------------------------------------------------
    def _special(self, name: str, type_id: int) -> Encoding:
        token = getattr(self.options, name)
        return Encoding([self.vocab[token]], [type_id], [token], [None], [(0, 0)], [1], [1])

    def _post_process(self, first: Encoding, second: Encoding | None, add_special_tokens: bool) -> Encoding:
        """[CLS] A [SEP] (B [SEP]) with segment ids 0 / 1, overflow rows combined as in the Rust library."""
        for seq, encoding in enumerate((first, second)):
            if encoding is None:
                continue
            encoding.set_sequence_id(seq)
            for row in encoding.overflowing:
                row.set_sequence_id(seq)
            encoding.type_ids = [seq] * len(encoding.ids)
        parts: list[Encoding] = []
        if add_special_tokens:
            parts.append(self._special("cls_token", 0))
        parts.append(first)
        if add_special_tokens:
            parts.append(self._special("sep_token", 0))
        if second is not None:
            parts.append(second)
            if add_special_tokens:
                parts.append(self._special("sep_token", 1))
        merged = Encoding()
        for part in parts:
            merged.merge_with(part)
        return merged

    # ---- hooks of TokenizerBase --------------------------------------------------------------
    def _tokenize(self, text: str, pair: str | None, add_special_tokens: bool) -> list[str]:
        first = self._encode_text(text, 0)
        second = self._encode_text(pair, 1) if pair is not None else None
        return self._post_process(first, second, add_special_tokens).tokens

    def _encode(self, inputs: list[Any], request: EncodeRequest) -> list[Encoding]:
        out = []
        for sample, item in enumerate(inputs):
            text, pair = item if request.is_pair else (item, None)
            first = self._encode_text(text, 0)
            second = self._encode_text(pair, 1) if pair is not None else None
            if request.truncation is not None:
                assert request.max_length is not None  # internal: resolved by TokenizerBase._request
                room = request.max_length - request.n_special
                try:
                    t1, t2 = truncation_targets(
                        len(first.ids), None if second is None else len(second.ids), room, request.truncation
                    )
                    first.truncate(t1, request.stride)
                    if second is not None and t2 is not None:
                        second.truncate(t2, request.stride)
                except ValueError as err:
                    raise ValueError(f"input {sample}: {err}") from None
            out.append(self._post_process(first, second, request.add_special_tokens))
        pad_encodings(out, request, self.pad_token_id, self.options.pad_token)
        return out

    def _decode(self, sequences: list[list[int]], skip_special_tokens: bool) -> list[str]:
        special = set(self.all_special_ids) if skip_special_tokens else set()
        texts = []
        for ids in sequences:
            tokens = [self.ids_to_tokens[i] for i in ids if i not in special]
            texts.append(self.convert_tokens_to_string(tokens))
        return texts

    def _backend_for_saving(self) -> Any:
        from bert_common.tokenization_fast import build_backend

        return build_backend(self.vocab, self.options)
