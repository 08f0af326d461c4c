"""The tokenizer files: vocab.txt and tokenizer.json read and built, tokenizer_config.json written.

A model directory holds up to four tokenizer files (`TOKENIZER_FILES`):

- `vocab.txt`: one token per line, id = line number (`load_vocab`, `write_vocab`);
- `tokenizer.json`: the Rust `tokenizers` pipeline. `read_tokenizer_json` takes from it the WordPiece
  vocabulary, option defaults and added tokens; `build_backend` builds the standard BERT pipeline from
  a vocabulary and `TokenizerOptions` (what BertTokenizerFast runs and what both tokenizers save);
- `tokenizer_config.json` and `special_tokens_map.json`: the options (read by
  `options.options_from_files`, written by `write_tokenizer_config`).

Both tokenizers import this module; neither imports the other.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from bert_common.files import ModelNotFoundError, read_json_object, resolve_model_dir
from bert_common.tokenization.chars import WHITESPACE_STR
from bert_common.tokenization.options import (
    SPECIAL_TOKEN_NAMES,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    TokenizerOptions,
)

logger = logging.getLogger("bert_zoo")

VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_FILES = (VOCAB_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE)


def resolve_tokenizer_dir(
    name_or_path: str | os.PathLike[str],
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """The local directory of a tokenizer: `name_or_path` itself, or the hub snapshot of its
    TOKENIZER_FILES (see `bert_common.files.resolve_model_dir`, which raises ModelNotFoundError)."""
    return resolve_model_dir(
        name_or_path,
        allow_patterns=list(TOKENIZER_FILES),
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )


# --------------------------------------------------------------------------------------------------
# vocab.txt


def load_vocab(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read vocab.txt: one token per line, id = line number (as the Rust WordPiece reads it).

    Trailing White_Space (including "\\r") is stripped from each line. Raises ModelNotFoundError for a
    missing file, ValueError for an empty one, one that is not UTF-8 (naming the file and the offset of
    the first bad byte) or one holding a token twice (naming the token, its lines and the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"vocabulary file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        bad = err.object[err.start : err.start + 1]
        raise ValueError(
            f"vocabulary file {path} is not UTF-8 text: byte {bad!r} at offset {err.start} ({err.reason})"
        ) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab = unique_tokens([line.rstrip(WHITESPACE_STR) for line in lines], f"vocabulary file {path}")
    if not vocab:
        raise ValueError(f"vocabulary file {path} is empty")
    return vocab


def vocab_from_list(tokens: Mapping[str, int] | Iterable[str]) -> dict[str, int]:
    """A {token: id} dict from a mapping or from tokens in id order.

    Raises TypeError for a string, a non-string token or an id that is not a non-negative int.
    """
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
    tokens = list(tokens)
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"vocab entries must be strings, got {type(token).__name__} {token!r}")
    return unique_tokens(tokens, "the vocabulary list", unit="entries", base=0)


def unique_tokens(tokens: Sequence[str], where: str, unit: str = "lines", base: int = 1) -> dict[str, int]:
    """{token: position} of `tokens`, each of which must appear once (a vocabulary: position = id).

    where: what holds the tokens, named in the error ("vocabulary file /x/vocab.txt"). unit / base: how
    positions are named in the error (lines numbered from 1; list entries from 0, i.e. ids).
    Raises ValueError naming the first repeated token, every position it has and `where` (Transformers
    and the Rust library keep the last id silently; a repeated token leaves an id no text can produce).
    """
    vocab: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token in vocab:
            places = [str(i + base) for i, other in enumerate(tokens) if other == token]
            counts = collections.Counter(tokens)
            more = sum(1 for n in counts.values() if n > 1) - 1
            raise ValueError(
                f"duplicate token {token!r} on {unit} {', '.join(places[:-1])} and {places[-1]} of {where}"
                + (f" (and {more} more repeated token{'s' * (more > 1)})" if more else "")
                + "; every token must appear once, its position being its id"
            )
        vocab[token] = index
    return vocab


def write_vocab(directory: Path, vocab: Mapping[str, int], filename_prefix: str | None = None) -> str:
    """Write `vocab` as vocab.txt (one token per line, in id order) into `directory`; return its path.

    Ids that are not consecutive from 0 are logged as a warning: vocab.txt stores them by position.
    """
    items = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in items] != list(range(len(items))):
        logger.warning(
            "vocabulary ids are not consecutive from 0; vocab.txt stores them by position, so ids will "
            "change when it is read back"
        )
    path = directory / ((filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE)
    path.write_text("".join(token + "\n" for token, _ in items), encoding="utf-8")
    return str(path)


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
    """Read a tokenizer.json document (already parsed from JSON); `source` names it in errors.

    Raises ValueError for a model that is not WordPiece, a missing vocabulary, or an added token whose
    id differs from its vocabulary id.
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
    """Read a tokenizer.json file (see `parse_tokenizer_json`).

    Raises ModelNotFoundError for a missing file, ValueError for one `parse_tokenizer_json` rejects.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"tokenizer file not found: {path}")
    return parse_tokenizer_json(read_json_object(path), str(path))


def build_backend(vocab: Mapping[str, int], options: TokenizerOptions) -> Tokenizer:
    """The standard BERT `tokenizers.Tokenizer` for `vocab` and `options` (no truncation or padding).

    Built from its JSON description, the layout Transformers writes to tokenizer.json. The decoder
    does no clean-up of its own: decode applies `clean_up_tokenization_spaces` once, in Python.
    Raises ValueError when a special token or never_split entry is not in `vocab`.
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
# tokenizer_config.json and special_tokens_map.json


def write_tokenizer_config(
    directory: Path, options: TokenizerOptions, ids: Mapping[str, int], special_tokens_map: Mapping[str, Any]
) -> tuple[str, str]:
    """Write tokenizer_config.json (with added_tokens_decoder) and special_tokens_map.json into `directory`.

    ids: the vocabulary id of every special token and never_split entry. Returns the two paths.
    A tokenizer without a model_max_length of its own, saved beside a model's config.json, gets the
    model's limit (max_position_embeddings) written, so loaders truncate to what the model takes.
    """
    config = options.to_config()
    model_config = directory / "config.json"
    if options.model_max_length == TokenizerOptions.model_max_length and model_config.is_file():
        try:
            limit = json.loads(model_config.read_text(encoding="utf-8")).get("max_position_embeddings")
        except (OSError, ValueError, AttributeError):
            limit = None  # not a model config we can read: the tokenizer keeps no limit
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            config["model_max_length"] = limit
    added = {}
    for token in (*options.special_tokens, *options.never_split):
        added[str(ids[token])] = {
            "content": token,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": token in options.special_tokens,
        }
    config = {"added_tokens_decoder": dict(sorted(added.items(), key=lambda kv: int(kv[0]))), **config}
    config_path = directory / TOKENIZER_CONFIG_FILE
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    map_path = directory / SPECIAL_TOKENS_MAP_FILE
    map_path.write_text(json.dumps(special_tokens_map, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(config_path), str(map_path)
