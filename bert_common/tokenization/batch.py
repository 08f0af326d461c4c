"""BatchEncoding: what a tokenizer call returns, and its conversion to tensors.

A `BatchEncoding` is a dict of model inputs (`enc["input_ids"]`, also `enc.input_ids`) that keeps the
per-row encodings for alignment queries (`word_ids`, `sequence_ids`, `char_to_token`, ...).
`build_batch_encoding` assembles it from the encodings of a call; `to_tensor` turns a column into a numpy,
torch, TensorFlow or JAX tensor, importing the framework only when asked for.

Shape legend: B = rows (inputs, plus overflow rows), T = tokens per row; offset_mapping is [B, T, 2].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bert_common.tokenization.request import EncodeRequest, check_tensor_kind


def to_tensor(value: Any, kind: str, key: str) -> Any:
    """A list (of lists) of ints as a `kind` tensor: "np" / "pt" int64, "tf" / "jax" int32.

    Raises ValueError naming `key` when the rows have different lengths (a ragged [B, (T)] column).
    """
    if isinstance(value, list) and value and isinstance(value[0], (list, tuple)):
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"cannot build a {kind!r} tensor from {key!r}: its rows have different lengths "
                f"{sorted(lengths)[:6]}; pass padding=True (or 'max_length') and/or truncation=True"
            )
    array = np.asarray(value, dtype=np.int64)
    if kind == "np":
        return array
    if kind == "pt":
        import torch

        return torch.from_numpy(array)
    if kind == "tf":
        import tensorflow as tf

        return tf.convert_to_tensor(array.astype(np.int32))
    import jax.numpy as jnp

    return jnp.asarray(array.astype(np.int32))


class BatchEncoding(dict):
    """Model inputs from a tokenizer call: a dict (`enc["input_ids"]`, also `enc.input_ids`).

    Keys: input_ids, token_type_ids, attention_mask, and on request special_tokens_mask, offset_mapping,
    length, overflow_to_sample_mapping. Values are python lists (un-nested for a single text without
    overflow, as in Transformers) or tensors of the `tensor_type` kind ("np" int64, "pt" int64,
    "tf" int32, "jax" int32), shaped [B, T] ([B, T, 2] for offset_mapping).

    `encodings` holds one encoding per row (`tokenizers.Encoding` for the fast tokenizer, an
    equivalent pure-Python `Encoding` for the slow one); the alignment methods read them.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        encodings: Sequence[Any] | None = None,
        tensor_type: str | None = None,
        n_sequences: int | None = None,
    ) -> None:
        super().__init__(data or {})
        self._encodings = list(encodings) if encodings is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no key or attribute {name!r}") from None

    def __getstate__(self) -> dict[str, Any]:
        return {"data": dict(self), "encodings": self._encodings, "n_sequences": self._n_sequences}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state["data"])
        self._encodings = state["encodings"]
        self._n_sequences = state["n_sequences"]

    def __reduce__(self) -> tuple[Any, ...]:
        return (BatchEncoding, (), self.__getstate__())

    @property
    def encodings(self) -> list[Any] | None:
        """One encoding per row (overflow rows included), or None when built without them."""
        return self._encodings

    @property
    def n_sequences(self) -> int | None:
        """1 for texts, 2 for text pairs."""
        return self._n_sequences

    def _encoding(self, batch_index: int) -> Any:
        if not self._encodings:
            raise ValueError("this BatchEncoding holds no encodings, so it cannot answer alignment queries")
        if not -len(self._encodings) <= batch_index < len(self._encodings):
            raise IndexError(f"batch_index {batch_index} is out of range for {len(self._encodings)} rows")
        return self._encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        """Token strings of row `batch_index` (special and pad tokens included)."""
        return list(self._encoding(batch_index).tokens)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of the row, the index of the word it came from in its own text (None: special)."""
        return list(self._encoding(batch_index).word_ids)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of the row, 0 (first text), 1 (second text) or None (special or pad token)."""
        return list(self._encoding(batch_index).sequence_ids)

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """Index of the token holding character `char_index` of text `sequence_index`, or None.

        Call as `char_to_token(char_index)` for a single text or `char_to_token(batch_index, char_index)`.
        """
        if char_index is None:
            batch_index, char_index = 0, batch_or_char_index
        else:
            batch_index = batch_or_char_index
        return self._encoding(batch_index).char_to_token(char_index, sequence_index)

    def token_to_chars(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> tuple[int, int] | None:
        """(start, end) characters of a token in its own text, or None for special and pad tokens."""
        if token_index is None:
            batch_index, token_index = 0, batch_or_token_index
        else:
            batch_index = batch_or_token_index
        return self._encoding(batch_index).token_to_chars(token_index)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Index of the word holding a token, or None for special and pad tokens."""
        if token_index is None:
            batch_index, token_index = 0, batch_or_token_index
        else:
            batch_index = batch_or_token_index
        return self._encoding(batch_index).token_to_word(token_index)

    def convert_to_tensors(self, tensor_type: str | None) -> BatchEncoding:
        """Turn every value into a `tensor_type` tensor in place ("np", "pt", "tf", "jax"; None: no-op)."""
        kind = check_tensor_kind(tensor_type)
        if kind is None:
            return self
        for key, value in self.items():
            if isinstance(value, list):
                self[key] = to_tensor(value, kind, key)
        return self

    def to(self, device: Any) -> BatchEncoding:
        """Move torch tensors to `device` (a torch.device or a string such as "cuda"); others are kept."""
        for key, value in self.items():
            if hasattr(value, "to") and callable(value.to) and type(value).__module__.startswith("torch"):
                self[key] = value.to(device)
        return self


def build_batch_encoding(encodings: list[Any], request: EncodeRequest, is_batched: bool) -> BatchEncoding:
    """The BatchEncoding of a call, in the layout of Transformers' fast tokenizers.

    encodings: one per input (`tokenizers.Encoding` or `Encoding`), overflow rows in `.overflowing`.
    request: the validated call. is_batched: False for a single text (or pair), whose python-list
    columns are un-nested, [T] instead of [1, T].
    """
    if request.return_overflowing_tokens:
        rows: list[Any] = []
        mapping: list[int] = []
        for i, encoding in enumerate(encodings):
            overflowing = encoding.overflowing
            rows.append(encoding)
            rows.extend(overflowing)
            mapping.extend([i] * (1 + len(overflowing)))
    else:
        rows = encodings
    kind = request.return_tensors
    data: dict[str, Any] = {}
    # Each column becomes a tensor as soon as it is read, so that only one column of python lists
    # is alive at a time (a large batch otherwise keeps millions of ints around).
    columns = [
        ("input_ids", "ids", True),
        ("token_type_ids", "type_ids", request.return_token_type_ids),
        ("attention_mask", "attention_mask", request.return_attention_mask),
        ("special_tokens_mask", "special_tokens_mask", request.return_special_tokens_mask),
        ("offset_mapping", "offsets", request.return_offsets_mapping),
    ]
    for key, field, wanted in columns:
        if wanted:
            column = [getattr(e, field) for e in rows]
            data[key] = column if kind is None else to_tensor(column, kind, key)
            del column  # free the lists before reading the next column
    if request.return_length:
        lengths = [len(e) for e in rows]
        data["length"] = lengths if kind is None else to_tensor(lengths, kind, "length")
    if request.return_overflowing_tokens:
        data["overflow_to_sample_mapping"] = (
            mapping if kind is None else to_tensor(mapping, kind, "overflow_to_sample_mapping")
        )
    if not is_batched and kind is None and not request.return_overflowing_tokens:
        data = {key: value[0] for key, value in data.items()}
    return BatchEncoding(data, rows, n_sequences=2 if request.is_pair else 1)
