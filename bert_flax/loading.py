"""from_pretrained / save_pretrained for the Flax wrappers, on `conversion.loading` (written once for the
three twins).

Loading: `conversion.loading.load_into` resolves the directory or hub id, reads config.json and the
weights as canonical arrays (any twin's directory, one saved by Transformers, or another on-disk format),
builds the wrapper with `_do_init=False` (abstract shapes only, nothing drawn), fits the weights to the
shapes the model expects (reporting every dropped, renamed, missing, unexpected or mismatched key), and
assigns them through the Flax adapter `conversion.flax`. Random initialization runs only when weights are
missing, and then only those are taken from it.

The Flax extras stay here: `_do_init=False` returns `(model, params)` with missing weights left out (the
tree is kept outside the model, `conversion.flax.ParamsAdapter`), `scan_layers` models receive the
stacked tree, and `param_dtype` applies on loading; saving writes bf16 parameters as fp32.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bert_common.config import BertConfig
from conversion import flax as flax_adapter
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE
from conversion.flax import ParamsAdapter
from conversion.loading import LEGACY_FORMATS, WeightAdapter, load_into, save_from, split_model_kwargs

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
    "padding_free",
    "add_pooling_layer",
)


def from_pretrained(
    cls: type,
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    config: BertConfig | str | os.PathLike[str] | None = None,
    _do_init: bool = True,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    **kwargs: Any,
) -> Any:  # the wrapper, or a tuple with its params and/or loading info
    """Build the wrapper class `cls` from a directory or hub id.

    config: a BertConfig (or a path to one) to use instead of the stored one.
    kwargs: wrapper arguments (dtype, param_dtype, precision, seed, input_shape, gradient_checkpointing,
        scan_layers, add_pooling_layer for FlaxBertModel); the loader arguments of
        conversion.loading.load_into (`from_pt=True`, `subfolder`, `variant`, `use_safetensors`, ...);
        every other keyword is a config override (e.g. num_labels=3).
    _do_init=False: return (model, params) without drawing random values for missing weights (they are
        absent from params and listed in the loading info), as Transformers' Flax models do.
    ignore_mismatched_sizes: initialize tensors whose checkpoint shape differs instead of raising.
    output_loading_info: also return the loading-info dict (missing/unexpected/mismatched/dropped/renamed
        keys). revision, cache_dir, local_files_only, token: hub resolution (cached files only).

    Returns the model, or (model, params) with _do_init=False, with the info dict appended when asked.

    Raises:
        TypeError: a keyword that is neither a wrapper argument nor a BertConfig field; a bad config.
        bert_common.files.ModelNotFoundError: no such directory or cached hub id, or no weights in it.
        conversion.canonical.ShapeMismatchError: checkpoint shapes that do not fit the config (unless
            ignore_mismatched_sizes).
    """
    model_kwargs, overrides = split_model_kwargs(cls.__name__, kwargs, MODEL_ARGUMENTS, ("_do_init",))
    outside = None if _do_init else ParamsAdapter()  # _do_init=False: params stay outside the model
    model, report = load_into(
        lambda loaded: cls(loaded, _do_init=False, **model_kwargs),
        flax_adapter if outside is None else outside,
        pretrained_model_name_or_path,
        head=cls.head_name,
        owner=cls.__name__,
        config=config,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        ignore_mismatched_sizes=ignore_mismatched_sizes,
        **overrides,
    )
    result = (model,) if outside is None else (model, outside.params)
    if output_loading_info:
        result = (*result, report.loading_info())
    return result[0] if len(result) == 1 else result


def save_pretrained(
    model: Any,
    save_directory: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    safe_serialization: bool = True,
) -> list[Path]:
    """Write `config.json` and the canonical `model.safetensors` (sharded with an index above
    max_shard_size), or Transformers' Flax file `flax_model.msgpack` with safe_serialization=False, for
    `model`: its params, or `params` when given. Returns the files written.

    Raises:
        ValueError: `params` that do not fit the model; the model holds no params (_do_init=False);
            safe_serialization=False with weights above max_shard_size (msgpack is one file).
        NotADirectoryError: `save_directory` is a file.
        TypeError: safe_serialization not a bool.
    """
    if not isinstance(safe_serialization, bool):
        raise TypeError(f"safe_serialization must be True or False, got {safe_serialization!r}")
    adapter: WeightAdapter = flax_adapter if params is None else ParamsAdapter(model.check_params(params))
    written = save_from(
        model,
        adapter,
        save_directory,
        config=model.config,
        architecture=model.head.name,
        max_shard_size=max_shard_size,
        fmt="safetensors" if safe_serialization else LEGACY_FORMATS["flax"],
    )
    logger.info("saved %s to %s", type(model).__name__, save_directory)
    return written
