"""Encoding: the pure-Python twin of `tokenizers.Encoding`, and the Rust library's rules on it.

What the slow `BertTokenizer` builds for each row, with the fields and alignment queries of the Rust
`Encoding` (ids, type_ids, tokens, offsets, word_ids, sequence_ids, masks, overflowing), and the
library's rules reproduced on it: truncation with overflow and stride (`truncate`, on the lengths
`truncation_targets` computes), the [CLS] A [SEP] (B [SEP]) template with overflow rows combined
(`merge_with`, `apply_template`), and padding (`pad`, `pad_encodings`). `template_ids`,
`template_special_mask` and `template_type_ids` give the template's layout on plain id lists.

`truncation_targets` is also used by the fast tokenizer, to check a call before handing it to Rust.

Shape legend: T = tokens of a row (`len(encoding)`); an offset is a (start, end) character span.
"""

from __future__ import annotations

from bert_common.tokenization.request import EncodeRequest


class Encoding:
    """One row of a tokenizer's output, with the same fields and alignment queries as
    `tokenizers.Encoding`: ids, type_ids, tokens, offsets (character spans in the row's own text),
    word_ids, sequence_ids, special_tokens_mask, attention_mask, overflowing.

    Its `truncate`, `merge_with` and `pad` reproduce the Rust library's rules, overflow included.
    """

    __slots__ = (
        "attention_mask",
        "ids",
        "offsets",
        "overflowing",
        "sequence_ranges",
        "special_tokens_mask",
        "tokens",
        "type_ids",
        "words",
    )

    def __init__(
        self,
        ids: list[int] | None = None,
        type_ids: list[int] | None = None,
        tokens: list[str] | None = None,
        words: list[int | None] | None = None,
        offsets: list[tuple[int, int]] | None = None,
        special_tokens_mask: list[int] | None = None,
        attention_mask: list[int] | None = None,
    ) -> None:
        self.ids = ids or []
        self.type_ids = type_ids or []
        self.tokens = tokens or []
        self.words = words or []
        self.offsets = offsets or []
        self.special_tokens_mask = special_tokens_mask or []
        self.attention_mask = attention_mask or []
        self.overflowing: list[Encoding] = []
        self.sequence_ranges: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Encoding(num_tokens={len(self.ids)}, tokens={self.tokens!r}, overflowing={len(self.overflowing)})"

    def _slice(self, start: int, stop: int) -> Encoding:
        return Encoding(
            self.ids[start:stop],
            self.type_ids[start:stop],
            self.tokens[start:stop],
            self.words[start:stop],
            self.offsets[start:stop],
            self.special_tokens_mask[start:stop],
            self.attention_mask[start:stop],
        )

    def _copy(self) -> Encoding:
        out = self._slice(0, len(self.ids))
        out.sequence_ranges = dict(self.sequence_ranges)
        return out

    # ---- queries -----------------------------------------------------------------------------
    @property
    def word_ids(self) -> list[int | None]:
        """Index of the word each token came from, in its own text (None for special/pad tokens)."""
        return list(self.words)

    @property
    def n_sequences(self) -> int:
        """Number of texts in the row (1 or 2)."""
        return len(self.sequence_ranges) or 1

    def sequence_range(self, sequence_index: int) -> tuple[int, int]:
        """Token range [start, end) of text `sequence_index` (the whole row when unknown)."""
        return self.sequence_ranges.get(sequence_index, (0, len(self.ids)))

    @property
    def sequence_ids(self) -> list[int | None]:
        """0 / 1 for tokens of the first / second text, None for special and pad tokens."""
        out: list[int | None] = [None] * len(self.ids)
        for seq in range(self.n_sequences):
            start, end = self.sequence_range(seq)
            out[start:end] = [seq] * (end - start)
        return out

    def token_to_sequence(self, token_index: int) -> int | None:
        """The text (0 or 1) a token belongs to, None for special and pad tokens."""
        if token_index > len(self.ids):
            return None
        if not self.sequence_ranges:
            return 0
        for seq, (start, end) in self.sequence_ranges.items():
            if start <= token_index < end:
                return seq
        return None

    def token_to_chars(self, token_index: int) -> tuple[int, int] | None:
        """Character span of a token in its own text, None for special and pad tokens."""
        if self.token_to_sequence(token_index) is None or not 0 <= token_index < len(self.ids):
            return None
        return self.offsets[token_index]

    def token_to_word(self, token_index: int) -> int | None:
        """Word index of a token, None for special and pad tokens."""
        if self.token_to_sequence(token_index) is None or not 0 <= token_index < len(self.ids):
            return None
        return self.words[token_index]

    def char_to_token(self, char_pos: int, sequence_index: int = 0) -> int | None:
        """The first token of text `sequence_index` whose span holds character `char_pos`, or None."""
        start, end = self.sequence_range(sequence_index)
        for i in range(start, min(end, len(self.offsets))):
            lo, hi = self.offsets[i]
            if lo <= char_pos < hi:
                return i
        return None

    # ---- the Rust library's rules ------------------------------------------------------------
    def set_sequence_id(self, sequence_id: int) -> None:
        """Mark the whole row as text `sequence_id`."""
        self.sequence_ranges = {sequence_id: (0, len(self.ids))}

    def truncate(self, max_len: int, stride: int, direction: str = "right") -> None:
        """Keep the first `max_len` tokens (the last ones with direction="left"); the rest becomes
        `overflowing` chunks of `max_len` tokens, each `max_len - stride` tokens further on (so `stride`
        tokens repeat), walking to the end (to the start with direction="left")."""
        n = len(self.ids)
        if max_len >= n:
            return
        if max_len == 0:
            whole = self._copy()
            whole.overflowing = self.overflowing
            empty = Encoding()
            for name in self.__slots__:
                setattr(self, name, getattr(empty, name))
            self.overflowing = [whole]
            return
        if stride >= max_len:
            raise ValueError(
                f"stride={stride} must be smaller than the truncated length {max_len} of this sequence"
            )
        step = max_len - stride
        parts = []
        if direction == "left":
            for last in range(n - 1, -1, -step):
                start = max(last + 1 - max_len, 0)
                parts.append((start, last + 1))
                if start == 0:
                    break
        else:
            for start in range(0, n, step):
                stop = min(start + max_len, n)
                parts.append((start, stop))
                if stop == n:
                    break
        first = self._slice(*parts[0])
        first.overflowing = [self._slice(start, stop) for start, stop in parts[1:]]
        for name in self.__slots__:
            setattr(self, name, getattr(first, name))

    def _extend(self, other: Encoding) -> None:
        shift = len(self.ids)
        for seq, (start, end) in other.sequence_ranges.items():
            self.sequence_ranges[seq] = (start + shift, end + shift)
        self.ids = self.ids + other.ids
        self.type_ids = self.type_ids + other.type_ids
        self.tokens = self.tokens + other.tokens
        self.words = self.words + other.words
        self.offsets = self.offsets + other.offsets
        self.special_tokens_mask = self.special_tokens_mask + other.special_tokens_mask
        self.attention_mask = self.attention_mask + other.attention_mask

    def merge_with(self, other: Encoding) -> None:
        """Append `other`, combining overflow rows as the Rust library does: each of our overflow rows
        with `other` and with each of its overflow rows, then ourself with each of its overflow rows."""
        overflowing = []
        for mine in self.overflowing:
            combined = mine._copy()
            combined._extend(other)
            overflowing.append(combined)
            for theirs in other.overflowing:
                combined = mine._copy()
                combined._extend(theirs)
                overflowing.append(combined)
        for theirs in other.overflowing:
            combined = self._copy()
            combined._extend(theirs)
            overflowing.append(combined)
        self._extend(other)
        self.overflowing = overflowing

    def pad(self, length: int, pad_id: int, pad_type_id: int, pad_token: str, side: str) -> None:
        """Pad to `length` (overflow rows too) with pad tokens: attention 0, special mask 1, offsets (0, 0)."""
        for row in self.overflowing:
            row.pad(length, pad_id, pad_type_id, pad_token, side)
        missing = length - len(self.ids)
        if missing <= 0:
            return
        fields = (
            ("ids", pad_id),
            ("type_ids", pad_type_id),
            ("tokens", pad_token),
            ("words", None),
            ("offsets", (0, 0)),
            ("special_tokens_mask", 1),
            ("attention_mask", 0),
        )
        for name, value in fields:
            current = getattr(self, name)
            filler = [value] * missing
            setattr(self, name, filler + current if side == "left" else current + filler)
        if side == "left":
            self.sequence_ranges = {
                k: (s + missing, e + missing) for k, (s, e) in self.sequence_ranges.items()
            }


