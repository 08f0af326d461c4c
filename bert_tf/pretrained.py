"""`TFBertPreTrainedModel`: the base class of every bert_tf model.

It holds the model's BertConfig and its head (bert_common.heads), and is the entry point of what a model
does besides computing: Keras serialization (`get_config` / `from_config`), loading and saving
(`from_pretrained` / `save_pretrained`, bodies in bert_tf.loading), Keras training (`compile` / `fit`,
bert_tf.training) and SavedModel export (bert_tf.export). It is thin on purpose: no network code here.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import keras
import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import Head, get_head
from bert_common.model_api import (
    MAIN_INPUT_NAME,
    can_generate,
    check_gradient_checkpointing_kwargs,
    count_parameters,
    resized_rows,
    resized_vocab_size,
)
from bert_tf import loading
from bert_tf import outputs as _outputs  # also registers the output classes with Keras
from bert_tf.attention import reshape_variable
from bert_tf.export import export_saved_model
from bert_tf.training import KerasTrainingMixin
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE

ModelT = TypeVar("ModelT", bound="TFBertPreTrainedModel")


@functools.cache
def _call_keywords(cls: type) -> frozenset[str] | _Anything:
    """The keywords a model class's `__call__` takes: its `call`'s parameters and Keras' `training` and
    `mask` (everything, when `call` takes **kwargs)."""
    parameters = inspect.signature(cls.call).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return _Anything()
    return frozenset(p.name for p in parameters) | {"training", "mask"}


class _Anything:
    def __contains__(self, name: object) -> bool:
        return True


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

    # ------------------------------------------------------------------ Transformers' model API

    main_input_name: ClassVar[str] = MAIN_INPUT_NAME

    @classmethod
    def can_generate(cls) -> bool:
        """True for the class with a `generate` method (TFBertLMHeadModel)."""
        return can_generate(cls.head_name)

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of distinct parameters (a tied decoder is the word-embedding matrix, counted once);
        exclude_embeddings leaves out the word, position and token-type tables; only_trainable the
        frozen variables. The same count as bert_pt for the same config."""
        embeddings = self.bert.embeddings
        tables = {
            id(embeddings.word_embeddings.table),
            *(id(v) for v in embeddings.position_embeddings.weights),
            *(id(v) for v in embeddings.token_type_embeddings.weights),
        }
        trainable = {id(v) for v in self.trainable_weights}
        distinct = {id(v): v for v in self.weights}
        return count_parameters(
            ((int(np.prod(v.shape)), i in trainable, i in tables) for i, v in distinct.items()),
            only_trainable,
            exclude_embeddings,
        )

    def get_input_embeddings(self) -> keras.layers.Layer:
        """The word-embedding layer; its variable `table` is the [V, H] matrix."""
        return self.bert.embeddings.word_embeddings

    def set_input_embeddings(self, value: Any) -> None:
        """Use `value` ([V, H] array, tensor, variable or embedding layer) as the word embeddings (and the
        tied decoder); a new V resizes the decoder bias (zeros for new rows) and sets config.vocab_size.

        Raises:
            ValueError: not a 2-D matrix of width hidden_size.
        """
        value = _matrix(value, self.config.hidden_size, "set_input_embeddings")
        self._set_vocab(value, decoder=None)

    def get_output_embeddings(self) -> keras.layers.Layer | None:
        """What scores the vocabulary: the word-embedding layer when tied (Transformers' TF models return
        the same), the head's `decoder` Dense (kernel [H, V]) when untied; None for heads without one."""
        predictions = self._predictions()
        if predictions is None:
            return None
        return predictions.decoder if predictions.decoder is not None else self.get_input_embeddings()

    def set_output_embeddings(self, new_embeddings: Any) -> None:
        """Use `value` ([V, H], the layout of bert_pt's decoder weight) as the vocabulary scorer: the
        word embeddings when tied, the decoder kernel (stored transposed, [H, V]) when untied.

        Raises:
            TypeError: a head without a language-model decoder. ValueError: not [V, H] with V the
                current vocabulary size (untied) or of width hidden_size.
        """
        predictions = self._predictions()
        if predictions is None:
            raise TypeError(f"{type(self).__name__} has no output embeddings")
        value = _matrix(new_embeddings, self.config.hidden_size, "set_output_embeddings")
        if predictions.decoder is None:
            self._set_vocab(value, decoder=None)
            return
        if value.shape[0] != self.config.vocab_size:
            raise ValueError(
                f"set_output_embeddings: {value.shape[0]} rows != vocab_size {self.config.vocab_size} "
                "(resize_token_embeddings changes the vocabulary)"
            )
        _reshape_variable(predictions.decoder.kernel, value.T)

    def resize_token_embeddings(
        self,
        new_num_tokens: int | None = None,
        pad_to_multiple_of: int | None = None,
        mean_resizing: bool = True,
    ) -> keras.layers.Layer:
        """Give the model a vocabulary of `new_num_tokens` rows (rounded up to a multiple of
        `pad_to_multiple_of`), as bert_pt does: old rows kept, new rows at the mean of the old
        embeddings (mean_resizing=True) or drawn from N(0, initializer_range), the tied decoder follows, an untied decoder is resized
        the same way, the decoder bias padded with zeros; config.vocab_size updated. Returns the
        word-embedding layer. Recompile before fitting again.

        Raises:
            ValueError: new_num_tokens or pad_to_multiple_of that is not a positive int.
        """
        rows = resized_vocab_size(self.config.vocab_size, new_num_tokens, pad_to_multiple_of)
        if new_num_tokens is None and pad_to_multiple_of is None:
            return self.get_input_embeddings()
        std = self.config.initializer_range
        table = keras.ops.convert_to_numpy(self.get_input_embeddings().table)
        decoder = None
        predictions = self._predictions()
        if predictions is not None and predictions.decoder is not None:
            kernel = keras.ops.convert_to_numpy(predictions.decoder.kernel)  # [H, V]
            decoder = resized_rows(kernel.T, rows, mean_resizing, std).T
        self._set_vocab(resized_rows(table, rows, mean_resizing, std), decoder=decoder)
        return self.get_input_embeddings()

    def _predictions(self) -> keras.layers.Layer | None:
        """The `cls.predictions` layer of the language-model heads, or None."""
        return getattr(getattr(self, "cls", None), "predictions", None)

    def _set_vocab(self, table: np.ndarray, decoder: np.ndarray | None) -> None:
        """Write the [V, H] word embeddings (a new V pads/cuts the bias and sets config.vocab_size)."""
        rows = table.shape[0]
        layer = self.get_input_embeddings()
        _reshape_variable(layer.table, table)
        layer.rows = rows
        predictions = self._predictions()
        if predictions is not None:
            bias = keras.ops.convert_to_numpy(predictions.bias)
            _reshape_variable(predictions.bias, resized_rows(bias, rows))
            if decoder is not None:
                _reshape_variable(predictions.decoder.kernel, decoder)
                predictions.decoder.units = rows
        self.config.vocab_size = rows
        self._drop_compiled_functions()

    def _drop_compiled_functions(self) -> None:
        """Compiled train / eval / predict steps hold old variable shapes or flags: rebuild on next use."""
        for name in ("train_function", "test_function", "predict_function"):
            if hasattr(self, name):
                setattr(self, name, None)

    # ------------------------------------------------------------------ pruning, checkpointing

    supports_gradient_checkpointing: ClassVar[bool] = True

    def prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        """Remove attention heads, {layer: [heads]} numbered as in the unpruned model, as bert_pt does:
        heads pruned before are skipped, `config.pruned_heads` gets the union (a model built from that
        config is built pruned, so save_pretrained / from_pretrained round-trip). Recompile before
        fitting again. See `bert_tf.layers.TFBertEncoder.prune_heads`.

        Raises:
            TypeError: not a mapping of int -> list of ints. ValueError: a layer or head that does not
                exist, or pruning every head of a layer (nothing is changed then).
        """
        self.bert.encoder.prune_heads(heads_to_prune)
        self._drop_compiled_functions()

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """Recompute each encoder layer in the backward pass of training calls (`fit` included, eager,
        graph or XLA) instead of keeping its activations; same gradients. Not saved by save_pretrained
        (as in Transformers): a loaded model starts without it.

        gradient_checkpointing_kwargs: None, {} or {"use_reentrant": False}.

        Raises:
            ValueError: other kwargs (bert_common.model_api.check_gradient_checkpointing_kwargs).
        """
        check_gradient_checkpointing_kwargs(gradient_checkpointing_kwargs)
        self.bert.encoder.gradient_checkpointing = True
        self._drop_compiled_functions()

    def gradient_checkpointing_disable(self) -> None:
        """Keep every layer's activations again (the default)."""
        self.bert.encoder.gradient_checkpointing = False
        self._drop_compiled_functions()

    @property
    def is_gradient_checkpointing(self) -> bool:
        """True after gradient_checkpointing_enable (until gradient_checkpointing_disable)."""
        return bool(self.bert.encoder.gradient_checkpointing)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        unknown = [name for name in kwargs if name not in _call_keywords(type(self))]
        if unknown:  # Keras' own signature bind says only "got an unexpected keyword argument", no owner
            raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument {unknown[0]!r}")
        # Keras takes only tensors (or plain dicts/lists of them) as positional arguments: a tokenizer's
        # BatchEncoding (a dict subclass) becomes a dict, nested Python lists of ids an array.
        if args:
            first = args[0]
            if isinstance(first, Mapping) and type(first) is not dict:
                first = dict(first)
            elif isinstance(first, (list, tuple)):
                first = np.asarray(first)
            args = (first, *args[1:])
        # On KerasTensors (the functional API) the output dataclass becomes the dict of its fields, a
        # structure keras.Model(inputs, outputs) and .keras files take (bert_tf.outputs).
        return _outputs.symbolic_as_dict(super().__call__(*args, **kwargs))

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
        Loader arguments (see conversion.loading.load_into): `from_pt=True` (Transformers' TF idiom: read
            pytorch_model.bin, else model.safetensors; error if neither), from_tf / from_flax,
            subfolder, variant, use_safetensors, low_cpu_mem_usage (no effect), force_download (the
            hub cache is reused), trust_remote_code (ignored).
        Weights the checkpoint lacks keep their fresh initialization and are logged by name.

        Returns the model, or (model, loading info) with output_loading_info=True.

        Raises:
            bert_common.files.ModelNotFoundError: no such directory, or no weights in it.
            conversion.canonical.ShapeMismatchError: a stored tensor of another shape than the config
                gives (unless ignore_mismatched_sizes).
            TypeError: a keyword that is neither a loader argument, a BertConfig field nor a constructor
                argument (the message lists the accepted ones).
            ValueError: an invalid config value (e.g. an unsupported hidden_act); contradicting loader
                flags (two from_*, use_safetensors=True with from_tf).
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
        self,
        save_directory: str | os.PathLike[str],
        max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
        safe_serialization: bool = True,
    ) -> list[Path]:
        """Write `config.json` (architectures = the Transformers class name) and `model.safetensors`
        (canonical names, float32; sharded with `model.safetensors.index.json` above max_shard_size,
        e.g. "5GB" or a byte count), atomically. safe_serialization=False writes Transformers' TF file
        `tf_model.h5` instead (one file), removing the directory's safetensors / pytorch_model.bin so
        that it loads what was saved. Returns the files written.

        Raises:
            NotADirectoryError: `save_directory` is a file.
            ValueError: safe_serialization=False with weights above max_shard_size.
        """
        return loading.save_pretrained(
            self, save_directory, max_shard_size=max_shard_size, safe_serialization=safe_serialization
        )

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


def _matrix(value: Any, width: int, caller: str) -> np.ndarray:
    """`value` (array, tensor, variable, or a layer with a `table` variable) as a float32 [V, H] array."""
    value = getattr(value, "table", value)
    array = np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{caller} expects a [V, {width}] matrix, got shape {tuple(array.shape)}")
    return array


_reshape_variable = reshape_variable  # the vocabulary dimension here; pruned heads in bert_tf.attention
