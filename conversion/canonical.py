"""Fitting canonical weights to a model: one set of rules for all three twins.

A twin describes what its model expects (canonical name -> shape, from its own parameter mapping) and
hands over the weights read from disk. `fit_to_model` then

- renames the spellings of old files (`LayerNorm.gamma/beta`, `cls.predictions.decoder.bias`),
- drops, and reports as expected, what carries no weights (the `position_ids` buffer, a tied decoder),
- adds or removes the `bert.` prefix (a base checkpoint into a head model and the reverse),
- and sorts every remaining name into matched, missing (to be initialized), unexpected (skipped) and
  mismatched (shape differs), raising on mismatched shapes unless `ignore_mismatched_sizes=True`.

The returned `LoadReport` names every key in each group; `log()` writes it the way Transformers users
know, and `loading_info()` is the dict that `from_pretrained(..., output_loading_info=True)` returns.

Before any of that, `check_weights` looks at what every reader returned, whatever the format: a weight
that is not floating point (int, bool) is refused, one holding NaN or Inf is named in a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from conversion.formats.errors import CheckpointError
from conversion.names import (
    DECODER_BIAS_ALIAS,
    HEAD_ROOTS,
    POSITION_IDS_BUFFER,
    WORD_EMBEDDINGS,
)

logger = logging.getLogger("bert_zoo")

# Name segments that mark optimizer state in Google checkpoints and TF savers, never model weights.
OPTIMIZER_SLOTS = frozenset(
    {"adam_m", "adam_v", "global_step", "beta1_power", "beta2_power", "Adam", "Adam_1", "Momentum"}
)


def is_optimizer_slot(name: str) -> bool:
    """True for optimizer state such as `bert/embeddings/word_embeddings/adam_m` or `global_step`."""
    return any(part in OPTIMIZER_SLOTS for part in name.replace("/", ".").split("."))


def check_weights(state: Mapping[str, np.ndarray], where: Callable[[str], str]) -> list[str]:
    """Refuse weights that are not floating point; name those holding NaN or Inf. Returns the latter.

    state: {name: array} as a reader returned it (any shape). where: the file a tensor came from, for
    the messages. Integer buffers that are not weights (the `position_ids` buffer, optimizer state such
    as `global_step`) are left alone; a warning on the "bert_zoo" logger names every weight holding NaN
    or Inf, with how many of its values are.

    Raises:
        CheckpointError: a weight whose dtype is not floating (int32, int64, bool, ...), naming the
            tensor, its dtype and the file.
    """
    nonfinite: dict[str, str] = {}
    for name, value in state.items():
        if name.endswith(POSITION_IDS_BUFFER) or is_optimizer_slot(name):
            continue
        if not np.issubdtype(value.dtype, np.floating):
            raise CheckpointError(
                f"{where(name)}: tensor {name!r} has dtype {value.dtype} (shape {tuple(value.shape)}); "
                "model weights must be floating point (float16, bfloat16, float32 or float64)"
            )
        finite = np.isfinite(value)
        if not finite.all():
            nans = int(np.isnan(value).sum())
            nonfinite[name] = f"{nans} NaN, {value.size - int(finite.sum()) - nans} Inf"
    if nonfinite:
        detail = ", ".join(f"{name} ({counts})" for name, counts in nonfinite.items())
        files = sorted({where(name) for name in nonfinite})
        logger.warning(
            "%d weight(s) of %s hold NaN or Inf values: %s", len(nonfinite), ", ".join(files), detail
        )
    return list(nonfinite)


@dataclass
class LoadReport:
    """What happened to every key while fitting a checkpoint to a model."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_keys: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)

    def loading_info(self) -> dict[str, list]:
        """Transformers' `output_loading_info` dict, plus the expected drops and renames."""
        return {
            "missing_keys": list(self.missing_keys),
            "unexpected_keys": list(self.unexpected_keys),
            "mismatched_keys": list(self.mismatched_keys),
            "error_msgs": [],
            "dropped_keys": dict(self.dropped),
            "renamed_keys": dict(self.renamed),
        }

    def log(self, model_name: str, source: str) -> None:
        """Warn about newly initialized and mismatched weights; tell what was skipped or dropped."""
        if self.unexpected_keys:
            logger.warning(
                "Some weights of the checkpoint at %s were not used when initializing %s: %s",
                source,
                model_name,
                self.unexpected_keys,
            )
        if self.missing_keys:
            logger.warning(
                "Some weights of %s were not initialized from the checkpoint at %s and are newly initialized: %s",
                model_name,
                source,
                self.missing_keys,
            )
        if self.mismatched_keys:
            detail = [f"{n}: checkpoint {c} vs model {m}" for n, c, m in self.mismatched_keys]
            logger.warning(
                "Some weights of %s were not initialized from %s because their shapes differ "
                "(ignore_mismatched_sizes=True) and are newly initialized: %s",
                model_name,
                source,
                detail,
            )
        if self.dropped:
            logger.info("Dropped from the checkpoint at %s, as expected: %s", source, self.dropped)
        if self.renamed:
            logger.info("Renamed legacy keys of the checkpoint at %s: %s", source, self.renamed)


