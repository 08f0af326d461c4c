"""BertTokenizerFast: the BERT tokenizer on the Rust `tokenizers` library.

The backend (`backend_tokenizer`, a `tokenizers.Tokenizer`) is always the standard BERT pipeline built
from a vocabulary and the TokenizerOptions: BertNormalizer, BertPreTokenizer, WordPiece, a
[CLS] A [SEP] (B [SEP]) TemplateProcessing and a WordPiece decoder. A tokenizer.json supplies the
vocabulary, the option defaults (normalizer flags, unknown token, prefix) and the added tokens; its
truncation and padding settings are dropped, since every call sets its own. Because slow and fast
tokenizers are built from the same vocabulary and options, they agree token for token.

Truncation, overflow, special tokens and padding run inside Rust (`enable_truncation`,
`enable_padding`, `encode_batch`); Python only validates the call and reads the results.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from bert_common.files import ModelNotFoundError
from bert_common.tokenization import load_vocab, vocab_from_list
from bert_common.tokenization_base import (
    SPECIAL_TOKEN_NAMES,
    TOKENIZER_FILE,
    VOCAB_FILE,
    EncodeRequest,
    TokenizerBase,
    TokenizerOptions,
    read_json_object,
    truncation_targets,
)

logger = logging.getLogger("bert_zoo")


# --------------------------------------------------------------------------------------------------
# tokenizer.json


@dataclasses.dataclass
class ParsedTokenizerJson:
    """What a tokenizer.json contributes: its WordPiece vocabulary, option values read from its
    pipeline, and its added tokens (special ones, and others, which become never_split)."""

    vocab: dict[str, int]
    options: dict[str, Any]
    special_added: list[str]
    normal_added: list[str]

    def merged_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """`given` options completed with this file's values (given ones win)."""
        merged = {**self.options, **given}
        named = {merged.get(name, getattr(TokenizerOptions, name)) for name in SPECIAL_TOKEN_NAMES}
        if given.get("additional_special_tokens") is None:
            extra = [t for t in self.special_added if t not in named]
            if extra:
                merged["additional_special_tokens"] = extra
        if given.get("never_split") is None and self.normal_added:
            merged["never_split"] = list(self.normal_added)
        return merged


def parse_tokenizer_json(data: Mapping[str, Any], source: str = "tokenizer.json") -> ParsedTokenizerJson:
    """Read a tokenizer.json document (already parsed from JSON); `source` names it in errors."""
    model = data.get("model")
    if not isinstance(model, Mapping) or model.get("type") != "WordPiece":
        kind = model.get("type") if isinstance(model, Mapping) else model
        raise ValueError(f"{source} holds a {kind!r} model; a BERT tokenizer needs a WordPiece model")
    vocab = model.get("vocab")
    if not isinstance(vocab, Mapping) or not vocab:
        raise ValueError(f"{source}: the WordPiece model has no vocabulary")
    vocab = vocab_from_list(vocab)
    options: dict[str, Any] = {}
    if isinstance(model.get("unk_token"), str):
        options["unk_token"] = model["unk_token"]
    if isinstance(model.get("continuing_subword_prefix"), str):
        options["wordpieces_prefix"] = model["continuing_subword_prefix"]
    if isinstance(model.get("max_input_chars_per_word"), int):
        options["max_input_chars_per_word"] = model["max_input_chars_per_word"]

    normalizer = data.get("normalizer")
    pre_tokenizer = data.get("pre_tokenizer")
    if isinstance(normalizer, Mapping) and normalizer.get("type") == "BertNormalizer":
        options.update(
            do_lower_case=bool(normalizer.get("lowercase", True)),
            strip_accents=normalizer.get("strip_accents"),
            tokenize_chinese_chars=bool(normalizer.get("handle_chinese_chars", True)),
            clean_text=bool(normalizer.get("clean_text", True)),
        )
    elif (
        normalizer is None
        and isinstance(pre_tokenizer, Mapping)
        and pre_tokenizer.get("type") == "WhitespaceSplit"
    ):
        options["do_basic_tokenize"] = False
    else:
        logger.warning(
            "%s: normalizer %s is not a BertNormalizer; it is replaced by the BERT pipeline built from the "
            "tokenizer options",
            source,
            normalizer.get("type") if isinstance(normalizer, Mapping) else normalizer,
        )

    post = data.get("post_processor")
    if isinstance(post, Mapping) and post.get("type") == "BertProcessing":
        options["cls_token"], options["sep_token"] = post["cls"][0], post["sep"][0]
    elif isinstance(post, Mapping) and post.get("type") == "TemplateProcessing":
        specials = [p["SpecialToken"]["id"] for p in post.get("single", []) if "SpecialToken" in p]
        if len(specials) == 2:
            options["cls_token"], options["sep_token"] = specials
    padding = data.get("padding")
    if isinstance(padding, Mapping) and isinstance(padding.get("pad_token"), str):
        options["pad_token"] = padding["pad_token"]

    special_added: list[str] = []
    normal_added: list[str] = []
    for entry in data.get("added_tokens") or []:
        content, index = entry.get("content"), entry.get("id")
        if vocab.get(content) != index:
            raise ValueError(
                f"{source}: added token {content!r} has id {index} but the WordPiece vocabulary "
                f"{'gives it id ' + str(vocab[content]) if content in vocab else 'does not hold it'}; "
                "bert-zoo tokenizers keep every added token in the vocabulary"
            )
        if any(entry.get(flag) for flag in ("single_word", "lstrip", "rstrip", "normalized")):
            logger.warning(
                "%s: added token %r has single_word/lstrip/rstrip/normalized flags; it is matched as a "
                "plain token in the raw text instead",
                source,
                content,
            )
        (special_added if entry.get("special") else normal_added).append(content)
    return ParsedTokenizerJson(vocab, options, special_added, normal_added)


