"""TokenizerBase: the calling API shared by `BertTokenizer` (pure Python) and `BertTokenizerFast` (Rust).

The front end, written once: the options and special tokens as attributes, token <-> id conversion,
`__call__` / `encode` / `tokenize`, `decode` / `batch_decode`, and saving and loading (the rest of
Transformers' API, `pad`, added tokens, ..., is the `api.TransformersAPI` mixin). A call is validated into an `EncodeRequest` (bert_common.tokenization.request);
the subclasses only turn a request into encodings (`_encode`) and ids back into text (`_decode`),
and the encodings are assembled into a `BatchEncoding` (bert_common.tokenization.batch).

Shape legend: B = texts (or pairs) in a call, T = tokens per row.
"""

from __future__ import annotations

import abc
import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bert_common.files import make_save_directory
from bert_common.tokenization.added import AddedToken, AddedVocab
from bert_common.tokenization.api import TransformersAPI
from bert_common.tokenization.batch import BatchEncoding, build_batch_encoding
from bert_common.tokenization.files import (
    ADDED_TOKENS_FILE,
    TOKENIZER_FILE,
    resolve_tokenizer_dir,
    write_tokenizer_config,
    write_vocab,
)
from bert_common.tokenization.options import (
    OptionAttributes,
    TokenizerOptions,
    options_from_files,
    unknown_keys_message,
)
from bert_common.tokenization.request import (
    EncodeRequest,
    as_id_list,
    build_request,
    check_bool,
    clean_up_tokenization,
    join_wordpieces,
)
from bert_common.tokenization.texts import batch_inputs, batch_words, check_text
from bert_common.tokenization.tokenizer_json import read_added_tokens


def _token_id_property(name: str) -> property:
    """A read-only attribute that returns the id of the special token `name` ("unk_token", ...)."""
    return property(lambda self: self._special_id(name), doc=f"Id of {name}.")


