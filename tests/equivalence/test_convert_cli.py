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


# ---- issue 12 item 8: --overwrite, format names, --help, progress, sentence-transformers files, quiet TF

SENTENCE_TRANSFORMERS = {
    "modules.json": json.dumps(
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ]
    ),
    "1_Pooling/config.json": json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}),
    "2_Normalize/.keep": "",
    "sentence_bert_config.json": json.dumps({"max_seq_length": 64, "do_lower_case": False}),
    "config_sentence_transformers.json": json.dumps({"__version__": {"sentence_transformers": "2.0.0"}}),
    "README.md": "# a tiny sentence-transformers model\n",
}


def model_dir(tmp_path, name="src", sentence_transformers=False):
    """A copy of the tiny BertForPreTraining checkpoint (config.json + model.safetensors)."""
    src = tmp_path / name
    src.mkdir()
    for file in ("config.json", "model.safetensors"):
        shutil.copy(PRETRAINING / file, src / file)
    if sentence_transformers:
        for relative, text in SENTENCE_TRANSFORMERS.items():
            (src / relative).parent.mkdir(exist_ok=True)
            (src / relative).write_text(text)
    return src


def snapshot(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_overwrite_adds_a_format_beside_the_existing_one(tmp_path, capsys):
    """The copy dance the issue describes, in one command: tf_model.h5 beside model.safetensors."""
    directory = model_dir(tmp_path, "model", sentence_transformers=True)
    before = snapshot(directory)
    assert main(["convert", str(directory), str(directory), "--to", "tf"]) == 2
    assert "pass --overwrite" in capsys.readouterr().err and snapshot(directory) == before
    assert main(["convert", str(directory), str(directory), "--to", "tf", "--overwrite"]) == 0
    text = capsys.readouterr().out
    assert "kept:    model.safetensors" in text and "all fields within 1e-05" in text
    after = snapshot(directory)
    assert set(after) == set(before) | {"tf_model.h5"}
    assert all(after[name] == before[name] for name in before if name != "config.json")
    from conversion.checkpoint import read_checkpoint

    original, written = read_safetensors(PRETRAINING), read_checkpoint(directory, "tf-h5").state
    for name, value in original.items():
        np.testing.assert_array_equal(written[name], value, err_msg=name)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_overwrite_replaces_every_layout_of_the_format_and_is_atomic(tmp_path, capsys):
    out = model_dir(tmp_path, "out")
    (out / "model.safetensors").unlink()
    for stale in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        (out / stale).write_bytes(b"stale shard")
    (out / "model.safetensors.index.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    # a conversion that fails leaves OUT exactly as it was
    args = ["convert", str(PRETRAINING), str(out), "--overwrite", "--model-class", "BertForQuestionAnswering"]
    assert main(args) == 2
    assert snapshot(out) == before
    assert main(["convert", str(PRETRAINING), str(out), "--overwrite", "--no-verify"]) == 0
    assert sorted(snapshot(out)) == ["config.json", "model.safetensors", "notes.txt"]
    (tmp_path / "a-file").write_text("x")
    assert main(["convert", str(PRETRAINING), str(tmp_path / "a-file"), "--overwrite"]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, files",
    [
        ("pt", ["model.safetensors"]),
        ("safetensors", ["model.safetensors"]),
        ("bin", ["pytorch_model.bin"]),
        ("tf", ["tf_model.h5"]),
        ("h5", ["tf_model.h5"]),
        ("flax", ["flax_model.msgpack"]),
        ("msgpack", ["flax_model.msgpack"]),
    ],
)
def test_format_names_of_the_rest_of_the_cli(tmp_path, capsys, name, files):
    out = tmp_path / name
    assert main(["convert", str(PRETRAINING), str(out), "--to", name, "--no-verify"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(["config.json", *files])
    source = {"pt": "pt", "safetensors": "pt", "bin": "pt", "tf": "tf", "h5": "h5"}.get(name, "flax")
    again = tmp_path / f"{name}-again"
    assert main(["convert", str(out), str(again), "--from", source, "--no-verify"]) == 0
    assert read_safetensors(again).keys() == read_safetensors(PRETRAINING).keys()


def test_from_pt_needs_pytorch_files(tmp_path, capsys):
    h5 = tmp_path / "h5"
    assert main(["convert", str(PRETRAINING), str(h5), "--to", "tf", "--no-verify"]) == 0
    capsys.readouterr()
    assert main(["convert", str(h5), str(tmp_path / "o"), "--from", "pt"]) == 2
    err = capsys.readouterr().err
    assert "--from pt:" in err and "holds no PyTorch weights" in err and len(err.strip().splitlines()) == 1


def test_help_shows_defaults_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # as one line, whatever the terminal's width
    for shown in ("(default: safetensors)", "(default: auto)", "(default: 5GB)", "--overwrite", "examples:"):
        assert shown in text
    assert "bert-zoo convert ./my-model ./my-model --to tf --overwrite" in text


@pytest.mark.parametrize(
    "size, message",
    [("0", "shard size must be positive, got 0"), ("garbage", "cannot read shard size 'garbage'")],
)
def test_max_shard_size_is_checked_before_anything_is_read(tmp_path, capsys, size, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(tmp_path / "missing"), str(tmp_path / "o"), "--max-shard-size", size])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument --max-shard-size: {message}" in err[0]


def test_max_shard_size_shards_safetensors_only(tmp_path, capsys):
    out = tmp_path / "sharded"
    assert main(["convert", str(PRETRAINING), str(out), "--max-shard-size", "40000", "--no-verify"]) == 0
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert read_safetensors(out).keys() == read_safetensors(PRETRAINING).keys()
    assert (
        main(["convert", str(PRETRAINING), str(tmp_path / "h5"), "--to", "tf", "--max-shard-size", "1MB"])
        == 2
    )
    assert "--max-shard-size applies to safetensors only" in capsys.readouterr().err


def test_sentence_transformers_files_are_carried(tmp_path, capsys):
    src = model_dir(tmp_path, sentence_transformers=True)
    out = tmp_path / "out"
    assert main(["convert", str(src), str(out), "--to", "flax", "--no-verify"]) == 0
    assert "modules.json" in capsys.readouterr().out
    written = snapshot(out)
    for name, text in SENTENCE_TRANSFORMERS.items():
        assert written[name] == text.encode(), name
    (src / "modules.json").write_text('{"not": "a list"}')
    assert main(["convert", str(src), str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "is not a sentence-transformers modules list" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_progress_on_reading_writing_and_verifying(tmp_path, capsys, monkeypatch):
    assert main(["convert", str(PRETRAINING), str(tmp_path / "quiet"), "--to", "tf"]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bars
    monkeypatch.setattr("bert_zoo.console.show_progress", lambda: True)
    assert main(["convert", str(PRETRAINING), str(tmp_path / "shown"), "--to", "tf"]) == 0
    err = capsys.readouterr().err
    for bar in ("reading model.safetensors", "writing tf-h5", "verifying"):
        assert bar in err, err


@pytest.mark.parametrize("command", ["convert", "diff"])
def test_no_tensorflow_lines_on_stderr(tmp_path, command):
    """A Google TF1 checkpoint is read with TensorFlow outside the twins; its C++ start-up lines ("All log
    messages before absl::InitializeLog() ...", "Could not find cuda drivers ...") used to reach stderr."""
    source = str(REFERENCE / "formats" / "google_tf1")
    args = [source, str(tmp_path / "out")] if command == "convert" else [source]
    result = subprocess.run(
        [sys.executable, "-m", "bert_zoo.cli", command, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
