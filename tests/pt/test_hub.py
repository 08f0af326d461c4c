"""torch.hub: the seed-004 entry points load offline from a local checkout (`source="local"`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from bert_pt import BertForMultipleChoice, BertForSequenceClassification, BertModel
from tests.helpers import MINILM_SENTENCES, REFERENCE, minilm_golden

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = REFERENCE / "tiny" / "BertModel-absolute-gelu"

ENTRY_POINTS = [
    "bertTokenizer",
    "bertModel",
    "bertForMaskedLM",
    "bertForNextSentencePrediction",
    "bertForPreTraining",
    "bertForSequenceClassification",
    "bertForMultipleChoice",
    "bertForTokenClassification",
    "bertForQuestionAnswering",
]


def test_hubconf_has_the_seed_entry_points():
    spec = importlib.util.spec_from_file_location("bert_zoo_hubconf", REPO / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    assert all(callable(getattr(hubconf, name, None)) for name in ENTRY_POINTS)
    assert "torch" in hubconf.dependencies


def test_hub_load_bert_model_from_a_local_checkpoint():
    model = torch.hub.load(str(REPO), "bertModel", str(TINY_MODEL), source="local")
    direct = BertModel.from_pretrained(TINY_MODEL)
    assert isinstance(model, BertModel) and not model.training
    ids = torch.tensor([[5, 6, 7, 8]])
    segments = torch.tensor([[0, 0, 1, 1]])
    encoded_layers, pooled = model(ids, None, segments, return_dict=False)  # seed 004's tuple unpacking
    assert torch.equal(encoded_layers, direct(ids, token_type_ids=segments).last_hidden_state)
    assert pooled.shape == (1, 32)


def test_hub_load_passes_config_overrides():
    model = torch.hub.load(
        str(REPO), "bertForSequenceClassification", str(TINY_MODEL), source="local", num_labels=4
    )
    assert isinstance(model, BertForSequenceClassification) and model.classifier.out_features == 4
    choice = torch.hub.load(
        str(REPO), "bertForMultipleChoice", str(TINY_MODEL), source="local", num_choices=2
    )
    assert isinstance(choice, BertForMultipleChoice)
    logits = choice(torch.randint(1, 99, (1, 2, 5)), return_dict=False)[0]
    assert logits.shape == (1, 2)


def test_hub_tokenizer():
    tokenizer = torch.hub.load(str(REPO), "bertTokenizer", source="local")
    ids = minilm_golden()["input_ids"][0]
    assert tokenizer.encode(MINILM_SENTENCES[0]) == [int(i) for i in ids[ids != 0]]
