"""ONNX export of the PyTorch twin: every head, dynamic axes, verified in onnxruntime.

The checks here do not trust the exporter's own verification: each test also runs the written file in
onnxruntime on inputs of a shape the exporter never saw and compares with the bert_pt twin loaded
afresh from the checkpoint. The embedded model's export with the transformer optimizer is checked by
tests/docs/test_export_examples.py, on the export docs/export.md's example makes.

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size, V vocabulary size.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from bert_common import BertConfig
from bert_pt.pipelines import load_model, run_numpy
from bert_zoo import export_onnx
from bert_zoo.export import ExportError, ExportVerificationError, export
from bert_zoo.export_common import VERIFY_SHAPES, verification_batches
from tests.common.head_spec import expected_shapes
from tests.export.conftest import CASES, case_head, staging_leftovers
from tests.helpers import ATOL


def fresh_batch(config, head, batch=5, length=23, seed=7):
    """A batch of a shape outside the exporter's verification shapes, rows 1 and 3 padded."""
    rng = np.random.default_rng(seed)
    choices = 4 if head == "BertForMultipleChoice" else None
    shape = (batch, choices, length) if choices else (batch, length)
    ids = rng.integers(5, config.vocab_size, size=shape)
    mask = np.ones(shape, np.int64)
    mask[1, ..., length - 6 :] = 0
    mask[3, ..., length - 2 :] = 0
    ids[mask == 0] = 0
    types = np.zeros(shape, np.int64)
    types[..., length // 3 :] = 1
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if config.add_cross_attention:
        arrays["encoder_hidden_states"] = rng.standard_normal((batch, 6, config.hidden_size)).astype(
            np.float32
        )
        arrays["encoder_attention_mask"] = np.ones((batch, 6), np.int64)
    return arrays


def run_onnx(path, arrays):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {i.name: arrays[i.name] for i in session.get_inputs()})))


@pytest.mark.parametrize("case", CASES)
def test_every_head_exports_to_onnx_with_dynamic_axes_and_matches_the_twin(case, tiny_checkpoints, tmp_path):
    head = case_head(case)
    out = tmp_path / "onnx"
    result = export(tiny_checkpoints[case], out, to="onnx")

    model, config, _ = load_model(head, str(tiny_checkpoints[case]))
    expected_fields = [f for f in expected_shapes(head, config, with_loss=False)]
    assert sorted(result.outputs) == sorted(expected_fields)
    cross = ["encoder_hidden_states", "encoder_attention_mask"] if case.endswith("+cross") else []
    assert result.inputs == ["input_ids", "attention_mask", "token_type_ids", *cross]
    assert result.passed and len(result.checks) == len(VERIFY_SHAPES) and result.worst() <= ATOL

    graph = onnx.load(str(out / "model.onnx"))
    dims = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.graph.input
    }
    tokens = ["batch", "choices", "sequence"] if head == "BertForMultipleChoice" else ["batch", "sequence"]
    assert dims["input_ids"] == dims["attention_mask"] == dims["token_type_ids"] == tokens
    assert graph.opset_import[0].version == export_onnx.DEFAULT_OPSET

    # An independent check: a shape the exporter never ran, against the twin loaded afresh.
    arrays = fresh_batch(config, head)
    got = run_onnx(out / "model.onnx", arrays)
    want = run_numpy(
        model, arrays, output_hidden_states=False, **({"use_cache": False} if config.is_decoder else {})
    )
    for name in expected_fields:
        assert got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=ATOL, err_msg=f"{case} {name}")
    assert json.loads((out / "config.json").read_text())["architectures"] == [head]


def test_opset_14_and_a_loaded_model(tiny_checkpoints, tmp_path):
    model, _config, _ = load_model(
        "BertForTokenClassification", str(tiny_checkpoints["BertForTokenClassification"])
    )
    result = export(model, tmp_path / "o14", to="onnx", opset=14)
    assert result.passed and result.head == "BertForTokenClassification"
    assert onnx.load(str(tmp_path / "o14" / "model.onnx")).opset_import[0].version == 14
    assert not (tmp_path / "o14" / "vocab.txt").exists()  # a loaded model has no tokenizer files to copy


def test_verification_catches_a_graph_frozen_at_trace_time(tiny_checkpoints, tmp_path, monkeypatch):
    # Without the equivalent trace path, the decoder's causal mask keeps the traced length (16): the
    # graph cannot run the other lengths, and the export must fail without writing anything.
    monkeypatch.setattr(export_onnx, "_traced_as_encoder", lambda model: contextlib.nullcontext())
    out = tmp_path / "frozen"
    with pytest.raises(ExportVerificationError, match="verification failed: onnxruntime vs bert_pt") as info:
        export(tiny_checkpoints["BertLMHeadModel"], out, to="onnx")
    failing = [c for c in info.value.result.checks if c.error]
    assert failing and all(c.shape[1] != 16 for c in failing)
    assert not out.exists() and staging_leftovers(out) == []


def test_verification_covers_padding_and_several_shapes(tiny_checkpoints):
    config = BertConfig.from_pretrained(tiny_checkpoints["BertModel"])
    batches = verification_batches(config, "BertModel")
    shapes = [b["input_ids"].shape for b in batches]
    assert len({s[0] for s in shapes}) >= 3 and len({s[1] for s in shapes}) >= 3
    assert any((b["attention_mask"] == 0).any() for b in batches)
    for b in batches:  # padded positions hold the pad id, as a tokenizer writes them
        assert (b["input_ids"][b["attention_mask"] == 0] == (config.pad_token_id or 0)).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "tflite"}, "unknown export format 'tflite'; choose one of onnx, savedmodel, stablehlo"),
        ({"head": "BertForNothing"}, "unknown BERT head 'BertForNothing'"),
        ({"head": "BertForMaskedLM"}, "lacks 5 weight(s) of BertForMaskedLM"),
        ({"opset": 9}, "opset must be an int from 14 to 20, got 9"),
        (
            {"optimize": True, "to": "stablehlo"},
            "optimize (onnxruntime's transformer optimizer) applies to --to onnx only",
        ),
        ({"platforms": ["cpu"]}, "platforms (jax.export lowering) applies to --to stablehlo only"),
    ],
)
def test_bad_input_is_one_error_and_leaves_nothing(kwargs, message, minilm, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError) as info:  # ExportError, or get_head's ValueError for an unknown head
        export(minilm, out, **kwargs)
    assert message in str(info.value).splitlines()[0]
    assert not out.exists() and staging_leftovers(out) == []


def test_an_output_directory_that_is_not_empty_is_refused(minilm, tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists and is not an empty directory"):
        export(minilm, out, to="onnx")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_a_model_of_the_wrong_twin_is_refused(tiny_checkpoints, tmp_path):
    from bert_flax.pipelines import load_model as load_flax

    model, _config, _ = load_flax("BertModel", str(tiny_checkpoints["BertModel"]))
    with pytest.raises(ExportError, match="--to onnx exports a bert_pt model or a checkpoint directory"):
        export(model, tmp_path / "x", to="onnx")
