"""The cross-framework equivalence grid: every head x config x twin pair, every output field.

A case is one (config, head): random weights are drawn in numpy (from `conversion.shapes`, so no twin
makes them), written as a canonical directory, loaded by each twin, and run on the same right-padded
inputs with labels, `output_hidden_states` and `output_attentions`. Every pair of twins is then compared
field by field. The tests (tests/equivalence) assert the 1e-5 contract on this grid; the report script
(scripts/numerics_report.py) writes the measured table to docs/numerics.md.
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
from conversion.checkpoint import save_pretrained
from conversion.shapes import model_shapes
from conversion.verify import compare_outputs, run_in, sample_inputs

TINY = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
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
}
ENCODER_HEADS = tuple(h for h in HEADS if h != "BertLMHeadModel")
DECODER_HEADS = ("BertModel", "BertLMHeadModel")
PAIRS = (("pt", "tf"), ("pt", "flax"), ("tf", "flax"))


@dataclass(frozen=True)
class Case:
    config_name: str
    head: str

    @property
    def label(self) -> str:
        return f"{self.config_name}:{self.head}"


def grid_cases() -> list[Case]:
    """Every (config, head) of the grid: the encoder heads under every encoder config, and the decoder
    heads under the decoder config."""
    cases = []
    for name, changes in CONFIGS.items():
        heads = DECODER_HEADS if changes.get("is_decoder") else ENCODER_HEADS
        cases += [Case(name, head) for head in heads]
    return cases


def case_config(case: Case) -> BertConfig:
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
    """Labels for `head` that exercise its loss (-100 entries included for token-level losses)."""
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


def write_case(root: str | os.PathLike[str], case: Case, seed: int = 0) -> Path:
    """Write the case's config + random weights as a canonical directory; returns it."""
    config = case_config(case)
    directory = Path(root) / case.label.replace("/", "-").replace(":", "__").replace("+", "-")
    save_pretrained(
        directory, config, random_canonical_weights(config, case.head, seed), architecture=case.head
    )
    return directory


def case_outputs(
    framework: str, directory: Path, case: Case, seed: int = 0, device: str = "cpu"
) -> dict[str, np.ndarray]:
    """Every output field of the case in one twin (loss included), flattened."""
    config = case_config(case)
    arrays = sample_inputs(config, case.head, seed=seed)
    arrays.update(case_labels(case.head, config, arrays, seed))
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
    case: Case
    pair: tuple[str, str]
    diffs: dict[str, float]

    @property
    def worst(self) -> tuple[str, float]:
        name = max(self.diffs, key=self.diffs.get)
        return name, self.diffs[name]

    def grouped(self) -> dict[str, float]:
        """Max diff per field family: loss, logits..., hidden_states, attentions, cross_attentions, pooler."""
        out: dict[str, float] = {}
        for name, value in self.diffs.items():
            key = name.split(".")[0]
            out[key] = max(out.get(key, 0.0), value)
        return out


def run_grid(
    root: str | os.PathLike[str],
    cases: Iterable[Case],
    frameworks: Iterable[str] = ("pt", "tf", "flax"),
    progress: bool = False,
    device: str = "cpu",
) -> list[PairResult]:
    """Compare every pair of `frameworks` on every case; returns one PairResult per (case, pair)."""
    cases = list(cases)
    frameworks = list(frameworks)
    iterator: Iterable[Case] = cases
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(cases, desc="equivalence grid", unit="case")
    results = []
    for case in iterator:
        directory = write_case(root, case)
        outputs = {fw: case_outputs(fw, directory, case, device=device) for fw in frameworks}
        for i, a in enumerate(frameworks):
            for b in frameworks[i + 1 :]:
                results.append(PairResult(case, (a, b), compare_outputs(outputs[a], outputs[b])))
    return results
