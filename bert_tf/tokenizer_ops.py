"""The TensorFlow operations of `TFBertTokenizer`: BertNormalizer and BertPreTokenizer as RE2 / ICU string
ops, longest-first truncation, and padding, all graph-compatible.

The character classes and maps are built from the one copy of BERT's character tables,
`bert_common.tokenization.chars`, itself read from `bert_common.tokenization.unicode_tables` (the Rust
library's own Unicode data, code point by code point). No class relies on RE2's Unicode categories
(\\p{Mn}, \\p{P}, \\p{Cf}) and lowercasing does not use ICU, since TensorFlow's Unicode version differs
from the library's; only NFD is ICU's, with the code points it knows better than the library
(`ICU_NFD_NEWER`) kept out of it.

Shape legend: B = batch, T = tokens (the padded length; (T) = ragged). Other dimensions are named in
full: [strings] for a flat batch of strings, (words) and (code points) for ragged ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from bert_common.tokenization import unicode_tables as tables
from bert_common.tokenization.chars import (
    CJK_RANGES,
    CONTROL_RANGES,
    MARK_RANGES,
    PUNCTUATION_RANGES,
    WHITESPACE_RANGES,
    lowercase_map,
)

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


def class_body(ranges: Iterable[tuple[int, int]]) -> str:
    """RE2 character-class body (no brackets) for inclusive code point ranges."""
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


# Rust `char::is_whitespace` (Unicode White_Space), which BertNormalizer and BertPreTokenizer use.
WHITESPACE = class_body(WHITESPACE_RANGES)
# Removed by clean_text: the library's control characters (Cc, Cf, Co but \\t \\n \\r) and U+FFFD.
CONTROL = class_body(CONTROL_RANGES) + "\\x{FFFD}"
# CJK ideographs padded with spaces. `tokenizers` has 0x2B920 where BERT's Python code has 0x2B820.
CJK = class_body(CJK_RANGES)
# Split off by BertPreTokenizer: ASCII punctuation and the library's P*.
PUNCTUATION = f"[{class_body(PUNCTUATION_RANGES)}]"
# Dropped by strip_accents after NFD: the library's nonspacing marks.
MARKS = class_body(MARK_RANGES)


def _code_point_map(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ordered = sorted(dict(pairs).items())
    return tuple(k for k, _ in ordered), tuple(v for _, v in ordered)


_NFD_KEPT = [cp for low, high in tables.ICU_NFD_NEWER for cp in range(low, high + 1)]
# Placeholders from the end of plane 16's private-use area (clean_text has already removed any there).
_NFD_PROTECT = _code_point_map([(cp, 0x10FFFD - i) for i, cp in enumerate(_NFD_KEPT)])
_NFD_RESTORE = _code_point_map([(0x10FFFD - i, cp) for i, cp in enumerate(_NFD_KEPT)])
# Rust's char::to_lowercase: one code point for all but U+0130, which becomes two ("i" + U+0307).
_LOWERCASE_MULTI = {cp: low for cp, low in lowercase_map().items() if len(low) > 1}
_LOWERCASE = _code_point_map([(cp, ord(low)) for cp, low in lowercase_map().items() if len(low) == 1])


# ---------------------------------------------------------------------------------------------- text


def normalize(
    text: tf.Tensor, clean_text: bool, chinese: bool, strip_accents: bool, lower: bool
) -> tf.Tensor:
    """BertNormalizer on a string tensor of any shape (no special-token handling).

    clean_text / chinese / strip_accents / lower: the normalizer steps (strip_accents already resolved
    to a bool). Returns a string tensor of the same shape.
    """
    if clean_text:
        text = tf.strings.regex_replace(text, f"[{CONTROL}]", "")
        text = tf.strings.regex_replace(text, f"[{WHITESPACE}]", " ")
    if chinese:
        text = tf.strings.regex_replace(text, f"([{CJK}])", r" \1 ")
    if strip_accents:
        # Characters that `tokenizers` does not decompose wait out NFD as private-use placeholders.
        text = map_code_points(text, _NFD_PROTECT)
        text = tf_text.normalize_utf8(text, "NFD")
        text = tf.strings.regex_replace(text, f"[{MARKS}]", "")
        text = map_code_points(text, _NFD_RESTORE)
    if lower:
        # Per character, as Rust lowercases (a final capital sigma gives "σ", where ICU gives "ς").
        for cp, low in _LOWERCASE_MULTI.items():
            text = tf.strings.regex_replace(text, f"\\x{{{cp:X}}}", low)
        text = map_code_points(text, _LOWERCASE)
    return text


def pre_tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """BertPreTokenizer: [strings] -> [strings, (words)] (whitespace dropped, punctuation kept)."""
    return tf_text.regex_split(text, f"[{WHITESPACE}]|{PUNCTUATION}", PUNCTUATION)


def map_code_points(text: tf.Tensor, mapping: tuple[tuple[int, ...], tuple[int, ...]]) -> tf.Tensor:
    """Replace single code points: mapping = (sorted keys, values). [strings] -> [strings]."""
    keys, values = mapping
    if not keys:
        return text
    keys_t = tf.constant(keys, tf.int32)
    values_t = tf.constant(values, tf.int32)
    code_points = tf.strings.unicode_decode(text, "UTF-8")  # [strings, (code points)]
    flat = code_points.flat_values
    index = tf.minimum(tf.searchsorted(keys_t, flat), len(keys) - 1)
    hit = tf.equal(tf.gather(keys_t, index), flat)
    flat = tf.where(hit, tf.gather(values_t, index), flat)
    return tf.strings.unicode_encode(code_points.with_flat_values(flat), "UTF-8")


def re2_escape(token: str) -> str:
    """`token` as an RE2 pattern that matches it literally (non-alphanumerics as \\x{...})."""
    return "".join(f"\\x{{{ord(c):X}}}" if not c.isalnum() else c for c in token)


# ---------------------------------------------------------------------------------------------- ids


def truncate(segments: list[tf.RaggedTensor], budget: int, side: str = "right") -> list[tf.RaggedTensor]:
    """Cut the segments ([B, (T)] ids each) to `budget` ids in all (the `tokenizers` longest-first
    strategy), keeping the first ids (side="right") or the last ones (side="left").

    One segment: keep its first `budget` ids. A pair of lengths (n_a, n_b) over budget: with s the
    shorter and l the longer, keep s whole and l to budget - s when s <= budget / 2; otherwise the
    shorter gets budget // 2 and the longer the rest.
    """
    keep = keep_last if side == "left" else keep_first
    if len(segments) == 1:
        return [keep(segments[0], tf.minimum(segments[0].row_lengths(), budget))]
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
    return [keep(first, target_a), keep(second, target_b)]


def keep_first(ids: tf.RaggedTensor, counts: tf.Tensor) -> tf.RaggedTensor:
    """Row i of `ids` ([B, (T)]) cut to its first counts[i] values ([B] int64)."""
    positions = tf.ragged.range(ids.row_lengths())
    return tf.ragged.boolean_mask(ids, positions < counts[:, tf.newaxis])


def keep_last(ids: tf.RaggedTensor, counts: tf.Tensor) -> tf.RaggedTensor:
    """Row i of `ids` ([B, (T)]) cut to its last counts[i] values ([B] int64)."""
    positions = tf.ragged.range(ids.row_lengths())
    return tf.ragged.boolean_mask(ids, positions >= (ids.row_lengths() - counts)[:, tf.newaxis])


def pad(
    input_ids: tf.RaggedTensor,
    type_ids: tf.RaggedTensor,
    pad_token_id: int,
    length: tf.Tensor,
    return_token_type_ids: bool,
    return_attention_mask: bool,
    side: str = "right",
) -> dict[str, tf.Tensor]:
    """Pad [B, (T)] ids and type ids to [B, T] with T = `length` (a scalar int64 tensor), on the right or
    (side="left") on the left.

    Returns input_ids (padded with `pad_token_id`) and, as requested, token_type_ids (padded with 0)
    and attention_mask (1 for tokens, 0 for padding), all int64 [B, T].
    """
    shape = tf.stack([input_ids.nrows(), length])
    columns = {"input_ids": (input_ids, pad_token_id)}
    if return_token_type_ids:
        columns["token_type_ids"] = (type_ids, 0)
    if return_attention_mask:
        columns["attention_mask"] = (tf.ones_like(input_ids), 0)
    outputs = {}
    for key, (values, fill) in columns.items():
        dense = values.to_tensor(default_value=fill, shape=shape)  # [B, T], right-padded
        if side == "left":  # move each row's values to its end: column t takes t - (T - length of the row)
            shift = length - tf.minimum(values.row_lengths(), length)  # [B]
            source = tf.range(length)[tf.newaxis, :] - shift[:, tf.newaxis]  # [B, T]
            moved = tf.gather(dense, tf.maximum(source, 0), batch_dims=1)
            dense = tf.where(source >= 0, moved, tf.cast(fill, dense.dtype))
        outputs[key] = dense
    return outputs


# ---------------------------------------------------------------------------------------------- arguments


def string_batch(name: str, value: Any) -> Any:
    """`value` (`text` or `text_pair` of a TFBertTokenizer call) as a string tensor: a KerasTensor or a
    tf.Tensor / RaggedTensor as it is (checked to hold strings), anything else converted.

    [B, 1] string tensors (Keras' `Input(shape=(1,), dtype="string")`) are squeezed to [B] in `call`.

    Raises:
        TypeError: not strings: a tensor or array of another dtype, or Python values that are not str
            or bytes (the message names the argument and what it got).
    """
    if isinstance(value, (keras.KerasTensor, tf.Tensor, tf.RaggedTensor, tf.Variable)):
        dtype = keras.backend.standardize_dtype(value.dtype)
        if dtype != "string":
            raise TypeError(
                f"{name} must hold strings: TFBertTokenizer tokenizes text, got a {dtype} tensor of shape "
                f"{tuple(value.shape)} (token ids go to the model, not the tokenizer)"
            )
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind not in "USO":
        raise TypeError(
            f"{name} must hold strings: TFBertTokenizer tokenizes text, got a {value.dtype} array"
        )
    try:
        return tf.convert_to_tensor(value, dtype=tf.string)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a str, a list of str or a string tensor, got {_describe(value)}"
        ) from None


def _describe(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value if not isinstance(v, (str, bytes))})
        return f"a {type(value).__name__} holding {', '.join(kinds) or 'nested'} values"
    return f"{type(value).__name__} {value!r:.60}"


def check_padding(padding: bool | str) -> str:
    """A padding argument as one of PADDING_STRATEGIES (True: "longest", False: "do_not_pad").

    Raises ValueError for anything else.
    """
    if padding is True:
        return "longest"
    if padding is False:
        return "do_not_pad"
    if padding not in PADDING_STRATEGIES:
        raise ValueError(f"padding must be True, False or one of {PADDING_STRATEGIES}, got {padding!r}")
    return padding


def check_side(name: str, side: str) -> str:
    """padding_side / truncation_side: "right" or "left"; ValueError otherwise."""
    if side not in ("right", "left"):
        raise ValueError(f"{name} must be 'right' or 'left', got {side!r}")
    return side


def check_max_length(max_length: int | None) -> int | None:
    """None or an int >= 3 (room for [CLS] and two [SEP]); ValueError otherwise."""
    if max_length is None:
        return None
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3:
        raise ValueError(f"max_length must be an int >= 3 (room for [CLS] and two [SEP]), got {max_length!r}")
    return max_length
