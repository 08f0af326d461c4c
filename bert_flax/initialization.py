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
`check_params`), from the dummy inputs that reach every parameter (`dummy_inputs`), and edited by
`FlaxModelApiMixin` (Transformers' model API on the tree: `to_bf16` / `to_fp16` / `to_fp32`,
`num_parameters`, `get/set_input_embeddings`, `get/set_output_embeddings`, `resize_token_embeddings`,
on the shared rules of `bert_common.model_api`).

Shape legend: B batch, T new positions, S encoder length, V vocabulary size, H hidden size,
E embedding/feature width (any table's row width).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util
from flax.typing import Dtype, Initializer, PrecisionLike

from bert_common.config import BertConfig
from bert_common.model_api import (
    MAIN_INPUT_NAME,
    can_generate,
    count_parameters,
    resized_rows,
    resized_vocab_size,
)


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


def cast_floating(params: Mapping[str, Any], dtype: Dtype, mask: Any = None) -> dict[str, Any]:
    """`params` with its floating-point arrays cast to `dtype` (Transformers' Flax `_cast_floating_to`):
    all of them, or with `mask` (a tree of bools of the same structure) those where it is True.

    Raises:
        ValueError: a mask whose structure differs from params.
    """

    def cast(param: Any, masked: bool = True) -> Any:
        if masked and hasattr(param, "dtype") and jnp.issubdtype(param.dtype, jnp.floating):
            return jnp.asarray(param).astype(dtype)
        return param

    if mask is None:
        return jax.tree_util.tree_map(cast, dict(params))
    try:
        return jax.tree_util.tree_map(cast, dict(params), mask)
    except ValueError as error:
        raise ValueError(f"mask must have the structure of params: {error}") from None


class FlaxModelApiMixin:
    """Transformers' model API on a FlaxBert wrapper's parameter tree (mixed into FlaxBertPreTrainedModel):
    `to_bf16` / `to_fp16` / `to_fp32`, `num_parameters`, `resize_token_embeddings`, `can_generate`,
    `main_input_name`. The rules are bert_common.model_api's, shared with the other twins."""

    main_input_name: ClassVar[str] = MAIN_INPUT_NAME
    head_name: ClassVar[str]

    @classmethod
    def can_generate(cls) -> bool:
        """True for the class with a `generate` method (FlaxBertForCausalLM)."""
        return can_generate(cls.head_name)

    def to_bf16(self, params: Mapping[str, Any], mask: Any = None) -> dict[str, Any]:
        """A copy of `params` with floating arrays in bfloat16 (those where `mask` is True, when given)."""
        return cast_floating(params, jnp.bfloat16, mask)

    def to_fp16(self, params: Mapping[str, Any], mask: Any = None) -> dict[str, Any]:
        """A copy of `params` with floating arrays in float16 (those where `mask` is True, when given)."""
        return cast_floating(params, jnp.float16, mask)

    def to_fp32(self, params: Mapping[str, Any], mask: Any = None) -> dict[str, Any]:
        """A copy of `params` with floating arrays in float32 (those where `mask` is True, when given)."""
        return cast_floating(params, jnp.float32, mask)

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of parameters (read off `params_shape_tree`, so also with _do_init=False; a tied
        decoder is the word-embedding matrix, counted once). exclude_embeddings leaves out the word,
        position and token-type tables. only_trainable changes nothing: every Flax parameter is
        trainable (freezing is the optimizer's business), so both give bert_pt's full count."""
        flat = traverse_util.flatten_dict(dict(self.params_shape_tree))  # type: ignore[attr-defined]
        return count_parameters(
            ((int(np.prod(v.shape)), True, path[-1] == "embedding") for path, v in flat.items()),
            only_trainable,
            exclude_embeddings,
        )

    def get_input_embeddings(self) -> jax.Array:
        """The word-embedding matrix [V, H] of `params`."""
        params = self.params  # type: ignore[attr-defined]
        return params.get("bert", params)["embeddings"]["word_embeddings"]["embedding"]

    def set_input_embeddings(self, value: Any) -> None:
        """Use `value` [V, H] as the word embeddings (and the tied decoder); a new V pads / cuts the
        decoder bias (zeros for new rows), sets config.vocab_size and rebuilds the module.

        Raises:
            ValueError: not a 2-D matrix of width hidden_size.
        """
        self._set_vocab(_matrix(value, self.config.hidden_size, "set_input_embeddings"), None)  # type: ignore[attr-defined]

    def get_output_embeddings(self) -> jax.Array | None:
        """The [V, H] matrix that scores the vocabulary (the word embeddings when tied, the decoder kernel
        transposed when untied, as bert_pt's decoder weight); None for heads without one."""
        predictions = self.params.get("cls", {}).get("predictions")  # type: ignore[attr-defined]
        if predictions is None:
            return None
        if "decoder" in predictions:
            return predictions["decoder"]["kernel"].T
        return self.get_input_embeddings()

    def set_output_embeddings(self, new_embeddings: Any) -> None:
        """Use `value` [V, H] as the vocabulary scorer: the word embeddings when tied, the decoder kernel
        (stored [H, V]) when untied.

        Raises:
            TypeError: a head without a language-model decoder. ValueError: not [V, H] of width
                hidden_size, or (untied) V other than config.vocab_size.
        """
        config = self.config  # type: ignore[attr-defined]
        predictions = self.params.get("cls", {}).get("predictions")  # type: ignore[attr-defined]
        if predictions is None:
            raise TypeError(f"{type(self).__name__} has no output embeddings")
        value = _matrix(new_embeddings, config.hidden_size, "set_output_embeddings")
        if "decoder" not in predictions:
            self._set_vocab(value, None)
        elif value.shape[0] != config.vocab_size:
            raise ValueError(
                f"set_output_embeddings: {value.shape[0]} rows != vocab_size {config.vocab_size} "
                "(resize_token_embeddings changes the vocabulary)"
            )
        else:
            self._set_vocab(np.asarray(self.get_input_embeddings()), value.T)

    def resize_token_embeddings(
        self,
        new_num_tokens: int | None = None,
        pad_to_multiple_of: int | None = None,
        mean_resizing: bool = True,
    ) -> jax.Array:
        """Give the model a vocabulary of `new_num_tokens` rows (rounded up to a multiple of
        `pad_to_multiple_of`), as bert_pt does: old rows kept, new rows at the mean of the old
        embeddings (mean_resizing=True) or drawn from N(0, initializer_range), the tied decoder follows, an untied decoder kernel [H, V] is
        resized the same way, the decoder bias padded with zeros; sets config.vocab_size, rebuilds the
        module and `params`. Returns the new word-embedding matrix [V, H].

        Raises:
            ValueError: new_num_tokens or pad_to_multiple_of that is not a positive int; a model built
                with _do_init=False and no params set.
        """
        rows = resized_vocab_size(self.config.vocab_size, new_num_tokens, pad_to_multiple_of)  # type: ignore[attr-defined]
        std = self.config.initializer_range  # type: ignore[attr-defined]
        table = resized_rows(np.asarray(self.get_input_embeddings()), rows, mean_resizing, std)
        decoder = self.params.get("cls", {}).get("predictions", {}).get("decoder")  # type: ignore[attr-defined]
        kernel = (
            None
            if decoder is None
            else resized_rows(np.asarray(decoder["kernel"]).T, rows, mean_resizing, std).T
        )
        self._set_vocab(table, kernel)
        return self.get_input_embeddings()

    def _set_vocab(self, table: np.ndarray, kernel: np.ndarray | None) -> None:
        """Write the word embeddings [V, H] (and an untied decoder kernel [H, V]); a new V pads / cuts
        the decoder bias, sets config.vocab_size and rebuilds the module and its shape tree."""
        config = self.config  # type: ignore[attr-defined]
        rows = table.shape[0]
        params = traverse_util.flatten_dict(dict(self.params))  # type: ignore[attr-defined]
        for path, value in list(params.items()):
            if path[-2:] == ("word_embeddings", "embedding"):
                params[path] = jnp.asarray(table, dtype=value.dtype)
            elif path[-2:] == ("predictions", "bias"):
                params[path] = jnp.asarray(resized_rows(np.asarray(value), rows))
            elif path[-3:] == ("predictions", "decoder", "kernel") and kernel is not None:
                params[path] = jnp.asarray(kernel, dtype=value.dtype)
        if rows != config.vocab_size:
            config.vocab_size = rows
            self._build_module()  # type: ignore[attr-defined]
            self.params_shape_tree = jax.eval_shape(
                lambda key: self._random_params(key, self.input_shape),  # type: ignore[attr-defined]
                self.key,  # type: ignore[attr-defined]
            )
        self.params = traverse_util.unflatten_dict(params)


def _matrix(value: Any, width: int, caller: str) -> np.ndarray:
    """`value` as a [V, H] numpy array.

    Raises:
        ValueError: not 2-D with `width` columns.
    """
    array = np.asarray(value)
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{caller} expects a [V, {width}] matrix, got shape {tuple(array.shape)}")
    return array
