"""The TensorFlow operations of `TFBertTokenizer`: BertNormalizer and BertPreTokenizer as RE2 / ICU string
ops, longest-first truncation, and padding, all graph-compatible.

The character classes are built from the one copy of BERT's character tables,
`bert_common.tokenization.chars` (White_Space, control characters, CJK ranges, ASCII punctuation),
corrected by `bert_tf.unicode_tables` where TensorFlow's Unicode data (RE2 classes such as \\p{Mn},
ICU's NFD and lowercasing) disagrees with the tables compiled into `tokenizers`.

Shape legend: B = batch, T = tokens (the padded length; (T) = ragged). Other dimensions are named in
full: [strings] for a flat batch of strings, (words) and (code points) for ragged ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tensorflow as tf
import tensorflow_text as tf_text

from bert_common.tokenization.chars import (
    ASCII_PUNCTUATION_RANGES,
    CJK_RANGES,
    CONTROL_RANGES,
    WHITESPACE_RANGES,
)
from bert_tf import unicode_tables as tables

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


def class_body(ranges: Iterable[tuple[int, int]]) -> str:
    """RE2 character-class body (no brackets) for inclusive code point ranges."""
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


# Rust `char::is_whitespace` (Unicode White_Space), which BertNormalizer and BertPreTokenizer use.
WHITESPACE = class_body(WHITESPACE_RANGES)
# Control characters removed by clean_text: general category Cc except \t \n \r.
CONTROL = class_body(CONTROL_RANGES)
# CJK ideographs padded with spaces. `tokenizers` has 0x2B920 where BERT's Python code has 0x2B820.
CJK = class_body(CJK_RANGES)
# ASCII punctuation and symbols, all split by BertPreTokenizer (Rust `is_ascii_punctuation`).
ASCII_PUNCTUATION = class_body(ASCII_PUNCTUATION_RANGES)


def _code_point_map(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ordered = sorted(dict(pairs).items())
    return tuple(k for k, _ in ordered), tuple(v for _, v in ordered)


# Character classes and maps corrected by bert_tf.unicode_tables (see its docstring).
_CONTROL_EXTRA = class_body(tables.CONTROL_EXTRA)
_FORMAT_KEPT = class_body(tables.FORMAT_KEPT)
_MARKS_KEPT = class_body(tables.MARKS_KEPT)
_MARKS_EXTRA = class_body(tables.MARKS_EXTRA)
PUNCTUATION = (
    f"[{ASCII_PUNCTUATION}{class_body(tables.PUNCTUATION_EXTRA)}]"
    f"|[^\\P{{P}}{class_body(tables.PUNCTUATION_NOT_SPLIT)}]"
)
_NFD_KEPT = [cp for low, high in tables.NFD_KEPT for cp in range(low, high + 1)]
# Placeholders from the end of plane 16's private-use area (clean_text has already removed any there).
_NFD_PROTECT = _code_point_map([(cp, 0x10FFFD - i) for i, cp in enumerate(_NFD_KEPT)])
_NFD_RESTORE = _code_point_map([(0x10FFFD - i, cp) for i, cp in enumerate(_NFD_KEPT)])
_LOWERCASE_FIRST = _code_point_map([(0x03A3, 0x03C3), *tables.LOWERCASE_EXTRA])


# ---------------------------------------------------------------------------------------------- text


def normalize(
    text: tf.Tensor, clean_text: bool, chinese: bool, strip_accents: bool, lower: bool
) -> tf.Tensor:
    """BertNormalizer on a string tensor of any shape (no special-token handling).

    clean_text / chinese / strip_accents / lower: the normalizer steps (strip_accents already resolved
    to a bool). Returns a string tensor of the same shape.
    """
    if clean_text:
        text = tf.strings.regex_replace(text, f"[{CONTROL}\\x{{FFFD}}\\p{{Co}}{_CONTROL_EXTRA}]", "")
        text = tf.strings.regex_replace(text, f"[^\\P{{Cf}}{_FORMAT_KEPT}]", "")
        text = tf.strings.regex_replace(text, f"[{WHITESPACE}]", " ")
    if chinese:
        text = tf.strings.regex_replace(text, f"([{CJK}])", r" \1 ")
    if strip_accents:
        # Characters that `tokenizers` does not decompose wait out NFD as private-use placeholders.
        text = map_code_points(text, _NFD_PROTECT)
        text = tf_text.normalize_utf8(text, "NFD")
        text = tf.strings.regex_replace(text, f"[^\\P{{Mn}}{_MARKS_KEPT}]", "")
        if _MARKS_EXTRA:
            text = tf.strings.regex_replace(text, f"[{_MARKS_EXTRA}]", "")
        text = map_code_points(text, _NFD_RESTORE)
    if lower:
        # Rust lowercases per character (a final capital sigma gives "σ", where ICU gives "ς") and
        # knows letters that TensorFlow's ICU does not: map those first, then ICU does the rest.
        text = map_code_points(text, _LOWERCASE_FIRST)
        text = tf.strings.lower(text, encoding="utf-8")
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


def truncate(segments: list[tf.RaggedTensor], budget: int) -> list[tf.RaggedTensor]:
    """Cut the segments ([B, (T)] ids each) to `budget` ids in all (the `tokenizers` longest-first
    strategy, right side).

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
    return [keep_first(first, target_a), keep_first(second, target_b)]


def keep_first(ids: tf.RaggedTensor, counts: tf.Tensor) -> tf.RaggedTensor:
    """Row i of `ids` ([B, (T)]) cut to its first counts[i] values ([B] int64)."""
    positions = tf.ragged.range(ids.row_lengths())
    return tf.ragged.boolean_mask(ids, positions < counts[:, tf.newaxis])


def pad(
    input_ids: tf.RaggedTensor,
    type_ids: tf.RaggedTensor,
    pad_token_id: int,
    length: tf.Tensor,
    return_token_type_ids: bool,
    return_attention_mask: bool,
) -> dict[str, tf.Tensor]:
    """Right-pad [B, (T)] ids and type ids to [B, T] with T = `length` (a scalar int64 tensor).

    Returns input_ids (padded with `pad_token_id`) and, as requested, token_type_ids (padded with 0)
    and attention_mask (1 for tokens, 0 for padding), all int64 [B, T].
    """
    shape = tf.stack([input_ids.nrows(), length])
    outputs = {"input_ids": input_ids.to_tensor(default_value=pad_token_id, shape=shape)}
    if return_token_type_ids:
        outputs["token_type_ids"] = type_ids.to_tensor(default_value=0, shape=shape)
    if return_attention_mask:
        outputs["attention_mask"] = tf.ones_like(input_ids).to_tensor(default_value=0, shape=shape)
    return outputs


# ---------------------------------------------------------------------------------------------- arguments


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


def check_max_length(max_length: int | None) -> int | None:
    """None or an int >= 3 (room for [CLS] and two [SEP]); ValueError otherwise."""
    if max_length is None:
        return None
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3:
        raise ValueError(f"max_length must be an int >= 3 (room for [CLS] and two [SEP]), got {max_length!r}")
    return max_length
