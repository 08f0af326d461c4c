"""The one rule set for the inputs of a BERT model, shared by the three twins.

Each twin describes its tensors as `TensorInfo` (shape, dtype kind, and a way to read the values when they
can be read now) and calls `check_encoder_inputs` / `check_labels`; the rules and their messages live only
here, so the twins cannot drift: what one refuses, all refuse, with the same first line.

Shapes are always checked; a dimension the framework does not know before running (a Keras symbolic
tensor) is given as None and skipped. Values (ids inside their tables, 0/1 masks, label ids) are checked
only where `TensorInfo.read` is given: under `torch.compile`, `jax.jit` or a Keras graph the values are not
known yet (each twin documents what it does there); `check_batch` checks a numpy batch before it gets there.

Shape legend: B batch, C choices, T new (query) positions, P cached positions, K key positions (P + T),
S encoder length, H hidden size, N attention heads, L layers.

Raises, everywhere in this module: TypeError for a wrong dtype, ValueError for a wrong shape or value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import Head
from bert_common.losses import IGNORE_INDEX

KINDS = ("int", "float", "bool", "other")  # the dtype kinds the twins report

Dim = int | None  # a size, or None when only known at run time


@dataclass(frozen=True)
class TensorInfo:
    """What the rules need to know of one input tensor.

    shape: the sizes, None for a dimension not known before running.
    kind: "int", "float", "bool" or "other" (complex, strings, ...).
    dtype: the framework's dtype name, for messages (e.g. "torch.float32", "int64").
    read: returns the values as a numpy array; None when they cannot be read now (tracing, graphs).
    """

    shape: tuple[Dim, ...]
    kind: str
    dtype: str
    read: Callable[[], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"TensorInfo.kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True)
class EncoderGeometry:
    """Sizes read off checked inputs: the leading (batch) shape, T, P and K = P + T."""

    batch_shape: tuple[Dim, ...]
    length: Dim
    past_length: int
    key_length: Dim

    @property
    def batch(self) -> Dim:
        return self.batch_shape[0]


def _show(shape: tuple[Dim, ...]) -> str:
    return (
        "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    )


def _fits(shape: tuple[Dim, ...], want: tuple[Dim, ...]) -> bool:
    """Same rank, and equal sizes wherever both sides know them."""
    return len(shape) == len(want) and all(a is None or b is None or a == b for a, b in zip(shape, want))


def check_shape(name: str, info: TensorInfo, *wants: tuple[Dim, ...], meaning: str = "") -> None:
    """ValueError unless `info.shape` fits one of `wants` (None in either matches any size)."""
    if not any(_fits(info.shape, want) for want in wants):
        expected = " or ".join(_show(w) for w in wants)
        hint = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} has shape {_show(info.shape)}, expected {expected}{hint}")


def check_kind(name: str, info: TensorInfo, *kinds: str, what: str) -> None:
    """TypeError unless `info.kind` is one of `kinds`; `what` says what the tensor must hold. Ids (kind
    "int" alone) must be int32 or int64, the dtypes every twin's embedding lookup takes."""
    ids = kinds == ("int",) and info.dtype.rsplit(".", 1)[-1] not in ("int32", "int64")
    if info.kind not in kinds or ids:
        raise TypeError(f"{name} must hold {what}, got dtype {info.dtype}")


def check_ids(name: str, info: TensorInfo, high: int, what: str, *, ignore: int | None = None) -> None:
    """Integer dtype and, when readable, every value in [0, high) (or equal to `ignore`)."""
    check_kind(name, info, "int", what="integer ids (int32 or int64)")
    if info.read is None:
        return
    values = np.asarray(info.read())
    if values.size == 0:
        return
    bad = (values < 0) | (values >= high)
    if ignore is not None:
        bad &= values != ignore
    if bad.any():
        extra = f" and is not {ignore}" if ignore is not None else ""
        raise ValueError(
            f"{name} holds {int(values[bad].flat[0])}, outside [0, {high}){extra} ({what}); "
            f"min {int(values.min())}, max {int(values.max())}"
        )


