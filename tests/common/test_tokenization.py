"""Behaviour of BertTokenizer and BertTokenizerFast through their shared API.

Every test runs on both tokenizers (the `kind` parameter). Expected tokens are worked out by hand from
the vocabularies: the uncased all-MiniLM-L6-v2 vocab.txt (ids read here with a plain line reader,
independent of the code under test) and tests/fixtures/cased_vocab.txt.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bert_common.files import ModelNotFoundError, default_model_dir
from bert_common.tokenization import BertTokenizer
from bert_common.tokenization_base import BatchEncoding
from bert_common.tokenization_fast import BertTokenizerFast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASED_VOCAB = FIXTURES / "cased_vocab.txt"
CLASSES = {"slow": BertTokenizer, "fast": BertTokenizerFast}


def _line_ids(path: Path) -> dict[str, int]:
    with open(path, encoding="utf-8") as handle:
        return {line.rstrip("\n"): i for i, line in enumerate(handle)}


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return default_model_dir()


@pytest.fixture(scope="module")
def ids(model_dir: Path) -> dict[str, int]:
    """Uncased vocabulary ids, read line by line."""
    return _line_ids(model_dir / "vocab.txt")


@pytest.fixture(scope="module")
def cased_ids() -> dict[str, int]:
    return _line_ids(CASED_VOCAB)


@pytest.fixture(scope="module")
def uncased(model_dir: Path) -> dict[str, object]:
    return {name: cls.from_pretrained(model_dir) for name, cls in CLASSES.items()}


@pytest.fixture(params=["slow", "fast"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tok(kind: str, uncased: dict[str, object]):
    return uncased[kind]


def cased(kind: str, **options):
    return CLASSES[kind](CASED_VOCAB, do_lower_case=options.pop("do_lower_case", False), **options)


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
# padding, truncation, overflow


def test_padding_longest_and_multiple(tok, ids):
    enc = tok(["a", "a b c"], padding=True)
    assert enc["input_ids"][0] == [ids["[CLS]"], ids["a"], ids["[SEP]"], 0, 0]
    assert enc["attention_mask"] == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    enc = tok(["a", "a b c"], padding=True, pad_to_multiple_of=4)
    assert [len(row) for row in enc["input_ids"]] == [8, 8]
    enc = tok(["a", "a b c"], padding="max_length", max_length=7, return_tensors="np")
    assert enc["input_ids"].shape == (2, 7) and enc["input_ids"].dtype == np.int64
    assert enc["attention_mask"].sum(axis=1).tolist() == [3, 5]


def test_padding_left(tok, ids):
    enc = tok(["a", "a b"], padding=True, padding_side="left", return_offsets_mapping=True)
    assert enc["input_ids"][0] == [0, ids["[CLS]"], ids["a"], ids["[SEP]"]]
    assert enc["attention_mask"][0] == [0, 1, 1, 1]
    assert enc.sequence_ids(0) == [None, None, 0, None]
    assert enc.char_to_token(0, 0) == 2


def test_padding_max_length_without_limit_is_an_error(kind):
    with pytest.raises(ValueError, match="max_length"):
        cased(kind)("a", padding="max_length")


def test_max_length_alone_truncates(tok):
    assert tok("a b c d e f", max_length=5).tokens() == ["[CLS]", "a", "b", "c", "[SEP]"]
    # with padding on, max_length alone does not truncate (Transformers' rule)
    assert len(tok("a b c d e f", max_length=5, padding=True)["input_ids"]) == 8


def test_truncation_uses_model_max_length(tok):
    assert tok.model_max_length == 512
    enc = tok("a " * 600, truncation=True)
    assert len(enc["input_ids"]) == 512
    enc = tok(["a", "b c"], padding="max_length")
    assert [len(r) for r in enc["input_ids"]] == [512, 512]


def test_pair_truncation_strategies(tok):
    first, second = "a b c d e f", "x y z w v"
    # longest_first: both too long for 5 tokens of room -> 5 // 2 = 2 for the shorter, 3 for the longer
    enc = tok(first, second, truncation="longest_first", max_length=8)
    assert enc.tokens() == ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"]
    # the shorter one keeps its length when the longer can absorb the cut
    enc = tok(first, "x y", truncation=True, max_length=7)
    assert enc.tokens() == ["[CLS]", "a", "b", "[SEP]", "x", "y", "[SEP]"]
    # equal lengths: room // 2 for the first, the rest (one more) for the second, computed at once
    # (Transformers' Python tokenizer, cutting one token at a time from the second on ties, kept 3 + 2)
    enc = tok("a b c d e", "f g h i j", truncation=True, max_length=8)
    assert enc.tokens() == ["[CLS]", "a", "b", "[SEP]", "f", "g", "h", "[SEP]"]
    enc = tok(first, "x y", truncation="only_first", max_length=8)
    assert enc.tokens() == ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"]
    enc = tok("x y", first, truncation="only_second", max_length=8)
    assert enc.tokens() == ["[CLS]", "x", "y", "[SEP]", "a", "b", "c", "[SEP]"]
    with pytest.raises(ValueError, match="only_first"):
        tok("x", first, truncation="only_first", max_length=6)
    with pytest.raises(ValueError, match="only_second"):
        tok("a b c", truncation="only_second", max_length=4)


def test_overflow_with_stride(tok, ids):
    text = "a b c d e f g h"
    enc = tok(
        text,
        truncation=True,
        max_length=6,
        stride=1,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    assert [enc.tokens(i)[1:-1] for i in range(3)] == [["a", "b", "c", "d"], ["d", "e", "f", "g"], ["g", "h"]]
    assert enc["overflow_to_sample_mapping"] == [0, 0, 0]
    assert enc["input_ids"][2] == [ids["[CLS]"], ids["g"], ids["h"], ids["[SEP]"]]
    # offsets of overflow rows point into the original text
    assert [text[s:e] for s, e in enc["offset_mapping"][1][1:-1]] == ["d", "e", "f", "g"]
    batch = tok(
        [text, "x"], truncation=True, max_length=6, stride=1, return_overflowing_tokens=True, padding=True
    )
    assert batch["overflow_to_sample_mapping"] == [0, 0, 0, 1]
    assert {len(row) for row in batch["input_ids"]} == {6}
    assert batch["attention_mask"][3] == [1, 1, 1, 0, 0, 0]


def test_pair_overflow_only_second(tok):
    enc = tok(
        "q", "a b c d e f", truncation="only_second", max_length=7, stride=1, return_overflowing_tokens=True
    )
    rows = [enc.tokens(i) for i in range(len(enc["input_ids"]))]
    assert rows == [
        ["[CLS]", "q", "[SEP]", "a", "b", "c", "[SEP]"],
        ["[CLS]", "q", "[SEP]", "c", "d", "e", "[SEP]"],
        ["[CLS]", "q", "[SEP]", "e", "f", "[SEP]"],
    ]
    assert enc["token_type_ids"][1] == [0, 0, 0, 1, 1, 1, 1]
    assert enc.sequence_ids(2) == [None, 0, None, 1, 1, None]


def test_overflow_stride_longer_than_a_truncated_sequence(tok):
    # longest_first gives "a b" only 1 token here; a stride of 1 cannot overlap 1-token chunks
    with pytest.raises(ValueError, match="stride=1"):
        tok("a b", "c d e f", truncation=True, max_length=6, stride=1, return_overflowing_tokens=True)


def test_add_special_tokens_false(tok, ids):
    enc = tok("hello world", add_special_tokens=False)
    assert enc["input_ids"] == [ids["hello"], ids["world"]]
    enc = tok("a b c d", add_special_tokens=False, max_length=3)
    assert enc.tokens() == ["a", "b", "c"]


def test_return_flags(tok):
    enc = tok(
        ["a b", "c"],
        padding=True,
        return_token_type_ids=False,
        return_attention_mask=False,
        return_special_tokens_mask=True,
        return_length=True,
    )
    assert list(enc) == ["input_ids", "special_tokens_mask", "length"]
    assert enc["special_tokens_mask"] == [[1, 0, 0, 1], [1, 0, 1, 1]]
    assert enc["length"] == [4, 4]  # lengths after padding, as the Rust library reports them


# --------------------------------------------------------------------------------------------------
# offsets and alignment


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Héllo, Wörld!", ["Héllo", ",", "Wörld", "!"]),
        ("İstanbul ÇA", ["İstanbul", "ÇA"]),
        ("中文 ok", ["中", "文", "ok"]),
        ("hello[MASK]world", ["hello", "[MASK]", "world"]),
        ("x\u00a0\u200by", ["x", "y"]),
        # a decomposed accent is deleted by accent stripping, so the token's span ends before it
        ("cafe\u0301!", ["cafe", "!"]),
    ],
)
def test_offsets_point_at_the_text(tok, text, pieces):
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    assert [text[s:e] for s, e in enc["offset_mapping"]] == pieces


def test_offsets_of_word_pieces(kind):
    text = "Hello tokenizer"
    enc = cased(kind)(text, return_offsets_mapping=True)
    # "tokenizer" is not in the cased vocabulary; greedy longest match gives "token" + "##izer"
    assert enc.tokens() == ["[CLS]", "Hello", "token", "##izer", "[SEP]"]
    assert enc["offset_mapping"] == [(0, 0), (0, 5), (6, 11), (11, 15), (0, 0)]
    assert enc.char_to_token(7) == 2 and enc.token_to_chars(1) == (0, 5)
    assert enc.char_to_token(5) is None  # the space
    assert enc.token_to_word(0) is None and enc.token_to_word(3) == 1
    assert enc.token_to_chars(4) is None


def test_pair_offsets_are_per_text(tok):
    enc = tok("hello there", "you", return_offsets_mapping=True)
    assert enc["offset_mapping"] == [(0, 0), (0, 5), (6, 11), (0, 0), (0, 3), (0, 0)]
    assert enc.char_to_token(0, sequence_index=1) == 4
    assert enc.char_to_token(0, 0, sequence_index=0) == 1


# --------------------------------------------------------------------------------------------------
# decoding


def test_decode(tok):
    ids = tok.encode("Hello, World!")
    assert tok.decode(ids) == "[CLS] hello, world! [SEP]"
    assert tok.decode(ids, skip_special_tokens=True) == "hello, world!"
    assert tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False) == "hello , world !"
    assert (
        tok.decode(tok.encode("don't stop, it's fine"), skip_special_tokens=True) == "don't stop, it's fine"
    )


def test_decode_word_pieces_and_arrays(kind):
    tokenizer = cased(kind)
    enc = tokenizer(["Hello tokenizer", "new york"], padding=True, return_tensors="np")
    assert tokenizer.batch_decode(enc["input_ids"], skip_special_tokens=True) == [
        "Hello tokenizer",
        "new york",
    ]
    assert tokenizer.decode(enc["input_ids"][1]) == "[CLS] new york [SEP] [PAD]"
    torch = pytest.importorskip("torch")
    # ids 5 and 6 are lines 6 and 7 of cased_vocab.txt: "[USR]" and "[URL]" (not special here)
    assert tokenizer.decode(torch.tensor([5, 6]), skip_special_tokens=True) == "[USR] [URL]"


def test_decode_rejects_unknown_ids(tok):
    with pytest.raises(ValueError, match="outside the vocabulary|not in the vocabulary"):
        tok.decode([101, 10**6])
    with pytest.raises(TypeError, match="batch_decode"):
        tok.decode([[101, 102]])


# --------------------------------------------------------------------------------------------------
# tensors


def test_return_tensors(tok):
    enc = tok(["a b", "c"], padding=True, return_tensors="np", return_offsets_mapping=True)
    assert enc["input_ids"].shape == (2, 4)
    assert enc["offset_mapping"].shape == (2, 4, 2)
    single = tok("a b", return_tensors="np")
    assert single["input_ids"].shape == (1, 4)  # a batch axis is kept with tensors
    torch = pytest.importorskip("torch")
    pt = tok(["a b", "c"], padding=True, return_tensors="pt")
    assert pt["input_ids"].dtype == torch.int64 and tuple(pt["input_ids"].shape) == (2, 4)
    assert pt.to("cpu")["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]


def test_return_tensors_tf_and_jax(tok):
    tf = pytest.importorskip("tensorflow")
    out = tok(["a b", "c"], padding=True, return_tensors="tf")
    assert isinstance(out["input_ids"], tf.Tensor) and out["input_ids"].shape == (2, 4)
    pytest.importorskip("jax")
    out = tok(["a b", "c"], padding=True, return_tensors="jax")
    assert out["input_ids"].shape == (2, 4) and np.asarray(out["attention_mask"]).tolist() == [
        [1] * 4,
        [1, 1, 1, 0],
    ]


def test_ragged_tensors_are_an_error(tok):
    with pytest.raises(ValueError, match="padding=True"):
        tok(["a b", "c"], return_tensors="np")


def test_frameworks_are_imported_lazily():
    code = (
        "import sys\n"
        "from bert_common.tokenization import BertTokenizer\n"
        "from bert_common.tokenization_fast import BertTokenizerFast\n"
        f"t = BertTokenizerFast({str(CASED_VOCAB)!r}, do_lower_case=False)\n"
        "t(['a b', 'c'], padding=True, return_tensors='np')\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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


# --------------------------------------------------------------------------------------------------
# saving and loading


def test_save_layout_and_round_trip(kind, tmp_path):
    tokenizer = cased(kind, strip_accents=False, never_split=["e-mail"], model_max_length=64)
    written = {Path(p).name for p in tokenizer.save_pretrained(tmp_path)}
    assert written == {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BertTokenizer"
    assert (config["do_lower_case"], config["strip_accents"], config["never_split"]) == (
        False,
        False,
        ["e-mail"],
    )
    assert (config["model_max_length"], config["tokenize_chinese_chars"], config["do_basic_tokenize"]) == (
        64,
        True,
        True,
    )
    assert config["added_tokens_decoder"]["0"]["content"] == "[PAD]"
    assert (
        json.loads((tmp_path / "special_tokens_map.json").read_text(encoding="utf-8"))["mask_token"]
        == "[MASK]"
    )
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8") == CASED_VOCAB.read_text(encoding="utf-8")
    text = "Café e-mail über Über 中文 [MASK]"
    expected = tokenizer(text)["input_ids"]
    for cls in CLASSES.values():
        loaded = cls.from_pretrained(tmp_path)
        assert loaded(text)["input_ids"] == expected
        assert (loaded.strip_accents, loaded.never_split, loaded.model_max_length) == (False, ("e-mail",), 64)


def test_saved_tokenizer_json_is_a_plain_tokenizers_file(kind, tmp_path):
    from tokenizers import Tokenizer

    tokenizer = cased(kind)
    tokenizer.save_pretrained(tmp_path)
    plain = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    text = "Hello, World! Café 中文 [MASK]"
    assert plain.encode(text).ids == tokenizer.encode(text)


def test_load_from_tokenizer_json_only(kind, model_dir, tmp_path):
    (tmp_path / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    loaded = CLASSES[kind].from_pretrained(tmp_path)
    assert loaded.tokenize("Hello, World!") == ["hello", ",", "world", "!"]


def test_from_pretrained_overrides_and_errors(kind, model_dir, tmp_path, monkeypatch):
    cls = CLASSES[kind]
    tokenizer = cls.from_pretrained(model_dir, do_lower_case=False)
    assert tokenizer.tokenize("Hello") == ["[UNK]"]  # the uncased vocabulary has no "Hello" or "H"
    with pytest.raises(TypeError, match="do_lowercase"):
        cls.from_pretrained(model_dir, do_lowercase=False)
    with pytest.raises(ModelNotFoundError):
        cls.from_pretrained(tmp_path / "nope")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="offline"):
        cls.from_pretrained("bert-zoo-test/not-cached", cache_dir=tmp_path / "cache")
    with pytest.raises(ModelNotFoundError, match="no vocab.txt|no tokenizer.json"):
        cls.from_pretrained(tmp_path)


def test_loads_transformers_style_config(kind, tmp_path):
    # special tokens serialized as AddedToken dicts, and keys these tokenizers ignore
    (tmp_path / "vocab.txt").write_bytes(CASED_VOCAB.read_bytes())
    config = {
        "do_lower_case": False,
        "mask_token": {"__type": "AddedToken", "content": "[MASK]", "lstrip": False, "normalized": False},
        "name_or_path": "somewhere",
        "tokenizer_class": "BertTokenizer",
        "model_input_names": ["input_ids"],
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    loaded = CLASSES[kind].from_pretrained(tmp_path)
    assert loaded.tokenize("Café") == ["Café"] and loaded.mask_token == "[MASK]"


def test_tokenizer_json_supplies_defaults_to_both(kind, tmp_path):
    # with no tokenizer_config.json, both tokenizers read the options from tokenizer.json's normalizer
    cased(kind, strip_accents=True).save_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").unlink()
    (tmp_path / "special_tokens_map.json").unlink()
    for cls in CLASSES.values():
        loaded = cls.from_pretrained(tmp_path)
        assert (loaded.do_lower_case, loaded.strip_accents) == (False, True)
        assert loaded.tokenize("Café") == ["Cafe"]


def test_fast_from_tokenizer_object(model_dir):
    from tokenizers import Tokenizer

    fast = BertTokenizerFast(tokenizer_object=Tokenizer.from_file(str(model_dir / "tokenizer.json")))
    assert fast.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert fast.is_fast and not BertTokenizer.is_fast
    with pytest.raises(ValueError, match="vocab_file, tokenizer_file or tokenizer_object"):
        BertTokenizerFast()
