"""SavedModel export of the Keras twin: every head, the `serve` endpoint as Keras users call it, the int32
and int64 signatures, the raw-strings endpoints with the in-graph tokenizer, and bad input.

The checks here do not trust the exporter's own verification: each test loads the written directory with
`tf.saved_model.load` and runs it on inputs of a shape the exporter never saw, against the bert_tf model
loaded afresh from the checkpoint (or, for raw strings, on the ids of the fast tokenizer). Each head is
exported once for the module (`exported`). The embedded model's raw-strings export is checked by
tests/docs/test_export_examples.py, on the export docs/export.md's example makes.

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_common import BertConfig, BertTokenizerFast
from bert_common.files import default_model_dir
from bert_tf import export as tf_export
from bert_tf.pipelines import load_model, run_numpy
from bert_zoo.equivalence import TINY, random_canonical_weights
from bert_zoo.export import ExportError, ExportVerificationError, export
from bert_zoo.export_common import VERIFY_SHAPES
from bert_zoo.export_savedmodel import GRAPHS, TOKENIZER_CHECK
from conversion.checkpoint import write_weights
from tests.common.head_spec import expected_shapes
from tests.export.conftest import CASES, case_head, staging_leftovers
from tests.export.test_onnx import fresh_batch
from tests.helpers import ATOL

# Sentences the exporter's own verification does not use: accents, CJK, punctuation, a special token.
TEXTS = [
    "Ça, c'est l'été à Zürich!",
    "東京タワー：高さ333メートル。",
    "[CLS] x [SEP] ... O'Neil's 3.14 — ok?",
]


def flags(config):
    return {"output_hidden_states": False, **({"use_cache": False} if config.is_decoder else {})}


def assert_close(got, want, names, what):
    for name in names:
        assert got[name].shape == want[name].shape, (what, name)
        np.testing.assert_allclose(
            np.asarray(got[name]), want[name], rtol=0, atol=ATOL, err_msg=f"{what} {name}"
        )


# The head exported from a loaded bert_tf model rather than from its checkpoint directory.
LOADED = "BertForTokenClassification"


@pytest.fixture(scope="module")
def exported(tiny_checkpoints, tmp_path_factory):
    """case -> (ExportResult, directory): each head exported once, shared by the tests of this module
    that read an export without changing it. LOADED is exported from the model `load_model` gives (the
    loaded-model path), every other case from its checkpoint directory."""
    made = {}

    def get(case):
        if case not in made:
            source = tiny_checkpoints[case]
            if case == LOADED:
                source, _config, _ = load_model(case_head(case), str(source))
            out = tmp_path_factory.mktemp("savedmodel") / case.replace("+", "_")
            made[case] = (export(source, out, to="savedmodel"), out)
        return made[case]

    return get


@pytest.mark.parametrize("case", CASES)
def test_every_head_exports_to_a_savedmodel_and_matches_the_twin(case, tiny_checkpoints, exported):
    head = case_head(case)
    result, out = exported(case)

    model, config, _ = load_model(head, str(tiny_checkpoints[case]))
    fields = list(expected_shapes(head, config, with_loss=False))
    assert sorted(result.outputs) == sorted(fields)
    cross = ["encoder_hidden_states", "encoder_attention_mask"] if case.endswith("+cross") else []
    assert result.inputs == ["input_ids", "attention_mask", "token_type_ids", *cross]
    assert [c.graph for c in result.checks] == [g for _ in VERIFY_SHAPES for g in GRAPHS[:3]]
    assert result.passed and result.worst() <= ATOL
    assert json.loads((out / "config.json").read_text())["architectures"] == [head]

    # An independent check: a shape the exporter never ran, every way of calling the SavedModel.
    loaded = tf.saved_model.load(str(out))
    arrays = fresh_batch(config, head)  # int64
    want = run_numpy(model, arrays, **flags(config))
    int32 = {k: v.astype(np.int32) if v.dtype == np.int64 else v for k, v in arrays.items()}
    assert_close(loaded.serve(**arrays), want, fields, "serve int64")
    assert_close(loaded.serve(int32), want, fields, "serve(dict) int32")
    assert_close(loaded.signatures["serving_default"](**int32), want, fields, "serving_default")
    assert_close(loaded.signatures["serve"](**arrays), want, fields, "serve signature")
    # mask and token types left out: the model's defaults (all ones, all zeros)
    ids_only = {k: v for k, v in arrays.items() if k in ("input_ids", "encoder_hidden_states")}
    assert_close(loaded.serve(**ids_only), run_numpy(model, ids_only, **flags(config)), fields, "ids only")


def test_serve_is_what_keras_users_call(tiny_checkpoints, exported):
    source = tiny_checkpoints["BertForSequenceClassification"]
    _result, out = exported("BertForSequenceClassification")
    model, _config, _ = load_model("BertForSequenceClassification", str(source))
    ids = np.array([[2, 17, 30, 41, 3], [2, 50, 3, 0, 0]], np.int64)  # what numpy and TFBertTokenizer give
    mask = (ids > 0).astype(np.int64)
    want = model(ids, attention_mask=mask).logits.numpy()

    loaded = tf.saved_model.load(str(out))
    np.testing.assert_allclose(loaded.serve(ids, mask)["logits"], want, rtol=0, atol=ATOL)  # positional
    np.testing.assert_allclose(loaded.serve(ids.astype(np.int32))["logits"], model(ids).logits, atol=ATOL)

    # keras.layers.TFSMLayer calls `serve` with one argument: a tensor or a dict of tensors.
    layer = keras.layers.TFSMLayer(str(out), call_endpoint="serve")
    got = layer({"input_ids": ids, "attention_mask": mask})
    np.testing.assert_allclose(got["logits"], want, rtol=0, atol=ATOL)
    inputs = {
        name: keras.Input((None,), dtype="int32", name=name) for name in ("input_ids", "attention_mask")
    }
    wrapped = keras.Model(inputs, layer(inputs))
    got = wrapped({"input_ids": ids.astype(np.int32), "attention_mask": mask.astype(np.int32)})
    np.testing.assert_allclose(got["logits"], want, rtol=0, atol=ATOL)

    # The signatures: int32 serving_default and int64 serve, every input required and named.
    for name, dtype in (("serving_default", tf.int32), ("serve", tf.int64)):
        specs = loaded.signatures[name].structured_input_signature[1]
        assert {k: s.dtype for k, s in specs.items()} == dict.fromkeys(tf_export.SERVING_INPUTS, dtype)
    report = json.loads((out / "export.json").read_text())
    assert report["signatures"]["serving_default"]["input_ids"] == "int32"
    assert report["inputs"]["input_ids"] == {"dtype": "int32 or int64", "shape": [None, None]}
    assert report["endpoints"] == ["serve"] and report["versions"]["tensorflow"] == tf.__version__
    # a dtype no concrete function takes is refused by TensorFlow's dispatch, naming the options
    with pytest.raises((TypeError, ValueError), match="Could not find matching concrete function"):
        loaded.serve(ids.astype(np.float32))


@pytest.fixture(scope="module")
def with_tokenizer(tmp_path_factory):
    """A tiny classifier over the embedded model's vocabulary, with its tokenizer files."""
    directory = tmp_path_factory.mktemp("tiny_text")
    config = BertConfig(**{**TINY, "vocab_size": 30522, "max_position_embeddings": 64}, num_labels=3)
    config.architectures = ["BertForSequenceClassification"]
    head = "BertForSequenceClassification"
    write_weights(random_canonical_weights(config, head, 3), directory, "safetensors", model_class=head)
    config.save_pretrained(directory)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (default_model_dir() / name).is_file():
            shutil.copy(default_model_dir() / name, directory / name)
    return directory


