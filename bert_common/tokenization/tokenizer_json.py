"""tokenizer.json read and built: the Rust `tokenizers` pipeline file of a BERT tokenizer.

`read_tokenizer_json` takes from a tokenizer.json the WordPiece vocabulary, option defaults (normalizer
flags, unknown token, prefix, template tokens) and its added tokens with their flags and ids;
`build_backend` builds the standard BERT pipeline from a vocabulary, the options and the added tokens
(what BertTokenizerFast runs and what both tokenizers save). `read_added_tokens` reads the added tokens
of a directory without tokenizer.json (tokenizer_config.json's added_tokens_decoder, else the older
added_tokens.json).

Shape legend: V = WordPiece vocabulary size; added tokens may have ids >= V.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from bert_common.files import ModelNotFoundError, read_json_object
from bert_common.tokenization.added import AddedToken, AddedVocab, as_added_token
from bert_common.tokenization.files import ADDED_TOKENS_FILE, vocab_from_list
from bert_common.tokenization.options import (
    SPECIAL_TOKEN_NAMES,
    TOKENIZER_CONFIG_FILE,
    TokenizerOptions,
    special_token_text,
)

logger = logging.getLogger("bert_zoo")

AddedEntries = list[tuple[int, AddedToken]]


@dataclasses.dataclass
class ParsedTokenizerJson:
    """What a tokenizer.json contributes: its WordPiece vocabulary, option values read from its pipeline,
    and its added tokens as (id, token), by id."""

    vocab: dict[str, int]
    options: dict[str, Any]
    added: AddedEntries

    def merged_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """`given` options completed with this file's values (given ones win); special added tokens that
        no option names become additional_special_tokens, and the added tokens are passed on."""
        merged = {**self.options, **given}
        named = {
            special_token_text(n, merged.get(n, getattr(TokenizerOptions, n))) for n in SPECIAL_TOKEN_NAMES
        }
        named |= set((merged.get("extra_special_tokens") or {}).values())
        if given.get("additional_special_tokens") is None:
            extra = [t.content for _, t in self.added if t.special and t.content not in named]
            if extra:
                merged["additional_special_tokens"] = extra
        merged["added_tokens_decoder"] = list(self.added)
        return merged


def parse_tokenizer_json(data: Mapping[str, Any], source: str = "tokenizer.json") -> ParsedTokenizerJson:
    """Read a tokenizer.json document (already parsed from JSON); `source` names it in errors.

    Raises ValueError for a model that is not WordPiece, a missing vocabulary, or an added token of the
    vocabulary whose id differs from its vocabulary id.
    """
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

    added: AddedEntries = []
    for entry in data.get("added_tokens") or []:
        token = as_added_token(entry, name=f"{source}: added token")
        index = entry.get("id")
        if token.content in vocab and vocab[token.content] != index:
            raise ValueError(
                f"{source}: added token {token.content!r} has id {index} but the WordPiece vocabulary gives "
                f"it id {vocab[token.content]}"
            )
        added.append((index, token))
    return ParsedTokenizerJson(vocab, options, sorted(added, key=lambda item: item[0]))


def read_tokenizer_json(path: str | os.PathLike[str]) -> ParsedTokenizerJson:
    """Read a tokenizer.json file (see `parse_tokenizer_json`).

    Raises ModelNotFoundError for a missing file, ValueError for one `parse_tokenizer_json` rejects.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"tokenizer file not found: {path}")
    return parse_tokenizer_json(read_json_object(path), str(path))


def read_added_tokens(directory: Path, options: Mapping[str, Any]) -> AddedEntries:
    """The added tokens of a directory without tokenizer.json, as (id, token) by id.

    tokenizer_config.json's added_tokens_decoder ({"id": {"content": ..., flags}}, Transformers >= 4.34)
    wins; else added_tokens.json ({content: id}, older Transformers), whose tokens are special when the
    `options` (as read from the directory) name them and normalized otherwise, as Transformers reads it.
    Raises ValueError for an entry that is not a token.
    """
    specials = {
        special_token_text(n, options.get(n, getattr(TokenizerOptions, n))) for n in SPECIAL_TOKEN_NAMES
    }
    specials |= set(options.get("additional_special_tokens") or [])
    config_path = directory / TOKENIZER_CONFIG_FILE
    decoder = read_json_object(config_path).get("added_tokens_decoder") if config_path.is_file() else None
    if isinstance(decoder, Mapping) and decoder:
        return sorted(
            ((int(index), as_added_token(entry, name=f"{config_path}: added_tokens_decoder[{index}]"))
             for index, entry in decoder.items()),
            key=lambda item: item[0],
        )  # fmt: skip
    legacy_path = directory / ADDED_TOKENS_FILE
    if not legacy_path.is_file():
        return []
    legacy = read_json_object(legacy_path)
    return sorted(
        ((int(index), as_added_token(content, special=content in specials, name=f"{legacy_path}: entry"))
         for content, index in legacy.items()),
        key=lambda item: item[0],
    )  # fmt: skip


def build_backend(vocab: Mapping[str, int], options: TokenizerOptions, added: AddedVocab) -> Tokenizer:
    """The standard BERT `tokenizers.Tokenizer` for `vocab`, `options` and the added tokens (no truncation
    or padding).

    Built from its JSON description, the layout Transformers writes to tokenizer.json. The decoder
    does no clean-up of its own: decode applies `clean_up_tokenization_spaces` once, in Python.
    """
    cls, sep = options.cls_token, options.sep_token
    ids = added.full_vocab()
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": index, **token.to_dict()} for index, token in added.entries()],
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
                token: {"id": token, "ids": [ids[token]], "tokens": [token]}
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
