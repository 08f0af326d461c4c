"""from_pretrained / save_pretrained for the Flax wrappers, through the canonical safetensors layout.

Loading: conversion.checkpoint.load_pretrained reads config + canonical weights (any twin's directory, or
one saved by Transformers); the model's expected canonical shapes come from its abstract parameter tree
(`jax.eval_shape`, nothing materialized); conversion.canonical.fit_to_model matches them and reports every
dropped, renamed, missing, unexpected or mismatched key; conversion.flax places the weights in the Flax
tree. Random initialization runs only when weights are missing (and then only those are used from it).

Saving: conversion.flax turns the params back into canonical weights (scanned trees are unscanned,
bf16 is written as fp32) and conversion.checkpoint.save_pretrained writes config.json + model.safetensors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bert_common.config import FIELDS
from conversion import checkpoint
from conversion.canonical import fit_to_model, word_embeddings_name
from conversion.flax import canonical_shapes, canonical_to_flax, flax_to_canonical, scan_layers
from conversion.names import TIED_DECODER_WEIGHT

logger = logging.getLogger("bert_zoo")

# Keyword arguments of from_pretrained that build the wrapper rather than override config fields.
MODEL_ARGUMENTS = (
    "dtype",
    "param_dtype",
    "precision",
    "seed",
    "input_shape",
    "gradient_checkpointing",
    "scan_layers",
)
MODULE_ARGUMENTS = ("add_pooling_layer",)


def from_pretrained(
    cls: type,
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    config: Any = None,
    _do_init: bool = True,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    **kwargs: Any,
) -> Any:
    """Build `cls` from a directory or hub id.

    config: a BertConfig to use instead of the stored one. kwargs: wrapper arguments (dtype, param_dtype,
    precision, seed, input_shape, gradient_checkpointing, scan_layers, add_pooling_layer for
    FlaxBertModel); every other keyword is a config override (e.g. num_labels=3).
    _do_init=False: return (model, params) without drawing random values for missing weights (they are
    absent from params and listed in the loading info), as Transformers' Flax models do.
    ignore_mismatched_sizes: initialize tensors whose checkpoint shape differs instead of raising.
    output_loading_info: also return the LoadReport dict (missing/unexpected/mismatched/dropped/renamed keys).
    """
    model_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in MODEL_ARGUMENTS or k in MODULE_ARGUMENTS}
    unknown = [k for k in kwargs if k not in FIELDS]
    if unknown:
        raise TypeError(
            f"{cls.__name__}.from_pretrained got unknown argument(s) {unknown}; model arguments are "
            f"{MODEL_ARGUMENTS + MODULE_ARGUMENTS}, anything else must be a BertConfig field"
        )
    config, state, source = checkpoint.load_pretrained(
        pretrained_model_name_or_path,
        config=config,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        **kwargs,
    )
    model = cls(config, _do_init=False, **model_kwargs)
    expected = canonical_shapes(model.params_shape_tree)
    tied = {}
    if "cls.predictions." in model.head.head_prefixes and config.tie_word_embeddings:
        tied[TIED_DECODER_WEIGHT] = word_embeddings_name(expected)
    matched, report = fit_to_model(
        state, expected, tied=tied, ignore_mismatched_sizes=ignore_mismatched_sizes
    )
    report.log(cls.__name__, source)

    param_dtype = model.param_dtype
    weights = {name: jnp.asarray(value, dtype=param_dtype) for name, value in matched.items()}
    to_init = [name for name in expected if name not in weights]
    if to_init and _do_init:
        random = flax_to_canonical(model.init_weights(model.key, model.input_shape))
        weights.update({name: random[name] for name in to_init})
    params = canonical_to_flax(weights)
    if model.scan_layers:
        params = scan_layers(params)
    info = report.loading_info()
    if not _do_init:
        return (model, params, info) if output_loading_info else (model, params)
    model.params = params
    return (model, info) if output_loading_info else model


def save_pretrained(
    model: Any,
    save_directory: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    max_shard_size: int | str = "5GB",
) -> list[Path]:
    """Write `config.json` and canonical `model.safetensors` for `model` (its params, or `params`)."""
    params = model.params if params is None else model.check_params(params)
    state = {name: _to_numpy(value) for name, value in flax_to_canonical(params).items()}
    written = checkpoint.save_pretrained(
        save_directory, model.config, state, architecture=model.head.name, max_shard_size=max_shard_size
    )
    logger.info("saved %s (%d tensors) to %s", type(model).__name__, len(state), save_directory)
    return written


def _to_numpy(value: Any) -> np.ndarray:
    """A host copy; bfloat16 (which safetensors' numpy API cannot hold) becomes float32, exactly."""
    array = np.asarray(jax.device_get(value))
    if array.dtype.name == "bfloat16":
        return array.astype(np.float32)
    return array
