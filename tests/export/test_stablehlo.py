"""StableHLO export of the Flax twin through jax.export: symbolic batch and sequence, a serialized file
that is deserialized and called.

Each test also deserializes the written file itself and calls it on a shape the exporter never ran,
against the bert_flax twin loaded afresh. Each head is exported once, by a helper process that works
while the tests before these run (conftest.py's `stablehlo_exports`). The embedded model's export
(against bert_pt too) is checked by tests/docs/test_export_examples.py, on the export docs/export.md's
example makes.

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from jax import export as jax_export

from bert_flax.pipelines import load_model, run_numpy
from bert_zoo import export_stablehlo
from bert_zoo.export import ExportError, ExportVerificationError, export
from bert_zoo.export_common import VERIFY_SHAPES
from tests.common.head_spec import expected_shapes
from tests.export.conftest import CASES, MULTI_PLATFORM, case_head, staging_leftovers
from tests.export.test_onnx import fresh_batch
from tests.helpers import ATOL


def load_exported(path):
    return jax_export.deserialize(bytearray(path.read_bytes()))


def int32(arrays):
    return {k: v.astype(np.int32) if v.dtype == np.int64 else v for k, v in arrays.items()}


@pytest.mark.parametrize("case", CASES)
def test_every_head_exports_to_stablehlo_with_symbolic_shapes(case, tiny_checkpoints, stablehlo_exports):
    head = case_head(case)
    result, out = stablehlo_exports(case)  # export(checkpoint, out, to="stablehlo"), in the helper
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


def test_a_sequence_longer_than_the_position_table_is_refused_at_call_time(tiny_checkpoints, tmp_path):
    out = tmp_path / "hlo"
    export(tiny_checkpoints["BertModel"], out, to="stablehlo", verify=False)
    exported = load_exported(out / "model.stablehlo")
    ids = np.ones((1, 65), np.int32)  # the tiny config has 64 positions
    # Without the constraint the call would run, reading clamped positions. Once deserialized, jax
    # reports the failed constraint as "Error refining shapes".
    with pytest.raises(Exception, match="Error refining shapes|sequence <= 64"):
        exported.call(input_ids=ids, attention_mask=ids, token_type_ids=0 * ids)


def test_lowering_for_several_platforms(stablehlo_exports):
    # The per-head test's MULTI_PLATFORM case (checked there on a fresh shape against the twin too).
    result, out = stablehlo_exports(MULTI_PLATFORM)
    assert result.passed
    assert load_exported(out / "model.stablehlo").platforms == ("cpu", "cuda")
    assert json.loads((out / "export.json").read_text())["platforms"] == ["cpu", "cuda"]
    # the default lowers for this machine's backend only
    assert load_exported(stablehlo_exports("BertModel")[1] / "model.stablehlo").platforms == ("cpu",)


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
