"""Added tokens: tokens matched whole in the text before WordPiece, kept as the Rust library keeps them.

Special tokens, never_split entries and the tokens of `add_tokens` / `add_special_tokens` are "added
tokens" (Transformers' `added_tokens_decoder`, tokenizer.json's `added_tokens`). `AddedVocab` mirrors the
Rust library's `AddedVocabulary` rule for rule, so that the slow tokenizer gives the ids, tokens and
offsets the fast one gets from Rust:

- ids: a token of the WordPiece vocabulary keeps its id; a new one gets the next id after the
  vocabulary and the added tokens (`add`);
- adding a token identical to one already there (content and every flag) is ignored and not counted;
  the same content with other flags replaces the flags;
- matching: tokens with `normalized=False` are found in the raw text first (leftmost-longest, special
  tokens before the others); the rest of the text is normalized and tokens with `normalized=True` are
  found in it, as their normalized content; `single_word` keeps a match only between non-word
  characters, `lstrip` / `rstrip` make it swallow the White_Space on its left / right (`split`).

Plain Python, no framework. Ids are ints, positions are character indices into the text given.

Shape legend: V = WordPiece vocabulary size (new added tokens get ids V, V+1, ...).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bert_common.tokenization.chars import WHITESPACE

logger = logging.getLogger("bert_zoo")

FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


@dataclasses.dataclass(frozen=True)
class AddedToken:
    """An added token and its matching flags, as `tokenizers.AddedToken` (same names and defaults)."""

    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = True
    special: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The entry Transformers writes in added_tokens_decoder (tokenizer.json adds the id)."""
        return {"content": self.content, **{flag: getattr(self, flag) for flag in FLAGS}}

    def __str__(self) -> str:
        return self.content


def as_added_token(value: Any, special: bool = False, name: str = "token") -> AddedToken:
    """An added token from a string, a dict (as tokenizer files write it) or an object with `.content` and
    the flags (`tokenizers.AddedToken`, `transformers.AddedToken`).

    A string gets `normalized=not special`, as `tokenizers.AddedToken(content, special=special)`; a dict or
    object keeps its flags (missing ones take those defaults); `special=True` marks it special in any case.
    Raises TypeError naming `name` for anything else, ValueError for empty content.
    """
    if isinstance(value, AddedToken):
        token = value
    elif isinstance(value, str):
        token = AddedToken(value, normalized=not special, special=special)
    else:
        get = (
            value.get
            if isinstance(value, Mapping)
            else lambda key, default=None: getattr(value, key, default)
        )
        content = get("content")
        if not isinstance(content, str):
            raise TypeError(
                f"{name} must be a string or an AddedToken, got {type(value).__name__} {value!r:.80}"
            )
        own_special = bool(get("special", False)) or special
        flags = {flag: bool(get(flag, False)) for flag in ("single_word", "lstrip", "rstrip")}
        token = AddedToken(
            content, **flags, normalized=bool(get("normalized", not own_special)), special=own_special
        )
    if not token.content:
        raise ValueError(f"{name} must not be empty")
    if special and not token.special:
        token = dataclasses.replace(token, special=True)
    return token


def _is_word_char(ch: str) -> bool:
    """Rust regex's \\w: alphanumeric, marks, connector punctuation and the joiners."""
    return ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Nd", "Pc") or ch in "\u200c\u200d"


