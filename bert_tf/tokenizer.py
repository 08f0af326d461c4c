"""`TFBertTokenizer`: BERT WordPiece tokenization inside the TensorFlow graph.

It gives the ids of Hugging Face `tokenizers` (and so of `BertTokenizerFast`) on BERT's tokenizer
configuration, and runs in `tf.function`, `tf.data` pipelines and exported SavedModels, so a served
model can take raw strings. The steps mirror the Rust library one for one:

1. added (special) tokens such as "[MASK]" are matched in the raw text and kept whole;
2. BertNormalizer on the rest: clean_text (drop NUL, U+FFFD and control/format characters other than
   \\t \\n \\r; every White_Space character becomes " "), CJK characters padded with spaces, accents
   stripped (NFD, drop nonspacing marks) when lowercasing unless strip_accents=False, lowercase;
3. BertPreTokenizer: split on whitespace, keep every punctuation character as a word of its own;
4. WordPiece: greedy longest match with the "##" prefix, a word longer than 100 characters or with no
   match is [UNK] (tensorflow-text's FastWordpieceTokenizer, with the pre-tokenization done here);
5. [CLS] A [SEP] (B [SEP]), longest-first truncation to max_length, padding, token type ids.

Steps 2-3 use RE2 character classes, code point maps and ICU's NFD; the classes and maps are built
from `bert_common.tokenization.unicode_tables`, the Rust library's own Unicode data (found by running
all of Unicode through it), which the slow tokenizer reads too, so the three tokenizers agree on every
code point whatever TensorFlow's Unicode version.

This file is the Keras layer; the TensorFlow operations of the steps (and the RE2 classes, built from
`bert_common.tokenization.chars`) are in `bert_tf.tokenizer_ops`, and reading the constructor's
arguments from tokenizer files or other tokenizers is `bert_tf.tokenizer_settings`.

Shape legend: B = batch, T = tokens (the padded length; (T) = ragged). Other ragged dimensions are
named in full: [B, (segments)] for the added tokens and the text between them, [segments, (words)],
[segments, (words), (pieces)].
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_common.tokenization.files import resolve_tokenizer_dir, unique_tokens
from bert_common.tokenization.texts import check_surrogates
from bert_tf import tokenizer_ops as ops
from bert_tf.inputs import keras_user_errors
from bert_tf.tokenizer_settings import (
    settings_from_directory,
    settings_from_tokenizer,
    settings_from_tokenizer_json,
)

DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertTokenizer(keras.layers.Layer):
    """BERT tokenization as TensorFlow ops: strings in, padded id tensors out.

    vocab_list: the WordPiece vocabulary, index = id (the lines of vocab.txt).
    do_lower_case / strip_accents / tokenize_chinese_chars / clean_text: BertNormalizer settings;
        strip_accents=None follows do_lower_case.
    added_tokens: tokens matched whole in the raw text before normalization (default: the special
        tokens); each must be in the vocabulary.
    padding: "longest" (True), "max_length" or "do_not_pad" (False, ragged outputs).
    truncation / max_length: cut to max_length tokens, specials included (longest-first for pairs).
    pad_to_multiple_of: round the padded length up to a multiple of this.
    padding_side / truncation_side: "right" (default) or "left": where padding goes, which end
        truncation cuts (as the other tokenizers' attributes of the same names).
    """

    def __init__(
        self,
        vocab_list: Sequence[str],
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        clean_text: bool = True,
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        unk_token: str = "[UNK]",
        mask_token: str = "[MASK]",
        added_tokens: Sequence[str] | None = None,
        padding: bool | str = "longest",
        truncation: bool = True,
        max_length: int | None = 512,
        pad_to_multiple_of: int | None = None,
        return_token_type_ids: bool = True,
        return_attention_mask: bool = True,
        continuing_subword_prefix: str = "##",
        max_input_chars_per_word: int = 100,
        padding_side: str = "right",
        truncation_side: str = "right",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # config
        self.vocab_list = [str(token) for token in vocab_list]
        self.do_lower_case = bool(do_lower_case)
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.clean_text = bool(clean_text)
        self.cls_token, self.sep_token, self.pad_token = cls_token, sep_token, pad_token
        self.unk_token, self.mask_token = unk_token, mask_token
        self.padding = ops.check_padding(padding)
        self.truncation = bool(truncation)
        self.max_length = ops.check_max_length(max_length)
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_token_type_ids = return_token_type_ids
        self.return_attention_mask = return_attention_mask
        self.continuing_subword_prefix = continuing_subword_prefix
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.padding_side = ops.check_side("padding_side", padding_side)
        self.truncation_side = ops.check_side("truncation_side", truncation_side)

        self.vocab = unique_tokens(self.vocab_list, "vocab_list", unit="entries", base=0)
        for name in ("cls_token", "sep_token", "pad_token", "unk_token"):
            if getattr(self, name) not in self.vocab:
                raise ValueError(f"{name} {getattr(self, name)!r} is not in the vocabulary")
        if added_tokens is None:
            added_tokens = [
                t for t in (pad_token, unk_token, cls_token, sep_token, mask_token) if t in self.vocab
            ]
        missing = [t for t in added_tokens if t not in self.vocab]
        if missing:
            raise ValueError(
                f"added tokens {missing} are not in the vocabulary; TFBertTokenizer needs them there (tokens "
                "added beyond the WordPiece vocabulary, e.g. by add_tokens, are not supported in the graph)"
            )
        self.added_tokens = list(dict.fromkeys(added_tokens))
        self.cls_token_id = self.vocab[cls_token]
        self.sep_token_id = self.vocab[sep_token]
        self.pad_token_id = self.vocab[pad_token]
        self.unk_token_id = self.vocab[unk_token]

        # Longest first, so that RE2's leftmost-first alternation picks the longest token at a position.
        ordered = sorted(self.added_tokens, key=len, reverse=True)
        self._added_pattern = "|".join(ops.re2_escape(t) for t in ordered) if ordered else None
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab_list,
            suffix_indicator=continuing_subword_prefix,
            # Bytes, not characters: a word of max_input_chars_per_word characters may take 4 bytes each.
            # Longer words are replaced by [UNK] before this tokenizer sees them.
            max_bytes_per_word=4 * self.max_input_chars_per_word,
            token_out_type=tf.int64,
            unknown_token=unk_token,
            no_pretokenization=True,
            support_detokenization=False,
        )
        self.built = True  # no weights to create: exportable (keras.export tracks built layers) before a call

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        **kwargs: Any,
    ) -> TFBertTokenizer:
        """From a model directory or hub id: tokenizer.json when present, else vocab.txt (+ tokenizer_config.json).

        kwargs override what the files say (e.g. max_length=128, padding="max_length").
        """
        directory = resolve_tokenizer_dir(
            pretrained_model_name_or_path, revision, cache_dir, local_files_only, token
        )
        settings = settings_from_directory(Path(directory))
        return cls(**{**settings, **kwargs})

    @classmethod
    def from_tokenizer_json(cls, path_or_json: str | os.PathLike[str], **kwargs: Any) -> TFBertTokenizer:
        """From a `tokenizers` tokenizer.json file (or its JSON text)."""
        text = str(path_or_json)
        if not text.lstrip().startswith("{"):
            text = Path(path_or_json).read_text(encoding="utf-8")
        return cls(**{**settings_from_tokenizer_json(json.loads(text)), **kwargs})

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, **kwargs: Any) -> TFBertTokenizer:
        """From a BertTokenizerFast (bert_common or Transformers), a BertTokenizer, or a `tokenizers.Tokenizer`.

        A tokenizer backed by the `tokenizers` library is read through its JSON description, which
        holds every setting; others through `get_vocab()` and their `do_lower_case`,
        `strip_accents`, `tokenize_chinese_chars` and special-token attributes.
        """
        return cls(**{**settings_from_tokenizer(tokenizer), **kwargs})

    # ------------------------------------------------------------------ graph pieces

    def normalize(self, text: tf.Tensor) -> tf.Tensor:
        """BertNormalizer on a string tensor of any shape (no special-token handling)."""
        strip_accents = self.do_lower_case if self.strip_accents is None else self.strip_accents
        return ops.normalize(
            text, self.clean_text, self.tokenize_chinese_chars, strip_accents, self.do_lower_case
        )

    def pre_tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """BertPreTokenizer: [strings] -> [strings, (words)] (whitespace dropped, punctuation kept)."""
        return ops.pre_tokenize(text)

    def tokenize(self, text: Any) -> tf.RaggedTensor:
        """Word-piece ids without special tokens: [B] strings -> [B, (T)] int64."""
        text = tf.convert_to_tensor(text, dtype=tf.string)
        # tensorflow-text's regex_split stops at a NUL byte. clean_text removes NUL and U+FFFD alike, so
        # NUL becomes U+FFFD here (with clean_text=False, NUL is not supported).
        text = tf.strings.regex_replace(text, "\\x00", "\ufffd")
        if self._added_pattern is not None:
            segments = tf_text.regex_split(text, self._added_pattern, self._added_pattern)  # [B, (segments)]
        else:
            segments = tf.RaggedTensor.from_tensor(text[:, tf.newaxis])
        flat = segments.flat_values  # [segments]
        if self._added_pattern is not None:
            is_added = tf.strings.regex_full_match(flat, self._added_pattern)
        else:
            is_added = tf.zeros_like(flat, dtype=tf.bool)
        words = self.pre_tokenize(self.normalize(tf.where(is_added, "", flat)))  # [segments, (words)]
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_input_chars_per_word
        words = words.with_flat_values(tf.where(too_long, self.unk_token, words.flat_values))
        added = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, is_added), tf.cast(is_added, tf.int64))
        words = tf.concat([words, added], axis=1)  # an added token is a word of its own (in the vocab)
        pieces = self._wordpiece.tokenize(words)  # [segments, (words), (pieces)]
        pieces = pieces.merge_dims(1, 2)  # [segments, (tokens)]
        return segments.with_flat_values(pieces).merge_dims(1, 2)  # [B, (T)]

    # ------------------------------------------------------------------ call

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> dict[str, tf.Tensor | tf.RaggedTensor]:
        # Python strings are checked as the other tokenizers check them (a lone surrogate is refused by
        # name and index); Keras accepts only tensors as positional arguments, so convert them here.
        # Non-strings (e.g. token ids) are refused here, by name, before TensorFlow or Keras see them.
        # A KerasTensor (keras.Input(shape=(), dtype="string")) passes on: the layer is then called
        # symbolically and returns KerasTensors, so a functional model can start from raw strings.
        _check_python_strings("text", text)
        if kwargs.get("padding_side") is not None:  # checked here so that the first line is ours, not Keras'
            ops.check_side("padding_side", kwargs["padding_side"])
        _check_python_strings("text_pair", kwargs.get("text_pair", args[0] if args else None))
        if args:
            args = (_string_batch_checked("text_pair", args[0]), *args[1:])
        if kwargs.get("text_pair") is not None:
            kwargs["text_pair"] = _string_batch_checked("text_pair", kwargs["text_pair"])
        return super().__call__(_string_batch_checked("text", text), *args, **kwargs)

    def call(
        self,
        text: Any,
        text_pair: Any = None,
        padding: bool | str | None = None,
        truncation: bool | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        padding_side: str | None = None,
    ) -> dict[str, tf.Tensor | tf.RaggedTensor]:
        """Tokenize a batch: `text` [B] strings (a scalar string is a batch of one), `text_pair` [B] or None.

        Returns a dict with `input_ids` [B, T] int64 and, as requested, `token_type_ids` and
        `attention_mask` [B, T] int64 (ragged [B, (T)] with padding="do_not_pad"). Arguments left as
        None take the values given to the constructor.
        """
        padding = self.padding if padding is None else ops.check_padding(padding)
        truncation = self.truncation if truncation is None else bool(truncation)
        max_length = self.max_length if max_length is None else ops.check_max_length(max_length)
        pad_to_multiple_of = self.pad_to_multiple_of if pad_to_multiple_of is None else pad_to_multiple_of
        return_token_type_ids = (
            self.return_token_type_ids if return_token_type_ids is None else return_token_type_ids
        )
        return_attention_mask = (
            self.return_attention_mask if return_attention_mask is None else return_attention_mask
        )
        padding_side = (
            self.padding_side if padding_side is None else ops.check_side("padding_side", padding_side)
        )
        if padding == "max_length" and max_length is None:
            raise ValueError("padding='max_length' needs max_length")

        with keras_user_errors():
            text = _batch_of_strings("text", text)
            segments = [self.tokenize(text)]
            if text_pair is not None:
                text_pair = _batch_of_strings("text_pair", text_pair)
        if text_pair is not None:
            tf.debugging.assert_equal(
                tf.shape(text)[0],
                tf.shape(text_pair)[0],
                message="text and text_pair must have the same batch size",
            )
            segments.append(self.tokenize(text_pair))
        if truncation and max_length is not None:
            segments = ops.truncate(segments, max_length - len(segments) - 1, self.truncation_side)
        input_ids, type_ids = tf_text.combine_segments(segments, self.cls_token_id, self.sep_token_id)
        input_ids = tf.cast(input_ids, tf.int64)
        type_ids = tf.cast(type_ids, tf.int64)
        if padding == "do_not_pad":
            outputs = {"input_ids": input_ids}
            if return_token_type_ids:
                outputs["token_type_ids"] = type_ids
            if return_attention_mask:
                outputs["attention_mask"] = tf.ones_like(input_ids)
            return outputs
        if padding == "max_length":
            length = tf.constant(max_length, tf.int64)
        else:
            length = tf.reduce_max(tf.concat([input_ids.row_lengths(), [0]], axis=0))
        if pad_to_multiple_of:
            multiple = tf.constant(int(pad_to_multiple_of), tf.int64)
            length = (length + multiple - 1) // multiple * multiple
        return ops.pad(
            input_ids,
            type_ids,
            self.pad_token_id,
            length,
            return_token_type_ids,
            return_attention_mask,
            padding_side,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_list": list(self.vocab_list),
            "do_lower_case": self.do_lower_case,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "clean_text": self.clean_text,
            "cls_token": self.cls_token,
            "sep_token": self.sep_token,
            "pad_token": self.pad_token,
            "unk_token": self.unk_token,
            "mask_token": self.mask_token,
            "added_tokens": list(self.added_tokens),
            "padding": self.padding,
            "truncation": self.truncation,
            "max_length": self.max_length,
            "pad_to_multiple_of": self.pad_to_multiple_of,
            "return_token_type_ids": self.return_token_type_ids,
            "return_attention_mask": self.return_attention_mask,
            "continuing_subword_prefix": self.continuing_subword_prefix,
            "max_input_chars_per_word": self.max_input_chars_per_word,
            "padding_side": self.padding_side,
            "truncation_side": self.truncation_side,
        }


def _batch_of_strings(name: str, value: Any) -> tf.Tensor:
    """`value` as a [B] string tensor: a scalar is a batch of one, [B, 1] (Keras' string Input of
    shape (1,)) is squeezed.

    Raises:
        TypeError: not strings. ValueError: another shape.
    """
    value = _string_batch_checked(name, value)
    if value.shape.rank == 0:
        value = value[tf.newaxis]
    if value.shape.rank == 2:
        value = value[:, 0]
    return value


def _string_batch_checked(name: str, value: Any) -> Any:
    """ops.string_batch, and the shape: a scalar, [B] or [B, 1] (also for KerasTensors, before Keras
    traces the call).

    Raises:
        TypeError: not strings. ValueError: another shape.
    """
    if value is None:
        raise TypeError(f"{name} must be a str, a list of str or a string tensor, got None")
    value = ops.string_batch(name, value)
    shape = tuple(value.shape)
    if not (len(shape) <= 1 or (len(shape) == 2 and shape[-1] == 1)):
        raise ValueError(f"{name} must be a string or a [batch] string tensor, got shape {shape}")
    return value


def _check_python_strings(name: str, value: Any) -> None:
    """Refuse a Python string (or a list of them) holding a lone surrogate, naming it and its index."""
    if isinstance(value, str):
        check_surrogates(name, value)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, str):
                check_surrogates(f"{name}[{i}]", item)
