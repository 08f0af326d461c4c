"""The tokenizer API training code relies on, beyond what tests/common/test_tokenization_transformers.py
replays from Transformers: the collate idiom, the sides, errors, and where bert-zoo departs from
Transformers 4.57 on purpose (each case says why and how the right value was worked out).

Every test runs on both tokenizers (`kind`) with the uncased all-MiniLM-L6-v2 vocabulary (`ids`
read line by line from its vocab.txt) unless it loads a fixture folder.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.common.tokenizer_helpers import CLASSES, FIXTURES

FOLDER = FIXTURES / "reference" / "tokenizers" / "fast-uncased"


def data_collator_with_padding(tokenizer, features, return_tensors="pt"):
    """What transformers.DataCollatorWithPadding.__call__ does with its tokenizer (4.57)."""
    batch = tokenizer.pad(
        features, padding=True, max_length=None, pad_to_multiple_of=None, return_tensors=return_tensors
    )
    if "label" in batch:
        batch["labels"] = batch["label"]
        del batch["label"]
    return batch


def test_data_collator_idiom(tok, ids):
    features = [
        {**tok(text), "label": i} for i, text in enumerate(["hello world", "a", "the quick brown fox"])
    ]
    batch = data_collator_with_padding(tok, features)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert batch["input_ids"].dtype == torch.int64 and batch["input_ids"].shape == (3, 6)
    assert batch["input_ids"][1].tolist() == [101, ids["a"], 102, 0, 0, 0]
    assert batch["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0]
    assert batch["labels"].tolist() == [0, 1, 2]


def test_pad_keeps_the_dtype_of_other_columns(tok):
    # regression labels are floats: torch.tensor of python floats is float32 (as in Transformers)
    features = [{**tok("a b"), "labels": 0.5}, {**tok("a"), "labels": 1.25}]
    batch = tok.pad(features, return_tensors="pt")
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == [0.5, 1.25]
    assert tok.pad(features, return_tensors="np")["labels"].dtype == np.float64


def test_pad_pads_every_token_column(tok):
    # Transformers 4.57 leaves offset_mapping (and an attention_mask given with
    # return_attention_mask=False) unpadded, so the rows stay ragged; the right value is what
    # __call__(padding=True) gives for the same texts, checked here
    texts = ["hello world", "a"]
    enc = tok(texts, return_offsets_mapping=True, return_special_tokens_mask=True)
    padded = tok.pad(enc, return_attention_mask=False)
    called = tok(texts, padding=True, return_offsets_mapping=True, return_special_tokens_mask=True)
    for key in ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping"):
        assert json.loads(json.dumps(padded[key])) == json.loads(json.dumps(called[key])), key


@pytest.mark.parametrize(
    "inputs, kwargs, error, message",
    [
        ([], {}, ValueError, "pad() needs at least one example"),
        ([{"attention_mask": [1]}], {}, ValueError, "pad() needs input_ids among the columns"),
        ([{"input_ids": [1]}, {"input_ids": [1], "label": 0}], {}, ValueError, "pad(): example 1 has keys"),
        (
            {"input_ids": [[1, 2]], "attention_mask": [[1]]},
            {},
            ValueError,
            "pad(): row 0 of attention_mask has 1",
        ),
        (
            {"input_ids": [[1], [1, 2]], "labels": [[1], [1, 2]]},
            {"return_tensors": "pt"},
            ValueError,
            "'labels'",
        ),
        ({"input_ids": [[1], [1, 2]]}, {"padding": False, "return_tensors": "np"}, ValueError, "'input_ids'"),
        ({"input_ids": [[1]]}, {"padding": "middle"}, ValueError, "unknown padding strategy"),
        ({"input_ids": [[1]]}, {"padding_side": "top"}, ValueError, "padding_side must be"),
        ("text", {}, TypeError, "pad() takes a list of examples"),
    ],
)
def test_pad_refuses_with_a_first_line_naming_the_problem(tok, inputs, kwargs, error, message):
    with pytest.raises(error) as info:
        tok.pad(inputs, **kwargs)
    assert message in str(info.value).splitlines()[0]


def test_pad_to_max_length_needs_a_length(kind):
    # Transformers warns and does not pad; a tokenizer call refuses the same request, so pad does too
    tok = CLASSES[kind].from_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])
    with pytest.raises(ValueError, match="^padding='max_length' needs max_length"):
        tok.pad({"input_ids": [[1]]}, padding="max_length")
    assert tok.pad({"input_ids": [[5]]}, padding="max_length", max_length=3)["input_ids"] == [[5, 0, 0]]


def test_sides_are_settable_and_checked(kind, ids):
    tok = CLASSES[kind].from_pretrained(FOLDER)
    tok.padding_side = "left"
    assert tok(["hello world", "a"], padding=True)["input_ids"][1][0] == tok.pad_token_id
    tok.truncation_side = "left"
    assert tok.tokenize("x") == ["x"]
    assert tok("a b c x y", truncation=True, max_length=4)["input_ids"] == tok("x y")["input_ids"]
    # Transformers accepts any string here and fails later, or pads on the right silently
    for name in ("padding_side", "truncation_side"):
        with pytest.raises(ValueError, match=f"^{name} must be 'right' or 'left', got 'middle'"):
            setattr(tok, name, "middle")
    tok.model_max_length = 10
    assert (tok.max_len_single_sentence, tok.max_len_sentences_pair) == (8, 7)


def test_sides_from_pretrained_are_saved(kind, tmp_path):
    tok = CLASSES[kind].from_pretrained(FOLDER, truncation_side="left", padding_side="left")
    tok.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert (config["truncation_side"], config["padding_side"]) == ("left", "left")
    again = CLASSES[kind].from_pretrained(tmp_path)
    assert (again.truncation_side, again.padding_side) == ("left", "left")


def test_left_truncation_with_overflow_as_the_rust_library(tok, ids):
    # 8 word tokens, max_length 5 (3 + [CLS] [SEP]), stride 1: chunks of 3 from the end, 2 apart
    words = "a b c d e f g h".split()
    tok.truncation_side = "left"
    try:
        enc = tok(" ".join(words), truncation=True, max_length=5, stride=1, return_overflowing_tokens=True)
    finally:
        tok.truncation_side = "right"
    rows = [[ids[w] for w in chunk] for chunk in (words[5:8], words[3:6], words[1:4], words[0:2])]
    assert enc["input_ids"] == [[101, *row, 102] for row in rows]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda tok: tok.encode_plus(["a", "b"]), TypeError, "encode_plus takes one text"),
        (lambda tok: tok.batch_encode_plus("a"), TypeError, "batch_encode_plus takes a list"),
        (
            lambda tok: tok("a b", is_split_into_words=True),
            TypeError,
            "with is_split_into_words=True, text must",
        ),
        (lambda tok: tok(["a", 3], is_split_into_words=True), TypeError, "text[1] must be a string (a word)"),
        (
            lambda tok: tok([["a"], ["\ud800"]], is_split_into_words=True),
            ValueError,
            "text[1][0] holds a lone",
        ),
        (
            lambda tok: tok.add_special_tokens({"sep": "x"}),
            ValueError,
            "add_special_tokens: unknown key 'sep'",
        ),
        (lambda tok: tok.add_tokens([""]), ValueError, "new_tokens[0] must not be empty"),
        (lambda tok: tok.add_tokens([3]), TypeError, "new_tokens[0] must be a string or an AddedToken"),
    ],
)
def test_api_errors_name_the_problem(tok, call, error, message):
    with pytest.raises(error) as info:
        call(tok)
    assert message in str(info.value).splitlines()[0]


def test_new_special_tokens_reach_the_template(kind):
    # Transformers' fast tokenizer keeps the old [CLS] in its template after add_special_tokens({"cls_token":
    # ...}) (its slow one uses the new one); the right value is the new token, the one tok.cls_token names
    tok = CLASSES[kind].from_pretrained(FOLDER)
    assert tok.add_special_tokens({"cls_token": "<cls>", "bos_token": "<s>"}) == 2
    assert tok.cls_token == "<cls>" and tok.bos_token == "<s>"
    assert tok("a")["input_ids"] == [tok.convert_tokens_to_ids("<cls>"), tok.convert_tokens_to_ids("a"), 3]
    assert len(tok) == tok.vocab_size + 2 and "<s>" in tok.all_special_tokens
    assert tok.decode(tok("a <s>")["input_ids"], skip_special_tokens=True) == "a"


def test_vocab_and_added_vocab(kind):
    tok = CLASSES[kind].from_pretrained(FOLDER)
    tok.add_tokens(["brandnew"])
    assert tok.vocab == tok.get_vocab() and tok.vocab["brandnew"] == tok.vocab_size
    assert tok.get_added_vocab()["brandnew"] == tok.vocab_size
    assert tok.added_tokens_decoder[tok.vocab_size].content == "brandnew"
    assert tok.convert_ids_to_tokens(tok.vocab_size) == "brandnew"
    with pytest.raises(ValueError, match="are not in the vocabulary"):
        tok.decode([tok.vocab_size + 1])
