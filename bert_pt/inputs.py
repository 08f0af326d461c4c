"""Validation of the tensors given to the models, with errors that name the argument and the value.

PyTorch's own errors for bad inputs are cryptic ("index out of range in self", a CUDA device-side assert);
these checks run first and say what is wrong. The value-range checks read the data, so they are skipped
while `torch.compile` traces the model (shapes and dtypes are still checked).

Shape legend: B = batch, T = new positions, P = cached positions, S = encoder length, H = hidden size.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from bert_common.config import BertConfig


def is_tracing() -> bool:
    """True while torch.compile traces: data-dependent checks must not run then."""
    return torch.compiler.is_compiling()


def check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_integer(name: str, value: torch.Tensor) -> None:
    """`value` must hold integer ids (e.g. torch.long), not floats or booleans."""
    check_tensor(name, value)
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor (torch.long), got dtype {value.dtype}")


def check_floating(name: str, value: torch.Tensor) -> None:
    check_tensor(name, value)
    if not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")


def check_shape(name: str, value: torch.Tensor, shape: Iterable[int], meaning: str = "") -> None:
    shape = tuple(int(d) for d in shape)
    if tuple(value.shape) != shape:
        hint = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} has shape {tuple(value.shape)}, expected {shape}{hint}")


def check_range(
    name: str, value: torch.Tensor, high: int, what: str, *, allowed: tuple[int, ...] = ()
) -> None:
    """Every entry of `value` must be in [0, high) or one of `allowed` (e.g. -100 for ignored labels)."""
    if is_tracing() or value.numel() == 0:
        return
    bad = (value < 0) | (value >= high)
    for keep in allowed:
        bad &= value != keep
    if bool(bad.any()):
        first = value[bad][0].item()
        extra = f" or {', '.join(map(str, allowed))}" if allowed else ""
        raise ValueError(
            f"{name} holds {first}, outside [0, {high}){extra}: {what}; "
            f"min {int(value.min())}, max {int(value.max())}"
        )


def check_past_key_values(past_key_values: object, config: BertConfig) -> int:
    """Validate the cache given to a decoder; returns P, the number of cached positions."""
    if not isinstance(past_key_values, (tuple, list)):
        raise TypeError(
            "past_key_values must be the tuple returned by a previous call with use_cache=True "
            f"(one (keys, values[, cross_keys, cross_values]) tuple per layer), got {type(past_key_values).__name__}"
        )
    if len(past_key_values) != config.num_hidden_layers:
        raise ValueError(
            f"past_key_values has {len(past_key_values)} layers, the model has {config.num_hidden_layers}"
        )
    want = 4 if config.add_cross_attention else 2
    for i, layer in enumerate(past_key_values):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, want):
            raise ValueError(
                f"past_key_values[{i}] must hold {want} tensors (self keys, self values"
                + (", cross keys, cross values" if want == 4 else "")
                + f"), got {type(layer).__name__} of length {len(layer) if isinstance(layer, (tuple, list)) else '?'}"
            )
        for tensor in layer:
            check_tensor(f"past_key_values[{i}]", tensor)
            if tensor.dim() != 4:
                raise ValueError(
                    f"past_key_values[{i}] tensors must be [B, N, P, D], got shape {tuple(tensor.shape)}"
                )
    return int(past_key_values[0][0].shape[2])


def check_model_inputs(
    config: BertConfig,
    *,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    token_type_ids: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    inputs_embeds: torch.Tensor | None,
    encoder_hidden_states: torch.Tensor | None,
    encoder_attention_mask: torch.Tensor | None,
    past_length: int,
) -> tuple[int, int]:
    """Check the inputs of `BertModel.forward`; returns (B, T)."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError(
            "pass exactly one of input_ids and inputs_embeds, got "
            + ("both" if input_ids is not None else "neither")
        )
    if input_ids is not None:
        check_integer("input_ids", input_ids)
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, sequence], got shape {tuple(input_ids.shape)}")
        batch, length = input_ids.shape
        check_range(
            "input_ids",
            input_ids,
            config.vocab_size,
            f"token ids must be smaller than vocab_size={config.vocab_size}",
        )
    else:
        check_floating("inputs_embeds", inputs_embeds)
        if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != config.hidden_size:
            raise ValueError(
                f"inputs_embeds must be [batch, sequence, {config.hidden_size}], got shape {tuple(inputs_embeds.shape)}"
            )
        batch, length = inputs_embeds.shape[:2]
    total = past_length + length
    if total > config.max_position_embeddings:
        raise ValueError(
            f"sequence of {total} positions ({past_length} cached + {length} new) is longer than "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
    if attention_mask is not None:
        check_tensor("attention_mask", attention_mask)
        if attention_mask.dim() == 3:
            check_shape(
                "attention_mask", attention_mask, (batch, length, total), "[batch, query, key] per-query mask"
            )
        else:
            meaning = "[batch, cached + new positions]" if past_length else "the shape of input_ids"
            check_shape("attention_mask", attention_mask, (batch, total), meaning)
    if token_type_ids is not None:
        check_integer("token_type_ids", token_type_ids)
        check_shape("token_type_ids", token_type_ids, (batch, length), "the shape of input_ids")
        check_range(
            "token_type_ids",
            token_type_ids,
            config.type_vocab_size,
            f"type_vocab_size={config.type_vocab_size}",
        )
    if position_ids is not None:
        check_integer("position_ids", position_ids)
        if (
            position_ids.dim() != 2
            or position_ids.shape[-1] != length
            or position_ids.shape[0] not in (1, batch)
        ):
            raise ValueError(
                f"position_ids has shape {tuple(position_ids.shape)}, expected ({batch}, {length}) or (1, {length})"
            )
        check_range(
            "position_ids",
            position_ids,
            config.max_position_embeddings,
            f"max_position_embeddings={config.max_position_embeddings}",
        )
    if encoder_hidden_states is not None:
        if not config.add_cross_attention:
            raise ValueError(
                "encoder_hidden_states was given but the model has no cross-attention layers; "
                "build it with BertConfig(is_decoder=True, add_cross_attention=True)"
            )
        check_floating("encoder_hidden_states", encoder_hidden_states)
        if (
            encoder_hidden_states.dim() != 3
            or encoder_hidden_states.shape[0] != batch
            or encoder_hidden_states.shape[-1] != config.hidden_size
        ):
            raise ValueError(
                f"encoder_hidden_states must be [{batch}, encoder_length, {config.hidden_size}], "
                f"got shape {tuple(encoder_hidden_states.shape)}"
            )
    if encoder_attention_mask is not None:
        check_tensor("encoder_attention_mask", encoder_attention_mask)
        if encoder_hidden_states is None:
            if past_length == 0:
                raise ValueError("encoder_attention_mask was given without encoder_hidden_states")
            # Decoding from a cache: the encoder's keys/values are cached, its mask is still needed.
            if encoder_attention_mask.shape[0] != batch:
                raise ValueError(
                    f"encoder_attention_mask has batch size {encoder_attention_mask.shape[0]}, input has {batch}"
                )
            return batch, length
        source = encoder_hidden_states.shape[1]
        if encoder_attention_mask.dim() == 3:
            check_shape("encoder_attention_mask", encoder_attention_mask, (batch, length, source))
        else:
            check_shape(
                "encoder_attention_mask", encoder_attention_mask, (batch, source), "[batch, encoder_length]"
            )
    return batch, length