def pad_encodings(encodings: list[Encoding], request: EncodeRequest, pad_id: int, pad_token: str) -> None:
    """Pad a batch in place: to the longest top-level row ("longest") or to request.pad_length,
    rounded up to pad_to_multiple_of."""
    if not encodings or request.padding is None:
        return
    if request.padding == "longest":
        length = max(len(e.ids) for e in encodings)
    else:
        assert request.pad_length is not None  # internal: resolved by request.build_request
        length = request.pad_length
    multiple = request.pad_to_multiple_of
    if multiple and length % multiple:
        length += multiple - length % multiple
    for encoding in encodings:
        encoding.pad(length, pad_id, 0, pad_token, request.padding_side)


def truncation_targets(n1: int, n2: int | None, room: int, strategy: str) -> tuple[int, int | None]:
    """Lengths the first and second sequence are truncated to, as the `tokenizers` library computes them.

    n1 / n2: token counts of the sequences without special tokens (n2 None for a single text).
    room: max_length minus the special tokens the template adds (>= 1).
    strategy: "longest_first", "only_first" or "only_second".
    A returned length >= the sequence's own length means "not truncated".

    "longest_first" gives both lengths at once (not one token at a time as Transformers' Python
    tokenizer did): the shorter sequence keeps its length when the longer one can absorb the cut,
    otherwise both get room // 2, the second (or the longer, if it is the first) one extra for odd room.
    """
    total = n1 + (n2 or 0)
    if total <= room:
        return n1, n2
    to_remove = total - room
    if strategy == "longest_first":
        if n2 is None:
            return room, None
        short, long_ = (n2, n1) if n1 > n2 else (n1, n2)
        long_ = short if short > room else max(short, room - short)
        if short + long_ > room:
            short = room // 2
            long_ = short + room % 2
        return (long_, short) if n1 > n2 else (short, long_)
    if strategy == "only_second" and n2 is None:
        raise ValueError("truncation='only_second' needs text pairs; this input has a single text")
    target = n1 if strategy == "only_first" else n2
    assert target is not None  # internal: only_second with a pair
    if target <= to_remove:
        which = "first" if strategy == "only_first" else "second"
        raise ValueError(
            f"truncation={strategy!r} cannot fit this pair into max_length: the {which} sequence has "
            f"{target} tokens but {to_remove} must be removed (the other sequence alone is too long); "
            "use truncation='longest_first' or a larger max_length"
        )
    if strategy == "only_first":
        return n1 - to_remove, n2
    return n1, target - to_remove


