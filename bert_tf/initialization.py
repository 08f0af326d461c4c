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
import tensorflow as tf

from bert_common.config import BertConfig


def weight_initializer(initializer_range: float) -> keras.initializers.Initializer:
    """The initializer of kernels and embedding tables: TruncatedNormal(stddev=initializer_range)."""
    return keras.initializers.TruncatedNormal(stddev=initializer_range)


@keras.saving.register_keras_serializable(package="bert_tf")
class Dense(keras.layers.Dense):
    """keras.layers.Dense that multiplies an input of rank > 2 ([B, T, H]) as the one matrix [B*T, H].

    Keras' own Dense runs `tf.tensordot` there, which rebuilds the flattening from the input's shape at
    every call, about 25 graph ops per layer; here it is two reshapes. The MatMul is the same, so the
    numbers are bitwise equal; a traced BERT has about a sixth fewer ops (all-MiniLM-L6-v2: 1,543
    instead of 1,867), which shortens the trace and the first call of `bert-zoo run --framework tf`
    (about 0.2 s each on 2 cores).
    Everything else (variables, their names, LoRA, quantization, serialization) is Keras' Dense.
    """

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        rank = inputs.shape.rank
        if rank is None or rank <= 2:
            return super().call(inputs, training=training)
        width = inputs.shape[-1] if inputs.shape[-1] is not None else tf.shape(inputs)[-1]
        out = super().call(tf.reshape(inputs, [-1, width]), training=training)  # [B*T, units]
        return tf.reshape(out, tf.concat([tf.shape(inputs)[:-1], [self.units]], 0))


def dense(
    config: BertConfig, units: int, name: str, dtype: keras.DTypePolicy | str | None, use_bias: bool = True
) -> keras.layers.Dense:
    """A Dense layer `name` with `units` outputs: kernel [in, units] ~ weight_initializer, bias [units] 0.

    dtype: the Keras dtype policy of the owning layer (variables float32, compute dtype per policy).
    """
    return Dense(
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
