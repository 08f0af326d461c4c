"""`bert-zoo run`: a pipeline task on texts, one JSON line per input.

    bert-zoo run --task fill-mask --model DIR "Paris is the [MASK] of France."
    echo "A man is eating food." | bert-zoo run --task feature-extraction --pooling mean

Texts come as arguments or one per line on stdin (blank lines skipped). Pairs (question answering,
next-sentence prediction, pair classification) come from --context or as `first<TAB>second` lines.
The inputs run in batches of --batch-size (default 32), sorted by length 8 batches at a time
(`Pipeline.answers`); each answer is written as soon as it and every answer before it are done, in
input order, with a progress bar on stderr when stderr is a terminal.
Refused with one line on stderr and exit code 2: numbers out of range (--top-k 0), stdin that is not
UTF-8 text (binary data), an input that tokenizes to nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from bert_zoo import CliError
from bert_zoo.twins import load_twin

# Inputs per model call of `bert-zoo run` (the library's pipelines default to Transformers-like 8): on
# 2,000 short lines, 32 runs every twin near its best (docs/pipelines.md, scripts/bench_pipelines.py).
DEFAULT_BATCH_SIZE = 32

# Modules a twin's framework imports when they are installed, for features `bert-zoo run` never uses:
# TensorFlow imports JAX (TensorFlow Lite's JAX converter), Keras pandas (DataFrames in `fit`) and
# matplotlib (`plot_image_gallery`). Each library imports them inside try/except ImportError and carries
# on without them; skipping them takes 0.9 to 1.4 s (about 30%) off importing the TensorFlow twin on the
# 2-core machine of docs/pipelines.md (`python -X importtime`, under load).
UNUSED_IMPORTS: dict[str, tuple[str, ...]] = {"tf": ("jax", "pandas", "matplotlib")}


def add_parser(sub: Any) -> None:
    """Register `run` on the `bert-zoo` sub-command parser."""
    run = sub.add_parser("run", help="run a task on texts (one JSON line per input)")
    run.add_argument(
        "--task",
        required=True,
        help="fill-mask, text-classification, token-classification, "
        "question-answering, feature-extraction or next-sentence-prediction",
    )
    run.add_argument(
        "--model", default=None, help="directory or hub id (default: the embedded all-MiniLM-L6-v2)"
    )
    run.add_argument("--framework", default="pt", help="pt, tf or flax (default pt)")
    run.add_argument(
        "--top-k",
        type=int_at_least(1),
        default=None,
        help="answers per input, >= 1 (fill-mask, classification, QA)",
    )
    run.add_argument("--context", default=None, help="the context for QA, or the second text of a pair")
    run.add_argument(
        "--pooling", choices=("mean", "cls"), default=None, help="feature-extraction: sentence pooling"
    )
    run.add_argument(
        "--normalize", action="store_true", help="feature-extraction: L2-normalize the embedding"
    )
    run.add_argument(
        "--aggregation-strategy", default=None, choices=("none", "simple", "first", "average", "max")
    )
    run.add_argument(
        "--batch-size",
        type=int_at_least(1),
        default=DEFAULT_BATCH_SIZE,
        help=f"inputs per model call, >= 1 (default {DEFAULT_BATCH_SIZE})",
    )
    run.add_argument(
        "--fast",
        action="store_true",
        help="pt only: run the model on bert_zoo.fast's fastest CPU path (onnxruntime with its transformer "
        "fusions, else torch.compile), verified against eager at 1e-5 before the first input",
    )
    run.add_argument("text", nargs="*", help="inputs; without them, one input per line is read from stdin")
    run.set_defaults(func=cmd_run)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse `type`: an integer >= minimum, else a one-line error naming the value."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    return parse


@contextlib.contextmanager
def skipped_imports(names: Iterable[str]) -> Iterator[None]:
    """Inside the block, importing one of the top-level modules `names` raises ImportError, as if it
    were not installed (those already imported stay); afterwards they import normally again.

    What a library imported inside the block keeps what it did without them (e.g. Keras' pandas support
    stays off in this process); `bert-zoo run` loads a twin inside it (UNUSED_IMPORTS).
    """
    skipped = [name for name in dict.fromkeys(names) if name not in sys.modules]
    for name in skipped:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not importable"
    try:
        yield
    finally:
        for name in skipped:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _read_stdin() -> list[str]:
    """stdin's lines, refused with one line when it is not UTF-8 text (binary data)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    nul = data.find(b"\0")
    if nul >= 0:
        raise CliError(f"stdin holds a NUL byte at offset {nul}: binary data, not lines of text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(
            f"stdin is not UTF-8 text: byte {data[err.start : err.start + 1]!r} at offset {err.start}"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # universal newlines, as text mode


def _read_inputs(args: argparse.Namespace) -> list[str]:
    if args.text:
        lines = list(args.text)
        for n, line in enumerate(lines, 1):
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise CliError(f"TEXT argument {n} is not UTF-8 text: {line!r}") from None
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise CliError("no input: give TEXT arguments or pipe one input per line on stdin")
        lines = _read_stdin()
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise CliError("empty input: nothing to run")
    return lines


def _check_tokens(tokenizer: Any, items: list[Any]) -> None:
    """Refuse an input with a text that tokenizes to nothing (the model would see only [CLS] [SEP])."""
    for n, item in enumerate(items, 1):
        texts = item.values() if isinstance(item, dict) else [item]
        for text in texts:
            if not tokenizer.tokenize(text):
                raise CliError(f"input {n} has no tokens (only control or zero-width characters): {text!r}")


def _task_inputs(task: str, lines: list[str], context: str | None) -> list[Any]:
    if task == "question-answering":
        items = []
        for line in lines:
            if context is not None:
                items.append({"question": line, "context": context})
            elif "\t" in line:
                question, ctx = line.split("\t", 1)
                items.append({"question": question, "context": ctx})
            else:
                raise CliError(
                    "question-answering needs a context: --context TEXT or 'question<TAB>context' lines"
                )
        return items
    if task in ("next-sentence-prediction", "text-classification"):
        items = []
        for line in lines:
            if context is not None:
                items.append({"text": line, "text_pair": context})
            elif "\t" in line:
                first, second = line.split("\t", 1)
                items.append({"text": first, "text_pair": second})
            elif task == "next-sentence-prediction":
                raise CliError("next-sentence-prediction needs pairs: --context TEXT or 'A<TAB>B' lines")
            else:
                items.append(line)
        return items
    return lines


def _jsonable(value: Any) -> Any:
    """What `json.dumps` cannot write itself, as plain Python (its `default`): arrays as lists, numpy
    scalars as numbers; anything else is a TypeError naming the type, as json.dumps raises."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def cmd_run(args: argparse.Namespace) -> int:
    """Run `args.task` on the inputs and write `{"input": ..., "output": ...}` per line to stdout.

    Raises:
        CliError: unknown task, no input, a missing context, an option that does not apply to the task,
            an output holding NaN or Inf.
        ValueError: unknown framework. ImportError: the twin cannot be imported.
    """
    from bert_common.pipelines import get_task

    try:
        task = get_task(args.task)
    except ValueError as err:
        raise CliError(str(err)) from None
    lines = _read_inputs(args)
    items = _task_inputs(task.name, lines, args.context)
    # PyTorch's OpenMP threads spin while they wait for work; on cores shared with other processes the
    # spinning starves the work itself (2,000 lines: 7x slower under load). Waiting threads sleep
    # instead, unless the user chose (read when PyTorch loads, so set before the twin is imported).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with skipped_imports(UNUSED_IMPORTS.get(args.framework, ())):
        twin = load_twin(args.framework)
    params: dict[str, Any] = {}
    if args.top_k is not None:
        if task.name not in ("fill-mask", "text-classification", "question-answering"):
            raise CliError(f"--top-k does not apply to {task.name}")
        params["top_k"] = args.top_k
    if task.name == "feature-extraction":
        params["pooling"] = args.pooling
        params["normalize"] = args.normalize
    elif args.pooling is not None or args.normalize:
        raise CliError("--pooling/--normalize apply to feature-extraction only")
    if args.aggregation_strategy is not None:
        if task.name != "token-classification":
            raise CliError("--aggregation-strategy applies to token-classification only")
        params["aggregation_strategy"] = args.aggregation_strategy
    if args.fast and args.framework != "pt":
        raise CliError(f"--fast runs the PyTorch twin only (bert_zoo.fast), not --framework {args.framework}")
    pipe = twin.pipeline(task.name, model=args.model, batch_size=args.batch_size)
    if args.fast:
        from bert_zoo.fast import FastError, FastVerificationError, optimize, pipeline_runner

        try:
            fast = optimize(pipe.model)
        except (FastError, FastVerificationError) as err:
            raise CliError(f"--fast: {str(err).splitlines()[0]}") from None
        pipe.runner = pipeline_runner(fast)
        worst = max((d for check in fast.checks for d in check.diffs.values()), default=0.0)
        print(
            f"bert-zoo run: fast path {fast.backend}, verified against eager (worst {worst:.1e})",
            file=sys.stderr,
        )
    _check_tokens(pipe.tokenizer, items)
    # Streamed: one answer per input, sorted by length 8 batches at a time, each line written in input
    # order as soon as it and the lines before it are done.
    out = sys.stdout
    for n, (item, result) in enumerate(zip(items, pipe.answers(items, **params)), 1):
        try:  # NaN is not JSON: a NaN output (from NaN weights) is an error, not an invalid line
            # numpy values through `default`: a feature vector's 384 floats are not visited in Python
            line = json.dumps(
                {"input": item, "output": result}, ensure_ascii=False, allow_nan=False, default=_jsonable
            )
        except ValueError:
            raise CliError(
                f"input {n}: the output holds NaN or Inf (do the model's weights hold NaN?)"
            ) from None
        out.write(line + "\n")
        out.flush()
    return 0
