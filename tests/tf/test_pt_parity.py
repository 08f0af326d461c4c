"""The Keras twin against the PyTorch twin on the same weights: every head, every output field, at 1e-5.

Random tiny models are written by one twin's save_pretrained and read by the other's from_pretrained,
so this also checks that the two write and read the same canonical files. Skipped when bert_pt (or
torch) cannot be imported in this environment.
"""

from __future__ import annotations

import numpy as np
import pytest

from bert_common.heads import HEADS
from bert_tf import MODEL_CLASSES
from tests.helpers import ATOL, max_abs_diff
from tests.tf.utils import fields, head_inputs, tiny

torch = pytest.importorskip("torch", reason="torch is not installed")
bert_pt = pytest.importorskip("bert_pt", reason="bert_pt is not importable")


def config_for(head_name: str):
    return tiny(
        num_labels=2 if head_name == "BertForQuestionAnswering" else 3,
        is_decoder=head_name == "BertLMHeadModel",
        add_cross_attention=head_name == "BertLMHeadModel",
        position_embedding_type="relative_key_query" if head_name == "BertModel" else "absolute",
    )


def pt_fields(output) -> dict[str, np.ndarray]:
    out = {}
    for name in type(output).field_names():
        value = getattr(output, name)
        if value is None or name == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                out[f"{name}.{i}"] = item.detach().float().numpy()
        else:
            out[name] = value.detach().float().numpy()
    return out


def run_both(tf_model, pt_model, head_name: str, config):
    inputs = head_inputs(head_name, config)
    if head_name == "BertLMHeadModel":
        rng = np.random.default_rng(3)
        inputs["encoder_hidden_states"] = rng.normal(size=(3, 5, 32)).astype(np.float32)
        inputs["encoder_attention_mask"] = np.array([[1] * 5, [1, 1, 1, 0, 0], [1] * 5], np.int32)
    mine = fields(tf_model(**inputs, output_hidden_states=True, output_attentions=True))
    torch_inputs = {
        k: torch.from_numpy(np.asarray(v)).long() if v.dtype.kind in "iu" else torch.from_numpy(v)
        for k, v in inputs.items()
    }
    with torch.no_grad():
        theirs = pt_fields(pt_model(**torch_inputs, output_hidden_states=True, output_attentions=True))
    return mine, theirs


@pytest.mark.parametrize("head_name", sorted(HEADS))
def test_keras_checkpoint_runs_identically_in_pytorch(head_name, tmp_path):
    config = config_for(head_name)
    tf_model = MODEL_CLASSES[head_name](config)
    tf_model.save_pretrained(tmp_path)
    pt_model, info = bert_pt.MODEL_CLASSES[head_name].from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    pt_model.eval()
    mine, theirs = run_both(tf_model, pt_model, head_name, config)
    assert set(mine) == set(theirs)
    for key in theirs:
        assert max_abs_diff(mine[key], theirs[key]) <= ATOL, f"{head_name}: {key}"


@pytest.mark.parametrize("head_name", ["BertForPreTraining", "BertForMultipleChoice", "BertLMHeadModel"])
def test_pytorch_checkpoint_runs_identically_in_keras(head_name, tmp_path):
    config = config_for(head_name)
    torch.manual_seed(0)
    pt_model = bert_pt.MODEL_CLASSES[head_name](config).eval()
    pt_model.save_pretrained(tmp_path)
    tf_model, info = MODEL_CLASSES[head_name].from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    mine, theirs = run_both(tf_model, pt_model, head_name, config)
    assert set(mine) == set(theirs)
    for key in theirs:
        assert max_abs_diff(mine[key], theirs[key]) <= ATOL, f"{head_name}: {key}"
