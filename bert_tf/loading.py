"""`from_pretrained` / `save_pretrained` for bert_tf models, on the shared skeleton of conversion.loading.

A directory written by bert_pt, bert_flax, bert_tf or Hugging Face Transformers (PyTorch) loads here,
and what `save_pretrained` writes loads in all of them: `config.json` + `model.safetensors` holding the
canonical (Transformers PyTorch) names. The steps are `conversion.loading.load_into` / `save_from`; the
Keras side of them is the adapter `conversion.tf` (expected shapes, assign, to canonical). What stays
here is the Keras extra: the model's dtype policy (`dtype="mixed_bfloat16"`, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import keras

import conversion.tf
from bert_common.config import BertConfig
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE
from conversion.loading import LEGACY_FORMATS, load_into, save_from, split_model_kwargs

# A bert_tf model class (TFBertPreTrainedModel, which imports this module, so it is not named here).
ModelT = TypeVar("ModelT", bound=keras.Model)

# Keyword arguments of from_pretrained that go to the model's constructor, not to the config.
MODEL_ARGUMENTS: tuple[str, ...] = ("add_pooling_layer", "padding_free", "name")


def from_pretrained(
    cls: type[ModelT],
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    config: BertConfig | str | os.PathLike[str] | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    dtype: str | keras.DTypePolicy | None = None,
    **kwargs: Any,
) -> ModelT | tuple[ModelT, dict[str, list]]:
    """Build the bert_tf model class `cls` from a directory or hub id of canonical weights (arguments as
    in TFBertPreTrainedModel.from_pretrained).

    kwargs: `add_pooling_layer` (TFBertModel), `padding_free` and `name` go to the constructor; the loader arguments of
    conversion.loading.load_into (`from_pt=True`, `subfolder`, `variant`, `use_safetensors`, ...) go
    there; every other keyword must be a BertConfig field and overrides the stored config.

    Raises:
        TypeError: a keyword that is neither a model argument nor a BertConfig field.
        See conversion.loading.load_into for the loading errors.
    """
    model_kwargs, overrides = split_model_kwargs(cls.__name__, kwargs, MODEL_ARGUMENTS, ("dtype",))
    if dtype is not None:
        model_kwargs["dtype"] = dtype
    model, report = load_into(
        lambda loaded: cls(loaded, **model_kwargs),
        conversion.tf,
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
    if output_loading_info:
        return model, report.loading_info()
    return model


def save_pretrained(
    model: keras.Model,
    save_directory: str | os.PathLike[str],
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    safe_serialization: bool = True,
) -> list[Path]:
    """Write `config.json` (architectures = the Transformers class name) and `model.safetensors` of the
    bert_tf model `model` (sharded with an index above `max_shard_size`), or Transformers' TF file
    `tf_model.h5` with safe_serialization=False; returns the files written.

    Raises:
        NotADirectoryError: `save_directory` is a file.
        ValueError: safe_serialization=False with weights above max_shard_size (h5 is one file).
        TypeError: safe_serialization not a bool.
    """
    if not isinstance(safe_serialization, bool):
        raise TypeError(f"safe_serialization must be True or False, got {safe_serialization!r}")
    return save_from(
        model,
        conversion.tf,
        save_directory,
        config=model.config,
        architecture=model.head().name,
        max_shard_size=max_shard_size,
        fmt="safetensors" if safe_serialization else LEGACY_FORMATS["tf"],
    )
