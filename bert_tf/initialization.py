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
    every call, about 25 graph ops per layer. Here the input is flattened with one reshape and the output
    takes the input's own shape back: `tf.shape(inputs)` as it is when `units` equals the input width
    (query / key / value / attention output), else with `units - width` added to its last entry: four
    to six ops around the MatMul. The MatMul is the same, so the numbers are bitwise equal. A traced
    all-MiniLM-L6-v2 has 1,063 graph ops with this Dense and bert_tf.attention's shared head shapes
    (1,867 with Keras' Dense), which shortens the trace and the first call of `bert-zoo run --framework
    tf` (tests/pipelines/test_keras_startup.py counts them).
    Everything else (variables, their names, LoRA, quantization, serialization) is Keras' Dense.
    """

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        rank, width = inputs.shape.rank, inputs.shape[-1]
        if rank is None or rank <= 2 or width is None:
            return super().call(inputs, training=training)
        out = super().call(tf.reshape(inputs, [-1, width]), training=training)  # [B*T, units]
        shape = tf.shape(inputs)  # [B, T, width] as a tensor
        if self.units != width:
            shape = shape + tf.constant([0] * (rank - 1) + [self.units - width], shape.dtype)
        out = tf.reshape(out, shape)
        out.set_shape(inputs.shape[:-1].concatenate([self.units]))  # the static shape TF cannot infer
        return out


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
