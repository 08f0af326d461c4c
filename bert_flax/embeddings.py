"""FlaxBertEmbeddings: word + token-type (+ absolute position) embeddings, LayerNorm and dropout.

Shape legend: B batch, T new positions, H hidden size, V vocabulary size.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from bert_flax.initialization import BertModuleBase, embed, layer_norm, word_embedding_init


class FlaxBertEmbeddings(BertModuleBase):
    """Token representations entering the encoder: [B, T] ids -> [B, T, H].

    embeddings = LayerNorm(word[input_ids] + token_type[token_type_ids] + position[position_ids]);
    the position table is added only for `position_embedding_type="absolute"`, but it always exists so
    that checkpoints of relative-position models (which carry it) load without unexpected keys.
    """

    def setup(self) -> None:
        c = self.config
        # layers
        self.word_embeddings = embed(self, c.vocab_size, c.hidden_size, word_embedding_init(c))
        self.position_embeddings = embed(self, c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = embed(self, c.type_vocab_size, c.hidden_size)
        self.LayerNorm = layer_norm(self)
        self.dropout = nn.Dropout(rate=c.hidden_dropout_prob)

    def __call__(
        self,
        input_ids: jax.Array | None,
        token_type_ids: jax.Array,
        position_ids: jax.Array,
        inputs_embeds: jax.Array | None = None,
        deterministic: bool = True,
    ) -> jax.Array:
        """input_ids: [B, T] int token ids (or None with inputs_embeds [B, T, H] floats); token_type_ids and
        position_ids: [B, T] ints. deterministic: no dropout. Returns the embeddings output [B, T, H]."""
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # [B, T, H]
        embeddings = inputs_embeds.astype(self.dtype) + self.token_type_embeddings(token_type_ids)
        positions = self.position_embeddings(position_ids)  # [B, T, H]; computed always, see the class doc
        if self.config.position_embedding_type == "absolute":
            embeddings = embeddings + positions
        embeddings = self.LayerNorm(embeddings)
        return self.dropout(embeddings, deterministic=deterministic)
