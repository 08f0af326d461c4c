"""Slow (pure Python) and fast (Rust) tokenizers agree exactly on the diverse corpus.

Every field is compared (ids, segment ids, masks, offsets, lengths, overflow mapping) plus the per-row
tokens, word ids and sequence ids, for singles, pairs and batches, over tokenizer options (uncased
all-MiniLM-L6-v2 vocabulary; the small cased vocabulary with strip_accents True/False/None) and
call options (padding, truncation strategies, stride and overflow, pad_to_multiple_of, padding side,
special tokens on or off). The fast tokenizer is also checked against the checkpoint's own
tokenizer.json run directly through the `tokenizers` library.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bert_common.files import default_model_dir
from bert_common.tokenization import BertTokenizer, BertTokenizerFast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = json.loads((FIXTURES / "tokenizer_corpus.json").read_text(encoding="utf-8"))
TEXTS = [text for group in CORPUS["texts"].values() for text in group]
TEXTS += [entry["text"] for entry in CORPUS["unicode_versions"]]
PAIRS = [tuple(pair) for pair in CORPUS["pairs"]] + list(zip(TEXTS[::2], TEXTS[1::2]))
NEVER_SPLIT = ["e-mail", "N.Y.C.", "C++", "<3", "hello world"]

TOKENIZER_OPTIONS = {
    "uncased": ("uncased", {}),
    "uncased-keep-accents": ("uncased", {"strip_accents": False}),
    "uncased-no-cjk-split": ("uncased", {"tokenize_chinese_chars": False}),
    "uncased-no-clean-text": ("uncased", {"clean_text": False}),
    "uncased-no-basic-tokenize": ("uncased", {"do_basic_tokenize": False}),
    "cased-strip-none": ("cased", {"do_lower_case": False}),
    "cased-strip-true": ("cased", {"do_lower_case": False, "strip_accents": True}),
    "cased-strip-false": (
        "cased",
        {"do_lower_case": False, "strip_accents": False, "never_split": NEVER_SPLIT},
    ),
    "cased-lowercase-keep-accents": ("cased", {"do_lower_case": True, "strip_accents": False}),
    "cased-no-basic-tokenize": (
        "cased",
        {"do_lower_case": False, "do_basic_tokenize": False, "never_split": NEVER_SPLIT},
    ),
}

CALL_OPTIONS = {
    "plain": {},
    "no-special-tokens": {"add_special_tokens": False},
    "pad-longest": {"padding": True},
    "pad-multiple-left": {"padding": "longest", "pad_to_multiple_of": 8, "padding_side": "left"},
    "pad-max-length-truncate": {"padding": "max_length", "max_length": 24, "truncation": True},
    "truncate-short": {"truncation": "longest_first", "max_length": 9},
    "overflow-stride": {"truncation": True, "max_length": 12, "stride": 2, "return_overflowing_tokens": True, "padding": True},
    "overflow-no-special": {
        "truncation": True, "max_length": 10, "stride": 1, "return_overflowing_tokens": True, "add_special_tokens": False,
    },
}  # fmt: skip
PAIR_ONLY_CALL_OPTIONS = {
    "only-first": {
        "truncation": "only_first",
        "max_length": 40,
        "return_overflowing_tokens": True,
        "stride": 3,
    },
    "only-second": {
        "truncation": "only_second",
        "max_length": 40,
        "return_overflowing_tokens": True,
        "stride": 3,
    },
}


@pytest.fixture(scope="module")
def vocab_files() -> dict[str, Path]:
    return {"uncased": default_model_dir() / "vocab.txt", "cased": FIXTURES / "cased_vocab.txt"}


_CACHE: dict[str, tuple[BertTokenizer, BertTokenizerFast]] = {}


def _pair_of_tokenizers(name: str, vocab_files: dict[str, Path]) -> tuple[BertTokenizer, BertTokenizerFast]:
    if name not in _CACHE:
        vocab, options = TOKENIZER_OPTIONS[name]
        _CACHE[name] = (
            BertTokenizer(vocab_files[vocab], **options),
            BertTokenizerFast(vocab_files[vocab], **options),
        )
    return _CACHE[name]


def _outcome(tokenizer, *args, **kwargs):
    """The call's BatchEncoding, or ("error", type) when it raises a ValueError."""
    try:
        return tokenizer(
            *args, return_offsets_mapping=True, return_special_tokens_mask=True, return_length=True, **kwargs
        )
    except ValueError as err:
        return ("error", type(err))


