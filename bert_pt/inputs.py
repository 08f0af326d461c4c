"""The inputs of the PyTorch models, checked by the one rule set of `bert_common.inputs`.

This module only describes torch tensors (`describe`) and hands them to the shared rules, whose messages
name the argument and the offending value; PyTorch's own errors for bad inputs are cryptic ("index out of
range in self", a CUDA device-side assert). What stays here is PyTorch's own: the structure of the
decoder cache (`check_past_key_values`).

Values are read (`.detach().cpu().numpy()`) only from integer, bool and mask tensors, and never while
`torch.compile` traces the model: then shapes and dtypes are still checked, the values are not.

Shape legend: B batch, C choices, T new positions, P cached positions, K key positions (P + T),
S encoder length, H hidden size, N heads, D head size, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_common.inputs import EncoderGeometry, TensorInfo, check_encoder_inputs, check_labels


def is_tracing() -> bool:
    """True while torch.compile traces: data-dependent checks must not run then."""
    return torch.compiler.is_compiling()


def _kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype.is_floating_point:
        return "float"
    if dtype.is_complex:
        return "other"
    return "int"


def _values(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16; widening is exact
        tensor = tensor.float()
    return tensor.numpy()


def describe(name: str, value: object, *, mask: bool = False) -> TensorInfo:
    """The TensorInfo of the argument `name` for the shared rules.

    mask: the tensor is a 0/1 mask, whose values are read even when it holds floats.

    Raises:
        TypeError: `value` is not a torch.Tensor.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    kind = _kind(value.dtype)
    readable = (kind in ("int", "bool") or mask) and not is_tracing()
    return TensorInfo(
        tuple(int(d) for d in value.shape),
        kind,
        str(value.dtype),
        (lambda: _values(value)) if readable else None,
    )


def check_inputs(
    config: BertConfig,
    *,
    input_ids: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    token_type_ids: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    head_mask: torch.Tensor | None = None,
    inputs_embeds: torch.Tensor | None = None,
    encoder_hidden_states: torch.Tensor | None = None,
    encoder_attention_mask: torch.Tensor | None = None,
    past_length: int = 0,
    rank: int = 2,
) -> EncoderGeometry:
    """Check the inputs of a model call (`bert_common.inputs.check_encoder_inputs`); returns the batch
    shape, T, P and K.

    input_ids: [B, T] (or [B, C, T] with rank=3) integer ids; inputs_embeds: [B, T, H] floats.
    attention_mask: [B, K] or [B, T, K], 0/1. head_mask: [N] or [L, N].
    encoder_hidden_states / encoder_attention_mask: [B, S, H] / [B, S] or [B, T, S].
    past_length: P, the positions already in the decoding cache.

    Raises:
        TypeError: an argument that is not a torch.Tensor, or of the wrong dtype.
        ValueError: a shape or value the shared rules refuse (see check_encoder_inputs).
    """
    described = {
        name: None if value is None else describe(name, value, mask=name.endswith("mask"))
        for name, value in (
            ("input_ids", input_ids),
            ("attention_mask", attention_mask),
            ("token_type_ids", token_type_ids),
            ("position_ids", position_ids),
            ("head_mask", head_mask),
            ("inputs_embeds", inputs_embeds),
            ("encoder_hidden_states", encoder_hidden_states),
            ("encoder_attention_mask", encoder_attention_mask),
        )
    }
    return check_encoder_inputs(config, **described, past_length=past_length, rank=rank)


def check_head_labels(
    head_name: str,
    config: BertConfig,
    labels: Mapping[str, torch.Tensor | None],
    num_choices: int | None = None,
) -> None:
    """Integer labels of the head `head_name` inside their class range, or -100
    (`bert_common.inputs.check_labels`). labels: label argument name -> tensor (None when not given).

    Raises:
        TypeError: a label that is not a torch.Tensor.
        ValueError: an integer label outside its range.
    """
    described = {name: None if value is None else describe(name, value) for name, value in labels.items()}
    check_labels(get_head(head_name), config, described, num_choices)


def check_past_key_values(past_key_values: object, config: BertConfig) -> int:
    """Validate the cache given to a decoder; returns P, the number of cached positions.

    past_key_values: per layer (self keys, self values[, cross keys, cross values]), each [B, N, P, D]
    (cross entries [B, N, S, D]), as returned by a previous call with use_cache=True.

    Raises:
        TypeError: not a tuple of tuples of tensors.
        ValueError: the wrong number of layers or entries, or tensors that are not 4-D.
    """
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
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"past_key_values[{i}] must be a torch.Tensor, got {type(tensor).__name__}")
            if tensor.dim() != 4:
                raise ValueError(
                    f"past_key_values[{i}] tensors must be [B, N, P, D], got shape {tuple(tensor.shape)}"
                )
    return int(past_key_values[0][0].shape[2])
