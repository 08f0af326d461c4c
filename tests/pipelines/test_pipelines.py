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
        for task in INPUTS:
            pipe = twin(name).pipeline(task, model=task_models[task], batch_size=2)
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
    # One text gives a list of one answer, as in Transformers 4.57 (issue 12 item 6: clf(x)[0]["label"]).
    assert best == [{"label": ranked[0]["label"], "score": pytest.approx(ranked[0]["score"])}]


def test_token_classification_offsets_point_into_the_text(answers):
    text = INPUTS["token-classification"][0]
    groups = answers["token-classification", "pt"][0]
    assert groups, "every token is kept when ignore_labels is empty"
    for group in groups:
        # `word` is the group's tokens decoded ("google." for "google."; lower-cased by the tokenizer)
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
        # a model built from a config, not loaded from anywhere: its tokenizer cannot be inferred
        unloaded = twin("pt").BertForMaskedLM(type(pipe.model.config).from_dict(pipe.model.config.to_dict()))
        twin("pt").pipeline("fill-mask", model=unloaded)
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


# ---- issue 11: calls as Transformers users make them, checked arguments, long inputs


def test_question_answering_call_forms_agree(task_models):
    """question=/context= keywords (strings or lists), a dict and a list of dicts give the same answers
    (batched with padding, so scores agree within 1e-5)."""
    qa = twin("pt").pipeline("question-answering", model=task_models["question-answering"])
    first, second = INPUTS["question-answering"]
    both = [qa(first), qa(second)]
    assert_same_answers(qa(question=first["question"], context=first["context"]), both[0])
    assert_same_answers(qa([first, second]), both)
    questions, contexts = [first["question"], second["question"]], [first["context"], second["context"]]
    assert_same_answers(qa(question=questions, context=contexts), both)
    same_context = qa(question=[first["question"], "where?"], context=first["context"])
    assert_same_answers(same_context, [both[0], qa({"question": "where?", "context": first["context"]})])
    # One question alone, however it is given (Transformers 4.57: tests/fixtures/reference/pipeline_api.json)
    assert_same_answers(qa({"question": [first["question"]], "context": first["context"]}), both[0])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda qa: qa(question="who?"), TypeError, "needs question=... and context="),
        (lambda qa: qa({"question": "who?", "context": "x"}, question="who?"), TypeError, "not both"),
        (
            lambda qa: qa(question=["a?", "b?"], context=["x", "y", "z"]),
            ValueError,
            "2 questions but 3 contexts",
        ),
        (lambda qa: qa({"question": "who?", "text": "x"}), ValueError, "keys 'question' and 'context'"),
        (lambda qa: qa(), TypeError, "needs question=... and context="),
        (lambda qa: qa("who?"), TypeError, "question-answering: takes question=/context="),
        (
            lambda qa: qa({"question": "who?", "context": "x"}, top_k=0),
            ValueError,
            "top_k must be an int >= 1",
        ),
        (
            lambda qa: qa({"question": "a?", "context": "x"}, max_answer_len=-1),
            ValueError,
            "max_answer_len must",
        ),
        (
            lambda qa: qa({"question": "a?", "context": "x"}, doc_stride=-2),
            ValueError,
            "doc_stride must be an int",
        ),
        (
            lambda qa: qa({"question": "a?", "context": "x"}, max_seq_len=65),
            ValueError,
            "longer than the model's 64",
        ),
        (
            lambda qa: qa({"question": "a?", "context": "x " * 80}, max_seq_len=32, doc_stride=40),
            ValueError,
            "doc_stride=40",
        ),
    ],
)
def test_question_answering_bad_calls_name_the_problem(task_models, call, error, message):
    qa = twin("pt").pipeline("question-answering", model=task_models["question-answering"])
    with pytest.raises(error, match=message):
        call(qa)


@pytest.mark.parametrize(
    "task, params, message",
    [
        ("fill-mask", {"top_k": -1}, "top_k must be an int >= 1, got -1"),
        ("fill-mask", {"top_k": 2.5}, "top_k must be an int >= 1"),
        ("text-classification", {"top_k": 0}, "top_k must be an int >= 1 or None, got 0"),
        ("text-classification", {"top_k": True}, "top_k must be an int >= 1 or None"),
    ],
)
def test_numeric_parameters_are_range_checked(task_models, task, params, message):
    """`top_k=-1` used to give the n-1 best labels (a negative slice); now it is refused."""
    pipe = twin("pt").pipeline(task, model=task_models[task])
    with pytest.raises(ValueError, match=message):
        pipe(INPUTS[task][0], **params)
    with pytest.raises(ValueError, match=message):
        twin("pt").pipeline(task, model=task_models[task], **params)


def test_a_call_without_inputs_says_so(task_models):
    pipe = twin("pt").pipeline("fill-mask", model=task_models["fill-mask"])
    with pytest.raises(TypeError, match="fill-mask: no inputs given"):
        pipe(top_k=2)


@pytest.mark.parametrize("name", TWINS)
def test_long_inputs_are_truncated_to_the_model(task_models, name):
    """A 122-token text into a 64-position model whose tokenizer has no model_max_length: truncated to 64
    by default (the answers are checked against Transformers in test_reference_answers.py); with
    truncation=False a one-line error names the lengths."""
    from bert_common import BertTokenizerFast

    directory = task_models["feature-extraction"]
    tokenizer = BertTokenizerFast(vocab_file=f"{directory}/vocab.txt", do_lower_case=True)
    assert tokenizer.model_max_length > 10**20  # unbounded
    pipe = twin(name).pipeline("feature-extraction", model=directory, tokenizer=tokenizer)
    assert pipe.max_length == 64
    text = " ".join(["the big red house in london is old ."] * 14)
    assert np.asarray(pipe(text)).shape == (1, 64, 32)
    with pytest.raises(
        ValueError, match="an input of 128 tokens is longer than the model's max_position_embeddings=64"
    ):
        pipe(text, truncation=False)


def test_fill_mask_beyond_the_limit_is_named(task_models):
    pipe = twin("pt").pipeline("fill-mask", model=task_models["fill-mask"])
    with pytest.raises(ValueError, match=r"every \[MASK\] of the input lies beyond the model's 64 tokens"):
        pipe("the cat sat . " * 20 + "the [MASK] sat")


def test_tokenizer_saved_beside_a_config_takes_its_limit(tmp_path, task_models):
    """save_pretrained writes model_max_length = max_position_embeddings when the tokenizer has no limit
    and the directory holds the model's config.json (value worked out from the config: 64)."""
    import json
    import shutil

    from bert_common import BertTokenizerFast

    directory = task_models["fill-mask"]
    shutil.copy(f"{directory}/config.json", tmp_path / "config.json")
    BertTokenizerFast(vocab_file=f"{directory}/vocab.txt").save_pretrained(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["model_max_length"] == 64
    assert BertTokenizerFast.from_pretrained(tmp_path).model_max_length == 64
    alone = tmp_path / "alone"
    BertTokenizerFast(vocab_file=f"{directory}/vocab.txt").save_pretrained(alone)
    assert json.loads((alone / "tokenizer_config.json").read_text())["model_max_length"] == int(1e30)
    bounded = tmp_path / "bounded"
    bounded.mkdir()
    shutil.copy(f"{directory}/config.json", bounded / "config.json")
    BertTokenizerFast(vocab_file=f"{directory}/vocab.txt", model_max_length=32).save_pretrained(bounded)
    assert json.loads((bounded / "tokenizer_config.json").read_text())["model_max_length"] == 32
