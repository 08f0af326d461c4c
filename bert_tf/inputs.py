"""Call-argument handling shared by every Keras BERT model: dict inputs and input validation.

`model(batch)` with a dict (what a tokenizer returns), `model(input_ids, attention_mask=...)` and a mix of
both all reach `call` as keyword arguments through `unpack_inputs`. The checks raise ValueError/TypeError
naming the offending argument; on symbolic tensors (inside `tf.function`, `fit`, XLA) the value checks
become `tf.debugging` assertions, which fail at run time with the same message.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from bert_common.config import BertConfig


def unpack_inputs(call: Callable[..., Any]) -> Callable[..., Any]:
    """Let `call(input_ids, ...)` also take a dict of named inputs as its first argument.

    The dict's keys must be argument names of `call`; an argument given both in the dict and as a
    keyword is an error, as is a key `call` does not take.
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
        unknown = sorted(set(batch) - set(names))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} got input(s) {unknown} it does not take; accepted inputs: {names}"
            )
        given_positionally = names[1 : 1 + len(args)]
        for name in batch:
            if name in given_positionally or kwargs.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__}: {name!r} was given both in the input dict and as an argument"
                )
        merged = {**dict(zip(given_positionally, args)), **kwargs}
        merged.update(batch)
        return call(self, **merged)

    return wrapper


def to_tensor(value: Any, name: str) -> tf.Tensor | None:
    """`value` as a tf.Tensor (numpy arrays and lists are converted); None stays None."""
    if value is None or isinstance(value, tf.Tensor):
        return value
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor or array, got {type(value).__name__}: {err}") from None


def check_integer(value: tf.Tensor | None, name: str) -> None:
    """Raise TypeError when `value` is not an integer tensor (token ids, labels of a classifier)."""
    if value is not None and not value.dtype.is_integer:
        raise TypeError(f"{name} must hold integer ids (int32 or int64), got dtype {value.dtype.name}")


def check_rank(value: tf.Tensor | None, name: str, rank: int, meaning: str) -> None:
    """Raise ValueError when `value` does not have `rank` dimensions (`meaning` spells them out)."""
    if value is not None and value.shape.rank is not None and value.shape.rank != rank:
        raise ValueError(f"{name} must have shape {meaning}, got shape {tuple(value.shape)}")


