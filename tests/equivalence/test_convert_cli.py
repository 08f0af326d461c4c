"""`bert-zoo convert` and `bert-zoo diff`: every target format, verified by loading both sides in the
matching twins; Google TF1 against Transformers' own reading of it; bad input leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bert_zoo.cli import main
from conversion.formats import read_safetensors
from tests.helpers import REFERENCE, load_reference_case

PRETRAINING = REFERENCE / "tiny" / "BertForPreTraining"


def test_chain_through_every_format_is_lossless(tmp_path, capsys):
    source, steps = PRETRAINING, ["tf-h5", "flax-msgpack", "pytorch", "safetensors"]
    for fmt in steps:
        out = tmp_path / fmt
        assert main(["convert", str(source), str(out), "--to", fmt]) == 0
        text = capsys.readouterr().out
        assert "all fields within 1e-05" in text and "head BertForPreTraining" in text
        source = out
    assert sorted(p.name for p in source.iterdir()) == ["config.json", "model.safetensors"]
    original, final = read_safetensors(PRETRAINING), read_safetensors(source)
    assert sorted(original) == sorted(final)
    for name in original:
        np.testing.assert_array_equal(final[name], original[name], err_msg=name)
    assert json.loads((source / "config.json").read_text())["architectures"] == ["BertForPreTraining"]


def test_verification_prints_each_field_and_compares_twins(tmp_path, capsys):
    assert main(["convert", str(PRETRAINING), str(tmp_path / "h5"), "--to", "tf-h5"]) == 0
    text = capsys.readouterr().out
    assert "source in pt vs result in tf" in text
    for field in ("prediction_logits", "seq_relationship_logits", "hidden_states"):
        assert field in text


def test_google_tf1_checkpoint_matches_transformers_reading_of_it(tmp_path, capsys):
    """formats/google_tf1 holds the BertForPreTraining reference weights as a Google checkpoint with Adam
    slots; outputs.npz is what Transformers' load_tf_weights_in_bert made of it."""
    out = tmp_path / "converted"
    assert main(["convert", str(REFERENCE / "formats" / "google_tf1"), str(out)]) == 0
    text = capsys.readouterr().out
    assert "optimizer state" in text and "(93 in all)" in text  # 46 tensors x (adam_m, adam_v) + global_step
    assert {"vocab.txt", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in out.iterdir()}
    import torch

    import bert_pt

    golden = np.load(REFERENCE / "formats" / "google_tf1" / "outputs.npz")
    case = load_reference_case("BertForPreTraining")
    model = bert_pt.BertForPreTraining.from_pretrained(out)
    with torch.no_grad():
        result = model(
            **{k: torch.from_numpy(case.inputs[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
        )
    assert float(np.abs(result.prediction_logits.numpy() - golden["prediction_logits"]).max()) <= 1e-5
    assert (
        float(np.abs(result.seq_relationship_logits.numpy() - golden["seq_relationship_logits"]).max())
        <= 1e-5
    )


def test_transformers_tf_and_flax_files_convert(tmp_path, capsys):
    for name in ("tf_model.h5", "flax_model.msgpack"):
        src = tmp_path / f"src-{name}"
        src.mkdir()
        shutil.copy(REFERENCE / "formats" / "BertForSequenceClassification-single" / name, src / name)
        shutil.copy(
            REFERENCE / "formats" / "BertForSequenceClassification-single" / "config.json",
            src / "config.json",
        )
        assert main(["convert", str(src), str(tmp_path / f"out-{name}")]) == 0
        assert "head BertForSequenceClassification" in capsys.readouterr().out
        converted = read_safetensors(tmp_path / f"out-{name}")
        reference = read_safetensors(REFERENCE / "tiny" / "BertForSequenceClassification-single")
        for key, value in reference.items():
            np.testing.assert_array_equal(converted[key], value)


@pytest.mark.parametrize(
    "prepare, message",
    [
        ("truncate", "is not a readable safetensors file"),
        ("config-mismatch", "do not fit the model"),
        ("no-weights", "no model weights found"),
        ("wrong-class", "lacks 2 weight(s) of BertForQuestionAnswering"),
    ],
)
def test_bad_input_leaves_nothing_in_out(tmp_path, capsys, prepare, message):
    src = tmp_path / "src"
    shutil.copytree(PRETRAINING, src)
    args = []
    if prepare == "truncate":
        weights = src / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:-100])
    elif prepare == "config-mismatch":
        config = json.loads((src / "config.json").read_text())
        config["hidden_size"], config["num_attention_heads"] = 64, 4
        (src / "config.json").write_text(json.dumps(config))
    elif prepare == "no-weights":
        (src / "model.safetensors").unlink()
    elif prepare == "wrong-class":
        args = ["--model-class", "BertForQuestionAnswering"]
    out = tmp_path / "out"
    assert main(["convert", str(src), str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no temporary left


def test_existing_output_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["convert", str(PRETRAINING), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_format_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bert_zoo.cli",
            "convert",
            str(PRETRAINING),
            str(tmp_path / "o"),
            "--to",
            "onnx",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid choice: 'onnx'" in lines[0]
    assert not (tmp_path / "o").exists()


def test_diff_prints_every_stage(capsys):
    assert main(["diff", str(PRETRAINING), "--frameworks", "pt,tf,flax"]) == 0
    text = capsys.readouterr().out
    for stage in ("embeddings", "layer 0", "layer 1", "pooler", "BertForPreTraining.prediction_logits"):
        assert stage in text
    assert "all stages within 1e-05" in text
    assert "| pt-tf" in text and "tf-flax" in text


def test_diff_needs_two_known_frameworks(capsys):
    assert main(["diff", str(PRETRAINING), "--frameworks", "pt"]) == 2
    assert main(["diff", str(PRETRAINING), "--frameworks", "pt,mxnet"]) == 2
