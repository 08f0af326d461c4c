"""BertEmbeddings: word + token-type (+ absolute position) embeddings, LayerNorm, dropout.

Shape legend: B batch, T new positions in this call, P positions already in the cache, H hidden size,
V vocabulary size.
"""

from __future__ import annotations

import torch
from torch import nn

from bert_common.config import BertConfig


class BertEmbeddings(nn.Module):
    """The input layer of BERT.

    Parameters (Transformers names): `word_embeddings` [V, H], `position_embeddings` [max_positions, H],
    `token_type_embeddings` [type_vocab, H], `LayerNorm`. The position table exists for every
    `position_embedding_type` (checkpoints carry it) but is only added for "absolute"; relative types
    encode positions inside the attention.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        # layers
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # config
        self.position_embedding_type = config.position_embedding_type
        # Not a weight: never saved (old checkpoints that carry it are handled by the loader).
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        past_key_values_length: int = 0,
    ) -> torch.Tensor:
        """Embed a batch. Returns [B, T, H], the input of the first encoder layer.

        input_ids: [B, T] token ids, or inputs_embeds: [B, T, H] ready word vectors (exactly one).
        token_type_ids: [B, T] segment ids (0 = sentence A, 1 = sentence B); zeros when None.
        position_ids: [B, T] or [1, T]; P, P+1, ..., P+T-1 when None (P = past_key_values_length).
        """
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # [B, T, H]
        batch, length = inputs_embeds.shape[:2]
        if token_type_ids is None:
            token_type_ids = torch.zeros((batch, length), dtype=torch.long, device=inputs_embeds.device)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)  # [B, T, H]
        if self.position_embedding_type == "absolute":
            if position_ids is None:
                position_ids = self.position_ids[:, past_key_values_length : past_key_values_length + length]
            embeddings = embeddings + self.position_embeddings(position_ids)
        embeddings = self.LayerNorm(embeddings)
        return self.dropout(embeddings)
