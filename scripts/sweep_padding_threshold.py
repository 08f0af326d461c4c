"""Where padding-free starts to pay: the PyTorch twin's padded and padding-free forward passes on batches
with 0% to 30% padding, timed alternately in one process; writes a table into docs/padding-free.md (the
section between the `sweep_padding_threshold` markers).

    python scripts/sweep_padding_threshold.py               # 7 alternating repeats per batch
    python scripts/sweep_padding_threshold.py --repeats 3 --no-write

`bert_common.packing.MIN_PADDING_FRACTION` is the padding fraction above which the pipelines run a
batch padding-free (`bert_common.batching.use_padding_free`); this sweep is what it is read from. The
shapes are the pipelines' (the embedded all-MiniLM-L6-v2, batch 8 of short lines, and batch 32 of
64-token inputs) and the benchmark's bert-base (random weights, 8 x 128). A batch of padding fraction
f holds rows whose lengths fall evenly from T to about (1 - 2f) T, so the mean row is (1 - f) T tokens.
Ratios below 1 mean padding-free is faster. Read them as ratios of one run: absolute seconds swing with
the machine's load, and a ratio within about 3% of 1 is a tie.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bert_common import BertConfig  # noqa: E402
from bert_common.files import default_model_dir  # noqa: E402
from bert_common.packing import MIN_PADDING_FRACTION, padding_fraction  # noqa: E402
from bert_pt import BertModel  # noqa: E402
from bert_zoo.bench_stats import alternate  # noqa: E402
from bert_zoo.doc_sections import write_section  # noqa: E402

DOC = ROOT / "docs" / "padding-free.md"
START = "<!-- sweep_padding_threshold: start (written by scripts/sweep_padding_threshold.py; do not edit by hand) -->"
END = "<!-- sweep_padding_threshold: end -->"
FRACTIONS = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3)
# (label, model, B, T): the pipelines' shapes on the embedded model, and the benchmark's bert-base
SHAPES = (
    ("all-MiniLM-L6-v2", "minilm", 8, 16),
    ("all-MiniLM-L6-v2", "minilm", 32, 64),
    ("bert-base", "base", 8, 128),
)


def ragged_mask(batch: int, length: int, fraction: float) -> np.ndarray:
    """int64 [B, T] right-padded mask whose row lengths fall evenly from T, padding about `fraction` of it."""
    shortest = max(1, round((1.0 - 2.0 * fraction) * length))
    lengths = np.round(np.linspace(length, shortest, batch)).astype(np.int64)
    return (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)


def build(kind: str) -> BertModel:
    if kind == "minilm":
        return BertModel.from_pretrained(str(default_model_dir())).eval()
    torch.manual_seed(0)
    return BertModel(BertConfig()).eval()


def measure(repeats: int) -> list[tuple[str, int, int, float, float, float, float]]:
    """(model, B, T, padding fraction, padded s, padding-free s, ratio) per batch, medians."""
    rows = []
    for label, kind, batch, length in SHAPES:
        model = build(kind)
        rng = np.random.default_rng(0)
        for fraction in FRACTIONS:
            mask = torch.from_numpy(ragged_mask(batch, length, fraction))
            ids = torch.from_numpy(rng.integers(5, model.config.vocab_size, (batch, length))) * mask

            def run(
                free: bool, model: BertModel = model, ids: torch.Tensor = ids, mask: torch.Tensor = mask
            ) -> None:
                with torch.inference_mode():
                    model(input_ids=ids, attention_mask=mask, padding_free=free)

            padded, free = alternate([lambda: run(False), lambda: run(True)], repeats, warmup=2)
            p, f = statistics.median(padded), statistics.median(free)
            rows.append((label, batch, length, padding_fraction(mask.numpy()), p, f, f / p))
            print(f"{label} {batch}x{length} padding {rows[-1][3]:.1%}: ratio {f / p:.3f}", file=sys.stderr)
    return rows


def table(rows: list, repeats: int, load: tuple[float, float]) -> str:
    lines = [
        START,
        "",
        f"PyTorch twin, {torch.get_num_threads()} threads on {platform.processor() or platform.machine()}, "
        f"medians of {repeats} alternating runs, load average {load[0]:.1f} before and {load[1]:.1f} after. "
        f"The pipelines' threshold today: `MIN_PADDING_FRACTION = {MIN_PADDING_FRACTION}`.",
        "",
        "| model | batch | padding | padded (ms) | padding-free (ms) | padding-free / padded |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, batch, length, fraction, padded, free, ratio in rows:
        lines.append(
            f"| {label} | {batch} x {length} | {fraction:.1%} | {padded * 1e3:.1f} | {free * 1e3:.1f} | {ratio:.2f} |"
        )
    return "\n".join([*lines, "", END])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/padding-free.md")
    args = parser.parse_args(argv)
    before = os.getloadavg()[0]
    rows = measure(args.repeats)
    section = table(rows, args.repeats, (before, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        write_section(DOC, section, START, END, append=True)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