def check_range(value: tf.Tensor | None, name: str, low: int, high: int, what: str) -> tf.Tensor | None:
    """Check `low <= value < high` and return `value`.

    Eager: ValueError naming the first bad value. Inside a graph: the returned tensor depends on
    assertions, so ops that use it (an embedding lookup) run only after the check passed.
    """
    if value is None:
        return None
    if tf.executing_eagerly():
        array = value.numpy()
        if array.size and (array.min() < low or array.max() >= high):
            bad = array[(array < low) | (array >= high)]
            raise ValueError(f"{name} holds {bad.flat[0]}, outside [{low}, {high}) ({what})")
        return value
    message = f"{name} holds values outside [{low}, {high}) ({what})"
    checks = [
        tf.debugging.assert_greater_equal(value, tf.cast(low, value.dtype), message=message),
        tf.debugging.assert_less(value, tf.cast(high, value.dtype), message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(value)


def check_shape(value: tf.Tensor | None, name: str, shape: list[Any]) -> None:
    """Check `value` against `shape`, whose entries are ints, scalar tensors, or None for any size."""
    if value is None:
        return
    if value.shape.rank is not None and value.shape.rank != len(shape):
        raise ValueError(f"{name} must have {len(shape)} dimensions, got shape {tuple(value.shape)}")
    actual = tf.shape(value)
    for axis, want in enumerate(shape):
        if want is None:
            continue
        static_want = tf.get_static_value(want) if isinstance(want, tf.Tensor) else want
        static_have = value.shape[axis]
        if static_want is not None and static_have is not None:
            if int(static_want) != static_have:
                raise ValueError(
                    f"{name} has shape {tuple(value.shape)}; dimension {axis} must be {int(static_want)}"
                )
            continue
        tf.debugging.assert_equal(
            actual[axis], tf.cast(want, actual.dtype), message=f"{name}: dimension {axis} has the wrong size"
        )


@dataclass
class EncoderInputs:
    """The validated inputs of TFBertMainLayer, with defaults filled in.

    attention_mask: [B, S] 0/1 (ones when not given); encoder_attention_mask: [B, S_enc] 0/1 when
    there are encoder_hidden_states ([B, S_enc, H], in the compute dtype); past_length: P, the cached
    length (0 without a cache); seq_length: T, the number of new tokens.
    """

    input_ids: tf.Tensor | None
    inputs_embeds: tf.Tensor | None
    token_type_ids: tf.Tensor | None
    position_ids: tf.Tensor | None
    attention_mask: tf.Tensor
    encoder_hidden_states: tf.Tensor | None
    encoder_attention_mask: tf.Tensor | None
    past_key_values: tuple[tuple[tf.Tensor, ...], ...] | None
    past_length: Any
    seq_length: Any


def prepare_encoder_inputs(
    config: BertConfig,
    compute_dtype: str,
    *,
    input_ids: Any = None,
    attention_mask: Any = None,
    token_type_ids: Any = None,
    position_ids: Any = None,
    inputs_embeds: Any = None,
    encoder_hidden_states: Any = None,
    encoder_attention_mask: Any = None,
    past_key_values: Any = None,
) -> EncoderInputs:
    """Convert and check the inputs of a BERT encoder call (shapes as in TFBertModel.call).

    Raises TypeError for non-integer ids and ValueError for wrong shapes, ids outside their tables,
    sequences longer than max_position_embeddings, and decoder-only inputs given to an encoder.
    """
    input_ids = to_tensor(input_ids, "input_ids")
    inputs_embeds = to_tensor(inputs_embeds, "inputs_embeds")
    if input_ids is not None and inputs_embeds is not None:
        raise ValueError("pass either input_ids or inputs_embeds, not both")
    if input_ids is None and inputs_embeds is None:
        raise ValueError("pass input_ids or inputs_embeds")
    if input_ids is not None:
        check_integer(input_ids, "input_ids")
        check_rank(input_ids, "input_ids", 2, "[batch, sequence]")
        input_ids = check_range(
            input_ids, "input_ids", 0, config.vocab_size, f"vocab_size={config.vocab_size}"
        )
        reference = input_ids
    else:
        check_rank(inputs_embeds, "inputs_embeds", 3, "[batch, sequence, hidden]")
        check_shape(inputs_embeds, "inputs_embeds", [None, None, config.hidden_size])
        reference = inputs_embeds[..., 0]
    batch_size = reference.shape[0] or tf.shape(reference)[0]  # static where known, else a tensor
    seq_length = reference.shape[1] or tf.shape(reference)[1]

    past_length: Any = 0
    if past_key_values is not None:
        if not config.is_decoder:
            raise ValueError("past_key_values are only used by decoders (BertConfig(is_decoder=True))")
        if len(past_key_values) != config.num_hidden_layers:
            raise ValueError(
                f"past_key_values must hold one entry per layer ({config.num_hidden_layers}), "
                f"got {len(past_key_values)}"
            )
        past_key_values = tuple(
            tuple(to_tensor(t, "past_key_values") for t in layer) for layer in past_key_values
        )
        past_length = past_key_values[0][0].shape[2] or tf.shape(past_key_values[0][0])[2]
    total_length = past_length + seq_length  # S = P + T

    token_type_ids = to_tensor(token_type_ids, "token_type_ids")
    check_integer(token_type_ids, "token_type_ids")
    check_shape(token_type_ids, "token_type_ids", [batch_size, seq_length])
    token_type_ids = check_range(
        token_type_ids,
        "token_type_ids",
        0,
        config.type_vocab_size,
        f"type_vocab_size={config.type_vocab_size}",
    )
    position_ids = to_tensor(position_ids, "position_ids")
    check_integer(position_ids, "position_ids")
    check_shape(position_ids, "position_ids", [None, seq_length])
    limit = config.max_position_embeddings
    position_ids = check_range(position_ids, "position_ids", 0, limit, f"max_position_embeddings={limit}")
    if position_ids is None or config.position_embedding_type != "absolute":
        # computed positions (and relative distances) must stay inside the tables
        if isinstance(total_length, int):
            if total_length > limit:
                raise ValueError(
                    f"sequence of {total_length} positions (cached + new) is longer than max_position_embeddings={limit}"
                )
        else:
            tf.debugging.assert_less_equal(
                total_length, limit, message=f"sequence longer than max_position_embeddings={limit}"
            )

    attention_mask = to_tensor(attention_mask, "attention_mask")
    if attention_mask is None:
        attention_mask = tf.ones(tf.stack([batch_size, total_length]), dtype=tf.int32)
    else:
        check_shape(attention_mask, "attention_mask", [batch_size, total_length])

    encoder_hidden_states = to_tensor(encoder_hidden_states, "encoder_hidden_states")
    encoder_attention_mask = to_tensor(encoder_attention_mask, "encoder_attention_mask")
    if encoder_hidden_states is not None:
        if not config.add_cross_attention:
            raise ValueError(
                "encoder_hidden_states are only used by decoders with cross-attention "
                "(BertConfig(is_decoder=True, add_cross_attention=True))"
            )
        check_shape(encoder_hidden_states, "encoder_hidden_states", [batch_size, None, config.hidden_size])
        encoder_hidden_states = tf.cast(encoder_hidden_states, compute_dtype)
        if encoder_attention_mask is None:
            encoder_attention_mask = tf.ones(tf.shape(encoder_hidden_states)[:2], dtype=tf.int32)
        else:
            encoder_length = encoder_hidden_states.shape[1] or tf.shape(encoder_hidden_states)[1]
            check_shape(encoder_attention_mask, "encoder_attention_mask", [batch_size, encoder_length])
    elif encoder_attention_mask is not None:
        raise ValueError("encoder_attention_mask was given without encoder_hidden_states")

    return EncoderInputs(
        input_ids=input_ids,
        inputs_embeds=inputs_embeds,
        token_type_ids=token_type_ids,
        position_ids=position_ids,
        attention_mask=attention_mask,
        encoder_hidden_states=encoder_hidden_states,
        encoder_attention_mask=encoder_attention_mask,
        past_key_values=past_key_values,
        past_length=past_length,
        seq_length=seq_length,
    )
