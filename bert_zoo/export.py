"""`bert-zoo export MODEL OUT --to onnx|savedmodel|stablehlo`: deployable graphs, verified against their twin.

    from bert_zoo.export import export
    result = export("path/to/model", "out/onnx", to="onnx")          # PyTorch twin -> ONNX
    result = export("path/to/model", "out/tf", to="savedmodel")      # Keras twin -> SavedModel
    result = export("path/to/model", "out/hlo", to="stablehlo")      # Flax twin -> jax.export
    result.worst()                                                   # max |diff| over every check

- onnx: the PyTorch twin traced to `model.onnx` (bert_zoo.export_onnx): int64 inputs `input_ids`,
  `attention_mask`, `token_type_ids` with dynamic batch and sequence axes, outputs named as the model's
  output fields; run in onnxruntime against the twin. `optimize=True` adds `model.optimized.onnx`
  (onnxruntime's transformer optimizer), verified on its own.
- savedmodel: the Keras twin as a TensorFlow SavedModel in OUT itself (bert_zoo.export_savedmodel): the
  `serve` endpoint (int32 or int64 ids, mask and token types optional, a tensor or a dict; what
  keras.layers.TFSMLayer calls) and the signatures `serving_default` (int32) and `serve` (int64);
  `text=True` adds raw-strings endpoints with the in-graph tokenizer. Loaded back with
  `tf.saved_model.load` and run against the Keras model.
- stablehlo: the Flax twin through `jax.export` with symbolic batch and sequence axes, serialized to
  `model.stablehlo`, deserialized and called against the wrapper (bert_zoo.export_stablehlo).

OUT also gets config.json (with the head in `architectures`), the source's tokenizer files and
export.json (inputs, outputs, versions and every measured difference). Verification is on by default,
as in `bert-zoo convert`: each verification batch (several batch sizes and lengths, padded rows) must
agree to 1e-5 on every output field. Bad input (unknown format or head, an option the format does not
take, weights the head lacks, an OUT that is not empty, text signatures without tokenizer files): ExportError, one line and exit 2 on the
command line. A verification failure: ExportVerificationError, exit 1. Either way nothing is left in
OUT: it is written beside OUT and moved into place only when complete (conversion.formats.atomic).

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bert_common.config import BertConfig
from bert_common.files import resolve_model_dir
from bert_common.heads import HEADS, get_head, head_of_checkpoint
from bert_common.tokenization import TOKENIZER_FILES
from bert_zoo import export_onnx, export_savedmodel, export_stablehlo
from bert_zoo.export_common import (
    ExportError,
    ExportResult,
    ExportVerificationError,
    failure_message,
    print_checks,
    versions,
)
from bert_zoo.twins import load_twin
from bert_zoo.verify import ATOL
from conversion.formats.atomic import atomic_directory

FORMATS = ("onnx", "savedmodel", "stablehlo")
TWIN = {"onnx": "pt", "savedmodel": "tf", "stablehlo": "flax"}  # the twin each format is exported from
TWIN_PACKAGE = {"pt": "bert_pt", "tf": "bert_tf", "flax": "bert_flax"}
REPORT_FILE = "export.json"

logger = logging.getLogger("bert_zoo")

__all__ = ["FORMATS", "ExportError", "ExportResult", "ExportVerificationError", "export"]


def export(
    model_dir_or_model: Any,
    out_dir: str | Path,
    *,
    to: str = "onnx",
    head: str | None = None,
    opset: int | None = None,
    optimize: bool = False,
    platforms: Sequence[str] | None = None,
    text: bool = False,
    verify: bool = True,
) -> ExportResult:
    """Export a model to `out_dir` as an ONNX graph, a TensorFlow SavedModel or a serialized StableHLO
    module, verified.

    model_dir_or_model: a checkpoint directory or hub id (read by the twin of the format), or a loaded
        model of that twin (a bert_pt model for onnx, a bert_tf model for savedmodel, a bert_flax
        wrapper for stablehlo).
    to: "onnx" (from bert_pt), "savedmodel" (from bert_tf) or "stablehlo" (from bert_flax).
    head: the head to export, any twin's spelling (default: the checkpoint's `architectures`, else
        guessed from its weights; a loaded model's own head).
    opset: ONNX opset, 14 to 20 (default 17); onnx only.
    optimize: also write `model.optimized.onnx` through onnxruntime's transformer optimizer; onnx only.
    platforms: jax.export lowering platforms ("cpu", "cuda", "rocm", "tpu"; default: this machine's);
        stablehlo only.
    text: also serve raw strings through the in-graph TFBertTokenizer (`serve_text`, from the
        checkpoint's tokenizer files; heads on [B, T] ids); savedmodel only (default False).
    verify: run every exported graph against the twin on int64 [B, T] batches (int32 for stablehlo;
        savedmodel also int32 and ids alone; [B, C, T] for multiple choice) of several shapes with
        padding, and with text on sentences tokenized by the fast tokenizer; fail above 1e-5.

    Returns the ExportResult: files written, input and output names, the checks with max |diff| per
    output field.

    Raises:
        ExportError: an unknown format or head, an option the format does not take, a model of the
            wrong twin, weights the head lacks, an `out_dir` that exists and is not empty, a model the
            exporter cannot trace; text without tokenizer files (or with a head not on [B, T] ids).
        ExportVerificationError: an exported graph differs from the twin by more than 1e-5 (or gives
            NaN / Inf); nothing is written.
        ModelNotFoundError: no model at `model_dir_or_model`.
        ImportError: the twin's framework, onnx or onnxruntime is not installed.
    """
    fmt = _check_options(to, opset, optimize, platforms, text)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"output {out} already exists and is not an empty directory")
    model, config, head_name, source = _load(model_dir_or_model, fmt, head)
    with atomic_directory(out, caller="bert-zoo export") as tmp:
        options = {"opset": opset, "optimize": optimize, "platforms": platforms, "text": text}
        result = _write(model, config, head_name, source, tmp, fmt, options, verify)
        result.path = str(out)
        if not result.passed:
            raise ExportVerificationError(failure_message(result, out), result)
    return result


def _check_options(
    to: str, opset: int | None, optimize: bool, platforms: Sequence[str] | None, text: bool = False
) -> str:
    if to not in FORMATS:
        raise ExportError(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")
    if to != "onnx" and opset is not None:
        raise ExportError(f"opset applies to --to onnx only, not {to}")
    if to != "onnx" and optimize:
        raise ExportError(
            f"optimize (onnxruntime's transformer optimizer) applies to --to onnx only, not {to}"
        )
    if to != "stablehlo" and platforms is not None:
        raise ExportError(f"platforms (jax.export lowering) applies to --to stablehlo only, not {to}")
    if to != "savedmodel" and text:
        raise ExportError(f"text (raw-strings signatures) applies to --to savedmodel only, not {to}")
    if opset is not None:
        export_onnx.check_opset(opset)
    export_stablehlo.check_platforms(platforms)
    return to


def _load(source: Any, fmt: str, head: str | None) -> tuple[Any, BertConfig, str, Path | None]:
    """(the twin's model, its config, the head name, the source directory or None for a loaded model)."""
    twin = TWIN[fmt]
    if not isinstance(source, (str, os.PathLike)):
        return _loaded(source, fmt, head)
    directory = resolve_model_dir(source)
    config = BertConfig.from_pretrained(directory)
    name = get_head(head).name if head else _detect_head(directory, config)
    model, _config, info = load_twin(twin).load_model(name, str(directory))
    if info.get("missing_keys"):
        missing = info["missing_keys"]
        raise ExportError(
            f"{directory} lacks {len(missing)} weight(s) of {name}, e.g. {missing[:3]}; an export never "
            "invents weights: pick the head the checkpoint was saved as (--head)"
        )
    if info.get("unexpected_keys"):
        logger.info("not exported (the head %s does not use them): %s", name, info["unexpected_keys"])
    return model, model.config, name, directory


def _loaded(model: Any, fmt: str, head: str | None) -> tuple[Any, BertConfig, str, None]:
    module = type(model).__module__.split(".")[0]
    expected = TWIN_PACKAGE[TWIN[fmt]]
    if module != expected or not hasattr(model, "head_name") or not hasattr(model, "config"):
        raise ExportError(
            f"--to {fmt} exports a {expected} model or a checkpoint directory, got {type(model).__name__}"
        )
    name = get_head(model.head_name).name
    if head is not None and get_head(head).name != name:
        raise ExportError(f"head {head!r} was asked for, but the model given is a {type(model).__name__}")
    if fmt == "onnx":
        model.eval()
    return model, model.config, name, None


def _detect_head(directory: Path, config: BertConfig) -> str:
    """The checkpoint's head: its config's `architectures` when known, else guessed from weight names."""
    for name in config.architectures or ():
        try:
            return get_head(name).name
        except ValueError:
            continue
    from conversion.checkpoint import read_weights

    state, _file = read_weights(directory)
    return head_of_checkpoint(set(state))


def _write(
    model: Any,
    config: BertConfig,
    head: str,
    source: Path | None,
    tmp: Path,
    fmt: str,
    options: dict[str, Any],
    verify: bool,
) -> ExportResult:
    """Export into the staging folder `tmp`, verify, write config, tokenizer files and export.json."""
    details: dict[str, Any] = {}
    if fmt == "onnx":
        opset = export_onnx.DEFAULT_OPSET if options["opset"] is None else options["opset"]
        inputs, outputs = export_onnx.export_onnx(model, head, tmp, opset)
        graphs = {"onnxruntime": export_onnx.MODEL_FILE}
        if options["optimize"]:
            details["fused_operators"] = export_onnx.optimize_onnx(tmp, config)
            graphs["onnxruntime optimized"] = export_onnx.OPTIMIZED_FILE
        details.update(export_onnx.describe_onnx(tmp / export_onnx.MODEL_FILE))
        checks = [
            check
            for graph, file in graphs.items()
            if verify
            for check in export_onnx.verify_onnx(tmp / file, model, head, outputs, graph)
        ]
    elif fmt == "savedmodel":
        graph_tokenizer = fast = None
        if options["text"]:
            graph_tokenizer, fast = export_savedmodel.text_tokenizers(source, config, head)
        inputs, outputs = export_savedmodel.export_savedmodel(model, head, tmp, graph_tokenizer)
        if options["text"]:
            inputs = [*inputs, "text", "text_pair"]
        loaded = export_savedmodel.load(tmp)  # read back once: described, then verified
        details = export_savedmodel.describe_savedmodel(loaded)
        checks = (
            export_savedmodel.verify_savedmodel(loaded, model, head, outputs, fast, graph_tokenizer)
            if verify
            else []
        )
    else:
        chosen = export_stablehlo.check_platforms(options["platforms"])
        inputs, outputs, details = export_stablehlo.export_stablehlo(model, head, tmp, chosen)
        checks = (
            export_stablehlo.verify_stablehlo(tmp / export_stablehlo.MODEL_FILE, model, head, outputs)
            if verify
            else []
        )
    saved = config.copy()
    saved.architectures = [head]
    saved.save_pretrained(tmp)
    copied = [n for n in TOKENIZER_FILES if source is not None and (source / n).is_file()]
    for name in copied:
        shutil.copy2(source / name, tmp / name)  # type: ignore[operator]
    files = [*sorted(p.name for p in tmp.iterdir()), REPORT_FILE]
    result = ExportResult("", fmt, head, files, inputs, outputs, checks, ATOL)
    report = {
        "format": fmt,
        "head": head,
        "source": str(source) if source else type(model).__name__,
        "files": files,
        **details,
        "versions": versions(fmt),
        "atol": ATOL,
        "verification": [
            {"graph": c.graph, "reference": c.reference, "shape": list(c.shape), "max_abs_diff": c.diffs}
            | ({"error": c.error} if c.error else {})
            for c in checks
        ],
    }
    (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return result


# ------------------------------------------------------------------------------------ command line


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `export` on the `bert-zoo` sub-command parser (its handler is `run_export`)."""
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX, a TensorFlow SavedModel or StableHLO, verified against its twin by default",
    )
    _arguments(parser)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model directory or hub id")
    parser.add_argument("out", help="output directory (must not exist, or be empty)")
    parser.add_argument("--to", default="onnx", help=f"the format: {', '.join(FORMATS)} (default onnx)")
    parser.add_argument("--head", default=None, help=f"one of {', '.join(HEADS)} (default: the checkpoint's)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset, 14 to 20 (default 17)")
    parser.add_argument(
        "--optimize", action="store_true", help="also write model.optimized.onnx (onnxruntime optimizer)"
    )
    parser.add_argument(
        "--platforms", default=None, help="stablehlo: comma-separated cpu,cuda,rocm,tpu (default: local)"
    )
    parser.add_argument(
        "--text",
        action="store_true",
        help="savedmodel: also serve raw strings with the in-graph tokenizer (serve_text)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip running the graph against the twin")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Run `bert-zoo export` from parsed arguments; 0 done, 1 verification failed (nothing written).

    Raises:
        ExportError: bad input (the command line prints its first line and exits 2).
    """
    if not getattr(args, "verbose", False):
        logging.getLogger("bert_zoo").setLevel(logging.ERROR)
    start = time.perf_counter()
    platforms = args.platforms.split(",") if args.platforms else None
    try:
        result = export(
            args.model,
            args.out,
            to=args.to,
            head=args.head,
            opset=args.opset,
            optimize=args.optimize,
            platforms=platforms,
            text=args.text,
            verify=not args.no_verify,
        )
    except ExportVerificationError as err:
        print_checks(err.result)
        print(str(err), file=sys.stderr)
        return 1
    print(f"export:  {args.model} as {result.head} -> {result.path} ({result.format})")
    print(f"inputs:  {', '.join(result.inputs)}")
    print(f"outputs: {', '.join(result.outputs)}")
    print_checks(result)
    print(f"wrote:   {', '.join(result.files)}")
    print(f"done in {time.perf_counter() - start:.1f}s: {result.path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, exit code 2 (as the bert-zoo command)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bert_zoo.export MODEL OUT ...`: the `bert-zoo export` command on its own.

    Returns 0 done, 1 verification failed, 2 bad input (one line on stderr).
    """
    from bert_zoo.twins import quiet_frameworks

    quiet_frameworks()
    parser = _Parser(prog="bert-zoo export", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what loading and export do")
    _arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return run_export(args)
    except (ValueError, TypeError, OSError, KeyError, ImportError) as err:
        if args.verbose:
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"bert-zoo export: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
