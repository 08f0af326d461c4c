"""Behaviour of BertTokenizer and BertTokenizerFast through their shared API: tokens, vocabulary and
special tokens, errors (calls, padding, offsets, decoding, tensors and files: test_tokenization_calls.py).

Every test runs on both tokenizers (the `kind` parameter). Expected tokens are worked out by hand from
the vocabularies: the uncased all-MiniLM-L6-v2 vocab.txt (ids read here with a plain line reader,
independent of the code under test) and tests/fixtures/cased_vocab.txt.
"""

from __future__ import annotations

import json
import pickle

import pytest

from bert_common.files import ModelNotFoundError
from bert_common.tokenization import BatchEncoding, BertTokenizerFast
from tests.common.tokenizer_helpers import CASED_VOCAB, CLASSES, cased

# --------------------------------------------------------------------------------------------------
# tokens


def test_hello_world(tok, ids):
    assert tok.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    enc = tok("Hello, World!")
    assert enc["input_ids"] == [ids[t] for t in ["[CLS]", "hello", ",", "world", "!", "[SEP]"]]
    assert enc["token_type_ids"] == [0] * 6
    assert enc["attention_mask"] == [1] * 6
    assert list(enc) == ["input_ids", "token_type_ids", "attention_mask"]
    assert enc.input_ids is enc["input_ids"]
    assert tok.encode("Hello, World!") == enc["input_ids"]


def test_pair_layout(tok):
    enc = tok("hello", "world")
    assert enc.tokens() == ["[CLS]", "hello", "[SEP]", "world", "[SEP]"]
    assert enc["token_type_ids"] == [0, 0, 0, 1, 1]
    assert enc.sequence_ids() == [None, 0, None, 1, None]
    assert enc.word_ids() == [None, 0, None, 0, None]


def test_batch_forms_agree(tok):
    a = tok(["a b", "c"], ["d", "e f"])
    b = tok([("a b", "d"), ("c", "e f")])
    assert a == b
    assert a.tokens(1) == ["[CLS]", "c", "[SEP]", "e", "f", "[SEP]"]


def test_lowercase_and_accents(tok):
    # strip_accents=None follows do_lower_case: accents go with lowercasing
    assert tok.tokenize("Café NAÏVE") == ["cafe", "naive"]


def test_cased_accent_options(kind):
    assert cased(kind).tokenize("Café naïve") == ["Café", "naïve"]  # strip None follows lowercase (False)
    assert cased(kind, strip_accents=True).tokenize("Café naïve") == ["Cafe", "naive"]
    assert cased(kind, strip_accents=False).tokenize("Café naïve") == ["Café", "naïve"]
    assert cased(kind, do_lower_case=True, strip_accents=False).tokenize("CAFÉ") == ["café"]
    # a decomposed é (e + U+0301) is not recomposed (no NFC): "cafe\u0301" is its own vocabulary entry
    assert cased(kind, strip_accents=False).tokenize("Cafe\u0301") == ["Cafe\u0301"]
    assert cased(kind, strip_accents=True).tokenize("Cafe\u0301") == ["Cafe"]


def _normalize(tokenizer, text: str) -> str:
    if isinstance(tokenizer, BertTokenizerFast):
        return tokenizer.backend_tokenizer.normalizer.normalize_str(text)
    return tokenizer.normalize_str(text)


def test_greek_sigma_and_turkish_i(kind):
    lower = cased(kind, do_lower_case=True, strip_accents=False)
    # per-character lowercasing: capital sigma is always σ, never the final ς
    assert _normalize(lower, "ΟΔΥΣΣΕΥΣ") == "οδυσσευσ"
    # İ lowercases to i + combining dot above; stripping accents first removes the dot
    assert _normalize(lower, "İ") == "i\u0307"
    assert _normalize(cased(kind, do_lower_case=True, strip_accents=True), "İı") == "iı"
    assert cased(kind, do_lower_case=True, strip_accents=False).tokenize("İ") == ["i\u0307"]


def test_unusual_whitespace_splits(kind):
    tokenizer = cased(kind)
    for space in ["\xa0", "\u2028", "\u2029", "\u3000", "\u2003", "\u202f", "\u1680", "\t", "\r\n"]:
        assert tokenizer.tokenize(f"a{space}b") == ["a", "b"], repr(space)


def test_control_characters_are_removed(kind):
    tokenizer = cased(kind)
    # \x0b \x0c \x85 and \x1c-\x1f are control characters (Cc): removed, so "a?b" becomes one word "ab"
    for control in [
        "\x0b",
        "\x0c",
        "\x85",
        "\x1c",
        "\x1f",
        "\x00",
        "\x7f",
        "\u200b",
        "\u200d",
        "\ufeff",
        "\ufffd",
        "\u2060",
    ]:
        assert tokenizer.tokenize(f"a{control}b") == ["a", "##b"], repr(control)


