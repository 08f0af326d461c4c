"""FlaxBertPreTrainedModel: the user-facing wrapper around a linen module, holding `config`, `params`, `module`.

A wrapper is called like Transformers' Flax models,

    out = model(input_ids, attention_mask, params=None, dropout_rng=None, train=False)
    jax.jit(lambda p, ids: model(ids, params=p).logits)

and returns the shared output classes (registered as pytrees, so they pass through jit). Labels are
accepted where the other twins accept them and give `loss`. Loading and saving live in
bert_flax/loading.py, generation in bert_flax/generation.py, training in bert_flax/training.py; this class
only builds the module, owns the parameters and runs the network.

Construction never has to materialize random weights: `params_shape_tree` comes from `jax.eval_shape`,
and `_do_init=False` leaves `params` unset (from_pretrained fills it from the checkpoint).

Shape legend: B = batch, T = sequence length, M = cache length.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import HEADS, Head
from bert_common.outputs import ModelOutput
from bert_flax.inputs import check_label_ids, is_concrete, prepare_inputs
from conversion.flax import flatten_tree, unflatten_tree

LABEL_ARGUMENTS = ("labels", "next_sentence_label", "start_positions", "end_positions")


class FlaxBertPreTrainedModel:
    """Base of the FlaxBert* wrappers.

    config: the BertConfig. input_shape: shape of the dummy input used to build parameters
    ((1, 1), or (1, 1, 1) for multiple choice). seed: PRNG seed of the random initialization.
    dtype: computation dtype; param_dtype: dtype of the parameters; precision: matmul precision.
    _do_init: build random parameters now (False: only their abstract shapes, `params_shape_tree`).
    gradient_checkpointing: rematerialize layer activations in the backward pass (nn.remat).
    scan_layers: run the layers with nn.scan; params then hold `encoder/layer/scanned` (see conversion.flax).
    module_kwargs: extra module fields (FlaxBertModel: add_pooling_layer).
    """

    module_class: ClassVar[type[nn.Module]]
    head_name: ClassVar[str] = "BertModel"
    # Label arguments this head accepts (a subset of LABEL_ARGUMENTS).
    label_names: ClassVar[tuple[str, ...]] = ()
    # Rank of input_ids: 2 ([B, T]) or 3 for multiple choice ([B, C, T]).
    input_rank: ClassVar[int] = 2

    def __init__(
        self,
        config: BertConfig,
        input_shape: tuple[int, ...] | None = None,
        seed: int = 0,
        dtype: Any = jnp.float32,
        param_dtype: Any = jnp.float32,
        precision: Any = None,
        _do_init: bool = True,
        gradient_checkpointing: bool = False,
        scan_layers: bool = False,
        **module_kwargs: Any,
    ) -> None:
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, got {type(config).__name__}")
        if input_shape is None:
            input_shape = (1,) * self.input_rank
        if len(input_shape) != self.input_rank:
            raise ValueError(
                f"input_shape must have {self.input_rank} entries for {type(self).__name__}, got {input_shape}"
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
        # module and parameters
        self._build_module()
        self.params_shape_tree = jax.eval_shape(
            lambda key: self._random_params(key, self.input_shape), self.key
        )
        self._params = self.init_weights(self.key, self.input_shape) if _do_init else None

    # ------------------------------------------------------------------ module

    @property
    def head(self) -> Head:
        return HEADS[self.head_name]

    def _build_module(self) -> None:
        self.module = self.module_class(
            config=self.config,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            precision=self.precision,
            gradient_checkpointing=self._gradient_checkpointing,
            scan_layers=self._scan_layers,
            **self._module_kwargs,
        )
        # One compiled forward per instance (re-created whenever the module changes; generate's too).
        self.__dict__.pop("_generate_jit", None)
        self._jit_forward = jax.jit(
            self._forward, static_argnames=("train", "output_attentions", "output_hidden_states")
        )

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
        inputs = dict(
            input_ids=jnp.zeros(input_shape, dtype=jnp.int32),
            attention_mask=jnp.ones(input_shape, dtype=jnp.int32),
        )
        if (
            self.config.add_cross_attention and self.input_rank != 3
        ):  # multiple choice takes no encoder states
            inputs["encoder_hidden_states"] = jnp.zeros(
                (input_shape[0], 1, self.config.hidden_size), self.dtype
            )
            inputs["encoder_attention_mask"] = jnp.ones((input_shape[0], 1), dtype=jnp.int32)
        return inputs

    def _random_params(self, rng: jax.Array, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """Freshly drawn parameters; `lazy_init` traces the dummy forward pass abstractly and computes
        only the initializers, never the network itself."""
        params_rng, dropout_rng = jax.random.split(rng)
        inputs = {
            k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in self.dummy_inputs(input_shape).items()
        }
        variables = self.module.lazy_init({"params": params_rng, "dropout": dropout_rng}, **inputs)
        return dict(variables["params"])

    def init_weights(
        self,
        rng: jax.Array,
        input_shape: tuple[int, ...] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Random parameters; with `params`, only the entries missing from `params` are drawn."""
        # Eager on purpose: the primitives compile once per process and are reused by every model, where
        # a jitted init would compile the whole (PRNG-heavy) program again for each new config.
        random = self._random_params(rng, tuple(input_shape or self.input_shape))
        if params is None:
            return random
        flat_random, flat = flatten_tree(random), flatten_tree(params)
        unknown = sorted(set(flat) - set(flat_random))
        if unknown:
            raise ValueError(f"params hold entries the model does not have: {unknown}")
        return unflatten_tree({path: flat.get(path, value) for path, value in flat_random.items()})

    @property
    def params(self) -> dict[str, Any]:
        """The parameter tree (a nested dict of arrays, paths mirroring the module tree)."""
        if self._params is None:
            raise ValueError(
                f"{type(self).__name__} was created with _do_init=False and holds no parameters: pass params= to "
                "the call, set model.params, or build them with model.init_weights(rng)"
            )
        return self._params

    @params.setter
    def params(self, params: Mapping[str, Any]) -> None:
        self._params = self.check_params(params)

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` as a dict after checking its paths and shapes against `params_shape_tree`."""
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a nested dict of arrays, got {type(params).__name__}")
        want, got = flatten_tree(self.params_shape_tree), flatten_tree(params)
        missing, unknown = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        bad = [
            f"{p}: {tuple(got[p].shape)} vs {tuple(want[p].shape)}"
            for p in want
            if p in got and tuple(got[p].shape) != tuple(want[p].shape)
        ]
        if missing or unknown or bad:
            raise ValueError(
                f"params do not fit {type(self).__name__}: missing {missing}, unexpected {unknown}, wrong shapes {bad}"
            )
        return dict(params)

    # ------------------------------------------------------------------ cache

    def init_cache(self, batch_size: int, max_length: int) -> dict[str, Any]:
        """An empty decoding cache for `batch_size` sequences of up to `max_length` tokens (decoders only).

        Pass it as `past_key_values` with an attention_mask of shape [batch_size, max_length]; each call
        returns the updated cache in `past_key_values`.
        """
        if not self.config.is_decoder:
            raise ValueError("init_cache needs a decoder: the config has is_decoder=False")
        for name, value in (("batch_size", batch_size), ("max_length", max_length)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if max_length > self.config.max_position_embeddings:
            raise ValueError(
                f"max_length={max_length} exceeds max_position_embeddings={self.config.max_position_embeddings}"
            )
        inputs = self.dummy_inputs((batch_size, max_length))
        shapes = jax.eval_shape(lambda: self.module.init(jax.random.key(0), **inputs, init_cache=True))
        return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), dict(shapes["cache"]))

    # ---------------------------------------------------------------- forward

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array | None:
        """The head's loss from its outputs and the label arguments given (None: no loss)."""
        return None

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        """Number of classes integer labels called `name` range over (for eager value checks)."""
        return None

    def _forward(
        self,
        params: Mapping[str, Any],
        cache: Mapping[str, Any] | None,
        inputs: dict[str, Any],
        labels: dict[str, Any],
        dropout_rng: jax.Array | None,
        *,
        train: bool,
        output_attentions: bool,
        output_hidden_states: bool,
    ) -> ModelOutput:
        variables = {"params": params}
        if cache is not None:
            variables["cache"] = cache
        rngs = {"dropout": dropout_rng} if train else {}
        kwargs = dict(
            **inputs,
            deterministic=not train,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        if cache is not None:
            outputs, mutated = self.module.apply(variables, **kwargs, rngs=rngs, mutable=["cache"])
            outputs = dataclasses.replace(outputs, past_key_values=dict(mutated["cache"]))
        else:
            outputs = self.module.apply(variables, **kwargs, rngs=rngs)
        given = {k: v for k, v in labels.items() if v is not None}
        if given:
            outputs = dataclasses.replace(outputs, loss=self.compute_loss(outputs, given))
        return outputs

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        dropout_rng: jax.Array | None = None,
        train: bool = False,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        inputs_embeds: Any = None,
        encoder_hidden_states: Any = None,
        encoder_attention_mask: Any = None,
        past_key_values: Mapping[str, Any] | None = None,
        labels: Any = None,
        next_sentence_label: Any = None,
        start_positions: Any = None,
        end_positions: Any = None,
    ) -> ModelOutput | tuple:
        """Run the model.

        input_ids: [B, T] token ids ([B, C, T] for multiple choice), or inputs_embeds [B, T, H].
        attention_mask: 1 = token, 0 = padding; with past_key_values it covers the whole cache, [B, M].
        token_type_ids, position_ids: [B, T]; head_mask: [N] or [L, N].
        params: parameters to use instead of `self.params` (what jit/grad differentiate).
        dropout_rng: PRNG key for dropout, required when train=True.
        encoder_hidden_states [B, S, H], encoder_attention_mask [B, S]: cross-attention inputs (decoders).
        past_key_values: a cache from `init_cache` or a previous call (decoders); the updated cache is
        returned in `past_key_values`.
        labels, next_sentence_label, start_positions, end_positions: as in the PyTorch twin, per head.
        output_attentions / output_hidden_states / return_dict: default to the config's values.
        """
        label_values = dict(
            labels=labels,
            next_sentence_label=next_sentence_label,
            start_positions=start_positions,
            end_positions=end_positions,
        )
        for name, value in label_values.items():
            if value is not None and name not in self.label_names:
                accepted = ", ".join(self.label_names) or "no labels"
                raise TypeError(f"{type(self).__name__} got {name}, but it accepts {accepted}")
        if not isinstance(train, bool):
            raise TypeError(f"train must be a bool, got {train!r}")
        if train and dropout_rng is None:
            raise ValueError("train=True applies dropout and needs dropout_rng (a jax.random key)")
        cache_shape = cache_start = None
        if past_key_values is not None:
            if not self.config.is_decoder:
                raise ValueError("past_key_values given, but the config has is_decoder=False")
            cache_shape, cache_start = _cache_geometry(past_key_values)
        inputs = prepare_inputs(
            self.config,
            rank=self.input_rank,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            cache_shape=cache_shape,
            cache_offset=cache_start,
        )
        if self.input_rank == 3:  # the multiple-choice module takes no cross-attention inputs
            inputs.pop("encoder_hidden_states")
            inputs.pop("encoder_attention_mask")
        labels_in = {}
        for name, value in label_values.items():
            if value is None:
                labels_in[name] = None
                continue
            value = (
                jnp.asarray(value)
                if isinstance(value, (list, tuple, np.ndarray, np.generic, int, float))
                else value
            )
            classes = self.label_classes(name, inputs)
            if classes is not None:
                check_label_ids(name, value, classes)
            labels_in[name] = value
        outputs = self._jit_forward(
            self.params if params is None else params,
            past_key_values,
            inputs,
            labels_in,
            dropout_rng,
            train=train,
            output_attentions=self.config.output_attentions
            if output_attentions is None
            else bool(output_attentions),
            output_hidden_states=self.config.output_hidden_states
            if output_hidden_states is None
            else bool(output_hidden_states),
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        return outputs if return_dict else outputs.to_tuple()

    # ------------------------------------------------------- loading / saving

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Load a directory or hub id holding config.json + model.safetensors (any twin's or Transformers').

        See bert_flax.loading.from_pretrained for the arguments.
        """
        from bert_flax.loading import from_pretrained

        return from_pretrained(cls, pretrained_model_name_or_path, **kwargs)

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        params: Mapping[str, Any] | None = None,
        max_shard_size: int | str = "5GB",
    ) -> list:
        """Write config.json and the canonical model.safetensors (loadable by every twin and Transformers)."""
        from bert_flax.loading import save_pretrained

        return save_pretrained(self, save_directory, params=params, max_shard_size=max_shard_size)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(hidden_size={self.config.hidden_size}, layers={self.config.num_hidden_layers}, "
            f"dtype={jnp.dtype(self.dtype).name}, scan_layers={self._scan_layers}, "
            f"gradient_checkpointing={self._gradient_checkpointing})"
        )


def _cache_geometry(cache: Mapping[str, Any]) -> tuple[tuple[int, int], int | None]:
    """((B, M), positions already filled or None when not concrete) of a decoding cache."""
    if not isinstance(cache, Mapping):
        raise TypeError(f"past_key_values must be the cache dict from init_cache, got {type(cache).__name__}")
    flat = flatten_tree(cache)
    keys = [v for p, v in flat.items() if p.endswith("cached_key")]
    index = [v for p, v in flat.items() if p.endswith("cache_index")]
    if not keys or not index:
        raise ValueError(
            "past_key_values is not a decoding cache (no cached_key/cache_index); build it with init_cache"
        )
    shape = tuple(keys[0].shape)[-4:-2]  # [..., B, M, N, D]
    first = index[0]
    start = int(np.reshape(np.asarray(first), (-1,))[0]) if is_concrete(first) else None
    return (int(shape[0]), int(shape[1])), start
