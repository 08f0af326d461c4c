"""The collators (bert_common.collators) and NSP example building (bert_common.pretraining_data).

Expected values come from: the binomial law (proportions, within 4 standard deviations), hand-worked
small cases, an independent numpy replay of the documented draws, and Transformers 4.57.1's numpy
collators (tests/fixtures/reference/collators.json, written by make_collators.py there).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from bert_common import BertTokenizerFast
from bert_common.collators import (
    DataCollatorForLanguageModeling,
    DataCollatorForWholeWordMask,
    DataCollatorWithPadding,
)
from bert_common.files import default_model_dir
from bert_common.pretraining_data import create_pretraining_examples, truncate_seq_pair

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "collators.json"
CLS, SEP, PAD, MASK, UNK, V = 101, 102, 0, 103, 100, 30522  # bert-base-uncased's vocabulary


@pytest.fixture(scope="module")
def tok() -> BertTokenizerFast:
    return BertTokenizerFast.from_pretrained(default_model_dir())


def rows_of_words(n_rows: int, length: int, seed: int) -> list[list[int]]:
    """[CLS] w ... w [SEP] rows of ordinary word ids (1000 .. V-1), lengths varying so that some pad."""
    rng = np.random.default_rng(seed)
    return [[CLS, *rng.integers(1000, V, size=length - 2 - (b % 7)).tolist(), SEP] for b in range(n_rows)]


def test_proportions_follow_15_80_10_10(tok):
    rows = rows_of_words(64, 512, seed=0)
    batch = DataCollatorForLanguageModeling(tok, seed=1234)(rows)
    original = np.full(batch["input_ids"].shape, PAD)
    for b, row in enumerate(rows):
        original[b, : len(row)] = row
    eligible = ~np.isin(original, [CLS, SEP, PAD])
    chosen = batch["labels"] != -100
    n, k = eligible.sum(), chosen.sum()
    assert abs(k / n - 0.15) < 4 * np.sqrt(0.15 * 0.85 / n)
    assert (batch["labels"][chosen] == original[chosen]).all()
    # among the chosen: 80% [MASK], 10% random (equal to the original with chance 1/V), 10% unchanged
    masked = (batch["input_ids"] == MASK) & chosen
    unchanged = (batch["input_ids"] == original) & chosen
    randomized = chosen & ~masked & ~unchanged
    for count, p in (
        (masked.sum(), 0.8),
        (randomized.sum(), 0.1 * (1 - 1 / V)),
        (unchanged.sum(), 0.1 + 0.1 / V),
    ):
        assert abs(count / k - p) < 4 * np.sqrt(p * (1 - p) / k), (count, k, p)
    assert (batch["input_ids"][~chosen] == original[~chosen]).all()  # nothing else changes


def test_special_tokens_and_padding_are_never_chosen(tok):
    rows = [[CLS, 2023, UNK, 2003, SEP, 2178, SEP], [CLS, 7592, SEP]]
    batch = DataCollatorForLanguageModeling(
        tok, mlm_probability=1.0, mask_replace_prob=1.0, random_replace_prob=0.0, seed=0
    )(rows)
    # every ordinary token is chosen and becomes [MASK]; [CLS], [SEP], [UNK] and [PAD] never
    assert batch["input_ids"].tolist() == [
        [CLS, MASK, UNK, MASK, SEP, MASK, SEP],
        [CLS, MASK, SEP, PAD, PAD, PAD, PAD],
    ]
    assert batch["labels"].tolist() == [
        [-100, 2023, -100, 2003, -100, 2178, -100],
        [-100, 7592, -100, -100, -100, -100, -100],
    ]
    # a special_tokens_mask from the tokenizer is used as given (here [UNK] is an ordinary token for it)
    enc = [dict(tok(t, return_special_tokens_mask=True)) for t in ("hello world", "a b c")]
    batch = DataCollatorForLanguageModeling(
        tok, mlm_probability=1.0, mask_replace_prob=1.0, random_replace_prob=0.0, seed=0
    )(enc)
    assert "special_tokens_mask" not in batch
    assert batch["input_ids"].tolist() == [[CLS, MASK, MASK, SEP, PAD], [CLS, MASK, MASK, MASK, SEP]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


def test_no_replacement_keeps_inputs_and_labels_the_chosen_ids(tok):
    rows = rows_of_words(4, 40, seed=3)
    collator = DataCollatorForLanguageModeling(tok, mask_replace_prob=0.0, random_replace_prob=0.0, seed=5)
    batch = collator(rows)
    chosen = batch["labels"] != -100
    assert chosen.any()
    assert (batch["labels"][chosen] == batch["input_ids"][chosen]).all()
    assert batch["input_ids"][0, : len(rows[0])].tolist() == rows[0]


def test_fixed_seed_matches_an_independent_replay_of_the_draws(tok):
    rows = [[CLS, 2023, 2003, 1037, 3231, 1997, 2019, SEP], [CLS, 7592, 2088, SEP]]
    got = DataCollatorForLanguageModeling(tok, mlm_probability=0.5, seed=11)(rows)
    ids = np.array([rows[0], rows[1] + [PAD] * 4])
    rng = np.random.default_rng(11)  # the draws in Transformers' numpy_mask_tokens order
    p = np.where(np.isin(ids, [CLS, SEP, PAD]), 0.0, 0.5)
    chosen = rng.binomial(1, p, size=ids.shape).astype(bool)
    to_mask = rng.binomial(1, 0.8, size=ids.shape).astype(bool) & chosen
    to_random = rng.binomial(1, 0.1 / 0.2, size=ids.shape).astype(bool) & chosen & ~to_mask
    expected = ids.copy()
    expected[to_mask] = MASK
    expected[to_random] = rng.integers(0, V, size=int(to_random.sum()), dtype=np.int64)
    assert got["input_ids"].tolist() == expected.tolist()
    assert got["labels"].tolist() == np.where(chosen, ids, -100).tolist()
    # the same seed gives the same batch (three twins fed alike); the next call draws on
    again = DataCollatorForLanguageModeling(tok, mlm_probability=0.5, seed=11)
    assert again(rows)["input_ids"].tolist() == got["input_ids"].tolist()
    assert again(rows)["labels"].tolist() != got["labels"].tolist()


@pytest.mark.parametrize("case", range(5))
def test_fixed_seed_matches_transformers(tok, case):
    reference = json.loads(REFERENCE.read_text())
    spec = reference["cases"][case]
    cls = {"DataCollatorForLanguageModeling": DataCollatorForLanguageModeling}.get(
        spec["class"], DataCollatorForWholeWordMask
    )
    collator = cls(tok, **spec["kwargs"])
    assert [tok(t)["input_ids"] for t in reference["texts"]] == reference["input_ids"]
    for expected in spec["batches"]:
        batch = collator([{"input_ids": row} for row in reference["input_ids"]])
        assert batch["input_ids"].tolist() == expected["input_ids"]
        assert batch["labels"].tolist() == expected["labels"]


def test_whole_word_budget_by_hand(tok):
    # [CLS] un ##bel ##ie ##va ##bly dog [SEP]: 8 tokens, words (5 pieces) and (1)
    ids = tok("unbelievably dog")["input_ids"]
    assert tok.convert_ids_to_tokens(ids)[1:7] == ["un", "##bel", "##ie", "##va", "##bly", "dog"]
    for seed in range(5):
        # budget round(8 * 0.5) = 4: the 5-piece word never fits, so only "dog" is chosen
        batch = DataCollatorForWholeWordMask(
            tok, mlm_probability=0.5, mask_replace_prob=1.0, random_replace_prob=0.0, seed=seed
        )([ids])
        assert (batch["labels"][0] != -100).tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
        # budget round(8 * 0.75) = 6 = 5 + 1: both words, in either order
        batch = DataCollatorForWholeWordMask(
            tok, mlm_probability=0.75, mask_replace_prob=1.0, random_replace_prob=0.0, seed=seed
        )([ids])
        assert batch["input_ids"][0].tolist() == [CLS] + [MASK] * 6 + [SEP]


def test_whole_words_are_chosen_together(tok):
    texts = ["unbelievably tokenization of embeddings reinterpreted", "hello", "the playwrights' sentences"]
    enc = [dict(tok(t)) for t in texts]
    collator = DataCollatorForWholeWordMask(tok, mlm_probability=0.4, seed=2)
    for _ in range(20):
        batch = collator(enc)
        assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
        for e, labels in zip(enc, batch["labels"].tolist()):
            tokens = tok.convert_ids_to_tokens(e["input_ids"])
            assert labels[0] == labels[len(tokens) - 1] == -100
            for i, token in enumerate(tokens):
                if token.startswith("##"):  # a piece is chosen iff the piece before it is
                    assert (labels[i] == -100) == (labels[i - 1] == -100)


def test_causal_lm_labels(tok):
    batch = DataCollatorForLanguageModeling(tok, mlm=False)([[CLS, 7592, SEP], [CLS, 7592, 2088, 999, SEP]])
    assert batch["input_ids"].tolist() == [[CLS, 7592, SEP, PAD, PAD], [CLS, 7592, 2088, 999, SEP]]
    assert batch["labels"].tolist() == [[CLS, 7592, SEP, -100, -100], [CLS, 7592, 2088, 999, SEP]]


def test_pad_to_multiple_of(tok):
    rows = [[CLS, 7592, SEP], [CLS, 7592, 2088, 999, SEP]]
    batch = DataCollatorForLanguageModeling(tok, pad_to_multiple_of=8, seed=0)(
        [{"input_ids": r} for r in rows]
    )
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape == (2, 8)
    assert batch["attention_mask"].tolist() == [[1] * 3 + [0] * 5, [1] * 5 + [0] * 3]
    batch = DataCollatorForLanguageModeling(tok, mlm=False, pad_to_multiple_of=4)([rows[1]] * 2)
    assert batch["labels"].tolist() == [[*rows[1], -100, -100, -100]] * 2  # equal rows padded too
    batch = DataCollatorWithPadding(tok, pad_to_multiple_of=8)([{"input_ids": r} for r in rows])
    assert batch["input_ids"].tolist()[0] == rows[0] + [PAD] * 5


def test_padding_collator_renames_labels(tok):
    features = [dict(tok("hello world"), label=1), dict(tok("a b c d"), label=0)]
    batch = DataCollatorWithPadding(tok)(features)
    assert "label" not in batch and batch["labels"].tolist() == [1, 0]
    assert batch["input_ids"].tolist() == [[CLS, 7592, 2088, SEP, PAD, PAD], tok("a b c d")["input_ids"]]
    assert batch["token_type_ids"].shape == batch["attention_mask"].shape == (2, 6)
    features = [dict(tok("hello"), label_ids=[3, 4, 5]), dict(tok("hi"), label_ids=[6, 7, 8])]
    batch = DataCollatorWithPadding(tok, padding="max_length", max_length=5)(features)
    assert "label_ids" not in batch and batch["labels"].tolist() == [[3, 4, 5], [6, 7, 8]]
    assert batch["input_ids"].shape == (2, 5)


def test_return_tensors_conversion(tok):
    torch = pytest.importorskip("torch")
    rows = [[CLS, 7592, SEP], [CLS, 7592, 2088, 999, SEP]]
    batch = DataCollatorForLanguageModeling(tok, seed=0, return_tensors="pt")(
        [{"input_ids": r} for r in rows]
    )
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.int64 for v in batch.values())
    as_np = DataCollatorForLanguageModeling(tok, seed=0)([{"input_ids": r} for r in rows])
    assert all(batch[k].tolist() == as_np[k].tolist() for k in as_np)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mlm_probability": -0.1}, "mlm_probability must be in [0, 1]"),
        ({"mlm_probability": 1.5}, "mlm_probability must be in [0, 1]"),
        ({"mask_replace_prob": 0.8, "random_replace_prob": 0.3}, "must not exceed 1"),
        ({"random_replace_prob": -0.1}, "random_replace_prob must be in [0, 1]"),
        ({"pad_to_multiple_of": 0}, "pad_to_multiple_of must be >= 1"),
        ({"return_tensors": "torch"}, "return_tensors must be one of ['np', 'pt', 'tf', 'jax']"),
    ],
)
def test_bad_arguments_raise(tok, kwargs, message):
    with pytest.raises(ValueError) as info:
        DataCollatorForLanguageModeling(tok, **kwargs)
    assert str(info.value).splitlines()[0].startswith(message) or message in str(info.value)


def test_bad_inputs_raise(tok):
    class NoMask:
        mask_token = None
        pad_token, pad_token_id = "[PAD]", 0

    with pytest.raises(ValueError, match="does not have a mask token"):
        DataCollatorForLanguageModeling(NoMask())
    labels = DataCollatorForLanguageModeling(NoMask(), mlm=False)([[5, 6, 7], [5]])["labels"]
    assert labels.tolist() == [[5, 6, 7], [5, -100, -100]]
    with pytest.raises(TypeError, match="mlm_probability must be a number"):
        DataCollatorForLanguageModeling(tok, mlm_probability="0.15")
    with pytest.raises(ValueError, match="mlm must be True"):
        DataCollatorForWholeWordMask(tok, mlm=False)
    with pytest.raises(ValueError, match="at least one example"):
        DataCollatorForLanguageModeling(tok)([])
    with pytest.raises(ValueError, match="return_tensors must be one of"):
        DataCollatorWithPadding(tok, return_tensors="torch")


# ---- NSP examples --------------------------------------------------------------------------------
def numbered_documents(n_docs: int, n_sentences: int, length: int) -> list[list[list[int]]]:
    """Sentences of ids that tell their document and position: 1000 + 1000 * d + running position."""
    return [
        [[1000 + 1000 * d + s * length + t for t in range(length)] for s in range(n_sentences)]
        for d in range(n_docs)
    ]


def split(example: dict) -> tuple[list[int], list[int]]:
    ids = example["input_ids"]
    first = ids.index(SEP)
    return ids[1:first], ids[first + 1 : -1]


def test_nsp_segments_and_labels(tok):
    docs = numbered_documents(6, 60, 3)
    examples = create_pretraining_examples(docs, tok, max_seq_length=20, short_seq_prob=0.0, seed=4)
    for e in examples:
        a, b = split(e)
        ids = e["input_ids"]
        assert ids[0] == CLS and ids[-1] == SEP and ids.count(SEP) == 2 and len(ids) <= 20
        assert a and b and e["attention_mask"] == [1] * len(ids)
        assert e["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)
        doc_a, doc_b = {i // 1000 for i in a}, {i // 1000 for i in b}
        assert len(doc_a) == 1 and sorted(a) == a  # A: consecutive text of one document
        if e["next_sentence_label"] == 0:  # B: the text after A in the same document
            assert doc_b == doc_a and min(b) > max(a) and sorted(b) == b
        else:  # B: text of another document
            assert len(doc_b) == 1 and doc_b != doc_a
    # short_seq_prob=0: all but the documents' last examples are cut to exactly max_seq_length
    assert sum(len(e["input_ids"]) == 20 for e in examples) >= len(examples) - 2 * len(docs)


def test_nsp_label_balance(tok):
    docs = numbered_documents(4, 600, 2)
    examples = create_pretraining_examples(docs, tok, max_seq_length=16, short_seq_prob=0.0, seed=9)
    n, ones = len(examples), sum(e["next_sentence_label"] for e in examples)
    # each chunk holds >= 2 sentences except perhaps one per document (always random next): <= 4 extra ones
    assert abs(ones / n - 0.5) < 4 * np.sqrt(0.25 / n) + len(docs) / n, (ones, n)
    never = create_pretraining_examples(docs, tok, max_seq_length=16, nsp_probability=0.0, seed=9)
    assert sum(e["next_sentence_label"] for e in never) <= len(docs)
    always = create_pretraining_examples(docs, tok, max_seq_length=16, nsp_probability=1.0, seed=9)
    assert all(e["next_sentence_label"] == 1 for e in always)


def test_nsp_by_hand_and_short_sequences(tok):
    # one sentence per document: always a random next, from the only other document; seed-independent
    docs = [["hello world"], ["good morning"]]
    got = create_pretraining_examples(docs, tok, max_seq_length=16, seed=1)
    assert [tok.decode(e["input_ids"]) for e in got] == [
        "[CLS] hello world [SEP] good morning [SEP]",
        "[CLS] good morning [SEP] hello world [SEP]",
    ]
    assert [e["next_sentence_label"] for e in got] == [1, 1]
    assert got[0]["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]
    # short_seq_prob=1: each document's target length is drawn in [2, 125], so examples are shorter
    docs = numbered_documents(30, 40, 5)
    short = create_pretraining_examples(docs, tok, short_seq_prob=1.0, seed=0)
    full = create_pretraining_examples(docs, tok, short_seq_prob=0.0, seed=0)
    assert np.mean([len(e["input_ids"]) for e in short]) < 0.8 * np.mean([len(e["input_ids"]) for e in full])
    assert len({len(e["input_ids"]) for e in short}) > 10


def test_truncate_seq_pair_by_hand():
    class Draws(random.Random):
        def __init__(self, values):
            super().__init__(0)
            self.values = list(values)

        def random(self):
            return self.values.pop(0)

    a, b = [1, 2, 3, 4, 5, 6], [7, 8]
    truncate_seq_pair(a, b, 5, Draws([0.1, 0.9, 0.1]))  # front, back, front of the longer (A)
    assert (a, b) == ([3, 4, 5], [7, 8])
    a, b = [1, 2], [3, 4]
    truncate_seq_pair(a, b, 3, Draws([0.9]))  # a tie cuts B, here at its back
    assert (a, b) == ([1, 2], [3])


def test_nsp_examples_through_the_collator(tok):
    docs = [["the cat sat on the mat.", "it was happy.", "then it slept."], ["stocks fell.", "rates rose."]]
    examples = create_pretraining_examples(docs, tok, max_seq_length=16, seed=0)
    batch = DataCollatorForLanguageModeling(tok, seed=0)(examples)
    assert batch["next_sentence_label"].tolist() == [e["next_sentence_label"] for e in examples]
    assert batch["labels"].shape == batch["token_type_ids"].shape == (len(examples), 16)


def test_nsp_bad_input(tok):
    with pytest.raises(ValueError, match="at least 2 non-empty documents"):
        create_pretraining_examples([["one document", "only"], [""]], tok)
    with pytest.raises(ValueError, match="max_seq_length must be at least 5"):
        create_pretraining_examples([["a"], ["b"]], tok, max_seq_length=4)
    with pytest.raises(TypeError, match="document 0 must be a list of sentences"):
        create_pretraining_examples(["a document as one string", ["b"]], tok)
    with pytest.raises(ValueError, match="short_seq_prob must be in"):
        create_pretraining_examples([["a"], ["b"]], tok, short_seq_prob=2)
