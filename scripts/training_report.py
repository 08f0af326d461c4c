"""The real run of docs/guides/training.md: fine-tune the embedded all-MiniLM-L6-v2 on the review set with
each twin from the command line, and write the page's generated section and its plots.

    python scripts/training_report.py                  # about 6 minutes on a quiet 2-core machine
    python scripts/training_report.py --frameworks pt --epochs 1     # one twin, shorter

For each twin it runs, in a fresh process, exactly

    bert-zoo train --framework <pt|tf|flax> --task text-classification --model <embedded model>
        --train-file tests/fixtures/reviews/train.csv --validation-file tests/fixtures/reviews/validation.csv
        --output-dir <work>/<twin> --overwrite-output-dir --num-train-epochs 3
        --per-device-train-batch-size 16 --learning-rate 1e-4 --warmup-ratio 0.1 --weight-decay 0.01
        --max-seq-length 32 --seed 42 --logging-steps 1 --eval-strategy epoch --save-steps 0

(the same hyper-parameters and seed for all three; the train command's progress bar shows on stderr),
then reads `<work>/<twin>/trainer_state.json`: `log_history` holds every update's loss and `step_time`
and each epoch's validation metrics. The page section (between START and END in --page) gives the
command, the date, the machine and its load average (os.getloadavg() before and after: timings taken
on a busy machine say so), a table per twin (validation accuracy and macro F1 after each epoch, the last
epoch's mean training loss, the median and mean time per update without the first update, which
includes tracing / compilation, that first update's time, and the command's wall time), and two plots
written with matplotlib beside the docs (--plots-dir): the three twins' learning curves on one figure
(`training-loss.png`) and their validation accuracy per epoch (`training-accuracy.png`).

Shape legend: B batch (rows per update).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_zoo.doc_sections import write_section

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- training-report:start -->", "<!-- training-report:end -->"
DATA = ROOT / "tests" / "fixtures" / "reviews"
TWINS = {"pt": "PyTorch loop", "tf": "Keras fit", "flax": "optax TrainState"}
LIBRARIES = ("torch", "tensorflow", "keras", "jax", "flax", "optax")


def train_argv(framework: str, args: argparse.Namespace, output: Path) -> list[str]:
    """The `bert-zoo train` arguments of one twin's run (the same for every twin but --framework)."""
    source = ["--model", args.model] if args.config is None else ["--config", args.config]
    if args.tokenizer is not None:
        source += ["--tokenizer", args.tokenizer]
    argv = ["train", "--framework", framework, "--task", "text-classification", *source]
    argv += ["--train-file", args.train_file, "--validation-file", args.validation_file]
    argv += ["--output-dir", str(output), "--overwrite-output-dir", "--num-train-epochs", str(args.epochs)]
    argv += [
        "--per-device-train-batch-size",
        str(args.batch_size),
        "--learning-rate",
        str(args.learning_rate),
    ]
    argv += ["--warmup-ratio", "0.1", "--weight-decay", "0.01", "--max-seq-length", str(args.max_seq_length)]
    argv += [
        "--seed",
        str(args.seed),
        "--logging-steps",
        "1",
        "--eval-strategy",
        "epoch",
        "--save-steps",
        "0",
    ]
    return argv


