"""How a pipeline batches its features, written once for the three twins.

A pipeline turns each input into one or more *features* (token id lists). This module decides which
features share a model call and how they are padded, and hands the answers back in input order:

- `plan_batches`: features sorted by length (ties keep input order) and cut into batches of
  `batch_size`, so each batch pads little;
- `padded_shape`: the [B, T] a batch is padded to. Eager PyTorch pads to the batch's longest feature.
  A twin that compiles per input shape (XLA under `jax.jit`) asks for *static shapes*: T is rounded up
  to a length bucket (`length_buckets`: 16, 24, 32, 48, 64, 96, 128, ... -- the powers of two and 1.5x
  the powers of two, so at most a third of a row is bucket padding -- up to the model's
  `max_position_embeddings`) and B to `batch_size` when the call holds more than one batch (its last,
  partial batch reuses the full batches' shape), else to a power of two, so a stream of any lengths
  compiles about one shape per length bucket instead of one per length;
- `collate`: features right-padded into the int64 arrays a runner takes (pad id, mask 0, type 0);
  padded rows are all padding and their outputs are dropped;
- `run_batches`: runs the plan through the twin's runner and yields each batch's per-feature outputs,
  trimmed back to each feature's own length (for the fields read per token). A twin that offers a
  padding-free runner gets the batches where it is exact and pays (`use_padding_free`);
- `in_input_order`: groups features back into their inputs and yields each input as soon as it and
  every input before it are complete, so answers stream in input order while batches finish.

Padded keys get the additive mask's most negative finite value, so their attention probabilities are
exactly 0 and the real positions' outputs change only by summation order (docs/numerics.md).

Shape legend: B = rows of one model call, T = tokens (padded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from bert_common.packing import worth_packing

Runner = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The shortest bucket: one compile for every input up to 16 tokens (a short sentence).
SMALLEST_BUCKET = 16


def length_buckets(max_length: int, smallest: int = SMALLEST_BUCKET) -> tuple[int, ...]:
    """The padded lengths of static-shape batches: 16, 24, 32, 48, 64, 96, 128, ... below
    `max_length` (powers of two and 1.5x powers of two from `smallest`), then `max_length` itself.

    max_length: the model's limit (`max_position_embeddings`); smallest: the shortest bucket.
    Raises ValueError for a max_length or smallest below 1.
    """
    if max_length < 1 or smallest < 1:
        raise ValueError(f"max_length and smallest must be >= 1, got {max_length} and {smallest}")
    buckets, power = set(), smallest
    while power < max_length:
        buckets.add(power)
        if power * 3 // 2 < max_length and power % 2 == 0:
            buckets.add(power * 3 // 2)
        power *= 2
    return (*sorted(buckets), max_length)


def padded_shape(
    rows: int, longest: int, batch_size: int, max_length: int, static_shapes: bool, total: int = 0
) -> tuple[int, int]:
    """(B, T) that a batch of `rows` features, the longest `longest` tokens, is padded to.

    Without static shapes, (rows, longest). With them, T is the smallest length bucket >= longest
    (`length_buckets(max_length)`; `longest` itself beyond max_length), and B is batch_size when the
    call runs `total` > batch_size features (several batches: a partial one takes the full batches'
    shape), else the smallest power of two >= rows (one small call stays small).
    """
    if not static_shapes:
        return rows, longest
    length = next((b for b in length_buckets(max_length) if b >= longest), longest)
    if total > batch_size:
        return max(batch_size, rows), length
    padded_rows = 1
    while padded_rows < rows:
        padded_rows *= 2
    return min(padded_rows, max(batch_size, rows)), length


def plan_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Feature indices grouped into model calls: sorted by length, ties in input order, `batch_size`
    per call (the last call may hold fewer). lengths: each feature's token count."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def collate(
    features: Sequence[Mapping[str, Sequence[int]]],
    pad_token_id: int,
    length: int | None = None,
    rows: int | None = None,
) -> dict[str, np.ndarray]:
    """Right-pad features: input_ids with the pad id, masks and types with 0.

    features: B dicts of id lists (input_ids, optional attention_mask / token_type_ids), each [T_i].
    length: T to pad to (default and minimum: the longest T_i). rows: B to pad to with rows of padding
    alone (default: one row per feature).
    Returns input_ids, attention_mask and token_type_ids as int64 arrays [B, T].

    Raises ValueError when length or rows is smaller than the features need.
    """
    longest = max(len(f["input_ids"]) for f in features)
    length = longest if length is None else length
    rows = len(features) if rows is None else rows
    if length < longest or rows < len(features):
        raise ValueError(
            f"cannot pad {len(features)} features of up to {longest} tokens to [{rows}, {length}]"
        )
    input_ids = np.full((rows, length), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((rows, length), dtype=np.int64)
    token_type_ids = np.zeros((rows, length), dtype=np.int64)
    for row, feature in enumerate(features):
        n = len(feature["input_ids"])
        input_ids[row, :n] = feature["input_ids"]
        attention_mask[row, :n] = feature.get("attention_mask", [1] * n)
        token_type_ids[row, :n] = feature.get("token_type_ids", [0] * n)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def use_padding_free(features: Sequence[Mapping[str, Sequence[int]]], attention_mask: np.ndarray) -> bool:
    """Whether a batch runs padding-free (docs/padding-free.md): exact, because every position a
    pipeline reads is attended, and worth it (`bert_common.packing.worth_packing`: more than
    MIN_PADDING_FRACTION of the collated [B, T] `attention_mask` is padding).

    Exact means every feature's own attention_mask is all ones: the pipelines read each feature's first
    len(input_ids) positions, and the padding-free path returns zeros at positions it skips, where the
    padded path returns numbers (a feature tokenized with padding="max_length" holds such positions).
    """
    attended = all(all(f.get("attention_mask", ())) for f in features)
    return attended and worth_packing(attention_mask)


def run_batches(
    features: Sequence[Mapping[str, Sequence[int]]],
    runner: Runner,
    *,
    batch_size: int,
    pad_token_id: int,
    max_length: int,
    static_shapes: bool,
    fields: Sequence[str],
    token_fields: Sequence[str] = (),
    who: str = "the model",
    padding_free_runner: Runner | None = None,
) -> Iterator[tuple[list[int], list[dict[str, np.ndarray]]]]:
    """Run `features` through `runner` in the batches of `plan_batches`; per batch, yield
    (feature indices, each feature's outputs), lazily, one batch per step.

    runner: {input_ids, attention_mask, token_type_ids: [B, T] int64} -> outputs with B rows.
    fields: the output fields kept; token_fields: those with a token axis ([B, T, ...]), cut back to
    each feature's own length (the others, e.g. sequence logits [B, Y], are kept whole).
    max_length / static_shapes: see `padded_shape`. who: the runner, as error messages name it.
    padding_free_runner: the same model run padding-free, or None (default: every batch runs padded);
    it gets the batches `use_padding_free` picks.

    Raises RuntimeError when the runner returns none of a field.
    """
    for batch in plan_batches([len(f["input_ids"]) for f in features], batch_size):
        chosen = [features[i] for i in batch]
        longest = max(len(f["input_ids"]) for f in chosen)
        rows, length = padded_shape(
            len(chosen), longest, batch_size, max_length, static_shapes, total=len(features)
        )
        arrays = collate(chosen, pad_token_id, length=length, rows=rows)
        packed = padding_free_runner is not None and use_padding_free(chosen, arrays["attention_mask"])
        out = (padding_free_runner if packed else runner)(arrays)
        missing = [name for name in fields if name not in out]
        if missing:
            raise RuntimeError(f"{who} returned no {missing}")
        outputs = {name: np.asarray(out[name]) for name in fields}
        per_feature = []
        for row, feature in enumerate(chosen):
            n = len(feature["input_ids"])
            per_feature.append(
                {name: a[row][:n] if name in token_fields else a[row] for name, a in outputs.items()}
            )
        yield batch, per_feature


def in_input_order(
    feature_counts: Sequence[int], batches: Iterable[tuple[list[int], list[Any]]]
) -> Iterator[tuple[int, list[Any]]]:
    """(input index, its features' outputs in feature order) for every input, in input order, each as
    soon as its features and those of every earlier input have come out of `batches`.

    feature_counts: features per input (input i owns the next feature_counts[i] feature indices).
    batches: (feature indices, their outputs) in any order, as `run_batches` yields them.

    Raises RuntimeError when `batches` ends before every feature came.
    """
    starts = np.concatenate([[0], np.cumsum(feature_counts, dtype=np.int64)]).tolist()
    done: dict[int, Any] = {}
    cursor = 0
    for indices, outputs in batches:
        done.update(zip(indices, outputs))
        while cursor < len(feature_counts) and all(
            f in done for f in range(starts[cursor], starts[cursor + 1])
        ):
            yield cursor, [done.pop(f) for f in range(starts[cursor], starts[cursor + 1])]
            cursor += 1
    if cursor < len(feature_counts):
        raise RuntimeError(f"input {cursor} of {len(feature_counts)} got no model output")
