"""The fields every linen module of bert_flax shares, BERT's initializers, and the layer builders.

`BertModuleBase` holds `config`, `dtype`, `param_dtype` and `precision` once (the idea of the flax
examples' `TransformerConfig`, "to minimize kwarg plumbing"); every module inherits it, passes
`**self.fields` to its children, and builds its Dense / LayerNorm / Embed layers with `dense`,
`layer_norm` and `embed`, which read those fields. Fields do not change parameter paths: those are the
attribute names given in `setup()`.

Initialization follows Transformers' Flax BERT: weight matrices and embedding tables are drawn from
normal(0, initializer_range) (no truncation; the Keras twin uses Transformers' TF truncated normal), biases
start at 0, LayerNorm at scale 1 and bias 0, and the word-embedding row of `pad_token_id` at 0, as
PyTorch's `padding_idx` does.

The wrapper's parameter trees are drawn, completed and checked here too (`random_params`, `fill_params`,
`check_params`), from the dummy inputs that reach every parameter (`dummy_inputs`).

Shape legend: B batch, T new positions, S encoder length, V vocabulary size, H hidden size,
E embedding/feature width (any table's row width).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import traverse_util
from flax.typing import Dtype, Initializer, PrecisionLike

from bert_common.config import BertConfig


class BertModuleBase(nn.Module):
    """The four fields of every bert_flax module.

    config: the BertConfig. dtype: the computation dtype (e.g. jnp.bfloat16). param_dtype: the dtype the
    parameters are stored in. precision: matmul precision (None follows jax.default_matmul_precision).
    """

    config: BertConfig
    dtype: Dtype = jnp.float32
    param_dtype: Dtype = jnp.float32
    precision: PrecisionLike = None

    @property
    def fields(self) -> dict[str, Any]:
        """The four shared fields as keyword arguments for a child module."""
        return dict(
            config=self.config, dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision
        )


def normal_init(config: BertConfig) -> Initializer:
    """normal(0, initializer_range), for every weight matrix and embedding table."""
    return nn.initializers.normal(stddev=config.initializer_range)


def word_embedding_init(config: BertConfig) -> Initializer:
    """normal(0, initializer_range) with the row of `pad_token_id` zeroed. Returns [V, H] tables."""
    base = normal_init(config)

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Dtype = jnp.float32) -> jax.Array:
        table = base(key, shape, dtype)
        if config.pad_token_id is not None:
            table = table.at[config.pad_token_id].set(0)
        return table

    return init


def dense(module: BertModuleBase, features: int, use_bias: bool = True) -> nn.Dense:
    """The Dense layer of every BERT block (kernel [in, features]), with the module's init, dtypes and
    precision."""
    return nn.Dense(
        features,
        use_bias=use_bias,
        kernel_init=normal_init(module.config),
        dtype=module.dtype,
        param_dtype=module.param_dtype,
        precision=module.precision,
    )


def layer_norm(module: BertModuleBase) -> nn.LayerNorm:
    """LayerNorm with the config's eps and the two-pass variance E[(x - mean)^2] of the other twins."""
    return nn.LayerNorm(
        epsilon=module.config.layer_norm_eps,
        use_fast_variance=False,
        dtype=module.dtype,
        param_dtype=module.param_dtype,
    )


def embed(
    module: BertModuleBase, num_embeddings: int, features: int, init: Initializer | None = None
) -> nn.Embed:
    """An embedding table [num_embeddings, E] (E = features), normal(0, initializer_range) unless `init`."""
    return nn.Embed(
        num_embeddings,
        features,
        embedding_init=normal_init(module.config) if init is None else init,
        dtype=module.dtype,
        param_dtype=module.param_dtype,
    )


def random_params(module: nn.Module, rng: jax.Array, inputs: Mapping[str, jax.Array]) -> dict[str, Any]:
    """Freshly drawn parameters of `module` for the dummy `inputs` (which must reach every parameter).

    `lazy_init` traces the forward pass abstractly and computes only the initializers, never the network.
    It runs eagerly on purpose: the initializer primitives compile once per process and serve every model,
    where a jitted init would compile the whole (PRNG-heavy) program again for each new config.
    """
    params_rng, dropout_rng = jax.random.split(rng)
    abstract = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in inputs.items()}
    variables = module.lazy_init({"params": params_rng, "dropout": dropout_rng}, **abstract)
    return dict(variables["params"])


def fill_params(random: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` completed with the entries of `random` it lacks (both nested dicts of the same model).

    Raises:
        ValueError: `params` holds paths that `random` does not have.
    """
    flat_random = traverse_util.flatten_dict(dict(random), sep="/")
    flat = traverse_util.flatten_dict(dict(params), sep="/")
    unknown = sorted(set(flat) - set(flat_random))
    if unknown:
        raise ValueError(f"params hold entries the model does not have: {unknown}")
    merged = {path: flat.get(path, value) for path, value in flat_random.items()}
    return traverse_util.unflatten_dict(merged, sep="/")


def check_params(want: Mapping[str, Any], params: object, owner: str) -> dict[str, Any]:
    """`params` as a dict after checking its paths and shapes against the tree `want` (arrays or
    ShapeDtypeStructs); owner names the model in the message.

    Raises:
        TypeError: not a mapping. ValueError: missing, unexpected or misshapen entries.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a nested dict of arrays, got {type(params).__name__}")
    want_flat = traverse_util.flatten_dict(dict(want), sep="/")
    got = traverse_util.flatten_dict(dict(params), sep="/")
    missing, unknown = sorted(set(want_flat) - set(got)), sorted(set(got) - set(want_flat))
    bad = [
        f"{p}: {tuple(got[p].shape)} vs {tuple(want_flat[p].shape)}"
        for p in want_flat
        if p in got and tuple(got[p].shape) != tuple(want_flat[p].shape)
    ]
    if missing or unknown or bad:
        raise ValueError(
            f"params do not fit {owner}: missing {missing}, unexpected {unknown}, wrong shapes {bad}"
        )
    return dict(params)


def dummy_inputs(
    input_shape: tuple[int, ...], encoder_width: int | None = None, dtype: Dtype = jnp.float32
) -> dict[str, jax.Array]:
    """Inputs that reach every parameter: ids and mask of `input_shape` ([B, T], or [B, C, T]), and with
    `encoder_width` (H, for cross-attention) encoder states [B, 1, H] in `dtype` and their mask [B, 1]."""
    inputs = dict(
        input_ids=jnp.zeros(input_shape, dtype=jnp.int32),
        attention_mask=jnp.ones(input_shape, dtype=jnp.int32),
    )
    if encoder_width is not None:
        inputs["encoder_hidden_states"] = jnp.zeros((input_shape[0], 1, encoder_width), dtype)
        inputs["encoder_attention_mask"] = jnp.ones((input_shape[0], 1), dtype=jnp.int32)
    return inputs
