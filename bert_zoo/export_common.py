"""What the exporters share: the error types, the inputs an export is verified on, the comparison, the
report of the checks.

An export is checked the way `bert-zoo convert` is: the exported graph and the twin it came from run the
same batches, and every output field must agree to ATOL (1e-5) in max |diff|. The batches cover several
batch sizes and lengths, right padding (`attention_mask` 0 on the tail of some rows, the ids there
`pad_token_id`) and both token types, so a graph whose batch or sequence axis was frozen at trace time,
or that ignores the mask, fails.

Shape legend: B batch, C choices (multiple choice), T positions, S encoder length (cross-attention),
H hidden size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_zoo.verify import ATOL, compare_outputs, nan_max, within

# The graph inputs, in order; a decoder with cross-attention also takes ENCODER_INPUTS.
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ENCODER_INPUTS = ("encoder_hidden_states", "encoder_attention_mask")
# (B, T) of the verification batches; multiple choice gets C = 2 or 3 choices per row as well.
VERIFY_SHAPES = ((1, 1), (3, 16), (2, 40))
ENCODER_LENGTH = 5  # S of the cross-attention inputs in the verification batches


class ExportError(ValueError):
    """An export that cannot be done as asked: unknown format or head, an option the format or the model
    does not support, an output directory that is not empty, weights the head lacks."""


@dataclass
class Check:
    """One verification: `graph` (e.g. "onnxruntime") against `reference` on inputs of `shape`, with
    the max |diff| of each output field; `error` (the first line of the runtime's message, the fields
    NaN) when the graph could not run these inputs, e.g. an axis frozen at trace time."""

    graph: str
    reference: str
    shape: tuple[int, ...]
    diffs: dict[str, float]
    error: str | None = None

    @property
    def worst(self) -> float:
        """The largest difference (NaN when an output holds NaN or Inf)."""
        return nan_max(self.diffs.values())


@dataclass
class ExportResult:
    """What `bert_zoo.export.export` wrote and measured.

    path: the output directory. format: "onnx", "savedmodel" or "stablehlo". head: the head name. files: the file
    names written. inputs / outputs: the graph's input and output names, in order. checks: one Check
    per verified graph and input shape (empty with verify=False). atol: the tolerance.
    """

    path: str
    format: str
    head: str
    files: list[str]
    inputs: list[str]
    outputs: list[str]
    checks: list[Check] = field(default_factory=list)
    atol: float = ATOL

    def worst(self, graph: str | None = None) -> float:
        """The largest difference over the checks (of one `graph` when given); NaN wins; 0.0 unverified."""
        return nan_max(c.worst for c in self.checks if graph is None or c.graph == graph)

    def worst_by_field(self, graph: str | None = None) -> dict[str, float]:
        """Max |diff| per output field over every check (of one `graph` when given)."""
        fields: dict[str, list[float]] = {}
        for check in self.checks:
            if graph is None or check.graph == graph:
                for name, value in check.diffs.items():
                    fields.setdefault(name, []).append(value)
        return {name: nan_max(values) for name, values in fields.items()}

    @property
    def passed(self) -> bool:
        """Whether every check is within `atol` (True when nothing was verified)."""
        worst = self.worst()
        return not math.isnan(worst) and worst <= self.atol


class ExportVerificationError(RuntimeError):
    """The exported graph does not reproduce the twin within the tolerance; nothing was written.

    result: the ExportResult with the failing checks.
    """

    def __init__(self, message: str, result: ExportResult) -> None:
        super().__init__(message)
        self.result = result


def input_names(config: BertConfig, head: str) -> tuple[str, ...]:
    """The graph's inputs: ids, mask and token types; a cross-attention decoder adds the encoder's."""
    cross = config.is_decoder and config.add_cross_attention and get_head(head).input_rank == 2
    return TOKEN_INPUTS + (ENCODER_INPUTS if cross else ())


def verification_batches(config: BertConfig, head: str, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """The batches an export is verified on, one per VERIFY_SHAPES entry (T at most
    max_position_embeddings): int64 [B, T] ids / mask / token types ([B, C, T] for multiple choice);
    every second row right-padded; float32 [B, S, H] encoder states and an int64 [B, S] mask for a
    cross-attention decoder."""
    rng = np.random.default_rng(seed)
    low = min(5, config.vocab_size - 1)
    multiple_choice = get_head(head).input_rank == 3
    cross = "encoder_hidden_states" in input_names(config, head)
    batches = []
    for i, (batch, length) in enumerate(VERIFY_SHAPES):
        length = min(length, config.max_position_embeddings)
        rows = batch * (2 + i % 2) if multiple_choice else batch
        ids = rng.integers(low, config.vocab_size, size=(rows, length), dtype=np.int64)
        mask = np.ones((rows, length), dtype=np.int64)
        for row in range(1, rows, 2):  # every second row ends in padding, of a different length each
            pad = min(length - 1, 1 + (row + i) % max(1, length // 2))
            if pad:
                mask[row, length - pad :] = 0
                ids[row, length - pad :] = config.pad_token_id or 0
        types = np.zeros((rows, length), dtype=np.int64)
        if config.type_vocab_size > 1:
            types[:, length // 2 :] = 1
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        if multiple_choice:
            arrays = {k: v.reshape(batch, rows // batch, length) for k, v in arrays.items()}
        if cross:
            arrays["encoder_hidden_states"] = rng.standard_normal(
                (batch, ENCODER_LENGTH, config.hidden_size)
            ).astype(np.float32)
            encoder_mask = np.ones((batch, ENCODER_LENGTH), dtype=np.int64)
            encoder_mask[batch - 1, -2:] = 0
            arrays["encoder_attention_mask"] = encoder_mask
        batches.append(arrays)
    return batches


def failed_check(
    graph: str, reference: str, shape: tuple[int, ...], names: list[str], err: Exception
) -> Check:
    """The Check of a graph that raised on a verification batch: every field NaN, the error's first line."""
    text = str(err).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    return Check(graph, reference, shape, dict.fromkeys(names, float("nan")), first[:300])


