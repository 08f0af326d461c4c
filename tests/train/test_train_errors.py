"""Bad `bert-zoo train` arguments: one line on stderr naming the problem, exit code 2, nothing trained."""

from __future__ import annotations

import pytest

from bert_zoo.cli import main
from tests.train.toy import train_argv


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_task(toy, capsys):
    argv = train_argv(toy("text-classification"), "pt", "text-classification")
    argv[argv.index("--task") + 1] = "summarization"
    assert "unknown task 'summarization'" in _error(capsys, argv)


def test_unknown_framework(toy, capsys):
    argv = train_argv(toy("text-classification"), "mxnet", "text-classification")
    assert "unknown framework 'mxnet'" in _error(capsys, argv)


def test_missing_train_file(toy, capsys):
    root = toy("text-classification")
    (root / "train.csv").unlink()
    err = _error(capsys, train_argv(root, "pt", "text-classification"))
    assert f"--train-file {root / 'train.csv'}: no such file" in err


def test_missing_column(toy, capsys):
    root = toy("text-classification")
    err = _error(capsys, train_argv(root, "pt", "text-classification", label_column="sentiment"))
    assert "--label-column 'sentiment'" in err and "has no such column" in err
    assert not (root / "out" / "metrics.json").exists()


def test_model_and_config_together(toy, capsys):
    argv = train_argv(toy("mlm"), "pt", "mlm", model="bert-base-uncased")
    assert "give --model (to fine-tune) or --config" in _error(capsys, argv)


def test_non_empty_output_dir_needs_resume_or_overwrite(toy, capsys):
    root = toy("mlm")
    (root / "out").mkdir()
    (root / "out" / "keep.txt").write_text("x")
    assert "exists and is not empty" in _error(capsys, train_argv(root, "pt", "mlm"))


def test_resume_without_checkpoint(toy, capsys):
    root = toy("mlm")
    assert "holds no checkpoint" in _error(capsys, train_argv(root, "pt", "mlm", resume=True))


@pytest.mark.parametrize("value", ["0", "-3"])
def test_max_steps_must_be_positive(toy, capsys, value):
    argv = train_argv(toy("mlm"), "pt", "mlm")
    argv[argv.index("--max-steps") + 1] = value
    assert "--max-steps must be > 0" in _error(capsys, argv)


def test_eval_strategy_needs_a_validation_file(toy, capsys):
    argv = train_argv(toy("text-classification"), "pt", "text-classification", eval_strategy="epoch")
    cut = argv.index("--validation-file")
    del argv[cut : cut + 2]
    assert "--eval-strategy epoch needs --validation-file" in _error(capsys, argv)
