"""Benchmark: BertTokenizerFast batch encoding against the `tokenizers` library called directly.

Both sides tokenize the same 10,000 sentences with the same backend pipeline and settings
(truncation, padding) and turn ids, attention mask and segment ids into numpy arrays the same way;
the difference is what the wrapper adds (argument checks, backend configuration, BatchEncoding).
Each case runs `--repeats` times, alternating the two sides, after a warm-up; the table shows medians.

On a busy machine the Rust time varies by more than the wrapper costs, so the script also times the
Python side alone: both sides run again with the backend's `encode_batch` replaced by a replay of
encodings computed beforehand, which leaves exactly the work that differs between them; that part is
single-threaded Python, timed in process CPU time so that other processes' load does not count, in
blocks of consecutive calls of each side.
"Extra work / direct" (that difference over the direct call's wall time) is the wrapper's overhead.

    python scripts/bench_tokenizer.py [--repeats 15] [--sentences 10000] [--with-slow]

This is a measurement, not a test: it prints a markdown table and exits 0 (1 with --check when the
wrapper adds more than --max-overhead percent).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bert_common.files import default_model_dir
from bert_common.tokenization import BertTokenizer, BertTokenizerFast


def make_sentences(n: int, seed: int = 0) -> list[str]:
    """`n` reproducible English-like sentences (5 to 60 words drawn from the vocabulary, with
    capitals, punctuation, numbers and the odd accented or CJK word)."""
    rng = random.Random(seed)
    vocab = (default_model_dir() / "vocab.txt").read_text(encoding="utf-8").split("\n")
    words = [w for w in vocab if w.isalpha() and w.isascii() and len(w) > 1 and not w.startswith("[")]
    extras = [
        "café",
        "naïve",
        "Zürich",
        "東京",
        "中文",
        "😀",
        "e-mail",
        "3.14",
        "1,000",
        "U.S.",
        "don't",
        "it's",
    ]
    sentences = []
    for _ in range(n):
        length = rng.randint(5, 60)
        tokens = [rng.choice(extras) if rng.random() < 0.05 else rng.choice(words) for _ in range(length)]
        tokens[0] = tokens[0].capitalize()
        for i in range(2, length, rng.randint(4, 12)):
            tokens[i] += rng.choice([",", ";", ":", ""])
        sentences.append(" ".join(tokens) + rng.choice([".", "!", "?", "..."]))
    return sentences


def direct_call(backend: Tokenizer, inputs: list[Any], max_length: int) -> dict[str, np.ndarray]:
    """The baseline: configure and call the Rust tokenizer, extract the arrays."""
    backend.enable_truncation(max_length=max_length)
    backend.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = backend.encode_batch(inputs)
    return {
        "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
    }


class _Replay:
    """Stands in for a backend: returns encodings computed beforehand, forwards everything else."""

    def __init__(self, backend: Tokenizer, encodings: list[Any]) -> None:
        self._backend = backend
        self._encodings = encodings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def encode_batch(self, inputs: list[Any], add_special_tokens: bool = True) -> list[Any]:
        return self._encodings


def wrapper_call(tokenizer: BertTokenizerFast, inputs: list[Any], max_length: int) -> dict[str, np.ndarray]:
    return tokenizer(inputs, padding=True, truncation=True, max_length=max_length, return_tensors="np")


def alternate(
    first: Callable[[], Any],
    second: Callable[[], Any],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Median milliseconds of `first` and `second`, run alternately `repeats` times after a warm-up."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, runs in zip((first, second), times):
            start = clock()
            fn()
            runs.append((clock() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def in_blocks(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int, clock: Callable[[], float]
) -> tuple[float, float]:
    """Median milliseconds of `first` and `second`, each run in blocks of consecutive calls (three
    blocks each, interleaved). Back-to-back calls of one function are what a user does; alternating
    two functions call by call would charge each with memory left behind by the other."""
    per_block = max(1, -(-repeats // 3))
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(3):
        for fn, runs in zip((first, second), times):
            fn()  # warm-up: the first call of a block pays for the other function's leftovers
            for _ in range(per_block):
                start = clock()
                fn()
                runs.append((clock() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def measure(
    fast: BertTokenizerFast, backend: Tokenizer, inputs: list[Any], max_length: int, repeats: int
) -> tuple[float, float, float]:
    """(direct ms, wrapper ms, wrapper's extra Python-side ms) for one input list."""
    direct, wrapped = alternate(
        lambda: direct_call(backend, inputs, max_length),
        lambda: wrapper_call(fast, inputs, max_length),
        repeats,
    )
    # Python side only: the same calls with encode_batch replayed from encodings computed beforehand
    backend.enable_truncation(max_length=max_length)
    backend.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = backend.encode_batch(inputs)
    replay_backend = _Replay(backend, encodings)
    replay_fast = BertTokenizerFast.from_vocab(fast.get_vocab(), model_max_length=fast.model_max_length)
    replay_fast._tokenizer = _Replay(replay_fast.backend_tokenizer, encodings)  # type: ignore[assignment]
    direct_py, wrapper_py = in_blocks(
        lambda: direct_call(replay_backend, inputs, max_length),  # type: ignore[arg-type]
        lambda: wrapper_call(replay_fast, inputs, max_length),
        max(repeats, 21),
        time.process_time,  # single-threaded Python work: CPU time is immune to other processes' load
    )
    return direct, wrapped, wrapper_py - direct_py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--with-slow", action="store_true", help="also time the pure-Python BertTokenizer once"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the overhead exceeds --max-overhead"
    )
    parser.add_argument("--max-overhead", type=float, default=10.0, help="percent")
    args = parser.parse_args(argv)

    sentences = make_sentences(args.sentences)
    pairs = list(zip(sentences[::2], sentences[1::2]))
    fast = BertTokenizerFast.from_pretrained(default_model_dir())
    # the same pipeline, as an independent Tokenizer object
    backend = Tokenizer.from_str(fast.backend_tokenizer.to_str())

    cases = {f"{len(sentences):,} texts": sentences, f"{len(pairs):,} pairs": pairs}
    rows = []
    worst = 0.0
    for name, inputs in cases.items():
        expected = direct_call(backend, inputs, args.max_length)
        got = wrapper_call(fast, inputs, args.max_length)
        for key, value in expected.items():
            if not np.array_equal(value, got[key]):
                raise SystemExit(f"{name}: wrapper and direct call disagree on {key}")
        d, w, extra = measure(fast, backend, inputs, args.max_length, args.repeats)
        overhead = extra / d * 100
        worst = max(worst, overhead)
        rows.append((name, d, w, (w - d) / d * 100, extra, overhead))

    print(
        f"tokenizers {tokenizers.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"padding=True, truncation=True, max_length={args.max_length}, return_tensors='np', "
        f"median of {args.repeats}\n"
    )
    print(
        "| input | tokenizers direct (ms) | BertTokenizerFast (ms) | difference | "
        "wrapper's own extra work (ms) | extra work / direct |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, d, w, diff, extra, overhead in rows:
        print(f"| {name} | {d:.1f} | {w:.1f} | {diff:+.1f}% | {extra:.2f} | {overhead:+.2f}% |")
    if args.with_slow:
        slow = BertTokenizer.from_pretrained(default_model_dir())
        start = time.perf_counter()
        slow(sentences, padding=True, truncation=True, max_length=args.max_length, return_tensors="np")
        print(
            f"\nBertTokenizer (pure Python), {len(sentences):,} texts, one run: "
            f"{(time.perf_counter() - start) * 1000:.0f} ms"
        )
    if args.check and worst > args.max_overhead:
        print(f"\nwrapper overhead {worst:.1f}% exceeds {args.max_overhead}%")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
