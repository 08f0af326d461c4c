"""Fixtures of the Keras twin's tests: the device matrix, pinned fp32 precision, a clean Keras state."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest
import tensorflow as tf

# fp32 means fp32: no TF32 matmuls on GPUs that would use them.
tf.config.experimental.enable_tensor_float_32_execution(False)

GPUS = tf.config.list_physical_devices("GPU")
DEVICES = [
    "/CPU:0",
    pytest.param(
        "/GPU:0",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not GPUS, reason="no GPU visible to TensorFlow")],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Every numerics check runs on the CPU, and on the GPU when TensorFlow sees one."""
    return request.param


@pytest.fixture(autouse=True)
def _clean_keras_state():
    """Seeded, float32 policy before each test (a mixed-precision test must not leak its policy)."""
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
