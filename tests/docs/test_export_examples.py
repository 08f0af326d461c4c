"""The embedded all-MiniLM-L6-v2's exports, checked on the directories docs/export.md's examples write.

The examples export the embedded model exactly as these tests used to do again in tests/export (ONNX
with the transformer optimizer, StableHLO, a SavedModel with raw strings): the same calls, so the same
exports are checked here instead of being made twice. The checks do not trust the exporter's own
verification: they read its report (export.json), run each file as a user does, with the tokenizer files
that came along, and compare with a twin loaded afresh at 1e-5. The exports come from the page's run
(conftest.py's `export_page`); when the page fails, these tests fail too.

Shape legend: B batch, T positions, H hidden size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bert_common import BertTokenizerFast
from bert_common.files import default_model_dir
from tests.helpers import ATOL

pytestmark = pytest.mark.integration

# Sentences the exporter's own verification does not use: accents, CJK, punctuation, a special token.
TEXTS = [
    "Ça, c'est l'été à Zürich!",
    "東京タワー：高さ333メートル。",
    "[CLS] x [SEP] ... O'Neil's 3.14 — ok?",
]


def report(out: Path) -> dict:
    return json.loads((out / "export.json").read_text())


def checks_by_graph(out: Path) -> dict[str, float]:
    """The largest max |diff| per verified graph, from the export's report (NaN when a check failed)."""
    worst: dict[str, float] = {}
    for check in report(out)["verification"]:
        values = [worst.get(check["graph"], 0.0), *check["max_abs_diff"].values()]
        worst[check["graph"]] = float(np.max(values))  # NaN (json's NaN) propagates
    return worst


def run_onnx(path, arrays):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {i.name: arrays[i.name] for i in session.get_inputs()})))


def test_the_embedded_model_with_the_transformer_optimizer(export_page):
    from bert_pt.pipelines import load_model, run_numpy
    from bert_zoo import export_onnx

    out = export_page / "minilm-onnx"  # export(default_model_dir(), out, to="onnx", optimize=True)
    worst = checks_by_graph(out)
    assert set(worst) == {"onnxruntime", "onnxruntime optimized"}
    assert all(value <= ATOL for value in worst.values()), worst
    written = report(out)
    assert written["head"] == "BertModel" and written["opset"] == export_onnx.DEFAULT_OPSET
    assert written["fused_operators"].get("SkipLayerNormalization", 0) >= 6  # the optimizer did fuse
    assert written["inputs"]["input_ids"] == {"dtype": "int64", "shape": ["batch", "sequence"]}
    assert written["outputs"]["last_hidden_state"]["shape"] == ["batch", "sequence", 384]
    for name in (
        "vocab.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "config.json",
        "model.optimized.onnx",
    ):
        assert (out / name).is_file(), name

    # Deployment as a user does it: the exported tokenizer files and the graph, no twin involved.
    tokenizer = BertTokenizerFast.from_pretrained(out)
    texts = ["A man is eating food.", "Someone is riding a white horse on an enclosed ground."]
    arrays = dict(tokenizer(texts, padding=True, return_tensors="np"))
    model, _config, _ = load_model("BertModel", str(default_model_dir()))
    want = run_numpy(model, arrays)["last_hidden_state"]
    for file in ("model.onnx", "model.optimized.onnx"):
        got = run_onnx(out / file, arrays)["last_hidden_state"]
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL, err_msg=file)


def test_the_embedded_model_in_stablehlo_agrees_with_both_twins(export_page):
    from jax import export as jax_export

    from bert_pt.pipelines import load_model as load_pt
    from bert_pt.pipelines import run_numpy as run_pt

    out = export_page / "minilm-stablehlo"  # export(default_model_dir(), out, to="stablehlo")
    worst = checks_by_graph(out)
    assert set(worst) == {"jax.export"} and worst["jax.export"] <= ATOL, worst
    written = report(out)
    assert written["inputs"]["input_ids"] == {"dtype": "int32", "shape": ["batch", "sequence"]}
    assert written["outputs"]["last_hidden_state"]["shape"] == ["batch", "sequence", 384]
    assert written["platforms"] == ["cpu"]

    tokenizer = BertTokenizerFast.from_pretrained(out)
    arrays = dict(
        tokenizer(
            ["A man is eating food.", "A man rides a horse in a field."], padding=True, return_tensors="np"
        )
    )
    exported = jax_export.deserialize(bytearray((out / "model.stablehlo").read_bytes()))
    got = exported.call(**{k: v.astype(np.int32) for k, v in arrays.items()})
    pt_model, _config, _ = load_pt("BertModel", str(default_model_dir()))
    want = run_pt(pt_model, arrays)
    for name in ("last_hidden_state", "pooler_output"):
        np.testing.assert_allclose(np.asarray(got[name]), want[name], rtol=0, atol=ATOL, err_msg=name)


def test_the_embedded_model_as_a_savedmodel_with_raw_strings(export_page):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops for loading)

    from bert_tf.pipelines import load_model, run_numpy
    from bert_zoo.export_savedmodel import TOKENIZER_CHECK

    out = export_page / "minilm-savedmodel"  # export(default_model_dir(), out, to="savedmodel", text=True)
    worst = checks_by_graph(out)
    assert all(value <= ATOL for value in worst.values()), worst
    assert worst[TOKENIZER_CHECK] == 0.0 and "serve_text" in worst
    loaded = tf.saved_model.load(str(out))
    fast = BertTokenizerFast.from_pretrained(out)  # the tokenizer files came along
    model, _config, _ = load_model("BertModel", str(default_model_dir()))
    want = run_numpy(model, dict(fast(TEXTS, padding=True, return_tensors="np")))
    got = loaded.serve_text(tf.constant(TEXTS))
    for name in ("last_hidden_state", "pooler_output"):
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=ATOL, err_msg=name)
