from __future__ import annotations

import logging

import pytest

from bert_zoo.verify import TWINS, gpu_available


@pytest.fixture(autouse=True, scope="session")
def _quiet_loading_reports():
    # The grid loads base checkpoints into heads and back on purpose; its reports are asserted elsewhere.
    logger = logging.getLogger("bert_zoo")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(
    scope="session",
    params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)],
)
def device(request):
    """CPU always; GPU when every twin sees one (TF32 off, JAX highest precision)."""
    if request.param == "gpu" and not all(gpu_available(fw) for fw in TWINS):
        pytest.skip("no GPU visible to all three frameworks")
    return request.param
