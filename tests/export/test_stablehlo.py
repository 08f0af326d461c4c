"""StableHLO export of the Flax twin through jax.export: symbolic batch and sequence, a serialized file
that is deserialized and called.

Each test also deserializes the written file itself and calls it on a shape the exporter never ran,
against the bert_flax twin loaded afresh (and, for the embedded model, against bert_pt too).

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from jax import export as jax_export

from bert_common import BertTokenizerFast
from bert_flax.pipelines import load_model, run_numpy
from bert_zoo import export_stablehlo
from bert_zoo.export import ExportError, ExportVerificationError, export
from bert_zoo.export_common import VERIFY_SHAPES
from tests.common.head_spec import expected_shapes
from tests.export.conftest import CASES, case_head, staging_leftovers
from tests.export.test_onnx import fresh_batch
from tests.helpers import ATOL


def load_exported(path):
    return jax_export.deserialize(bytearray(path.read_bytes()))


def int32(arrays):
    return {k: v.astype(np.int32) if v.dtype == np.int64 else v for k, v in arrays.items()}


@pytest.mark.parametrize("case", CASES)
def test_every_head_exports_to_stablehlo_with_symbolic_shapes(case, tiny_checkpoints, tmp_path):
    head = case_head(case)
    out = tmp_path / "hlo"
    result = export(tiny_checkpoints[case], out, to="stablehlo")
    model, config, _ = load_model(head, str(tiny_checkpoints[case]))
    fields = sorted(expected_shapes(head, config, with_loss=False))
    assert sorted(result.outputs) == fields
    assert result.passed and len(result.checks) == len(VERIFY_SHAPES) and result.worst() <= ATOL

    exported = load_exported(out / "model.stablehlo")
    batch_axes = "(batch, choices, sequence)" if head == "BertForMultipleChoice" else "(batch, sequence)"
    assert str(exported.in_avals[0].shape).replace("'", "") == batch_axes
    arrays = int32(fresh_batch(config, head))
    got = exported.call(**arrays)
    want = run_numpy(model, arrays)
    assert sorted(got) == fields
    for name in fields:
        np.testing.assert_allclose(
            np.asarray(got[name]), want[name], rtol=0, atol=ATOL, err_msg=f"{case} {name}"
        )


def test_the_embedded_model_agrees_with_both_twins(minilm, tmp_path):
    from bert_pt.pipelines import load_model as load_pt
    from bert_pt.pipelines import run_numpy as run_pt

    out = tmp_path / "minilm"
    result = export(minilm, out, to="stablehlo")
    assert result.passed
    report = json.loads((out / "export.json").read_text())
    assert report["inputs"]["input_ids"] == {"dtype": "int32", "shape": ["batch", "sequence"]}
    assert report["outputs"]["last_hidden_state"]["shape"] == ["batch", "sequence", 384]
    assert report["platforms"] == ["cpu"]

    tokenizer = BertTokenizerFast.from_pretrained(out)
    arrays = dict(
        tokenizer(
            ["A man is eating food.", "A man rides a horse in a field."], padding=True, return_tensors="np"
        )
    )
    got = load_exported(out / "model.stablehlo").call(**int32(arrays))
    pt_model, _config, _ = load_pt("BertModel", str(minilm))
    want = run_pt(pt_model, arrays)
    for name in ("last_hidden_state", "pooler_output"):
        np.testing.assert_allclose(np.asarray(got[name]), want[name], rtol=0, atol=ATOL, err_msg=name)


def test_a_sequence_longer_than_the_position_table_is_refused_at_call_time(tiny_checkpoints, tmp_path):
    out = tmp_path / "hlo"
    export(tiny_checkpoints["BertModel"], out, to="stablehlo", verify=False)
    exported = load_exported(out / "model.stablehlo")
    ids = np.ones((1, 65), np.int32)  # the tiny config has 64 positions
    # Without the constraint the call would run, reading clamped positions. Once deserialized, jax
    # reports the failed constraint as "Error refining shapes".
    with pytest.raises(Exception, match="Error refining shapes|sequence <= 64"):
        exported.call(input_ids=ids, attention_mask=ids, token_type_ids=0 * ids)


def test_lowering_for_several_platforms(tiny_checkpoints, tmp_path):
    out = tmp_path / "multi"
    result = export(
        tiny_checkpoints["BertForSequenceClassification"], out, to="stablehlo", platforms=["cpu", "cuda"]
    )
    assert result.passed
    assert load_exported(out / "model.stablehlo").platforms == ("cpu", "cuda")


def test_a_file_that_cannot_be_verified_here_is_refused(tiny_checkpoints, tmp_path):
    out = tmp_path / "gpu-only"
    with pytest.raises(
        ExportError, match="was lowered for cuda and cannot be verified on this machine's cpu"
    ):
        export(tiny_checkpoints["BertModel"], out, to="stablehlo", platforms=["cuda"])
    assert not out.exists() and staging_leftovers(out) == []


def test_a_wrong_module_fails_verification_and_writes_nothing(tiny_checkpoints, tmp_path, monkeypatch):
    real = export_stablehlo._forward

    def off_by_a_little(model):
        forward = real(model)
        return lambda **inputs: {k: v * 1.001 for k, v in forward(**inputs).items()}

    monkeypatch.setattr(export_stablehlo, "_forward", off_by_a_little)
    out = tmp_path / "wrong"
    with pytest.raises(ExportVerificationError, match="verification failed: jax.export vs bert_flax"):
        export(tiny_checkpoints["BertForQuestionAnswering"], out, to="stablehlo")
    assert not out.exists() and staging_leftovers(out) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opset": 17}, "opset applies to --to onnx only, not stablehlo"),
        ({"platforms": ["gpu"]}, "platforms must be some of cpu, cuda, rocm, tpu, got ['gpu']"),
        ({"platforms": []}, "platforms must be some of cpu, cuda, rocm, tpu, got []"),
    ],
)
def test_bad_options_are_refused(kwargs, message, tiny_checkpoints, tmp_path):
    with pytest.raises(ExportError) as info:
        export(tiny_checkpoints["BertModel"], tmp_path / "x", to="stablehlo", **kwargs)
    assert message in str(info.value).splitlines()[0]
