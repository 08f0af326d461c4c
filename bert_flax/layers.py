"""The transformer layer, the two layer collections, the encoder and the pooler: the encoder stack.

`FlaxBertEncoder.layer` is one of two collections with the same call and results:

- `FlaxBertLayerCollection`: the L layers as modules "0" .. "L-1" (params `encoder/layer/{i}/...`, the
  checkpoint tree), each optionally rematerialized with `nn.remat`;
- `FlaxBertScannedLayerCollection` (`scan_layers=True`): one traced layer body run L times with `nn.scan`
  (fast compiles for deep models). Its parameters live in one subtree `encoder/layer/scanned` whose leaves
  have a leading `[L, ...]` axis; `conversion.flax.scan_layers` / `unscan_layers` convert to and from the
  per-layer tree. The decoding cache is stacked the same way. Numbers equal the unrolled stack up to float
  rounding of the compiled program.

Both return (last hidden states [B, T, H], all hidden states or None, attentions or None,
cross-attentions or None), the tuples ordered by layer, hidden states starting with the input.

Shape legend: B batch, T new positions, K key positions, S encoder length, H hidden size,
I intermediate size, N attention heads (N_l in layer l after pruning), L layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.model_api import layer_head_counts
from bert_flax import masks
from bert_flax.activations import get_activation
from bert_flax.attention import FlaxBertAttention
from bert_flax.initialization import BertModuleBase, dense, layer_norm
from conversion.flax import SCANNED

# What a collection returns: last hidden states, then hidden states, attentions, cross-attentions.
StackOutput = tuple[
    jax.Array, tuple[jax.Array, ...] | None, tuple[jax.Array, ...] | None, tuple[jax.Array, ...] | None
]


class FlaxBertIntermediate(BertModuleBase):
    """act(dense(x)): the feed-forward expansion [B, T, H] -> [B, T, I]."""

    def setup(self) -> None:
        # layers
        self.dense = dense(self, self.config.intermediate_size)
        self.activation = get_activation(self.config.hidden_act)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return self.activation(self.dense(hidden_states))


class FlaxBertOutput(BertModuleBase):
    """LayerNorm(dropout(dense(x)) + attention_output): the feed-forward projection [B, T, I] -> [B, T, H]."""

    def setup(self) -> None:
        # layers
        self.dense = dense(self, self.config.hidden_size)
        self.LayerNorm = layer_norm(self)
        self.dropout = nn.Dropout(rate=self.config.hidden_dropout_prob)

    def __call__(
        self, hidden_states: jax.Array, attention_output: jax.Array, deterministic: bool = True
    ) -> jax.Array:
        hidden_states = self.dropout(self.dense(hidden_states), deterministic=deterministic)
        return self.LayerNorm(hidden_states + attention_output)


class FlaxBertLayer(BertModuleBase):
    """One transformer layer: `attention`, `crossattention` (decoders with add_cross_attention),
    `intermediate`, `output`.

    Returns (hidden states [B, T, H], self-attention probs [B, N_l, T, K] or None,
    cross-attention probs [B, N, T, S] or None). layer_index: the layer's place in the stack, whose
    `config.pruned_heads` entry gives its self-attention N_l heads (None: all N).
    """

    layer_index: int | None = None

    def setup(self) -> None:
        c = self.config
        # layers
        self.attention = FlaxBertAttention(
            **self.fields,
            causal=c.is_decoder,
            position_embedding_type=c.position_embedding_type,
            layer_index=self.layer_index,
        )
        if c.add_cross_attention:
            self.crossattention = FlaxBertAttention(
                **self.fields, causal=False, position_embedding_type="absolute"
            )
        self.intermediate = FlaxBertIntermediate(**self.fields)
        self.output = FlaxBertOutput(**self.fields)

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
        packing: masks.Packing | None = None,
    ) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
        """hidden_states [B, T, H] ([1, M, H] with `packing`, the padding-free layout of
        bert_flax.masks); attention_mask [B, K] or [B, T, K]; layer_head_mask [N];
        encoder_hidden_states [B, S, H] and encoder_attention_mask [B, S] or [B, T, S] (cross-attention)."""
        attention_output, self_probs = self.attention(
            hidden_states,
            attention_mask,
            layer_head_mask=layer_head_mask,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
            packing=packing,
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
                packing=packing,
            )
        hidden_states = self.output(
            self.intermediate(attention_output), attention_output, deterministic=deterministic
        )
        return hidden_states, self_probs, cross_probs


def collect_outputs(
    inputs: jax.Array,
    last: jax.Array,
    per_layer: tuple[Sequence[jax.Array] | None, Sequence[jax.Array] | None, Sequence[jax.Array] | None],
    num_layers: int,
    *,
    output_hidden_states: bool,
    output_attentions: bool,
    cross: bool,
) -> StackOutput:
    """The stack's output from per-layer results (lists, or arrays stacked on a leading [L] axis).

    inputs: [B, T, H] the first layer's input; per_layer: (hidden states, attentions, cross-attentions);
    cross: the layers ran cross-attention.
    """
    hidden, self_probs, cross_probs = per_layer
    layers = range(num_layers)
    all_hidden = (inputs, *(hidden[i] for i in layers)) if output_hidden_states else None
    all_self = tuple(self_probs[i] for i in layers) if output_attentions else None
    all_cross = tuple(cross_probs[i] for i in layers) if output_attentions and cross else None
    return last, all_hidden, all_self, all_cross


# Positions (self = 0) of init_cache, deterministic, output_attentions in FlaxBertLayer.__call__: static
# under nn.remat, since they change the traced program.
LAYER_STATIC_ARGNUMS = (6, 7, 8)


class FlaxBertLayerCollection(BertModuleBase):
    """The L layers as modules named "0" … "L-1" (params `encoder/layer/{i}`), run one after another."""

    gradient_checkpointing: bool = False

    def setup(self) -> None:
        layer = FlaxBertLayer
        if self.gradient_checkpointing:
            layer = nn.remat(FlaxBertLayer, static_argnums=LAYER_STATIC_ARGNUMS)
        # layers
        self.layers = [
            layer(**self.fields, layer_index=i, name=str(i)) for i in range(self.config.num_hidden_layers)
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
        packing: masks.Packing | None = None,
    ) -> StackOutput:
        """head_mask: [L, N] or None; the other arguments as in FlaxBertLayer.__call__."""
        inputs = hidden_states
        hidden, self_probs, cross_probs = [], [], []
        for i, layer in enumerate(self.layers):
            hidden_states, layer_self, layer_cross = layer(
                hidden_states,
                attention_mask,
                None if head_mask is None else head_mask[i],
                encoder_hidden_states,
                encoder_attention_mask,
                init_cache,
                deterministic,
                output_attentions,
                packing,
            )
            hidden.append(hidden_states)
            self_probs.append(layer_self)
            cross_probs.append(layer_cross)
        return collect_outputs(
            inputs,
            hidden_states,
            (hidden, self_probs, cross_probs),
            len(self.layers),
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            cross=encoder_hidden_states is not None and self.config.add_cross_attention,
        )


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
        packing: masks.Packing | None = None,
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
            packing,
        )
        return hidden_states, (hidden_states if output_hidden_states else None, self_probs, cross_probs)


# Positions (self = 0) of init_cache, deterministic, output_attentions, output_hidden_states in
# FlaxBertScanStep.__call__, static under nn.remat.
SCAN_STEP_STATIC_ARGNUMS = (6, 7, 8, 9)


class FlaxBertScannedLayerCollection(BertModuleBase):
    """The L layers as one scanned module "scanned" (`conversion.flax.SCANNED`)."""

    gradient_checkpointing: bool = False

    def setup(self) -> None:
        config = self.config
        counts = layer_head_counts(config.num_hidden_layers, config.num_attention_heads, config.pruned_heads)
        if len(set(counts)) > 1:
            raise ValueError(
                f"scan_layers=True runs one layer shape L times, but config.pruned_heads leaves the layers "
                f"{counts} heads; build the model with scan_layers=False"
            )
        step = FlaxBertScanStep
        if self.gradient_checkpointing:
            step = nn.remat(step, static_argnums=SCAN_STEP_STATIC_ARGNUMS, prevent_cse=False)
        scanned = nn.scan(
            step,
            variable_axes={"params": 0, "cache": 0},
            split_rngs={"params": True, "dropout": True},
            in_axes=(0, *(nn.broadcast,) * 8),
            length=self.config.num_hidden_layers,
        )
        # layers
        self.scanned = scanned(**self.fields, layer_index=0, name=SCANNED)  # every layer has N_0 heads

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
        packing: masks.Packing | None = None,
    ) -> StackOutput:
        """As FlaxBertLayerCollection.__call__; per-layer outputs come back stacked and are split."""
        last, per_layer = self.scanned(
            hidden_states,
            head_mask,
            attention_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache,
            deterministic,
            output_attentions,
            output_hidden_states,
            packing,
        )
        return collect_outputs(
            hidden_states,
            last,
            per_layer,
            self.config.num_hidden_layers,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            cross=encoder_hidden_states is not None and per_layer[2] is not None,
        )


class FlaxBertEncoder(BertModuleBase):
    """The layer stack `layer`, unrolled (`FlaxBertLayerCollection`) or scanned (`scan_layers=True`)."""

    gradient_checkpointing: bool = False
    scan_layers: bool = False

    def setup(self) -> None:
        collection = FlaxBertScannedLayerCollection if self.scan_layers else FlaxBertLayerCollection
        # layers
        self.layer = collection(**self.fields, gradient_checkpointing=self.gradient_checkpointing)

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
        packing: masks.Packing | None = None,
    ) -> StackOutput:
        """hidden_states: [B, T, H] the embeddings output ([1, M, H] with `packing`, the padding-free
        layout of bert_flax.masks; then every returned hidden state is [1, M, H] too). attention_mask: 0/1 [B, K] or [B, T, K].
        head_mask: [L, N] multipliers or None. encoder_hidden_states [B, S, H], encoder_attention_mask
        [B, S] or [B, T, S]: cross-attention inputs. init_cache: create the decoding cache.
        deterministic: no dropout. Returns (last [B, T, H], hidden states (L + 1) x [B, T, H] or None,
        attentions L x [B, N, T, K] or None, cross-attentions L x [B, N, T, S] or None)."""
        return self.layer(
            hidden_states,
            attention_mask,
            head_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            packing=packing,
        )


class FlaxBertPooler(BertModuleBase):
    """tanh(dense(h[:, 0])): the [CLS] summary, [B, T, H] -> [B, H]."""

    def setup(self) -> None:
        # layers
        self.dense = dense(self, self.config.hidden_size)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return jnp.tanh(self.dense(hidden_states[:, 0]))