class AddedVocab:
    """The added tokens of one tokenizer, with the Rust library's ids, ordering and matching.

    model_vocab: the WordPiece vocabulary {token: id} (read, never changed).
    """

    def __init__(self, model_vocab: Mapping[str, int]) -> None:
        self.model_vocab = model_vocab
        self.ids: dict[str, int] = {}  # content -> id (Rust added_tokens_map)
        self.tokens: dict[int, AddedToken] = {}  # id -> token (Rust added_tokens_map_r)
        self.special: set[str] = set()  # contents ever added as special (skipped when decoding)
        self._classic: list[AddedToken] = []  # tokens as added, in order (Rust added_tokens)
        self._specials: list[AddedToken] = []  # first-added special tokens (Rust special_tokens)
        self._normalize: Callable[[str], str] = lambda text: text
        self._matchers: tuple[Any, Any] | None = None

    # ---- the vocabulary ----------------------------------------------------------------------
    def id_of(self, content: str) -> int | None:
        """The id of `content`: an added token's, else the WordPiece vocabulary's, else None."""
        index = self.ids.get(content)
        return self.model_vocab.get(content) if index is None else index

    def _next_id(self) -> int:
        size = len(self.model_vocab)
        if not self.ids:
            return size
        top = max(self.ids.values())
        return top + 1 if top >= size or size == 0 else size

    def add(self, tokens: Iterable[AddedToken]) -> int:
        """Add tokens as the Rust library does; return how many were not already there, flags and all."""
        tokens = list(tokens)
        for token in tokens:
            if token.special and token.content not in self.special:
                self._specials.append(token)
                self.special.add(token.content)
        ignored = 0
        for token in tokens:
            if token in self.tokens.values():
                ignored += 1
                continue
            index = self.id_of(token.content)
            if index is None:
                index = self._next_id()
            self.ids[token.content] = index
            self.tokens[index] = token
            if token.content not in self.special:
                self._classic.append(token)
            self._warn_if_shadowed(token)
        self._matchers = None
        return len(tokens) - ignored

    def _pattern(self, token: AddedToken) -> str:
        return self._normalize(token.content) if token.normalized else token.content

    def _warn_if_shadowed(self, token: AddedToken) -> None:
        """Two added tokens that match the same text: the first one added wins (as in tokenizers 0.22;
        0.23 picks either at random), so the other never comes out of the text; say so."""
        pattern = self._pattern(token)
        for other in self.tokens.values():
            if (
                other.content != token.content
                and other.normalized == token.normalized
                and self._pattern(other) == pattern
            ):
                logger.warning(
                    "added token %r matches the same text as the added token %r (%r%s); the one added first is "
                    "used where it appears",
                    token.content,
                    other.content,
                    pattern,
                    " after normalization" if token.normalized else "",
                )
                return

    def entries(self) -> list[tuple[int, AddedToken]]:
        """(id, token) of every added token, by id."""
        return sorted(self.tokens.items())

    def added_vocab(self) -> dict[str, int]:
        """{content: id} of every added token, by id (Transformers' get_added_vocab)."""
        return {token.content: index for index, token in self.entries()}

    def full_vocab(self) -> dict[str, int]:
        """The WordPiece vocabulary with the added tokens."""
        return {**self.model_vocab, **self.ids}

    def set_normalizer(self, normalize: Callable[[str], str]) -> None:
        """The normalizer that turns the content of `normalized=True` tokens into their patterns."""
        self._normalize = normalize
        self._matchers = None

    # ---- matching ----------------------------------------------------------------------------
    def _build(self) -> tuple[Any, Any]:
        raw: list[tuple[str, int]] = []
        normalized: list[tuple[str, int]] = []
        for listed in (*self._specials, *self._classic):
            index = self.id_of(listed.content)
            assert index is not None  # internal: every listed token has an id
            token = self.tokens[
                index
            ]  # its current flags (tokenizers 0.22 kept a special token's first ones)
            if token.normalized:
                normalized.append((self._normalize(token.content), index))
            else:
                raw.append((token.content, index))
        return self._matcher(raw), self._matcher(normalized)

    @staticmethod
    def _matcher(patterns: list[tuple[str, int]]) -> tuple[re.Pattern[str], dict[str, int]] | None:
        """A leftmost-longest matcher: an alternation tried longest first; equal patterns keep the first id."""
        patterns = [(p, i) for p, i in patterns if p]
        if not patterns:
            return None
        ids: dict[str, int] = {}
        for pattern, index in patterns:
            ids.setdefault(pattern, index)
        ordered = sorted(ids, key=len, reverse=True)  # stable: equal lengths keep their order
        return re.compile("|".join(re.escape(p) for p in ordered)), ids

    def split(self, text: str, normalized: bool) -> list[tuple[int | None, int, int]]:
        """Cover `text` with (id or None, start, end) pieces: the added tokens found and the text between.

        normalized: False matches the `normalized=False` tokens (on raw text), True the others (on text
        already normalized). An empty text gives one empty piece, as in the Rust library.
        """
        if self._matchers is None:
            self._matchers = self._build()
        matcher = self._matchers[1 if normalized else 0]
        if not text:
            return [(None, 0, 0)]
        if matcher is None:
            return [(None, 0, len(text))]
        pattern, ids = matcher
        pieces: list[tuple[int | None, int, int]] = []
        offset = 0
        for match in pattern.finditer(text):
            start, stop = match.start(), match.end()
            index = ids[match.group()]
            token = self.tokens[index]
            if token.single_word:
                before = start > 0 and _is_word_char(text[start - 1])
                after = stop < len(text) and _is_word_char(text[stop])
                if before or after:
                    continue
            if token.lstrip:
                new_start = start
                while new_start > 0 and text[new_start - 1] in WHITESPACE:
                    new_start -= 1
                start = max(new_start, offset)
            if token.rstrip:
                while stop < len(text) and text[stop] in WHITESPACE:
                    stop += 1
            if offset < start:
                pieces.append((None, offset, start))
            pieces.append((index, start, stop))
            offset = stop
        if offset != len(text):
            pieces.append((None, offset, len(text)))
        return pieces