def run_cli(argv: list[str]) -> None:
    """Run `bert-zoo <argv>` in a fresh Python process (its progress bar on this stderr).

    Raises:
        RuntimeError: the command exits with a non-zero code.
    """
    done = subprocess.run([sys.executable, "-m", "bert_zoo.cli", *argv], cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bert-zoo {' '.join(argv[:3])} exited with code {done.returncode}")


def curves(output: Path) -> dict[str, Any]:
    """One twin's curves from `output`/trainer_state.json: steps, losses, step times [updates] and the
    evaluations (epoch, eval_accuracy, eval_f1, eval_loss) in order.

    Raises:
        FileNotFoundError: the run wrote no trainer_state.json.
    """
    history = json.loads((output / "trainer_state.json").read_text())["log_history"]
    train = [e for e in history if "loss" in e]
    evals = [e for e in history if "eval_accuracy" in e]
    return {
        "step": [e["step"] for e in train],
        "loss": [e["loss"] for e in train],
        "step_time": [e["step_time"] for e in train],
        "epoch": [e["epoch"] for e in train],
        "evals": evals,
    }


def summary(curve: dict[str, Any], wall: float) -> dict[str, Any]:
    """The table's numbers of one twin: accuracy / F1 per epoch, the last epoch's mean loss, time per
    update (median and mean without the first update; the first alone) and the command's wall time."""
    times = np.asarray(curve["step_time"][1:] or curve["step_time"], dtype=np.float64)
    epochs = np.asarray(curve["epoch"])
    last = np.asarray(curve["loss"])[epochs > np.ceil(epochs.max()) - 1]
    return {
        "accuracy": [e["eval_accuracy"] for e in curve["evals"]],
        "f1": [e["eval_f1"] for e in curve["evals"]],
        "last_epoch_loss": float(last.mean()),
        "median_step": float(np.median(times)),
        "mean_step": float(times.mean()),
        "first_step": float(curve["step_time"][0]),
        "updates": len(curve["step"]),
        "wall": wall,
    }


def plot(results: dict[str, dict[str, Any]], plots_dir: Path) -> dict[str, Path]:
    """training-loss.png (per-update loss of every twin, one figure) and training-accuracy.png (validation
    accuracy per epoch) under `plots_dir`; returns {"loss": path, "accuracy": path}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots_dir.mkdir(parents=True, exist_ok=True)
    paths = {"loss": plots_dir / "training-loss.png", "accuracy": plots_dir / "training-accuracy.png"}
    fig, ax = plt.subplots(figsize=(7, 4))
    for twin, result in results.items():
        ax.plot(result["curve"]["step"], result["curve"]["loss"], label=f"{twin} ({TWINS[twin]})", lw=1)
    ax.set(
        xlabel="update", ylabel="training loss (cross-entropy)", title="Learning curves, same data and seed"
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths["loss"], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    for twin, result in results.items():
        evals = result["curve"]["evals"]
        ax.plot([e["epoch"] for e in evals], [e["eval_accuracy"] for e in evals], marker="o", label=twin)
    ax.axhline(0.5, color="grey", ls=":", label="majority class")
    ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.0, 1.02), title="Validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths["accuracy"], dpi=100)
    plt.close(fig)
    return paths


def _versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def _shown(argv: list[str], output: str, model: str | None) -> list[str]:
    """`argv` as the page shows it: the embedded model as $MODEL, paths relative to the repository."""
    shown = []
    for arg in argv:
        if arg == output:
            arg = "out/<twin>"
        elif model is not None and arg == model:
            arg = "$MODEL"
        elif arg.startswith(str(ROOT) + os.sep):
            arg = os.path.relpath(arg, ROOT)
        shown.append(arg)
    return shown


def section(
    results: dict[str, dict[str, Any]], context: dict[str, Any], paths: dict[str, Path], page: Path
) -> str:
    """The generated Markdown (markers included): how it was measured, the table, the plots."""
    load0, load1 = (", ".join(f"{x:.2f}" for x in context[k]) for k in ("load_before", "load_after"))
    lines = [
        START,
        "<!-- Generated by `python scripts/training_report.py`; do not edit by hand, run it again. -->",
        "",
        f"Measured {context['date']} on {context['cores']} cores ({platform.machine()}, Python "
        f"{platform.python_version()}; {_versions()}). **Load average (1, 5, 15 min): {load0} before, "
        f"{load1} after the run**; under load the times are slower than on a quiet machine, and as the "
        "load changes between the twins' runs they compare poorly across twins too.",
        "",
        f"Data: `{context['train_file']}` ({context['n_train']} rows) and `{context['validation_file']}` "
        f"({context['n_valid']} rows), two balanced labels (majority class: 0.50). Each twin ran, in its "
        "own process:",
        "",
        "```bash",
        *(
            [
                'MODEL=$(python -c "from bert_common.files import default_model_dir; print(default_model_dir())")'
            ]
            if context["model"]
            else []
        ),
        "bert-zoo " + " ".join(_shown(context["argv"], context["output"], context["model"])),
        "```",
        "",
        "| twin | validation accuracy after each epoch | macro F1 (last) | training loss, last epoch | "
        "time per update, median / mean (s) | first update (s) | command (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for twin, result in results.items():
        s = result["summary"]
        accuracy = " → ".join(f"{a:.3f}" for a in s["accuracy"])
        f1 = f"{s['f1'][-1]:.3f}" if s["f1"] else "-"
        lines.append(
            f"| {twin} ({TWINS[twin]}) | {accuracy} | {f1} | {s['last_epoch_loss']:.4f} | "
            f"{s['median_step']:.3f} / {s['mean_step']:.3f} | {s['first_step']:.2f} | {s['wall']:.0f} |"
        )
    lines += [
        "",
        f"Time per update: {results[next(iter(results))]['summary']['updates']} updates of "
        f"{context['batch_size']} rows, measured by the train command (`step_time` in `log_history`: from "
        "the end of one update to the end of the next, data included, evaluation excluded); the first "
        "update is left out of the median and mean because it traces / compiles the step (Keras, JAX) "
        "and warms up the allocator (PyTorch). Shapes differ by design: PyTorch pads each batch to its "
        "longest row, Keras to a multiple of 8 (a few retraces), Flax to `--max-seq-length` (one "
        "compilation). The curves differ where the twins draw dropout masks and the new classifier's "
        "weights from their own RNGs.",
        "",
    ]
    for key, title in (("loss", "Training loss per update"), ("accuracy", "Validation accuracy per epoch")):
        lines.append(f"![{title}]({os.path.relpath(paths[key], page.parent)})")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def report(args: argparse.Namespace, run: Callable[[list[str]], None] = run_cli) -> dict[str, Any]:
    """Train every twin of `args.frameworks` through `run(argv)`, then write the section and plots.
    Returns {twin: {"curve", "summary"}}."""
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="training-report-"))
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    twins = [t for t in args.frameworks.split(",") if t]
    for n, twin in enumerate(twins, 1):
        output = work / twin
        argv = train_argv(twin, args, output)
        print(f"[{n}/{len(twins)}] bert-zoo {' '.join(argv)}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        run(argv)
        wall = time.perf_counter() - began
        curve = curves(output)
        results[twin] = {"curve": curve, "summary": summary(curve, wall)}
        print(
            f"[{n}/{len(twins)}] {twin}: accuracy {results[twin]['summary']['accuracy']}, {wall:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    n_rows = [sum(1 for _ in open(f)) - 1 for f in (args.train_file, args.validation_file)]
    context = {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "train_file": os.path.relpath(args.train_file, ROOT),
        "validation_file": os.path.relpath(args.validation_file, ROOT),
        "n_train": n_rows[0],
        "n_valid": n_rows[1],
        "batch_size": args.batch_size,
        "argv": train_argv("<pt|tf|flax>", args, work / "TWIN"),
        "output": str(work / "TWIN"),
        "model": args.model if args.config is None and args.model == _embedded() else None,
    }
    page = Path(args.page)
    paths = plot(results, Path(args.plots_dir))
    write_section(page, section(results, context, paths, page), START, END)
    print(f"wrote {page} and {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return results


def _embedded() -> str:
    from bert_common.files import default_model_dir

    return str(default_model_dir())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The report's options (defaults: the real run of the page)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frameworks", default="pt,tf,flax")
    p.add_argument("--model", default=_embedded(), help="default: the embedded all-MiniLM-L6-v2")
    p.add_argument("--config", default=None, help="train from a config instead (tests: a tiny one)")
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--train-file", default=str(DATA / "train.csv"))
    p.add_argument("--validation-file", default=str(DATA / "validation.csv"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--max-seq-length", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--page", default=str(ROOT / "docs" / "guides" / "training.md"))
    p.add_argument("--plots-dir", default=str(ROOT / "docs"))
    p.add_argument(
        "--work-dir", default=None, help="where the runs write (default: a new temporary directory)"
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    report(parse_args())
