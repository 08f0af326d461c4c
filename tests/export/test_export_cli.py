"""The export command: `python -m bert_zoo.export` (what `bert-zoo export` runs) and its exit codes:
0 done, 1 verification failed (nothing written), 2 bad input (one line on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bert_zoo import export_onnx
from bert_zoo.export import add_export_parser, run_export
from tests.export.conftest import staging_leftovers

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bert_zoo.export", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_command_exports_and_prints_the_differences(tiny_checkpoints, tmp_path):
    out = tmp_path / "cli"
    done = run_cli(str(tiny_checkpoints["BertForMultipleChoice"]), str(out), "--to", "onnx", "--optimize")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(f"as BertForMultipleChoice -> {out} (onnx)")
    assert "verify:  onnxruntime vs bert_pt on inputs (1,2,1) (3,3,16) (2,2,40)" in done.stdout
    assert "verify:  onnxruntime optimized vs bert_pt" in done.stdout
    assert "  all fields within 1e-05" in lines
    report = json.loads((out / "export.json").read_text())
    assert report["inputs"]["input_ids"]["shape"] == ["batch", "choices", "sequence"]


def test_the_command_exports_a_savedmodel(tiny_checkpoints, tmp_path):
    out = tmp_path / "tf"
    done = run_cli(str(tiny_checkpoints["BertForQuestionAnswering"]), str(out), "--to", "savedmodel")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(f"as BertForQuestionAnswering -> {out} (savedmodel)")
    assert "outputs: start_logits, end_logits" in lines
    for graph in ("serve (int64)", "serving_default (int32)", "serve (input_ids only)"):
        assert f"verify:  {graph} vs bert_tf on inputs (1,1) (3,16) (2,40)" in done.stdout
    assert "  all fields within 1e-05" in lines
    assert (out / "saved_model.pb").is_file() and (out / "variables").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--to", "tflite"],
            "bert-zoo export: error: unknown export format 'tflite'; choose one of onnx, savedmodel, stablehlo",
        ),
        (["--head", "BertForQuestionAnswering"], "bert-zoo export: error: "),
        (["--opset", "twelve"], "bert-zoo export: error: argument --opset: invalid int value: 'twelve'"),
        (
            ["--to", "savedmodel", "--text"],
            "bert-zoo export: error: text signatures need the tokenizer files of",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, tiny_checkpoints, tmp_path):
    out = tmp_path / "bad"
    done = run_cli(str(tiny_checkpoints["BertModel"]), str(out), *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists() and staging_leftovers(out) == []


def test_a_missing_model_exits_2(tmp_path):
    done = run_cli(str(tmp_path / "nowhere"), str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("bert-zoo export: error: model directory not found")


def test_the_subcommand_parser_and_a_verification_failure_exit_1(
    tiny_checkpoints, tmp_path, monkeypatch, capsys
):
    # What bert_zoo/cli.py registers: add_export_parser on its sub-parsers, run_export as the handler.
    parser = argparse.ArgumentParser(prog="bert-zoo")
    add_export_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "wrong"
    args = parser.parse_args(["export", str(tiny_checkpoints["BertForSequenceClassification"]), str(out)])
    assert args.func is run_export and args.to == "onnx"

    # A graph that is off by 1e-3 everywhere: verification must fail, exit 1, and write nothing.
    real = export_onnx._graph_module

    def off(model, inputs, outputs):
        graph = real(model, inputs, outputs)
        forward = graph.forward
        graph.forward = lambda *tensors: tuple(t + 1e-3 for t in forward(*tensors))
        return graph

    monkeypatch.setattr(export_onnx, "_graph_module", off)
    assert args.func(args) == 1
    captured = capsys.readouterr()
    assert "  logits                       1.00e-03   <-- above 1e-5 (or NaN)" in captured.out
    assert captured.err.startswith("verification failed: onnxruntime vs bert_pt, logits on inputs")
    assert captured.err.strip().endswith(f"nothing written to {out}")
    assert not out.exists() and staging_leftovers(out) == []
