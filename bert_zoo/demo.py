"""`bert-zoo demo`: sentence embeddings of the embedded model in every twin, a similarity ranking, and
how far the three twins are apart (exit 1 above the 1e-5 contract).

Shapes: an embedding is [H] (384 for all-MiniLM-L6-v2), mean-pooled and L2-normalized.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from bert_zoo.twins import FRAMEWORK_NAMES, load_twin

DEMO_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
]
DEMO_QUERY = "Someone is riding a horse."


def add_parser(sub: Any) -> None:
    """Register `demo` on the `bert-zoo` sub-command parser."""
    demo = sub.add_parser("demo", help="sentence embeddings and a similarity ranking in all three frameworks")
    demo.add_argument("--model", default=None, help="directory or hub id (default: the embedded model)")
    demo.add_argument("--frameworks", default="pt,tf,flax")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Print the embeddings' sizes and timings per twin, the ranking, and the twins' max |difference|.

    Returns 0, or 1 when two twins differ by more than 1e-5.

    Raises:
        ValueError: an unknown framework. ImportError: a twin cannot be imported.
    """
    from bert_common.files import DEFAULT_MODEL_ID, default_model_dir

    model_dir = args.model or default_model_dir()
    sentences = DEMO_SENTENCES
    print(
        f"bert-zoo demo: sentence embeddings with {args.model or DEFAULT_MODEL_ID} (mean pooling, L2-normalized)"
    )
    print(f"model files: {model_dir}\n")
    embeddings: dict[str, np.ndarray] = {}
    for name in args.frameworks.split(","):
        twin = load_twin(name.strip())
        start = time.perf_counter()
        pipe = twin.pipeline("feature-extraction", model=str(model_dir), batch_size=8)
        vectors = pipe([DEMO_QUERY, *sentences], pooling="mean", normalize=True, return_tensors=True)
        embeddings[name] = np.stack(vectors)
        print(
            f"  {FRAMEWORK_NAMES[name]:<17} {len(vectors)} embeddings of size {vectors[0].shape[0]} in {time.perf_counter() - start:.2f}s"
        )
    reference = next(iter(embeddings.values()))
    scores = reference[1:] @ reference[0]
    print(f"\nMost similar to {DEMO_QUERY!r}:")
    for rank, i in enumerate(np.argsort(-scores), start=1):
        print(f"  {rank}. {scores[i]:.4f}  {sentences[i]}")
    names = list(embeddings)
    if len(names) > 1:
        print("\nMax |difference| between the twins' embeddings (fp32):")
        worst = 0.0
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diff = float(np.max(np.abs(embeddings[a] - embeddings[b])))
                worst = max(worst, diff)
                print(f"  {a} vs {b}: {diff:.2e}")
        verdict = "within" if worst <= 1e-5 else "ABOVE"
        print(f"  largest: {worst:.2e} ({verdict} the 1e-5 contract)")
        if worst > 1e-5:
            return 1
    return 0
