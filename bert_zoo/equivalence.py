"""The cross-framework equivalence grid: every head x config x input variant x twin pair, every output field.

A case is one (config, head, inputs): random weights are drawn in numpy (from `conversion.shapes`, so no
twin makes them), written as a canonical directory, loaded by each twin, and run on the same padded
inputs with labels, `output_hidden_states` and `output_attentions`. Every pair of twins is then compared
field by field. The tests (tests/equivalence) assert the 1e-5 contract on this grid; the report script
(scripts/numerics_report.py) writes the measured table to docs/numerics.md.

Shapes: B batch (2), T positions (11), C choices (3), L layers, N attention heads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import HEADS
from bert_zoo.verify import compare_outputs, group_diffs, run_in, sample_inputs, worst_field
from conversion.checkpoint import save_pretrained
from conversion.shapes import model_shapes

# The tiny model of the grid and of every unit test (tests/helpers.py imports it): small enough to build
# in milliseconds, big enough to exercise every path. Dropout and token types at BertConfig's defaults,
# spelled out so the one copy says everything.
TINY: dict[str, Any] = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    type_vocab_size=2,
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
)

# Config variants of the grid: name -> BertConfig changes.
CONFIGS: dict[str, dict[str, Any]] = {
    "absolute/gelu": {},
    "absolute/relu": {"hidden_act": "relu"},
    "absolute/gelu_new": {"hidden_act": "gelu_new"},
    "relative_key": {"position_embedding_type": "relative_key"},
    "relative_key_query": {"position_embedding_type": "relative_key_query"},
    "decoder+cross": {"is_decoder": True, "add_cross_attention": True},
    # relative positions in the self-attention only: cross-attention is absolute in every twin, as in
    # Transformers (encoder length S=5 differs from the decoder length, so a relative table would show)
    "decoder+cross/relative_key_query": {
        "is_decoder": True,
        "add_cross_attention": True,
        "position_embedding_type": "relative_key_query",
    },
}
ENCODER_HEADS = tuple(h for h in HEADS if h != "BertLMHeadModel")
DECODER_HEADS = ("BertModel", "BertLMHeadModel")
PAIRS = (("pt", "tf"), ("pt", "flax"), ("tf", "flax"))

# Input variants. "padded": sample_inputs (the second row right-padded by 3). "head_mask": the first row
# padded too (its last 2 positions, ids left as they are), the second row's encoder states too (their
# last 2), and a head mask [L, N] that drops head 2 of layer 1. Every head runs "padded" under every
# config, and "head_mask" under one config (HEAD_MASK_CONFIGS).
INPUT_VARIANTS = ("padded", "head_mask")
HEAD_MASK_CONFIGS = {"relative_key_query": ENCODER_HEADS, "decoder+cross": DECODER_HEADS}


@dataclass(frozen=True)
class Case:
    """One cell of the grid: a config variant, a head and an input variant."""

    config_name: str
    head: str
    inputs: str = "padded"

    @property
    def config_label(self) -> str:
        """The config name, with the input variant appended unless it is the default."""
        return self.config_name if self.inputs == "padded" else f"{self.config_name}+{self.inputs}"

    @property
    def label(self) -> str:
        return f"{self.config_label}:{self.head}"

    @property
    def directory_name(self) -> str:
        """Where the case's weights are written: one directory per (config, head), shared by the
        input variants."""
        return f"{self.config_name}:{self.head}".replace("/", "-").replace(":", "__").replace("+", "-")


def grid_cases() -> list[Case]:
    """Every case of the grid: the encoder heads under every encoder config and the decoder heads under
    the decoder config, with padded inputs; then the head-mask variant under HEAD_MASK_CONFIGS."""
    cases = []
    for name, changes in CONFIGS.items():
        heads = DECODER_HEADS if changes.get("is_decoder") else ENCODER_HEADS
        cases += [Case(name, head) for head in heads]
    for name, heads in HEAD_MASK_CONFIGS.items():
        cases += [Case(name, head, "head_mask") for head in heads]
    return cases


def case_config(case: Case) -> BertConfig:
    """The tiny config with the case's changes (3 labels for sequence, 5 for token classification)."""
    labels = {"BertForSequenceClassification": 3, "BertForTokenClassification": 5}.get(case.head)
    return BertConfig(**TINY, **CONFIGS[case.config_name], num_labels=labels or 2)


