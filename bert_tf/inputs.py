"""The inputs of a Keras BERT call: dict inputs, and the checks of bert_common.inputs on TensorFlow tensors.

The rules and their messages live in `bert_common.inputs` (one rule set for the three twins); this module
describes TensorFlow tensors for it (`describe`) and keeps what only Keras needs:

- `unpack_inputs`: `model(batch)` with a dict (what a tokenizer returns), `model(input_ids, ...)` and a
  mix of both all reach `call` as keyword arguments;
- `keras_user_errors`: Keras prefixes an error raised inside `call` with "Exception encountered when
  calling ..."; bert-zoo's errors keep their own message as the first line;
- the checks of values unknown until run time: inside `tf.function`, `fit` or XLA the tensors are
  symbolic (`TensorInfo.read` is None), so ids, masks and labels get `tf.debugging` assertions that fail
  when the graph runs (`tf.errors.InvalidArgumentError`), before any lookup with a bad id;
- the structure of the decoding cache (`past_key_values`).

Shape legend: B batch, C choices, T new positions, P cached positions, K key positions (P + T),
S encoder length, H hidden size, N heads, D head size, L layers.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.heads import Head
from bert_common.inputs import TensorInfo, check_encoder_inputs, label_classes, resolve_label_aliases
from bert_common.inputs import check_labels as check_label_values
from bert_common.losses import IGNORE_INDEX

# One layer's cache: (self_key, self_value) or (self_key, self_value, cross_key, cross_value), [B, N, P, D].
LayerCache = tuple[tf.Tensor, ...]


def unpack_inputs(call: Callable[..., Any]) -> Callable[..., Any]:
    """Let `call(input_ids, ...)` also take a dict of named inputs as its first argument.

    Raises:
        ValueError: a dict key that is not an argument of `call`, or one also given as an argument.
    """
    names = [name for name in inspect.signature(call).parameters if name != "self"]
    first = names[0]

    @functools.wraps(call)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Mapping):
            batch, args = dict(args[0]), args[1:]
        elif isinstance(kwargs.get(first), Mapping):
            batch = dict(kwargs.pop(first))
        else:
            return call(self, *args, **kwargs)
        given_positionally = names[1 : 1 + len(args)]
        with keras_user_errors():
            unknown = sorted(set(batch) - set(names))
            if unknown:
                raise ValueError(
                    f"{type(self).__name__} got input(s) {unknown} it does not take; accepted inputs: {names}"
                )
            for name in batch:
                if name in given_positionally or kwargs.get(name) is not None:
                    raise ValueError(
                        f"{type(self).__name__}: {name!r} was given both in the input dict and as an argument"
                    )
        merged = {**dict(zip(given_positionally, args)), **kwargs}
        merged.update(batch)
        return call(self, **merged)

    return wrapper


@contextlib.contextmanager
def keras_user_errors() -> Iterator[None]:
    """Let a ValueError/TypeError raised inside a Keras `call` reach the user with its own first line.

    Keras re-raises an exception from `call` as "Exception encountered when calling X.call(). <message>
    Arguments received by ..." unless it is marked as already annotated (Keras' own marker, set on the
    innermost error so that outer layers leave it alone); bert-zoo's messages name the argument already.
    """
    try:
        yield
    except (ValueError, TypeError) as err:
        err._keras_call_info_injected = True  # type: ignore[attr-defined]
        raise


def to_tensor(value: tf.Tensor | np.ndarray | list | None, name: str) -> tf.Tensor | None:
    """`value` as a tf.Tensor (numpy arrays and lists are converted); None stays None.

    Raises:
        TypeError: `value` cannot be converted to a tensor.
    """
    if value is None or isinstance(value, tf.Tensor):
        return value
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor or array, got {type(value).__name__}: {err}") from None


def describe(name: str, tensor: tf.Tensor) -> TensorInfo:
    """What bert_common.inputs needs of `tensor`: its static shape (None for sizes known only at run
    time), dtype kind, and its values when they can be read now (eager tensors; None inside a graph).

    Raises:
        ValueError: a tensor of unknown rank.
    """
    dtype = tensor.dtype
    if dtype == tf.bool:
        kind = "bool"
    elif dtype.is_integer:
        kind = "int"
    elif dtype.is_floating:
        kind = "float"
    else:
        kind = "other"
    if tensor.shape.rank is None:
        raise ValueError(f"{name} has unknown rank ({dtype.name}) and cannot be checked; give its rank")
    read = tensor.numpy if tf.executing_eagerly() and hasattr(tensor, "numpy") else None
    return TensorInfo(tuple(tensor.shape.as_list()), kind, dtype.name, read)


def _size(tensor: tf.Tensor, axis: int) -> int | tf.Tensor:
    """The size of `axis`: a Python int when static, else a scalar tensor."""
    static = tensor.shape[axis]
    return static if static is not None else tf.shape(tensor)[axis]


def _assert_ids(value: tf.Tensor, name: str, high: int, what: str, ignore: int | None = None) -> tf.Tensor:
    """`value` made to depend on assertions `0 <= value < high` (entries equal to `ignore` pass)."""
    message = f"{name} holds values outside [0, {high}) ({what})"
    checked = value if ignore is None else tf.where(tf.equal(value, ignore), tf.zeros_like(value), value)
    checks = [
        tf.debugging.assert_greater_equal(checked, tf.cast(0, value.dtype), message=message),
        tf.debugging.assert_less(checked, tf.cast(high, value.dtype), message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(value)


def _assert_mask(value: tf.Tensor, name: str) -> tf.Tensor:
    """`value` made to depend on an assertion that it holds only 0 and 1 (bool masks pass as they are)."""
    if value.dtype == tf.bool:
        return value
    binary = tf.reduce_all(tf.logical_or(tf.equal(value, 0), tf.equal(value, 1)))
    check = tf.debugging.Assert(binary, [f"{name} must hold only 0 (masked) and 1 (attend)"])
    with tf.control_dependencies([check]):
        return tf.identity(value)


@dataclass
class CheckedInputs:
    """The inputs of a BERT call after `check_inputs`: tensors (None when not given), with the run-time
    assertions attached inside a graph. batch: B; length: T; past_length: P (ints when static)."""

    input_ids: tf.Tensor | None
    attention_mask: tf.Tensor | None
    token_type_ids: tf.Tensor | None
    position_ids: tf.Tensor | None
    head_mask: tf.Tensor | None
    inputs_embeds: tf.Tensor | None
    encoder_hidden_states: tf.Tensor | None
    encoder_attention_mask: tf.Tensor | None
    past_key_values: tuple[LayerCache, ...] | None
    batch: int | tf.Tensor
    length: int | tf.Tensor
    past_length: int | tf.Tensor


def check_cache(
    config: BertConfig, past_key_values: tuple[tuple[Any, ...], ...] | None
) -> tuple[tuple[LayerCache, ...] | None, int | tf.Tensor]:
    """The decoding cache as tensors, and P (its length). Each layer's entry is (self key, self value) or
    (self key, self value, cross key, cross value), each [B, N, P, D] (cross: [B, N, S, D]).

    Raises:
        ValueError: a cache given to a model that is not a decoder, or not one entry of 2 or 4 tensors
            per layer.
    """
    if past_key_values is None:
        return None, 0
    if not config.is_decoder:
        raise ValueError("past_key_values are only used by decoders (BertConfig(is_decoder=True))")
    if len(past_key_values) != config.num_hidden_layers:
        raise ValueError(
            f"past_key_values must hold one entry per layer ({config.num_hidden_layers}), "
            f"got {len(past_key_values)}"
        )
    cache = tuple(tuple(to_tensor(t, "past_key_values") for t in layer) for layer in past_key_values)
    for i, layer in enumerate(cache):
        if len(layer) not in (2, 4) or any(t.shape.rank not in (None, 4) for t in layer):
            raise ValueError(
                f"past_key_values[{i}] must hold 2 tensors (self-attention key, value) or 4 (and the "
                f"cross-attention key, value), each [batch, heads, positions, head_size]; got "
                f"{[tuple(t.shape) for t in layer]}"
            )
    return cache, _size(cache[0][0], 2)


def check_inputs(
    config: BertConfig,
    *,
    input_ids: tf.Tensor | np.ndarray | None = None,
    attention_mask: tf.Tensor | np.ndarray | None = None,
    token_type_ids: tf.Tensor | np.ndarray | None = None,
    position_ids: tf.Tensor | np.ndarray | None = None,
    head_mask: tf.Tensor | np.ndarray | None = None,
    inputs_embeds: tf.Tensor | np.ndarray | None = None,
    encoder_hidden_states: tf.Tensor | np.ndarray | None = None,
    encoder_attention_mask: tf.Tensor | np.ndarray | None = None,
    past_key_values: tuple[tuple[tf.Tensor, ...], ...] | None = None,
    rank: int = 2,
) -> CheckedInputs:
    """Convert the inputs of a BERT call to tensors and check them with bert_common.inputs.

    Shapes as in `check_encoder_inputs`: input_ids [B, T] (rank=3: [B, C, T]) or inputs_embeds
    [B, T, H]; attention_mask [B, K] or [B, T, K]; token_type_ids / position_ids like input_ids;
    head_mask [N] or [L, N]; encoder_hidden_states [B, S, H]; encoder_attention_mask [B, S] or [B, T, S];
    past_key_values: see `check_cache`. Eager tensors are checked at once; inside a graph, shapes known
    when tracing are checked at once and values (and unknown sizes) by assertions at run time.

    Raises:
        ValueError, TypeError: the messages of bert_common.inputs (see check_encoder_inputs), and those
            of `check_cache`.
    """
    with keras_user_errors():
        tensors = {
            "input_ids": to_tensor(input_ids, "input_ids"),
            "attention_mask": to_tensor(attention_mask, "attention_mask"),
            "token_type_ids": to_tensor(token_type_ids, "token_type_ids"),
            "position_ids": to_tensor(position_ids, "position_ids"),
            "head_mask": to_tensor(head_mask, "head_mask"),
            "inputs_embeds": to_tensor(inputs_embeds, "inputs_embeds"),
            "encoder_hidden_states": to_tensor(encoder_hidden_states, "encoder_hidden_states"),
            "encoder_attention_mask": to_tensor(encoder_attention_mask, "encoder_attention_mask"),
        }
        cache, past_length = check_cache(config, past_key_values)
        # A cache whose length is unknown while tracing counts as >= 1 position; the graph checks the rest.
        known_past = isinstance(past_length, int)
        check_encoder_inputs(
            config,
            **{name: None if value is None else describe(name, value) for name, value in tensors.items()},
            past_length=past_length if known_past else 1,
            mask_length=-1 if known_past else None,
            rank=rank,
        )
    ids, embeds = tensors["input_ids"], tensors["inputs_embeds"]
    reference = ids if ids is not None else embeds[..., 0]
    length = _size(reference, -1)
    if not tf.executing_eagerly():
        tensors = _graph_checks(config, tensors, length, past_length)
    return CheckedInputs(
        **tensors, past_key_values=cache, batch=_size(reference, 0), length=length, past_length=past_length
    )


def _graph_checks(
    config: BertConfig, tensors: dict[str, tf.Tensor | None], length: int | tf.Tensor, past: int | tf.Tensor
) -> dict[str, tf.Tensor | None]:
    """Inside a graph: the value rules of bert_common.inputs as assertions (see the module docstring)."""
    tables = {
        "input_ids": (config.vocab_size, f"vocab_size={config.vocab_size}"),
        "token_type_ids": (config.type_vocab_size, f"type_vocab_size={config.type_vocab_size}"),
        "position_ids": (
            config.max_position_embeddings,
            f"max_position_embeddings={config.max_position_embeddings}",
        ),
    }
    out = dict(tensors)
    for name, (high, what) in tables.items():
        if out[name] is not None:
            out[name] = _assert_ids(out[name], name, high, what)
    for name in ("attention_mask", "encoder_attention_mask"):
        if out[name] is not None:
            out[name] = _assert_mask(out[name], name)
    if not (isinstance(length, int) and isinstance(past, int)):
        limit = config.max_position_embeddings
        checks = [
            tf.debugging.assert_positive(
                length, message="the input sequence is empty; give at least one token"
            ),
            tf.debugging.assert_less_equal(
                past + length, limit, message=f"sequence longer than max_position_embeddings={limit}"
            ),
        ]
        # Everything downstream reads the ids (or embeddings): the checks run before any position lookup.
        first = "input_ids" if out["input_ids"] is not None else "inputs_embeds"
        with tf.control_dependencies(checks):
            out[first] = tf.identity(out[first])
    return out


def check_head_labels(
    head: Head, config: BertConfig, given: Mapping[str, Any], num_choices: int | None = None
) -> dict[str, tf.Tensor] | None:
    """The labels of `head` as tensors, keyed by Head.labels, when every one is given (else None).

    given: label argument name -> value (aliases accepted, see resolve_label_aliases).
    num_choices: C, for multiple choice. Integer labels are checked against their class range by
    bert_common.inputs.check_labels (-100 passes); inside a graph, by assertions at run time.

    Raises:
        ValueError, TypeError: see bert_common.inputs.check_labels and resolve_label_aliases.
    """
    with keras_user_errors():
        resolved = resolve_label_aliases(head, given)
        if any(name not in resolved for name in head.labels):
            return None
        labels = {name: to_tensor(resolved[name], name) for name in head.labels}
        check_label_values(head, config, {name: describe(name, t) for name, t in labels.items()}, num_choices)
    if not tf.executing_eagerly():
        for name, value in labels.items():
            classes = label_classes(head, config, name, num_choices)
            if classes is not None and value.dtype.is_integer:
                what = f"{classes} classes, or {IGNORE_INDEX} to ignore"
                labels[name] = _assert_ids(value, name, classes, what, ignore=IGNORE_INDEX)
    return labels
