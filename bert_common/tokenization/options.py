"""TokenizerOptions: the validated options both BERT tokenizers take, and reading them from files.

`TokenizerOptions` holds lowercasing, accents, special tokens, never_split, model_max_length, ...;
`BertTokenizer` and `BertTokenizerFast` validate their keyword arguments into it, so one option set
drives both, and `OptionAttributes` shows them as tokenizer attributes (`tok.do_lower_case`,
`tok.unk_token`). `options_from_files` reads the two files that hold options in a model directory,
`tokenizer_config.json` and `special_tokens_map.json` (the latter wins), as Transformers writes them.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bert_common.files import read_json_object

logger = logging.getLogger("bert_zoo")

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"

# model_max_length of a tokenizer that has none (the value Transformers uses, int(1e30)).
VERY_LARGE_INTEGER = int(1e30)

# Special-token attributes in Transformers' order (which fixes the order of all_special_tokens).
SPECIAL_TOKEN_NAMES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

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
        "init_inputs",
        "auto_map",
        "processor_class",
        "use_fast",
        "split_special_tokens",
        "bos_token",
        "eos_token",
    }
)


def special_token_text(name: str, value: Any) -> str:
    """A special token given as a string, a serialized AddedToken dict or an object with `.content`.

    Raises TypeError when `value` is none of these, ValueError for an empty string.
    """
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
        token = special_token_text(f"{name} entry", item)
        if token not in out:
            out.append(token)
    return tuple(out)


def unknown_keys_message(owner: str, keys: Iterable[str], known: Iterable[str]) -> str:
    """The TypeError message for unexpected keyword arguments, with the closest known name of each."""
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
    padding_side / truncation_side: "right" or "left": where padding goes and which end truncation cuts.
    extra_special_tokens: {name: token}, special tokens with a name of their own (Transformers'
        extra_special_tokens; `tok.<name>` reads them).

    Raises TypeError / ValueError naming the first option whose value is not valid.
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
    truncation_side: str = "right"
    extra_special_tokens: Mapping[str, str] = dataclasses.field(default_factory=dict)

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
            object.__setattr__(self, name, special_token_text(name, getattr(self, name)))
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
        for name in ("padding_side", "truncation_side"):
            if getattr(self, name) not in ("right", "left"):
                raise ValueError(f"{name} must be 'right' or 'left', got {getattr(self, name)!r}")
        extra = self.extra_special_tokens or {}
        if not isinstance(extra, Mapping):
            raise TypeError(f"extra_special_tokens must be a dict of name: token, got {extra!r:.80}")
        object.__setattr__(
            self,
            "extra_special_tokens",
            {
                str(name): special_token_text(f"extra_special_tokens[{name!r}]", v)
                for name, v in extra.items()
            },
        )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Names of all options, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, owner: str, kwargs: Mapping[str, Any]) -> TokenizerOptions:
        """Build from keyword arguments, rejecting unknown names (they are almost always typos).

        Raises TypeError naming each unknown key (with the closest known name), and whatever the
        constructor raises for a bad value.
        """
        cls.check_names(owner, kwargs)
        return cls(**kwargs)

    @classmethod
    def check_names(cls, owner: str, keys: Iterable[str]) -> None:
        """Raise TypeError naming each of `keys` that is not an option (with the closest option name)."""
        unknown = set(keys) - set(cls.names())
        if unknown:
            raise TypeError(unknown_keys_message(owner, unknown, cls.names()))

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """All special tokens (the five named ones, then the additional ones), duplicates removed."""
        out: list[str] = []
        named = (getattr(self, n) for n in SPECIAL_TOKEN_NAMES)
        for token in (*named, *self.additional_special_tokens, *self.extra_special_tokens.values()):
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
            "truncation_side": self.truncation_side,
            "extra_special_tokens": dict(self.extra_special_tokens),
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


def _option_property(name: str, doc: str, settable: bool = False) -> property:
    """An attribute that returns the option `name` of `self.options`; settable ones replace the options
    (validated as the constructor validates them) and tell the tokenizer (`_options_changed`)."""

    def set_option(self: Any, value: Any) -> None:
        self.options = dataclasses.replace(self.options, **{name: value})
        self._options_changed()

    return property(lambda self: getattr(self.options, name), set_option if settable else None, doc=doc)


class OptionAttributes:
    """The options of `self.options` as tokenizer attributes (`tok.do_lower_case`, `tok.unk_token`, ...),
    with the special-token lists Transformers' tokenizers expose. `padding_side`, `truncation_side` and
    `model_max_length` can be set (ValueError for a bad value); the others are read-only."""

    options: TokenizerOptions

    def _options_changed(self) -> None:
        """Called after a settable option changed."""

    def __getattr__(self, name: str) -> Any:
        # the names of extra_special_tokens read as attributes (tok.ent_token), as in Transformers
        options = self.__dict__.get("options")
        if options is not None and not name.startswith("_") and name in options.extra_special_tokens:
            return options.extra_special_tokens[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    do_lower_case = _option_property("do_lower_case", "Whether the normalizer lowercases.")
    do_basic_tokenize = _option_property(
        "do_basic_tokenize", "Whether normalization and punctuation splitting run before WordPiece."
    )
    never_split = _option_property("never_split", "Tokens kept whole, matched in the raw text.")
    tokenize_chinese_chars = _option_property(
        "tokenize_chinese_chars", "Whether CJK ideographs are split into single-character words."
    )
    strip_accents = _option_property("strip_accents", "Accent stripping (None: follow do_lower_case).")
    clean_text = _option_property(
        "clean_text", "Whether control characters are removed and whitespace mapped to spaces."
    )
    wordpieces_prefix = _option_property(
        "wordpieces_prefix", 'Prefix of WordPiece continuation pieces ("##").'
    )
    model_max_length = _option_property(
        "model_max_length", "Default length for truncation=True and padding='max_length'.", settable=True
    )
    clean_up_tokenization_spaces = _option_property(
        "clean_up_tokenization_spaces", "Default of decode's clean_up_tokenization_spaces."
    )
    padding_side = _option_property(
        "padding_side", 'Default side padding goes to ("right" or "left").', settable=True
    )
    truncation_side = _option_property(
        "truncation_side", 'The end truncation cuts ("right" or "left").', settable=True
    )
    unk_token = _option_property("unk_token", "The unknown token ([UNK]).")
    sep_token = _option_property("sep_token", "The separator token ([SEP]).")
    pad_token = _option_property("pad_token", "The padding token ([PAD]).")
    cls_token = _option_property("cls_token", "The classifier token ([CLS]).")
    mask_token = _option_property("mask_token", "The mask token ([MASK]).")

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
        out.update(self.options.extra_special_tokens)
        return out

    @property
    def all_special_tokens(self) -> list[str]:
        """Every special token once: unk, sep, pad, cls, mask, the additional ones, the extra ones."""
        return list(self.options.special_tokens)


def options_from_files(directory: Path) -> dict[str, Any]:
    """Options read from tokenizer_config.json and special_tokens_map.json in `directory` (the latter wins).

    Every form Transformers has written is read: special tokens as strings or AddedToken dicts (their
    flags are passed on as "_special_flags" {token: dict}), the old key "max_len" for model_max_length,
    extra_special_tokens. Keys these tokenizers do not use are dropped (logged at debug level); the added
    tokens (added_tokens_decoder) are read by `tokenizer_json.read_added_tokens`. A missing file
    contributes nothing.

    Raises ValueError for a file that is not a JSON object, TypeError / ValueError for a token list
    entry that is not a token.
    """
    found: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    for name in (TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE):
        path = directory / name
        if not path.is_file():
            continue
        data = read_json_object(path)
        if "max_len" in data and "model_max_length" not in data:  # Transformers < 3 wrote max_len
            data["model_max_length"] = data["max_len"]
        for key, value in data.items():
            if key in TokenizerOptions.names():
                found[key] = value
            elif key not in _IGNORED_CONFIG_KEYS and key not in found.get("extra_special_tokens", {}):
                logger.debug("%s: ignoring unknown key %r", path, key)
    for key in ("never_split", "additional_special_tokens"):
        if key in found and found[key] is not None:
            flags.update({v["content"]: v for v in found[key] if isinstance(v, Mapping) and "content" in v})
            found[key] = [special_token_text(key, v) for v in found[key]]
    for key in SPECIAL_TOKEN_NAMES:
        if isinstance(found.get(key), Mapping):
            flags[special_token_text(key, found[key])] = found[key]
    if flags:
        found["_special_flags"] = flags
    return found
