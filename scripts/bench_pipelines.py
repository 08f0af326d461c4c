"""Lines per second of `bert-zoo run` in each twin, on 2,000 short generated lines; writes a table into
docs/pipelines.md (the section between the `bench_pipelines` markers).

    python scripts/bench_pipelines.py                      # this tree, 3 alternating repeats
    python scripts/bench_pipelines.py --before /tmp/old    # also an older checkout, alternated with it
    python scripts/bench_pipelines.py --no-write --lines 200 --repeats 1

Each run is the command a user types, `bert-zoo run --task feature-extraction --pooling mean
--framework F` on the embedded all-MiniLM-L6-v2 with the lines on stdin, in a fresh process (imports,
model loading and compiles included). The runs alternate between twins (and trees), so a change in the
machine's load hits all of them alike; the table gives medians and ratios between twins of the same run.
Timed: the whole command, and its first output line (the streaming). No tensors here.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bert_zoo.doc_sections import write_section

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "pipelines.md"
START = "<!-- bench_pipelines: start (written by scripts/bench_pipelines.py; do not edit by hand) -->"
END = "<!-- bench_pipelines: end -->"
TWINS = ("pt", "tf", "flax")
WORDS = (
    "the a man woman dog cat child eats food sat on mat john lives in paris london city big small old "
    "new good bad happy sad river house car red blue green plays music runs fast slowly today yesterday"
).split()


def make_lines(count: int, seed: int = 0) -> list[str]:
    """`count` short lines (3 to 14 words and a full stop, 6 to 18 tokens), the same for every seed."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))) + "." for _ in range(count)]


def run_once(tree: Path, twin: str, stdin: bytes, batch_size: int | None) -> tuple[float, float, int]:
    """(seconds to the last line, seconds to the first line, lines written) of one `bert-zoo run`."""
    command = [sys.executable, "-m", "bert_zoo.cli", "run", "--task", "feature-extraction"]
    command += ["--pooling", "mean", "--framework", twin]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(stdin)
    process.stdin.close()
    first, lines = None, 0
    for _ in process.stdout:
        lines += 1
        first = first if first is not None else time.perf_counter() - start
    error = process.stderr.read().decode() if process.stderr else ""
    if process.wait() != 0:
        raise RuntimeError(f"bert-zoo run --framework {twin} in {tree} failed:\n{error}")
    return time.perf_counter() - start, first or 0.0, lines


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def measure(trees: dict[str, Path], twins: list[str], lines: list[str], repeats: int, batch_size: int | None):
    """{(tree label, twin): [(total s, first-line s), ...]}, runs alternating twins and trees."""
    stdin = ("\n".join(lines) + "\n").encode()
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for repeat in range(repeats):
        order = twins[repeat % len(twins) :] + twins[: repeat % len(twins)]
        for twin in order:
            for label, tree in trees.items():
                total, first, written = run_once(tree, twin, stdin, batch_size if label == "after" else None)
                if written != len(lines):
                    raise RuntimeError(f"{label}/{twin}: {written} lines written for {len(lines)} inputs")
                results.setdefault((label, twin), []).append((total, first))
                print(f"  {label:6} {twin:4} repeat {repeat + 1}: {total:6.2f} s, first line {first:5.2f} s")
    return results


def table(results, twins: list[str], count: int, repeats: int, before: bool, load: tuple[str, str]) -> str:
    """The generated markdown section: per twin the whole command's seconds and lines/s, the first
    line's seconds, the lines/s after the first line (the pipeline's pace once started) and each
    figure's ratio to the fastest twin of the same tree."""
    labels = ["before", "after"] if before else ["after"]
    total = {key: statistics.median(t for t, _ in runs) for key, runs in results.items()}
    first = {key: statistics.median(f for _, f in runs) for key, runs in results.items()}
    pace = {
        key: statistics.median((count - 1) / max(t - f, 1e-9) for t, f in runs)
        for key, runs in results.items()
    }
    head = "| tree | twin | whole command, s | lines/s | x fastest | first line, s | lines/s after the first | x fastest |"
    rows = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label in labels:
        quickest = min(total[label, t] for t in twins)
        best_pace = max(pace[label, t] for t in twins)
        for twin in twins:
            key = (label, twin)
            rows.append(
                f"| {label} | {twin} | {total[key]:.1f} | {count / total[key]:.0f} | {total[key] / quickest:.2f} "
                f"| {first[key]:.1f} | {pace[key]:.0f} | {best_pace / pace[key]:.2f} |"
            )
    notes = []
    if before:
        for twin in twins:
            notes.append(f"{twin} {total['before', twin] / total['after', twin]:.2f}x")
        notes = ["Speed-up of the whole command, before / after: " + ", ".join(notes) + "."]
    caption = (
        f"`bert-zoo run --task feature-extraction --pooling mean` on {count} generated short lines "
        f"(`make_lines`: 6 to 18 tokens each) in a fresh process: imports, model loading and compiles "
        f"included. Median of {repeats} runs alternating between twins{' and trees' if before else ''}, "
        f"on {os.cpu_count()} CPU cores ({platform.machine()}, Python {platform.python_version()}), load "
        f"average 1/5/15 min: {load[0]} at the start, {load[1]} at the end (above about 2 on this machine, "
        f"other work shares the cores and the absolute seconds swing with it: then read the ratios between "
        f"twins of one tree, measured in the same run). before: the tree given as --before (`before` below "
        f"is commit 7eeb012, the last one before batching); after: this tree."
    )
    return "\n".join([START, "", caption, "", *rows, "", *notes, "", END]).replace("\n\n\n", "\n\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--twins", default=",".join(TWINS))
    parser.add_argument("--before", type=Path, default=None, help="an older checkout to compare with")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="--batch-size of the runs (default: its default)"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/pipelines.md")
    args = parser.parse_args(argv)
    twins = [t for t in args.twins.split(",") if t]
    trees = {"before": args.before.resolve()} if args.before else {}
    trees["after"] = ROOT
    start_load = load_average()
    results = measure(trees, twins, make_lines(args.lines), args.repeats, args.batch_size)
    section = table(
        results, twins, args.lines, args.repeats, args.before is not None, (start_load, load_average())
    )
    print(section)
    if not args.no_write:
        write_section(DOC, section, START, END, append=True)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
