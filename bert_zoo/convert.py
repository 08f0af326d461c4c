"""`bert-zoo convert SRC OUT [--from F] [--to F] [--model-class HEAD] [--overwrite] [--no-verify]`.

Reads a checkpoint directory (or hub id) in any format, checks it against its config, writes config.json
+ the weights in the target format + the tokenizer files + the sentence-transformers files (modules.json,
its module folders such as 1_Pooling/, sentence_bert_config.json, config_sentence_transformers.json,
README.md) to OUT, and by default loads source and result in the matching twins and compares every
output field (exit 1 above 1e-5, or on a NaN or Inf). Formats are named as the rest of the command line
names them (FORMAT_ALIASES: pt, bin, tf / h5, flax / msgpack). Bad input (weights that are not floating
point or hold NaN/Inf included): one line on stderr, exit 2, and nothing left in OUT.

OUT is written all at once (conversion.formats.atomic): into `.OUT.tmp-PID-XXXX` beside it, moved into
place only when complete and verified; what a killed run left there is removed by the next. A non-empty
OUT is refused unless `--overwrite`: then the files the conversion writes replace OUT's (config.json and
every layout of the target format, see bert_zoo.convert_files.replaced_by) and everything else in OUT is
kept, in the same atomic step. Progress bars (reading, writing, verifying) go to stderr when it is a
terminal; TensorFlow's start-up lines never do. `load_source` is shared with `bert-zoo diff`.

Weights are canonical (`dict[name, numpy.ndarray]`, dense `[out, in]`, embeddings `[V, H]`) between
reading and writing; the formats themselves are conversion.formats.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.files import resolve_model_dir
from bert_common.heads import HEADS, get_head, head_of_checkpoint
from bert_common.tokenization import TOKENIZER_FILES
from bert_zoo.console import (
    ProgressState,
    import_tensorflow_quietly,
    print_key_report,
    print_verification,
    progress_bar,
    quiet_tensorflow,
)
from bert_zoo.convert_files import (
    SENTENCE_TRANSFORMERS_PATTERNS,
    CarryError,
    clean_legacy_staging,
    copy_sentence_transformers,
    copy_tokenizer,
    replaced_by,
    weight_files,
)
from bert_zoo.twins import quiet_frameworks
from bert_zoo.verify import (
    FORMAT_TWIN,
    compare_outputs,
    run_in,
    sample_inputs,
)
from conversion.canonical import fit_to_model, normalize_legacy_names
from conversion.checkpoint import (
    DISK_FORMATS,
    FALLBACK_PATTERNS,
    PRETRAINED_PATTERNS,
    detect_format,
    read_checkpoint,
    write_weights,
)
from conversion.formats.atomic import atomic_directory
from conversion.formats.safetensors import DEFAULT_MAX_SHARD_SIZE, parse_size
from conversion.names import TIED_DECODER_WEIGHT, WORD_EMBEDDINGS
from conversion.shapes import model_shapes

logger = logging.getLogger("bert_zoo")

TARGET_FORMATS = ("safetensors", "pytorch", "tf-h5", "flax-msgpack")
# The names the rest of the command line uses (frameworks, file types) for the formats. `pt` is what
# PyTorch's save_pretrained writes (safetensors); as a source it is either PyTorch file.
FORMAT_ALIASES = {
    "pt": "safetensors",
    "bin": "pytorch",
    "torch": "pytorch",
    "tf": "tf-h5",
    "h5": "tf-h5",
    "keras": "tf-h5",
    "flax": "flax-msgpack",
    "msgpack": "flax-msgpack",
    "jax": "flax-msgpack",
}
EXAMPLES = """examples:
  bert-zoo convert ./bert-base-uncased ./bert-tf --to tf        # safetensors -> tf_model.h5, verified
  bert-zoo convert ./my-model ./my-model --to tf --overwrite    # add tf_model.h5 beside model.safetensors
  bert-zoo convert google/bert_uncased_L-2_H-128_A-2 ./small    # a hub id; safetensors by default
  bert-zoo convert ./uncased_L-12_H-768_A-12 ./bert --to bin    # a Google TF1 release -> pytorch_model.bin
  bert-zoo convert ./big ./big-st --max-shard-size 500MB        # safetensors shards of at most 500 MB

