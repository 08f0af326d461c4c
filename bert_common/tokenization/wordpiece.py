"""BertTokenizer: BERT's WordPiece tokenizer in pure Python, a character-exact mirror of the Rust
`tokenizers` pipeline that BertTokenizerFast runs.

The pipeline, per text (each step as the `tokenizers` library does it, verified against it):

1. Added tokens (special tokens, never_split entries, add_tokens) with normalized=False are found in
   the raw text (leftmost-longest) and kept whole (`added.AddedVocab`, the Rust library's rules).
2. The text between them is normalized (BertNormalizer, character rules in `chars`), tracking for
   every output character the input character it came from:
   clean_text   drop U+0000, U+FFFD and control characters (categories Cc, Cf, Co, Cs; not Cn; but
                keeping \\t \\n \\r), then map White_Space characters to " ";
   chinese      put spaces around CJK ideographs;
   strip_accents  NFD, then drop nonspacing marks (Mn), on the whole text;
   lowercase    per character (str.lower of one character: no final-sigma context).
   Added tokens with normalized=True are then found in the normalized text and kept whole.
3. Pre-tokenization (BertPreTokenizer): split on White_Space (dropped) and on punctuation
   (ASCII punctuation or Unicode category P*, kept as one-character words).
4. WordPiece: greedy longest-match-first with the "##" continuation prefix; a word longer than
   max_input_chars_per_word characters, or one that cannot be covered, becomes the unknown token.
5. Truncation, the [CLS] A [SEP] (B [SEP]) template, overflow rows and padding, as the Rust library
   does them (see `encoding`).

With do_basic_tokenize=False steps 2 and 3 are replaced by a split on White_Space of the raw text.

Shape legend: B = texts (or pairs) in a call, T = tokens per row; offsets are character spans.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bert_common.files import ModelNotFoundError
from bert_common.tokenization.added import added_entries, build_added_vocab
from bert_common.tokenization.base import TokenizerBase
from bert_common.tokenization.chars import (
    WHITESPACE,
    is_punctuation,
    normalize_char,
    normalize_reordering,
)
from bert_common.tokenization.encoding import Encoding, apply_template, pad_encodings, truncate_pair
from bert_common.tokenization.files import TOKENIZER_FILE, VOCAB_FILE, load_vocab, vocab_from_list
from bert_common.tokenization.options import TokenizerOptions
from bert_common.tokenization.request import EncodeRequest
from bert_common.tokenization.texts import check_text
from bert_common.tokenization.tokenizer_json import build_backend, read_tokenizer_json

logger = logging.getLogger("bert_zoo")


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
    added_tokens_decoder: added tokens beyond the options' ones, {id: AddedToken or dict} (as
        tokenizer_config.json holds them) or [(id, token)]; their ids must follow the vocabulary.
    **kwargs: other TokenizerOptions (model_max_length, additional_special_tokens, clean_text,
        wordpieces_prefix, max_input_chars_per_word, padding_side, truncation_side,
        extra_special_tokens); unknown names raise TypeError.

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
        entries = added_entries(kwargs.pop("added_tokens_decoder", None))
        special_flags = kwargs.pop("_special_flags", None)
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
        self._added = build_added_vocab(
            vocab, entries, options.special_tokens, options.never_split, special_flags
        )
        options.check_vocab(self._added.full_vocab())
        self.options = options
        self.vocab_file = None if vocab_file is None else str(vocab_file)
        self._wordpiece_vocab: dict[str, int] = vocab
        self.ids_to_tokens: dict[int, str] = {i: t for t, i in vocab.items()}
        self._added.set_normalizer(self._normalize_added)
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
        """The vocabulary with the added tokens, {token: id} (a copy)."""
        return self._added.full_vocab()

    @property
    def vocab_size(self) -> int:
        """Number of entries of the WordPiece vocabulary (without tokens added beyond it)."""
        return len(self._wordpiece_vocab)

    def _token_to_id(self, token: str) -> int | None:
        return self._added.id_of(token)

    def _id_to_token(self, index: int) -> str | None:
        token = self._added.tokens.get(index)
        return self.ids_to_tokens.get(index) if token is None else token.content

    # ---- normalization -----------------------------------------------------------------------
    def _normalize(self, text: str) -> tuple[str, list[int]]:
        """The normalized text and, for each of its characters, the index of its input character."""
        cache = self._char_cache
        o = self.options
        lower = o.do_lower_case
        out: list[str] = []
        align: list[int] = []
        marks = 0
        for i, ch in enumerate(text):
            hit = cache.get(ch)
            if hit is None:
                hit = cache[ch] = normalize_char(
                    ch, o.clean_text, o.tokenize_chinese_chars, self._strip, lower
                )
            piece, n_marks = hit
            marks += n_marks
            if len(piece) == 1:
                out.append(piece)
                align.append(i)
            elif piece:
                out.extend(piece)
                align.extend([i] * len(piece))
        if marks >= 2:  # two combining characters survive stripping: NFD's canonical reordering matters
            return normalize_reordering(text, o.clean_text, o.tokenize_chinese_chars, lower)
        return "".join(out), align

    def _normalize_added(self, content: str) -> str:
        """The pattern of a normalized added token: its content through the normalizer."""
        return self._normalize(content)[0] if self.options.do_basic_tokenize else content

    def normalize_str(self, text: str) -> str:
        """The normalizer's output for `text` (like `backend_tokenizer.normalizer.normalize_str`);
        `text` unchanged when do_basic_tokenize=False."""
        check_text("text", text)
        return self._normalize(text)[0] if self.options.do_basic_tokenize else text

    def pre_tokenize_str(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Words of (already normalized) `text` with their character spans, like
        `backend_tokenizer.pre_tokenizer.pre_tokenize_str`."""
        check_text("text", text)
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
        vocab = self._wordpiece_vocab
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

    def _encode_text(self, text: str, type_id: int, word: int | None = None) -> Encoding:
        """Tokens of one text, without special tokens; offsets are character spans of `text`.

        word: the word id of every token (a pre-split word), else words are counted in the text."""
        out: list[tuple[str, int, int, int, int]] = []  # (token, id, start, end, word)
        add = out.append
        count = 0
        basic = self.options.do_basic_tokenize
        for raw_id, seg_start, seg_end in self._added.split(text, normalized=False):
            if raw_id is not None:
                add((text[seg_start:seg_end], raw_id, seg_start, seg_end, count))
                count += 1
                continue
            piece = text[seg_start:seg_end]
            normalized, align = self._normalize(piece) if basic else (piece, list(range(len(piece))))
            for norm_id, start, end in self._added.split(normalized, normalized=True):
                if norm_id is not None:
                    span = (seg_start + align[start], seg_start + align[end - 1] + 1)
                    add((normalized[start:end], norm_id, *span, count))
                    count += 1
                    continue
                part = normalized if start == 0 and end == len(normalized) else normalized[start:end]
                for w_start, w_end in self._pre_tokenize(part):
                    w_start += start
                    for token, index, p_start, p_end in self._wordpiece(normalized[w_start : w_end + start]):
                        first, last = align[w_start + p_start], align[w_start + p_end - 1]
                        add((token, index, seg_start + first, seg_start + last + 1, count))
                    count += 1
        n = len(out)
        words = [t[4] for t in out] if word is None else [word] * n
        return Encoding(
            [t[1] for t in out], [type_id] * n, [t[0] for t in out], words,
            [(t[2], t[3]) for t in out], [0] * n, [1] * n,
        )  # fmt: skip

    def _encode_words(self, words: list[str], type_id: int) -> Encoding:
        """Tokens of pre-split words: each word tokenized on its own, its index as the word id of its
        tokens, offsets within the word (as the Rust library encodes pre-tokenized input)."""
        merged = Encoding()
        for i, text in enumerate(words):
            part = self._encode_text(text, type_id, word=i)
            for name in (
                "ids",
                "type_ids",
                "tokens",
                "words",
                "offsets",
                "special_tokens_mask",
                "attention_mask",
            ):
                getattr(merged, name).extend(getattr(part, name))
        return merged

    def _post_process(self, first: Encoding, second: Encoding | None, add_special_tokens: bool) -> Encoding:
        """[CLS] A [SEP] (B [SEP]) around the encodings of a text (and its pair)."""
        o = self.options
        cls, sep = (
            (o.cls_token, self._added.id_of(o.cls_token)),
            (o.sep_token, self._added.id_of(o.sep_token)),
        )
        return apply_template(first, second, cls, sep, add_special_tokens)

    # ---- hooks of TokenizerBase --------------------------------------------------------------
    def _tokenize(self, text: str, pair: str | None, add_special_tokens: bool) -> list[str]:
        first = self._encode_text(text, 0)
        second = self._encode_text(pair, 1) if pair is not None else None
        return self._post_process(first, second, add_special_tokens).tokens

    def _encode(self, inputs: list[Any], request: EncodeRequest, words: bool = False) -> list[Encoding]:
        out = []
        encode = self._encode_words if words else self._encode_text
        for sample, item in enumerate(inputs):
            text, pair = item if request.is_pair else (item, None)
            first = encode(text, 0)
            second = encode(pair, 1) if pair is not None else None
            truncate_pair(first, second, request, sample)
            out.append(self._post_process(first, second, request.add_special_tokens))
        pad_encodings(out, request, self.pad_token_id, self.options.pad_token)
        return out

    def _decode(self, sequences: list[list[int]], skip_special_tokens: bool) -> list[str]:
        # as the Rust library: skip the tokens whose text is a special added token
        special = self._added.special if skip_special_tokens else set()
        texts = []
        for ids in sequences:
            tokens = [t for t in map(self._id_to_token, ids) if t not in special]
            texts.append(self.convert_tokens_to_string(tokens))
        return texts

    def _backend_for_saving(self) -> Any:
        return build_backend(self._wordpiece_vocab, self.options, self._added)
