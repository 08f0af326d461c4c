"""The texts of a tokenizer call, checked and batched.

`check_text` and `check_surrogates` refuse what is not text (a lone surrogate is half of a UTF-16 pair,
not a character); `batch_inputs` turns the `text` / `text_pair` arguments of a call into a list of
inputs, `batch_words` does it for pre-split words (`is_split_into_words=True`). Every error names the
argument, and the index of the text (and of the character) at fault.

Shape legend: B = inputs in a call (a string, a (text, pair) tuple, or a list of words each).
"""

from __future__ import annotations

import re
from typing import Any


def check_text(name: str, value: Any) -> None:
    """Raise TypeError naming `name` unless `value` is a string, ValueError when it holds a lone surrogate."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r:.80}")
    check_surrogates(name, value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_surrogates(name: str, text: str) -> None:
    """Raise ValueError naming the code point and its index when `text` holds a lone surrogate.

    A surrogate (U+D800..U+DFFF) is half of a UTF-16 pair, not a character: it comes from bytes decoded
    with errors="surrogateescape"/"surrogatepass" or from a broken UTF-16 source. The Rust library cannot
    take one and the slow tokenizer used to drop it silently, so every tokenizer refuses it.
    """
    match = None if text.isascii() else _SURROGATE.search(text)
    if match is not None:
        raise ValueError(
            f"{name} holds a lone surrogate U+{ord(match.group()):04X} at index {match.start()}, which is "
            "not a character (bytes decoded with errors='surrogateescape' or broken UTF-16?); fix the "
            "text, e.g. text.encode('utf-8', 'replace').decode('utf-8')"
        )


def _any_surrogate(texts: Any) -> bool:
    """Whether any of `texts` holds a surrogate: one pass over all of them (UTF-8 encoding fails only on
    a surrogate, and is faster than a regex search)."""
    joined = "".join(texts)
    if joined.isascii():
        return False
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_all(name: str, texts: Any) -> None:
    """`check_surrogates` on every text of a batch, when one search over all of them finds one."""
    if _any_surrogate(texts):
        for i, text in enumerate(texts):
            check_surrogates(f"{name}[{i}]", text)


def batch_inputs(text: Any, text_pair: Any) -> tuple[list[Any], bool, bool]:
    """The inputs of a call as (inputs, is_pair, is_batched): inputs is a list of strings or of (str, str)
    tuples, B of them.

    Raises TypeError for a text that is not a string (naming its index), ValueError for `text` and
    `text_pair` batches of different lengths or a text holding a lone surrogate (`check_surrogates`).
    """
    if isinstance(text, str):
        check_surrogates("text", text)
        if text_pair is None:
            return [text], False, False
        if not isinstance(text_pair, str):
            raise TypeError(
                f"text is a single string but text_pair is {type(text_pair).__name__}; pass a string "
                "pair, or lists of the same length for a batch of pairs"
            )
        check_surrogates("text_pair", text_pair)
        return [(text, text_pair)], True, False
    if not isinstance(text, (list, tuple)):
        raise TypeError(
            "text must be a string, a list of strings or a list of (text, text_pair) tuples, "
            f"got {type(text).__name__} {text!r:.80}"
        )
    if text_pair is not None:
        if not isinstance(text_pair, (list, tuple)):
            raise TypeError(
                f"text is a batch (a {type(text).__name__}) so text_pair must be a list of strings "
                f"too, got {type(text_pair).__name__}"
            )
        if len(text) != len(text_pair):
            raise ValueError(
                f"text and text_pair must have the same length, got {len(text)} texts and "
                f"{len(text_pair)} text pairs"
            )
        for i, (a, b) in enumerate(zip(text, text_pair)):
            if not isinstance(a, str):
                raise TypeError(f"text[{i}] must be a string, got {type(a).__name__} {a!r:.80}")
            if not isinstance(b, str):
                raise TypeError(f"text_pair[{i}] must be a string, got {type(b).__name__} {b!r:.80}")
        _check_all("text", text)
        _check_all("text_pair", text_pair)
        return list(zip(text, text_pair)), True, True
    if not text:
        return [], False, True
    if isinstance(text[0], (list, tuple)):  # a batch of (text, text_pair)
        for i, item in enumerate(text):
            if (
                not isinstance(item, (list, tuple))
                or len(item) != 2
                or not isinstance(item[0], str)
                or not isinstance(item[1], str)
            ):
                raise TypeError(f"text[{i}] must be a (text, text_pair) pair of strings, got {item!r:.80}")
        pairs = [(a, b) for a, b in text]
        if _any_surrogate(a + b for a, b in pairs):
            for i, (a, b) in enumerate(pairs):
                check_surrogates(f"text[{i}][0]", a)
                check_surrogates(f"text[{i}][1]", b)
        return pairs, True, True
    for i, item in enumerate(text):
        if not isinstance(item, str):
            raise TypeError(f"text[{i}] must be a string, got {type(item).__name__} {item!r:.80}")
    _check_all("text", text)
    return list(text), False, True


def batch_words(text: Any, text_pair: Any) -> tuple[list[Any], bool, bool]:
    """Pre-split inputs (`is_split_into_words=True`) as (inputs, is_pair, is_batched): inputs is a list of
    word lists, or of (words, pair words) tuples, B of them.

    `text` is one list of words (an empty list is one text without words, as in Transformers) or a batch
    of them (a list of lists); `text_pair` the same shape or None. Raises TypeError for a string or a word
    that is not a string (naming its index), ValueError for batches of different lengths or a lone
    surrogate.
    """

    def words(name: str, value: Any) -> list[str]:
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"with is_split_into_words=True, {name} must be a list of words (or a batch of such lists), "
                f"got {type(value).__name__} {value!r:.80}"
            )
        for i, word in enumerate(value):
            if not isinstance(word, str):
                raise TypeError(
                    f"{name}[{i}] must be a string (a word), got {type(word).__name__} {word!r:.80}"
                )
            check_surrogates(f"{name}[{i}]", word)
        return list(value)

    is_batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
    if not is_batched:
        first = words("text", text)
        if text_pair is None:
            return [first], False, False
        return [(first, words("text_pair", text_pair))], True, False
    firsts = [words(f"text[{b}]", item) for b, item in enumerate(text)]
    if text_pair is None:
        return firsts, False, True
    if not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(text):
        raise ValueError(
            f"text is a batch of {len(text)} word lists, so text_pair must be a list of as many word lists, "
            f"got {text_pair!r:.80}"
        )
    seconds = [words(f"text_pair[{b}]", item) for b, item in enumerate(text_pair)]
    return list(zip(firsts, seconds)), True, True
