"""TensorFlow conversions of the Keras tests: numpy inputs -> tensors, outputs -> numpy.

Configs, batches, labels and expected shapes come from tests/helpers.py and tests/common/head_spec.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf


def to_tf(arrays: Mapping[str, np.ndarray]) -> dict[str, tf.Tensor]:
    """Every numpy array of `arrays` as a tf.Tensor of the same dtype."""
    return {name: tf.constant(value) for name, value in arrays.items()}


def fields(output: Any) -> dict[str, np.ndarray]:
    """Every tensor of an output as float32 numpy, tuples flattened to `name.i` (the reference files'
    keys); past_key_values left out."""
    out = {}
    for name, value in output.items():
        if name == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                out[f"{name}.{i}"] = np.asarray(item, dtype=np.float32)
        else:
            out[name] = np.asarray(value, dtype=np.float32)
    return out