def test_raw_strings_give_the_fast_tokenizers_ids(with_tokenizer, tmp_path):
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops for loading)

    out = tmp_path / "text"
    result = export(with_tokenizer, out, to="savedmodel", text=True)
    assert result.inputs[-2:] == ["text", "text_pair"] and result.passed
    assert result.worst(TOKENIZER_CHECK) == 0.0 and result.worst("serve_text") <= ATOL

    loaded = tf.saved_model.load(str(out))
    fast = BertTokenizerFast.from_pretrained(with_tokenizer)
    model, _config, _ = load_model("BertForSequenceClassification", str(with_tokenizer))
    long = " ".join(["word"] * 80)  # cut to max_position_embeddings (64) tokens, as the fast tokenizer cuts
    texts = [*TEXTS, long]
    for pair in (None, texts[::-1]):
        encoded = fast(texts, pair, padding=True, truncation=True, max_length=64, return_tensors="np")
        want = model(dict(encoded)).logits.numpy()
        args = [tf.constant(texts)] + ([] if pair is None else [tf.constant(pair)])
        np.testing.assert_allclose(loaded.serve_text(*args)["logits"], want, rtol=0, atol=ATOL)
        name = "serve_text" if pair is None else "serve_text_pairs"
        signature = loaded.signatures[name]
        assert set(signature.structured_input_signature[1]) == set(["text", "text_pair"][: len(args)])
        kwargs = dict(zip(["text", "text_pair"], args))
        np.testing.assert_allclose(signature(**kwargs)["logits"], want, rtol=0, atol=ATOL)
    layer = keras.layers.TFSMLayer(str(out), call_endpoint="serve_text")
    np.testing.assert_allclose(
        layer(tf.constant(TEXTS))["logits"],
        model(dict(fast(TEXTS, padding=True, return_tensors="np"))).logits,
        rtol=0,
        atol=ATOL,
    )


