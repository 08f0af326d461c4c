"""FlaxBertPreTrainedModel: the user-facing wrapper around a linen module, holding `config`, `params`, `module`.

A wrapper is called like Transformers' Flax models, `model(input_ids, attention_mask, params=None,
dropout_rng=None, train=False)`, also inside `jax.jit(lambda p, ids: model(ids, params=p).logits)`, and
returns the shared output classes (registered as pytrees by bert_flax.outputs, so they pass through jit).
Labels give `loss` where the other twins take them; the head table (`bert_common.heads`) says which labels
a head takes and which function of bert_flax.losses scores them. Inputs are checked in bert_flax.inputs,
the decoding cache lives in bert_flax.cache, loading and saving in bert_flax.loading; this class builds the
module, owns the parameters and runs the network. Construction never materializes random weights:
`params_shape_tree` comes from `jax.eval_shape`, and `_do_init=False` leaves `params` unset.

Shape legend: B batch, C choices, T new positions, K key positions (the cache size when decoding),
S encoder length, H hidden size, N attention heads, L layers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.typing import Dtype, PrecisionLike
from jax.typing import ArrayLike

import bert_flax.outputs  # noqa: F401  (registers the output classes as pytrees)
from bert_common import packing
from bert_common.config import BertConfig
from bert_common.heads import Head, get_head
from bert_common.outputs import ModelOutput, finish_output, resolve_output_flags
from bert_flax import cache, loading, losses
from bert_flax.attention import FlaxStackApiMixin
from bert_flax.initialization import (
    FlaxModelApiMixin,
    check_params,
    dummy_inputs,
    fill_params,
    random_params,
)
from bert_flax.inputs import check_head_labels, check_inputs

Params = dict[str, Any]


class FlaxBertPreTrainedModel(FlaxStackApiMixin, FlaxModelApiMixin):
    """Base of the FlaxBert* wrappers; a subclass names its linen `module_class` and its `head_name`.

    config: the BertConfig. input_shape: shape of the dummy input used to build parameters
    ((1, 1), or (1, 1, 1) for multiple choice). seed: PRNG seed of the random initialization.
    dtype: computation dtype; param_dtype: dtype of the parameters; precision: matmul precision.
    _do_init: build random parameters now (False: only their abstract shapes, `params_shape_tree`).
    gradient_checkpointing: rematerialize layer activations in the backward pass (nn.remat).
    scan_layers: run the layers with nn.scan; params then hold `encoder/layer/scanned` (see conversion.flax).
    padding_free: the default of the call's `padding_free` (the `padding_free` property), False.
    module_kwargs: extra module fields (FlaxBertModel: add_pooling_layer).

    Raises:
        TypeError: config is not a BertConfig; padding_free not a bool.
        ValueError: an input_shape of the wrong rank for the head.
    """

    module_class: ClassVar[type[nn.Module]]
    head_name: ClassVar[str] = "BertModel"

    def __init__(
        self,
        config: BertConfig,
        input_shape: tuple[int, ...] | None = None,
        seed: int = 0,
        dtype: Dtype = jnp.float32,
        param_dtype: Dtype = jnp.float32,
        precision: PrecisionLike = None,
        _do_init: bool = True,
        gradient_checkpointing: bool = False,
        scan_layers: bool = False,
        padding_free: bool = False,
        **module_kwargs: Any,
    ) -> None:
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, got {type(config).__name__}")
        rank = self.head.input_rank
        if input_shape is None:
            input_shape = (1,) * rank
        if len(input_shape) != rank:
            raise ValueError(
                f"input_shape must have {rank} entries for {type(self).__name__}, got {input_shape}"
            )
        # config
        self.config = config
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.key = jax.random.key(seed)
        self._module_kwargs = dict(module_kwargs)
        self._gradient_checkpointing = gradient_checkpointing
        self._scan_layers = scan_layers
        self._padding_free = packing.check_padding_free(padding_free)
        # module and parameters
        self._build_module()
        self.params_shape_tree = jax.eval_shape(
            lambda key: self._random_params(key, self.input_shape), self.key
        )
        self._params = self.init_weights(self.key, self.input_shape) if _do_init else None

    # ------------------------------------------------------------------ module

    @property
    def head(self) -> Head:
        """The row of the head table for this class (labels, loss, input rank, ...)."""
        return get_head(self.head_name)

    def _build_module(self) -> None:
        self.module = self.module_class(
            config=self.config,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            precision=self.precision,
            gradient_checkpointing=self._gradient_checkpointing,
            scan_layers=self._scan_layers,
            padding_free=self._padding_free,
            **self._module_kwargs,
        )
        # One compiled forward per instance (re-created whenever the module changes; generate's too).
        self.__dict__.pop("_generate_jit", None)
        flags = ("train", "output_attentions", "output_hidden_states", "padding_free")
        self._jit_forward = jax.jit(self._forward, static_argnames=flags)

    @property
    def gradient_checkpointing(self) -> bool:
        return self._gradient_checkpointing

    @property
    def scan_layers(self) -> bool:
        return self._scan_layers

    def enable_gradient_checkpointing(self) -> None:
        """Rematerialize each layer in the backward pass from now on (same params, less activation memory)."""
        self._gradient_checkpointing = True
        self._build_module()

    def disable_gradient_checkpointing(self) -> None:
        self._gradient_checkpointing = False
        self._build_module()

    # -------------------------------------------------------------- parameters

    def dummy_inputs(self, input_shape: tuple[int, ...]) -> dict[str, jax.Array]:
        """The inputs that trace every parameter of the module (cross-attention included)."""
        encoder = self.config.add_cross_attention and self.head.input_rank != 3  # multiple choice: none
        return dummy_inputs(input_shape, self.config.hidden_size if encoder else None, self.dtype)

    def _random_params(self, rng: jax.Array, input_shape: tuple[int, ...]) -> Params:
        return random_params(self.module, rng, self.dummy_inputs(input_shape))

    def init_weights(
        self,
        rng: jax.Array,
        input_shape: tuple[int, ...] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Params:
        """Random parameters; with `params`, only the entries missing from `params` are drawn.

        Raises:
            ValueError: `params` holds paths the model does not have.
        """
        random = self._random_params(rng, tuple(input_shape or self.input_shape))
        return random if params is None else fill_params(random, params)

    @property
    def params(self) -> Params:
        """The parameter tree (a nested dict of arrays, paths mirroring the module tree).

        Raises:
            ValueError: the model was built with _do_init=False and no params were set.
        """
        if self._params is None:
            raise ValueError(
                f"{type(self).__name__} was created with _do_init=False and holds no parameters: pass params= to "
                "the call, set model.params, or build them with model.init_weights(rng)"
            )
        return self._params

    @params.setter
    def params(self, params: Mapping[str, Any]) -> None:
        self._params = self.check_params(params)

    def check_params(self, params: Mapping[str, Any]) -> Params:
        """`params` as a dict after checking its paths and shapes against `params_shape_tree`.

        Raises:
            TypeError: not a mapping. ValueError: missing, unexpected or misshapen entries.
        """
        return check_params(self.params_shape_tree, params, type(self).__name__)

    def init_cache(self, batch_size: int, max_length: int) -> Params:
        """An empty decoding cache for `batch_size` sequences of up to `max_length` tokens (decoders only).

        Pass it as `past_key_values` with an attention_mask of shape [batch_size, max_length]; each call
        returns the updated cache in `past_key_values`. See bert_flax.cache.init_cache for the errors.
        """
        return cache.init_cache(self, batch_size, max_length)

    # ---------------------------------------------------------------- forward

    def _loss(self, outputs: ModelOutput, labels: Mapping[str, jax.Array]) -> jax.Array | None:
        """The head's loss (`bert_flax.losses.<head.loss_function>`) from its score fields and labels;
        None unless every label of the head is given (e.g. pretraining needs both label sets)."""
        head = self.head
        if head.loss_function is None or any(name not in labels for name in head.labels):
            return None
        scores = [getattr(outputs, name) for name in _score_fields(head.output)]
        extra = (self.config,) if head.loss == "sequence_classification" else ()  # reads problem_type
        return getattr(losses, head.loss_function)(*scores, *(labels[n] for n in head.labels), *extra)

    def _forward(
        self,
        params: Mapping[str, Any],
        past_key_values: Mapping[str, Any] | None,
        inputs: dict[str, jax.Array | None],
        labels: dict[str, jax.Array],
        dropout_rng: jax.Array | None,
        *,
        train: bool,
        output_attentions: bool,
        output_hidden_states: bool,
        padding_free: bool,
    ) -> ModelOutput:
        module = self.module
        if padding_free != self._padding_free:  # the call's override: same params, another program
            module = module.clone(padding_free=padding_free)
        variables = {"params": params}
        if past_key_values is not None:
            variables["cache"] = past_key_values
        rngs = {"dropout": dropout_rng} if train else {}
        kwargs = dict(inputs, deterministic=not train, output_attentions=output_attentions)
        kwargs["output_hidden_states"] = output_hidden_states
        if past_key_values is not None:
            outputs, mutated = module.apply(variables, **kwargs, rngs=rngs, mutable=["cache"])
            outputs = dataclasses.replace(outputs, past_key_values=dict(mutated["cache"]))
        else:
            outputs = module.apply(variables, **kwargs, rngs=rngs)
        if labels:
            outputs = dataclasses.replace(outputs, loss=self._loss(outputs, labels))
        return outputs

    def __call__(
        self,
        input_ids: ArrayLike | None = None,
        attention_mask: ArrayLike | None = None,
        token_type_ids: ArrayLike | None = None,
        position_ids: ArrayLike | None = None,
        head_mask: ArrayLike | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        dropout_rng: jax.Array | None = None,
        train: bool = False,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        inputs_embeds: ArrayLike | None = None,
        encoder_hidden_states: ArrayLike | None = None,
        encoder_attention_mask: ArrayLike | None = None,
        past_key_values: Mapping[str, Any] | None = None,
        labels: ArrayLike | None = None,
        next_sentence_label: ArrayLike | None = None,
        start_positions: ArrayLike | None = None,
        end_positions: ArrayLike | None = None,
        padding_free: bool | None = None,
    ) -> ModelOutput | tuple[Any, ...]:
        """Run the model; numpy or jax arrays (or lists) in, jax arrays out.

        input_ids: [B, T] int token ids ([B, C, T] for multiple choice), or inputs_embeds [B, T, H] floats.
        attention_mask: 0/1 [B, T] (or per query [B, T, T]), 1 = token, 0 = padding; with
            past_key_values it covers the whole cache, [B, K]. Default: every position.
        token_type_ids, position_ids: [B, T] ints (default 0, and positions after those in the cache).
        head_mask: [N] or [L, N] multipliers of the attention heads.
        params: parameters to use instead of `self.params` (what jit/grad differentiate).
        dropout_rng: PRNG key for dropout, required when train=True (default False: no dropout).
        encoder_hidden_states [B, S, H], encoder_attention_mask [B, S]: cross-attention inputs (decoders).
        past_key_values: a cache from `init_cache` or a previous call (decoders); the updated cache is
            returned in `past_key_values`.
        labels, next_sentence_label, start_positions, end_positions: the head's label arguments
            (bert_common.heads; next_sentence_label is also NSP's alias of labels); they give `loss`.
        output_attentions / output_hidden_states / return_dict: default to the config's values;
            return_dict=False gives the tuple of the fields that are set, loss first.
        padding_free: the dense layers on the attended tokens only (bert_flax.modeling.FlaxBertModule);
            None (default) = the model's `padding_free`. One compiled program per value.

        Returns the head's output class (float32 fields for an fp32 model), or its tuple.

        Raises:
            TypeError: a label argument the head does not take; an argument of the wrong type or dtype;
                train not a bool; padding_free not a bool or None.
            ValueError: inputs the shared rules refuse (bert_flax.inputs); train=True without
                dropout_rng; past_key_values for a model that is not a decoder, or that does not fit.
        """
        if not isinstance(train, bool):
            raise TypeError(f"train must be a bool, got {train!r}")
        if packing.check_padding_free(padding_free, allow_none=True) is None:
            padding_free = self._padding_free
        if train and dropout_rng is None:
            raise ValueError("train=True applies dropout and needs dropout_rng (a jax.random key)")
        geometry = None if past_key_values is None else cache.cache_geometry(past_key_values, self.config)
        rank = self.head.input_rank
        inputs, shape = check_inputs(
            self.config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            cache=geometry,
            rank=rank,
        )
        if rank == 3:  # the multiple-choice module takes no cross-attention inputs
            inputs.pop("encoder_hidden_states")
            inputs.pop("encoder_attention_mask")
        label_arrays = check_head_labels(
            self.head_name,
            self.config,
            dict(
                labels=labels,
                next_sentence_label=next_sentence_label,
                start_positions=start_positions,
                end_positions=end_positions,
            ),
            num_choices=shape.batch_shape[1] if rank == 3 else None,
        )
        flags = resolve_output_flags(
            self.config,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )
        outputs = self._jit_forward(
            self.params if params is None else params,
            past_key_values,
            inputs,
            label_arrays,
            dropout_rng,
            train=train,
            output_attentions=flags.output_attentions,
            output_hidden_states=flags.output_hidden_states,
            padding_free=padding_free,
        )
        return finish_output(outputs, flags.return_dict, self.config)

    # ------------------------------------------------------- loading / saving

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any
    ) -> FlaxBertPreTrainedModel | tuple[Any, ...]:
        """Load a directory or hub id holding config.json + weights (any twin's, or Transformers').

        Returns the model; `(model, params)` with `_do_init=False`; plus the loading-info dict with
        `output_loading_info=True`. See bert_flax.loading.from_pretrained for the arguments and errors,
        conversion.loading.load_into for the loader arguments (`from_pt=True`, subfolder, variant, ...).
        """
        return loading.from_pretrained(cls, pretrained_model_name_or_path, **kwargs)

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        params: Mapping[str, Any] | None = None,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
    ) -> list[Path]:
        """Write config.json and the canonical model.safetensors (loadable by every twin and Transformers),
        or Transformers' flax_model.msgpack with safe_serialization=False; returns the files written.
        See bert_flax.loading.save_pretrained."""
        kwargs = dict(params=params, max_shard_size=max_shard_size, safe_serialization=safe_serialization)
        return loading.save_pretrained(self, save_directory, **kwargs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(hidden_size={self.config.hidden_size}, layers={self.config.num_hidden_layers}, "
            f"dtype={jnp.dtype(self.dtype).name}, scan_layers={self._scan_layers}, "
            f"gradient_checkpointing={self._gradient_checkpointing})"
        )


# Output fields that are not scores: what remains of each output class are the loss's inputs, in order.
_NOT_SCORES = ("loss", "past_key_values", "hidden_states", "attentions", "cross_attentions")


def _score_fields(output: type[ModelOutput]) -> tuple[str, ...]:
    """E.g. ("logits",), ("prediction_logits", "seq_relationship_logits"), ("start_logits", "end_logits")."""
    return tuple(name for name in output.field_names() if name not in _NOT_SCORES)
