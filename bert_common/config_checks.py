"""The checks every BertConfig passes when it is built: each field's type and range, and the rules
between fields (heads dividing the hidden size, cross-attention only in a decoder, pruned heads inside
the model).

`check_fields(config)` raises on the first field that is not valid, naming the field and its value.
No tensors here; the shape alphabet's H (hidden size), N (heads), L (layers) and V (vocabulary) appear
as field values only.
"""

from __future__ import annotations

import math
from typing import Any

# Activation names every twin implements. "gelu" is the exact erf form; the three tanh names are the
# tanh approximation (identical formulas under different historical names).
SUPPORTED_ACTIVATIONS = (
    "gelu",
    "gelu_new",
    "gelu_pytorch_tanh",
    "gelu_fast",
    "relu",
    "silu",
    "swish",
    "tanh",
    "quick_gelu",
)
POSITION_EMBEDDING_TYPES = ("absolute", "relative_key", "relative_key_query")
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

_POSITIVE_INTS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
)
_PROBABILITIES = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout")
_BOOLS = (
    "use_cache",
    "is_decoder",
    "add_cross_attention",
    "tie_word_embeddings",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
)


def check_fields(config: Any) -> None:
    """Raise on the first field of `config` (a BertConfig) that is not valid.

    Raises:
        TypeError: a field of the wrong type (an int field given a float or a bool, a bool field given
            anything else).
        ValueError: a value out of range or not supported, or two fields that disagree.
    """
    for name in _POSITIVE_INTS:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"BertConfig.{name} must be an int, got {type(value).__name__} {value!r}")
        if value <= 0:
            raise ValueError(f"BertConfig.{name} must be positive, got {value}")
    if config.hidden_size % config.num_attention_heads != 0:
        raise ValueError(
            f"BertConfig.hidden_size ({config.hidden_size}) must be divisible by "
            f"num_attention_heads ({config.num_attention_heads})"
        )
    if config.hidden_act not in SUPPORTED_ACTIVATIONS:
        raise ValueError(
            f"BertConfig.hidden_act {config.hidden_act!r} is not supported; use one of {SUPPORTED_ACTIVATIONS}"
        )
    if config.position_embedding_type not in POSITION_EMBEDDING_TYPES:
        raise ValueError(
            f"BertConfig.position_embedding_type {config.position_embedding_type!r} is not one of "
            f"{POSITION_EMBEDDING_TYPES}"
        )
    for name in _PROBABILITIES:
        value = getattr(config, name)
        if value is None and name == "classifier_dropout":
            continue
        if not _is_real(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"BertConfig.{name} must be a probability in [0, 1], got {value!r}")
    if not _is_real(config.layer_norm_eps) or not config.layer_norm_eps > 0:
        raise ValueError(
            f"BertConfig.layer_norm_eps must be a positive number, got {config.layer_norm_eps!r}"
        )
    if not _is_real(config.initializer_range) or config.initializer_range < 0:
        raise ValueError(
            f"BertConfig.initializer_range must be a non-negative number, got {config.initializer_range!r}"
        )
    for name in _BOOLS:
        if not isinstance(getattr(config, name), bool):
            raise TypeError(f"BertConfig.{name} must be a bool, got {getattr(config, name)!r}")
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(config, name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < config.vocab_size:
            raise ValueError(f"BertConfig.{name} must be None or an id in [0, vocab_size), got {value!r}")
    if config.problem_type is not None and config.problem_type not in PROBLEM_TYPES:
        raise ValueError(
            f"BertConfig.problem_type {config.problem_type!r} is not None or one of {PROBLEM_TYPES}"
        )
    if config.add_cross_attention and not config.is_decoder:
        # Transformers allows this but then silently never uses the cross-attention layers.
        raise ValueError("BertConfig.add_cross_attention=True needs is_decoder=True")
    for layer, heads in config.pruned_heads.items():
        if not 0 <= layer < config.num_hidden_layers:
            raise ValueError(
                f"BertConfig.pruned_heads names layer {layer}, the model has {config.num_hidden_layers}"
            )
        if any(not 0 <= h < config.num_attention_heads for h in heads):
            raise ValueError(f"BertConfig.pruned_heads[{layer}] = {heads} has a head outside the model")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