def test_cjk_and_fullwidth(kind):
    assert cased(kind).tokenize("BERT模型很好用") == ["BERT", "模", "型", "很", "好", "用"]
    # without CJK splitting the run is one word that WordPiece cannot cover ("##模" is not in the vocab)
    assert cased(kind, tokenize_chinese_chars=False).tokenize("BERT模型") == ["[UNK]"]
    # the CJK punctuation is punctuation
    assert cased(kind).tokenize("中，文") == ["中", "，", "文"]


def test_emoji_zwj_and_variation_selector(kind):
    # U+FE0F (variation selector) is a nonspacing mark: kept without accent stripping, removed with it
    assert cased(kind).tokenize("I ❤\ufe0f NLP") == ["I", "❤", "##\ufe0f", "NLP"]
    assert cased(kind, strip_accents=True).tokenize("I ❤\ufe0f NLP") == ["I", "❤", "NLP"]
    # the zero-width joiner is a format character (removed): 👩💻 is one word, and "##💻" is not in
    # the vocabulary, so the whole word is unknown
    assert cased(kind).tokenize("👩\u200d💻") == ["[UNK]"]
    assert cased(kind).tokenize("👍🏽") == ["👍", "##🏽"]


def test_long_words_become_unknown(kind):
    tokenizer = cased(kind)
    assert tokenizer.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert tokenizer.tokenize("a" * 101) == ["[UNK]"]
    enc = tokenizer("x " + "a" * 101 + " y", return_offsets_mapping=True)
    assert enc["offset_mapping"][2] == (2, 103)


def test_inline_special_tokens(tok):
    assert tok.tokenize("hello[MASK]world") == ["hello", "[MASK]", "world"]
    assert tok.tokenize("[[MASK]]") == ["[", "[MASK]", "]"]
    assert tok.tokenize("[mask]") == ["[", "mask", "]"]  # matched in the raw text, before lowercasing
    enc = tok("hello[MASK]world", return_special_tokens_mask=True)
    # special tokens typed in the text are ordinary tokens for the mask (as in the Rust library)
    assert enc["special_tokens_mask"] == [1, 0, 0, 0, 1]
    assert enc.word_ids() == [None, 0, 1, 2, None]


def test_never_split(kind):
    words = "Hello e-mail N.Y.C. world"
    assert cased(kind, never_split=["e-mail", "N.Y.C."]).tokenize(words) == [
        "Hello",
        "e-mail",
        "N.Y.C.",
        "world",
    ]
    assert cased(kind).tokenize(words) == [
        "Hello", "e", "-", "m", "##a", "##i", "##l", "N", ".", "Y", ".", "C", ".", "world",
    ]  # fmt: skip
    # matched in the raw text, so a differently cased spelling is not protected
    assert cased(kind, never_split=["e-mail"], do_lower_case=True).tokenize("E-mail") == [
        "e", "-", "m", "##a", "##i", "##l",
    ]  # fmt: skip
    # a never_split entry may even hold a space; it is still one vocabulary token
    assert cased(kind, never_split=["hello world"]).tokenize("say hello world") == [
        "s",
        "##a",
        "##y",
        "hello world",
    ]


def test_never_split_outside_vocab_is_rejected(kind):
    with pytest.raises(ValueError, match="never_split entry 'zzz-top'"):
        cased(kind, never_split=["zzz-top"])


def test_no_basic_tokenize(kind):
    tokenizer = cased(kind, do_basic_tokenize=False)
    # whitespace split only: no lowercasing, no accent stripping, no punctuation split
    assert tokenizer.tokenize("Café café") == ["Café", "café"]
    assert tokenizer.tokenize("Hello, World!") == ["[UNK]", "[UNK]"]  # "##," and "##!" are not in the vocab
    assert tokenizer.tokenize("Hello\u3000world") == ["Hello", "world"]
    assert tokenizer.tokenize("x[MASK]y") == ["x", "[MASK]", "y"]


# --------------------------------------------------------------------------------------------------
# vocabulary and special tokens


def test_vocab_and_special_tokens(tok, ids):
    assert tok.vocab_size == len(tok) == len(ids) == 30522
    assert tok.get_vocab()["hello"] == ids["hello"]
    assert (tok.cls_token, tok.cls_token_id) == ("[CLS]", ids["[CLS]"])
    assert (tok.mask_token_id, tok.pad_token_id, tok.unk_token_id, tok.sep_token_id) == (
        ids["[MASK]"], ids["[PAD]"], ids["[UNK]"], ids["[SEP]"],
    )  # fmt: skip
    assert tok.all_special_tokens == ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
    assert tok.all_special_ids == [ids[t] for t in tok.all_special_tokens]
    assert tok.convert_tokens_to_ids(["hello", "notawordxyz"]) == [ids["hello"], ids["[UNK]"]]
    assert tok.convert_ids_to_tokens(ids["world"]) == "world"
    assert tok.convert_ids_to_tokens([ids["[CLS]"], ids["a"]], skip_special_tokens=True) == ["a"]
    with pytest.raises(ValueError):
        tok.convert_ids_to_tokens([len(ids)])


