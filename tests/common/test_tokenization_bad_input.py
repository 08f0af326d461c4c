"""Bad tokenizer input gets one behaviour in every tokenizer: an error whose first line names the problem.

- A token repeated in vocab.txt: Transformers 4.57's BertTokenizer and BertTokenizerFast (and the Rust
  library) keep the last id silently (checked with /work/refvenv: `len(tok)` 7 for 8 lines), and the
  in-graph tokenizer refused it with "Tokens in the vocabulary must be unique". Now all three raise
  ValueError naming the token, its lines (numbered from 1) and the file.
- A lone surrogate in the text: Transformers' slow tokenizer drops it silently, its fast one raises
  "TypeError: TextEncodeInput must be Union[...]"; ours dropped it (slow) or failed in the Rust
  conversion (fast). Now every entry point raises ValueError naming the code point and its index.
The in-graph tokenizer's side is in tests/tf/test_tokenizer.py.
"""

from __future__ import annotations

import pytest

from tests.common.tokenizer_helpers import CLASSES

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture
def vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join([*SPECIALS, "hello", "world", "hello", "again"]) + "\n", encoding="utf-8")
    return path


def test_duplicate_token_in_vocab_txt(kind, vocab_file):
    with pytest.raises(ValueError) as info:
        CLASSES[kind](vocab_file)
    first_line = str(info.value).splitlines()[0]
    assert first_line.startswith(f"duplicate token 'hello' on lines 6 and 8 of vocabulary file {vocab_file}")


def test_duplicate_token_in_a_directory(kind, vocab_file):
    with pytest.raises(ValueError, match="duplicate token 'hello' on lines 6 and 8"):
        CLASSES[kind].from_pretrained(vocab_file.parent)


def test_duplicate_after_stripping_trailing_whitespace(kind, tmp_path):
    # vocab.txt lines lose trailing White_Space (as in the Rust library), so "x " repeats "x"
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join([*SPECIALS, "x", "x \r"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate token 'x' on lines 6 and 7"):
        CLASSES[kind](path)


def test_duplicate_token_in_a_vocabulary_list(kind):
    with pytest.raises(ValueError, match=r"duplicate token 'a' on entries 5, 7 and 9 of the vocabulary list"):
        CLASSES[kind].from_vocab([*SPECIALS, "a", "b", "a", "c", "a"])


@pytest.mark.parametrize(
    "call, where",
    [
        (lambda tok: tok("ab\ud800c"), "text holds a lone surrogate U+D800 at index 2"),
        (lambda tok: tok(["fine", "x\udfff"]), "text[1] holds a lone surrogate U+DFFF at index 1"),
        (lambda tok: tok("fine", "\udc80"), "text_pair holds a lone surrogate U+DC80 at index 0"),
        (lambda tok: tok(["a"], ["b\ud83d"]), "text_pair[0] holds a lone surrogate U+D83D at index 1"),
        (lambda tok: tok([("a\ud800", "b")]), "text[0][0] holds a lone surrogate U+D800 at index 1"),
        (lambda tok: tok.tokenize("\ud800"), "text holds a lone surrogate U+D800 at index 0"),
        (lambda tok: tok.encode("ok \udc00"), "text holds a lone surrogate U+DC00 at index 3"),
    ],
    ids=["single", "batch", "pair", "batch-of-pairs", "tuples", "tokenize", "encode"],
)
def test_lone_surrogate_is_refused_by_name_and_index(tok, call, where):
    with pytest.raises(ValueError) as info:
        call(tok)
    assert str(info.value).splitlines()[0].startswith(where), str(info.value)


def test_a_valid_surrogate_pair_is_one_character(tok):
    # "\U0001f600" is one code point in Python (never a surrogate pair), so it tokenizes as any emoji
    assert tok("\U0001f600")["input_ids"] == tok("\U0001f601")["input_ids"]
