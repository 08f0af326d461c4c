"""`from_pretrained` / `save_pretrained` for bert_tf models, through the canonical safetensors layout.

A directory written by bert_pt, bert_flax, bert_tf or Hugging Face Transformers (PyTorch) loads here,
and what `save_pretrained` writes loads in all of them: `config.json` + `model.safetensors` holding the
canonical (Transformers PyTorch) names. Every key that is skipped, initialized, renamed or dropped is
reported by name (conversion.canonical.LoadReport).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, TypeVar

from bert_common.config import BertConfig
from conversion.canonical import fit_to_model
from conversion.checkpoint import load_pretrained
from conversion.checkpoint import save_pretrained as save_checkpoint
from conversion.tf import assign_canonical, expected_shapes, model_to_canonical, tied_weights

logger = logging.getLogger("bert_zoo")

ModelT = TypeVar("ModelT")


def from_pretrained(
    cls: type[ModelT],
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    config: BertConfig | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    dtype: Any = None,
    **config_overrides: Any,
) -> ModelT | tuple[ModelT, dict[str, list]]:
    """Build `cls` from a directory or hub id of canonical weights.

    config: use this config instead of the stored one; config_overrides: BertConfig fields that replace
    stored values (e.g. num_labels=3). Weights the checkpoint lacks keep their fresh initialization and
    are reported; tensors of the wrong shape raise ShapeMismatchError unless ignore_mismatched_sizes.
    dtype: a Keras dtype policy ("float32", "mixed_bfloat16", ...) for the model; `add_pooling_layer`
    (TFBertModel) and `name` go to the model's constructor too.
    output_loading_info: also return the dict of missing/unexpected/mismatched/dropped/renamed keys.
    """
    model_kwargs: dict[str, Any] = {}
    for key in ("add_pooling_layer", "name"):
        if key in config_overrides:
            model_kwargs[key] = config_overrides.pop(key)
    if dtype is not None:
        model_kwargs["dtype"] = dtype
    loaded_config, state, source = load_pretrained(
        pretrained_model_name_or_path,
        config=config,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        **config_overrides,
    )
    model = cls(loaded_config, **model_kwargs)
    matched, report = fit_to_model(
        state,
        expected_shapes(model),
        tied=tied_weights(model),
        ignore_mismatched_sizes=ignore_mismatched_sizes,
    )
    assign_canonical(model, matched)
    report.log(cls.__name__, source)
    logger.info("loaded %d tensors into %s from %s", len(matched), cls.__name__, source)
    if output_loading_info:
        return model, report.loading_info()
    return model


def save_pretrained(
    model: Any, save_directory: str | os.PathLike[str], max_shard_size: int | str = "5GB"
) -> list[Path]:
    """Write `config.json` (architectures = the Transformers class name) and `model.safetensors`."""
    return save_checkpoint(
        save_directory,
        model.config,
        model_to_canonical(model),
        architecture=model.head().name,
        max_shard_size=max_shard_size,
    )
