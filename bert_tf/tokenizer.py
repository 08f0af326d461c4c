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

Steps 2-3 use RE2 character classes and ICU (NFD, lowercasing), whose Unicode versions differ from
the tables compiled into `tokenizers`; bert_tf.unicode_tables lists every code point where the two
disagree (found by running all of Unicode through both), and the steps below correct for them, so the
ids agree on every code point.

Shape legend: B = batch, T = padded length, (T) = a ragged dimension.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_common.files import resolve_model_dir
from bert_tf import unicode_tables as tables

TOKENIZER_FILE = "tokenizer.json"
VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


def _ranges(*pairs: tuple[int, int] | int) -> str:
    """An RE2 character-class body for code points and inclusive (low, high) ranges."""
    parts = []
    for item in pairs:
        low, high = (item, item) if isinstance(item, int) else item
        parts.append(f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}")
    return "".join(parts)


# Rust `char::is_whitespace` (Unicode White_Space), which BertNormalizer and BertPreTokenizer use.
WHITESPACE = _ranges(
    (0x09, 0x0D), 0x20, 0x85, 0xA0, 0x1680, (0x2000, 0x200A), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000
)
# Control characters removed by clean_text: general category Cc except \t \n \r.
CONTROL = _ranges((0x00, 0x08), 0x0B, 0x0C, (0x0E, 0x1F), (0x7F, 0x9F))
# CJK ideographs padded with spaces. `tokenizers` has 0x2B920 where BERT's Python code has 0x2B820.
CJK = _ranges(
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# ASCII punctuation and symbols, all split by BertPreTokenizer (Rust `is_ascii_punctuation`).
ASCII_PUNCTUATION = _ranges((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E))


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
        self.padding = _check_padding(padding)
        self.truncation = bool(truncation)
        self.max_length = _check_max_length(max_length)
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_token_type_ids = return_token_type_ids
        self.return_attention_mask = return_attention_mask
        self.continuing_subword_prefix = continuing_subword_prefix
        self.max_input_chars_per_word = int(max_input_chars_per_word)

        self.vocab = {token: i for i, token in reversed(list(enumerate(self.vocab_list)))}
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
                f"added tokens {missing} are not in the vocabulary; TFBertTokenizer needs them there"
            )
        self.added_tokens = list(dict.fromkeys(added_tokens))
        self.cls_token_id = self.vocab[cls_token]
        self.sep_token_id = self.vocab[sep_token]
        self.pad_token_id = self.vocab[pad_token]
        self.unk_token_id = self.vocab[unk_token]

        # Longest first, so that RE2's leftmost-first alternation picks the longest token at a position.
        ordered = sorted(self.added_tokens, key=len, reverse=True)
        self._added_pattern = "|".join(_re2_escape(t) for t in ordered) if ordered else None
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
        directory = resolve_model_dir(
            pretrained_model_name_or_path,
            allow_patterns=[TOKENIZER_FILE, VOCAB_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE],
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        settings = _settings_from_directory(Path(directory))
        return cls(**{**settings, **kwargs})

    @classmethod
    def from_tokenizer_json(cls, path_or_json: str | os.PathLike[str], **kwargs: Any) -> TFBertTokenizer:
        """From a `tokenizers` tokenizer.json file (or its JSON text)."""
        text = str(path_or_json)
        if not text.lstrip().startswith("{"):
            text = Path(path_or_json).read_text(encoding="utf-8")
        return cls(**{**_settings_from_tokenizer_json(json.loads(text)), **kwargs})

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, **kwargs: Any) -> TFBertTokenizer:
        """From a BertTokenizerFast (bert_common or Transformers), a BertTokenizer, or a `tokenizers.Tokenizer`.

        A tokenizer backed by the `tokenizers` library is read through its JSON description, which
        holds every setting; others through `get_vocab()` and their `do_lower_case`,
        `strip_accents`, `tokenize_chinese_chars` and special-token attributes.
        """
        backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
        if backend is None and hasattr(tokenizer, "to_str"):
            backend = tokenizer
        if backend is not None and hasattr(backend, "to_str"):
            settings = _settings_from_tokenizer_json(json.loads(backend.to_str()))
            max_length = getattr(tokenizer, "model_max_length", None)
            if isinstance(max_length, int) and max_length < 1_000_000:
                settings["max_length"] = max_length
            return cls(**{**settings, **kwargs})
        if not hasattr(tokenizer, "get_vocab"):
            raise TypeError(
                f"cannot read a vocabulary from {type(tokenizer).__name__}; expected a BERT tokenizer"
            )
        vocab = tokenizer.get_vocab()
        settings: dict[str, Any] = {"vocab_list": _vocab_list(vocab)}
        for name in ("do_lower_case", "strip_accents", "tokenize_chinese_chars"):
            if hasattr(tokenizer, name):
                settings[name] = getattr(tokenizer, name)
        for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
            value = getattr(tokenizer, name, None)
            if value is not None:
                settings[name] = str(value)
        max_length = getattr(tokenizer, "model_max_length", None)
        if isinstance(max_length, int) and max_length < 1_000_000:
            settings["max_length"] = max_length
        return cls(**{**settings, **kwargs})

    # ------------------------------------------------------------------ graph pieces

    def normalize(self, text: tf.Tensor) -> tf.Tensor:
        """BertNormalizer on a string tensor of any shape (no special-token handling)."""
        if self.clean_text:
            text = tf.strings.regex_replace(text, f"[{CONTROL}\\x{{FFFD}}\\p{{Co}}{_CONTROL_EXTRA}]", "")
            text = tf.strings.regex_replace(text, f"[^\\P{{Cf}}{_FORMAT_KEPT}]", "")
            text = tf.strings.regex_replace(text, f"[{WHITESPACE}]", " ")
        if self.tokenize_chinese_chars:
            text = tf.strings.regex_replace(text, f"([{CJK}])", r" \1 ")
        strip_accents = self.do_lower_case if self.strip_accents is None else self.strip_accents
        if strip_accents:
            # Characters that `tokenizers` does not decompose wait out NFD as private-use placeholders.
            text = _map_code_points(text, _NFD_PROTECT)
            text = tf_text.normalize_utf8(text, "NFD")
            text = tf.strings.regex_replace(text, f"[^\\P{{Mn}}{_MARKS_KEPT}]", "")
            if _MARKS_EXTRA:
                text = tf.strings.regex_replace(text, f"[{_MARKS_EXTRA}]", "")
            text = _map_code_points(text, _NFD_RESTORE)
        if self.do_lower_case:
            # Rust lowercases per character (a final capital sigma gives "σ", where ICU gives "ς") and
            # knows letters that TensorFlow's ICU does not: map those first, then ICU does the rest.
            text = _map_code_points(text, _LOWERCASE_FIRST)
            text = tf.strings.lower(text, encoding="utf-8")
        return text

    def pre_tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """BertPreTokenizer: [N] strings -> [N, (W)] words (whitespace dropped, punctuation kept)."""
        return tf_text.regex_split(text, f"[{WHITESPACE}]|{_PUNCTUATION}", _PUNCTUATION)

    def tokenize(self, text: Any) -> tf.RaggedTensor:
        """Word-piece ids without special tokens: [B] strings -> [B, (T)] int64."""
        text = tf.convert_to_tensor(text, dtype=tf.string)
        # tensorflow-text's regex_split stops at a NUL byte. clean_text removes NUL and U+FFFD alike, so
        # NUL becomes U+FFFD here (with clean_text=False, NUL is not supported).
        text = tf.strings.regex_replace(text, "\\x00", "\ufffd")
        if self._added_pattern is not None:
            segments = tf_text.regex_split(text, self._added_pattern, self._added_pattern)  # [B, (S)]
        else:
            segments = tf.RaggedTensor.from_tensor(text[:, tf.newaxis])
        flat = segments.flat_values  # [N]
        if self._added_pattern is not None:
            is_added = tf.strings.regex_full_match(flat, self._added_pattern)
        else:
            is_added = tf.zeros_like(flat, dtype=tf.bool)
        words = self.pre_tokenize(self.normalize(tf.where(is_added, "", flat)))  # [N, (W)]
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_input_chars_per_word
        words = words.with_flat_values(tf.where(too_long, self.unk_token, words.flat_values))
        added = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, is_added), tf.cast(is_added, tf.int64))
        words = tf.concat([words, added], axis=1)  # an added token is a word of its own (in the vocab)
        pieces = self._wordpiece.tokenize(words)  # [N, (W), (P)]
        pieces = pieces.merge_dims(1, 2)  # [N, (K)]
        return segments.with_flat_values(pieces).merge_dims(1, 2)  # [B, (T)]

    # ------------------------------------------------------------------ call

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> dict[str, tf.Tensor | tf.RaggedTensor]:
        # Keras accepts only tensors as positional arguments; let a Python list of strings through.
        if not isinstance(text, (tf.Tensor, tf.RaggedTensor)):
            text = tf.convert_to_tensor(text, dtype=tf.string)
        return super().__call__(text, *args, **kwargs)

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
    ) -> dict[str, tf.Tensor | tf.RaggedTensor]:
        """Tokenize a batch: `text` [B] strings (a scalar string is a batch of one), `text_pair` [B] or None.

        Returns a dict with `input_ids` [B, T] int64 and, as requested, `token_type_ids` and
        `attention_mask` [B, T] int64 (ragged [B, (T)] with padding="do_not_pad"). Arguments left as
        None take the values given to the constructor.
        """
        padding = self.padding if padding is None else _check_padding(padding)
        truncation = self.truncation if truncation is None else bool(truncation)
        max_length = self.max_length if max_length is None else _check_max_length(max_length)
        pad_to_multiple_of = self.pad_to_multiple_of if pad_to_multiple_of is None else pad_to_multiple_of
        return_token_type_ids = (
            self.return_token_type_ids if return_token_type_ids is None else return_token_type_ids
        )
        return_attention_mask = (
            self.return_attention_mask if return_attention_mask is None else return_attention_mask
        )
        if padding == "max_length" and max_length is None:
            raise ValueError("padding='max_length' needs max_length")

        text = tf.convert_to_tensor(text, dtype=tf.string)
        if text.shape.rank == 0:
            text = text[tf.newaxis]
        if text.shape.rank != 1:
            raise ValueError(
                f"text must be a string or a [batch] string tensor, got shape {tuple(text.shape)}"
            )
        segments = [self.tokenize(text)]
        if text_pair is not None:
            text_pair = tf.convert_to_tensor(text_pair, dtype=tf.string)
            if text_pair.shape.rank == 0:
                text_pair = text_pair[tf.newaxis]
            if text_pair.shape.rank != 1:
                raise ValueError(
                    f"text_pair must be a [batch] string tensor, got shape {tuple(text_pair.shape)}"
                )
            tf.debugging.assert_equal(
                tf.shape(text)[0],
                tf.shape(text_pair)[0],
                message="text and text_pair must have the same batch size",
            )
            segments.append(self.tokenize(text_pair))
        if truncation and max_length is not None:
            segments = _truncate(segments, max_length - len(segments) - 1)
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
        shape = tf.stack([input_ids.nrows(), length])
        outputs = {"input_ids": input_ids.to_tensor(default_value=self.pad_token_id, shape=shape)}
        if return_token_type_ids:
            outputs["token_type_ids"] = type_ids.to_tensor(default_value=0, shape=shape)
        if return_attention_mask:
            outputs["attention_mask"] = tf.ones_like(input_ids).to_tensor(default_value=0, shape=shape)
        return outputs

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
        }


