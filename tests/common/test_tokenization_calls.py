"""Calls of BertTokenizer and BertTokenizerFast: padding, truncation and overflow, offsets, decoding,
tensors, saving and loading (tokens and errors: test_tokenization.py).

Every test runs on both tokenizers (the `kind` parameter); expected ids come from the vocabularies,
read independently of the code under test (tests/common/conftest.py).
Shape legend: B = texts in a call, T = tokens per row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bert_common.files import ModelNotFoundError
from bert_common.tokenization import BertTokenizer, BertTokenizerFast
from tests.common.tokenizer_helpers import CASED_VOCAB, CLASSES, cased

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
        "from bert_common.tokenization import BertTokenizer, BertTokenizerFast\n"
        f"t = BertTokenizerFast({str(CASED_VOCAB)!r}, do_lower_case=False)\n"
        "t(['a b', 'c'], padding=True, return_tensors='np')\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
