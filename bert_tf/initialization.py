"""Weight initializers and the Dense / LayerNorm builders of every bert_tf layer.

Transformers' TF BERT draws every kernel and embedding table from TruncatedNormal(stddev =
`config.initializer_range`) and starts biases at 0 and LayerNorm at (gamma 1, beta 0); the builders here
are the one place that says so for the Keras twin. (The PyTorch twin draws from an untruncated
normal, as Transformers' PyTorch BERT does: each twin matches Transformers in its own framework, and
loaded weights replace the draws anyway.)

Shape legend: H hidden size; a Dense kernel is [in, out] (Keras' layout, the transpose of canonical).
"""

from __future__ import annotations

import keras

from bert_common.config import BertConfig


def weight_initializer(initializer_range: float) -> keras.initializers.Initializer:
    """The initializer of kernels and embedding tables: TruncatedNormal(stddev=initializer_range)."""
    return keras.initializers.TruncatedNormal(stddev=initializer_range)


def dense(
    config: BertConfig, units: int, name: str, dtype: keras.DTypePolicy | str | None, use_bias: bool = True
) -> keras.layers.Dense:
    """A Dense layer `name` with `units` outputs: kernel [in, units] ~ weight_initializer, bias [units] 0.

    dtype: the Keras dtype policy of the owning layer (variables float32, compute dtype per policy).
    """
    return keras.layers.Dense(
        units,
        use_bias=use_bias,
        kernel_initializer=weight_initializer(config.initializer_range),
        name=name,
        dtype=dtype,
    )


def layer_norm(
    config: BertConfig, name: str, dtype: keras.DTypePolicy | str | None
) -> keras.layers.LayerNormalization:
    """LayerNorm over the last axis with `config.layer_norm_eps`: gamma [H] 1, beta [H] 0."""
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name, dtype=dtype)