formats (--from / --to): safetensors (pt), pytorch (bin), tf-h5 (tf, h5), flax-msgpack (flax, msgpack);
google-tf1 (--from only). --from pt reads model.safetensors, else pytorch_model.bin."""


class ConversionError(ValueError):
    """A conversion that cannot be done as asked (bad input, config and weights that disagree)."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (unless the help names it), examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def format_name(*, source: bool) -> Any:
    """An argparse `type`: a format name or alias -> the format (unknown names are left to `choices`)."""

    def parse(text: str) -> str:
        name = text.strip().lower()
        if source and name == "pt":
            return "pt"
        return FORMAT_ALIASES.get(name, name)

    return parse


def shard_size(text: str) -> int:
    """An argparse `type`: bytes, or a size such as "5GB" / "500MB" / "10KiB", > 0."""
    try:
        return parse_size(int(text) if text.strip().isdigit() else text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_parser(sub: Any) -> None:
    """Register `convert` on the `bert-zoo` sub-command parser."""
    convert = sub.add_parser(
        "convert",
        help="convert a checkpoint between formats, verified by default",
        description="Convert a checkpoint directory (or hub id) to another weights format.\nThe tokenizer "
        "and sentence-transformers files come along; both sides are loaded in their twins and compared.",
        epilog=EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    convert.add_argument("src", help="source directory or hub id")
    convert.add_argument("out", help="output directory (must not exist or be empty, unless --overwrite)")
    convert.add_argument(
        "--from",
        dest="from_format",
        default="auto",
        type=format_name(source=True),
        choices=("auto", *DISK_FORMATS, *FORMAT_ALIASES),
        metavar="FORMAT",
        help="source format: auto (what SRC holds), or a format or alias listed below",
    )
    convert.add_argument(
        "--to",
        dest="to_format",
        default="safetensors",
        type=format_name(source=False),
        choices=(*TARGET_FORMATS, *FORMAT_ALIASES),
        metavar="FORMAT",
        help="target format, or an alias listed below",
    )
    convert.add_argument(
        "--model-class",
        default=None,
        metavar="HEAD",
        help=f"the head: one of {', '.join(HEADS)} (default: from the weights)",
    )
    convert.add_argument(
        "--max-shard-size",
        default=None,
        type=shard_size,
        metavar="SIZE",
        help=f"safetensors only: largest shard, bytes or a size like 500MB (default: {DEFAULT_MAX_SHARD_SIZE})",
    )
    convert.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty OUT: replace its config.json and target-format weights, keep the rest",
    )
    convert.add_argument(
        "--no-verify", action="store_true", help="skip loading both sides and comparing outputs"
    )
    convert.set_defaults(func=cmd_convert)


# ------------------------------------------------------------------------------------------ convert


def _source_dir(src: str) -> Path:
    patterns = [*PRETRAINED_PATTERNS, *FALLBACK_PATTERNS, *TOKENIZER_FILES, *SENTENCE_TRANSFORMERS_PATTERNS]
    return resolve_model_dir(src, allow_patterns=patterns)


def load_source(
    src: str, from_format: str, model_class: str | None, *, allow_nonfinite: bool = False
) -> tuple[Path, str, BertConfig, str, dict[str, np.ndarray], dict[str, Any]]:
    """(directory, format, config, head, canonical weights fitted to the head, key report).

    from_format: one of DISK_FORMATS, "auto", or "pt" (the PyTorch files: safetensors, else
    pytorch_model.bin); model_class: a head name, or None to read it off the
    weights. allow_nonfinite: accept weights holding NaN or Inf (`bert-zoo diff` shows where they
    lead), listed in the report's "nonfinite"; a conversion refuses them (the default).

    Raises:
        ConversionError: the weights lack tensors of the head, hold tensors it does not have, or hold
            NaN or Inf values.
        ModelNotFoundError, CheckpointError, ShapeMismatchError: no weights, a bad file (a weight that is
            not floating point), a tensor whose shape does not fit the config.
    """
    directory = _source_dir(src)
    fmt = detect_format(directory) if from_format in ("auto", "pt") else from_format
    if from_format == "pt" and fmt not in ("safetensors", "pytorch"):
        raise ConversionError(
            f"--from pt: {directory} holds no PyTorch weights (model.safetensors or pytorch_model.bin), "
            f"only {fmt}; name that format, or leave --from out"
        )
    config = BertConfig.from_pretrained(directory)
    if fmt == "google-tf1":
        import_tensorflow_quietly()
    files = weight_files(directory, fmt)
    with progress_bar(
        sum(p.stat().st_size for p in files), f"reading {files[0].name if files else fmt}", "B"
    ) as bar:
        read = read_checkpoint(directory, fmt)
        bar.update(bar.total - bar.n)
    if read.nonfinite and not allow_nonfinite:
        raise ConversionError(
            f"{directory / read.file_name}: {len(read.nonfinite)} weight(s) hold NaN or Inf values, e.g. "
            f"{read.nonfinite[:3]}; a conversion never writes them on (the outputs could not be verified)"
        )
    state, file_name, skipped = read.state, read.file_name, read.skipped
    state, report = normalize_legacy_names(state)
    head = get_head(model_class).name if model_class else head_of_checkpoint(set(state))
    if fmt == "google-tf1" and "classifier.weight" in state:
        # run_classifier checkpoints do not record the label count anywhere but in the matrix.
        config.num_labels = int(state["classifier.weight"].shape[0])
    expected = model_shapes(config, head)
    if head == "BertModel" and not any(k.endswith("pooler.dense.weight") for k in state):
        expected = {k: v for k, v in expected.items() if not k.startswith("pooler.")}
    word = ("bert." if head != "BertModel" else "") + WORD_EMBEDDINGS
    tied = (
        {TIED_DECODER_WEIGHT: word}
        if config.tie_word_embeddings and "cls.predictions." in get_head(head).head_prefixes
        else {}
    )
    fitted, fit = fit_to_model(state, expected, tied=tied)
    if fit.missing_keys:
        raise ConversionError(
            f"{file_name} lacks {len(fit.missing_keys)} weight(s) of {head}, e.g. {fit.missing_keys[:3]}; "
            "a conversion never invents weights: pick the --model-class the checkpoint was saved from"
        )
    if fit.unexpected_keys:
        raise ConversionError(
            f"{file_name} holds {len(fit.unexpected_keys)} weight(s) that {head} does not have, e.g. "
            f"{fit.unexpected_keys[:3]}; a conversion never drops weights silently: pick the matching --model-class"
        )
    key_report = {
        "source": str(directory / file_name),
        "format": fmt,
        "head": head,
        "tensors": len(fitted),
        "nonfinite": list(read.nonfinite),
        "renamed": {**report.renamed, **fit.renamed},
        "dropped": {**report.dropped, **fit.dropped, **dict.fromkeys(skipped, "optimizer state")},
    }
    return directory, fmt, config, head, fitted, key_report


def verify(
    src: Path, src_format: str, out: Path, out_format: str, head: str, config: BertConfig
) -> dict[str, float]:
    """Max |source - result| per output field, each side run by the twin that reads its format.

    Raises:
        ImportError: a twin cannot be imported.
    """
    arrays = sample_inputs(config, head)
    forward = {"output_hidden_states": True}
    with progress_bar(2, "verifying", "model") as bar:
        before, _ = run_in(FORMAT_TWIN[src_format], src, head, arrays, **forward)
        bar.update(1)
        after, _ = run_in(FORMAT_TWIN[out_format], out, head, arrays, **forward)
        bar.update(1)
    return compare_outputs(before, after)


def _check_out(out: Path, overwrite: bool) -> list[str]:
    """The entries of an existing OUT (empty when there is none); refuses what cannot be written."""
    if out.exists() and not out.is_dir():
        raise ConversionError(f"output {out} is a file, not a directory")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if entries and not overwrite:
        raise ConversionError(
            f"output {out} already exists and is not an empty directory; pass --overwrite to write into it "
            "(its config.json and weights of the target format are replaced, the other files kept)"
        )
    return entries


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert `args.src` to `args.out`; returns 0, or 1 when verification fails (nothing written).

    Raises:
        ConversionError: an `out` that is not empty (without --overwrite) or is a file, weights that do
            not fit the head, --max-shard-size for a format that is not sharded, an unreadable
            sentence-transformers modules.json.
    """
    quiet_loading(args)
    out = Path(args.out)
    existing = _check_out(out, args.overwrite)
    if args.max_shard_size is not None and args.to_format != "safetensors":
        raise ConversionError(f"--max-shard-size applies to safetensors only, not {args.to_format}")
    start = time.perf_counter()
    src_dir, src_format, config, head, state, report = load_source(
        args.src, args.from_format, args.model_class
    )
    print_key_report(report, args.to_format)
    clean_legacy_staging(out)
    replaces = replaced_by(args.to_format)
    try:
        # Written into `.OUT.tmp-PID-XXXX` beside OUT, moved into place only when complete and verified
        # (with --overwrite, OUT's other entries come along); the leftovers of a killed run are removed
        # here first (conversion.formats.atomic).
        with atomic_directory(out, replaces=replaces, caller="bert-zoo convert") as tmp:
            saved = config.copy()
            saved.architectures = [head]
            saved.save_pretrained(tmp)
            progress = ProgressState(state, desc=f"writing {args.to_format}")
            try:
                files = write_weights(
                    progress,
                    tmp,
                    args.to_format,
                    model_class=head,
                    max_shard_size=args.max_shard_size or DEFAULT_MAX_SHARD_SIZE,
                )
            finally:
                progress.close()
            try:
                copied = copy_tokenizer(src_dir, tmp) + copy_sentence_transformers(src_dir, tmp)
            except CarryError as err:
                raise ConversionError(str(err)) from None
            print(
                f"wrote:   config.json, {', '.join(f.name for f in files)}"
                + (f", {', '.join(copied)}" if copied else "")
            )
            written = {p.name for p in tmp.iterdir()}
            kept = [n for n in existing if not (replaces(n) or n in written or n.startswith(".bert-zoo."))]
            if kept:
                print(f"kept:    {', '.join(kept)} (already in {out})")
            if not args.no_verify:
                diffs = verify(src_dir, src_format, tmp, args.to_format, head, config)
                if print_verification(diffs, FORMAT_TWIN[src_format], FORMAT_TWIN[args.to_format]):
                    raise _VerificationFailed()
    except _VerificationFailed:
        print(f"verification failed: nothing written to {out}", file=sys.stderr)
        return 1
    print(f"done in {time.perf_counter() - start:.1f}s: {out}")
    return 0


class _VerificationFailed(Exception):
    """The converted weights do not reproduce the source's outputs within 1e-5."""


def quiet_loading(args: argparse.Namespace) -> None:
    """Loading reports go to the log; the commands print their own key report instead. Without -v,
    TensorFlow says nothing either (bert_zoo.console.quiet_tensorflow)."""
    quiet_frameworks()
    if not getattr(args, "verbose", False):
        logging.getLogger("bert_zoo").setLevel(logging.ERROR)
        quiet_tensorflow()
