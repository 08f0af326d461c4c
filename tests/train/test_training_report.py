"""scripts/training_report.py on a tiny config and the toy classification set: the three twins train
through the `bert-zoo train` command (in this process), and the page's generated section, its table
(one row per twin, one accuracy per epoch, equal to what each run wrote) and both plots are written;
the text outside the markers is left alone. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys

from bert_zoo.cli import main
from tests.docs.blocks import ROOT
from tests.train.toy import classification_rows, write_csv, write_model_files

spec = importlib.util.spec_from_file_location("training_report", ROOT / "scripts" / "training_report.py")
training_report = importlib.util.module_from_spec(spec)
sys.modules["training_report"] = training_report
spec.loader.exec_module(training_report)

PNG = b"\x89PNG\r\n\x1a\n"


def _run_in_process(argv: list[str]) -> None:
    assert main(argv) == 0


def test_report_writes_section_table_and_plots(tmp_path):
    config, tokenizer = write_model_files(tmp_path, dropout=0.1)
    train = write_csv(tmp_path / "train.csv", classification_rows(32, 0))
    dev = write_csv(tmp_path / "dev.csv", classification_rows(16, 1))
    page = tmp_path / "docs" / "guides" / "training.md"
    page.parent.mkdir(parents=True)
    before, after = "# Training\n\nhand-written text\n\n", "\n\n## Later section\n"
    page.write_text(f"{before}{training_report.START}\nold\n{training_report.END}{after}")
    args = training_report.parse_args(
        [
            *("--config", str(config), "--tokenizer", str(tokenizer)),
            *("--train-file", str(train), "--validation-file", str(dev)),
            *("--epochs", "2", "--batch-size", "8", "--learning-rate", "1e-2", "--max-seq-length", "16"),
            *(
                "--page",
                str(page),
                "--plots-dir",
                str(tmp_path / "docs"),
                "--work-dir",
                str(tmp_path / "runs"),
            ),
        ]
    )
    results = training_report.report(args, run=_run_in_process)

    text = page.read_text()
    assert text.startswith(before + training_report.START) and text.endswith(training_report.END + after)
    assert "old" not in text and "Load average (1, 5, 15 min)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(" in line.split("|")[1]]
    assert [row.split("|")[1].split()[0] for row in rows] == ["pt", "tf", "flax"]
    for twin, row in zip(("pt", "tf", "flax"), rows):
        metrics = json.loads((tmp_path / "runs" / twin / "metrics.json").read_text())
        accuracies = row.split("|")[2].split("→")
        assert len(accuracies) == 2  # one evaluation per epoch
        assert float(accuracies[-1]) == round(metrics["eval_accuracy"], 3)
        curve = results[twin]["curve"]
        assert curve["step"] == list(range(1, 9))  # 32 rows / 8 per update x 2 epochs, every update logged
        assert [e["epoch"] for e in curve["evals"]] == [1.0, 2.0]
    for name in ("training-loss.png", "training-accuracy.png"):
        png = tmp_path / "docs" / name
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000
        assert f"](../{name})" in text  # linked relative to the page
