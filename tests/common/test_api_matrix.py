"""The API matrix (docs/api-matrix.md, written by scripts/api_matrix.py): the three twins' model classes
have the same public methods and arguments, except the rows listed with a framework reason, and the
document is current. Each twin is introspected in a subprocess (the script's --introspect)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("api_matrix", ROOT / "scripts" / "api_matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api_matrix = _load_script()


@pytest.fixture(scope="module")
def data():
    return api_matrix.collect()


def test_every_twin_has_every_head(data):
    heads = sorted(data["pt"])
    assert len(heads) == 9
    assert sorted(data["tf"]) == heads and sorted(data["flax"]) == heads
    assert data["tf"]["BertForMaskedLM"]["class"] == "TFBertForMaskedLM"
    assert data["flax"]["BertLMHeadModel"]["class"] == "FlaxBertForCausalLM"


def test_columns_equal_except_listed_rows(data):
    assert api_matrix.problems(data) == []


def test_filled_rows_are_in_every_twin(data):
    """The holes of issue 12 item 5 that are filled: same member, same arguments, in every twin."""
    for name, arguments in {
        "num_parameters": ["only_trainable", "exclude_embeddings"],
        "get_input_embeddings": [],
        "set_input_embeddings": ["value"],
        "get_output_embeddings": [],
        "set_output_embeddings": ["new_embeddings"],
        "resize_token_embeddings": ["new_num_tokens", "pad_to_multiple_of", "mean_resizing"],
        "can_generate": [],
        "head": [],
    }.items():
        for twin in api_matrix.TWINS:
            member = data[twin]["BertForMaskedLM"]["members"][name]
            assert member["arguments"] == arguments, (twin, name)
    for twin in api_matrix.TWINS:
        assert data[twin]["BertModel"]["members"]["main_input_name"]["kind"] == "attribute"


def test_listed_rows_have_reasons():
    for name, (twins, reason) in api_matrix.DIFFERENCES.items():
        assert twins and set(twins) < set(api_matrix.TWINS), name
        assert len(reason) > 20, name
    assert all(len(reason) > 20 for reason in api_matrix.ARGUMENT_DIFFERENCES.values())


def test_problems_reports_an_unlisted_difference():
    row = {"kind": "method", "arguments": ["x"]}
    data = {twin: {"BertModel": {"class": "C", "members": {"extra": row}}} for twin in api_matrix.TWINS}
    del data["flax"]["BertModel"]["members"]["extra"]
    assert api_matrix.problems(data) == [
        "BertModel.extra: only in ('pt', 'tf') (add it to the others, or list it)"
    ]
    data["flax"]["BertModel"]["members"]["extra"] = {"kind": "method", "arguments": ["y"]}
    assert "arguments differ" in api_matrix.problems(data)[0]


def test_document_is_current(data):
    assert (ROOT / "docs" / "api-matrix.md").read_text() == api_matrix.render(data), (
        "docs/api-matrix.md is stale: run python scripts/api_matrix.py"
    )


def bert_parameter_count(config, head_name: str) -> tuple[int, int]:
    """(all parameters, the embedding tables' share) of a BERT head model, counted by hand from the
    config (a tied decoder counted once, as Transformers' num_parameters)."""
    h, i, v = config.hidden_size, config.intermediate_size, config.vocab_size
    tables = (v + config.max_position_embeddings + config.type_vocab_size) * h
    layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    count = tables + 2 * h + config.num_hidden_layers * layer
    if head_name not in (
        "BertForMaskedLM",
        "BertLMHeadModel",
        "BertForTokenClassification",
        "BertForQuestionAnswering",
    ):
        count += h * h + h  # the pooler
    if head_name in ("BertForMaskedLM", "BertLMHeadModel", "BertForPreTraining"):
        count += (h * h + h) + 2 * h + v  # transform, its LayerNorm, the decoder bias (tied decoder)
        if not config.tie_word_embeddings:
            count += v * h
    if head_name in ("BertForPreTraining", "BertForNextSentencePrediction"):
        count += 2 * h + 2
    if head_name in (
        "BertForSequenceClassification",
        "BertForTokenClassification",
        "BertForQuestionAnswering",
    ):
        count += h * config.num_labels + config.num_labels
    if head_name == "BertForMultipleChoice":
        count += h + 1
    return count, tables


def test_parameter_count_formula_of_the_tiny_model():
    """2 layers, H 32, I 37, V 99, 64 positions, 2 token types (tests/helpers.tiny_config)."""
    from tests.common.head_spec import tiny

    config = tiny()
    assert (config.hidden_size, config.intermediate_size, config.vocab_size) == (32, 37, 99)
    count, tables = bert_parameter_count(config, "BertModel")
    assert tables == (99 + config.max_position_embeddings + 2) * 32
    assert tables == 5280
    # by hand: 5280 tables + 64 LayerNorm + 2 * 7218 per layer + 1056 pooler
    assert count == 5280 + 64 + 2 * (4 * 1056 + 64 + 1221 + 1216 + 64) + 1056 == 19978


def test_shared_vocabulary_rules():
    """bert_common.model_api, the rules the three twins' resize_token_embeddings call (hand-computed)."""
    import numpy as np

    from bert_common.model_api import count_parameters, resized_rows, resized_vocab_size

    assert resized_vocab_size(99, 101, 8) == 104
    assert resized_vocab_size(99, None, 64) == 128
    assert resized_vocab_size(99, 50, None) == 50
    with pytest.raises(ValueError, match="new_num_tokens must be a positive int, got 0"):
        resized_vocab_size(99, 0, None)
    old = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    np.testing.assert_array_equal(resized_rows(old, 3), [[1, 2], [3, 6], [2, 4]])
    np.testing.assert_array_equal(resized_rows(old, 1), [[1, 2]])
    np.testing.assert_array_equal(resized_rows(np.array([5.0, 7.0]), 3), [5, 7, 0])  # a bias: zeros
    assert count_parameters([(10, True, True), (5, False, False), (3, True, False)]) == 18
    assert count_parameters([(10, True, True), (5, False, False), (3, True, False)], True, True) == 3
