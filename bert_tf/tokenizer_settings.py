"""`TFBertTokenizer`'s constructor arguments, read from tokenizer files or from another tokenizer.

`TFBertTokenizer.from_pretrained`, `from_tokenizer_json` and `from_tokenizer` turn what they are given
into the keyword arguments of the constructor here: a model directory (read by bert_common's
BertTokenizerFast, so every file layout it reads), a `tokenizers` tokenizer.json (the whole pipeline), or
a tokenizer object. Plain Python, no TensorFlow. V = vocabulary size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bert_common.tokenization import BertTokenizerFast


def vocab_list(vocab: Mapping[str, int]) -> list[str]:
    """token -> id mapping to the list indexed by id; the ids must be 0..V-1."""
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("the vocabulary ids must be exactly 0..V-1")
    return [token for token, _ in by_id]


def settings_from_tokenizer_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from a `tokenizers` JSON description of a BERT WordPiece tokenizer.

    Raises ValueError for a pipeline other than BertNormalizer + BertPreTokenizer + WordPiece, or added
    tokens with normalized/lstrip/rstrip/single_word matching.
    """
    model = data.get("model") or {}
    if model.get("type") != "WordPiece":
        raise ValueError(f"TFBertTokenizer reads WordPiece tokenizers, this one is {model.get('type')!r}")
    normalizer = data.get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer":
        raise ValueError(
            f"TFBertTokenizer needs a BertNormalizer, this tokenizer has {normalizer.get('type')!r}"
        )
    pre_tokenizer = data.get("pre_tokenizer") or {}
    if pre_tokenizer.get("type") != "BertPreTokenizer":
        raise ValueError(
            f"TFBertTokenizer needs a BertPreTokenizer, this tokenizer has {pre_tokenizer.get('type')!r}"
        )
    added = []
    for entry in data.get("added_tokens") or []:
        if entry.get("normalized") or entry.get("lstrip") or entry.get("rstrip") or entry.get("single_word"):
            raise ValueError(
                f"added token {entry.get('content')!r} uses normalized/lstrip/rstrip/single_word matching, "
                "which TFBertTokenizer does not implement"
            )
        added.append(entry["content"])
    settings: dict[str, Any] = {
        "vocab_list": vocab_list(model["vocab"]),
        "do_lower_case": bool(normalizer.get("lowercase", True)),
        "strip_accents": normalizer.get("strip_accents"),
        "tokenize_chinese_chars": bool(normalizer.get("handle_chinese_chars", True)),
        "clean_text": bool(normalizer.get("clean_text", True)),
        "unk_token": model.get("unk_token", "[UNK]"),
        "continuing_subword_prefix": model.get("continuing_subword_prefix", "##"),
        "max_input_chars_per_word": int(model.get("max_input_chars_per_word", 100)),
        "added_tokens": added,
    }
    processor = data.get("post_processor") or {}
    if processor.get("type") == "BertProcessing":
        settings["cls_token"], settings["sep_token"] = processor["cls"][0], processor["sep"][0]
    elif processor.get("type") == "TemplateProcessing":
        single = [
            piece["SpecialToken"]["id"] for piece in processor.get("single", []) if "SpecialToken" in piece
        ]
        if len(single) == 2:
            settings["cls_token"], settings["sep_token"] = single
    padding = data.get("padding") or {}
    if padding.get("pad_token"):
        settings["pad_token"] = padding["pad_token"]
    elif "[PAD]" not in added and added:
        settings["pad_token"] = next((t for t in added if "pad" in t.lower()), "[PAD]")
    mask = next((t for t in added if "mask" in t.lower()), None)
    if mask is not None:
        settings["mask_token"] = mask
    return settings


def settings_from_directory(directory: Path) -> dict[str, Any]:
    """Constructor arguments from the tokenizer files of a model directory, read exactly as bert_common's
    tokenizers read them (`BertTokenizerFast.from_pretrained`: tokenizer.json, else vocab.txt with
    tokenizer_config.json / special_tokens_map.json / added tokens, in every form Transformers wrote).

    Raises ModelNotFoundError when the directory holds no vocabulary, ValueError for files the
    tokenizers refuse or a tokenizer TFBertTokenizer cannot reproduce (added tokens beyond the
    vocabulary, or with normalized / lstrip / rstrip / single_word matching).
    """
    return settings_from_tokenizer(BertTokenizerFast.from_pretrained(directory))


def settings_from_tokenizer(tokenizer: Any) -> dict[str, Any]:
    """Constructor arguments from a BertTokenizerFast (bert_common or Transformers), a BertTokenizer, or a
    `tokenizers.Tokenizer`.

    A tokenizer backed by the `tokenizers` library is read through its JSON description, which holds
    every setting; others through `get_vocab()` and their `do_lower_case`, `strip_accents`,
    `tokenize_chinese_chars` and special-token attributes. Raises TypeError for an object without a
    vocabulary, ValueError for a tokenizer TFBertTokenizer cannot reproduce.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is None and hasattr(tokenizer, "_backend_for_saving"):  # bert_common's BertTokenizer
        backend = tokenizer._backend_for_saving()
    if backend is None and hasattr(tokenizer, "to_str"):
        backend = tokenizer
    if backend is not None and hasattr(backend, "to_str"):
        settings: dict[str, Any] = settings_from_tokenizer_json(json.loads(backend.to_str()))
        return {**settings, **_limits(tokenizer)}
    if not hasattr(tokenizer, "get_vocab"):
        raise TypeError(
            f"cannot read a vocabulary from {type(tokenizer).__name__}; expected a BERT tokenizer"
        )
    vocab = tokenizer.get_vocab()
    if len(vocab) > getattr(tokenizer, "vocab_size", len(vocab)):
        raise ValueError(
            f"{type(tokenizer).__name__} has tokens added beyond its WordPiece vocabulary "
            f"({len(vocab) - tokenizer.vocab_size}); TFBertTokenizer needs every added token in the vocabulary"
        )
    settings = {"vocab_list": vocab_list(vocab)}
    for name in ("do_lower_case", "strip_accents", "tokenize_chinese_chars"):
        if hasattr(tokenizer, name):
            settings[name] = getattr(tokenizer, name)
    for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            settings[name] = str(value)
    return {**settings, **_limits(tokenizer)}


def _limits(tokenizer: Any) -> dict[str, Any]:
    """max_length (its model_max_length, when it has a real one), padding_side and truncation_side."""
    out: dict[str, Any] = {}
    max_length = getattr(tokenizer, "model_max_length", None)
    if isinstance(max_length, int) and max_length < 1_000_000:
        out["max_length"] = max_length
    for name in ("padding_side", "truncation_side"):
        if getattr(tokenizer, name, None) in ("right", "left"):
            out[name] = getattr(tokenizer, name)
    return out
