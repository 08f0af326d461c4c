"""The tokenizer files: vocab.txt read and written, tokenizer_config.json written.

A model directory holds up to five tokenizer files (`TOKENIZER_FILES`):

- `vocab.txt`: one token per line, id = line number (`load_vocab`, `write_vocab`);
- `tokenizer.json`: the Rust `tokenizers` pipeline (read and built in `tokenizer_json`);
- `tokenizer_config.json` and `special_tokens_map.json`: the options (read by
  `options.options_from_files`, written by `write_tokenizer_config`), and the added tokens
  (`added_tokens_decoder`);
- `added_tokens.json`: the added tokens beyond the vocabulary, as older Transformers wrote them.

Both tokenizers import this module; neither imports the other.
"""

from __future__ import annotations

import collections
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bert_common.files import ModelNotFoundError, resolve_model_dir
from bert_common.tokenization.chars import WHITESPACE_STR
from bert_common.tokenization.options import (
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    TokenizerOptions,
)

logger = logging.getLogger("bert_zoo")

VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
ADDED_TOKENS_FILE = "added_tokens.json"
TOKENIZER_FILES = (
    VOCAB_FILE,
    TOKENIZER_FILE,
    TOKENIZER_CONFIG_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    ADDED_TOKENS_FILE,
)


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
# tokenizer_config.json and special_tokens_map.json


def write_tokenizer_config(
    directory: Path,
    options: TokenizerOptions,
    added: Sequence[tuple[int, Any]],
    special_tokens_map: Mapping[str, Any],
) -> tuple[str, str]:
    """Write tokenizer_config.json (with added_tokens_decoder) and special_tokens_map.json into `directory`.

    added: (id, added token) of every added token (special tokens, never_split entries, add_tokens),
    each with `to_dict()`. Returns the two paths.
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
    decoder = {str(index): dict(sorted(token.to_dict().items())) for index, token in sorted(added)}
    config = {"added_tokens_decoder": decoder, **config}
    config_path = directory / TOKENIZER_CONFIG_FILE
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    map_path = directory / SPECIAL_TOKENS_MAP_FILE
    map_path.write_text(json.dumps(special_tokens_map, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(config_path), str(map_path)