def _assert_same(slow_out, fast_out, what: str) -> None:
    if isinstance(slow_out, tuple) or isinstance(fast_out, tuple):
        assert slow_out == fast_out, what
        return
    assert slow_out.keys() == fast_out.keys(), what
    for key in slow_out:
        assert slow_out[key] == fast_out[key], f"{what}: {key}"
    rows = len(slow_out["input_ids"]) if isinstance(slow_out["input_ids"][0], list) else 1
    for row in range(rows):
        assert slow_out.tokens(row) == fast_out.tokens(row), f"{what}: tokens of row {row}"
        assert slow_out.word_ids(row) == fast_out.word_ids(row), f"{what}: word_ids of row {row}"
        assert slow_out.sequence_ids(row) == fast_out.sequence_ids(row), f"{what}: sequence_ids of row {row}"


@pytest.mark.parametrize("options", list(TOKENIZER_OPTIONS))
def test_singles_agree_text_by_text(options, vocab_files):
    slow, fast = _pair_of_tokenizers(options, vocab_files)
    for text in TEXTS:
        _assert_same(_outcome(slow, text), _outcome(fast, text), f"{options} {text!r}")
        for position in range(0, len(text), 7):
            assert slow(text).char_to_token(position) == fast(text).char_to_token(position), (text, position)


@pytest.mark.parametrize("call", list(CALL_OPTIONS))
@pytest.mark.parametrize("options", list(TOKENIZER_OPTIONS))
def test_batches_agree(options, call, vocab_files):
    slow, fast = _pair_of_tokenizers(options, vocab_files)
    kwargs = CALL_OPTIONS[call]
    _assert_same(
        _outcome(slow, TEXTS, **kwargs), _outcome(fast, TEXTS, **kwargs), f"{options} {call} singles"
    )
    _assert_same(_outcome(slow, PAIRS, **kwargs), _outcome(fast, PAIRS, **kwargs), f"{options} {call} pairs")


@pytest.mark.parametrize("call", [*PAIR_ONLY_CALL_OPTIONS, "overflow-stride"])
@pytest.mark.parametrize("options", ["uncased", "cased-strip-false"])
def test_pairs_agree_pair_by_pair(options, call, vocab_files):
    # one pair at a time, so a pair that cannot be truncated (an error on both sides) spoils no other
    slow, fast = _pair_of_tokenizers(options, vocab_files)
    kwargs = {**CALL_OPTIONS, **PAIR_ONLY_CALL_OPTIONS}[call]
    errors = 0
    for first, second in PAIRS:
        slow_out, fast_out = _outcome(slow, first, second, **kwargs), _outcome(fast, first, second, **kwargs)
        _assert_same(slow_out, fast_out, f"{options} {call} {(first, second)!r}")
        errors += isinstance(slow_out, tuple)
    assert errors < len(PAIRS) // 2  # the comparison mostly covers successful calls


@pytest.mark.parametrize("options", ["uncased", "cased-strip-true"])
def test_decode_agrees(options, vocab_files):
    slow, fast = _pair_of_tokenizers(options, vocab_files)
    batch = fast(TEXTS)["input_ids"]
    for skip in (False, True):
        for cleanup in (False, True):
            assert slow.batch_decode(batch, skip, cleanup) == fast.batch_decode(batch, skip, cleanup)


def test_fast_matches_the_checkpoint_tokenizer_json():
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    reference.no_padding()
    reference.no_truncation()
    fast = BertTokenizerFast.from_pretrained(default_model_dir())
    expected = reference.encode_batch(TEXTS)
    got = fast(TEXTS, return_offsets_mapping=True)
    assert got["input_ids"] == [e.ids for e in expected]
    assert got["offset_mapping"] == [e.offsets for e in expected]
    expected_pairs = reference.encode_batch(PAIRS)
    assert fast(PAIRS)["token_type_ids"] == [e.type_ids for e in expected_pairs]