def truncate_pair(first: Encoding, second: Encoding | None, request: EncodeRequest, sample: int) -> None:
    """Truncate the encodings of one input (without special tokens) as `request` asks, in place.

    sample: the input's index, named in errors. Raises ValueError when the strategy cannot fit the input.
    """
    if request.truncation is None:
        return
    assert request.max_length is not None  # internal: resolved by request.build_request
    room = request.max_length - request.n_special
    try:
        t1, t2 = truncation_targets(
            len(first.ids), None if second is None else len(second.ids), room, request.truncation
        )
        first.truncate(t1, request.stride, request.truncation_side)
        if second is not None and t2 is not None:
            second.truncate(t2, request.stride, request.truncation_side)
    except ValueError as err:
        raise ValueError(f"input {sample}: {err}") from None


def apply_template(
    first: Encoding,
    second: Encoding | None,
    cls: tuple[str, int],
    sep: tuple[str, int],
    add_special_tokens: bool,
) -> Encoding:
    """[CLS] A [SEP] (B [SEP]) with segment ids 0 / 1, overflow rows combined as in the Rust library.

    cls / sep: (token, id) of the special tokens. `first` and `second` are marked as texts 0 and 1.
    """
    for seq, encoding in enumerate((first, second)):
        if encoding is None:
            continue
        encoding.set_sequence_id(seq)
        for row in encoding.overflowing:
            row.set_sequence_id(seq)
        encoding.type_ids = [seq] * len(encoding.ids)
    parts: list[Encoding] = []
    if add_special_tokens:
        parts.append(_special(cls, 0))
    parts.append(first)
    if add_special_tokens:
        parts.append(_special(sep, 0))
    if second is not None:
        parts.append(second)
        if add_special_tokens:
            parts.append(_special(sep, 1))
    merged = Encoding()
    for part in parts:
        merged.merge_with(part)
    return merged


def _special(token: tuple[str, int], type_id: int) -> Encoding:
    """A one-token row for the special token (text, id)."""
    return Encoding([token[1]], [type_id], [token[0]], [None], [(0, 0)], [1], [1])


# --------------------------------------------------------------------------------------------------
# the template on id lists (Transformers' special-token layout helpers)


def template_ids(cls_id: int, sep_id: int, ids_0: list[int], ids_1: list[int] | None) -> list[int]:
    """[CLS] A [SEP] for a text, [CLS] A [SEP] B [SEP] for a pair, as ids."""
    out = [cls_id, *ids_0, sep_id]
    if ids_1 is not None:
        out += [*ids_1, sep_id]
    return out


def template_special_mask(ids_0: list[int], ids_1: list[int] | None) -> list[int]:
    """The special-tokens mask of `template_ids(..., ids_0, ids_1)`: 1 for [CLS] and [SEP], else 0."""
    out = [1] + [0] * len(ids_0) + [1]
    if ids_1 is not None:
        out += [0] * len(ids_1) + [1]
    return out


def template_type_ids(ids_0: list[int], ids_1: list[int] | None) -> list[int]:
    """The segment ids of `template_ids(..., ids_0, ids_1)`: 0 for [CLS] A [SEP], 1 for B [SEP]."""
    out = [0] * (len(ids_0) + 2)
    if ids_1 is not None:
        out += [1] * (len(ids_1) + 1)
    return out
