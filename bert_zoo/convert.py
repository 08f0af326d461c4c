"""`bert-zoo convert SRC OUT [--from F] [--to F] [--model-class HEAD] [--no-verify]`.

Reads a checkpoint directory (or hub id) in any format, checks it against its config, writes config.json
+ the weights in the target format + the tokenizer files to OUT, and by default loads source and result
in the matching twins and compares every output field (exit 1 above 1e-5, or on a NaN or Inf). Bad
input (weights that are not floating point or hold NaN/Inf included): one line on stderr, exit 2, and
nothing left in OUT (it is written to `.OUT.tmp-PID-XXXX` beside OUT and moved into place only when
complete; what a killed run left there is removed by the next). `load_source` is shared with `bert-zoo diff`.

Weights are canonical (`dict[name, numpy.ndarray]`, dense `[out, in]`, embeddings `[V, H]`) between
reading and writing; the formats themselves are conversion.formats.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.files import read_text_file, resolve_model_dir
from bert_common.heads import HEADS, get_head, head_of_checkpoint
from bert_common.tokenization import TOKENIZER_FILES
from bert_zoo.verify import (
    ATOL,
    FORMAT_TWIN,
    compare_outputs,
    group_diffs,
    run_in,
    sample_inputs,
    within,
    worst_field,
)
from conversion.canonical import fit_to_model, normalize_legacy_names
from conversion.checkpoint import (
    DISK_FORMATS,
    FALLBACK_PATTERNS,
    PRETRAINED_PATTERNS,
    WEIGHT_FILE_NAMES,
    detect_format,
    read_checkpoint,
    write_weights,
)
from conversion.formats.atomic import atomic_directory
from conversion.names import TIED_DECODER_WEIGHT, WORD_EMBEDDINGS
from conversion.shapes import model_shapes

logger = logging.getLogger("bert_zoo")

TARGET_FORMATS = ("safetensors", "pytorch", "tf-h5", "flax-msgpack")
PROGRESS_BYTES = 50 * 2**20


class ConversionError(ValueError):
    """A conversion that cannot be done as asked (bad input, config and weights that disagree)."""


def add_parser(sub: Any) -> None:
    """Register `convert` on the `bert-zoo` sub-command parser."""
    convert = sub.add_parser("convert", help="convert a checkpoint between formats, verified by default")
    convert.add_argument("src", help="source directory or hub id")
    convert.add_argument("out", help="output directory (must not exist, or be empty)")
    convert.add_argument("--from", dest="from_format", default="auto", choices=("auto", *DISK_FORMATS))
    convert.add_argument("--to", dest="to_format", default="safetensors", choices=TARGET_FORMATS)
    convert.add_argument(
        "--model-class", default=None, help=f"the head: one of {', '.join(HEADS)} (default: from the weights)"
    )
    convert.add_argument("--max-shard-size", default="5GB", help="safetensors shard size (default 5GB)")
    convert.add_argument(
        "--no-verify", action="store_true", help="skip loading both sides and comparing outputs"
    )
    convert.set_defaults(func=cmd_convert)


# ------------------------------------------------------------------------------------------ convert


class _ProgressState(Mapping[str, np.ndarray]):
    """A read-only view of the weights that advances a progress bar (by bytes) as writers read it."""

    def __init__(self, state: Mapping[str, np.ndarray], desc: str) -> None:
        from tqdm.auto import tqdm

        self._state = state
        total = sum(v.nbytes for v in state.values())
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit="B",
            unit_scale=True,
            disable=None if total > PROGRESS_BYTES else True,
        )

    def __getitem__(self, key: str) -> np.ndarray:
        value = self._state[key]
        self._bar.update(value.nbytes)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    def close(self) -> None:
        self._bar.close()


def _source_dir(src: str) -> Path:
    return resolve_model_dir(src, allow_patterns=[*PRETRAINED_PATTERNS, *FALLBACK_PATTERNS, *TOKENIZER_FILES])


def load_source(
    src: str, from_format: str, model_class: str | None, *, allow_nonfinite: bool = False
) -> tuple[Path, str, BertConfig, str, dict[str, np.ndarray], dict[str, Any]]:
    """(directory, format, config, head, canonical weights fitted to the head, key report).

    from_format: one of DISK_FORMATS or "auto"; model_class: a head name, or None to read it off the
    weights. allow_nonfinite: accept weights holding NaN or Inf (`bert-zoo diff` shows where they
    lead), listed in the report's "nonfinite"; a conversion refuses them (the default).

    Raises:
        ConversionError: the weights lack tensors of the head, hold tensors it does not have, or hold
            NaN or Inf values.
        ModelNotFoundError, CheckpointError, ShapeMismatchError: no weights, a bad file (a weight that is
            not floating point), a tensor whose shape does not fit the config.
    """
    directory = _source_dir(src)
    fmt = detect_format(directory) if from_format == "auto" else from_format
    config = BertConfig.from_pretrained(directory)
    read = read_checkpoint(directory, fmt)
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


def _print_key_report(report: Mapping[str, Any], out_format: str) -> None:
    print(f"source:  {report['source']} ({report['format']}), head {report['head']}")
    print(f"tensors: {report['tensors']} written as {out_format}")
    dropped, renamed = report["dropped"], report["renamed"]
    if dropped:
        reasons: dict[str, list[str]] = {}
        for name, reason in dropped.items():
            reasons.setdefault(reason, []).append(name)
        for reason, names in reasons.items():
            shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
            print(f"dropped: {shown} -- {reason}")
    if renamed:
        legacy = {k: v for k, v in renamed.items() if not (v == "bert." + k or k == "bert." + v)}
        prefixed = len(renamed) - len(legacy)
        for old, new in list(legacy.items())[:6]:
            print(f"renamed: {old} -> {new}")
        if len(legacy) > 6:
            print(f"renamed: ... {len(legacy)} legacy names in all")
        if prefixed:
            print(f"renamed: {prefixed} names gained or lost the 'bert.' prefix")


def _copy_tokenizer(src: Path, out: Path) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
            copied.append(name)
    if "vocab.txt" in copied and "tokenizer_config.json" not in copied:
        # A Google release: write the full tokenizer layout so every loader can use it.
        from bert_common import BertTokenizerFast

        cased = _vocab_is_cased(src / "vocab.txt")
        BertTokenizerFast(vocab_file=str(src / "vocab.txt"), do_lower_case=not cased).save_pretrained(out)
        copied = [n for n in TOKENIZER_FILES if (out / n).is_file()]
    elif "tokenizer_config.json" in copied:
        import json

        # A tokenizer without a limit of its own gets the model's (OUT's config.json is written first);
        # the Google-release branch above gets it from save_pretrained.
        path = out / "tokenizer_config.json"
        settings = json.loads(path.read_text(encoding="utf-8"))
        limit = settings.get("model_max_length") if isinstance(settings, dict) else 0
        if not isinstance(limit, int) or limit >= int(1e30):
            config = json.loads((out / "config.json").read_text(encoding="utf-8"))
            settings["model_max_length"] = int(config["max_position_embeddings"])
            path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return copied


def _vocab_is_cased(path: Path) -> bool:
    """True when the vocabulary has upper-case word pieces (Google's cased releases)."""
    for line in read_text_file(path, "vocabulary file").splitlines():
        token = line.strip()
        if token and not (token.startswith("[") and token.endswith("]")) and token != token.lower():
            return True
    return False


def verify(
    src: Path, src_format: str, out: Path, out_format: str, head: str, config: BertConfig
) -> dict[str, float]:
    """Max |source - result| per output field, each side run by the twin that reads its format.

    Raises:
        ImportError: a twin cannot be imported.
    """
    arrays = sample_inputs(config, head)
    forward = {"output_hidden_states": True}
    before, _ = run_in(FORMAT_TWIN[src_format], src, head, arrays, **forward)
    after, _ = run_in(FORMAT_TWIN[out_format], out, head, arrays, **forward)
    return compare_outputs(before, after)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert `args.src` to `args.out`; returns 0, or 1 when verification fails (nothing written).

    Raises:
        ConversionError: an `out` that is not empty, weights that do not fit the head, google-tf1 as target.
    """
    quiet_loading(args)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConversionError(f"output {out} already exists and is not an empty directory")
    start = time.perf_counter()
    src_dir, src_format, config, head, state, report = load_source(
        args.src, args.from_format, args.model_class
    )
    if src_format == "google-tf1" and args.to_format == "google-tf1":
        raise ConversionError("google-tf1 can only be read")
    _print_key_report(report, args.to_format)
    _clean_legacy_staging(out)
    try:
        # Written into `.OUT.tmp-PID-XXXX` beside OUT, moved into place only when complete and verified;
        # the leftovers of a killed run are removed here first (conversion.formats.atomic).
        with atomic_directory(out, caller="bert-zoo convert") as tmp:
            saved = config.copy()
            saved.architectures = [head]
            saved.save_pretrained(tmp)
            progress = _ProgressState(state, desc=f"writing {args.to_format}")
            try:
                files = write_weights(
                    progress, tmp, args.to_format, model_class=head, max_shard_size=args.max_shard_size
                )
            finally:
                progress.close()
            copied = _copy_tokenizer(src_dir, tmp)
            print(
                f"wrote:   config.json, {', '.join(f.name for f in files)}"
                + (f", {', '.join(copied)}" if copied else "")
            )
            if not args.no_verify:
                diffs = verify(src_dir, src_format, tmp, args.to_format, head, config)
                if _print_verification(diffs, FORMAT_TWIN[src_format], FORMAT_TWIN[args.to_format]):
                    raise _VerificationFailed()
    except _VerificationFailed:
        print(f"verification failed: nothing written to {out}", file=sys.stderr)
        return 1
    print(f"done in {time.perf_counter() - start:.1f}s: {out}")
    return 0


# The temporary folders of bert-zoo convert before it used conversion.formats.atomic: tempfile.mkdtemp
# names, `.OUT.` and 8 characters. Removed when they hold only what a conversion writes.
_LEGACY_STAGING = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}$")


def _clean_legacy_staging(out: Path) -> None:
    out = Path(os.path.abspath(out))
    if not out.parent.is_dir():
        return
    ours = {"config.json", *WEIGHT_FILE_NAMES.values(), *TOKENIZER_FILES}
    for entry in out.parent.iterdir():
        match = _LEGACY_STAGING.match(entry.name)
        if not (match and match["name"] == out.name and entry.is_dir() and not entry.is_symlink()):
            continue
        names = {p.name for p in entry.iterdir()}
        if all(n in ours or n.endswith(".safetensors") or n.startswith("model.safetensors") for n in names):
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("removed %s, left by a bert-zoo convert that was killed", entry)


class _VerificationFailed(Exception):
    """The converted weights do not reproduce the source's outputs within 1e-5."""


def _print_verification(diffs: Mapping[str, float], before: str, after: str) -> int:
    worst_name, worst = worst_field(diffs)
    print(f"verify:  source in {before} vs result in {after}, max |diff| per output field:")
    for name, value in group_diffs(diffs).items():
        flag = "" if within(value) else ("   <-- NaN or Inf" if math.isnan(value) else "   <-- above 1e-5")
        print(f"  {name:<28} {value:.2e}{flag}")
    if math.isnan(worst):
        print(f"  worst: {worst_name} nan: an output holds NaN or Inf on at least one side")
        return 1
    if not within(worst):
        print(f"  worst: {worst_name} {worst:.2e} > {ATOL:g}")
        return 1
    print(f"  all fields within {ATOL:g}")
    return 0


def quiet_loading(args: argparse.Namespace) -> None:
    """Loading reports go to the log; the commands print their own key report instead."""
    if not getattr(args, "verbose", False):
        logging.getLogger("bert_zoo").setLevel(logging.ERROR)