def read_tokenizer_json(path: str | os.PathLike[str]) -> ParsedTokenizerJson:
    """Read a tokenizer.json file (see `parse_tokenizer_json`)."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"tokenizer file not found: {path}")
    return parse_tokenizer_json(read_json_object(path), str(path))


def build_backend(vocab: Mapping[str, int], options: TokenizerOptions) -> Tokenizer:
    """The standard BERT `tokenizers.Tokenizer` for `vocab` and `options` (no truncation or padding).

    Built from its JSON description, the layout Transformers writes to tokenizer.json. The decoder
    does no clean-up of its own: decode applies `clean_up_tokenization_spaces` once, in Python.
    """
    options.check_vocab(vocab)
    specials = set(options.special_tokens)
    added = sorted({*options.special_tokens, *options.never_split}, key=lambda t: vocab[t])
    cls, sep = options.cls_token, options.sep_token
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": vocab[token],
                "content": token,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": token in specials,
            }
            for token in added
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": options.clean_text,
            "handle_chinese_chars": options.tokenize_chinese_chars,
            "strip_accents": options.strip_accents,
            "lowercase": options.do_lower_case,
        }
        if options.do_basic_tokenize
        else None,
        "pre_tokenizer": {"type": "BertPreTokenizer" if options.do_basic_tokenize else "WhitespaceSplit"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": cls, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": sep, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": cls, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": sep, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": sep, "type_id": 1}},
            ],
            "special_tokens": {
                token: {"id": token, "ids": [vocab[token]], "tokens": [token]}
                for token in dict.fromkeys((cls, sep))
            },
        },
        "decoder": {"type": "WordPiece", "prefix": options.wordpieces_prefix, "cleanup": False},
        "model": {
            "type": "WordPiece",
            "unk_token": options.unk_token,
            "continuing_subword_prefix": options.wordpieces_prefix,
            "max_input_chars_per_word": options.max_input_chars_per_word,
            "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
        },
    }
    return Tokenizer.from_str(json.dumps(document, ensure_ascii=False))


# --------------------------------------------------------------------------------------------------
# the tokenizer


class BertTokenizerFast(TokenizerBase):
    """The BERT tokenizer backed by the Rust `tokenizers` library (`backend_tokenizer`).

    vocab_file: vocab.txt; or tokenizer_file: a tokenizer.json (its vocabulary and added tokens are
        used; its options fill in only what the keyword-only options leave unset); or
        tokenizer_object: a `tokenizers.Tokenizer` read the same way.
    The other arguments are those of BertTokenizer (do_lower_case, do_basic_tokenize, never_split,
    special tokens, tokenize_chinese_chars, strip_accents, clean_text, wordpieces_prefix,
    model_max_length, clean_up_tokenization_spaces, ...); unknown names raise TypeError.

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
        options = TokenizerOptions.from_kwargs(type(self).__name__, given)
        options.check_vocab(vocab)
        self.options = options
        self.vocab_file = None if vocab_file is None else str(vocab_file)
        self._tokenizer = build_backend(vocab, options)
        self._pad_id = vocab[options.pad_token]
        self._special_ids = {name: vocab[getattr(options, name)] for name in SPECIAL_TOKEN_NAMES}

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
        """The vocabulary as {token: id} (a copy)."""
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab_size(self) -> int:
        """Number of vocabulary entries."""
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def _token_to_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)

    def _id_to_token(self, index: int) -> str | None:
        return self._tokenizer.id_to_token(index)

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
                "direction": "right",
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

    def _check_pair_stride(self, inputs: list[tuple[str, str]], request: EncodeRequest) -> None:
        """Overflow with a stride needs every truncated sequence longer than the stride; the Rust library
        aborts (panics) otherwise, so check the lengths first."""
        assert request.max_length is not None  # internal: truncation is on
        self._configure(None)
        firsts = self._tokenizer.encode_batch([a for a, _ in inputs], add_special_tokens=False)
        seconds = self._tokenizer.encode_batch([b for _, b in inputs], add_special_tokens=False)
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

    def _encode(self, inputs: list[Any], request: EncodeRequest) -> list[Any]:
        if request.is_pair and request.truncation is not None and request.stride > 0:
            self._check_pair_stride(inputs, request)
        self._configure(request)
        try:
            return self._tokenizer.encode_batch(inputs, add_special_tokens=request.add_special_tokens)
        except Exception as err:
            if "Truncation error" not in str(err):
                raise
        # The Rust error does not say which input failed; find it with the same arithmetic.
        self._check_pair_stride(inputs, request)
        raise ValueError(
            f"truncation={request.truncation!r} cannot fit the input into max_length={request.max_length}"
        )

    def _tokenize(self, text: str, pair: str | None, add_special_tokens: bool) -> list[str]:
        self._configure(None)
        return self._tokenizer.encode(text, pair, add_special_tokens=add_special_tokens).tokens

    def _decode(self, sequences: list[list[int]], skip_special_tokens: bool) -> list[str]:
        return self._tokenizer.decode_batch(sequences, skip_special_tokens=skip_special_tokens)

    def _backend_for_saving(self) -> Tokenizer:
        clone = Tokenizer.from_str(self._tokenizer.to_str())
        clone.no_truncation()
        clone.no_padding()
        return clone