class ShapeMismatchError(ValueError):
    """Checkpoint tensors whose shapes differ from the model's."""


def normalize_legacy_names(
    state: Mapping[str, np.ndarray], report: LoadReport | None = None
) -> tuple[dict[str, np.ndarray], LoadReport]:
    """Rename old spellings and drop tensors that are not weights; every change is recorded in the report."""
    report = report or LoadReport()
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        new = name
        if name.endswith(".gamma") and ".LayerNorm." in name + ".":
            new = name[: -len("gamma")] + "weight"
        elif name.endswith(".beta") and ".LayerNorm." in name + ".":
            new = name[: -len("beta")] + "bias"
        if name.endswith(POSITION_IDS_BUFFER):
            report.dropped[name] = "position_ids buffer (recomputed by the model)"
            continue
        if is_optimizer_slot(name):
            report.dropped[name] = "optimizer state"
            continue
        if new != name:
            report.renamed[name] = new
        if new in out:
            raise ValueError(f"checkpoint holds both {name!r} and its new spelling {new!r}")
        out[new] = value
    if DECODER_BIAS_ALIAS in out:
        alias = out.pop(DECODER_BIAS_ALIAS)
        bias = out.get("cls.predictions.bias")
        if bias is None:
            out["cls.predictions.bias"] = alias
            report.renamed[DECODER_BIAS_ALIAS] = "cls.predictions.bias"
        elif bias.shape == alias.shape and np.array_equal(bias, alias):
            report.dropped[DECODER_BIAS_ALIAS] = "alias of cls.predictions.bias"
        else:
            raise ValueError(
                f"checkpoint holds {DECODER_BIAS_ALIAS!r} and 'cls.predictions.bias' with different values; "
                "they must be the same tensor"
            )
    return out, report


def _is_head_key(name: str) -> bool:
    return name.startswith(HEAD_ROOTS)


def _align_prefix(
    state: dict[str, np.ndarray], expected: Collection[str], report: LoadReport
) -> dict[str, np.ndarray]:
    """Add or remove `bert.` so the checkpoint's base-model keys are spelled like the model's."""
    model_prefixed = any(k.startswith("bert.") for k in expected)
    ckpt_prefixed = any(k.startswith("bert.") for k in state)
    if model_prefixed and not ckpt_prefixed:
        out = {}
        for name, value in state.items():
            new = name if _is_head_key(name) else "bert." + name
            if new != name:
                report.renamed.setdefault(name, new)
            out[new] = value
        return out
    if ckpt_prefixed and not model_prefixed:
        out = {}
        for name, value in state.items():
            new = name[len("bert.") :] if name.startswith("bert.") else name
            if new != name:
                report.renamed.setdefault(name, new)
            out[new] = value
        return out
    return dict(state)


def fit_to_model(
    state: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
    *,
    tied: Mapping[str, str] | None = None,
    ignore_mismatched_sizes: bool = False,
) -> tuple[dict[str, np.ndarray], LoadReport]:
    """Fit checkpoint `state` to a model that expects `expected` (canonical name -> shape).

    tied: names the model ties to another of its weights (`cls.predictions.decoder.weight` ->
    `bert.embeddings.word_embeddings.weight`); they are never required, and a checkpoint copy is dropped
    with the reason recorded. Returns (weights to assign, report); weights not in the result are the
    report's `missing_keys` plus the names of mismatched shapes, for the model to initialize.
    """
    tied = dict(tied or {})
    state, report = normalize_legacy_names(state)
    state = _align_prefix(state, [*expected, *tied], report)

    for name, target in tied.items():
        if name in state:
            copy = state.pop(name)
            source = state.get(target)
            same = source is not None and source.shape == copy.shape and np.array_equal(source, copy)
            report.dropped[name] = f"tied to {target}" + (
                "" if same else " (the checkpoint's separate copy differs and is ignored)"
            )
    matched: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if name not in expected:
            report.unexpected_keys.append(name)
            continue
        want = tuple(int(d) for d in expected[name])
        if tuple(value.shape) != want:
            report.mismatched_keys.append((name, tuple(value.shape), want))
            continue
        matched[name] = value
    report.missing_keys = [name for name in expected if name not in state]
    report.unexpected_keys.sort()
    if report.mismatched_keys and not ignore_mismatched_sizes:
        detail = "; ".join(f"{n}: checkpoint {c} vs model {m}" for n, c, m in report.mismatched_keys)
        raise ShapeMismatchError(
            f"{len(report.mismatched_keys)} checkpoint tensor(s) do not fit the model: {detail}. "
            "Check that the config matches the weights, or pass ignore_mismatched_sizes=True to "
            "initialize these tensors instead."
        )
    return matched, report


def word_embeddings_name(expected: Collection[str]) -> str:
    """`bert.embeddings.word_embeddings.weight` or the base-model spelling, whichever the model uses."""
    return "bert." + WORD_EMBEDDINGS if any(k.startswith("bert.") for k in expected) else WORD_EMBEDDINGS
