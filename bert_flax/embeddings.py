"""FlaxBertEmbeddings: word + token-type (+ absolute position) embeddings, LayerNorm and dropout.

Shape legend: B = batch, T = sequence length, H = hidden size, V = vocabulary.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.config import BertConfig


def normal_init(config: BertConfig) -> nn.initializers.Initializer:
    """The truncation-free normal(0, initializer_range) init that BERT uses for every weight matrix."""
    return nn.initializers.normal(stddev=config.initializer_range)


def word_embedding_init(config: BertConfig) -> nn.initializers.Initializer:
    """normal(0, initializer_range) with the row of `pad_token_id` zeroed, as PyTorch's padding_idx does."""
    base = normal_init(config)

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        table = base(key, shape, dtype)
        if config.pad_token_id is not None:
            table = table.at[config.pad_token_id].set(0)
        return table

    return init


def dense(module: nn.Module, features: int, use_bias: bool = True) -> nn.Dense:
    """The Dense layer every BERT block uses, with the module's config init, dtypes and precision."""
    return nn.Dense(
        features,
        use_bias=use_bias,
        kernel_init=normal_init(module.config),
        dtype=module.dtype,
        param_dtype=module.param_dtype,
        precision=module.precision,
    )


def layer_norm(config: BertConfig, dtype: Any, param_dtype: Any) -> nn.LayerNorm:
    """LayerNorm with the config's eps and the two-pass variance E[(x - mean)^2] of the other twins."""
    return nn.LayerNorm(
        epsilon=config.layer_norm_eps, use_fast_variance=False, dtype=dtype, param_dtype=param_dtype
    )


class FlaxBertEmbeddings(nn.Module):
    """Token representations entering the encoder: [B, T] ids -> [B, T, H].

    embeddings = LayerNorm(word[input_ids] + token_type[token_type_ids] + position[position_ids]);
    the position table is added only for `position_embedding_type="absolute"`, but it always exists so
    that checkpoints of relative-position models (which carry it) load without unexpected keys.
    """

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def setup(self) -> None:
        c = self.config
        # layers
        self.word_embeddings = nn.Embed(
            c.vocab_size,
            c.hidden_size,
            embedding_init=word_embedding_init(c),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
        )
        self.position_embeddings = nn.Embed(
            c.max_position_embeddings,
            c.hidden_size,
            embedding_init=normal_init(c),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
        )
        self.token_type_embeddings = nn.Embed(
            c.type_vocab_size,
            c.hidden_size,
            embedding_init=normal_init(c),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
        )
        self.LayerNorm = layer_norm(c, self.dtype, self.param_dtype)
        self.dropout = nn.Dropout(rate=c.hidden_dropout_prob)

    def __call__(
        self,
        input_ids: jax.Array | None,
        token_type_ids: jax.Array,
        position_ids: jax.Array,
        inputs_embeds: jax.Array | None = None,
        deterministic: bool = True,
    ) -> jax.Array:
        """input_ids: [B, T] token ids (or None with inputs_embeds [B, T, H]); token_type_ids and
        position_ids: [B, T]. Returns the embeddings output [B, T, H]."""
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # [B, T, H]
        embeddings = inputs_embeds.astype(self.dtype) + self.token_type_embeddings(token_type_ids)
        positions = self.position_embeddings(position_ids)  # [B, T, H]; computed always, see the class doc
        if self.config.position_embedding_type == "absolute":
            embeddings = embeddings + positions
        embeddings = self.LayerNorm(embeddings)
        return self.dropout(embeddings, deterministic=deterministic)