def test_text_for_a_head_that_cannot_take_it_and_other_bad_input(tiny_checkpoints, with_tokenizer, tmp_path):
    out = tmp_path / "bad"
    cases = [
        (
            {"source": tiny_checkpoints["BertForMultipleChoice"], "to": "savedmodel", "text": True},
            "text signatures feed [B, T] ids from the tokenizer; BertForMultipleChoice takes other inputs",
        ),
        (
            {"source": tiny_checkpoints["BertModel"], "to": "savedmodel", "text": True},
            "text signatures need the tokenizer files of",
        ),
        (
            {"source": with_tokenizer, "to": "onnx", "text": True},
            "text (raw-strings signatures) applies to --to savedmodel only, not onnx",
        ),
        ({"source": with_tokenizer, "to": "savedmodel", "opset": 17}, "opset applies to --to onnx only"),
    ]
    for kwargs, message in cases:
        source = kwargs.pop("source")
        with pytest.raises(ExportError) as info:
            export(source, out, **kwargs)
        assert str(info.value).startswith(message), str(info.value)
        assert len(str(info.value).splitlines()) == 1
        assert not out.exists() and staging_leftovers(out) == []
    # a model of another twin
    from bert_pt.pipelines import load_model as load_pt

    pt_model, _config, _ = load_pt("BertModel", str(tiny_checkpoints["BertModel"]))
    with pytest.raises(
        ExportError, match="^--to savedmodel exports a bert_tf model or a checkpoint directory"
    ):
        export(pt_model, out, to="savedmodel")


def test_a_loaded_keras_model_and_a_wrong_graph_that_fails_verification(
    tiny_checkpoints, exported, tmp_path, monkeypatch
):
    # The loaded model's export is the per-head test's LOADED case (checked there against the twin too).
    result, out = exported(LOADED)
    assert result.passed and result.head == "BertForTokenClassification"
    assert json.loads((out / "export.json").read_text())["source"] == "TFBertForTokenClassification"

    # A SavedModel whose forward pass is off by 1e-3: verification must fail and write nothing.
    real = tf_export.forward_function

    def off(model):
        forward = real(model)
        return lambda **inputs: {k: v + 1e-3 for k, v in forward(**inputs).items()}

    monkeypatch.setattr(tf_export, "forward_function", off)
    out = tmp_path / "off"
    with pytest.raises(
        ExportVerificationError,
        match=r"^verification failed: serv\S+ \(int\d\d\) vs bert_tf, logits on inputs \[",
    ):
        export(tiny_checkpoints["BertForSequenceClassification"], out, to="savedmodel")
    assert not out.exists() and staging_leftovers(out) == []
