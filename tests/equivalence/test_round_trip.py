"""Weights through every twin and back, bit for bit; the tied decoder survives every hop; every twin
builds exactly the tensors conversion.shapes says; the real checkpoint agrees across the twins."""

from __future__ import annotations

import numpy as np
import pytest

import bert_flax
import bert_pt
import bert_tf
from bert_common.files import default_model_dir
from bert_zoo.equivalence import TINY, random_canonical_weights
from bert_zoo.verify import compare_outputs, run_in, sample_inputs
from conversion.formats import read_safetensors
from conversion.shapes import model_shapes
from tests.helpers import ATOL, tiny_config

LOADERS = {"pt": bert_pt.MODEL_CLASSES, "tf": bert_tf.MODEL_CLASSES, "flax": bert_flax.MODEL_CLASSES}


def hop(framework: str, head: str, source, target):
    """Load what the previous twin saved (every key used, none missing) and save it again."""
    model, info = LOADERS[framework][head].from_pretrained(source, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (framework, info)
    model.save_pretrained(target)
    return model


@pytest.mark.parametrize("tie", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("head", ["BertForPreTraining", "BertForMaskedLM", "BertForSequenceClassification"])
def test_pt_tf_flax_pt_round_trip_is_bit_identical(tmp_path, head, tie):
    config = tiny_config(tie_word_embeddings=tie)
    start = tmp_path / "start"
    bert_pt.MODEL_CLASSES[head](config).save_pretrained(start)
    original = read_safetensors(start)
    assert set(original) == set(model_shapes(config, head))
    assert ("cls.predictions.decoder.weight" in original) == (
        not tie and head != "BertForSequenceClassification"
    )
    source = start
    for i, framework in enumerate(["tf", "flax", "pt"]):
        target = tmp_path / f"{i}-{framework}"
        model = hop(framework, head, source, target)
        again = read_safetensors(target)
        assert sorted(again) == sorted(original), f"after {framework}"
        for name, value in original.items():
            assert again[name].dtype == value.dtype
            np.testing.assert_array_equal(again[name], value, err_msg=f"{name} after {framework}")
        source = target
    if tie and head != "BertForSequenceClassification":
        # The last hop is PyTorch: the decoder is the word-embedding Parameter itself.
        assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


SHAPE_CONFIGS = {
    "absolute": {},
    "relative-untied": {"position_embedding_type": "relative_key_query", "tie_word_embeddings": False},
    "decoder-cross": {"is_decoder": True, "add_cross_attention": True},
}
# Multiple choice passes no encoder states, so a cross-attention config means nothing for it.
SHAPE_CASES = [
    (head, name)
    for head in sorted(bert_pt.MODEL_CLASSES)
    for name in SHAPE_CONFIGS
    if not (head == "BertForMultipleChoice" and name == "decoder-cross")
]


@pytest.mark.parametrize("head, config_name", SHAPE_CASES)
def test_every_twin_builds_the_tensors_of_the_shape_table(tmp_path, head, config_name):
    changes = SHAPE_CONFIGS[config_name]
    config = tiny_config(num_labels=3 if head != "BertForQuestionAnswering" else 2, **changes)
    expected = model_shapes(config, head)
    directory = tmp_path / "w"
    from conversion.checkpoint import save_pretrained

    save_pretrained(directory, config, random_canonical_weights(config, head, seed=1))
    for framework, classes in LOADERS.items():
        model, info = classes[head].from_pretrained(directory, output_loading_info=True)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], framework
        out = tmp_path / f"saved-{framework}"
        model.save_pretrained(out)
        saved = read_safetensors(out)
        assert {k: v.shape for k, v in saved.items()} == expected, framework


@pytest.mark.integration
def test_real_checkpoint_agrees_across_the_three_twins(device):
    """all-MiniLM-L6-v2: every output field (last hidden state, pooler, 7 hidden states, 6 attention maps)."""
    from bert_common import BertConfig

    directory = default_model_dir()
    config = BertConfig.from_pretrained(directory)
    arrays = sample_inputs(config, "BertModel", batch=2, length=24)
    runs = {
        fw: run_in(
            fw,
            directory,
            "BertModel",
            arrays,
            device=device,
            output_hidden_states=True,
            output_attentions=True,
        )[0]
        for fw in ("pt", "tf", "flax")
    }
    assert len([k for k in runs["pt"] if k.startswith("attentions.")]) == 6
    for a, b in [("pt", "tf"), ("pt", "flax"), ("tf", "flax")]:
        diffs = compare_outputs(runs[a], runs[b])
        worst = max(diffs, key=diffs.get)
        assert diffs[worst] <= ATOL, f"{a}-{b}: {worst} differs by {diffs[worst]:.2e}"


def test_tiny_constants_match_the_shared_test_config():
    # The grid and the unit tests use the same tiny model (one copy, in bert_zoo.equivalence).
    from bert_common import BertConfig

    assert tiny_config().to_dict() == BertConfig(**TINY).to_dict()
    assert {
        k: TINY[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")
    } == {
        k: tiny_config().to_dict()[k]
        for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")
    }
