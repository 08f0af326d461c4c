"""`ConfigLayer`: the Keras layers of bert_tf that are built from a `BertConfig` (framework-only file).

Keras saves a model by calling `get_config()` on it and on every layer and rebuilds it with
`from_config()` (keras-hub's "get_config everywhere"). This base gives every bert_tf layer that pair from
its BertConfig, once; the other twins have no such protocol (PyTorch pickles modules, Flax rebuilds
modules from their dataclass fields), which is why the file exists only in the Keras twin.
Shape legend: none (no tensors here).
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from bert_common.config import BertConfig


class ConfigLayer(keras.layers.Layer):
    """A layer whose constructor is `(config: BertConfig, <config_arguments>..., **keras_kwargs)`.

    `get_config()` stores `config.to_dict()` plus the layer's own keyword arguments (listed in
    `config_arguments`); `from_config` rebuilds the BertConfig.

    autocast_inputs: False for the layers that receive the float32 additive attention mask, which
    Keras would otherwise cast to a mixed-precision compute dtype (float16 turns finfo(float32).min
    into -inf). Their sublayers still autocast their own inputs and variables.

    Raises:
        TypeError: `config` is not a BertConfig.
    """

    config_arguments: ClassVar[tuple[str, ...]] = ()
    autocast_inputs: ClassVar[bool] = True

    def __init__(self, config: BertConfig, **kwargs: Any):
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__} needs a BertConfig, got {type(config).__name__}")
        kwargs.setdefault("autocast", self.autocast_inputs)
        super().__init__(**kwargs)
        self.config = config

    def get_config(self) -> dict[str, Any]:
        extra = {name: getattr(self, name) for name in self.config_arguments}
        return {**super().get_config(), "config": self.config.to_dict(), **extra}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ConfigLayer:
        config = dict(config)
        return cls(BertConfig.from_dict(config.pop("config")), **config)
