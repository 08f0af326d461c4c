"""The calling API shared by `BertTokenizer` (pure Python) and `BertTokenizerFast` (Rust `tokenizers`).

Three things live here, and nothing else:

- `TokenizerOptions`: the validated options both tokenizers take (lowercasing, accents, special tokens,
  never_split, model_max_length, ...), read from and written to `tokenizer_config.json`.
- `BatchEncoding`: what a call returns, a dict of model inputs (`enc["input_ids"]`, `enc.input_ids`)
  that also keeps the per-row encodings for alignment queries (`word_ids`, `char_to_token`, ...).
- `TokenizerBase`: the shared front end (`__call__`, `encode`, `decode`, special tokens, saving and
  loading). It validates every argument once and turns it into an `EncodeRequest`; the subclasses only
  turn an `EncodeRequest` into encodings (`_encode`) and ids back into text (`_decode`).

The truncation arithmetic (`truncation_targets`) is also here, because the slow tokenizer applies it and
the fast one checks it before handing work to Rust. Its semantics are those of the `tokenizers` library.
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import inspect
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bert_common.files import resolve_model_dir

logger = logging.getLogger("bert_zoo")

VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
TOKENIZER_FILES = (VOCAB_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE)

# model_max_length of a tokenizer that has none (the value Transformers uses, int(1e30)).
VERY_LARGE_INTEGER = int(1e30)

# Special-token attributes in Transformers' order (which fixes the order of all_special_tokens).
SPECIAL_TOKEN_NAMES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

TENSOR_KINDS = ("np", "pt", "tf", "jax")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")

# tokenizer_config.json keys that Transformers writes and that carry nothing these tokenizers use.
_IGNORED_CONFIG_KEYS = frozenset(
    {
        "tokenizer_class",
        "name_or_path",
        "special_tokens_map_file",
        "tokenizer_file",
        "full_tokenizer_file",
        "added_tokens_decoder",
        "model_input_names",
        "extra_special_tokens",
        "truncation_side",
        "auto_map",
        "processor_class",
        "use_fast",
        "split_special_tokens",
        "bos_token",
        "eos_token",
        "max_len",
    }
)


# --------------------------------------------------------------------------------------------------
# options


def _special_token_text(name: str, value: Any) -> str:
    """A special token given as a string, a serialized AddedToken dict or an object with `.content`."""
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        value = value["content"]
    elif not isinstance(value, str) and isinstance(getattr(value, "content", None), str):
        value = value.content
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _token_list(name: str, value: Any) -> tuple[str, ...]:
    """None or an iterable of non-empty strings, as a de-duplicated tuple (first occurrence kept)."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of strings, got {type(value).__name__} {value!r}")
    out: list[str] = []
    for item in value:
        token = _special_token_text(f"{name} entry", item)
        if token not in out:
            out.append(token)
    return tuple(out)


