"""`from_pretrained` / `save_pretrained` for bert_tf models, on the shared skeleton of conversion.loading.

A directory written by bert_pt, bert_flax, bert_tf or Hugging Face Transformers (PyTorch) loads here,
and what `save_pretrained` writes loads in all of them: `config.json` + `model.safetensors` holding the
canonical (Transformers PyTorch) names. The steps are `conversion.loading.load_into` / `save_from`; the
Keras side of them is the adapter `conversion.tf` (expected shapes, assign, to canonical). What stays
here is the Keras extra: the model's dtype policy (`dtype="mixed_bfloat16"`, ...), and drawing random
initial values only for the variables the checkpoint does not fill (`DrawMissingOnly`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import keras
import numpy as np
from keras.src.backend.common import global_state

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
    adapter = DrawMissingOnly()
    model, report = load_into(
        adapter.build(lambda loaded: cls(loaded, **model_kwargs)),
        adapter,
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


class DrawMissingOnly:
    """The weight adapter `conversion.tf` for a model built to be loaded: its variables are created
    without their initial values (inside `keras.StatelessScope`, Keras' deferred initialization), and
    `assign` gives each one its value once: the checkpoint's array, or, for a variable the checkpoint
    lacks (a fresh head, a seed generator's state), its own initializer's draw, the same numbers a
    model built eagerly holds. Drawing every table and kernel from TruncatedNormal first, only for the
    checkpoint to overwrite it, took about half a second for all-MiniLM-L6-v2 on 2 cores (22M values).

    One instance per load: `build(make)` wraps the model constructor for `load_into`, then `load_into`
    calls `expected_shapes` and `assign`.
    """

    def __init__(self) -> None:
        self.pending: list[Any] = []  # the variables `build` created, uninitialized until `assign`

    def build(self, make: Callable[[BertConfig], ModelT]) -> Callable[[BertConfig], ModelT]:
        """`make(config)`, creating the model's variables uninitialized (kept in `pending`)."""

        def build(config: BertConfig) -> ModelT:
            before = {id(v) for v in _uninitialized()}
            try:
                with keras.StatelessScope(initialize_variables=False):
                    model = make(config)
            finally:
                self.pending = [v for v in _uninitialized() if id(v) not in before]
                _forget(self.pending)
            return model

        return build

    @staticmethod
    def expected_shapes(model: Any) -> dict[str, tuple[int, ...]]:
        """See conversion.tf.expected_shapes."""
        return conversion.tf.expected_shapes(model)

    @staticmethod
    def to_canonical(model: Any) -> dict[str, np.ndarray]:
        """See conversion.tf.to_canonical."""
        return conversion.tf.to_canonical(model)

    def assign(self, model: Any, weights: Mapping[str, np.ndarray], report: Any = None) -> None:
        """Initialize the pending variables (zeros where `weights` fills them, else their own draw), then
        assign `weights` as conversion.tf.assign does (same errors)."""
        filled = {id(w.variable) for name, w in conversion.tf.keras_weights(model).items() if name in weights}
        pending, self.pending = self.pending, []
        for variable in pending:
            if id(variable) in filled:
                variable._initializer = keras.initializers.Zeros()  # overwritten below
            variable._deferred_initialize()
        conversion.tf.assign(model, weights, report)


def _uninitialized() -> list[Any]:
    """Keras' list of variables created inside a StatelessScope and not initialized yet."""
    return list(global_state.get_global_attribute("uninitialized_variables", None) or [])


def _forget(variables: list[Any]) -> None:
    """Take `variables` off Keras' list, so that leaving a later StatelessScope does not initialize them
    (a second time, or those of a model whose loading failed)."""
    ids = {id(v) for v in variables}
    kept = [v for v in _uninitialized() if id(v) not in ids]
    global_state.set_global_attribute("uninitialized_variables", kept)


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
