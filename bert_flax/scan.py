"""Scanning over layers: one traced layer body run L times with `nn.scan` (fast compiles for deep models).

The L layers' parameters live in one subtree `encoder/layer/scanned` whose leaves have a leading `[L, ...]`
axis; `conversion.flax.scan_layers` / `unscan_layers` convert to and from the per-layer tree
`encoder/layer/{i}` that checkpoints use. The decoding cache is stacked the same way. Numbers equal the
unrolled stack up to float rounding of the compiled program.

Shape legend: B = batch, T = sequence length, H = hidden size, N = heads, L = layers.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.config import BertConfig
from bert_flax.layers import FlaxBertLayer

SCANNED = "scanned"  # the name of the scanned module, as in conversion.flax.SCANNED


class FlaxBertScanStep(FlaxBertLayer):
    """FlaxBertLayer with the (carry, per-layer input) -> (carry, per-layer output) signature of nn.scan.

    carry: hidden states [B, T, H]; per-layer input: this layer's head mask [N] (or None);
    per-layer output: (hidden states or None, self-attention probs or None, cross-attention probs or None).
    """

    def __call__(  # type: ignore[override]
        self,
        hidden_states: jax.Array,
        layer_head_mask: jax.Array | None,
        attention_mask: jax.Array | None,
        encoder_hidden_states: jax.Array | None,
        encoder_attention_mask: jax.Array | None,
        init_cache: bool,
        deterministic: bool,
        output_attentions: bool,
        output_hidden_states: bool,
    ) -> tuple[jax.Array, tuple[jax.Array | None, jax.Array | None, jax.Array | None]]:
        hidden_states, self_probs, cross_probs = super().__call__(
            hidden_states,
            attention_mask,
            layer_head_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache,
            deterministic,
            output_attentions,
        )
        return hidden_states, (hidden_states if output_hidden_states else None, self_probs, cross_probs)


# Positions (self = 0) of init_cache, deterministic, output_attentions, output_hidden_states in
# FlaxBertScanStep.__call__, static under nn.remat.
SCAN_STEP_STATIC_ARGNUMS = (6, 7, 8, 9)


class FlaxBertScannedLayerCollection(nn.Module):
    """The L layers as one scanned module "scanned"; same call and results as FlaxBertLayerCollection."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None
    gradient_checkpointing: bool = False

    def setup(self) -> None:
        step = FlaxBertScanStep
        if self.gradient_checkpointing:
            step = nn.remat(step, static_argnums=SCAN_STEP_STATIC_ARGNUMS, prevent_cse=False)
        scanned = nn.scan(
            step,
            variable_axes={"params": 0, "cache": 0},
            split_rngs={"params": True, "dropout": True},
            in_axes=(0, *(nn.broadcast,) * 7),
            length=self.config.num_hidden_layers,
        )
        self.scanned = scanned(
            self.config, dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision
        )

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
        """head_mask: [L, N] or None. Per-layer outputs come back stacked and are split into tuples."""
        last, (hidden, self_probs, cross_probs) = self.scanned(
            hidden_states,
            head_mask,
            attention_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache,
            deterministic,
            output_attentions,
            output_hidden_states,
        )
        num_layers = self.config.num_hidden_layers
        all_hidden = (
            (hidden_states, *(hidden[i] for i in range(num_layers))) if output_hidden_states else None
        )
        all_self = tuple(self_probs[i] for i in range(num_layers)) if output_attentions else None
        all_cross = (
            tuple(cross_probs[i] for i in range(num_layers))
            if output_attentions and encoder_hidden_states is not None and cross_probs is not None
            else None
        )
        return last, all_hidden, all_self, all_cross
