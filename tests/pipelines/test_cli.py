"""The `bert-zoo` command line, run as a user runs it: a subprocess, stdin, JSON lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import MINILM_SENTENCES, minilm_golden


def bert_zoo(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bert_zoo.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_help_lists_the_subcommands():
    result = bert_zoo("--help")
    assert result.returncode == 0
    for command in ("run", "demo", "convert", "diff"):
        assert command in result.stdout


def test_run_reads_stdin_and_writes_json_lines():
    result = bert_zoo(
        "run", "--task", "feature-extraction", "--pooling", "mean", stdin="\n".join(MINILM_SENTENCES) + "\n\n"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == MINILM_SENTENCES  # the blank line is skipped
    vectors = np.array([line["output"] for line in lines])
    assert float(np.max(np.abs(vectors - minilm_golden()["mean_pooled"]))) <= 1e-5


def test_run_task_on_a_tiny_model_with_text_arguments(task_models):
    result = bert_zoo(
        "run",
        "--task",
        "fill-mask",
        "--model",
        task_models["fill-mask"],
        "--top-k",
        "2",
        "the [MASK] sat",
        "a [MASK] .",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2 and all(len(line["output"]) == 2 for line in lines)
    assert {"score", "token", "token_str", "sequence"} == set(lines[0]["output"][0])


def test_run_question_answering_with_tab_separated_pairs(task_models):
    stdin = "who lives in paris?\tjohn smith lives in paris .\n"
    result = bert_zoo(
        "run", "--task", "question-answering", "--model", task_models["question-answering"], stdin=stdin
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)["output"]
    assert answer["answer"] == "john smith lives in paris ."[answer["start"] : answer["end"]]


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["run", "--task", "translation", "x"], None, "unknown task 'translation'"),
        (["run", "--task", "fill-mask", "--framework", "mxnet", "x"], None, "unknown framework 'mxnet'"),
        (["run", "--task", "question-answering", "who?"], None, "question-answering needs a context"),
        (["run", "--task", "feature-extraction"], "\n  \n", "empty input"),
        (
            ["run", "--task", "feature-extraction", "--model", "/no/such/dir", "x"],
            None,
            "model directory not found",
        ),
        (["run", "--task", "fill-mask", "the [MASK]"], None, "no trained weights for the fill-mask head"),
        # issue 11 item 7: every numeric option is range-checked (--top-k -1 used to print n-1 labels)
        (
            ["run", "--task", "fill-mask", "--top-k", "-1", "x"],
            None,
            "argument --top-k: must be an integer >= 1, got -1",
        ),
        (
            ["run", "--task", "fill-mask", "--top-k", "0", "x"],
            None,
            "argument --top-k: must be an integer >= 1, got 0",
        ),
        (
            ["run", "--task", "fill-mask", "--top-k", "two", "x"],
            None,
            "argument --top-k: must be an integer >= 1",
        ),
        (
            ["run", "--task", "fill-mask", "--batch-size", "0", "x"],
            None,
            "argument --batch-size: must be an integer >= 1",
        ),
        (["run", "--task", "fill-mask", "--batch-size", "-3", "x"], None, "argument --batch-size: must be"),
        # issue 13 item 12: an input with no tokens (the model would see an empty sequence) is refused
        (["run", "--task", "feature-extraction"], "a man\n\x01\x02\u200b\n", "input 2 has no tokens"),
        (["run", "--task", "feature-extraction", "\x7f"], None, "input 1 has no tokens"),
        (
            ["run", "--task", "feature-extraction", "--framework", "flax", "--fast", "x"],
            None,
            "--fast runs the PyTorch twin only (bert_zoo.fast), not --framework flax",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, stdin, message):
    result = bert_zoo(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "data, message",
    [
        (bytes(range(256)) * 2, "stdin holds a NUL byte at offset 0: binary data"),
        (b"caf\xe9 au lait\n\xff\xfe", "stdin is not UTF-8 text: byte b'\\xe9' at offset 3"),
    ],
)
def test_binary_stdin_is_one_line_and_exit_code_2(data, message):
    """Issue 13 item 12: binary garbage on stdin used to reach the tokenizer ("TextEncodeInput must be
    Union[...]") or be embedded silently; now one line names it."""
    result = subprocess.run(
        [sys.executable, "-m", "bert_zoo.cli", "run", "--task", "feature-extraction"],
        input=data,
        capture_output=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    stderr = result.stderr.decode()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and result.stdout == b""
    assert len(lines) == 1 and message in lines[0], stderr


def test_model_directory_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    result = bert_zoo("run", "--task", "feature-extraction", "--model", str(tmp_path), "x")
    assert result.returncode == 2 and "no model weights found" in result.stderr


def test_run_with_each_framework_gives_the_same_embedding():
    outputs = {}
    for framework in ("tf", "flax"):
        result = bert_zoo(
            "run",
            "--task",
            "feature-extraction",
            "--pooling",
            "mean",
            "--framework",
            framework,
            MINILM_SENTENCES[0],
        )
        assert result.returncode == 0, result.stderr
        outputs[framework] = np.array(json.loads(result.stdout)["output"])
    golden = minilm_golden()["mean_pooled"][0]
    for framework, vector in outputs.items():
        assert float(np.max(np.abs(vector - golden))) <= 1e-5, framework


def test_demo_ranks_sentences_and_reports_the_twins_difference(capsys):
    from bert_zoo.cli import main

    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    ranking = [
        line.split(None, 2)[2]
        for line in text.splitlines()
        if line.strip()[:2] in {f"{i}." for i in range(1, 9)}
    ]
    assert len(ranking) == 8
    assert set(ranking[:2]) == {
        "A man is riding a horse.",
        "A man is riding a white horse on an enclosed ground.",
    }
    for pair in ("pt vs tf", "pt vs flax", "tf vs flax"):
        assert pair in text
    assert "within the 1e-5 contract" in text


def _with_a_nan_weight(source: str, target) -> str:
    """A copy of the model directory `source` whose first query weight holds a NaN."""
    import shutil

    from safetensors.numpy import load_file, save_file

    shutil.copytree(source, target)
    state = load_file(str(target / "model.safetensors"))
    name = next(k for k in state if k.endswith("attention.self.query.weight"))
    state[name] = state[name].copy()
    state[name][0, 0] = np.nan
    save_file(state, str(target / "model.safetensors"))
    return str(target)


def test_a_nan_output_is_a_one_line_error_not_invalid_json(task_models, tmp_path):
    model = _with_a_nan_weight(task_models["feature-extraction"], tmp_path / "nan")
    result = bert_zoo("run", "--task", "feature-extraction", "--pooling", "mean", "--model", model, "hello")
    assert result.returncode == 2, result.stdout
    assert "NaN" not in result.stdout  # no invalid JSON line was written
    assert result.stderr.strip().splitlines()[-1] == (
        "bert-zoo run: error: input 1: the output holds NaN or Inf (do the model's weights hold NaN?)"
    )


def test_verbose_shows_the_traceback_and_keeps_the_exit_code(tmp_path):
    quiet = bert_zoo("run", "--task", "feature-extraction", "--model", str(tmp_path / "missing"), "x")
    loud = bert_zoo("-v", "run", "--task", "feature-extraction", "--model", str(tmp_path / "missing"), "x")
    assert quiet.returncode == loud.returncode == 2
    assert "Traceback" in loud.stderr and "Traceback" not in quiet.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip().splitlines()[-1]


def test_a_classifier_without_a_trained_pooler_is_refused(task_models):
    # a token-classification checkpoint has a `classifier` of a usable shape, but no pooler
    result = bert_zoo(
        "run", "--task", "text-classification", "--model", task_models["token-classification"], "x"
    )
    assert result.returncode == 2
    assert "has no trained weights for the text-classification head" in result.stderr
    assert "bert.pooler.dense" in result.stderr


def test_run_fast_gives_the_eager_answers(task_models):
    """`--fast` (bert_zoo.fast, verified on construction) answers as the eager model does, within 1e-5."""
    args = [
        "run",
        "--task",
        "feature-extraction",
        "--pooling",
        "mean",
        "--model",
        task_models["feature-extraction"],
    ]
    texts = ["the cat sat on the mat", "a dog", "it rained all day in the old town"]
    eager, fast = bert_zoo(*args, *texts), bert_zoo(*args, "--fast", *texts)
    assert eager.returncode == 0 and fast.returncode == 0, fast.stderr
    assert "fast path onnxruntime, verified against eager" in fast.stderr  # onnxruntime is in [export]
    vectors = [
        np.array([json.loads(line)["output"] for line in r.stdout.splitlines()]) for r in (eager, fast)
    ]
    assert vectors[0].shape == (3, vectors[0].shape[1]) and np.max(np.abs(vectors[0] - vectors[1])) <= 1e-5
