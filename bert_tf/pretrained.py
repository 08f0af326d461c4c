"""`TFBertPreTrainedModel`: the base class of every bert_tf model.

It holds the model's BertConfig and its head (bert_common.heads), and is the entry point of what a model
does besides computing: Keras serialization (`get_config` / `from_config`), loading and saving
(`from_pretrained` / `save_pretrained`, bodies in bert_tf.loading), Keras training (`compile` / `fit`,
bert_tf.training) and SavedModel export (bert_tf.export). It is thin on purpose: no network code here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import keras
import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import Head, get_head
from bert_tf import loading
from bert_tf import outputs as _outputs  # noqa: F401  (registers the output classes with Keras)
from bert_tf.export import export_saved_model
from bert_tf.training import KerasTrainingMixin
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE

ModelT = TypeVar("ModelT", bound="TFBertPreTrainedModel")


class TFBertPreTrainedModel(KerasTrainingMixin, keras.Model):
    """What every bert_tf model shares (see the module docstring).

    head_name: the PyTorch class name of the head (a key of bert_common.heads.HEADS).

    Raises:
        TypeError: `config` is neither a BertConfig nor its dict.
    """

    head_name: ClassVar[str] = "BertModel"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        if isinstance(config, dict):
            config = BertConfig.from_dict(config)
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__} needs a BertConfig, got {type(config).__name__}")
        # Inputs are not cast to a mixed-precision compute dtype at the model boundary: float labels
        # (regression, multi-label) keep float32; the layers cast what they compute with.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        # config
        self.config = config

    @classmethod
    def head(cls) -> Head:
        """The head of this class in bert_common.heads (output class, labels, loss, head weights)."""
        return get_head(cls.head_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Keras takes only tensors (or plain dicts/lists of them) as positional arguments: a tokenizer's
        # BatchEncoding (a dict subclass) becomes a dict, nested Python lists of ids an array.
        if args:
            first = args[0]
            if isinstance(first, Mapping) and type(first) is not dict:
                first = dict(first)
            elif isinstance(first, (list, tuple)):
                first = np.asarray(first)
            args = (first, *args[1:])
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------------ serialization

    def get_config(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TFBertPreTrainedModel:
        config = dict(config)
        return cls(BertConfig.from_dict(config.pop("config")), **config)

    # ------------------------------------------------------------------ hub / disk

    @classmethod
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
        """Load a directory or hub id of canonical weights (`config.json` + `model.safetensors`, or any
        format conversion.checkpoint reads: pytorch_model.bin, tf_model.h5, flax_model.msgpack, a
        Google TF1 checkpoint).

        config: a BertConfig (or a path to one) instead of the stored config. kwargs: BertConfig fields
            overriding it (e.g. num_labels=3), or the constructor arguments `add_pooling_layer`
            (TFBertModel) and `name`.
        revision, cache_dir, local_files_only, token: where a hub id is looked up (the local cache).
        ignore_mismatched_sizes: keep the fresh initialization of tensors whose stored shape differs
            (reported) instead of raising.
        output_loading_info: also return the dict of missing / unexpected / mismatched / dropped /
            renamed keys.
        dtype: a Keras dtype policy for the model ("float32" default, "mixed_bfloat16", ...); variables
            stay float32.
        Weights the checkpoint lacks keep their fresh initialization and are logged by name.

        Returns the model, or (model, loading info) with output_loading_info=True.

        Raises:
            bert_common.files.ModelNotFoundError: no such directory, or no weights in it.
            conversion.canonical.ShapeMismatchError: a stored tensor of another shape than the config
                gives (unless ignore_mismatched_sizes).
            TypeError: a keyword that is neither a BertConfig field nor a constructor argument.
            ValueError: an invalid config value (e.g. an unsupported hidden_act).
        """
        return loading.from_pretrained(
            cls,
            pretrained_model_name_or_path,
            config=config,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            ignore_mismatched_sizes=ignore_mismatched_sizes,
            output_loading_info=output_loading_info,
            dtype=dtype,
            **kwargs,
        )

    def save_pretrained(
        self, save_directory: str | os.PathLike[str], max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE
    ) -> list[Path]:
        """Write `config.json` (architectures = the Transformers class name) and `model.safetensors`
        (canonical names, float32; sharded with `model.safetensors.index.json` above max_shard_size,
        e.g. "5GB" or a byte count). Returns the files written.

        Raises:
            NotADirectoryError: `save_directory` is a file.
        """
        return loading.save_pretrained(self, save_directory, max_shard_size=max_shard_size)

    def export(
        self, filepath: str | os.PathLike[str], format: str = "tf_saved_model", verbose: bool = True
    ) -> None:
        """Write a SavedModel whose `serving_default` takes int32 input_ids, attention_mask and
        token_type_ids ([B, T]; [B, C, T] for multiple choice) of any size and returns the head's
        prediction fields (see bert_tf.export).

        Raises:
            ValueError: a format other than "tf_saved_model".
        """
        if format != "tf_saved_model":
            raise ValueError(
                f"{type(self).__name__}.export supports format='tf_saved_model' only, got {format!r}"
            )
        export_saved_model(self, filepath, verbose=verbose)
