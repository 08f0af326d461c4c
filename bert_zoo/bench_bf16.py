"""How far bf16 moves the real checkpoint's answers: top-1 agreement of bf16 with fp32 in each twin.

    python -m bert_zoo.bench_bf16                                   # print the table
    python -m bert_zoo.bench_bf16 --write docs/guides/benchmarks.md # and replace it on that page

all-MiniLM-L6-v2 (the embedded checkpoint) has no task head, so its answer is a sentence embedding: the
mean of last_hidden_state over the attended tokens, L2-normalized (sentence-transformers' pooling).
Each twin embeds SENTENCES in fp32 and in bf16 the way its users switch (PyTorch
`model.to(torch.bfloat16)`, Keras the `mixed_bfloat16` policy, Flax `dtype=jnp.bfloat16` with fp32
parameters), and the two sets are compared by what a user of the embeddings reads off them:

- cosine(bf16, fp32) of each sentence's embedding: the lowest over the sentences, and the mean;
- nearest neighbour: for each sentence, the most similar other sentence (cosine); the fraction of
  sentences whose neighbour is the same in bf16 as in fp32;
- a classifier: the argmax of a seeded random linear head (Y = 10 classes, N(0, 1) weights, seed 0) on
  the embedding; the fraction of sentences whose top-1 class is the same in bf16 as in fp32.

The sentences are the eight of `bert-zoo demo` and its query, and the first 48 of the reviews fixture
(tests/fixtures/reviews/validation.csv, short templated movie reviews: many near neighbours, which makes
the neighbour test strict). Shape legend: B batch (sentences), T positions, H hidden size, Y classes.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_zoo.doc_sections import write_section
from bert_zoo.twins import FRAMEWORK_NAMES, load_twin

START, END = "<!-- bf16-agreement:start -->", "<!-- bf16-agreement:end -->"
REVIEWS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "reviews" / "validation.csv"
CLASSES = 10
HOW = {
    "pt": "`model.to(torch.bfloat16)`",
    "tf": '`dtype="mixed_bfloat16"`',
    "flax": "`dtype=jnp.bfloat16` (fp32 parameters)",
}


def sentences(reviews: int = 48) -> list[str]:
    """The demo's query and sentences, then the first `reviews` sentences of the reviews fixture."""
    from bert_zoo.demo import DEMO_QUERY, DEMO_SENTENCES

    texts = [DEMO_QUERY, *DEMO_SENTENCES]
    if REVIEWS.exists():  # a source checkout; an installed package has the demo's sentences only
        with REVIEWS.open(encoding="utf-8") as handle:
            texts += [row["sentence"] for row in csv.DictReader(handle)][:reviews]
    return texts


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[B, T, H] hidden states, [B, T] 0/1 mask -> [B, H] L2-normalized means over the attended tokens."""
    weights = mask[..., None].astype(np.float64)
    pooled = (hidden.astype(np.float64) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def agreement(fp32: np.ndarray, bf16: np.ndarray, classes: int = CLASSES, seed: int = 0) -> dict[str, float]:
    """Compare two [B, H] sets of unit embeddings of the same sentences (B >= 2).

    Returns {"cos_min", "cos_mean": cosine(bf16, fp32) per sentence; "neighbour": fraction of sentences
    whose most similar other sentence is the same; "top1": fraction whose argmax of a seeded N(0, 1)
    [H, Y] head is the same; "max_diff": max |bf16 - fp32|}.

    Raises:
        ValueError: the sets differ in shape, or hold fewer than two sentences.
    """
    if fp32.shape != bf16.shape or fp32.ndim != 2 or fp32.shape[0] < 2:
        raise ValueError(f"need two [B, H] sets with B >= 2 of one shape, got {fp32.shape} and {bf16.shape}")
    cosine = (fp32 * bf16).sum(axis=1)

    def neighbours(x: np.ndarray) -> np.ndarray:
        similarity = x @ x.T
        np.fill_diagonal(similarity, -np.inf)
        return similarity.argmax(axis=1)

    head = np.random.default_rng(seed).standard_normal((fp32.shape[1], classes))
    return {
        "cos_min": float(cosine.min()),
        "cos_mean": float(cosine.mean()),
        "neighbour": float((neighbours(fp32) == neighbours(bf16)).mean()),
        "top1": float(((fp32 @ head).argmax(axis=1) == (bf16 @ head).argmax(axis=1)).mean()),
        "max_diff": float(np.abs(fp32 - bf16).max()),
    }


def embed(twin: str, model_dir: str, texts: Sequence[str], bf16: bool) -> np.ndarray:
    """[B, H] embeddings of `texts` by the twin `twin` ("pt", "tf", "flax"), fp32 or bf16.

    Raises:
        ImportError: the twin's framework is not installed.
    """
    from bert_common import BertTokenizerFast

    module = load_twin(twin)
    kwargs: dict[str, Any] = {}
    if bf16 and twin == "tf":
        kwargs["dtype"] = "mixed_bfloat16"
    if bf16 and twin == "flax":
        import jax.numpy as jnp

        kwargs["dtype"] = jnp.bfloat16
    model, _, _ = module.load_model("BertModel", model_dir, **kwargs)
    if bf16 and twin == "pt":
        import torch

        model.to(torch.bfloat16)
    batch = BertTokenizerFast.from_pretrained(model_dir)(list(texts), padding=True, return_tensors="np")
    arrays = {k: np.asarray(batch[k], np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    hidden = module.run_numpy(model, arrays)["last_hidden_state"]  # [B, T, H] float32
    return mean_pool(hidden, arrays["attention_mask"])


def table(frameworks: Sequence[str], model_dir: str | None = None) -> list[str]:
    """The markdown table: one row per twin of `frameworks` (a twin that does not import says so)."""
    from bert_common.files import default_model_dir

    source = str(model_dir or default_model_dir())
    texts = sentences()
    lines = [
        f"bf16 against fp32 on all-MiniLM-L6-v2 sentence embeddings ({len(texts)} sentences; "
        "`python -m bert_zoo.bench_bf16`):",
        "",
        "| twin | bf16 as | cosine(bf16, fp32) min / mean | same nearest neighbour | same top-1 class "
        f"(random head, Y={CLASSES}) | max abs diff |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for twin in frameworks:
        try:
            found = agreement(embed(twin, source, texts, False), embed(twin, source, texts, True))
        except ImportError as err:
            lines.append(f"| {FRAMEWORK_NAMES[twin]} | {HOW[twin]} | not measured: {err} | | | |")
            continue
        lines.append(
            f"| {FRAMEWORK_NAMES[twin]} | {HOW[twin]} | {found['cos_min']:.5f} / {found['cos_mean']:.5f} | "
            f"{found['neighbour']:.0%} | {found['top1']:.0%} | {found['max_diff']:.1e} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table; with --write PAGE, also replace the marked block of PAGE. Returns 0."""
    parser = argparse.ArgumentParser(
        prog="python -m bert_zoo.bench_bf16", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--frameworks", default="pt,tf,flax")
    parser.add_argument("--model", default=None, help="directory or hub id (default: the embedded model)")
    parser.add_argument("--write", type=Path, default=None, help="a page with the marked block to replace")
    args = parser.parse_args(argv)
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in FRAMEWORK_NAMES]
    if unknown or not frameworks:
        parser.error(f"--frameworks takes a subset of pt,tf,flax, got {args.frameworks!r}")
    lines = table(frameworks, args.model)
    print("\n".join(lines))
    if args.write:
        write_section(args.write, "\n".join([START, *lines, END]), START, END)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
