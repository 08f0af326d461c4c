"""The `bert-zoo` command line: run (the main job), demo, convert, diff and export.

    bert-zoo run --task fill-mask --model DIR "Paris is the [MASK] of France."
    echo "A man is eating food." | bert-zoo run --task feature-extraction --pooling mean
    bert-zoo demo
    bert-zoo convert SRC OUT --to tf-h5
    bert-zoo diff MODEL --frameworks pt,tf,flax
    bert-zoo export MODEL OUT --to onnx
    bert-zoo bench --preset issue
    bert-zoo train --framework pt --task mlm --model DIR --train-file corpus.txt --output-dir out

Each command is one module of bert_zoo with an `add_parser(sub)` and a `cmd_<name>(args)`; this module
only assembles them. Bad input (unknown task or framework, a directory without weights, QA without a
context, no input at all) is one line on stderr and exit code 2, never a traceback (-v shows it).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from bert_zoo import CliError, bench, convert, demo, diff, run, train
from bert_zoo.export import add_export_parser
from bert_zoo.twins import quiet_frameworks


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The `bert-zoo` parser with its sub-commands run, demo, convert and diff."""
    parser = _Parser(
        prog="bert-zoo",
        description="BERT in PyTorch, Keras and Flax with the same numbers: run tasks, convert checkpoints, "
        "compare frameworks.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what loading and conversion do")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in (run, demo, convert, diff, bench, train):
        command.add_parser(sub)
    add_export_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `bert-zoo` with `argv` (default: sys.argv[1:]); returns the exit code.

    0 success; 1 a verification or contract check failed (convert, diff, demo); 2 bad input, printed
    as one line on stderr; 130 interrupted.
    """
    quiet_frameworks()
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
    except (ValueError, TypeError, OSError, KeyError, ImportError) as err:
        # Input problems surface from the library as these; one line, no traceback (-v shows it).
        if args.verbose:  # the traceback too, with the same one-line error and exit code
            traceback.print_exc()
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"bert-zoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
