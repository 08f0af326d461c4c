"""Pipelines: the same answers from all three twins, and answers that mean what they say."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bert_common.pipelines import UntrainedHeadError, get_task
from tests.helpers import MINILM_SENTENCES, minilm_golden

TWINS = ["pt", "tf", "flax"]

INPUTS = {
    "fill-mask": ["paris is the [MASK] of france .", "the [MASK] sat on the [MASK] ."],
    "text-classification": ["john is happy", {"text": "the dog eats", "text_pair": "the cat sat"}],
    "token-classification": ["John Smith lives in Paris and works at Google.", "the cat sat"],
    "question-answering": [
        {"question": "who lives in paris?", "context": "john smith lives in paris . the dog eats food ."},
        {"question": "where?", "context": "the big red house in london is old ."},
    ],
    "feature-extraction": ["the cat sat on the mat", "paris is big"],
    "next-sentence-prediction": [("the man eats", "the food is good"), {"text": "who?", "text_pair": "rome"}],
}
PARAMS = {
    "fill-mask": {"top_k": 3},
    "text-classification": {"top_k": None},
    "token-classification": {"aggregation_strategy": "simple", "ignore_labels": []},
    "question-answering": {"top_k": 2},
    "feature-extraction": {"pooling": "mean", "normalize": True},
    "next-sentence-prediction": {},
}


def twin(name):
    return importlib.import_module(f"bert_{name}")


def assert_same_answers(a, b, path="answer"):
    """Same structure, same labels/tokens/offsets, scores and vectors within 1e-5."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), path
        for key in a:
            assert_same_answers(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_answers(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-5, f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


@pytest.fixture(scope="module")
def answers(task_models):
    """{(task, twin): answers} for the inputs above."""
    out = {}
    for name in TWINS:
        for task, directory in task_models.items():
            pipe = twin(name).pipeline(task, model=directory, batch_size=2)
            out[task, name] = pipe(INPUTS[task], **PARAMS[task])
    return out


@pytest.mark.parametrize("task", sorted(INPUTS))
@pytest.mark.parametrize("other", ["tf", "flax"])
def test_twins_give_the_same_answers(answers, task, other):
    assert_same_answers(answers[task, "pt"], answers[task, other])


def test_fill_mask_answers(answers):
    single, double = answers["fill-mask", "pt"]
    assert len(single) == 3
    words = [a for a in single if not a["token_str"].startswith("[")]  # a random model may pick [SEP]
    assert words and all(a["sequence"] == f"paris is the {a['token_str']} of france." for a in words)
    assert [a["score"] for a in single] == sorted((a["score"] for a in single), reverse=True)
    assert len(double) == 2 and all(len(per_mask) == 3 for per_mask in double)  # one list per [MASK]


def test_fill_mask_targets(task_models):
    pipe = twin("pt").pipeline("fill-mask", model=task_models["fill-mask"])
    result = pipe("paris is the [MASK] of france .", targets=["city", "capital"], top_k=5)
    assert sorted(a["token_str"] for a in result) == ["capital", "city"]


def test_text_classification_scores_are_a_distribution(answers, task_models):
    ranked = answers["text-classification", "pt"][0]
    assert sorted(r["label"] for r in ranked) == ["negative", "neutral", "positive"]
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0)
    best = twin("pt").pipeline("text-classification", model=task_models["text-classification"])(
        "john is happy"
    )
    assert best == {"label": ranked[0]["label"], "score": pytest.approx(ranked[0]["score"])}


def test_token_classification_offsets_point_into_the_text(answers):
    text = INPUTS["token-classification"][0]
    groups = answers["token-classification", "pt"][0]
    assert groups, "every token is kept when ignore_labels is empty"
    for group in groups:
        # `word` joins the group's tokens with spaces, as Transformers does ("google ." for "google.")
        assert text[group["start"] : group["end"]].lower().replace(" ", "") == group["word"].replace(" ", "")
    assert groups[0]["start"] == 0 and groups[-1]["end"] == len(text)  # nothing dropped at the ends


def test_question_answering_spans_come_from_the_context(answers):
    for item, found in zip(INPUTS["question-answering"], answers["question-answering", "pt"]):
        assert len(found) == 2
        for answer in found:
            assert answer["answer"] == item["context"][answer["start"] : answer["end"]]
            assert answer["answer"]


def test_question_answering_long_context_is_split_with_stride(task_models):
    pipe = twin("pt").pipeline("question-answering", model=task_models["question-answering"])
    context = " ".join(["the big red house in london is old ."] * 12)
    prepared = pipe._handler.prepare(
        pipe, {"question": "where?", "context": context}, {"max_seq_len": 32, "doc_stride": 8}
    )
    assert len(prepared.features) > 3  # several overlapping chunks
    answer = pipe({"question": "where?", "context": context}, max_seq_len=32, doc_stride=8)
    assert answer["answer"] == context[answer["start"] : answer["end"]]
    impossible = pipe(
        {"question": "where?", "context": context}, handle_impossible_answer=True, top_k=10**6, max_seq_len=32
    )
    assert any(a["answer"] == "" for a in impossible)


def test_feature_extraction_shapes(task_models):
    pipe = twin("pt").pipeline("feature-extraction", model=task_models["feature-extraction"])
    tokens = pipe("the cat sat")
    assert np.asarray(tokens).shape == (1, 5, 32)  # [CLS] the cat sat [SEP]
    vector = pipe("the cat sat", pooling="mean", normalize=True, return_tensors=True)
    assert vector.shape == (32,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_next_sentence_answers(answers):
    for result in answers["next-sentence-prediction", "pt"]:
        assert set(result) == {"is_next", "score"} and 0.5 <= result["score"] <= 1.0


@pytest.mark.integration
@pytest.mark.parametrize("name", TWINS)
def test_default_model_sentence_embeddings_match_the_reference(name):
    """all-MiniLM-L6-v2 mean-pooled embeddings against Transformers 4.57.1 (tests/fixtures/reference)."""
    golden = minilm_golden()
    pipe = twin(name).pipeline("feature-extraction", batch_size=3)
    vectors = np.stack(pipe(MINILM_SENTENCES, pooling="mean", normalize=True, return_tensors=True))
    assert float(np.max(np.abs(vectors - golden["mean_pooled_normalized"]))) <= 1e-5


def test_default_model_has_no_mlm_head():
    with pytest.raises(
        UntrainedHeadError, match=r"no trained weights for the fill-mask head \(BertForMaskedLM\)"
    ):
        twin("pt").pipeline("fill-mask")


def test_bad_arguments(task_models):
    with pytest.raises(ValueError, match="unknown task 'summarization'"):
        get_task("summarization")
    pipe = twin("pt").pipeline("fill-mask", model=task_models["fill-mask"])
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) \['topk'\]"):
        pipe("the [MASK]", topk=3)
    with pytest.raises(ValueError, match="no \\[MASK\\] token in the input"):
        pipe("no mask here")
    with pytest.raises(ValueError, match="no inputs given"):
        pipe([])
    with pytest.raises(ValueError, match="pass its tokenizer too"):
        twin("pt").pipeline("fill-mask", model=pipe.model)
    qa = twin("pt").pipeline("question-answering", model=task_models["question-answering"])
    with pytest.raises(ValueError, match="non-empty 'context'"):
        qa({"question": "who?", "context": ""})
    assert get_task("ner").name == "token-classification"


def test_a_loaded_model_object_is_accepted(task_models):
    import bert_pt
    from bert_common import BertTokenizerFast

    model = bert_pt.BertForMaskedLM.from_pretrained(task_models["fill-mask"])
    pipe = bert_pt.pipeline(
        "fill-mask", model=model, tokenizer=BertTokenizerFast.from_pretrained(task_models["fill-mask"])
    )
    assert pipe.model is model and len(pipe("the [MASK] sat")) == 5
