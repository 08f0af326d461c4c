"""Fixtures of the Flax twin's tests: the device matrix, pinned matmul precision, cached reference models."""

from __future__ import annotations

import functools

import jax
import pytest

from bert_flax import model_class
from tests.helpers import load_reference_case


def _gpus() -> list:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jax installation / machine
        return []


DEVICES = [
    "cpu",
    pytest.param(
        "gpu",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not _gpus(), reason="no GPU visible to jax")],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request) -> jax.Device:
    """Equivalence checks run on the CPU, and on the GPU when jax sees one; computations inside the test
    run there (jax.default_device)."""
    dev = jax.devices(request.param)[0]
    with jax.default_device(dev):
        yield dev


@pytest.fixture(scope="session", autouse=True)
def _highest_precision():
    """fp32 means fp32: no reduced-precision (TF32/bf16-pass) matmuls on accelerators.

    Set once for the session (before any module-scoped model is built), so every compiled program of the
    session shares one precision and JAX's compilation caches are reused across tests."""
    saved = jax.config.jax_default_matmul_precision
    jax.config.update("jax_default_matmul_precision", "highest")
    yield
    jax.config.update("jax_default_matmul_precision", saved)


@functools.cache
def _load_case(name: str, scan_layers: bool = False):
    ref = load_reference_case(name)
    return model_class(ref.model_class).from_pretrained(
        ref.directory, scan_layers=scan_layers, output_loading_info=True
    )


@pytest.fixture(scope="session")
def case_model():
    """`case_model(name, scan_layers=False) -> (wrapper, loading info)` of a reference case, loaded once
    per session (its compiled programs too)."""
    return _load_case