def test_special_token_layout_helpers(tok):
    cls, sep = tok.cls_token_id, tok.sep_token_id
    assert tok.build_inputs_with_special_tokens([7, 8], [9]) == [cls, 7, 8, sep, 9, sep]
    assert tok.get_special_tokens_mask([7, 8], [9]) == [1, 0, 0, 1, 0, 1]
    assert tok.get_special_tokens_mask([cls, 7, tok.mask_token_id, sep], already_has_special_tokens=True) == [
        1,
        0,
        1,
        1,
    ]
    assert tok.create_token_type_ids_from_sequences([7, 8], [9]) == [0, 0, 0, 0, 1, 1]
    assert (tok.num_special_tokens_to_add(), tok.num_special_tokens_to_add(pair=True)) == (2, 3)


def test_custom_special_tokens(kind, cased_ids):
    tokenizer = cased(kind, unk_token="[URL]", additional_special_tokens=["[USR]"])
    assert tokenizer.tokenize("Hello 👩\u200d💻") == ["Hello", "[URL]"]
    assert "[USR]" in tokenizer.all_special_tokens
    ids = tokenizer.encode("Hello [USR]")
    assert ids[2] == cased_ids["[USR]"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "Hello"


def test_batch_encoding_object(tok):
    enc = tok(["a b", "c"], padding=True)
    assert isinstance(enc, BatchEncoding) and len(enc.encodings) == 2 and enc.n_sequences == 1
    with pytest.raises(AttributeError):
        _ = enc.no_such_key
    restored = pickle.loads(pickle.dumps(enc))
    assert restored == enc and restored.tokens(1) == enc.tokens(1)


def test_backend_state_does_not_leak(kind, uncased):
    tokenizer = uncased[kind]
    tokenizer(["a b c d e"], padding="max_length", max_length=12, truncation=True)
    assert len(tokenizer("a b c d e")["input_ids"]) == 7
    assert tokenizer.tokenize("a b c d e") == ["a", "b", "c", "d", "e"]


def test_embedded_tokenizer_json_padding_is_reset(model_dir):
    # the checkpoint's tokenizer.json pads to a fixed 128 and truncates at 128; calls set their own
    settings = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    assert settings["padding"]["strategy"] == {"Fixed": 128}
    fast = BertTokenizerFast(tokenizer_file=model_dir / "tokenizer.json")
    assert len(fast("hello")["input_ids"]) == 3
    assert len(fast("a " * 300)["input_ids"]) == 302


# --------------------------------------------------------------------------------------------------
# errors


def test_bad_vocab_files(kind, tmp_path):
    cls = CLASSES[kind]
    with pytest.raises(ModelNotFoundError, match="not found"):
        cls(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        cls(tmp_path / "empty.txt")
    (tmp_path / "nomask.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mask_token '\\[MASK\\]'"):
        cls(tmp_path / "nomask.txt")


def test_bad_constructor_arguments(kind):
    with pytest.raises(TypeError, match="do_lowercase.*did you mean 'do_lower_case'"):
        CLASSES[kind](CASED_VOCAB, do_lowercase=False)
    with pytest.raises(TypeError, match="strip_accents"):
        cased(kind, strip_accents="yes")
    with pytest.raises(TypeError, match="never_split must be a list"):
        cased(kind, never_split="e-mail")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((123,), {}, TypeError, "text must be a string"),
        ((["a", 5],), {}, TypeError, r"text\[1\] must be a string"),
        (("a", ["b"]), {}, TypeError, "text_pair"),
        ((["a", "b"], ["c"]), {}, ValueError, "same length, got 2 texts and 1"),
        (("a b c",), {"max_length": 2, "truncation": True}, ValueError, "leaves no room"),
        (("a", "b"), {"max_length": 3, "truncation": True}, ValueError, "leaves no room"),
        (("a b c",), {"max_length": 5, "truncation": True, "stride": 3}, ValueError, "stride=3"),
        (("a",), {"padding": "longest_first"}, ValueError, "unknown padding strategy"),
        (("a",), {"truncation": "longest"}, ValueError, "unknown truncation strategy"),
        (("a",), {"return_tensors": "torch"}, ValueError, "unknown return_tensors 'torch'"),
        (("a",), {"pad_to_multiple_of": 0, "padding": True}, ValueError, "pad_to_multiple_of"),
        (("a",), {"max_length": -1}, ValueError, "max_length"),
        (("a",), {"retrun_tensors": "np"}, TypeError, "did you mean 'return_tensors'"),
        (
            ("a",),
            {"padding": "max_length", "max_length": 6, "truncation": True, "pad_to_multiple_of": 4},
            ValueError,
            "multiple",
        ),
    ],
)
def test_bad_call_arguments(tok, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        tok(*args, **kwargs)