def _unknown_keys_message(owner: str, keys: Iterable[str], known: Iterable[str]) -> str:
    known = list(known)
    parts = []
    for key in sorted(keys):
        guess = difflib.get_close_matches(key, known, n=1)
        parts.append(f"{key!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    return f"{owner} got unexpected keyword argument(s) {', '.join(parts)}"


@dataclasses.dataclass(frozen=True)
class TokenizerOptions:
    """Every option of a BERT tokenizer, validated; shared by the slow and the fast tokenizer.

    do_lower_case / strip_accents / tokenize_chinese_chars / clean_text: the BertNormalizer steps
        (strip_accents=None follows do_lower_case, as in the original BERT).
    do_basic_tokenize: False skips normalization and punctuation splitting: WordPiece runs on
        whitespace-separated words of the raw text.
    never_split: tokens matched in the raw text (leftmost-longest, like special tokens) and kept
        whole; each must be in the vocabulary.
    wordpieces_prefix / max_input_chars_per_word: the WordPiece continuation prefix and the word length
        (in characters, after normalization) above which a word becomes the unknown token.
    model_max_length: the length `truncation=True` and `padding="max_length"` use when `max_length`
        is not given; `VERY_LARGE_INTEGER` means "none".
    clean_up_tokenization_spaces: default of `decode(..., clean_up_tokenization_spaces=)`.
    padding_side: "right" or "left".
    """

    do_lower_case: bool = True
    do_basic_tokenize: bool = True
    never_split: tuple[str, ...] = ()
    unk_token: str = "[UNK]"
    sep_token: str = "[SEP]"
    pad_token: str = "[PAD]"
    cls_token: str = "[CLS]"
    mask_token: str = "[MASK]"
    additional_special_tokens: tuple[str, ...] = ()
    tokenize_chinese_chars: bool = True
    strip_accents: bool | None = None
    clean_text: bool = True
    wordpieces_prefix: str = "##"
    max_input_chars_per_word: int = 100
    model_max_length: int = VERY_LARGE_INTEGER
    clean_up_tokenization_spaces: bool = True
    padding_side: str = "right"

    def __post_init__(self) -> None:
        for name in ("do_lower_case", "do_basic_tokenize", "tokenize_chinese_chars", "clean_text"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if not isinstance(self.clean_up_tokenization_spaces, bool):
            raise TypeError(
                f"clean_up_tokenization_spaces must be a bool, got {self.clean_up_tokenization_spaces!r}"
            )
        if self.strip_accents is not None and not isinstance(self.strip_accents, bool):
            raise TypeError(f"strip_accents must be True, False or None, got {self.strip_accents!r}")
        for name in SPECIAL_TOKEN_NAMES:
            object.__setattr__(self, name, _special_token_text(name, getattr(self, name)))
        object.__setattr__(self, "never_split", _token_list("never_split", self.never_split))
        object.__setattr__(
            self,
            "additional_special_tokens",
            _token_list("additional_special_tokens", self.additional_special_tokens),
        )
        if not isinstance(self.wordpieces_prefix, str) or not self.wordpieces_prefix:
            raise ValueError(f"wordpieces_prefix must be a non-empty string, got {self.wordpieces_prefix!r}")
        for name in ("max_input_chars_per_word", "model_max_length"):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():  # json may give 1e+30
                value = int(value)
                object.__setattr__(self, name, value)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {self.padding_side!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Names of all options, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, owner: str, kwargs: Mapping[str, Any]) -> TokenizerOptions:
        """Build from keyword arguments, rejecting unknown names (they are almost always typos)."""
        unknown = set(kwargs) - set(cls.names())
        if unknown:
            raise TypeError(_unknown_keys_message(owner, unknown, cls.names()))
        return cls(**kwargs)

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """All special tokens (the five named ones, then the additional ones), duplicates removed."""
        out: list[str] = []
        for token in (*(getattr(self, n) for n in SPECIAL_TOKEN_NAMES), *self.additional_special_tokens):
            if token not in out:
                out.append(token)
        return tuple(out)

    def check_vocab(self, vocab: Mapping[str, int]) -> None:
        """Raise ValueError when a special token or a never_split entry is not in `vocab`."""
        if not vocab:
            raise ValueError("the vocabulary is empty")
        for name in SPECIAL_TOKEN_NAMES:
            token = getattr(self, name)
            if token not in vocab:
                raise ValueError(
                    f"the vocabulary has no {name} {token!r}; add it to the vocabulary or pass "
                    f"{name}=<a token of the vocabulary>"
                )
        for token in self.additional_special_tokens:
            if token not in vocab:
                raise ValueError(f"additional_special_tokens entry {token!r} is not in the vocabulary")
        for token in self.never_split:
            if token not in vocab:
                raise ValueError(
                    f"never_split entry {token!r} is not in the vocabulary; a never_split token is kept "
                    "whole and mapped to its vocabulary id, so it must be one of the vocabulary's tokens"
                )

    def to_config(self) -> dict[str, Any]:
        """The tokenizer_config.json entries (without added_tokens_decoder), as Transformers names them."""
        config: dict[str, Any] = {
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "cls_token": self.cls_token,
            "do_basic_tokenize": self.do_basic_tokenize,
            "do_lower_case": self.do_lower_case,
            "mask_token": self.mask_token,
            "model_max_length": self.model_max_length,
            "never_split": list(self.never_split) or None,
            "pad_token": self.pad_token,
            "padding_side": self.padding_side,
            "sep_token": self.sep_token,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "tokenizer_class": "BertTokenizer",
            "unk_token": self.unk_token,
        }
        if self.additional_special_tokens:
            config["additional_special_tokens"] = list(self.additional_special_tokens)
        # Options Transformers' BertTokenizer does not have: written only when they differ from the default.
        for name in ("clean_text", "wordpieces_prefix", "max_input_chars_per_word"):
            if getattr(self, name) != getattr(TokenizerOptions, name):
                config[name] = getattr(self, name)
        return config


def options_from_files(directory: Path) -> dict[str, Any]:
    """Options read from tokenizer_config.json and special_tokens_map.json in `directory` (the latter wins).

    Keys these tokenizers do not use are dropped (logged at debug level), so a directory written by
    Transformers loads as is.
    """
    found: dict[str, Any] = {}
    for name in (TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE):
        path = directory / name
        if not path.is_file():
            continue
        data = read_json_object(path)
        for key, value in data.items():
            if key in TokenizerOptions.names():
                found[key] = value
            elif key not in _IGNORED_CONFIG_KEYS:
                logger.debug("%s: ignoring unknown key %r", path, key)
    for key in ("never_split", "additional_special_tokens"):
        if key in found and found[key] is not None:
            found[key] = [_special_token_text(key, v) for v in found[key]]
    return found


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object, with errors naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


# --------------------------------------------------------------------------------------------------
# truncation arithmetic (the `tokenizers` library's truncate_encodings, on lengths)


def truncation_targets(n1: int, n2: int | None, room: int, strategy: str) -> tuple[int, int | None]:
    """Lengths the first and second sequence are truncated to, as the `tokenizers` library computes them.

    n1 / n2: token counts of the sequences without special tokens (n2 None for a single text).
    room: max_length minus the special tokens the template adds (>= 1).
    strategy: "longest_first", "only_first" or "only_second".
    A returned length >= the sequence's own length means "not truncated".

    "longest_first" gives both lengths at once (not one token at a time as Transformers' Python
    tokenizer did): the shorter sequence keeps its length when the longer one can absorb the cut,
    otherwise both get room // 2, the second (or the longer, if it is the first) one extra for odd room.
    """
    total = n1 + (n2 or 0)
    if total <= room:
        return n1, n2
    to_remove = total - room
    if strategy == "longest_first":
        if n2 is None:
            return room, None
        short, long_ = (n2, n1) if n1 > n2 else (n1, n2)
        long_ = short if short > room else max(short, room - short)
        if short + long_ > room:
            short = room // 2
            long_ = short + room % 2
        return (long_, short) if n1 > n2 else (short, long_)
    if strategy == "only_second" and n2 is None:
        raise ValueError("truncation='only_second' needs text pairs; this input has a single text")
    target = n1 if strategy == "only_first" else n2
    assert target is not None  # internal: only_second with a pair
    if target <= to_remove:
        which = "first" if strategy == "only_first" else "second"
        raise ValueError(
            f"truncation={strategy!r} cannot fit this pair into max_length: the {which} sequence has "
            f"{target} tokens but {to_remove} must be removed (the other sequence alone is too long); "
            "use truncation='longest_first' or a larger max_length"
        )
    if strategy == "only_first":
        return n1 - to_remove, n2
    return n1, target - to_remove


# --------------------------------------------------------------------------------------------------
# BatchEncoding


def _to_tensor(value: Any, kind: str, key: str) -> Any:
    """Convert a list (of lists) of ints to a `kind` tensor; ragged rows raise a ValueError naming `key`."""
    if isinstance(value, list) and value and isinstance(value[0], (list, tuple)):
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"cannot build a {kind!r} tensor from {key!r}: its rows have different lengths "
                f"{sorted(lengths)[:6]}; pass padding=True (or 'max_length') and/or truncation=True"
            )
    array = np.asarray(value, dtype=np.int64)
    if kind == "np":
        return array
    if kind == "pt":
        import torch

        return torch.from_numpy(array)
    if kind == "tf":
        import tensorflow as tf

        return tf.convert_to_tensor(array.astype(np.int32))
    import jax.numpy as jnp

    return jnp.asarray(array.astype(np.int32))


def check_tensor_kind(kind: Any) -> str | None:
    """Validate a `return_tensors` value: None or one of TENSOR_KINDS."""
    if kind is None:
        return None
    if not isinstance(kind, str) or kind not in TENSOR_KINDS:
        raise ValueError(f"unknown return_tensors {kind!r}; expected one of {list(TENSOR_KINDS)} or None")
    return kind


class BatchEncoding(dict):
    """Model inputs from a tokenizer call: a dict (`enc["input_ids"]`, also `enc.input_ids`).

    Keys: input_ids, token_type_ids, attention_mask, and on request special_tokens_mask, offset_mapping,
    length, overflow_to_sample_mapping. Values are python lists (un-nested for a single text without
    overflow, as in Transformers) or tensors of the `tensor_type` kind ("np" int64, "pt" int64,
    "tf" int32, "jax" int32), shaped [B, T] ([B, T, 2] for offset_mapping).

    `encodings` holds one encoding per row (`tokenizers.Encoding` for the fast tokenizer, an
    equivalent pure-Python `Encoding` for the slow one); the alignment methods read them.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        encodings: Sequence[Any] | None = None,
        tensor_type: str | None = None,
        n_sequences: int | None = None,
    ) -> None:
        super().__init__(data or {})
        self._encodings = list(encodings) if encodings is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no key or attribute {name!r}") from None

    def __getstate__(self) -> dict[str, Any]:
        return {"data": dict(self), "encodings": self._encodings, "n_sequences": self._n_sequences}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state["data"])
        self._encodings = state["encodings"]
        self._n_sequences = state["n_sequences"]

    def __reduce__(self) -> tuple[Any, ...]:
        return (BatchEncoding, (), self.__getstate__())

    @property
    def encodings(self) -> list[Any] | None:
        """One encoding per row (overflow rows included), or None when built without them."""
        return self._encodings

    @property
    def n_sequences(self) -> int | None:
        """1 for texts, 2 for text pairs."""
        return self._n_sequences

    def _encoding(self, batch_index: int) -> Any:
        if not self._encodings:
            raise ValueError("this BatchEncoding holds no encodings, so it cannot answer alignment queries")
        if not -len(self._encodings) <= batch_index < len(self._encodings):
            raise IndexError(f"batch_index {batch_index} is out of range for {len(self._encodings)} rows")
        return self._encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        """Token strings of row `batch_index` (special and pad tokens included)."""
        return list(self._encoding(batch_index).tokens)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of the row, the index of the word it came from in its own text (None: special)."""
        return list(self._encoding(batch_index).word_ids)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of the row, 0 (first text), 1 (second text) or None (special or pad token)."""
        return list(self._encoding(batch_index).sequence_ids)

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """Index of the token holding character `char_index` of text `sequence_index`, or None.

        Call as `char_to_token(char_index)` for a single text or `char_to_token(batch_index, char_index)`.
        """
        if char_index is None:
            batch_index, char_index = 0, batch_or_char_index
        else:
            batch_index = batch_or_char_index
        return self._encoding(batch_index).char_to_token(char_index, sequence_index)

    def token_to_chars(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> tuple[int, int] | None:
        """(start, end) characters of a token in its own text, or None for special and pad tokens."""
        if token_index is None:
            batch_index, token_index = 0, batch_or_token_index
        else:
            batch_index = batch_or_token_index
        return self._encoding(batch_index).token_to_chars(token_index)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Index of the word holding a token, or None for special and pad tokens."""
        if token_index is None:
            batch_index, token_index = 0, batch_or_token_index
        else:
            batch_index = batch_or_token_index
        return self._encoding(batch_index).token_to_word(token_index)

    def convert_to_tensors(self, tensor_type: str | None) -> BatchEncoding:
        """Turn every value into a `tensor_type` tensor in place ("np", "pt", "tf", "jax"; None: no-op)."""
        kind = check_tensor_kind(tensor_type)
        if kind is None:
            return self
        for key, value in self.items():
            if isinstance(value, list):
                self[key] = _to_tensor(value, kind, key)
        return self

    def to(self, device: Any) -> BatchEncoding:
        """Move torch tensors to `device` (a torch.device or a string such as "cuda"); others are kept."""
        for key, value in self.items():
            if hasattr(value, "to") and callable(value.to) and type(value).__module__.startswith("torch"):
                self[key] = value.to(device)
        return self


# --------------------------------------------------------------------------------------------------
# the shared front end


@dataclasses.dataclass(frozen=True)
class EncodeRequest:
    """One tokenizer call, validated. Lengths are final (model_max_length already substituted).

    truncation: None or a strategy; max_length: the truncation length (with special tokens).
    padding: None, "longest" or "max_length"; pad_length: the "max_length" target.
    """

    is_pair: bool
    add_special_tokens: bool = True
    truncation: str | None = None
    max_length: int | None = None
    stride: int = 0
    padding: str | None = None
    pad_length: int | None = None
    pad_to_multiple_of: int | None = None
    padding_side: str = "right"
    return_tensors: str | None = None
    return_token_type_ids: bool = True
    return_attention_mask: bool = True
    return_overflowing_tokens: bool = False
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False

    @property
    def n_special(self) -> int:
        """Special tokens the template adds to each row: [CLS] A [SEP] (+ B [SEP])."""
        return (3 if self.is_pair else 2) if self.add_special_tokens else 0


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int{' or None' if allow_none else ''}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_bool(name: str, value: Any, allow_none: bool = False) -> bool | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def _as_id_list(token_ids: Any) -> list[int]:
    """Ids given as an int, a list/tuple, a numpy array or a framework tensor, as a flat list of ints."""
    if hasattr(token_ids, "tolist") and not isinstance(token_ids, (list, tuple)):
        token_ids = token_ids.tolist()
    if isinstance(token_ids, (int, np.integer)) and not isinstance(token_ids, bool):
        return [int(token_ids)]
    if not isinstance(token_ids, (list, tuple)):
        raise TypeError(f"token ids must be an int or a sequence of ints, got {type(token_ids).__name__}")
    out = []
    for i in token_ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            if isinstance(i, (list, tuple)):
                raise TypeError("decode takes one sequence of ids; use batch_decode for a batch")
            raise TypeError(f"token ids must be ints, got {type(i).__name__} {i!r}")
        out.append(int(i))
    return out


def clean_up_tokenization(text: str) -> str:
    """Remove the spaces decoding leaves before punctuation and inside English contractions
    (Transformers' `clean_up_tokenization`, applied once to the whole decoded string)."""
    return (
        text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
    )


class TokenizerBase(abc.ABC):
    """What BertTokenizer and BertTokenizerFast share: calling, decoding, special tokens, save/load.

    Subclasses set `self.options` (a TokenizerOptions) and implement the hooks `get_vocab`,
    `vocab_size`, `_token_to_id`, `_id_to_token`, `_tokenize`, `_encode`, `_decode`,
    `_backend_for_saving` and `_from_directory`.
    """

    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]
    options: TokenizerOptions

    # ---- hooks -------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_vocab(self) -> dict[str, int]:
        """The vocabulary as {token: id} (a copy)."""

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Number of entries of the WordPiece vocabulary."""

    @abc.abstractmethod
    def _token_to_id(self, token: str) -> int | None:
        """The id of `token`, or None when it is not in the vocabulary."""

    @abc.abstractmethod
    def _id_to_token(self, index: int) -> str | None:
        """The token of `index`, or None when the id is outside the vocabulary."""

    @abc.abstractmethod
    def _tokenize(self, text: str, pair: str | None, add_special_tokens: bool) -> list[str]:
        """The tokens of a text (and its pair), with the special tokens when asked."""

    @abc.abstractmethod
    def _encode(self, inputs: list[Any], request: EncodeRequest) -> list[Any]:
        """One encoding (ids, type ids, offsets, overflow, ...) per input, as `request` describes."""

    @abc.abstractmethod
    def _decode(self, sequences: list[list[int]], skip_special_tokens: bool) -> list[str]:
        """The text of each id sequence, before clean-up."""

    @abc.abstractmethod
    def _backend_for_saving(self) -> Any:
        """The `tokenizers.Tokenizer` whose JSON `save_pretrained` writes as tokenizer.json."""

    @classmethod
    @abc.abstractmethod
    def _from_directory(cls, directory: Path, options: dict[str, Any]) -> TokenizerBase:
        """A tokenizer built from the files of `directory` with the resolved `options`."""

    # ---- options as attributes ---------------------------------------------------------------
    @property
    def do_lower_case(self) -> bool:
        """Whether the normalizer lowercases."""
        return self.options.do_lower_case

    @property
    def do_basic_tokenize(self) -> bool:
        """Whether normalization and punctuation splitting run before WordPiece."""
        return self.options.do_basic_tokenize

    @property
    def never_split(self) -> tuple[str, ...]:
        """Tokens kept whole, matched in the raw text."""
        return self.options.never_split

    @property
    def tokenize_chinese_chars(self) -> bool:
        """Whether CJK ideographs are split into single-character words."""
        return self.options.tokenize_chinese_chars

    @property
    def strip_accents(self) -> bool | None:
        """Accent stripping (None: follow do_lower_case)."""
        return self.options.strip_accents

    @property
    def clean_text(self) -> bool:
        """Whether control characters are removed and whitespace mapped to spaces."""
        return self.options.clean_text

    @property
    def wordpieces_prefix(self) -> str:
        """Prefix of WordPiece continuation pieces ("##")."""
        return self.options.wordpieces_prefix

    @property
    def model_max_length(self) -> int:
        """Default length for truncation=True and padding='max_length'."""
        return self.options.model_max_length

    @property
    def clean_up_tokenization_spaces(self) -> bool:
        """Default of decode's clean_up_tokenization_spaces."""
        return self.options.clean_up_tokenization_spaces

    @property
    def padding_side(self) -> str:
        """Default side padding goes to ("right" or "left")."""
        return self.options.padding_side

    # ---- special tokens ----------------------------------------------------------------------
    unk_token = property(lambda self: self.options.unk_token, doc="The unknown token ([UNK]).")
    sep_token = property(lambda self: self.options.sep_token, doc="The separator token ([SEP]).")
    pad_token = property(lambda self: self.options.pad_token, doc="The padding token ([PAD]).")
    cls_token = property(lambda self: self.options.cls_token, doc="The classifier token ([CLS]).")
    mask_token = property(lambda self: self.options.mask_token, doc="The mask token ([MASK]).")
    unk_token_id = property(lambda self: self._special_id("unk_token"), doc="Id of unk_token.")
    sep_token_id = property(lambda self: self._special_id("sep_token"), doc="Id of sep_token.")
    pad_token_id = property(lambda self: self._special_id("pad_token"), doc="Id of pad_token.")
    cls_token_id = property(lambda self: self._special_id("cls_token"), doc="Id of cls_token.")
    mask_token_id = property(lambda self: self._special_id("mask_token"), doc="Id of mask_token.")

    def _special_id(self, name: str) -> int:
        index = self._token_to_id(getattr(self.options, name))
        assert index is not None  # internal: checked against the vocabulary at construction
        return index

    @property
    def additional_special_tokens(self) -> list[str]:
        """Special tokens beyond the five named ones."""
        return list(self.options.additional_special_tokens)

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        """{attribute name: token}, as special_tokens_map.json holds it."""
        out: dict[str, Any] = {name: getattr(self.options, name) for name in SPECIAL_TOKEN_NAMES}
        if self.options.additional_special_tokens:
            out["additional_special_tokens"] = list(self.options.additional_special_tokens)
        return out

    @property
    def all_special_tokens(self) -> list[str]:
        """Every special token once: unk, sep, pad, cls, mask, then the additional ones."""
        return list(self.options.special_tokens)

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of all_special_tokens, in the same order."""
        return [self._token_to_id(t) for t in self.options.special_tokens]  # type: ignore[misc]

    def __len__(self) -> int:
        """Size of the full vocabulary (every added token is a vocabulary entry, so = vocab_size)."""
        return self.vocab_size

    # ---- token <-> id ------------------------------------------------------------------------
    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Id of a token (or ids of a list); tokens not in the vocabulary give unk_token_id."""
        if isinstance(tokens, str):
            index = self._token_to_id(tokens)
            return self.unk_token_id if index is None else index
        if not isinstance(tokens, Sequence):
            raise TypeError(f"tokens must be a string or a list of strings, got {type(tokens).__name__}")
        return [self.convert_tokens_to_ids(t) for t in tokens]  # type: ignore[misc]

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> str | list[str]:
        """Token of an id (or tokens of a list); an id outside the vocabulary raises a ValueError."""
        single = isinstance(ids, (int, np.integer)) and not isinstance(ids, bool)
        id_list = _as_id_list(ids)
        self._check_ids(id_list)
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self._id_to_token(i) for i in id_list if i not in special]
        return tokens[0] if single and tokens else tokens  # type: ignore[return-value]

    def _check_ids(self, ids: list[int]) -> None:
        size = len(self)
        bad = [i for i in ids if not 0 <= i < size]
        if bad:
            raise ValueError(f"token id(s) {bad[:5]} outside the vocabulary [0, {size})")

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join WordPiece tokens back into text: continuation pieces lose the prefix and attach to the
        previous token, other tokens are separated by a space. No clean-up."""
        prefix = self.options.wordpieces_prefix
        parts = []
        for i, token in enumerate(tokens):
            if i == 0:
                parts.append(token)
            elif token.startswith(prefix):
                parts.append(token[len(prefix) :])
            else:
                parts.append(" " + token)
        return "".join(parts)

    # ---- special-token layout ----------------------------------------------------------------
    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """Special tokens added to a text (2: [CLS] [SEP]) or a pair (3: [CLS] [SEP] [SEP])."""
        return 3 if pair else 2

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """[CLS] A [SEP] for a text, [CLS] A [SEP] B [SEP] for a pair."""
        out = [self.cls_token_id, *token_ids_0, self.sep_token_id]
        if token_ids_1 is not None:
            out += [*token_ids_1, self.sep_token_id]
        return out

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 for a special token, 0 for a sequence token.

        already_has_special_tokens=False: the mask of `build_inputs_with_special_tokens(ids_0, ids_1)`.
        already_has_special_tokens=True: ids that are special tokens (anywhere) give 1.
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "with already_has_special_tokens=True pass the full sequence as token_ids_0 only"
                )
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in token_ids_0]
        out = [1] + [0] * len(token_ids_0) + [1]
        if token_ids_1 is not None:
            out += [0] * len(token_ids_1) + [1]
        return out

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Segment ids of `build_inputs_with_special_tokens`: 0 for [CLS] A [SEP], 1 for B [SEP]."""
        out = [0] * (len(token_ids_0) + 2)
        if token_ids_1 is not None:
            out += [1] * (len(token_ids_1) + 1)
        return out

    # ---- calling -----------------------------------------------------------------------------
    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """Token strings of `text` (and `pair`), without truncation or padding."""
        self._check_text("text", text)
        if pair is not None:
            self._check_text("pair", pair)
        return self._tokenize(text, pair, _check_bool("add_special_tokens", add_special_tokens))

    @staticmethod
    def _check_text(name: str, value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r:.80}")

    def _batch_inputs(self, text: Any, text_pair: Any) -> tuple[list[Any], bool, bool]:
        """(inputs, is_pair, is_batched): inputs is a list of strings or of (str, str) tuples."""
        if isinstance(text, str):
            if text_pair is None:
                return [text], False, False
            if not isinstance(text_pair, str):
                raise TypeError(
                    f"text is a single string but text_pair is {type(text_pair).__name__}; pass a string "
                    "pair, or lists of the same length for a batch of pairs"
                )
            return [(text, text_pair)], True, False
        if not isinstance(text, (list, tuple)):
            raise TypeError(
                "text must be a string, a list of strings or a list of (text, text_pair) tuples, "
                f"got {type(text).__name__} {text!r:.80}"
            )
        if text_pair is not None:
            if not isinstance(text_pair, (list, tuple)):
                raise TypeError(
                    f"text is a batch (a {type(text).__name__}) so text_pair must be a list of strings "
                    f"too, got {type(text_pair).__name__}"
                )
            if len(text) != len(text_pair):
                raise ValueError(
                    f"text and text_pair must have the same length, got {len(text)} texts and "
                    f"{len(text_pair)} text pairs"
                )
            for i, (a, b) in enumerate(zip(text, text_pair)):
                if not isinstance(a, str):
                    raise TypeError(f"text[{i}] must be a string, got {type(a).__name__} {a!r:.80}")
                if not isinstance(b, str):
                    raise TypeError(f"text_pair[{i}] must be a string, got {type(b).__name__} {b!r:.80}")
            return list(zip(text, text_pair)), True, True
        if not text:
            return [], False, True
        if isinstance(text[0], (list, tuple)):  # a batch of (text, text_pair)
            for i, item in enumerate(text):
                if (
                    not isinstance(item, (list, tuple))
                    or len(item) != 2
                    or not isinstance(item[0], str)
                    or not isinstance(item[1], str)
                ):
                    raise TypeError(
                        f"text[{i}] must be a (text, text_pair) pair of strings, got {item!r:.80}"
                    )
            return [(a, b) for a, b in text], True, True
        for i, item in enumerate(text):
            if not isinstance(item, str):
                raise TypeError(f"text[{i}] must be a string, got {type(item).__name__} {item!r:.80}")
        return list(text), False, True

    def _request(
        self,
        is_pair: bool,
        add_special_tokens: Any,
        padding: Any,
        truncation: Any,
        max_length: Any,
        stride: Any,
        pad_to_multiple_of: Any,
        padding_side: Any,
        return_tensors: Any,
        return_token_type_ids: Any,
        return_attention_mask: Any,
        return_overflowing_tokens: Any,
        return_special_tokens_mask: Any,
        return_offsets_mapping: Any,
        return_length: Any,
        verbose: Any,
    ) -> EncodeRequest:
        """Validate the call arguments and resolve defaults into an EncodeRequest."""
        add_special_tokens = _check_bool("add_special_tokens", add_special_tokens)
        max_length = _check_int("max_length", max_length, 0)
        stride = _check_int("stride", stride, 0, allow_none=False)
        pad_to_multiple_of = _check_int("pad_to_multiple_of", pad_to_multiple_of, 1)
        verbose = _check_bool("verbose", verbose)
        if padding_side is None:
            padding_side = self.options.padding_side
        elif padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")

        # padding strategy
        if padding is True or padding == "longest":
            pad: str | None = "longest"
        elif padding is False or padding is None or padding == "do_not_pad":
            pad = None
        elif padding == "max_length":
            pad = "max_length"
        else:
            raise ValueError(
                f"unknown padding strategy {padding!r}; expected True, False or one of {list(PADDING_STRATEGIES)}"
            )

        # truncation strategy (max_length alone, without padding, turns truncation on, as in Transformers)
        if truncation is None:
            trunc: str | None = "longest_first" if (max_length is not None and pad is None) else None
        elif truncation is True:
            trunc = "longest_first"
        elif truncation is False or truncation == "do_not_truncate":
            trunc = None
        elif truncation in ("longest_first", "only_first", "only_second"):
            trunc = truncation
        else:
            raise ValueError(
                f"unknown truncation strategy {truncation!r}; expected True, False or one of "
                f"{list(TRUNCATION_STRATEGIES)}"
            )

        no_limit = self.options.model_max_length >= VERY_LARGE_INTEGER
        trunc_length = max_length
        if trunc is not None and trunc_length is None:
            if no_limit:
                if verbose:
                    logger.warning(
                        "truncation was requested without max_length and this tokenizer has no "
                        "model_max_length; not truncating"
                    )
                trunc = None
            else:
                trunc_length = self.options.model_max_length
        pad_length = None
        if pad == "max_length":
            pad_length = (
                max_length
                if max_length is not None
                else (None if no_limit else self.options.model_max_length)
            )
            if pad_length is None:
                raise ValueError(
                    "padding='max_length' needs max_length: this tokenizer has no model_max_length"
                )

        request = EncodeRequest(
            is_pair=is_pair,
            add_special_tokens=add_special_tokens,
            truncation=trunc,
            max_length=trunc_length if trunc is not None else None,
            stride=stride,
            padding=pad,
            pad_length=pad_length,
            pad_to_multiple_of=pad_to_multiple_of if pad is not None else None,
            padding_side=padding_side,
            return_tensors=check_tensor_kind(return_tensors),
            return_token_type_ids=_check_bool("return_token_type_ids", return_token_type_ids, True)
            is not False,
            return_attention_mask=_check_bool("return_attention_mask", return_attention_mask, True)
            is not False,
            return_overflowing_tokens=_check_bool("return_overflowing_tokens", return_overflowing_tokens),
            return_special_tokens_mask=_check_bool("return_special_tokens_mask", return_special_tokens_mask),
            return_offsets_mapping=_check_bool("return_offsets_mapping", return_offsets_mapping),
            return_length=_check_bool("return_length", return_length),
        )

        if request.truncation is not None:
            assert request.max_length is not None
            n_template = 3 if is_pair else 2
            room = request.max_length - request.n_special
            if room < 1:
                raise ValueError(
                    f"max_length={request.max_length} leaves no room for tokens: the "
                    f"{'pair' if is_pair else 'text'} template adds {request.n_special} special tokens"
                )
            # The stride must stay below the room left for text. The Rust library checks it against the
            # template's special tokens even when add_special_tokens=False, so that bound applies too.
            stride_room = min(room, request.max_length - n_template)
            if request.stride >= stride_room:
                raise ValueError(
                    f"stride={request.stride} must be smaller than the room max_length leaves for text "
                    f"({stride_room} = max_length {request.max_length} - {n_template} special tokens"
                    f"{' of the template' if not add_special_tokens else ''})"
                )
            if request.truncation == "only_second" and not is_pair:
                raise ValueError("truncation='only_second' needs text pairs; this input has single texts")
            if (
                request.padding == "max_length"
                and request.pad_to_multiple_of is not None
                and request.pad_length == request.max_length
                and request.max_length % request.pad_to_multiple_of != 0
            ):
                raise ValueError(
                    f"truncation and padding are both on but max_length={request.max_length} is not a "
                    f"multiple of pad_to_multiple_of={request.pad_to_multiple_of}"
                )
        return request

    def __call__(
        self,
        text: str | Sequence[str] | Sequence[tuple[str, str]],
        text_pair: str | Sequence[str] | None = None,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Tokenize a text, a pair, or a batch of either, into model inputs.

        text: a string, a list of strings, or a list of (text, text_pair) tuples.
        text_pair: the second texts (a string, or a list as long as `text`).
        padding: True/"longest" (to the longest row), "max_length", False/"do_not_pad".
        truncation: True/"longest_first", "only_first", "only_second", False. None: on only when
            max_length is given and padding is off.
        max_length: length with special tokens; None uses model_max_length where truncation or
            "max_length" padding needs one.
        stride: with return_overflowing_tokens, tokens repeated between consecutive overflow rows.
        return_overflowing_tokens: the parts cut by truncation become extra rows, and
            `overflow_to_sample_mapping` tells which input each row came from.
        return_tensors: None (python lists), "np", "pt", "tf" or "jax".
        """
        if kwargs:
            known = [
                n for n in inspect.signature(TokenizerBase.__call__).parameters if n not in ("self", "kwargs")
            ]
            raise TypeError(_unknown_keys_message(f"{type(self).__name__}.__call__", kwargs, known))
        inputs, is_pair, is_batched = self._batch_inputs(text, text_pair)
        request = self._request(
            is_pair,
            add_special_tokens,
            padding,
            truncation,
            max_length,
            stride,
            pad_to_multiple_of,
            padding_side,
            return_tensors,
            return_token_type_ids,
            return_attention_mask,
            return_overflowing_tokens,
            return_special_tokens_mask,
            return_offsets_mapping,
            return_length,
            verbose,
        )
        encodings = self._encode(inputs, request) if inputs else []
        return self._batch_encoding(encodings, request, is_batched)

    def _batch_encoding(
        self, encodings: list[Any], request: EncodeRequest, is_batched: bool
    ) -> BatchEncoding:
        """Assemble the BatchEncoding (the layout of Transformers' fast tokenizers)."""
        if request.return_overflowing_tokens:
            rows: list[Any] = []
            mapping: list[int] = []
            for i, encoding in enumerate(encodings):
                overflowing = encoding.overflowing
                rows.append(encoding)
                rows.extend(overflowing)
                mapping.extend([i] * (1 + len(overflowing)))
        else:
            rows = encodings
        kind = request.return_tensors
        data: dict[str, Any] = {}
        # Each column becomes a tensor as soon as it is read, so that only one column of python lists
        # is alive at a time (a large batch otherwise keeps millions of ints around).
        columns = [
            ("input_ids", "ids", True),
            ("token_type_ids", "type_ids", request.return_token_type_ids),
            ("attention_mask", "attention_mask", request.return_attention_mask),
            ("special_tokens_mask", "special_tokens_mask", request.return_special_tokens_mask),
            ("offset_mapping", "offsets", request.return_offsets_mapping),
        ]
        for key, field, wanted in columns:
            if wanted:
                column = [getattr(e, field) for e in rows]
                data[key] = column if kind is None else _to_tensor(column, kind, key)
                del column  # free the lists before reading the next column
        if request.return_length:
            lengths = [len(e) for e in rows]
            data["length"] = lengths if kind is None else _to_tensor(lengths, kind, "length")
        if request.return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = (
                mapping if kind is None else _to_tensor(mapping, kind, "overflow_to_sample_mapping")
            )
        if not is_batched and kind is None and not request.return_overflowing_tokens:
            data = {key: value[0] for key, value in data.items()}
        return BatchEncoding(data, rows, n_sequences=2 if request.is_pair else 1)

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """input_ids of one text (or pair): a list of ints, or a [1, T] tensor with return_tensors."""
        self._check_text("text", text)
        if text_pair is not None:
            self._check_text("text_pair", text_pair)
        out = self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            pad_to_multiple_of=pad_to_multiple_of,
            return_tensors=return_tensors,
            return_token_type_ids=False,
            return_attention_mask=False,
            **kwargs,
        )
        return out["input_ids"]

    # ---- decoding ----------------------------------------------------------------------------
    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str:
        """Text of a sequence of ids (list, numpy array or tensor).

        Continuation pieces attach to the previous token, other tokens are joined by spaces; with
        clean_up_tokenization_spaces (default: the tokenizer's setting) the spaces before punctuation
        and inside contractions are then removed.
        """
        return self.batch_decode([token_ids], skip_special_tokens, clean_up_tokenization_spaces)[0]

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """`decode` for each sequence of a batch (a list of sequences, or a [B, T] array or tensor)."""
        skip_special_tokens = _check_bool("skip_special_tokens", skip_special_tokens)
        cleanup = _check_bool("clean_up_tokenization_spaces", clean_up_tokenization_spaces, allow_none=True)
        if cleanup is None:
            cleanup = self.options.clean_up_tokenization_spaces
        if hasattr(sequences, "tolist") and not isinstance(sequences, (list, tuple)):
            sequences = sequences.tolist()
        if not isinstance(sequences, (list, tuple)):
            raise TypeError(f"batch_decode takes a list of id sequences, got {type(sequences).__name__}")
        id_lists = [_as_id_list(seq) for seq in sequences]
        for ids in id_lists:
            self._check_ids(ids)
        texts = self._decode(id_lists, skip_special_tokens)
        return [clean_up_tokenization(t) for t in texts] if cleanup else texts

    # ---- saving and loading ------------------------------------------------------------------
    def save_vocabulary(
        self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None
    ) -> tuple[str]:
        """Write vocab.txt (one token per line, in id order) into `save_directory`; return its path."""
        directory = Path(save_directory)
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(f"save_vocabulary needs a directory, {directory} is a file")
        directory.mkdir(parents=True, exist_ok=True)
        items = sorted(self.get_vocab().items(), key=lambda kv: kv[1])
        if [i for _, i in items] != list(range(len(items))):
            logger.warning(
                "vocabulary ids are not consecutive from 0; vocab.txt stores them by position, so ids will "
                "change when it is read back"
            )
        path = directory / ((filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE)
        path.write_text("".join(token + "\n" for token, _ in items), encoding="utf-8")
        return (str(path),)

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> tuple[str, ...]:
        """Write vocab.txt, tokenizer.json, tokenizer_config.json and special_tokens_map.json.

        The layout is the one Transformers' AutoTokenizer loads (tokenizer_class "BertTokenizer").
        Returns the written paths.
        """
        directory = Path(save_directory)
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(f"save_pretrained needs a directory, {directory} is a file")
        directory.mkdir(parents=True, exist_ok=True)
        (vocab_path,) = self.save_vocabulary(directory)
        tokenizer_path = directory / TOKENIZER_FILE
        self._backend_for_saving().save(str(tokenizer_path))
        config = self.options.to_config()
        added = {}
        for token in (*self.options.special_tokens, *self.options.never_split):
            added[str(self._token_to_id(token))] = {
                "content": token,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": token in self.options.special_tokens,
            }
        config = {"added_tokens_decoder": dict(sorted(added.items(), key=lambda kv: int(kv[0]))), **config}
        config_path = directory / TOKENIZER_CONFIG_FILE
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        map_path = directory / SPECIAL_TOKENS_MAP_FILE
        map_path.write_text(
            json.dumps(self.special_tokens_map, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return (str(config_path), str(map_path), vocab_path, str(tokenizer_path))

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        **overrides: Any,
    ) -> Any:
        """Load from a directory or a hub id (vocab.txt and/or tokenizer.json, tokenizer_config.json,
        special_tokens_map.json). `overrides` are options that win over the files' values."""
        unknown = set(overrides) - set(TokenizerOptions.names())
        if unknown:
            raise TypeError(
                _unknown_keys_message(f"{cls.__name__}.from_pretrained", unknown, TokenizerOptions.names())
            )
        directory = resolve_model_dir(
            pretrained_model_name_or_path,
            allow_patterns=list(TOKENIZER_FILES),
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        options = options_from_files(directory)
        options.update(overrides)
        return cls._from_directory(directory, options)

    def __repr__(self) -> str:
        o = self.options
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, do_lower_case={o.do_lower_case}, "
            f"strip_accents={o.strip_accents}, tokenize_chinese_chars={o.tokenize_chinese_chars}, "
            f"do_basic_tokenize={o.do_basic_tokenize}, model_max_length={o.model_max_length}, "
            f"special_tokens={list(o.special_tokens)})"
        )
