"""`from_pretrained` / `save_pretrained`, written once for the three twins.

Every twin loads the same way: resolve the directory or hub id, read `config.json` and the weights as
canonical arrays (`conversion.checkpoint`), build the model, check the weights against the shapes the
model expects, drop the tied decoder copy, assign, and report every key that was missing, unexpected,
mismatched, dropped or renamed. Only three steps depend on the framework; each twin supplies them as a
`WeightAdapter` (in `conversion.pt`, `conversion.tf`, `conversion.flax`):

    expected_shapes(model) -> {canonical name: shape}   what the model owns, canonical layout [out, in]
    assign(model, weights, report)                      put fitted canonical arrays into the model
    to_canonical(model) -> {canonical name: ndarray}    the model's weights, for saving

Nothing here imports a framework.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from bert_common.config import FIELDS, BertConfig
from conversion.canonical import LoadReport, fit_to_model
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE, load_pretrained
from conversion.checkpoint import save_pretrained as write_checkpoint
from conversion.shapes import tied_weights

ModelT = TypeVar("ModelT")

# Arguments of every twin's from_pretrained that steer loading (not config fields, not model arguments).
LOADER_ARGUMENTS: tuple[str, ...] = (
    "config",
    "cache_dir",
    "revision",
    "local_files_only",
    "token",
    "ignore_mismatched_sizes",
    "output_loading_info",
)


class WeightAdapter(Protocol):
    """The three framework steps of loading and saving (see the module docstring)."""

    def expected_shapes(self, model: Any) -> dict[str, tuple[int, ...]]: ...

    def assign(self, model: Any, weights: Mapping[str, np.ndarray], report: LoadReport) -> None: ...

    def to_canonical(self, model: Any) -> dict[str, np.ndarray]: ...


def split_model_kwargs(
    owner: str, kwargs: Mapping[str, Any], model_arguments: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `from_pretrained(**kwargs)` into (model constructor arguments, config overrides).

    owner: the class name, for the message. model_arguments: what the twin's constructors take (e.g.
    `add_pooling_layer`, `attn_implementation`, `dtype`).

    Raises:
        TypeError: a keyword that is neither a model argument nor a BertConfig field; the message lists
            the loader arguments, the model arguments and says that config fields are accepted.
    """
    model_kwargs = {k: v for k, v in kwargs.items() if k in model_arguments}
    overrides = {k: v for k, v in kwargs.items() if k not in model_arguments}
    unknown = sorted(k for k in overrides if k not in FIELDS)
    if unknown:
        raise TypeError(
            f"{owner}.from_pretrained got unknown keyword argument(s) {unknown}; it accepts the loader "
            f"arguments {list(LOADER_ARGUMENTS)}, the model arguments {list(model_arguments)}, and any "
            "BertConfig field as an override (e.g. num_labels=3)"
        )
    return model_kwargs, overrides


def load_into(
    build: Callable[[BertConfig], ModelT],
    adapter: WeightAdapter,
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    head: str,
    owner: str,
    config: BertConfig | str | os.PathLike[str] | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    ignore_mismatched_sizes: bool = False,
    **config_overrides: Any,
) -> tuple[ModelT, LoadReport]:
    """Build a model with `build(config)` and fill it from a directory or hub id; returns (model, report).

    head: the head name in bert_common.heads (decides the tied decoder); owner: the class name, for logs.
    config: a BertConfig (or a path to one) used instead of the stored config; config_overrides
        (BertConfig fields, e.g. num_labels=3) then apply to it, otherwise to the stored config.
    ignore_mismatched_sizes: leave tensors whose checkpoint shape differs to the model's initialization
        (reported) instead of raising.

    Raises:
        bert_common.files.ModelNotFoundError: no such directory, and the hub id is not in the cache.
        conversion.formats.CheckpointError: no weights file, or a corrupt one.
        conversion.canonical.ShapeMismatchError: checkpoint shapes that do not fit the config (unless
            ignore_mismatched_sizes).
        TypeError: a config that is neither a BertConfig nor a path.
    """
    if isinstance(config, (str, os.PathLike)):
        config = BertConfig.from_pretrained(config)
    if config is not None:
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig or a path, got {type(config).__name__}")
        config, config_overrides = config.copy(**config_overrides), {}
    loaded_config, state, source = load_pretrained(
        pretrained_model_name_or_path,
        config=config,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        **config_overrides,
    )
    model = build(loaded_config)
    expected = adapter.expected_shapes(model)
    matched, report = fit_to_model(
        state,
        expected,
        tied=tied_weights(head, loaded_config, expected),
        ignore_mismatched_sizes=ignore_mismatched_sizes,
    )
    adapter.assign(model, matched, report)
    report.log(owner, source)
    return model, report


def save_from(
    model: Any,
    adapter: WeightAdapter,
    save_directory: str | os.PathLike[str],
    *,
    config: BertConfig,
    architecture: str,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
) -> list[Path]:
    """Write `config.json` (with `architectures = [architecture]`) and the canonical `model.safetensors`
    (sharded with an index above `max_shard_size`); returns the files written.

    Raises:
        NotADirectoryError: `save_directory` is a file.
    """
    return write_checkpoint(
        save_directory,
        config,
        adapter.to_canonical(model),
        architecture=architecture,
        max_shard_size=max_shard_size,
    )
