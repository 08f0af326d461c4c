"""`bert-zoo bench`: model speed per twin against Transformers and onnxruntime, written to a page.

    bert-zoo bench --preset issue                 # the rows of issue 16's table (bert-base, 8 x 128)
                                                  # and the fastest path (bert_zoo.fast) against both
    bert-zoo bench --preset quick --out /tmp/b.md # a tiny config, seconds (the tests run it)
    bert-zoo bench --preset full                  # every twin, mode and dtype, T 32..512, B 1..64

Forward and train step (sequence classification, AdamW) of each twin, fp32 and bf16, on fixed batches
(every position a token) and ragged ones (rows of random lengths padded to T). Transformers and
onnxruntime are compared when they import (bert_zoo.bench_runners says how each side runs): each case
alternates the two sides run by run in this process after untimed warm-up runs, and reports each
side's median and ratio = bert-zoo / reference (bert_zoo.bench_stats). Threads are left at each
framework's default and reported. The page (default docs/benchmarks.md) and its plots are written by
bert_zoo.bench_report; tables go to stdout too, a progress bar to stderr.

Speed depends on the machine and on what else runs on it: the page records the load average before and
after, and figures taken on a busy machine say so.

Shape legend: B batch, T positions (padded length).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bert_common.config import BertConfig
from bert_zoo import CliError
from bert_zoo.bench_stats import (
    PADDING_FREE_TWINS,
    TWIN_NAMES,
    Case,
    Result,
    alternate,
    check_case,
    load_average,
    make_batch,
)
from bert_zoo.run import int_at_least

# The rows of issue 16's table, in its order and words.
ROW_FP32 = "PyTorch forward fp32 (SDPA)"
ROW_BF16 = "PyTorch forward bf16"
ROW_RAGGED = "ragged batch: {b} sequences of {low}..{t} tokens, padded to {t}"
ROW_RAGGED_FREE = ROW_RAGGED + ", bert-zoo padding-free"
ROW_TRAIN = "PyTorch train step (seq-cls, AdamW)"
ROW_KERAS = "Keras forward, XLA"
ROW_FLAX = "Flax forward, jit"
ROW_ORT = "onnxruntime on the same model"
ROW_FAST = "bert-zoo fastest path (bert_zoo.fast.optimize), vs Transformers"
ROW_FAST_ORT = "bert-zoo fastest path (bert_zoo.fast.optimize), vs onnxruntime"


@dataclass(frozen=True)
class Preset:
    """A set of cases: the model config, runs per side (`repeats`; `series_repeats` for plot series
    cases), untimed warm-up rounds, the cases, and a description of the config."""

    config: BertConfig
    describe: str
    repeats: int
    series_repeats: int
    warmup: int
    cases: tuple[Case, ...]


def tiny_config() -> BertConfig:
    """H=32, L=2, N=4, I=37, V=100, 128 positions, Y=2: seconds for every twin."""
    return BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,
        num_labels=2,
    )


def issue_rows(b: int, t: int, ragged: tuple[int, int, int]) -> list[Case]:
    """The issue's seven rows at B x T, the ragged row at (B, T, shortest row) twice: bert-zoo padded,
    and bert-zoo padding-free (both against Transformers' padded run); then bert-zoo's fastest CPU path
    (bert_zoo.fast, backend "auto") against Transformers and against onnxruntime."""
    rb, rt, low = ragged
    ragged_names = {"b": rb, "low": low, "t": rt}
    return [
        Case("pt", "forward", "fp32", b, t, row=ROW_FP32),
        Case("pt", "forward", "bf16", b, t, row=ROW_BF16),
        Case("pt", "forward", "fp32", rb, rt, ragged=(low, rt), row=ROW_RAGGED.format(**ragged_names)),
        Case(
            "pt",
            "forward",
            "fp32",
            rb,
            rt,
            ragged=(low, rt),
            padding_free=True,
            row=ROW_RAGGED_FREE.format(**ragged_names),
        ),
        Case("pt", "train", "fp32", b, t, row=ROW_TRAIN),
        Case("tf", "forward", "fp32", b, t, row=ROW_KERAS),
        Case("flax", "forward", "fp32", b, t, row=ROW_FLAX),
        Case("pt", "forward", "fp32", b, t, reference="onnxruntime", row=ROW_ORT),
        Case("pt", "forward", "fp32", b, t, fast="auto", row=ROW_FAST),
        Case("pt", "forward", "fp32", b, t, reference="onnxruntime", fast="auto", row=ROW_FAST_ORT),
    ]


def series(twin: str, b: int, t: int, lengths: Sequence[int], base: bool = True) -> list[Case]:
    """Plot series of the fp32 forward of `twin`: B=b at each of `lengths` (time against length), and
    8 x T=t ragged with about 25%, 50% and 75% padding (speed-up against padding), whose baseline is the
    fixed 8 x t batch (added when `base`; else another case of the preset measures it)."""
    cases = [Case(twin, "forward", "fp32", b, n, series="length") for n in lengths]
    if base:
        cases.append(Case(twin, "forward", "fp32", 8, t, series="padding"))
    ranges = [(t // 2, t), (1, t), (1, t // 2)]
    cases += [Case(twin, "forward", "fp32", 8, t, ragged=r, series="padding") for r in ranges]
    if twin in PADDING_FREE_TWINS:  # the same ragged batches, run padding-free by bert-zoo
        cases += [
            Case(twin, "forward", "fp32", 8, t, ragged=r, series="padding", padding_free=True) for r in ranges
        ]
    return cases


def preset(name: str, lengths: Sequence[int] | None = None, batches: Sequence[int] | None = None) -> Preset:
    """The cases of `name` ("quick", "issue" or "full"); `lengths` / `batches` replace the T values of the
    length series and the B values of the batch series.

    Raises:
        CliError: an unknown preset name.
    """
    if name == "quick":
        lengths = lengths or (16, 32, 64)
        cases = [
            *issue_rows(8, 32, (8, 64, 8)),
            Case("pt", "train", "bf16", 8, 32),
        ]
        cases += series("pt", 2, 32, lengths, base=False)
        return Preset(
            tiny_config(), "Tiny config (H=32, L=2, N=4, I=37, V=100), random weights.", 3, 3, 1, tuple(cases)
        )
    base = BertConfig(num_labels=2)
    describe = (
        "bert-base config (H=768, L=12, N=12, I=3072, V=30522), random weights, sequence classification."
    )
    if name == "issue":
        cases = issue_rows(8, 128, (16, 256, 16)) + series(
            "pt", 1, 128, lengths or (32, 64, 128, 256, 512), base=False
        )
        return Preset(base, describe, 5, 3, 1, tuple(cases))
    if name == "full":
        cases = issue_rows(8, 128, (16, 256, 16))
        for twin in TWIN_NAMES:
            for mode in ("forward", "train"):
                for dtype in ("fp32", "bf16"):
                    measured = {(c.twin, c.mode, c.dtype) for c in cases if c.row and c.ragged is None}
                    if (twin, mode, dtype) not in measured:  # the issue's rows measure the others
                        cases.append(Case(twin, mode, dtype, 8, 128))
            cases.append(Case(twin, "forward", "bf16", 16, 256, ragged=(16, 256)))
            if twin != "pt":  # the issue's ragged rows, padded and padding-free, in Keras and Flax
                cases.append(Case(twin, "forward", "fp32", 16, 256, ragged=(16, 256)))
                cases.append(Case(twin, "forward", "fp32", 16, 256, ragged=(16, 256), padding_free=True))
            cases += series(twin, 8, 128, lengths or (32, 64, 128, 256, 512), base=twin != "pt")
        cases += [
            Case("pt", "forward", "fp32", b, 128, series="batch") for b in batches or (1, 2, 4, 16, 32, 64)
        ]
        return Preset(base, describe, 5, 3, 1, tuple(cases))
    raise CliError(f"unknown preset {name!r}; choose quick, issue or full")


def int_list(text: str) -> list[int]:
    """ "32,64,128" -> [32, 64, 128] (argparse type; one-line error for anything else)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def add_parser(sub: Any) -> None:
    """Register `bench` on the `bert-zoo` sub-command parser."""
    bench = sub.add_parser("bench", help="model speed per twin against Transformers and onnxruntime")
    bench.add_argument(
        "--preset",
        choices=("quick", "issue", "full"),
        default="issue",
        help="quick: tiny config, seconds; issue: issue 16's table (~5 min); full: everything",
    )
    bench.add_argument("--frameworks", default="pt,tf,flax", help="comma-separated subset of pt,tf,flax")
    bench.add_argument("--repeats", type=int_at_least(1), default=None, help="timed runs per side")
    bench.add_argument("--warmup", type=int_at_least(0), default=None, help="untimed rounds first")
    bench.add_argument("--lengths", type=int_list, default=None, help="T values of the length series")
    bench.add_argument("--batches", type=int_list, default=None, help="B values of the batch series (full)")
    bench.add_argument("--no-reference", action="store_true", help="time bert-zoo alone")
    bench.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"), help="the page to write")
    bench.add_argument("--note", default="", help="a line printed on the page (e.g. the machine's load)")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    bench.set_defaults(func=cmd_bench)


def select(chosen: Preset, frameworks: str, no_reference: bool) -> list[Case]:
    """The preset's cases for `frameworks`, grouped by (twin, mode, dtype) so that models are built
    once per group; with no_reference, every case timed alone (the onnxruntime rows dropped).

    Raises:
        CliError: an unknown framework name, or none.
        ValueError: a case the config cannot run (a length over max_position_embeddings).
    """
    names = [f.strip() for f in frameworks.split(",") if f.strip()]
    unknown = [f for f in names if f not in TWIN_NAMES]
    if unknown or not names:
        raise CliError(f"--frameworks takes a subset of {','.join(TWIN_NAMES)}, got {frameworks!r}")
    cases = [c for c in chosen.cases if c.twin in names]
    if no_reference:
        cases = [replace(c, reference="none") for c in cases if c.reference != "onnxruntime"]
    for case in cases:
        check_case(case, chosen.config.max_position_embeddings)
    order = list(dict.fromkeys((c.twin, c.mode, c.dtype) for c in cases))
    return sorted(cases, key=lambda c: order.index((c.twin, c.mode, c.dtype)))


def measure(
    cases: Sequence[Case], chosen: Preset, repeats: int | None, warmup: int | None, progress: bool
) -> list[Result]:
    """Run every case (bert_zoo.bench_runners.Sides builds the runners); a case whose twin does not
    import becomes a Result without times and with the reason."""
    from tqdm import tqdm

    from bert_zoo.bench_runners import Sides, Unavailable

    sides = Sides(chosen.config)
    warm = chosen.warmup if warmup is None else warmup
    counts = [repeats or (chosen.series_repeats if c.series else chosen.repeats) for c in cases]
    total = sum((n + warm) * (1 if c.reference == "none" else 2) for c, n in zip(cases, counts))
    results = []
    with tqdm(total=total, desc="bench", unit="run", file=sys.stderr, disable=not progress) as bar:
        for case, count in zip(cases, counts):
            bar.set_postfix_str(case.key)
            sides_per_run = 1 if case.reference == "none" else 2
            batch = make_batch(case, chosen.config.vocab_size, chosen.config.num_labels)
            try:
                zoo, ref, ref_name, note = sides.runners(case, batch)
            except Unavailable as err:
                results.append(Result(case, [], note=str(err)))
                bar.total -= (count + warm) * sides_per_run
                continue
            runners = [zoo] if ref is None else [zoo, ref]
            if ref is None:
                bar.total -= (count + warm) * (sides_per_run - 1)
            times = alternate(runners, count, warm, tick=lambda: bar.update(1))
            results.append(Result(case, times[0], times[1] if ref else [], ref_name, note))
    return results


def threads() -> dict[str, int | str]:
    """The thread counts the frameworks run with (left at their defaults), for those imported."""
    found: dict[str, int | str] = {}
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].get_num_threads()
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        found["tf intra-op"] = tf.config.threading.get_intra_op_parallelism_threads() or "default (all cores)"
    return found


