"""Tiny saved models for every pipeline task, written without any framework.

Each directory holds config.json, a random model.safetensors built from `conversion.shapes` (so every twin
loads the very same weights) and the tokenizer files of a small word-level vocabulary.
"""

from __future__ import annotations

import numpy as np
import pytest

from bert_common import BertConfig, BertTokenizerFast
from bert_common.pipelines import TASKS
from conversion.checkpoint import save_pretrained
from conversion.shapes import model_shapes

WORDS = (
    "the a an is was of to in on and paris france capital city london england berlin germany man woman "
    "dog cat eats food sat mat john smith lives works at google red blue green house car river who what "
    "where when which answer question rome italy madrid spain big small old new good bad happy sad"
).split()
PIECES = ["##s", "##ed", "##ing", "##ly", "##er", "##est", ",", ".", "?", "!", "'"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *PIECES]
LABELS = {
    "token-classification": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"],
    "text-classification": ["negative", "neutral", "positive"],
}


def random_weights(config: BertConfig, head: str, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    state = {}
    for name, shape in model_shapes(config, head).items():
        if name.endswith("LayerNorm.weight"):
            state[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            state[name] = (0.4 * rng.standard_normal(shape)).astype(np.float32)
    return state


# Seeds of the task models' weights (the reference answers in tests/fixtures/reference/pipelines.json were
# computed by Transformers on exactly these weights: tests/fixtures/reference/make_pipelines.py).
SEEDS = {name: seed for seed, name in enumerate(sorted(TASKS))}
# Text-classification heads with other problem types: (num_labels, problem_type, seed).
CLASSIFIERS = {
    "text-classification-regression": (1, "regression", 11),
    "text-classification-multi-label": (3, "multi_label_classification", 12),
    "text-classification-one-output": (1, None, 13),
}


def tiny_config(labels: list[str] | None = None, **changes) -> BertConfig:
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        id2label=dict(enumerate(labels)) if labels else None,
        **changes,
    )


def build_task_models(root) -> dict[str, str]:
    """Write the tiny model of every task (and the extra classifiers) under `root`; {name: directory}."""
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=64)
    models = {name: (spec.head, tiny_config(LABELS.get(name)), SEEDS[name]) for name, spec in TASKS.items()}
    for name, (num_labels, problem_type, seed) in CLASSIFIERS.items():
        config = tiny_config(num_labels=num_labels, problem_type=problem_type)
        models[name] = ("BertForSequenceClassification", config, seed)
    out = {}
    for name, (head, config, seed) in sorted(models.items()):
        directory = root / name
        save_pretrained(directory, config, random_weights(config, head, seed), architecture=head)
        tokenizer.save_pretrained(directory)
        out[name] = str(directory)
    return out


@pytest.fixture(scope="session")
def task_models(tmp_path_factory) -> dict[str, str]:
    """{task name: directory of a tiny model for it}, plus the classifiers of CLASSIFIERS."""
    return build_task_models(tmp_path_factory.mktemp("task_models"))
