"""The Flax twin against the PyTorch twin (bert_pt), when it is importable: every head, every output field,
same checkpoint and inputs, at 1e-5. Also a model saved by bert_flax loads in bert_pt with identical outputs.

The golden reference (test_reference.py) is the authority; this checks the twins against each other on
inputs the reference does not cover (padding in two rows, a head mask)."""

from __future__ import annotations

import numpy as np
import pytest

import bert_flax
from tests.flax.utils import case, case_model, fields, tiny, worst_diff
from tests.helpers import ATOL, reference_case_names

torch = pytest.importorskip("torch")
bert_pt = pytest.importorskip("bert_pt")

CASES = reference_case_names()


def _pt_fields(output) -> dict[str, np.ndarray]:
    out = {}
    for name, value in output.items():
        if isinstance(value, torch.Tensor):
            out[name] = value.detach().float().cpu().numpy()
        elif name in ("hidden_states", "attentions", "cross_attentions"):
            out.update({f"{name}.{i}": v.detach().float().cpu().numpy() for i, v in enumerate(value)})
    return out


# Cases also run with a head mask that drops one head of layer 1 (the others reuse the compiled programs
# of test_reference.py: same shapes, same arguments).
HEAD_MASK_CASES = ("BertModel-relative_key_query-gelu", "BertLMHeadModel-cross", "BertForMultipleChoice")


def _inputs(name: str) -> dict[str, np.ndarray]:
    """The reference inputs with the last two positions of row 0 padded too (the decoder case keeps its
    all-ones mask)."""
    inputs = dict(case(name).inputs)
    if not name.startswith("BertLMHeadModel"):
        mask = inputs["attention_mask"].copy()
        mask[0, ..., -2:] = 0
        inputs["attention_mask"] = mask
    if name in HEAD_MASK_CASES:
        head_mask = np.ones((2, 4), np.float32)
        head_mask[1, 2] = 0.0
        inputs["head_mask"] = head_mask
    return inputs


@pytest.mark.parametrize("name", CASES)
def test_every_head_matches_the_pytorch_twin(name):
    ref = case(name)
    pt_model = bert_pt.MODEL_CLASSES[ref.model_class].from_pretrained(ref.directory).eval()
    flax_model, _ = case_model(name)
    inputs = _inputs(name)
    with torch.no_grad():
        pt_out = pt_model(
            **{k: torch.from_numpy(v) for k, v in inputs.items()},
            output_hidden_states=True,
            output_attentions=True,
            return_dict=True,
        )
    flax_out = flax_model(**inputs, output_hidden_states=True, output_attentions=True)
    expected = _pt_fields(pt_out)
    got = fields(flax_out)
    assert set(got) == set(expected)
    diff, where = worst_diff(got, expected)
    assert diff <= ATOL, f"{name}: {where} differs from bert_pt by {diff:.2e}"


def test_flax_checkpoint_loads_in_pytorch(tmp_path):
    model = bert_flax.FlaxBertForPreTraining(tiny(), seed=7)
    model.save_pretrained(tmp_path)
    pt_model, info = bert_pt.BertForPreTraining.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    ids = np.array([[2, 15, 16, 17, 3, 0]], np.int64)
    with torch.no_grad():
        pt_out = pt_model.eval()(torch.from_numpy(ids))
    flax_out = model(ids)
    assert worst_diff(fields(flax_out), _pt_fields(pt_out))[0] <= ATOL
