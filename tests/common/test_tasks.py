"""Pipeline post-processing on hand-made logits: every expected answer here is derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bert_common import tasks

VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "dog", "sat", "##s", "on"]


def decode(ids):
    return " ".join(VOCAB[i] for i in ids).replace(" ##", "")


def decode_sequence(ids):
    return decode(ids)


SPECIAL_IDS = [0, 1, 2, 3]  # [PAD] [CLS] [SEP] [MASK]


def test_softmax_and_sigmoid():
    np.testing.assert_allclose(tasks.softmax(np.array([0.0, math.log(3.0)])), [0.25, 0.75])
    np.testing.assert_allclose(tasks.sigmoid(np.array([0.0])), [0.5])


def test_fill_mask_top_k_for_each_of_several_masks():
    ids = [1, 4, 3, 7, 3, 2]  # [CLS] the [MASK] sat [MASK] [SEP]
    logits = np.zeros((6, len(VOCAB)))
    logits[2, 5] = 3.0  # cat
    logits[2, 6] = 2.0  # dog
    logits[4, 9] = 5.0  # on
    result = tasks.fill_mask(logits, ids, 3, decode, decode_sequence, top_k=2, special_ids=SPECIAL_IDS)
    assert len(result) == 2
    first, second = result
    assert [a["token_str"] for a in first] == ["cat", "dog"]
    assert first[0]["token"] == 5
    expected = math.exp(3) / (math.exp(3) + math.exp(2) + 8)
    assert first[0]["score"] == pytest.approx(expected)
    # Each sequence fills its own mask and keeps the other; [CLS]/[SEP] are left out (issue 11 item 5,
    # worked out by hand: Transformers keeps [CLS]/[SEP] too when there are several masks).
    assert first[0]["sequence"] == "the cat sat [MASK]"
    assert second[0]["token_str"] == "on" and second[0]["sequence"] == "the [MASK] sat on"


def test_fill_mask_targets_restrict_candidates():
    ids = [1, 3, 2]
    logits = np.zeros((3, len(VOCAB)))
    logits[1, 5], logits[1, 6], logits[1, 7] = 3.0, 2.0, 1.0
    result = tasks.fill_mask(
        logits, ids, 3, decode, decode_sequence, top_k=5, target_ids=[7, 6], special_ids=SPECIAL_IDS
    )
    assert [a["token_str"] for a in result[0]] == ["dog", "sat"]
    assert result[0][0]["sequence"] == "dog"
    # Scores stay probabilities over the whole vocabulary, as in Transformers.
    assert result[0][0]["score"] == pytest.approx(math.exp(2) / (math.exp(3) + math.exp(2) + math.exp(1) + 7))


def test_fill_mask_without_mask_is_an_error():
    with pytest.raises(ValueError, match="no mask token"):
        tasks.fill_mask(np.zeros((3, 10)), [1, 4, 2], 3, decode, decode_sequence)


def test_text_classification_functions_and_top_k():
    id2label = {0: "neg", 1: "pos", 2: "neutral"}
    logits = np.array([0.0, 2.0, 1.0])
    ranked = tasks.text_classification(logits, id2label, "softmax", top_k=None)
    assert [r["label"] for r in ranked] == ["pos", "neutral", "neg"]
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0)
    assert tasks.text_classification(logits, id2label, "sigmoid", 1) == [
        {"label": "pos", "score": pytest.approx(1 / (1 + math.exp(-2)))}
    ]
    assert tasks.text_classification(logits, id2label, "none", 2)[1] == {"label": "neutral", "score": 1.0}


def test_classification_function_choice():
    assert tasks.classification_function(None, 3, None) == "softmax"
    assert tasks.classification_function("multi_label_classification", 3, None) == "sigmoid"
    assert tasks.classification_function(None, 1, None) == "sigmoid"
    # A regression head scores with its raw output (issue 11 item 4; Transformers 4.57 does the same).
    assert tasks.classification_function("regression", 1, None) == "none"
    assert tasks.classification_function("regression", 3, None) == "none"
    assert tasks.classification_function("regression", 1, "sigmoid") == "sigmoid"
    assert tasks.classification_function("single_label_classification", 1, None) == "sigmoid"
    assert tasks.classification_function(None, 3, "none") == "none"
    with pytest.raises(ValueError, match="function_to_apply"):
        tasks.classification_function(None, 3, "relu")


# Token classification: "Jean Dupont lives in Paris" as [CLS] jean du ##pont lives in paris [SEP]
TEXT = "Jean Dupont lives in Paris"
TOKENS = ["[CLS]", "jean", "du", "##pont", "lives", "in", "paris", "[SEP]"]
OFFSETS = [(0, 0), (0, 4), (5, 7), (7, 11), (12, 17), (18, 20), (21, 26), (0, 0)]
WORD_IDS = [None, 0, 1, 1, 2, 3, 4, None]
SPECIAL = [1, 0, 0, 0, 0, 0, 0, 1]
LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}


def token_logits(best: list[int], strength: float = 4.0) -> np.ndarray:
    logits = np.zeros((len(best), len(LABELS)))
    for row, label in enumerate(best):
        logits[row, label] = strength
    return logits


def run_ner(logits, strategy):
    return tasks.token_classification(
        logits,
        list(range(len(TOKENS))),
        OFFSETS,
        SPECIAL,
        WORD_IDS,
        TEXT,
        LABELS,
        convert_ids_to_tokens=lambda ids: [TOKENS[i] for i in ids],
        convert_tokens_to_string=lambda toks: " ".join(toks).replace(" ##", ""),
        unk_token_id=None,
        aggregation_strategy=strategy,
    )


def test_token_classification_none_keeps_tokens_and_offsets():
    logits = token_logits([0, 1, 2, 2, 0, 0, 3, 0])
    entities = run_ner(logits, "none")
    assert [(e["entity"], e["word"], e["index"], e["start"], e["end"]) for e in entities] == [
        ("B-PER", "jean", 1, 0, 4),
        ("I-PER", "du", 2, 5, 7),
        ("I-PER", "##pont", 3, 7, 11),
        ("B-LOC", "paris", 6, 21, 26),
    ]
    p = math.exp(4) / (math.exp(4) + 4)
    assert entities[0]["score"] == pytest.approx(p)


def test_token_classification_simple_groups_b_i_runs():
    logits = token_logits([0, 1, 2, 2, 0, 0, 3, 0])
    groups = run_ner(logits, "simple")
    assert [(g["entity_group"], g["word"], g["start"], g["end"]) for g in groups] == [
        ("PER", "jean dupont", 0, 11),
        ("LOC", "paris", 21, 26),
    ]
    assert TEXT[groups[0]["start"] : groups[0]["end"]] == "Jean Dupont"


def test_token_classification_b_starts_a_new_group():
    logits = token_logits([0, 1, 1, 2, 0, 0, 0, 0])  # jean=B-PER, du=B-PER, ##pont=I-PER
    groups = run_ner(logits, "simple")
    assert [(g["entity_group"], g["word"]) for g in groups] == [("PER", "jean"), ("PER", "dupont")]


def test_word_aggregation_first_average_max():
    # "du" says B-LOC weakly, "##pont" says I-PER strongly.
    logits = token_logits([0, 1, 0, 2, 0, 0, 3, 0])
    logits[2] = [0.0, 0.0, 0.0, 1.0, 0.0]
    logits[3] = [0.0, 0.0, 6.0, 0.0, 0.0]
    first = run_ner(logits, "first")
    assert [(g["entity_group"], g["word"]) for g in first] == [
        ("PER", "jean"),
        ("LOC", "dupont"),
        ("LOC", "paris"),
    ]
    maxed = run_ner(logits, "max")
    assert [(g["entity_group"], g["word"]) for g in maxed] == [("PER", "jean dupont"), ("LOC", "paris")]
    average = run_ner(logits, "average")
    # mean over (du, ##pont) of the softmaxes: I-PER wins.
    assert [(g["entity_group"], g["word"], g["start"], g["end"]) for g in average] == [
        ("PER", "jean dupont", 0, 11),
        ("LOC", "paris", 21, 26),
    ]


def test_unknown_aggregation_strategy():
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        run_ner(token_logits([0] * 8), "longest")


def test_answer_spans_picks_best_valid_span():
    # [CLS] q ? [SEP] c0 c1 c2 [SEP]
    context_mask = np.array([0, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    start = np.array([0.0, 9.0, 0.0, 0.0, 1.0, 5.0, 0.0, 9.0])  # question/special logits must be ignored
    end = np.array([0.0, 0.0, 9.0, 0.0, 0.0, 1.0, 5.0, 9.0])
    spans, null = tasks.answer_spans(start, end, context_mask, top_k=2, max_answer_len=15)
    assert spans[0][:2] == (5, 6)
    z_start = math.exp(0) + math.exp(1) + math.exp(5) + math.exp(0)  # CLS + c0..c2
    z_end = math.exp(0) + math.exp(0) + math.exp(1) + math.exp(5)
    assert spans[0][2] == pytest.approx(math.exp(5) / z_start * math.exp(5) / z_end)
    assert null == pytest.approx(1 / z_start * 1 / z_end)
    assert spans[1][:2] in {(5, 5), (4, 6)}


def test_answer_spans_respects_max_answer_len_and_order():
    context_mask = np.array([0, 1, 1, 1, 1], dtype=bool)
    start = np.array([0.0, 5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 0.0, 5.0])
    spans, _ = tasks.answer_spans(start, end, context_mask, top_k=1, max_answer_len=2)
    i, j, _ = spans[0]
    assert j >= i and j - i < 2


def test_question_answering_over_chunks_with_offsets():
    context = "alpha beta gamma delta"
    chunk_a = {
        "start_logits": np.array([0.0, 0.0, 6.0, 0.0]),
        "end_logits": np.array([0.0, 0.0, 6.0, 0.0]),
        "offsets": [(0, 0), (0, 5), (6, 10), (0, 0)],
        "context_mask": np.array([0, 1, 1, 0], dtype=bool),
        "word_ids": [None, 0, 1, None],
    }
    chunk_b = {
        "start_logits": np.array([0.0, 2.0, 0.0, 0.0]),
        "end_logits": np.array([0.0, 0.0, 2.0, 0.0]),
        "offsets": [(0, 0), (11, 16), (17, 22), (0, 0)],
        "context_mask": np.array([0, 1, 1, 0], dtype=bool),
        "word_ids": [None, 2, 3, None],
    }
    answers = tasks.question_answering([chunk_a, chunk_b], context, top_k=2)
    assert answers[0]["answer"] == "beta" and (answers[0]["start"], answers[0]["end"]) == (6, 10)
    assert answers[0]["score"] > answers[1]["score"]
    impossible = tasks.question_answering([chunk_b], context, top_k=4, handle_impossible_answer=True)
    assert {
        "score": pytest.approx(1 / (2 + math.exp(2)) ** 2),
        "start": 0,
        "end": 0,
        "answer": "",
    } in impossible


def test_mean_pool_ignores_padding_and_normalize():
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    pooled = tasks.mean_pool(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(pooled, [[2.0, 3.0]])
    np.testing.assert_allclose(tasks.l2_normalize(np.array([3.0, 4.0])), [0.6, 0.8])


def test_next_sentence_verdict_and_score():
    assert tasks.next_sentence(np.array([2.0, 0.0])) == {
        "is_next": True,
        "score": pytest.approx(1 / (1 + math.exp(-2))),
    }
    assert tasks.next_sentence(np.array([0.0, 1.0]))["is_next"] is False


def test_answers_are_widened_to_whole_words():
    """Issue 11 item 2, worked out by hand: start peaks on '##ing' of 'washington', end on 'lives'.

    [CLS] who [SEP] wash ##ing ##ton lives here [SEP]; a = e^5 / (e^5 + 5) and b = 1 / (e^5 + 5) are the
    start/end probabilities over [CLS] + the 5 context tokens. Widened to words, the token spans (3, 6),
    (4, 6) and (5, 6) are all 'washington lives': a^2 + 2ab. Without align_to_words: 'ington lives', a^2.
    """
    context = "washington lives here"
    chunk = {
        "start_logits": np.array([0, 0, 0, 0, 5, 0, 0, 0, 0], dtype=np.float64),
        "end_logits": np.array([0, 0, 0, 0, 0, 0, 5, 0, 0], dtype=np.float64),
        "offsets": [(0, 0), (0, 3), (0, 0), (0, 4), (4, 7), (7, 10), (11, 16), (17, 21), (0, 0)],
        "context_mask": np.array([0, 0, 0, 1, 1, 1, 1, 1, 0], dtype=bool),
        "word_ids": [None, 0, None, 0, 0, 0, 1, 2, None],
    }
    a, b = math.exp(5) / (math.exp(5) + 5), 1 / (math.exp(5) + 5)
    (best,) = tasks.question_answering([chunk], context)
    assert best == {
        "score": pytest.approx(a * a + 2 * a * b),
        "start": 0,
        "end": 16,
        "answer": "washington lives",
    }
    (raw,) = tasks.question_answering([chunk], context, align_to_words=False)
    assert raw == {"score": pytest.approx(a * a), "start": 4, "end": 16, "answer": "ington lives"}
    # A span found again in an overlapping chunk is one answer with the scores added (as Transformers).
    (twice,) = tasks.question_answering([chunk, chunk], context)
    assert twice["score"] == pytest.approx(2 * (a * a + 2 * a * b)) and twice["answer"] == "washington lives"


def test_entity_words_are_read_as_the_tokenizer_decodes():
    """Issue 11 item 3: 'new york .' groups to 'new york.' when the tokenizer cleans up spaces (the
    decode of the same tokens), and stays 'new york .' when it does not."""
    from bert_common import BertTokenizerFast
    from bert_common.pipeline_tasks import tokens_to_text

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", ".", "?", "jo", "##hn"]
    clean = BertTokenizerFast.from_vocab(vocab)
    assert tokens_to_text(clean)(["new", "york", "."]) == "new york." == clean.decode([5, 6, 7])
    assert tokens_to_text(clean)(["jo", "##hn", "?"]) == "john?"
    raw = BertTokenizerFast.from_vocab(vocab, clean_up_tokenization_spaces=False)
    assert tokens_to_text(raw)(["new", "york", "."]) == "new york ." == raw.decode([5, 6, 7])
