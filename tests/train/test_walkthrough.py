"""Every `bert-zoo train` line of the walk-through in docs/guides/training.md runs, in page order, on a
tiny config and toy files with the page's names (bert_config.json, vocab_dir, corpus.txt, held_out.txt,
train.csv, dev.csv) and a few steps instead of the page's 100000: pretraining writes checkpoints, the
--resume line continues from the last one and ends on the weights of the uninterrupted run (bitwise in
PyTorch, within 1e-6 in Keras and Flax, as tests/train/test_train_*.py), and fine-tuning from the
pretrained directory evaluates after each epoch."""

from __future__ import annotations

import json
import shlex
import shutil

import numpy as np
import pytest

from bert_zoo.cli import main
from tests.docs.blocks import ROOT
from tests.train.conftest import weights
from tests.train.toy import classification_rows, write_csv, write_data, write_model_files

PAGE = ROOT / "docs" / "guides" / "training.md"
SMALL = {"--max-steps": "4", "--save-steps": "2", "--warmup-steps": "1", "--num-train-epochs": "2"}
TOLERANCE = {"pt": 0.0, "tf": 1e-6, "flax": 1e-6}


def walkthrough_commands() -> dict[str, list[list[str]]]:
    """{framework: the argv (after `bert-zoo`) of each train line of its bash block, in order}."""
    text = PAGE.read_text()
    section = text[text.index("## Walk-through") : text.index("\n## ", text.index("## Walk-through") + 1)]
    found: dict[str, list[list[str]]] = {}
    for block in section.split("```bash")[1:]:
        body = block.split("```")[0].replace("\\\n", " ")
        for line in body.splitlines():
            if line.startswith("bert-zoo train"):
                argv = shlex.split(line)[1:]
                found.setdefault(argv[argv.index("--framework") + 1], []).append(argv)
    return found


def _small(argv: list[str]) -> list[str]:
    out = [SMALL.get(argv[i - 1], arg) if i else arg for i, arg in enumerate(argv)]
    return [*out, "--max-seq-length", "32", "--disable-tqdm", "--per-device-train-batch-size", "8"]


@pytest.fixture
def page_files(tmp_path, monkeypatch):
    config, tokenizer = write_model_files(tmp_path / "tiny")
    shutil.copy(config, tmp_path / "bert_config.json")
    shutil.copytree(tokenizer, tmp_path / "vocab_dir")
    train, dev = write_data(tmp_path / "tiny", "pretraining")
    shutil.copy(train, tmp_path / "corpus.txt")
    shutil.copy(dev, tmp_path / "held_out.txt")
    write_csv(tmp_path / "train.csv", classification_rows(16, 0))
    write_csv(tmp_path / "dev.csv", classification_rows(8, 1))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_page_has_the_three_walkthroughs():
    commands = walkthrough_commands()
    assert sorted(commands) == ["flax", "pt", "tf"]
    for argvs in commands.values():
        assert [a[a.index("--task") + 1] for a in argvs] == [
            "pretraining",
            "pretraining",
            "text-classification",
        ]
        assert "--resume" in argvs[1] and "--resume" not in argvs[0]


@pytest.mark.parametrize("framework", ["pt", "tf", "flax"])
def test_walkthrough_runs_on_a_tiny_config(page_files, framework):
    pretrain, resume, finetune = (_small(argv) for argv in walkthrough_commands()[framework])
    out = page_files / pretrain[pretrain.index("--output-dir") + 1]
    assert main(pretrain) == 0
    assert (out / "checkpoint-2" / "trainer_state.json").is_file()
    uninterrupted = weights(out)
    assert main(resume) == 0  # continues from checkpoint-2 to step 4
    for name, value in weights(out).items():
        np.testing.assert_allclose(
            value, uninterrupted[name], rtol=0, atol=TOLERANCE[framework], err_msg=name
        )
    assert main(finetune) == 0
    classifier = page_files / finetune[finetune.index("--output-dir") + 1]
    history = json.loads((classifier / "trainer_state.json").read_text())["log_history"]
    assert [e["epoch"] for e in history if "eval_accuracy" in e] == [1.0, 2.0]
    assert "eval_f1" in json.loads((classifier / "metrics.json").read_text())
