"""The page `bert-zoo bench` writes: docs/benchmarks.md with its tables, and its PNG plots beside it.

The page says how it was made (the command, the date, the machine: CPU, cores, threads, library
versions, and the load average before and after the run, so that a figure taken on a busy machine shows
it), then the issue's table when the run measured its rows, every measurement, the cases that could
not run, and the plots:

- `<page stem>-time-vs-length.png`: median time against sequence length T (log-log), one line per
  (twin, mode, dtype, B) measured at two lengths or more, dashed for its reference;
- `<page stem>-padding.png`: speed-up of a ragged batch over the fixed batch of the same B x T against
  its padding fraction, for bert-zoo and its reference, with the bound 1 / (1 - padding) that running
  only the real tokens could reach.

Matplotlib (the `bench` extra) draws the plots; without it the page says so and links none.
Shape legend: B batch, T positions.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bert_zoo.bench_stats import TWIN_NAMES, Result, cpu_model, padding_speedups

LIBRARIES = ("torch", "tensorflow", "keras", "jax", "flax", "transformers", "onnxruntime", "numpy")


def machine(threads: dict[str, int | str]) -> dict[str, str]:
    """What the figures depend on: CPU model, cores, the frameworks' thread counts, library versions
    (those installed; "not installed" for the others)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
        module = sys.modules.get(name)  # the one imported wins (a PYTHONPATH copy shadows the venv's)
        if module is not None and getattr(module, "__version__", None):
            versions[name] = str(module.__version__)
    info = {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "threads": ", ".join(f"{k} {v}" for k, v in threads.items()) or "default",
        "Python": platform.python_version(),
    }
    info.update(versions)
    return info


def fmt_seconds(seconds: float | None) -> str:
    """Seconds with 3 significant figures ("0.0123", "1.02"), "-" for None."""
    return "-" if seconds is None else f"{seconds:.3g}"


def fmt_ratio(ratio: float | None) -> str:
    """A ratio with 2 decimals, "-" for None."""
    return "-" if ratio is None else f"{ratio:.2f}"


def shape(result: Result) -> str:
    """ "8 x 128" or "16 x 256, rows of 16..256 tokens (47% padding)"."""
    c = result.case
    text = f"{c.batch} x {c.length}"
    if c.ragged is not None:
        text += f", rows of {c.ragged[0]}..{c.ragged[1]} tokens ({c.padding:.0%} padding)"
    if c.padding_free:
        text += ", padding-free"
    if c.fast:
        text += f", bert_zoo.fast backend={c.fast}"
    return text


