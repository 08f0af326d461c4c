"""bert_common.metrics on hand-worked cases (the expected numbers are worked out in the comments, not
produced by the code under test)."""

from __future__ import annotations

import math

import pytest

from bert_common.metrics import (
    classification_metrics,
    entity_spans,
    normalize_answer,
    perplexity,
    span_f1,
    squad_metrics,
)


def test_accuracy_and_macro_f1():
    # truth 0 0 1 1 2, guess 0 1 1 1 0: class 0 tp1 fp1 fn1 -> 2/4 = 0.5; class 1 tp2 fp1 fn0 -> 4/5 = 0.8;
    # class 2 tp0 -> 0. macro = 1.3 / 3; accuracy 3/5.
    out = classification_metrics([0, 1, 1, 1, 0], [0, 0, 1, 1, 2])
    assert out["accuracy"] == pytest.approx(0.6)
    assert out["f1"] == pytest.approx(1.3 / 3)


def test_classification_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="3 predictions but 2 references"):
        classification_metrics([0, 1, 1], [0, 1])


def test_entity_spans_follow_conlleval_rules():
    # B-PER I-PER: one entity; an I- after O starts one (IOB1); a type change splits; S-/E- (IOBES)
    assert entity_spans(["B-PER", "I-PER", "O", "I-LOC", "I-ORG"]) == [
        ("PER", 0, 1),
        ("LOC", 3, 3),
        ("ORG", 4, 4),
    ]
    assert entity_spans(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 0), ("PER", 1, 2)]
    assert entity_spans(["S-LOC", "B-MISC", "E-MISC", "O"]) == [("LOC", 0, 0), ("MISC", 1, 2)]
    # sentences are joined with an "O" in between: an entity never runs across them
    assert entity_spans([["B-PER", "I-PER"], ["I-PER"]]) == [("PER", 0, 1), ("PER", 3, 3)]


def test_span_f1_counts_exact_entities():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-LOC"]]
    # gold: PER(0-1), LOC(3), ORG(5); found: PER(0-1), ORG(3), ORG(5), LOC(6): 2 correct.
    # precision 2/4, recall 2/3, f1 = 2 * 0.5 * 0.6667 / 1.1667 = 4/7; tokens right 4 of 6... PER PER O (LOC!=ORG) ORG (O!=LOC) -> 4/6
    out = span_f1(true, pred)
    assert out["precision"] == pytest.approx(0.5)
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(4 / 7)
    assert out["accuracy"] == pytest.approx(4 / 6)


def test_span_f1_refuses_sentences_of_different_lengths():
    with pytest.raises(ValueError, match="sentence 0 has 1 predicted tags but 2 gold tags"):
        span_f1([["O", "O"]], [["O"]])


def test_squad_exact_match_and_f1():
    # "The Eiffel Tower!" normalizes to "eiffel tower": exact. "in Paris" vs gold "Paris, France":
    # tokens {in, paris} vs {paris, france}: 1 common, p = r = 1/2, f1 = 1/2; best gold is that one.
    out = squad_metrics(["The Eiffel Tower!", "in Paris"], [["eiffel tower"], ["Rome", "Paris, France"]])
    assert out["exact_match"] == pytest.approx(50.0)
    assert out["f1"] == pytest.approx(75.0)
    assert normalize_answer("  An  apple, the pie ") == "apple pie"


def test_perplexity_is_exp_of_the_loss():
    assert perplexity(math.log(20.0)) == pytest.approx(20.0)
    assert perplexity(1e6) == math.inf
    with pytest.raises(ValueError, match="NaN"):
        perplexity(float("nan"))
