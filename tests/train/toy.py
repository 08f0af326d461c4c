"""Tiny models and learnable toy data sets for the `bert-zoo train` tests, written to a temporary
directory: a 100-word vocabulary, a config with hidden size 32 and 2 layers, and one small file per task.

Shape legend: T tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
NAMED = ["good", "bad", "alice", "bob", "paris", "rome", "new", "york", "where", "is", "the", "answer"]
WORDS = [f"w{i}" for i in range(100 - len(SPECIAL) - len(NAMED))]
VOCAB = SPECIAL + NAMED + WORDS  # 100 entries
CITIES = ["paris", "rome"]


def write_model_files(root: Path, dropout: float = 0.1) -> tuple[Path, Path]:
    """(config.json, tokenizer dir) of the tiny model: hidden 32, 2 layers, 4 heads, vocab 100."""
    assert len(VOCAB) == 100
    tok = root / "tokenizer"
    tok.mkdir(parents=True, exist_ok=True)
    (tok / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (tok / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 64}))
    config = root / "config.json"
    config.write_text(
        json.dumps(
            {
                "vocab_size": 100,
                "hidden_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "intermediate_size": 37,
                "max_position_embeddings": 64,
                "type_vocab_size": 2,
                "hidden_dropout_prob": dropout,
                "attention_probs_dropout_prob": dropout,
            }
        )
    )
    return config, tok


def _filler(rng: np.random.Generator, n: int) -> list[str]:
    return [str(w) for w in rng.choice(WORDS[:20], size=n)]


def classification_rows(n: int, seed: int) -> list[dict]:
    """'good' anywhere means pos, 'bad' means neg."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = str(rng.choice(["pos", "neg"]))
        words = _filler(rng, 2)
        words.insert(int(rng.integers(0, 3)), "good" if label == "pos" else "bad")
        rows.append({"sentence": " ".join(words), "label": label})
    return rows


def token_rows(n: int, seed: int) -> list[dict]:
    """Names are B-PER, cities B-LOC ('new york' B-LOC I-LOC), the rest O."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        tokens, tags = [], []
        for _ in range(6):
            kind = rng.integers(0, 4)
            if kind == 0:
                tokens.append(str(rng.choice(["alice", "bob"])))
                tags.append("B-PER")
            elif kind == 1:
                tokens += ["new", "york"]
                tags += ["B-LOC", "I-LOC"]
            else:
                tokens.append(_filler(rng, 1)[0])
                tags.append("O")
        rows.append({"tokens": tokens, "ner_tags": tags})
    return rows


def qa_rows(n: int, seed: int) -> list[dict]:
    """The answer is the city in the context."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        before, after = _filler(rng, int(rng.integers(1, 5))), _filler(rng, int(rng.integers(1, 5)))
        city = str(rng.choice(CITIES))
        prefix = " ".join(before) + " "
        context = prefix + city + " " + " ".join(after)
        rows.append(
            {
                "question": "where is the answer",
                "context": context,
                "answers": {"text": [city], "answer_start": [len(prefix)]},
            }
        )
    return rows


def text_lines(n: int, seed: int, documents: bool = False) -> list[str]:
    """Counting sentences 'w3 w4 w5 w6 w7 w8' (each word predicts its neighbours); with documents=True
    an empty line after every 4 sentences."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        start = int(rng.integers(0, 14))
        lines.append(" ".join(WORDS[start : start + 6]))
        if documents and i % 4 == 3:
            lines.append("")
    return lines


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    keys = list(rows[0])
    path.write_text(",".join(keys) + "\n" + "".join(",".join(str(r[k]) for k in keys) + "\n" for r in rows))
    return path


def write_data(root: Path, task: str, n_train: int = 64, n_eval: int = 16) -> tuple[Path, Path]:
    """(train file, validation file) of `task`."""
    if task == "text-classification":
        return write_csv(root / "train.csv", classification_rows(n_train, 0)), write_csv(
            root / "dev.csv", classification_rows(n_eval, 1)
        )
    if task == "token-classification":
        return write_jsonl(root / "train.jsonl", token_rows(n_train, 0)), write_jsonl(
            root / "dev.jsonl", token_rows(n_eval, 1)
        )
    if task == "question-answering":
        return write_jsonl(root / "train.jsonl", qa_rows(n_train, 0)), write_jsonl(
            root / "dev.jsonl", qa_rows(n_eval, 1)
        )
    docs = task == "pretraining"
    train, dev = root / "train.txt", root / "dev.txt"
    train.write_text("\n".join(text_lines(n_train, 0, docs)) + "\n")
    dev.write_text("\n".join(text_lines(n_eval, 1, docs)) + "\n")
    return train, dev


def train_argv(
    root: Path, framework: str, task: str, out: str = "out", steps: int = 8, **extra: object
) -> list[str]:
    """`bert-zoo train` arguments for the tiny model on the toy `task` files under `root` (written by
    write_model_files / write_data first); extra flags as keyword arguments (True for a switch)."""
    suffix = {"text-classification": ".csv", "mlm": ".txt", "pretraining": ".txt"}.get(task, ".jsonl")
    argv = [
        "train",
        "--framework",
        framework,
        "--task",
        task,
        "--config",
        str(root / "config.json"),
        "--tokenizer",
        str(root / "tokenizer"),
        "--train-file",
        str(root / f"train{suffix}"),
        "--validation-file",
        str(root / f"dev{suffix}"),
        "--output-dir",
        str(root / out),
        "--max-steps",
        str(steps),
        "--per-device-train-batch-size",
        "8",
        "--learning-rate",
        "1e-2",
        "--warmup-steps",
        "2",
        "--max-seq-length",
        "32",
        "--disable-tqdm",
        "--save-steps",
        str(steps // 2),
        "--weight-decay",
        "0.01",
    ]
    for key, value in extra.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv
