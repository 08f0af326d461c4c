"""The transformer layer, the layer stack, the encoder and the pooler.

`FlaxBertEncoder.layer` is either `FlaxBertLayerCollection` (params `encoder/layer/{i}/…`, one module per
layer, each optionally rematerialized with `nn.remat`) or, with `scan_layers=True`,
`bert_flax.scan.FlaxBertScannedLayerCollection` (params `encoder/layer/scanned/…` with a leading layer axis).

Shape legend: B = batch, T = sequence length, S = encoder length, H = hidden size, I = intermediate size,
N = heads, L = layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.config import BertConfig
from bert_flax.attention import FlaxBertAttention
from bert_flax.embeddings import dense, layer_norm


def _quick_gelu(x: jax.Array) -> jax.Array:
    return x * jax.nn.sigmoid(1.702 * x)


def _gelu_tanh(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=True)


def _gelu_exact(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=False)


# Every name in bert_common.config.SUPPORTED_ACTIVATIONS: "gelu" is the exact erf form, the three
# historical tanh names are the tanh approximation.
ACT2FN: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": _gelu_exact,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_tanh,
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
    "quick_gelu": _quick_gelu,
}


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
    """The activation function called `name` (a `hidden_act` value)."""
    if name not in ACT2FN:
        raise ValueError(f"hidden_act {name!r} is not supported; use one of {sorted(ACT2FN)}")
    return ACT2FN[name]


class FlaxBertIntermediate(nn.Module):
    """act(dense(x)): the feed-forward expansion [B, T, H] -> [B, T, I]."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.dense = dense(self, self.config.intermediate_size)
        self.activation = get_activation(self.config.hidden_act)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return self.activation(self.dense(hidden_states))


class FlaxBertOutput(nn.Module):
    """LayerNorm(dropout(dense(x)) + attention_output): the feed-forward projection [B, T, I] -> [B, T, H]."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.dense = dense(self, self.config.hidden_size)
        self.LayerNorm = layer_norm(self.config, self.dtype, self.param_dtype)
        self.dropout = nn.Dropout(rate=self.config.hidden_dropout_prob)

    def __call__(
        self, hidden_states: jax.Array, attention_output: jax.Array, deterministic: bool = True
    ) -> jax.Array:
        hidden_states = self.dropout(self.dense(hidden_states), deterministic=deterministic)
        return self.LayerNorm(hidden_states + attention_output)


class FlaxBertLayer(nn.Module):
    """One transformer layer: `attention`, `crossattention` (decoders with add_cross_attention),
    `intermediate`, `output`.

    Returns (hidden states [B, T, H], self-attention probs [B, N, T, T] or None,
    cross-attention probs [B, N, T, S] or None).
    """

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        c = self.config
        kwargs = dict(dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision)
        self.attention = FlaxBertAttention(
            c, causal=c.is_decoder, position_embedding_type=c.position_embedding_type, **kwargs
        )
        if c.add_cross_attention:
            self.crossattention = FlaxBertAttention(
                c, causal=False, position_embedding_type="absolute", **kwargs
            )
        self.intermediate = FlaxBertIntermediate(c, **kwargs)
        self.output = FlaxBertOutput(c, **kwargs)

    def __call__(
        self,
        hidden_states: jax.Array,
        attention_mask: jax.Array | None,
        layer_head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
    ) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
        attention_output, self_probs = self.attention(
            hidden_states,
            attention_mask,
            layer_head_mask=layer_head_mask,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
        )
        cross_probs = None
        if encoder_hidden_states is not None and self.config.add_cross_attention:
            attention_output, cross_probs = self.crossattention(
                attention_output,
                encoder_attention_mask,
                layer_head_mask=layer_head_mask,
                key_value_states=encoder_hidden_states,
                deterministic=deterministic,
                output_attentions=output_attentions,
            )
        hidden_states = self.output(
            self.intermediate(attention_output), attention_output, deterministic=deterministic
        )
        return hidden_states, self_probs, cross_probs


# Positions (self = 0) of init_cache, deterministic, output_attentions in FlaxBertLayer.__call__: static
# under nn.remat, since they change the traced program.
LAYER_STATIC_ARGNUMS = (6, 7, 8)


def layer_class(gradient_checkpointing: bool) -> type[nn.Module]:
    """FlaxBertLayer, wrapped in `nn.remat` when activations are to be recomputed in the backward pass."""
    if gradient_checkpointing:
        return nn.remat(FlaxBertLayer, static_argnums=LAYER_STATIC_ARGNUMS)
    return FlaxBertLayer


class FlaxBertLayerCollection(nn.Module):
    """The L layers as modules named "0" … "L-1" (params `encoder/layer/{i}`), run one after another.

    Returns (last hidden states [B, T, H], all hidden states or None, attentions or None,
    cross-attentions or None); the tuples are ordered by layer, hidden states start with the input.
    """

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None
    gradient_checkpointing: bool = False

    def setup(self) -> None:
        cls = layer_class(self.gradient_checkpointing)
        self.layers = [
            cls(
                self.config,
                dtype=self.dtype,
                param_dtype=self.param_dtype,
                precision=self.precision,
                name=str(i),
            )
            for i in range(self.config.num_hidden_layers)
        ]

    def __call__(
        self,
        hidden_states: jax.Array,
        attention_mask: jax.Array | None,
        head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> tuple[jax.Array, tuple | None, tuple | None, tuple | None]:
        all_hidden = [hidden_states] if output_hidden_states else None
        all_self = [] if output_attentions else None
        all_cross = [] if output_attentions and encoder_hidden_states is not None else None
        for i, layer in enumerate(self.layers):
            hidden_states, self_probs, cross_probs = layer(
                hidden_states,
                attention_mask,
                None if head_mask is None else head_mask[i],
                encoder_hidden_states,
                encoder_attention_mask,
                init_cache,
                deterministic,
                output_attentions,
            )
            if output_hidden_states:
                all_hidden.append(hidden_states)
            if output_attentions:
                all_self.append(self_probs)
                if all_cross is not None:
                    all_cross.append(cross_probs)
        return hidden_states, _tuple(all_hidden), _tuple(all_self), _tuple(all_cross)


def _tuple(values: list | None) -> tuple | None:
    return None if values is None else tuple(values)


class FlaxBertEncoder(nn.Module):
    """The layer stack `layer`, unrolled (`FlaxBertLayerCollection`) or scanned (`scan_layers=True`)."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None
    gradient_checkpointing: bool = False
    scan_layers: bool = False

    def setup(self) -> None:
        kwargs = dict(
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            precision=self.precision,
            gradient_checkpointing=self.gradient_checkpointing,
        )
        if self.scan_layers:
            from bert_flax.scan import FlaxBertScannedLayerCollection

            self.layer = FlaxBertScannedLayerCollection(self.config, **kwargs)
        else:
            self.layer = FlaxBertLayerCollection(self.config, **kwargs)

    def __call__(
        self, *args: Any, **kwargs: Any
    ) -> tuple[jax.Array, tuple | None, tuple | None, tuple | None]:
        """Arguments of `FlaxBertLayerCollection.__call__`."""
        return self.layer(*args, **kwargs)


class FlaxBertPooler(nn.Module):
    """tanh(dense(h[:, 0])): the [CLS] summary, [B, T, H] -> [B, H]."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.dense = dense(self, self.config.hidden_size)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return jnp.tanh(self.dense(hidden_states[:, 0]))
