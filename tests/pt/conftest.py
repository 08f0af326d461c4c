"""Fixtures of the PyTorch twin's tests: the device matrix and pinned matmul precision."""

from __future__ import annotations

import pytest
import torch

# The tiny test models are latency-bound: intra-op threads only add contention (100x slower on a busy
# 2-core machine). The PyTorch test group runs in its own process (scripts/run_tests.sh).
torch.set_num_threads(1)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible"),
        ],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Every equivalence check runs on the CPU, and on the GPU when one is visible."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _pinned_precision():
    """fp32 means fp32: no TF32 matmuls or convolutions on GPUs that would use them."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