def compare_fields(
    graph: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray], names: list[str]
) -> dict[str, float]:
    """Max |graph - reference| per output field of `names` (bert_zoo.verify.compare_outputs: NaN when a
    side is not finite).

    Raises:
        ValueError: a field missing on a side, or of a different shape on each side.
    """
    return compare_outputs(
        {n: np.asarray(graph[n], np.float64) for n in names},
        {n: np.asarray(reference[n], np.float64) for n in names},
    )


def versions(fmt: str) -> dict[str, str]:
    """The installed versions of the libraries the format `fmt` is exported and run with."""
    from importlib.metadata import PackageNotFoundError, version

    names = {
        "onnx": ("torch", "onnx", "onnxruntime"),
        "savedmodel": ("tensorflow", "keras", "tensorflow-text"),
        "stablehlo": ("jax", "jaxlib", "flax"),
    }[fmt]
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def failure_message(result: ExportResult, out: Path) -> str:
    """The one-line message of a failed verification: the worst graph, field, inputs and difference."""
    worst = max(result.checks, key=lambda c: math.inf if math.isnan(c.worst) else c.worst)
    field = max(worst.diffs, key=lambda k: math.inf if math.isnan(worst.diffs[k]) else worst.diffs[k])
    value = worst.diffs[field]
    what = "NaN or Inf" if math.isnan(value) else f"{value:.2e} > {result.atol:g}"
    if worst.error:
        field, what = "the graph", f"cannot run them ({worst.error})"
    return (
        f"verification failed: {worst.graph} vs {worst.reference}, {field} on inputs {list(worst.shape)}: "
        f"{what}; nothing written to {out}"
    )


def print_checks(result: ExportResult) -> None:
    """Print the verification of `result` per graph: its input shapes and max |diff| per output field."""
    graphs = list(dict.fromkeys(c.graph for c in result.checks))
    if not graphs:
        print("verify:  skipped (--no-verify)")
    for graph in graphs:
        shapes = " ".join(str(tuple(c.shape)).replace(" ", "") for c in result.checks if c.graph == graph)
        reference = next(c.reference for c in result.checks if c.graph == graph)
        print(f"verify:  {graph} vs {reference} on inputs {shapes}, max |diff| per output field:")
        for name, value in result.worst_by_field(graph).items():
            flag = "" if within(value, result.atol) else "   <-- above 1e-5 (or NaN)"
            print(f"  {name:<28} {value:.2e}{flag}")
        for check in result.checks:
            if check.graph == graph and check.error:
                print(f"  inputs {list(check.shape)}: {check.error}")
    if graphs and result.passed:
        print(f"  all fields within {result.atol:g}")
