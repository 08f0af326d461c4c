"""Data collators with Transformers' names and arguments: masked-LM, whole-word masking, padding.

numpy only: a batch is built and masked as int64 numpy arrays, then converted to the framework named by
`return_tensors` ("np" default; "pt", "tf", "jax" import their framework only when a batch is converted,
ints as the tokenizers give them: "pt" int64, "tf"/"jax" int32). A seed gives a `numpy.random.Generator`
whose draws follow Transformers 4.57's `numpy_call` / `numpy_mask_tokens` in the same order, so the three
twins (and a Transformers numpy collator with the same seed) are fed the same masks.

Where this differs from Transformers 4.57 (transformers/data/data_collator.py):
- `seed=0` is a seed (Transformers tests `if self.seed`, so 0 falls back to the global RNG);
- `DataCollatorForWholeWordMask` keeps the other padded columns (attention_mask, token_type_ids, ...;
  Transformers returns only input_ids and labels), pads its word mask with 0 (Transformers pads it with
  the pad id), never picks a special token as a word (Transformers skips only [CLS] and [SEP]), and
  refuses `mlm=False` (Transformers silently turns it back on);
- the default `return_tensors` is "np" (Transformers: "pt").

Shape legend: B batch (examples), T tokens per row after padding, V vocabulary (len(tokenizer)).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bert_common.tokenization.batch import to_tensor

SUPPORTED_TENSORS = ("np", "pt", "tf", "jax")
IGNORE_INDEX = -100  # the label the losses skip (bert_common.losses)


def _check_return_tensors(value: Any) -> str:
    if value not in SUPPORTED_TENSORS:
        raise ValueError(f"return_tensors must be one of {list(SUPPORTED_TENSORS)}, got {value!r}")
    return value


def check_probability(name: str, value: Any) -> float:
    """`value` as a float in [0, 1]; TypeError / ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _check_optional_int(name: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int or None, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def convert_batch(batch: dict[str, Any], return_tensors: str) -> dict[str, Any]:
    """Every numpy column of `batch` as a `return_tensors` tensor (integers as the tokenizers give them).

    Raises ValueError for an unsupported `return_tensors`.
    """
    kind = _check_return_tensors(return_tensors)
    for key, value in batch.items():
        if kind == "np" or not isinstance(value, np.ndarray):
            continue
        if value.dtype.kind in "iub":
            batch[key] = to_tensor(value.astype(np.int64), kind, key)
        elif kind == "pt":
            import torch

            batch[key] = torch.from_numpy(value)
        elif kind == "tf":
            import tensorflow as tf

            batch[key] = tf.convert_to_tensor(value)
        else:
            import jax.numpy as jnp

            batch[key] = jnp.asarray(value)
    return batch


def collate_ids(
    rows: Sequence[Any], pad_value: int | None, pad_to_multiple_of: int | None, side: str
) -> np.ndarray:
    """Rows of ids [T_b] stacked into int64 [B, T], padded with `pad_value` to the longest row, rounded
    up to `pad_to_multiple_of`, on `side` ("right"/"left"), as Transformers' `_numpy_collate_batch`.

    Raises ValueError for no rows, or rows that need padding and no pad value (a tokenizer without pad token).
    """
    if len(rows) == 0:
        raise ValueError("a collator needs at least one example; got an empty batch")
    arrays = [np.asarray(row, dtype=np.int64).reshape(-1) for row in rows]
    length = max(len(a) for a in arrays)
    if pad_to_multiple_of and length % pad_to_multiple_of:
        length += pad_to_multiple_of - length % pad_to_multiple_of
    if any(len(a) != length for a in arrays) and pad_value is None:
        raise ValueError("the examples need padding but the tokenizer has no pad token")
    out = np.full((len(arrays), length), 0 if pad_value is None else pad_value, dtype=np.int64)
    for b, a in enumerate(arrays):
        if side == "left":
            out[b, length - len(a) :] = a
        else:
            out[b, : len(a)] = a
    return out


def _pad_token_id(tokenizer: Any) -> int | None:
    return tokenizer.pad_token_id if getattr(tokenizer, "pad_token", None) is not None else None


class DataCollatorForLanguageModeling:
    """Pads examples and masks tokens for masked-LM training (or copies labels for causal LM).

    tokenizer: a BertTokenizer / BertTokenizerFast (anything with `pad`, `get_special_tokens_mask`,
        `mask_token(_id)`, `pad_token(_id)` and `len()`).
    mlm: True (default) masks tokens; False gives causal-LM labels = input_ids with padding at -100.
    mlm_probability: chance that a token is chosen (default 0.15, BERT's; special tokens and padding never).
    mask_replace_prob: chance that a chosen token becomes [MASK] (default 0.8); random_replace_prob: that
        it becomes a random id in [0, V) (default 0.1); the rest (0.1) stay unchanged. Devlin et al. 2018 §3.1.
    pad_to_multiple_of: round T up to a multiple of it. seed: an int makes the masks reproducible (a numpy
        Generator); None uses numpy's global RNG, as Transformers. return_tensors: "np" (default), "pt",
        "tf" or "jax".

    Calling it on a list of examples (dicts with input_ids [T_b], and token_type_ids, attention_mask,
    special_tokens_mask, next_sentence_label, ... ; or plain lists of ids) returns a dict with
    input_ids int64 [B, T] (masked), labels int64 [B, T] (the original id where chosen, -100 elsewhere),
    and the other columns padded by `tokenizer.pad` (special_tokens_mask and offset_mapping dropped).

    Raises:
        ValueError: mlm=True with a tokenizer without mask token; a probability outside [0, 1];
            mask_replace_prob + random_replace_prob > 1; pad_to_multiple_of < 1; an unknown return_tensors.
        TypeError: a probability, seed or pad_to_multiple_of of the wrong type.
    """

    def __init__(
        self,
        tokenizer: Any,
        mlm: bool = True,
        mlm_probability: float = 0.15,
        mask_replace_prob: float = 0.8,
        random_replace_prob: float = 0.1,
        pad_to_multiple_of: int | None = None,
        seed: int | None = None,
        return_tensors: str = "np",
    ) -> None:
        self.tokenizer = tokenizer
        self.mlm = bool(mlm)
        if self.mlm and getattr(tokenizer, "mask_token", None) is None:
            raise ValueError(
                "This tokenizer does not have a mask token, which masked language modeling needs; "
                "pass mlm=False to train a causal language model instead."
            )
        self.mlm_probability = check_probability("mlm_probability", mlm_probability)
        self.mask_replace_prob = check_probability("mask_replace_prob", mask_replace_prob)
        self.random_replace_prob = check_probability("random_replace_prob", random_replace_prob)
        if self.mask_replace_prob + self.random_replace_prob > 1:
            raise ValueError(
                f"mask_replace_prob + random_replace_prob must not exceed 1, got {mask_replace_prob} + "
                f"{random_replace_prob}"
            )
        self.pad_to_multiple_of = _check_optional_int("pad_to_multiple_of", pad_to_multiple_of, 1)
        self.seed = _check_optional_int("seed", seed, 0)
        self.return_tensors = _check_return_tensors(return_tensors)
        self.generator = None if self.seed is None else np.random.default_rng(self.seed)

    # ---- random draws: the seeded Generator, else numpy's global RNG (as Transformers) ----------
    def _bernoulli(self, probability: Any, shape: tuple[int, ...]) -> np.ndarray:
        draw = self.generator.binomial if self.generator is not None else np.random.binomial
        return draw(1, probability, size=shape).astype(bool)

    def _random_ids(self, size: Any) -> np.ndarray:
        if self.generator is not None:
            return self.generator.integers(low=0, high=len(self.tokenizer), size=size, dtype=np.int64)
        return np.random.randint(low=0, high=len(self.tokenizer), size=size, dtype=np.int64)

    def _pad(self, examples: Sequence[Any]) -> dict[str, Any]:
        """The examples padded into numpy columns ([B, T] token columns)."""
        if len(examples) == 0:
            raise ValueError("a collator needs at least one example; got an empty batch")
        if isinstance(examples[0], Mapping):
            batch = self.tokenizer.pad(
                list(examples), return_tensors="np", pad_to_multiple_of=self.pad_to_multiple_of
            )
            return dict(batch)
        side = getattr(self.tokenizer, "padding_side", "right")
        ids = collate_ids(examples, _pad_token_id(self.tokenizer), self.pad_to_multiple_of, side)
        return {"input_ids": ids}

    def __call__(self, examples: Sequence[Any], return_tensors: str | None = None) -> dict[str, Any]:
        """Collate `examples` (see the class docstring); `return_tensors` overrides the collator's.

        Raises ValueError for an empty batch, rows that need padding without a pad token, or an unknown
        return_tensors.
        """
        kind = _check_return_tensors(self.return_tensors if return_tensors is None else return_tensors)
        batch = self._pad(examples)
        special_tokens_mask = batch.pop("special_tokens_mask", None)
        batch.pop("offset_mapping", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.numpy_mask_tokens(
                batch["input_ids"], special_tokens_mask=special_tokens_mask
            )
        else:
            labels = np.array(batch["input_ids"], dtype=np.int64)
            pad_id = _pad_token_id(self.tokenizer)
            if pad_id is not None:
                labels[labels == pad_id] = IGNORE_INDEX
            batch["labels"] = labels
        return convert_batch(batch, kind)

    def numpy_mask_tokens(
        self, inputs: np.ndarray, special_tokens_mask: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mask `inputs` int64 [B, T] in place: returns (inputs, labels), both int64 [B, T].

        special_tokens_mask [B, T] (1 = never chosen); None computes it from the ids (every special id,
        [PAD] included). Draws, in Transformers' order: which tokens are chosen (mlm_probability), which of
        them become [MASK], which of the rest become random ids (random_replace_prob / (1 -
        mask_replace_prob)), then the random ids.
        """
        inputs = np.asarray(inputs, dtype=np.int64)
        labels = inputs.copy()
        if special_tokens_mask is None:
            special_tokens_mask = self._special_mask(labels)
        never = np.asarray(special_tokens_mask).astype(bool).reshape(labels.shape)
        probability = np.full(labels.shape, self.mlm_probability)
        probability[never] = 0.0
        masked = self._bernoulli(probability, labels.shape)
        labels[~masked] = IGNORE_INDEX
        return self._replace(inputs, labels, masked, per_position_random=False)

    def _special_mask(self, ids: np.ndarray) -> np.ndarray:
        """bool [B, T]: the positions holding a special id ([CLS], [SEP], [PAD], [UNK], [MASK])."""
        rows = [
            self.tokenizer.get_special_tokens_mask(r, already_has_special_tokens=True) for r in ids.tolist()
        ]
        return np.asarray(rows, dtype=bool).reshape(ids.shape)

    def _replace(
        self, inputs: np.ndarray, labels: np.ndarray, masked: np.ndarray, per_position_random: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The 80/10/10 replacement of the chosen positions `masked` bool [B, T]."""
        replaced = self._bernoulli(self.mask_replace_prob, labels.shape) & masked
        inputs[replaced] = self.tokenizer.mask_token_id
        if self.mask_replace_prob == 1 or self.random_replace_prob == 0:
            return inputs, labels
        scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
        randomized = self._bernoulli(scaled, labels.shape) & masked & ~replaced
        if per_position_random:  # DataCollatorForWholeWordMask draws a [B, T] grid of ids
            inputs[randomized] = self._random_ids(labels.shape)[randomized]
        else:
            inputs[randomized] = self._random_ids(int(np.count_nonzero(randomized)))
        return inputs, labels


class DataCollatorForWholeWordMask(DataCollatorForLanguageModeling):
    """Masked-LM collator that chooses whole words: a word is a token and the "##" pieces after it.

    Same arguments as `DataCollatorForLanguageModeling` (mlm must stay True). Per example, as Transformers'
    `DataCollatorForWholeWordMask` (and Google's create_pretraining_data.py): the words are shuffled and
    taken greedily, skipping a word that would overshoot, until round(T_b * mlm_probability) tokens (at
    least 1, at most 512; T_b counts the special tokens) are chosen; then 80/10/10 replacement per token.
    An example may carry `chinese_ref` (positions that continue a word, for Chinese characters).
    Returns input_ids, labels int64 [B, T] and the other columns padded.

    Raises ValueError for mlm=False, plus those of `DataCollatorForLanguageModeling`.
    """

    max_predictions = 512

    def __init__(self, tokenizer: Any, mlm: bool = True, *args: Any, **kwargs: Any) -> None:
        if not mlm:
            raise ValueError("DataCollatorForWholeWordMask masks words: mlm must be True")
        super().__init__(tokenizer, True, *args, **kwargs)

    def _shuffle(self, words: list[list[int]]) -> list[list[int]]:
        if self.generator is None:
            random.shuffle(words)  # the global Python RNG, as Transformers without a seed
        else:
            self.generator.shuffle(words)
        return words

    def word_mask(self, tokens: Sequence[str]) -> list[int]:
        """0/1 per token [T_b]: the whole words chosen for one example given as token strings."""
        special = set(getattr(self.tokenizer, "all_special_tokens", ["[CLS]", "[SEP]"]))
        words: list[list[int]] = []
        for i, token in enumerate(tokens):
            if token in special:
                continue
            if words and token.startswith("##"):
                words[-1].append(i)
            else:
                words.append([i])
        words = self._shuffle(words)
        budget = min(self.max_predictions, max(1, round(len(tokens) * self.mlm_probability)))
        chosen: set[int] = set()
        for word in words:
            if len(chosen) >= budget:
                break
            if len(chosen) + len(word) > budget:
                continue
            chosen.update(word)
        return [1 if i in chosen else 0 for i in range(len(tokens))]

    def __call__(self, examples: Sequence[Any], return_tensors: str | None = None) -> dict[str, Any]:
        """Collate and mask whole words (see the class docstring). Raises as the parent's __call__."""
        kind = _check_return_tensors(self.return_tensors if return_tensors is None else return_tensors)
        if len(examples) == 0:
            raise ValueError("a collator needs at least one example; got an empty batch")
        if isinstance(examples[0], Mapping):
            refs = [e.get("chinese_ref") for e in examples]
            rows = [
                {
                    k: v
                    for k, v in e.items()
                    if k not in ("chinese_ref", "special_tokens_mask", "offset_mapping")
                }
                for e in examples
            ]
        else:
            refs = [None] * len(examples)
            rows = list(examples)
        batch = self._pad(rows)
        mask_rows = []
        for row, ref in zip(rows, refs):
            ids = np.asarray(row["input_ids"] if isinstance(row, Mapping) else row, dtype=np.int64).tolist()
            tokens = list(self.tokenizer.convert_ids_to_tokens(ids))
            for i in [] if ref is None else np.asarray(ref).reshape(-1).tolist():
                tokens[i] = "##" + tokens[i]
            mask_rows.append(self.word_mask(tokens))
        side = getattr(self.tokenizer, "padding_side", "right")
        word_mask = collate_ids(mask_rows, 0, self.pad_to_multiple_of, side)
        batch["input_ids"], batch["labels"] = self.numpy_mask_tokens(batch["input_ids"], word_mask)
        return convert_batch(batch, kind)

    def numpy_mask_tokens(self, inputs: np.ndarray, mask_labels: Any = None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """Mask the chosen words `mask_labels` [B, T] of `inputs` int64 [B, T] (special tokens and padding
        dropped); returns (inputs, labels) int64 [B, T]. Raises ValueError without mask_labels."""
        if mask_labels is None:
            raise ValueError("DataCollatorForWholeWordMask.numpy_mask_tokens needs mask_labels [B, T]")
        inputs = np.asarray(inputs, dtype=np.int64)
        labels = inputs.copy()
        masked = np.asarray(mask_labels).astype(bool).copy()
        masked[self._special_mask(labels)] = False
        pad_id = _pad_token_id(self.tokenizer)
        if pad_id is not None:
            masked[labels == pad_id] = False
        labels[~masked] = IGNORE_INDEX
        return self._replace(inputs, labels, masked, per_position_random=True)


class DataCollatorWithPadding:
    """Pads examples through `tokenizer.pad`, renaming a `label` / `label_ids` column to `labels`.

    tokenizer: a BertTokenizer / BertTokenizerFast. padding: True / "longest" (default), "max_length",
    False / "do_not_pad". max_length: the length for "max_length" (default the tokenizer's
    model_max_length). pad_to_multiple_of: round T up to a multiple of it. return_tensors: "np" (default),
    "pt", "tf" or "jax".

    Calling it on a list of examples (dicts with input_ids [T_b], ...) returns the padded columns
    (input_ids, token_type_ids, attention_mask [B, T]; labels [B] or as given).

    Raises ValueError for an unknown return_tensors here, and what `tokenizer.pad` raises on a call
    (an unknown padding strategy, examples with different keys, ...).
    """

    def __init__(
        self,
        tokenizer: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str = "np",
    ) -> None:
        self.tokenizer = tokenizer
        self.padding = padding
        self.max_length = _check_optional_int("max_length", max_length, 1)
        self.pad_to_multiple_of = _check_optional_int("pad_to_multiple_of", pad_to_multiple_of, 1)
        self.return_tensors = _check_return_tensors(return_tensors)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Pad `features` (see the class docstring)."""
        batch = self.tokenizer.pad(
            list(features),
            padding=self.padding,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            return_tensors=self.return_tensors,
        )
        for old in ("label", "label_ids"):
            if old in batch:
                batch["labels"] = batch.pop(old)
        return batch
