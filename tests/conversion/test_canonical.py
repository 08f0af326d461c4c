from __future__ import annotations

import logging

import numpy as np
import pytest

from conversion.canonical import ShapeMismatchError, fit_to_model, is_optimizer_slot, normalize_legacy_names

W = np.ones((4, 3), dtype=np.float32)
B = np.zeros(4, dtype=np.float32)
E = np.arange(12, dtype=np.float32).reshape(6, 2)


def head_expected():
    return {
        "bert.embeddings.word_embeddings.weight": (6, 2),
        "bert.embeddings.LayerNorm.weight": (2,),
        "bert.embeddings.LayerNorm.bias": (2,),
        "cls.predictions.bias": (6,),
    }


def test_legacy_names_are_renamed_and_reported():
    state = {
        "embeddings.LayerNorm.gamma": B,
        "embeddings.LayerNorm.beta": B,
        "embeddings.position_ids": np.arange(4)[None],
        "encoder.layer.0.output.dense.weight": W,
    }
    out, report = normalize_legacy_names(state)
    assert set(out) == {
        "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.bias",
        "encoder.layer.0.output.dense.weight",
    }
    assert report.renamed == {
        "embeddings.LayerNorm.gamma": "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.beta": "embeddings.LayerNorm.bias",
    }
    assert "embeddings.position_ids" in report.dropped


def test_gamma_outside_layernorm_is_not_renamed():
    out, report = normalize_legacy_names({"some.gamma": B})
    assert "some.gamma" in out and not report.renamed


def test_decoder_bias_alias():
    bias = np.arange(6, dtype=np.float32)
    out, report = normalize_legacy_names(
        {"cls.predictions.bias": bias, "cls.predictions.decoder.bias": bias.copy()}
    )
    assert set(out) == {"cls.predictions.bias"} and "cls.predictions.decoder.bias" in report.dropped
    out, report = normalize_legacy_names({"cls.predictions.decoder.bias": bias})
    assert set(out) == {"cls.predictions.bias"}
    with pytest.raises(ValueError, match="different values"):
        normalize_legacy_names({"cls.predictions.bias": bias, "cls.predictions.decoder.bias": bias + 1})


def test_base_checkpoint_into_head_model():
    state = {"embeddings.word_embeddings.weight": E, "embeddings.LayerNorm.weight": np.ones(2, np.float32)}
    matched, report = fit_to_model(state, head_expected())
    assert set(matched) == {"bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.weight"}
    assert report.missing_keys == ["bert.embeddings.LayerNorm.bias", "cls.predictions.bias"]
    assert report.unexpected_keys == []


def test_head_checkpoint_into_base_model():
    state = {"bert.embeddings.word_embeddings.weight": E, "cls.predictions.bias": np.zeros(6, np.float32)}
    matched, report = fit_to_model(state, {"embeddings.word_embeddings.weight": (6, 2)})
    assert set(matched) == {"embeddings.word_embeddings.weight"}
    assert report.unexpected_keys == ["cls.predictions.bias"]
    assert report.missing_keys == []


def test_tied_decoder_is_dropped_with_reason():
    state = {
        "bert.embeddings.word_embeddings.weight": E,
        "cls.predictions.decoder.weight": E.copy(),
        "cls.predictions.bias": np.zeros(6, np.float32),
    }
    tied = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"}
    matched, report = fit_to_model(state, head_expected(), tied=tied)
    assert "cls.predictions.decoder.weight" not in matched
    assert (
        report.dropped["cls.predictions.decoder.weight"] == "tied to bert.embeddings.word_embeddings.weight"
    )
    state["cls.predictions.decoder.weight"] = E + 1
    _, report = fit_to_model(state, head_expected(), tied=tied)
    assert "differs and is ignored" in report.dropped["cls.predictions.decoder.weight"]


def test_mismatched_shapes_raise_unless_ignored():
    state = {"bert.embeddings.word_embeddings.weight": np.zeros((7, 2), np.float32)}
    with pytest.raises(
        ShapeMismatchError,
        match=r"bert.embeddings.word_embeddings.weight: checkpoint \(7, 2\) vs model \(6, 2\)",
    ):
        fit_to_model(state, head_expected())
    matched, report = fit_to_model(state, head_expected(), ignore_mismatched_sizes=True)
    assert matched == {}
    assert report.mismatched_keys == [("bert.embeddings.word_embeddings.weight", (7, 2), (6, 2))]
    info = report.loading_info()
    assert (
        info["mismatched_keys"] == report.mismatched_keys
        and "bert.embeddings.LayerNorm.bias" in info["missing_keys"]
    )


def test_report_logs_every_key_by_name(caplog):
    state = {"bert.embeddings.word_embeddings.weight": E, "extra.weight": W}
    _, report = fit_to_model(state, head_expected())
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        report.log("BertForMaskedLM", "/ckpt")
    text = caplog.text
    assert "were not used when initializing BertForMaskedLM: ['extra.weight']" in text
    assert "newly initialized" in text and "cls.predictions.bias" in text


@pytest.mark.parametrize(
    "name, slot",
    [
        ("bert/embeddings/word_embeddings/adam_m", True),
        ("bert/encoder/layer_0/output/dense/kernel/adam_v", True),
        ("global_step", True),
        ("bert/embeddings/word_embeddings", False),
        ("bert.encoder.layer.0.attention.self.query.weight", False),
    ],
)
def test_optimizer_slots(name, slot):
    assert is_optimizer_slot(name) is slot