def random_canonical_weights(
    config: BertConfig, head: str, seed: int, scale: float = 0.2
) -> dict[str, np.ndarray]:
    """Random float32 weights for every tensor of `head`: N(0, scale) everywhere, LayerNorm scales near 1."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, shape in model_shapes(config, head).items():
        value = scale * rng.standard_normal(shape)
        if name.endswith("LayerNorm.weight"):
            value += 1.0
        state[name] = value.astype(np.float32)
    return state


def case_labels(
    head: str, config: BertConfig, arrays: Mapping[str, np.ndarray], seed: int
) -> dict[str, np.ndarray]:
    """int64 labels for `head` that exercise its loss (-100 entries included for token-level losses)."""
    rng = np.random.default_rng(seed + 1)
    ids = arrays["input_ids"]
    batch, length = ids.shape[0], ids.shape[-1]
    token_labels = rng.integers(0, config.vocab_size, size=(batch, length)).astype(np.int64)
    token_labels[:, ::3] = -100
    if head == "BertForPreTraining":
        return {"labels": token_labels, "next_sentence_label": np.array([0, 1][:batch], dtype=np.int64)}
    if head in ("BertForMaskedLM", "BertLMHeadModel"):
        return {"labels": token_labels}
    if head == "BertForNextSentencePrediction":
        return {"labels": np.array([1, 0][:batch], dtype=np.int64)}
    if head == "BertForSequenceClassification":
        return {"labels": rng.integers(0, config.num_labels, size=batch).astype(np.int64)}
    if head == "BertForMultipleChoice":
        return {"labels": rng.integers(0, ids.shape[1], size=batch).astype(np.int64)}
    if head == "BertForTokenClassification":
        labels = rng.integers(0, config.num_labels, size=(batch, length)).astype(np.int64)
        labels[arrays["attention_mask"] == 0] = -100
        return {"labels": labels}
    if head == "BertForQuestionAnswering":
        return {
            "start_positions": np.array([1, length + 4][:batch]),
            "end_positions": np.array([3, 2][:batch]),
        }
    return {}


def case_inputs(case: Case, config: BertConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The case's model inputs and labels: sample_inputs ([B, T], or [B, C, T] for multiple choice), the
    input variant applied, then case_labels.

    Raises:
        ValueError: an unknown input variant.
    """
    if case.inputs not in INPUT_VARIANTS:
        raise ValueError(f"unknown input variant {case.inputs!r}; choose one of {INPUT_VARIANTS}")
    arrays = sample_inputs(config, case.head, seed=seed)
    if case.inputs == "head_mask":
        mask = arrays["attention_mask"].copy()
        mask[0, ..., -2:] = 0
        arrays["attention_mask"] = mask
        if "encoder_attention_mask" in arrays:  # [B, S]
            encoder_mask = arrays["encoder_attention_mask"].copy()
            encoder_mask[1, -2:] = 0
            arrays["encoder_attention_mask"] = encoder_mask
        head_mask = np.ones((config.num_hidden_layers, config.num_attention_heads), np.float32)  # [L, N]
        head_mask[1, 2] = 0.0
        arrays["head_mask"] = head_mask
    arrays.update(case_labels(case.head, config, arrays, seed))
    return arrays


def write_case(root: str | os.PathLike[str], case: Case, seed: int = 0) -> Path:
    """Write the case's config + random weights as a canonical directory under `root`; returns it."""
    config = case_config(case)
    directory = Path(root) / case.directory_name
    save_pretrained(
        directory, config, random_canonical_weights(config, case.head, seed), architecture=case.head
    )
    return directory


def case_outputs(
    framework: str, directory: Path, case: Case, seed: int = 0, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Every output field of the case in one twin (loss included), flattened (see flatten_outputs)."""
    config = case_config(case)
    arrays = case_inputs(case, config, seed)
    flat, _ = run_in(
        framework,
        directory,
        case.head,
        arrays,
        device=device,
        output_hidden_states=True,
        output_attentions=True,
    )
    return flat


@dataclass
class PairResult:
    """The max |diff| per output field of one case between one pair of twins."""

    case: Case
    pair: tuple[str, str]
    diffs: dict[str, float]

    @property
    def worst(self) -> tuple[str, float]:
        """(field, diff) of the worst field; a NaN (an output that is not finite) is the worst."""
        return worst_field(self.diffs)

    def grouped(self) -> dict[str, float]:
        """Max diff per field family: loss, logits..., hidden_states, attentions, cross_attentions, pooler
        (NaN when any field of the family is NaN)."""
        return group_diffs(self.diffs)


def run_grid(
    root: str | os.PathLike[str],
    cases: Iterable[Case],
    frameworks: Iterable[str] = ("pt", "tf", "flax"),
    progress: bool = False,
    device: str = "cpu",
) -> list[PairResult]:
    """Compare every pair of `frameworks` on every case; returns one PairResult per (case, pair).

    Raises:
        ValueError: unknown framework or device, or two twins returning different output fields.
    """
    cases = list(cases)
    frameworks = list(frameworks)
    iterator: Iterable[Case] = cases
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(cases, desc="equivalence grid", unit="case")
    results = []
    for case in iterator:
        directory = Path(root) / case.directory_name
        if not directory.exists():
            directory = write_case(root, case)
        outputs = {fw: case_outputs(fw, directory, case, device=device) for fw in frameworks}
        for i, a in enumerate(frameworks):
            for b in frameworks[i + 1 :]:
                results.append(PairResult(case, (a, b), compare_outputs(outputs[a], outputs[b])))
    return results
