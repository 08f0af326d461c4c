"""BertTokenizerFast: the BERT tokenizer on the Rust `tokenizers` library.

The backend (`backend_tokenizer`, a `tokenizers.Tokenizer`) is always the standard BERT pipeline built
from a vocabulary and the TokenizerOptions: BertNormalizer, BertPreTokenizer, WordPiece, a
[CLS] A [SEP] (B [SEP]) TemplateProcessing and a WordPiece decoder. A tokenizer.json supplies the
vocabulary, the option defaults (normalizer flags, unknown token, prefix) and the added tokens; its
truncation and padding settings are dropped, since every call sets its own. Because slow and fast
tokenizers are built from the same vocabulary and options, they agree token for token.

Truncation, overflow, special tokens and padding run inside Rust (`enable_truncation`,
`enable_padding`, `encode_batch`); Python only validates the call and reads the results.

Shape legend: B = texts (or pairs) in a call, T = tokens per row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tokenizers
from tokenizers import Tokenizer

from bert_common.files import ModelNotFoundError
from bert_common.tokenization.added import AddedToken, added_entries, build_added_vocab
from bert_common.tokenization.base import TokenizerBase
from bert_common.tokenization.encoding import truncation_targets
from bert_common.tokenization.files import TOKENIZER_FILE, VOCAB_FILE, load_vocab, vocab_from_list
from bert_common.tokenization.options import SPECIAL_TOKEN_NAMES, TokenizerOptions
from bert_common.tokenization.request import EncodeRequest
from bert_common.tokenization.tokenizer_json import build_backend, parse_tokenizer_json, read_tokenizer_json


class BertTokenizerFast(TokenizerBase):
    """The BERT tokenizer backed by the Rust `tokenizers` library (`backend_tokenizer`).

    vocab_file: vocab.txt; or tokenizer_file: a tokenizer.json (its vocabulary and added tokens are
        used; its options fill in only what the keyword-only options leave unset); or
        tokenizer_object: a `tokenizers.Tokenizer` read the same way.
    The other arguments are those of BertTokenizer (do_lower_case, do_basic_tokenize, never_split,
    special tokens, tokenize_chinese_chars, strip_accents, clean_text, wordpieces_prefix,
    model_max_length, clean_up_tokenization_spaces, padding_side, truncation_side, added_tokens_decoder,
    ...); unknown names raise TypeError.

    The backend's truncation and padding are set per call, so one instance should not be called from
    several threads at once with different settings (the same holds for Transformers' tokenizers).
    """

    is_fast = True

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        tokenizer_file: str | os.PathLike[str] | None = None,
        do_lower_case: bool = True,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs: Any,
    ) -> None:
        vocab = kwargs.pop("_vocab", None)
        tokenizer_object = kwargs.pop("tokenizer_object", None)
        entries = kwargs.pop("added_tokens_decoder", None)
        special_flags = kwargs.pop("_special_flags", None)
        given = dict(
            do_lower_case=do_lower_case,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            **kwargs,
        )
        parsed = None
        if vocab is None:
            if tokenizer_object is not None:
                if not isinstance(tokenizer_object, Tokenizer):
                    raise TypeError(
                        f"tokenizer_object must be a tokenizers.Tokenizer, got {type(tokenizer_object).__name__}"
                    )
                parsed = parse_tokenizer_json(json.loads(tokenizer_object.to_str()), "tokenizer_object")
            elif tokenizer_file is not None:
                parsed = read_tokenizer_json(tokenizer_file)
            elif vocab_file is not None:
                vocab = load_vocab(vocab_file)
            else:
                raise ValueError("BertTokenizerFast needs vocab_file, tokenizer_file or tokenizer_object")
        if parsed is not None:
            vocab = parsed.vocab
            given = parsed.merged_options(given)
            entries = given.pop("added_tokens_decoder") if entries is None else entries
            given.pop("added_tokens_decoder", None)
        options = TokenizerOptions.from_kwargs(type(self).__name__, given)
        self._added = build_added_vocab(
            vocab, added_entries(entries), options.special_tokens, options.never_split, special_flags
        )
        options.check_vocab(self._added.full_vocab())
        self.options = options
        self.vocab_file = None if vocab_file is None else str(vocab_file)
        self._vocab = vocab
        self._build()

    def _build(self) -> None:
        """The backend from the vocabulary, the options and the added tokens; the special ids it gives."""
        self._tokenizer = build_backend(self._vocab, self.options, self._added)
        self._special_ids = {
            name: self._tokenizer.token_to_id(getattr(self.options, name)) for name in SPECIAL_TOKEN_NAMES
        }
        self._pad_id = self._special_ids["pad_token"]
        normalizer = self._tokenizer.normalizer
        self._added.set_normalizer(normalizer.normalize_str if normalizer is not None else lambda text: text)

    def _add_to_vocab(self, tokens: list[AddedToken]) -> int:
        count = super()._add_to_vocab(tokens)
        self._tokenizer.add_tokens(
            [
                tokenizers.AddedToken(t.content, **{k: v for k, v in t.to_dict().items() if k != "content"})
                for t in tokens
            ]
        )
        return count

    def _special_tokens_changed(self) -> None:
        super()._special_tokens_changed()
        self._build()

    @classmethod
    def from_vocab(cls, vocab: Mapping[str, int] | Iterable[str], **options: Any) -> BertTokenizerFast:
        """Build from an in-memory vocabulary ({token: id}, or tokens in id order) and options."""
        return cls(_vocab=vocab_from_list(vocab), **options)

    @classmethod
    def _from_directory(cls, directory: Path, options: dict[str, Any]) -> BertTokenizerFast:
        if (directory / TOKENIZER_FILE).is_file():
            parsed = read_tokenizer_json(directory / TOKENIZER_FILE)
            return cls(_vocab=parsed.vocab, **parsed.merged_options(options))
        if (directory / VOCAB_FILE).is_file():
            return cls(vocab_file=directory / VOCAB_FILE, **options)
        raise ModelNotFoundError(
            f"{directory}: no {TOKENIZER_FILE} or {VOCAB_FILE} to read a vocabulary from"
        )

    @property
    def backend_tokenizer(self) -> Tokenizer:
        """The underlying `tokenizers.Tokenizer`. Each call sets its truncation and padding."""
        return self._tokenizer

    # ---- vocabulary --------------------------------------------------------------------------
    def get_vocab(self) -> dict[str, int]:
        """The vocabulary with the added tokens, {token: id} (a copy)."""
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab_size(self) -> int:
        """Number of entries of the WordPiece vocabulary (without tokens added beyond it)."""
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def _token_to_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)

    def _id_to_token(self, index: int) -> str | None:
        # an added token is its content (tokenizers 0.23 gives a normalized one's normalized form)
        token = self._added.tokens.get(index)
        return self._tokenizer.id_to_token(index) if token is None else token.content

    def _special_id(self, name: str) -> int:
        return self._special_ids[name]

    # ---- running the backend -----------------------------------------------------------------
    def _configure(self, request: EncodeRequest | None) -> None:
        """Set the backend's truncation and padding for one call (only what changed)."""
        backend = self._tokenizer
        truncation = None
        padding = None
        if request is not None and request.truncation is not None:
            truncation = {
                "max_length": request.max_length,
                "stride": request.stride,
                "strategy": request.truncation,
                "direction": request.truncation_side,
            }
        if request is not None and request.padding is not None:
            padding = {
                "length": request.pad_length if request.padding == "max_length" else None,
                "pad_to_multiple_of": request.pad_to_multiple_of,
                "pad_id": self._pad_id,
                "pad_token": self.options.pad_token,
                "pad_type_id": 0,
                "direction": request.padding_side,
            }
        if backend.truncation != truncation:
            if truncation is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(**truncation)
        if backend.padding != padding:
            if padding is None:
                backend.no_padding()
            else:
                backend.enable_padding(**padding)

    def _check_pair_stride(
        self, inputs: list[tuple[Any, Any]], request: EncodeRequest, words: bool = False
    ) -> None:
        """Overflow with a stride needs every truncated sequence longer than the stride; the Rust library
        aborts (panics) otherwise, so check the lengths first."""
        assert request.max_length is not None  # internal: truncation is on
        self._configure(None)
        firsts = self._tokenizer.encode_batch(
            [a for a, _ in inputs], is_pretokenized=words, add_special_tokens=False
        )
        seconds = self._tokenizer.encode_batch(
            [b for _, b in inputs], is_pretokenized=words, add_special_tokens=False
        )
        room = request.max_length - request.n_special
        for sample, (a, b) in enumerate(zip(firsts, seconds)):
            n1, n2 = len(a.ids), len(b.ids)
            try:
                t1, t2 = truncation_targets(n1, n2, room, request.truncation)  # type: ignore[arg-type]
            except ValueError as err:
                raise ValueError(f"input {sample}: {err}") from None
            for length, target in ((n1, t1), (n2, t2)):
                if target is not None and 0 < target < length and request.stride >= target:
                    raise ValueError(
                        f"input {sample}: stride={request.stride} must be smaller than the truncated length "
                        f"{target} of this sequence"
                    )

    def _encode(self, inputs: list[Any], request: EncodeRequest, words: bool = False) -> list[Any]:
        if request.is_pair and request.truncation is not None and request.stride > 0:
            self._check_pair_stride(inputs, request, words)
        self._configure(request)
        try:
            if words:
                return self._tokenizer.encode_batch(
                    inputs, is_pretokenized=True, add_special_tokens=request.add_special_tokens
                )
            return self._tokenizer.encode_batch(inputs, add_special_tokens=request.add_special_tokens)
        except Exception as err:
            if "Truncation error" not in str(err):
                raise
        # The Rust error does not say which input failed; find it with the same arithmetic.
        self._check_pair_stride(inputs, request, words)
        raise ValueError(
            f"truncation={request.truncation!r} cannot fit the input into max_length={request.max_length}"
        )

    def _tokenize(self, text: str, pair: str | None, add_special_tokens: bool) -> list[str]:
        self._configure(None)
        return self._tokenizer.encode(text, pair, add_special_tokens=add_special_tokens).tokens

    def _decode(self, sequences: list[list[int]], skip_special_tokens: bool) -> list[str]:
        if not any(token.normalized for token in self._added.tokens.values()):
            return self._tokenizer.decode_batch(sequences, skip_special_tokens=skip_special_tokens)
        # Rust's decode with the added tokens' content (see _id_to_token): ids to tokens, the decoder
        special = self._added.special if skip_special_tokens else set()
        decoder = self._tokenizer.decoder
        tokens = [
            [t for t in map(self._id_to_token, ids) if t is not None and t not in special]
            for ids in sequences
        ]
        return [decoder.decode(row) for row in tokens]

    def _backend_for_saving(self) -> Tokenizer:
        clone = Tokenizer.from_str(self._tokenizer.to_str())
        clone.no_truncation()
        clone.no_padding()
        return clone