def build_added_vocab(
    vocab: Mapping[str, int],
    entries: Iterable[tuple[int, AddedToken]],
    specials: Iterable[str],
    never_split: Iterable[str],
    special_flags: Mapping[str, Any] | None = None,
    source: str = "the tokenizer files",
) -> AddedVocab:
    """The added tokens of a new tokenizer, as the Rust library holds them after loading tokenizer.json.

    entries: (id, token) read from the files (tokenizer.json, added_tokens_decoder, added_tokens.json).
    specials / never_split: the tokenizer's special tokens and never_split entries; each one of the
    vocabulary that is not among the entries becomes an added token (special ones with the flags
    `special_flags` gives them, else not normalized; never_split ones not normalized, not special).
    Every token is then added again in the order of its id, as the Rust library loads tokenizer.json.
    A special token or never_split entry that is neither is left to `TokenizerOptions.check_vocab`.
    Raises ValueError naming `source` when an entry's id is not the one the Rust library gives it (ids of
    tokens beyond the vocabulary follow it without gaps).
    """
    probe = AddedVocab(vocab)
    for index, token in sorted(entries, key=lambda item: item[0]):
        probe.add([token])
        if probe.id_of(token.content) != index:
            raise ValueError(
                f"{source}: added token {token.content!r} has id {index}, but the ids of added tokens beyond the "
                f"vocabulary must follow it without gaps (it would get id {probe.id_of(token.content)})"
            )
    missing: list[tuple[int, AddedToken]] = []
    for content in specials:
        index = probe.ids.get(content)
        if index is not None:
            if not probe.tokens[index].special:
                probe.add([dataclasses.replace(probe.tokens[index], special=True)])
        elif content in vocab:
            flags = (special_flags or {}).get(content, content)
            missing.append(
                (vocab[content], as_added_token(flags, special=True, name=f"special token {content!r}"))
            )
    for content in never_split:
        if content not in probe.ids and content in vocab and all(t.content != content for _, t in missing):
            missing.append((vocab[content], AddedToken(content, normalized=False)))
    probe.add([token for _, token in sorted(missing, key=lambda item: item[0])])
    added = AddedVocab(vocab)
    added.add([token for _, token in probe.entries()])
    return added


def added_entries(value: Any) -> list[tuple[int, AddedToken]]:
    """Added tokens given as {id: AddedToken or dict} (Transformers' added_tokens_decoder, also with string
    ids as tokenizer_config.json holds them) or as (id, token) pairs, as (id, AddedToken) by id.

    Raises TypeError for anything else, ValueError for an id that is not an int.
    """
    if value is None:
        return []
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"added_tokens_decoder must map ids to tokens, got {item!r:.80}")
        index, token = item
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise ValueError(f"added_tokens_decoder: id {index!r} is not an int") from None
        out.append((index, as_added_token(token, name=f"added_tokens_decoder[{index}]")))
    return sorted(out, key=lambda entry: entry[0])
