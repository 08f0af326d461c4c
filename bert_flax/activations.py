"""The activation functions a BertConfig can name (`hidden_act`), as JAX functions.

"gelu" is the exact erf form; "gelu_new", "gelu_pytorch_tanh" and "gelu_fast" are the tanh approximation,
as in the other twins and Transformers.

Shape legend: any shape in, the same shape out (the functions are element-wise).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from bert_common.config import SUPPORTED_ACTIVATIONS


def quick_gelu(x: jax.Array) -> jax.Array:
    """x * sigmoid(1.702 x), the GELU approximation of the original CLIP."""
    return x * jax.nn.sigmoid(1.702 * x)


def gelu_tanh(x: jax.Array) -> jax.Array:
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return jax.nn.gelu(x, approximate=True)


def gelu_exact(x: jax.Array) -> jax.Array:
    """0.5 x (1 + erf(x / sqrt(2)))."""
    return jax.nn.gelu(x, approximate=False)


ACT2FN: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": gelu_exact,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
    "quick_gelu": quick_gelu,
}
if set(ACT2FN) != set(SUPPORTED_ACTIVATIONS):  # pragma: no cover - guards a config change
    raise ImportError(
        f"bert_flax activations {sorted(ACT2FN)} differ from the config's {SUPPORTED_ACTIVATIONS}"
    )


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
    """The activation function called `name` (a `hidden_act` value).

    Raises:
        ValueError: an activation that is not in bert_common.config.SUPPORTED_ACTIVATIONS.
    """
    if name not in ACT2FN:
        raise ValueError(f"hidden_act {name!r} is not supported; use one of {sorted(ACT2FN)}")
    return ACT2FN[name]