def check_mask_values(name: str, info: TensorInfo) -> None:
    """A 0/1 mask of numbers or bools; when readable, only 0 (masked) and 1 (attend)."""
    check_kind(name, info, "int", "float", "bool", what="a 0/1 mask (ints, floats or bools)")
    if info.read is None or info.kind == "bool":
        return
    values = np.asarray(info.read())
    if values.size and not np.isin(values, (0, 1)).all():
        found = np.unique(values[~np.isin(values, (0, 1))])[:8].tolist()
        raise ValueError(f"{name} must hold only 0 (masked) and 1 (attend), got values {found}")


def check_encoder_inputs(
    config: BertConfig,
    *,
    input_ids: TensorInfo | None = None,
    attention_mask: TensorInfo | None = None,
    token_type_ids: TensorInfo | None = None,
    position_ids: TensorInfo | None = None,
    head_mask: TensorInfo | None = None,
    inputs_embeds: TensorInfo | None = None,
    encoder_hidden_states: TensorInfo | None = None,
    encoder_attention_mask: TensorInfo | None = None,
    past_length: int = 0,
    mask_length: Dim = -1,
    rank: int = 2,
) -> EncoderGeometry:
    """Check the inputs of a BERT model call; returns the batch shape, T, P and K.

    config: the model's BertConfig (vocab_size, type_vocab_size, max_position_embeddings, hidden_size,
        num_hidden_layers, num_attention_heads, add_cross_attention are read).
    input_ids: [B, T] (or [B, C, T] with rank=3) integer ids in [0, V); exactly one of it and
        inputs_embeds: [B, T, H] floats.
    attention_mask: [B, K] or [B, T, K] per query, 0/1 (bools allowed). K = P + T by default; a twin
        whose cache has a fixed size passes that size as `mask_length`.
    token_type_ids: like input_ids, in [0, type_vocab_size). position_ids: like input_ids or [1, T], in
        [0, max_position_embeddings).
    head_mask: [N] or [L, N] multipliers.
    encoder_hidden_states: [B, S, H] floats, only for models with cross-attention;
        encoder_attention_mask: [B, S] or [B, T, S], 0/1 (also accepted alone while decoding from a cache,
        which holds the encoder's keys and values).
    past_length: P, the positions already in the decoding cache (0 without one).
    rank: 2 for [B, T] inputs, 3 for multiple choice [B, C, T].

    Raises:
        ValueError: neither or both of input_ids and inputs_embeds; a wrong shape; an empty sequence
            (T = 0); P + T > max_position_embeddings; ids outside their table; a mask holding values other
            than 0 and 1; encoder inputs for a model without cross-attention.
        TypeError: ids that are not integers, embeddings that are not floats, a mask of another dtype.
    """
    if (input_ids is None) == (inputs_embeds is None):
        got = "both" if input_ids is not None else "neither"
        raise ValueError(f"pass exactly one of input_ids and inputs_embeds, got {got}")
    leading = "[batch, choices, sequence]" if rank == 3 else "[batch, sequence]"
    if input_ids is not None:
        check_kind("input_ids", input_ids, "int", what="integer ids (int32 or int64)")
        if input_ids.rank != rank:
            raise ValueError(f"input_ids must have shape {leading}, got shape {_show(input_ids.shape)}")
        shape = input_ids.shape
    else:
        assert inputs_embeds is not None  # for the type checker: exactly one is given
        check_kind("inputs_embeds", inputs_embeds, "float", what="floating-point vectors")
        if inputs_embeds.rank != rank + 1 or inputs_embeds.shape[-1] not in (None, config.hidden_size):
            raise ValueError(
                f"inputs_embeds must have shape {leading[:-1]}, {config.hidden_size}], "
                f"got shape {_show(inputs_embeds.shape)}"
            )
        shape = inputs_embeds.shape[:-1]
    batch_shape, length = shape[:-1], shape[-1]
    if length == 0:
        raise ValueError(f"the input sequence is empty (shape {_show(shape)}); give at least one token")
    key_length: Dim = None if length is None else past_length + length
    if key_length is not None and key_length > config.max_position_embeddings:
        cached = f" ({past_length} cached + {length} new)" if past_length else ""
        raise ValueError(
            f"sequence of {key_length} positions{cached} is longer than "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
    if input_ids is not None:
        check_ids("input_ids", input_ids, config.vocab_size, f"vocab_size={config.vocab_size}")

    covered = key_length if mask_length == -1 else mask_length
    if attention_mask is not None:
        meaning = "[batch, cached + new positions]" if past_length else "the shape of input_ids"
        check_shape(
            "attention_mask",
            attention_mask,
            (*batch_shape, covered),
            (*batch_shape, length, covered),
            meaning=meaning,
        )
        check_mask_values("attention_mask", attention_mask)
    if token_type_ids is not None:
        check_kind("token_type_ids", token_type_ids, "int", what="integer ids (int32 or int64)")
        check_shape("token_type_ids", token_type_ids, shape, meaning="the shape of input_ids")
        check_ids(
            "token_type_ids",
            token_type_ids,
            config.type_vocab_size,
            f"type_vocab_size={config.type_vocab_size}",
        )
    if position_ids is not None:
        check_kind("position_ids", position_ids, "int", what="integer ids (int32 or int64)")
        check_shape("position_ids", position_ids, shape, (1, *shape[1:]), meaning="the shape of input_ids")
        limit = config.max_position_embeddings
        check_ids("position_ids", position_ids, limit, f"max_position_embeddings={limit}")
    if head_mask is not None:
        L, N = config.num_hidden_layers, config.num_attention_heads
        check_kind(
            "head_mask", head_mask, "int", "float", "bool", what="numbers (1 keeps a head, 0 silences it)"
        )
        check_shape("head_mask", head_mask, (N,), (L, N), meaning="[num_heads] or [num_layers, num_heads]")
    _check_cross_inputs(
        config, encoder_hidden_states, encoder_attention_mask, batch_shape, length, past_length
    )
    return EncoderGeometry(batch_shape, length, past_length, key_length)


def _check_cross_inputs(
    config: BertConfig,
    states: TensorInfo | None,
    mask: TensorInfo | None,
    batch_shape: tuple[Dim, ...],
    length: Dim,
    past_length: int,
) -> None:
    if states is not None:
        if not config.add_cross_attention:
            raise ValueError(
                "encoder_hidden_states was given but the model has no cross-attention layers; "
                "build it with BertConfig(is_decoder=True, add_cross_attention=True)"
            )
        check_kind("encoder_hidden_states", states, "float", what="floating-point vectors")
        check_shape(
            "encoder_hidden_states",
            states,
            (*batch_shape, None, config.hidden_size),
            meaning="[batch, encoder_length, hidden_size]",
        )
    if mask is None:
        return
    if states is None:
        if past_length == 0:
            raise ValueError("encoder_attention_mask was given without encoder_hidden_states")
        # Decoding from a cache: the encoder's keys/values are cached, its mask is still needed.
        source: Dim = None
    else:
        source = states.shape[-2]
    check_shape(
        "encoder_attention_mask",
        mask,
        (*batch_shape, source),
        (*batch_shape, length, source),
        meaning="[batch, encoder_length]",
    )
    check_mask_values("encoder_attention_mask", mask)


def label_classes(head: Head, config: BertConfig, label: str, num_choices: Dim = None) -> int | None:
    """How many classes the integer label `label` of `head` ranges over; None when it is not checked.

    "vocab" -> V, "next_sentence" -> 2, "num_labels" -> Y (None for regression and multi-label
    problem types), "choices" -> C,
    "positions" -> None (start/end positions are clamped by the loss, as in Transformers).
    """
    kind = head.label_classes[head.labels.index(label)]
    if kind == "vocab":
        return config.vocab_size
    if kind == "next_sentence":
        return 2
    if kind == "num_labels":
        # regression targets and multi-label rows are numbers, not class ids, whatever their dtype
        if config.num_labels <= 1 or config.problem_type in ("regression", "multi_label_classification"):
            return None
        return config.num_labels
    if kind == "choices":
        return num_choices
    return None


def check_labels(
    head: Head, config: BertConfig, labels: Mapping[str, TensorInfo | None], num_choices: Dim = None
) -> None:
    """Integer labels of `head` inside their class range (or -100, ignored by the loss).

    labels: label argument name -> TensorInfo (None when not given); float labels (regression,
    multi-label) are left to the loss, which checks their shape.

    Raises:
        TypeError: a label argument the head does not take.
        ValueError: an integer label outside [0, classes) that is not -100.
    """
    for name, info in labels.items():
        if name not in head.labels:
            raise TypeError(f"{head.name} takes the label argument(s) {list(head.labels)}, not {name!r}")
        if info is None or info.kind != "int":
            continue
        classes = label_classes(head, config, name, num_choices)
        if classes is not None:
            kind = head.label_classes[head.labels.index(name)]
            check_ids(name, info, classes, f"{head.name} has {classes} classes ({kind})", ignore=IGNORE_INDEX)


def resolve_label_aliases(head: Head, given: Mapping[str, Any]) -> dict[str, Any]:
    """The labels given to `head`, keyed by its label names (`Head.labels`): aliases (`Head.label_aliases`,
    e.g. NSP's `next_sentence_label`, Transformers' TF name, -> `labels`) are renamed, labels left None
    are dropped.

    Raises:
        ValueError: a label given under two of its names.
    """
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        target = head.canonical_label(name)
        if target in out:
            raise ValueError(f"{head.name}: {name!r} is another name of {target!r}; pass only one of them")
        out[target] = value
    return out


# The model inputs a batch may carry besides the head's labels (what check_batch accepts).
MODEL_INPUTS = (
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "position_ids",
    "head_mask",
    "inputs_embeds",
    "encoder_hidden_states",
    "encoder_attention_mask",
)


def describe_array(name: str, value: Any) -> TensorInfo:
    """The TensorInfo of a host value (a numpy array, nested lists of numbers), values readable.

    Raises:
        TypeError: a value numpy cannot read as an array of numbers.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged lists, objects without __array__
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}: {err}") from None
    kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(array.dtype.kind, "other")
    return TensorInfo(tuple(int(d) for d in array.shape), kind, str(array.dtype), lambda: array)


def check_batch(
    config: BertConfig, head: Head, batch: Mapping[str, Any], *, model: str = ""
) -> EncoderGeometry:
    """Check a batch of host arrays before it reaches compiled code, where values cannot be checked.

    Under `jax.jit` or Keras' XLA (`jit_compile=True`) an id outside its table becomes NaN (JAX) or a
    clamped row (XLA), and a Keras graph's assertions surface as "Graph execution error". Wherever the
    numpy batch is still in hand (Keras predict/fit/evaluate, the Flax train/eval steps, pipelines, the
    CLI), this applies the rules and messages of a model call (check_encoder_inputs, check_labels).

    batch: name -> numpy array (or nested lists), names from MODEL_INPUTS and the head's labels (aliases
        too); None values are skipped. Shapes as in check_encoder_inputs. model: the class name for the
        message about unknown names (default: the head's name).

    Raises:
        ValueError: a name the model does not take; the ValueErrors of check_encoder_inputs, check_labels.
        TypeError: a value that is not an array of numbers; wrong dtypes, as check_encoder_inputs.
    """
    given = {name: value for name, value in batch.items() if value is not None}
    label_names = set(head.labels) | {alias for alias, _ in head.label_aliases}
    unknown = sorted(set(given) - set(MODEL_INPUTS) - label_names)
    if unknown:
        accepted = [*MODEL_INPUTS, *head.labels]
        raise ValueError(
            f"{model or head.name} got input(s) {unknown} it does not take; accepted inputs: {accepted}"
        )
    infos = {name: describe_array(name, value) for name, value in given.items()}
    geometry = check_encoder_inputs(
        config, **{name: infos.get(name) for name in MODEL_INPUTS}, rank=head.input_rank
    )
    labels = resolve_label_aliases(head, {name: infos[name] for name in infos if name in label_names})
    choices = geometry.batch_shape[1] if head.input_rank == 3 else None
    check_labels(head, config, labels, num_choices=choices)
    return geometry
