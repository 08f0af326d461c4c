"""The activation functions of `BertConfig.hidden_act`, as TensorFlow functions.

Every name in `bert_common.config.SUPPORTED_ACTIVATIONS` maps to the formula the other twins use:
"gelu" is the exact erf form; "gelu_new", "gelu_pytorch_tanh" and "gelu_fast" are the tanh approximation.
Shape legend: elementwise, any shape (in the twin: [B, T, I] after the intermediate dense, [B, T, H] in the
prediction-head transform).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from bert_common.config import SUPPORTED_ACTIVATIONS

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x: tf.Tensor) -> tf.Tensor:
    """Exact GELU: x * Phi(x), with Phi the standard normal CDF (erf form)."""
    return 0.5 * x * (1.0 + tf.math.erf(x / tf.cast(math.sqrt(2.0), x.dtype)))


def gelu_tanh(x: tf.Tensor) -> tf.Tensor:
    """The tanh approximation of GELU (Transformers' "gelu_new")."""
    coefficient = tf.cast(0.044715, x.dtype)
    return 0.5 * x * (1.0 + tf.tanh(tf.cast(_SQRT_2_OVER_PI, x.dtype) * (x + coefficient * tf.pow(x, 3))))


def quick_gelu(x: tf.Tensor) -> tf.Tensor:
    """x * sigmoid(1.702 x), the fast GELU approximation of CLIP."""
    return x * tf.sigmoid(tf.cast(1.702, x.dtype) * x)


def silu(x: tf.Tensor) -> tf.Tensor:
    """x * sigmoid(x) (also called swish)."""
    return x * tf.sigmoid(x)


ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "relu": tf.nn.relu,
    "silu": silu,
    "swish": silu,
    "tanh": tf.tanh,
    "quick_gelu": quick_gelu,
}
if set(ACTIVATIONS) != set(SUPPORTED_ACTIVATIONS):  # pragma: no cover - guards the table against drift
    raise ImportError(
        f"bert_tf.activations does not cover {sorted(set(SUPPORTED_ACTIVATIONS) ^ set(ACTIVATIONS))}"
    )


def get_activation(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """The activation called `name` (a `BertConfig.hidden_act` value)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"hidden_act {name!r} is not supported; use one of {SUPPORTED_ACTIVATIONS}")
    return ACTIVATIONS[name]
