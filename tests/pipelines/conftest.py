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


@pytest.fixture(scope="session")
def task_models(tmp_path_factory) -> dict[str, str]:
    """{task name: directory of a tiny model for it}."""
    root = tmp_path_factory.mktemp("task_models")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=64)
    out = {}
    for seed, (name, spec) in enumerate(sorted(TASKS.items())):
        labels = LABELS.get(name)
        config = BertConfig(
            vocab_size=len(VOCAB),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            max_position_embeddings=64,
            id2label=dict(enumerate(labels)) if labels else None,
        )
        directory = root / name
        save_pretrained(directory, config, random_weights(config, spec.head, seed), architecture=spec.head)
        tokenizer.save_pretrained(directory)
        out[name] = str(directory)
    return out