class TokenizerBase(TransformersAPI, OptionAttributes, abc.ABC):
    """What BertTokenizer and BertTokenizerFast share: calling, decoding, special tokens, save/load.

    Subclasses set `self.options` (a TokenizerOptions) and `self._added` (their AddedVocab) and
    implement the hooks `get_vocab`, `vocab_size`, `_token_to_id`, `_id_to_token`, `_tokenize`,
    `_encode`, `_decode`, `_backend_for_saving` and `_from_directory`.
    """

    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]
    options: TokenizerOptions
    _added: AddedVocab

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
    def _encode(self, inputs: list[Any], request: EncodeRequest, words: bool = False) -> list[Any]:
        """One encoding (ids, type ids, offsets, overflow, ...) per input, as `request` describes;
        words: the inputs are lists of words (is_split_into_words)."""

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

    # ---- special-token ids -------------------------------------------------------------------
    unk_token_id = _token_id_property("unk_token")
    sep_token_id = _token_id_property("sep_token")
    pad_token_id = _token_id_property("pad_token")
    cls_token_id = _token_id_property("cls_token")
    mask_token_id = _token_id_property("mask_token")

    def _special_id(self, name: str) -> int:
        index = self._token_to_id(getattr(self.options, name))
        assert index is not None  # internal: checked against the vocabulary at construction
        return index

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of all_special_tokens, in the same order."""
        return [self._token_to_id(t) for t in self.options.special_tokens]  # type: ignore[misc]

    def __len__(self) -> int:
        """Size of the full vocabulary: the WordPiece vocabulary and the added tokens beyond it."""
        return len(self.get_vocab())

    def _add_to_vocab(self, tokens: list[AddedToken]) -> int:
        """Add tokens to the added tokens (the fast tokenizer adds them to its backend too)."""
        return self._added.add(tokens)

    def _special_tokens_changed(self) -> None:
        """After a named special token changed: the added tokens as the Rust library reloads them."""
        rebuilt = AddedVocab(self._added.model_vocab)
        rebuilt.add([token for _, token in self._added.entries()])
        rebuilt.set_normalizer(self._added._normalize)
        self._added = rebuilt

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
        id_list = as_id_list(ids)
        self._check_ids(id_list)
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self._id_to_token(i) for i in id_list if i not in special]
        return tokens[0] if single and tokens else tokens  # type: ignore[return-value]

    def _check_ids(self, ids: list[int]) -> None:
        bad = [i for i in ids if i < 0 or self._id_to_token(i) is None]
        if bad:
            raise ValueError(f"token id(s) {bad[:5]} are not in the vocabulary (size {len(self)})")

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join WordPiece tokens back into text: continuation pieces lose the prefix and attach to the
        previous token, other tokens are separated by a space. No clean-up."""
        return join_wordpieces(tokens, self.options.wordpieces_prefix)

    # ---- calling -----------------------------------------------------------------------------
    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """Token strings of `text` (and `pair`), without truncation or padding."""
        check_text("text", text)
        if pair is not None:
            check_text("pair", pair)
        return self._tokenize(text, pair, check_bool("add_special_tokens", add_special_tokens))

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
        is_split_into_words: bool = False,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Tokenize a text, a pair, or a batch of either, into model inputs.

        text: a string, a list of strings, or a list of (text, text_pair) tuples; with
            is_split_into_words=True a list of words (or a batch of such lists), each word tokenized on
            its own, `word_ids()` giving the word of each token and offsets within the word.
        text_pair: the second texts (a string, or a list as long as `text`; words likewise).
        padding: True/"longest" (to the longest row), "max_length", False/"do_not_pad".
        truncation: True/"longest_first", "only_first", "only_second", False. None: on only when
            max_length is given and padding is off.
        max_length: length with special tokens; None uses model_max_length where truncation or
            "max_length" padding needs one.
        stride: with return_overflowing_tokens, tokens repeated between consecutive overflow rows.
        return_overflowing_tokens: the parts cut by truncation become extra rows, and
            `overflow_to_sample_mapping` tells which input each row came from.
        return_tensors: None (python lists), "np", "pt", "tf" or "jax".
        Returns a BatchEncoding with input_ids etc. [B, T] (un-nested [T] lists for a single text).
        Raises TypeError / ValueError naming the bad argument (see request.build_request and
        request.batch_inputs), ValueError when truncation cannot fit an input (naming its index).
        """
        if kwargs:
            known = [
                n for n in inspect.signature(TokenizerBase.__call__).parameters if n not in ("self", "kwargs")
            ]
            raise TypeError(unknown_keys_message(f"{type(self).__name__}.__call__", kwargs, known))
        if check_bool("is_split_into_words", is_split_into_words):
            inputs, is_pair, is_batched = batch_words(text, text_pair)
        else:
            inputs, is_pair, is_batched = batch_inputs(text, text_pair)
        request = build_request(
            self.options,
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
        encodings = self._encode(inputs, request, bool(is_split_into_words)) if inputs else []
        return build_batch_encoding(encodings, request, is_batched)

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
        """input_ids of one text (or pair): a list of ints, or a [1, T] tensor with return_tensors.

        Raises TypeError for a text that is not a string, and whatever `__call__` raises."""
        if not kwargs.get("is_split_into_words"):
            check_text("text", text)
            if text_pair is not None:
                check_text("text_pair", text_pair)
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
        """`decode` for each sequence of a batch (a list of sequences, or a [B, T] array or tensor).

        Raises TypeError for ids that are not ints, ValueError for ids outside the vocabulary."""
        skip_special_tokens = check_bool("skip_special_tokens", skip_special_tokens)
        cleanup = check_bool("clean_up_tokenization_spaces", clean_up_tokenization_spaces, allow_none=True)
        if cleanup is None:
            cleanup = self.options.clean_up_tokenization_spaces
        if hasattr(sequences, "tolist") and not isinstance(sequences, (list, tuple)):
            sequences = sequences.tolist()
        if not isinstance(sequences, (list, tuple)):
            raise TypeError(f"batch_decode takes a list of id sequences, got {type(sequences).__name__}")
        id_lists = [as_id_list(seq) for seq in sequences]
        for ids in id_lists:
            self._check_ids(ids)
        texts = self._decode(id_lists, skip_special_tokens)
        return [clean_up_tokenization(t) for t in texts] if cleanup else texts

    # ---- saving and loading ------------------------------------------------------------------
    def save_vocabulary(
        self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None
    ) -> tuple[str]:
        """Write vocab.txt (the WordPiece vocabulary, one token per line, in id order) into
        `save_directory`; return its path.

        Raises NotADirectoryError when `save_directory` is a file.
        """
        directory = make_save_directory(save_directory, "save_vocabulary")
        return (write_vocab(directory, self._added.model_vocab, filename_prefix),)

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> tuple[str, ...]:
        """Write vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json (and
        added_tokens.json when tokens were added beyond the vocabulary).

        The layout is the one Transformers' AutoTokenizer loads (tokenizer_class "BertTokenizer").
        Returns the written paths. Raises NotADirectoryError when `save_directory` is a file.
        """
        directory = make_save_directory(save_directory, "save_pretrained")
        (vocab_path,) = self.save_vocabulary(directory)
        tokenizer_path = directory / TOKENIZER_FILE
        self._backend_for_saving().save(str(tokenizer_path))
        entries = self._added.entries()
        config_path, map_path = write_tokenizer_config(
            directory, self.options, entries, self.special_tokens_map
        )
        paths = (config_path, map_path, vocab_path, str(tokenizer_path))
        beyond = {token.content: index for index, token in entries if index >= self.vocab_size}
        if beyond:  # as Transformers writes it, for its slow tokenizer and older versions
            added_path = directory / ADDED_TOKENS_FILE
            added_path.write_text(
                json.dumps(dict(sorted(beyond.items())), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            paths += (str(added_path),)
        return paths

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
        special_tokens_map.json). `overrides` are options that win over the files' values. Raises TypeError
        for an unknown override, ModelNotFoundError when the files are missing, ValueError for bad ones."""
        TokenizerOptions.check_names(f"{cls.__name__}.from_pretrained", overrides)
        directory = resolve_tokenizer_dir(
            pretrained_model_name_or_path, revision, cache_dir, local_files_only, token
        )
        options = options_from_files(directory)
        options.update(overrides)
        if not (directory / TOKENIZER_FILE).is_file():  # else tokenizer.json's added tokens are read
            options["added_tokens_decoder"] = read_added_tokens(directory, options)
        return cls._from_directory(directory, options)

    def __repr__(self) -> str:
        o = self.options
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, do_lower_case={o.do_lower_case}, "
            f"strip_accents={o.strip_accents}, tokenize_chinese_chars={o.tokenize_chinese_chars}, "
            f"do_basic_tokenize={o.do_basic_tokenize}, model_max_length={o.model_max_length}, "
            f"special_tokens={list(o.special_tokens)})"
        )