def command_line(args: argparse.Namespace) -> str:
    """The `bert-zoo bench` command that `args` came from, with the options that change what is measured."""
    parts = ["bert-zoo", "bench", "--preset", args.preset]
    if args.frameworks != "pt,tf,flax":
        parts += ["--frameworks", args.frameworks]
    for flag, value in (("--repeats", args.repeats), ("--warmup", args.warmup)):
        if value is not None:
            parts += [flag, str(value)]
    for flag, values in (("--lengths", args.lengths), ("--batches", args.batches)):
        if values:
            parts += [flag, ",".join(map(str, values))]
    if args.no_reference:
        parts.append("--no-reference")
    return shlex.join(parts)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure the preset's cases, print the tables, write the page and its plots; returns 0.

    Raises:
        CliError: an unknown framework in --frameworks.
        ValueError: a --lengths value over the config's max_position_embeddings.
        OSError: the page cannot be written.
    """
    from bert_zoo.bench_report import all_table, issue_table, machine, write_page

    chosen = preset(args.preset, args.lengths, args.batches)
    cases = select(chosen, args.frameworks, args.no_reference)
    before = load_average()
    results = measure(cases, chosen, args.repeats, args.warmup, progress=not args.no_progress)
    # the preset's order (the issue's rows first); --no-reference changed the cases' reference
    order = [replace(c, reference="none") for c in chosen.cases]
    results.sort(key=lambda r: order.index(replace(r.case, reference="none")))
    after = load_average()
    warm = chosen.warmup if args.warmup is None else args.warmup
    runs = args.repeats or f"{chosen.repeats} ({chosen.series_repeats} for the plot series)"
    method = f"Each case: {warm} untimed warm-up round(s), then {runs} runs per side, alternating; medians."
    files = write_page(
        args.out,
        results,
        command=command_line(args),
        info=machine(threads()),
        load=(before, after),
        config_text=chosen.describe,
        method=method,
        note=args.note,
    )
    print("\n".join(issue_table(results) or all_table(results)))
    for result in results:
        if not result.times:
            print(f"not measured: {result.case.key}: {result.note}")
    print("wrote " + ", ".join(str(f) for f in files))
    return 0