# ---------------------------------------------------------------------------------------------- helpers


def _truncate(segments: list[tf.RaggedTensor], budget: int) -> list[tf.RaggedTensor]:
    """Cut the segments to `budget` ids in all (the `tokenizers` longest-first strategy, right side).

    One segment: keep its first `budget` ids. A pair of lengths (n_a, n_b) over budget: with s the
    shorter and l the longer, keep s whole and l to budget - s when s <= budget / 2; otherwise the
    shorter gets budget // 2 and the longer the rest.
    """
    if len(segments) == 1:
        return [segments[0][:, :budget]]
    first, second = segments
    n_a, n_b = first.row_lengths(), second.row_lengths()
    budget_t = tf.constant(budget, tf.int64)
    short = tf.minimum(n_a, n_b)
    long_target = tf.where(short > budget_t, short, tf.maximum(short, budget_t - short))
    short_target = short
    over = short_target + long_target > budget_t
    short_target = tf.where(over, budget_t // 2, short_target)
    long_target = tf.where(over, budget_t // 2 + budget_t % 2, long_target)
    a_is_short = n_a <= n_b
    target_a = tf.where(a_is_short, short_target, long_target)
    target_b = tf.where(a_is_short, long_target, short_target)
    needed = n_a + n_b > budget_t
    target_a = tf.where(needed, target_a, n_a)
    target_b = tf.where(needed, target_b, n_b)
    return [_keep_first(first, target_a), _keep_first(second, target_b)]


def _keep_first(ids: tf.RaggedTensor, counts: tf.Tensor) -> tf.RaggedTensor:
    """Row i of `ids` cut to its first counts[i] values."""
    positions = tf.ragged.range(ids.row_lengths())
    return tf.ragged.boolean_mask(ids, positions < counts[:, tf.newaxis])


def _check_padding(padding: bool | str) -> str:
    if padding is True:
        return "longest"
    if padding is False:
        return "do_not_pad"
    if padding not in PADDING_STRATEGIES:
        raise ValueError(f"padding must be True, False or one of {PADDING_STRATEGIES}, got {padding!r}")
    return padding


def _check_max_length(max_length: int | None) -> int | None:
    if max_length is None:
        return None
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3:
        raise ValueError(f"max_length must be an int >= 3 (room for [CLS] and two [SEP]), got {max_length!r}")
    return max_length


def _re2_escape(token: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" if not c.isalnum() else c for c in token)


def _vocab_list(vocab: Mapping[str, int]) -> list[str]:
    """token -> id mapping to the list indexed by id; the ids must be 0..V-1."""
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("the vocabulary ids must be exactly 0..V-1")
    return [token for token, _ in by_id]


def _settings_from_tokenizer_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from a `tokenizers` JSON description of a BERT WordPiece tokenizer."""
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
        "vocab_list": _vocab_list(model["vocab"]),
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


def _settings_from_directory(directory: Path) -> dict[str, Any]:
    """Constructor arguments from the tokenizer files of a model directory."""
    config: dict[str, Any] = {}
    if (directory / TOKENIZER_CONFIG_FILE).is_file():
        config = json.loads((directory / TOKENIZER_CONFIG_FILE).read_text(encoding="utf-8"))
    if (directory / TOKENIZER_FILE).is_file():
        settings = _settings_from_tokenizer_json(
            json.loads((directory / TOKENIZER_FILE).read_text(encoding="utf-8"))
        )
    elif (directory / VOCAB_FILE).is_file():
        vocab = (directory / VOCAB_FILE).read_text(encoding="utf-8").split("\n")
        if vocab and vocab[-1] == "":
            vocab = vocab[:-1]
        settings = {
            "vocab_list": [token.rstrip("\r") for token in vocab],
            "do_lower_case": bool(config.get("do_lower_case", True)),
            "strip_accents": config.get("strip_accents"),
            "tokenize_chinese_chars": bool(config.get("tokenize_chinese_chars", True)),
        }
        for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
            value = config.get(name)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                settings[name] = value
    else:
        from bert_common.files import ModelNotFoundError

        raise ModelNotFoundError(
            f"{directory}: no {TOKENIZER_FILE} or {VOCAB_FILE} to build a tokenizer from"
        )
    max_length = config.get("model_max_length")
    if isinstance(max_length, int) and max_length < 1_000_000:
        settings["max_length"] = max_length
    return settings


def _map_code_points(text: tf.Tensor, mapping: tuple[tuple[int, ...], tuple[int, ...]]) -> tf.Tensor:
    """Replace single code points: mapping = (sorted keys, values). [N] strings -> [N] strings."""
    keys, values = mapping
    if not keys:
        return text
    keys_t = tf.constant(keys, tf.int32)
    values_t = tf.constant(values, tf.int32)
    code_points = tf.strings.unicode_decode(text, "UTF-8")  # [N, (C)]
    flat = code_points.flat_values
    index = tf.minimum(tf.searchsorted(keys_t, flat), len(keys) - 1)
    hit = tf.equal(tf.gather(keys_t, index), flat)
    flat = tf.where(hit, tf.gather(values_t, index), flat)
    return tf.strings.unicode_encode(code_points.with_flat_values(flat), "UTF-8")


def _code_point_map(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ordered = sorted(dict(pairs).items())
    return tuple(k for k, _ in ordered), tuple(v for _, v in ordered)


# Character classes and maps corrected by bert_tf.unicode_tables (see its docstring).
_CONTROL_EXTRA = tables.class_body(tables.CONTROL_EXTRA)
_FORMAT_KEPT = tables.class_body(tables.FORMAT_KEPT)
_MARKS_KEPT = tables.class_body(tables.MARKS_KEPT)
_MARKS_EXTRA = tables.class_body(tables.MARKS_EXTRA)
_PUNCTUATION = (
    f"[{ASCII_PUNCTUATION}{tables.class_body(tables.PUNCTUATION_EXTRA)}]"
    f"|[^\\P{{P}}{tables.class_body(tables.PUNCTUATION_NOT_SPLIT)}]"
)
_NFD_KEPT = [cp for low, high in tables.NFD_KEPT for cp in range(low, high + 1)]
# Placeholders from the end of plane 16's private-use area (clean_text has already removed any there).
_NFD_PROTECT = _code_point_map([(cp, 0x10FFFD - i) for i, cp in enumerate(_NFD_KEPT)])
_NFD_RESTORE = _code_point_map([(0x10FFFD - i, cp) for i, cp in enumerate(_NFD_KEPT)])
_LOWERCASE_FIRST = _code_point_map([(0x03A3, 0x03C3), *tables.LOWERCASE_EXTRA])
