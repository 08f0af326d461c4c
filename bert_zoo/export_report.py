"""The measured section of docs/export.md: every export run and verified, its differences as tables.

    python -m bert_zoo.export_report              # rewrite the section of docs/export.md in place
    python -m bert_zoo.export_report --print      # print the section instead

Exports the embedded all-MiniLM-L6-v2 (ONNX, ONNX optimized, StableHLO, SavedModel with its raw-strings
signatures) and a tiny model of every head
(hidden 32, 2 layers, random N(0, 0.2) weights, the causal LM also with cross-attention) with
`bert_zoo.export.export`, and writes the max |diff| against the twin per output field (MiniLM) and per
head, between the markers `<!-- measured: start -->` and `<!-- measured: end -->`. Nothing in the
section is written by hand.

Shape legend: B batch, C choices, T positions.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from bert_common.config import BertConfig
from bert_common.files import default_model_dir
from bert_common.heads import HEADS
from bert_zoo.doc_sections import write_section
from bert_zoo.equivalence import TINY, random_canonical_weights
from bert_zoo.export import export
from bert_zoo.export_common import VERIFY_SHAPES, ExportResult
from bert_zoo.export_savedmodel import GRAPHS as SAVEDMODEL_GRAPHS
from bert_zoo.export_savedmodel import TOKENIZER_CHECK

START, END = "<!-- measured: start -->", "<!-- measured: end -->"
PAGE = Path(__file__).resolve().parents[1] / "docs" / "export.md"
# Every head, and the causal LM again with cross-attention (two more graph inputs).
CASES = [*sorted(HEADS), "BertLMHeadModel+cross"]
GRAPHS = ("onnxruntime", "onnxruntime optimized", "jax.export")


def tiny_checkpoint(case: str, directory: Path, seed: int) -> Path:
    """A tiny checkpoint of the head of `case` with random weights, written to `directory`."""
    from conversion.checkpoint import write_weights

    head = case.split("+")[0]
    config = BertConfig(
        **TINY,
        num_labels=2 if head == "BertForQuestionAnswering" else 3,
        is_decoder=head == "BertLMHeadModel",
        add_cross_attention=case.endswith("+cross"),
    )
    config.architectures = [head]
    write_weights(random_canonical_weights(config, head, seed), directory, "safetensors", model_class=head)
    config.save_pretrained(directory)
    return directory


def measure(work: Path) -> tuple[dict[str, ExportResult], dict[str, dict[str, ExportResult]]]:
    """(MiniLM's results by format, every tiny case's results by format), all verified."""
    minilm = {
        "onnx": export(default_model_dir(), work / "minilm-onnx", to="onnx", optimize=True),
        "stablehlo": export(default_model_dir(), work / "minilm-stablehlo", to="stablehlo"),
        "savedmodel": export(default_model_dir(), work / "minilm-savedmodel", to="savedmodel", text=True),
    }
    tiny = {}
    for seed, case in enumerate(CASES):
        source = tiny_checkpoint(case, work / f"tiny-{seed}", seed)
        tiny[case] = {
            fmt: export(source, work / f"tiny-{seed}-{fmt}", to=fmt, optimize=fmt == "onnx")
            for fmt in ("onnx", "stablehlo", "savedmodel")
        }
    return minilm, tiny


def _cell(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.1e}"


def _size(result: ExportResult, name: str) -> str:
    return f"{(Path(result.path) / name).stat().st_size / 2**20:.1f} MB"


def render(minilm: dict[str, ExportResult], tiny: dict[str, dict[str, ExportResult]]) -> str:
    """The measured section (markers included) from the results of `measure`."""
    shapes = ", ".join(f"({b}, {t})" for b, t in VERIFY_SHAPES)
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("torch", "onnx", "onnxruntime", "jax", "flax")
    )
    onnx, hlo = minilm["onnx"], minilm["stablehlo"]
    lines = [
        START,
        "",
        "<!-- Written by `python -m bert_zoo.export_report`; do not edit by hand. -->",
        "",
        f"Max |export - twin| over the verification inputs: (B, T) = {shapes}, every second row padded",
        "(multiple choice: 2 or 3 choices per row). The twin is bert_pt for ONNX, bert_flax for StableHLO,",
        "bert_tf for the SavedModel.",
        f"Measured with {versions}, on CPU.",
        "",
        "### all-MiniLM-L6-v2 (the embedded model)",
        "",
        "| output field | ONNX (onnxruntime) | ONNX optimized | StableHLO (jax.export) |",
        "| --- | --- | --- | --- |",
    ]
    for field in onnx.outputs:
        lines.append(
            f"| `{field}` | {_cell(onnx.worst_by_field('onnxruntime')[field])} "
            f"| {_cell(onnx.worst_by_field('onnxruntime optimized')[field])} "
            f"| {_cell(hlo.worst_by_field('jax.export')[field])} |"
        )
    lines += [
        "",
        f"Files: `model.onnx` {_size(onnx, 'model.onnx')}, `model.optimized.onnx` "
        f"{_size(onnx, 'model.optimized.onnx')}, `model.stablehlo` {_size(hlo, 'model.stablehlo')}.",
        "",
        "### A tiny model of every head",
        "",
        "Hidden size 32, 2 layers, random N(0, 0.2) weights; worst output field per head.",
        "",
        "| head | outputs | ONNX (onnxruntime) | ONNX optimized | StableHLO (jax.export) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for case, results in tiny.items():
        name = case.replace("+cross", " (cross-attention)")
        outputs = ", ".join(f"`{o}`" for o in results["onnx"].outputs)
        lines.append(
            f"| {name} | {outputs} | {_cell(results['onnx'].worst('onnxruntime'))} "
            f"| {_cell(results['onnx'].worst('onnxruntime optimized'))} "
            f"| {_cell(results['stablehlo'].worst('jax.export'))} |"
        )
    lines += ["", *_savedmodel_section(minilm["savedmodel"], tiny), "", END]
    return "\n".join(lines)


def _savedmodel_section(minilm: ExportResult, tiny: dict[str, dict[str, ExportResult]]) -> list[str]:
    """The SavedModel tables: every endpoint checked, per output field (MiniLM) and per head."""
    versions = ", ".join(f"{name} {version(name)}" for name in ("tensorflow", "keras", "tensorflow-text"))
    ids = minilm.worst(TOKENIZER_CHECK)
    lines = [
        "### TensorFlow SavedModel (the Keras twin)",
        "",
        "Loaded back with `tf.saved_model.load`; each endpoint against bert_tf on the inputs above",
        "(`serve (input_ids only)`: the ids alone, against the model called with ids alone; `serve_text`:",
        "five sentences with accents, CJK, punctuation and `[MASK]`, single and paired, against the model on",
        "the fast tokenizer's ids). The in-graph tokenizer's ids against BertTokenizerFast's on the same",
        f"sentences: max |diff| {_cell(ids)} (identical). Measured with {versions}, on CPU.",
        "",
        "| output field (all-MiniLM-L6-v2) | " + " | ".join(f"`{g}`" for g in SAVEDMODEL_GRAPHS) + " |",
        "| --- |" + " --- |" * len(SAVEDMODEL_GRAPHS),
    ]
    for field in minilm.outputs:
        cells = [_cell(minilm.worst_by_field(g)[field]) for g in SAVEDMODEL_GRAPHS]
        lines.append(f"| `{field}` | " + " | ".join(cells) + " |")
    graphs = SAVEDMODEL_GRAPHS[:3]
    lines += [
        "",
        f"SavedModel directory: {_tree_size(Path(minilm.path)):.1f} MB (`saved_model.pb` and `variables/`).",
        "",
        "| head (tiny, worst output field) | " + " | ".join(f"`{g}`" for g in graphs) + " |",
        "| --- |" + " --- |" * len(graphs),
    ]
    for case, results in tiny.items():
        name = case.replace("+cross", " (cross-attention)")
        cells = [_cell(results["savedmodel"].worst(g)) for g in graphs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _tree_size(directory: Path) -> float:
    """MB of the SavedModel proper: saved_model.pb and the variables folder."""
    files = [directory / "saved_model.pb", *(directory / "variables").rglob("*")]
    return sum(p.stat().st_size for p in files if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    """Measure and rewrite docs/export.md's section (or print it with --print); returns 0."""
    parser = argparse.ArgumentParser(
        prog="python -m bert_zoo.export_report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--print", action="store_true", help="print the section instead of writing the page")
    parser.add_argument("--page", type=Path, default=PAGE, help=f"the page to rewrite (default {PAGE})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        section = render(*measure(Path(work)))
    if args.print:
        print(section)
    else:
        write_section(args.page, section, START, END)
        print(f"wrote the measured section of {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
