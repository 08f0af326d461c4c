"""FlaxBertModule (the base network: `embeddings`, `encoder`, `pooler`) and its wrapper FlaxBertModel.

Raw-module use:

    module = FlaxBertModule(config)
    variables = module.init(jax.random.key(0), input_ids)
    out = module.apply(variables, input_ids, attention_mask)   # BaseModelOutputWithPoolingAndCrossAttentions

Shape legend: B = batch, T = sequence length, M = cache length, S = encoder length, H = hidden size,
N = heads, L = layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

import bert_flax.outputs  # noqa: F401  (registers the output classes as pytrees)
from bert_common.config import BertConfig
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions
from bert_flax.embeddings import FlaxBertEmbeddings
from bert_flax.layers import FlaxBertEncoder, FlaxBertPooler
from bert_flax.pretrained import FlaxBertPreTrainedModel
from conversion.flax import flatten_tree


def cache_offset(cache: Mapping[str, Any] | None) -> jax.Array | int:
    """Number of positions a decoding cache already holds (its `cache_index`); 0 without a cache."""
    if not cache:
        return 0
    for path, leaf in flatten_tree(cache).items():
        if path.endswith("cache_index"):
            return jnp.reshape(leaf, (-1,))[0]  # scanned caches stack one index per layer
    return 0


def full_head_mask(head_mask: jax.Array | None, config: BertConfig) -> jax.Array | None:
    """[N] (same for every layer) or [L, N] head mask -> [L, N]; None stays None."""
    if head_mask is None:
        return None
    if head_mask.shape == (config.num_attention_heads,):
        return jnp.broadcast_to(head_mask, (config.num_hidden_layers, config.num_attention_heads))
    if head_mask.shape != (config.num_hidden_layers, config.num_attention_heads):
        raise ValueError(
            f"head_mask must have shape [num_heads] or [num_layers, num_heads]="
            f"{(config.num_hidden_layers, config.num_attention_heads)}, got {tuple(head_mask.shape)}"
        )
    return head_mask


class FlaxBertModule(nn.Module):
    """The BERT network: embeddings, the encoder stack and (optionally) the pooler.

    dtype: computation dtype (e.g. jnp.bfloat16); param_dtype: dtype of the parameters.
    precision: matmul precision (None = JAX's default, see jax.default_matmul_precision).
    gradient_checkpointing: rematerialize each layer's activations in the backward pass (nn.remat).
    scan_layers: run the layers with nn.scan (params `encoder/layer/scanned/…` with a leading layer axis).
    """

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None
    add_pooling_layer: bool = True
    gradient_checkpointing: bool = False
    scan_layers: bool = False

    def setup(self) -> None:
        kwargs = dict(dtype=self.dtype, param_dtype=self.param_dtype)
        self.embeddings = FlaxBertEmbeddings(self.config, **kwargs)
        self.encoder = FlaxBertEncoder(
            self.config,
            precision=self.precision,
            gradient_checkpointing=self.gradient_checkpointing,
            scan_layers=self.scan_layers,
            **kwargs,
        )
        if self.add_pooling_layer:
            self.pooler = FlaxBertPooler(self.config, precision=self.precision, **kwargs)

    def __call__(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """input_ids: [B, T] token ids (or inputs_embeds [B, T, H]).
        attention_mask: [B, T] 1 = token, 0 = padding ([B, M] over the whole cache when decoding with one).
        token_type_ids: [B, T] segment ids (default 0). position_ids: [B, T] (default: positions after
        those already in the cache). head_mask: [N] or [L, N] multipliers of attention heads.
        encoder_hidden_states: [B, S, H] and encoder_attention_mask [B, S] for cross-attention.
        """
        batch, length = (input_ids if input_ids is not None else inputs_embeds).shape[:2]
        if token_type_ids is None:
            token_type_ids = jnp.zeros((batch, length), dtype=jnp.int32)
        if position_ids is None:
            start = cache_offset(self.variables.get("cache"))
            position_ids = jnp.broadcast_to(start + jnp.arange(length, dtype=jnp.int32), (batch, length))
        hidden_states = self.embeddings(
            input_ids, token_type_ids, position_ids, inputs_embeds=inputs_embeds, deterministic=deterministic
        )  # [B, T, H]
        last, all_hidden, all_self, all_cross = self.encoder(
            hidden_states,
            attention_mask,
            full_head_mask(head_mask, self.config),
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        pooled = self.pooler(last) if self.add_pooling_layer else None  # [B, H]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=last,
            pooler_output=pooled,
            hidden_states=all_hidden,
            attentions=all_self,
            cross_attentions=all_cross,
        )


class FlaxBertModel(FlaxBertPreTrainedModel):
    """The bare BERT model: last hidden states [B, T, H] and the pooled [CLS] output [B, H].

    `FlaxBertModel(config, add_pooling_layer=False)` drops the pooler (pooler_output is then None).
    Call it like Transformers' FlaxBertModel; see FlaxBertPreTrainedModel.__call__.
    """

    module_class: ClassVar[type[nn.Module]] = FlaxBertModule
    head_name: ClassVar[str] = "BertModel"
