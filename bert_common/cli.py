"""The `bert-zoo` command line: run (the main job), demo, convert and diff.

    bert-zoo run --task fill-mask --model DIR "Paris is the [MASK] of France."
    echo "A man is eating food." | bert-zoo run --task feature-extraction --pooling mean
    bert-zoo demo
    bert-zoo convert SRC OUT --to tf-h5
    bert-zoo diff MODEL --frameworks pt,tf,flax

`run` writes one JSON line per input. Bad input (unknown task or framework, a directory without
weights, QA without a context, no input at all) is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

FRAMEWORKS = ("pt", "tf", "flax")
FRAMEWORK_NAMES = {"pt": "PyTorch", "tf": "TensorFlow/Keras", "flax": "Flax/JAX"}

DEMO_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
]
DEMO_QUERY = "Someone is riding a horse."


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def _quiet_frameworks() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def load_framework(name: str) -> Any:
    """The twin package for `name` ("pt", "tf" or "flax"), with a clear error if it cannot load."""
    if name not in FRAMEWORKS:
        raise CliError(f"unknown framework {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    _quiet_frameworks()
    try:
        with _native_stderr_silenced():
            return importlib.import_module(f"bert_{name}")
    except ImportError as err:
        raise CliError(
            f"the {FRAMEWORK_NAMES[name]} twin cannot be imported ({err}); install bert-zoo[{name if name != 'pt' else 'torch'}]"
        ) from None


@contextlib.contextmanager
def _native_stderr_silenced():
    """Hide what native code prints to file descriptor 2 while a framework imports (TensorFlow's C++
    start-up lines ignore TF_CPP_MIN_LOG_LEVEL); Python-level errors still reach the caller."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


# ---------------------------------------------------------------------------------------------- run


def _read_inputs(args: argparse.Namespace) -> list[str]:
    if args.text:
        lines = list(args.text)
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise CliError("no input: give TEXT arguments or pipe one input per line on stdin")
        lines = [line.rstrip("\n") for line in sys.stdin]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise CliError("empty input: nothing to run")
    return lines


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
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from bert_common.pipelines import get_task

    try:
        task = get_task(args.task)
    except ValueError as err:
        raise CliError(str(err)) from None
    lines = _read_inputs(args)
    items = _task_inputs(task.name, lines, args.context)
    twin = load_framework(args.framework)
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
    pipe = twin.pipeline(task.name, model=args.model, batch_size=args.batch_size)
    results = pipe(items, **params)
    out = sys.stdout
    for item, result in zip(items, results):
        out.write(json.dumps({"input": item, "output": _jsonable(result)}, ensure_ascii=False) + "\n")
    out.flush()
    return 0


# --------------------------------------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    """Sentence embeddings of the embedded model in every framework, a similarity ranking, and how far
    the three twins are apart."""
    from bert_common.files import DEFAULT_MODEL_ID, default_model_dir

    model_dir = args.model or default_model_dir()
    sentences = DEMO_SENTENCES
    print(
        f"bert-zoo demo: sentence embeddings with {args.model or DEFAULT_MODEL_ID} (mean pooling, L2-normalized)"
    )
    print(f"model files: {model_dir}\n")
    embeddings: dict[str, np.ndarray] = {}
    for name in args.frameworks.split(","):
        twin = load_framework(name.strip())
        start = time.perf_counter()
        pipe = twin.pipeline("feature-extraction", model=str(model_dir), batch_size=8)
        vectors = pipe([DEMO_QUERY, *sentences], pooling="mean", normalize=True, return_tensors=True)
        embeddings[name] = np.stack(vectors)
        print(
            f"  {FRAMEWORK_NAMES[name]:<17} {len(vectors)} embeddings of size {vectors[0].shape[0]} in {time.perf_counter() - start:.2f}s"
        )
    reference = next(iter(embeddings.values()))
    scores = reference[1:] @ reference[0]
    print(f"\nMost similar to {DEMO_QUERY!r}:")
    for rank, i in enumerate(np.argsort(-scores), start=1):
        print(f"  {rank}. {scores[i]:.4f}  {sentences[i]}")
    names = list(embeddings)
    if len(names) > 1:
        print("\nMax |difference| between the twins' embeddings (fp32):")
        worst = 0.0
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diff = float(np.max(np.abs(embeddings[a] - embeddings[b])))
                worst = max(worst, diff)
                print(f"  {a} vs {b}: {diff:.2e}")
        verdict = "within" if worst <= 1e-5 else "ABOVE"
        print(f"  largest: {worst:.2e} ({verdict} the 1e-5 contract)")
        if worst > 1e-5:
            return 1
    return 0


# --------------------------------------------------------------------------------------------- main


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bert-zoo",
        description="BERT in PyTorch, Keras and Flax with the same numbers: run tasks, convert checkpoints, "
        "compare frameworks.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what loading and conversion do")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

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
        "--top-k", type=int, default=None, help="answers per input (fill-mask, classification, QA)"
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
    run.add_argument("--batch-size", type=int, default=8)
    run.add_argument("text", nargs="*", help="inputs; without them, one input per line is read from stdin")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="sentence embeddings and a similarity ranking in all three frameworks")
    demo.add_argument("--model", default=None, help="directory or hub id (default: the embedded model)")
    demo.add_argument("--frameworks", default="pt,tf,flax")
    demo.set_defaults(func=cmd_demo)

    try:
        from conversion.cli import add_convert_parsers
    except ImportError:  # pragma: no cover - conversion ships with bert_common
        add_convert_parsers = None
    if add_convert_parsers is not None:
        add_convert_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"bert-zoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, KeyError) as err:
        # Input problems surface from the library as these; one line, no traceback (-v shows it).
        if args.verbose:
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"bert-zoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