def issue_table(results: Sequence[Result]) -> list[str]:
    """The rows of the issue's table that were measured: work, times, reference, ratio."""
    rows = [r for r in results if r.case.row and r.times]
    if not rows:
        return []
    lines = [
        "| work | shape | bert-zoo median (s) | reference | reference median (s) | ratio |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    for r in rows:
        reference = f"none: {r.note}" if r.note else r.reference_name
        lines.append(
            f"| {r.case.row} | {shape(r)} | {fmt_seconds(r.median)} | {reference or '-'} | "
            f"{fmt_seconds(r.reference_median)} | {fmt_ratio(r.ratio)} |"
        )
    return lines


def all_table(results: Sequence[Result]) -> list[str]:
    """Every measured case: twin, mode, dtype, shape, bert-zoo median and tokens/s, reference, ratio."""
    lines = [
        "| twin | mode | dtype | B x T | bert-zoo median (s) | tokens/s | reference | reference median (s) "
        "| ratio | runs |",
        "| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        if not r.times:
            continue
        c = r.case
        reference = f"none: {r.note}" if r.note else r.reference_name
        lines.append(
            f"| {TWIN_NAMES[c.twin]} | {c.mode} | {c.dtype} | {shape(r)} | {fmt_seconds(r.median)} | "
            f"{r.tokens_per_second:,.0f} | {reference or '-'} | {fmt_seconds(r.reference_median)} | "
            f"{fmt_ratio(r.ratio)} | {len(r.times)} |"
        )
    return lines


def load_line(load_before: float | None, load_after: float | None, cores: int | None) -> str:
    """The sentence that says how busy the machine was while it measured."""
    if load_before is None or load_after is None:
        return "Load: the operating system reports no load average; treat the figures with care."
    busy = max(load_before, load_after) > 0.5 * (cores or 1)
    verdict = (
        "other work shared the CPUs: single figures may swing by up to 1.7x, compare the ratios only"
        if busy
        else "a quiet machine"
    )
    return (
        f"**Load while measuring**: 1-minute load average {load_before:.2f} before and {load_after:.2f} "
        f"after the run, on {cores} cores: {verdict}."
    )


def write_page(
    path: Path,
    results: Sequence[Result],
    *,
    command: str,
    info: dict[str, str],
    load: tuple[float | None, float | None],
    config_text: str,
    method: str,
    note: str = "",
) -> list[Path]:
    """Write the markdown page to `path` and its plots beside it; returns the files written.

    command: the command line that made the page. info: `machine(...)`. load: the 1-minute load average
    before and after. config_text: the model config in words. method: warm-up and repeats in words.
    note: a line of the user's (`--note`), printed under the load line.

    Raises:
        OSError: the page or a plot cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    plots, plot_note = write_plots(path, results)
    cores = int(info["cores"]) if info.get("cores", "").isdigit() else None
    lines = [
        "# Benchmarks: model speed",
        "",
        f"<!-- Generated by `{command}`; do not edit by hand, run it again. -->",
        "",
        f"Generated by `{command}` on {datetime.date.today().isoformat()}. {config_text} {method}",
        "Ratio = bert-zoo median / reference median: below 1.00 bert-zoo is faster. How each side runs: "
        "[Benchmarks guide](guides/benchmarks.md).",
        "",
        load_line(*load, cores),
    ]
    if note:
        lines += ["", f"**Note**: {note}"]
    lines += ["", "| machine | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in info.items()]
    table = issue_table(results)
    if table:
        lines += ["", "## The issue's table", "", *table]
    lines += ["", "## Every measurement", "", *all_table(results)]
    skipped = [r for r in results if not r.times]
    if skipped:
        lines += ["", "## Not measured", ""] + [f"- {r.case.key}: {r.note}" for r in skipped]
    lines += ["", "## Plots", ""]
    titles = {"time-vs-length": "Time against sequence length", "padding": "Speed-up against padding"}
    for plot in plots:
        kind = plot.stem.removeprefix(path.stem + "-")
        lines += [f"![{titles.get(kind, kind)}]({plot.name})", ""]
    if plot_note:
        lines += [plot_note, ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return [path, *plots]


def write_plots(path: Path, results: Sequence[Result]) -> tuple[list[Path], str]:
    """Draw the plots the results allow next to `path`; returns (files, a note on what is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "No plots: matplotlib is not installed (`pip install bert-zoo[bench]`)."
    written, missing = [], []
    series = length_series(results)
    if series:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, points in series.items():
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", linestyle="--" if label.startswith("ref") else "-", label=label[4:])
        ax.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="median time (s)")
        ax.set_title("Time against sequence length")
        _save(fig, ax, path.with_name(f"{path.stem}-time-vs-length.png"), written)
    else:
        missing.append("time against length (no case measured at two lengths)")
    curves = padding_speedups(results)
    if curves:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, points in curves.items():
            xs, ys = zip(*sorted({(0.0, 1.0), *points}))  # the fixed batch itself: no padding, 1x
            ax.plot(xs, ys, marker="o", label=label)
        top = max(x for points in curves.values() for x, _ in points)
        grid = [top * i / 50 for i in range(51)]
        ax.plot(
            grid, [1 / (1 - x) for x in grid], ":", color="gray", label="only real tokens: 1 / (1 - padding)"
        )
        ax.set(xlabel="padding fraction of the batch", ylabel="speed-up over the fixed batch")
        ax.set_title("Ragged batches: speed-up against padding")
        _save(fig, ax, path.with_name(f"{path.stem}-padding.png"), written)
    else:
        missing.append("speed-up against padding (no padding series)")
    note = f"Not plotted in this run: {'; '.join(missing)}." if missing else ""
    return written, note


def _save(fig: Any, ax: Any, target: Path, written: list[Path]) -> None:
    import matplotlib.pyplot as plt

    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=100, metadata={"Software": None})
    plt.close(fig)
    written.append(target)


def length_series(results: Sequence[Result]) -> dict[str, list[tuple[int, float]]]:
    """{"zoo <twin> <mode> <dtype> B=<B>": [(T, median s), ...], "ref <...>": [...]} for the fixed
    batches measured at two lengths or more, sorted by T."""
    series: dict[str, list[tuple[int, float]]] = {}
    for r in results:
        c = r.case
        if c.ragged is not None or not r.times or c.series != "length":
            continue
        name = f"{TWIN_NAMES[c.twin]} {c.mode} {c.dtype} B={c.batch}"
        series.setdefault(f"zoo bert-zoo {name}", []).append((c.length, r.median))
        if r.reference_median:
            series.setdefault(f"ref {r.reference_name} {c.dtype} B={c.batch}", []).append(
                (c.length, r.reference_median)
            )
    return {k: sorted(v) for k, v in series.items() if len({t for t, _ in v}) >= 2}
