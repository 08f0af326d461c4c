from __future__ import annotations

import dataclasses

import pytest

from bert_common.heads import HEADS, get_head, head_of_checkpoint
from bert_common.outputs import (
    OUTPUT_CLASSES,
    BaseModelOutputWithPoolingAndCrossAttentions,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
)


def test_attribute_key_and_index_access_skip_none():
    out = SequenceClassifierOutput(loss=None, logits="L", hidden_states=("h0", "h1"))
    assert out.logits == "L" and out["logits"] == "L"
    assert out[0] == "L"  # loss is None, so logits comes first, as in Transformers
    assert out.to_tuple() == ("L", ("h0", "h1"))
    assert out.keys() == ["logits", "hidden_states"]
    assert list(out) == ["logits", "hidden_states"]
    assert len(out) == 2 and "logits" in out and "loss" not in out
    assert out.to_dict() == {"logits": "L", "hidden_states": ("h0", "h1")}
    assert out[:1] == ("L",)


def test_loss_comes_first_when_present():
    out = QuestionAnsweringModelOutput(loss="l", start_logits="s", end_logits="e")
    assert out.to_tuple() == ("l", "s", "e")
    start, end = QuestionAnsweringModelOutput(start_logits="s", end_logits="e").to_tuple()
    assert (start, end) == ("s", "e")


def test_missing_and_none_keys_raise_key_error():
    out = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state="x")
    with pytest.raises(KeyError, match="pooler_output is None"):
        out["pooler_output"]
    with pytest.raises(KeyError, match="has no field 'logits'"):
        out["logits"]
    with pytest.raises(TypeError, match="output indices must be str, int or slice"):
        out[1.5]


def test_flatten_unflatten_round_trip_keeps_none_structure():
    out = SequenceClassifierOutput(logits=3)
    children, names = out.flatten()
    assert names == ("loss", "logits", "hidden_states", "attentions")
    assert children == (None, 3, None, None)
    assert SequenceClassifierOutput.unflatten(names, children) == out


def test_every_output_class_is_a_dataclass_with_documented_fields():
    for cls in OUTPUT_CLASSES:
        assert dataclasses.is_dataclass(cls)
        assert cls.__doc__
        assert all(getattr(cls(), name) is None for name in cls.field_names())


def test_heads_registry_lookup_by_any_twin_spelling():
    assert len(HEADS) == 9
    assert get_head("TFBertForMaskedLM") is HEADS["BertForMaskedLM"]
    assert get_head("FlaxBertForCausalLM") is HEADS["BertLMHeadModel"]
    assert HEADS["BertLMHeadModel"].flax_name == "FlaxBertForCausalLM"
    with pytest.raises(ValueError, match="unknown BERT head 'BertForSummarization'"):
        get_head("BertForSummarization")


def test_head_of_checkpoint_by_weight_names():
    assert (
        head_of_checkpoint({"bert.x", "cls.predictions.bias", "cls.seq_relationship.weight"})
        == "BertForPreTraining"
    )
    assert head_of_checkpoint({"cls.predictions.bias"}) == "BertForMaskedLM"
    assert head_of_checkpoint({"qa_outputs.weight"}) == "BertForQuestionAnswering"
    assert head_of_checkpoint({"embeddings.word_embeddings.weight"}) == "BertModel"
