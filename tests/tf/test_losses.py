"""bert_tf.losses, the eight functions of bert_common.heads.LOSS_FUNCTIONS: against numpy computed by hand,
against the losses Transformers computed for the reference cases, and their label checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import tensorflow as tf

from bert_common.heads import LOSS_FUNCTIONS
from bert_tf import losses
from tests.common.head_spec import tiny
from tests.helpers import ATOL, load_reference_case

RNG = np.random.default_rng(0)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean -log p(label) over the positions whose label is not -100, in float64."""
    logits, labels = logits.reshape(-1, logits.shape[-1]).astype(np.float64), labels.reshape(-1)
    keep = labels != -100
    return float(-log_softmax(logits)[keep, labels[keep]].mean())


def close(value: tf.Tensor, expected: float) -> None:
    assert value.dtype == tf.float32 and value.shape == ()
    assert abs(float(value) - expected) <= ATOL, (float(value), expected)


def test_the_eight_functions_with_the_shared_signatures():
    assert len(LOSS_FUNCTIONS) == 8
    signatures = {
        "pretraining_loss": ["prediction_logits", "seq_relationship_logits", "labels", "next_sentence_label"],
        "sequence_classification_loss": ["logits", "labels", "config"],
        "question_answering_loss": ["start_logits", "end_logits", "start_positions", "end_positions"],
    }
    for name in LOSS_FUNCTIONS:
        parameters = list(inspect.signature(getattr(losses, name)).parameters)
        assert parameters == signatures.get(name, ["logits", "labels"]), name


def test_masked_lm_loss_skips_unscored_positions():
    logits = RNG.normal(size=(2, 5, 11)).astype(np.float32)
    labels = np.full((2, 5), -100)
    labels[0, 1], labels[1, 3], labels[1, 4] = 3, 0, 10
    close(losses.masked_lm_loss(logits, labels), cross_entropy(logits, labels))
    # by hand for one scored position
    one = np.full((2, 5), -100)
    one[0, 2] = 7
    by_hand = -(logits[0, 2, 7] - np.log(np.exp(logits[0, 2].astype(np.float64)).sum()))
    close(losses.masked_lm_loss(logits, one), by_hand)


def test_causal_lm_loss_scores_each_position_against_the_next_token():
    logits = RNG.normal(size=(2, 6, 9)).astype(np.float32)
    labels = RNG.integers(0, 9, (2, 6))
    labels[1, 4] = -100
    close(losses.causal_lm_loss(logits, labels), cross_entropy(logits[:, :-1], labels[:, 1:]))


def test_next_sentence_loss():
    logits = RNG.normal(size=(4, 2)).astype(np.float32)
    labels = np.array([0, 1, 1, 0])
    close(losses.next_sentence_loss(logits, labels), cross_entropy(logits, labels))
    close(losses.next_sentence_loss(logits, labels[:, None]), cross_entropy(logits, labels))


def test_pretraining_loss_is_masked_lm_plus_next_sentence():
    prediction = RNG.normal(size=(2, 4, 7)).astype(np.float32)
    relationship = RNG.normal(size=(2, 2)).astype(np.float32)
    labels = np.array([[-100, 3, -100, 6], [1, -100, -100, -100]])
    next_sentence = np.array([1, 0])
    expected = cross_entropy(prediction, labels) + cross_entropy(relationship, next_sentence)
    close(losses.pretraining_loss(prediction, relationship, labels, next_sentence), expected)


def test_sequence_classification_loss_by_problem_type():
    logits = RNG.normal(size=(3, 4)).astype(np.float32)
    classes = np.array([0, 3, 1])
    close(
        losses.sequence_classification_loss(logits, classes, tiny(num_labels=4)),
        cross_entropy(logits, classes),
    )
    multi_hot = (RNG.random((3, 4)) > 0.5).astype(np.float32)
    x = logits.astype(np.float64)
    bce = np.mean(np.maximum(x, 0) - x * multi_hot + np.log1p(np.exp(-np.abs(x))))
    close(losses.sequence_classification_loss(logits, multi_hot, tiny(num_labels=4)), bce)
    scores = logits[:, :1]
    targets = np.array([0.5, -1.0, 2.0], np.float32)
    mse = np.mean((scores[:, 0].astype(np.float64) - targets) ** 2)
    close(losses.sequence_classification_loss(scores, targets, tiny(num_labels=1)), mse)
    forced = tiny(num_labels=4, problem_type="regression")
    close(losses.sequence_classification_loss(logits, multi_hot, forced), np.mean((x - multi_hot) ** 2))


def test_multiple_choice_and_token_classification_losses():
    choices = RNG.normal(size=(3, 4)).astype(np.float32)
    close(
        losses.multiple_choice_loss(choices, np.array([2, 0, 3])), cross_entropy(choices, np.array([2, 0, 3]))
    )
    tokens = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    labels = RNG.integers(0, 3, (2, 5))
    labels[0, 4] = labels[1, 0] = -100
    close(losses.token_classification_loss(tokens, labels), cross_entropy(tokens, labels))


def test_question_answering_loss_clamps_and_ignores_positions_outside_the_sequence():
    start, end = RNG.normal(size=(3, 6)).astype(np.float32), RNG.normal(size=(3, 6)).astype(np.float32)
    starts, ends = np.array([1, 5, 99]), np.array([2, -3, 4])  # 99 -> T (ignored), -3 -> 0
    expected = (cross_entropy(start, np.array([1, 5, -100])) + cross_entropy(end, np.array([2, 0, 4]))) / 2
    close(losses.question_answering_loss(start, end, starts, ends), expected)
    close(losses.question_answering_loss(start, end, starts[:, None], ends[:, None]), expected)


def test_nothing_to_score_is_a_zero_loss_with_zero_gradients_not_nan():
    """Issue 13: every label -100 gave NaN (0 / 0, as in Transformers); the convention of bert_common.losses
    is sum / max(count, 1) = 0, the value of an empty sum."""
    logits = tf.Variable(RNG.normal(size=(2, 3, 5)).astype(np.float32))
    ignored = np.full((2, 3), -100)
    causal_ignored = np.array([[4, -100, -100], [0, -100, -100]])  # only labels[:, 1:] are scored
    for function, labels in (
        (losses.masked_lm_loss, ignored),
        (losses.token_classification_loss, ignored),
        (losses.causal_lm_loss, causal_ignored),
    ):
        with tf.GradientTape() as tape:
            loss = function(logits, labels)
        assert float(loss) == 0.0, function.__name__
        assert np.array_equal(tape.gradient(loss, logits).numpy(), np.zeros((2, 3, 5), np.float32))
    nsp = RNG.normal(size=(2, 2)).astype(np.float32)
    close(
        losses.pretraining_loss(logits, nsp, ignored, np.array([0, 1])), cross_entropy(nsp, np.array([0, 1]))
    )
    # QA: every start and end position outside the sequence (clamped to T = 3 and ignored)
    qa = losses.question_answering_loss(
        RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3)), np.array([7, 3]), np.array([3, 9])
    )
    assert float(qa) == 0.0


def test_token_classification_model_with_every_label_ignored_has_loss_zero():
    from bert_tf import TFBertForTokenClassification
    from tests.common.head_spec import batch

    config = tiny(num_labels=3)
    inputs = batch(config)
    out = TFBertForTokenClassification(config)(inputs, labels=np.full(inputs["input_ids"].shape, -100))
    assert float(out.loss) == 0.0


def test_integer_regression_targets_are_cast_to_float():
    """As Transformers' PyTorch MSELoss promotes integer targets (one behaviour in every twin): the loss of
    [1, 2, 3] is the mean squared error against 1.0, 2.0, 3.0, written out by hand."""
    scores = np.array([[0.5], [2.5], [1.0]], np.float32)
    expected = ((0.5 - 1) ** 2 + (2.5 - 2) ** 2 + (1.0 - 3) ** 2) / 3
    for labels in (np.array([1, 2, 3]), np.array([1, 2, 3], np.int32), np.array([[1], [2], [3]])):
        close(losses.sequence_classification_loss(scores, labels, tiny(num_labels=1)), expected)


@pytest.mark.parametrize(
    ("name", "inputs", "error", "match"),
    [
        (
            "masked_lm_loss",
            ((2, 3, 5), np.zeros((2, 3), np.float32)),
            TypeError,
            "labels must hold integer ids",
        ),
        (
            "token_classification_loss",
            ((2, 3, 5), np.zeros((2, 4), np.int64)),
            ValueError,
            r"labels has shape \(2, 4\)",
        ),
        (
            "multiple_choice_loss",
            ((2, 3), np.zeros((3,), np.int64)),
            ValueError,
            r"labels has shape \(3,\), expected \(2,\)",
        ),
        ("next_sentence_loss", ((2, 2), np.zeros((2, 2), np.int64)), ValueError, "labels has shape"),
    ],
)
def test_labels_of_the_wrong_dtype_or_shape(name, inputs, error, match):
    shape, labels = inputs
    with pytest.raises(error, match=match):
        getattr(losses, name)(np.zeros(shape, np.float32), labels)


@pytest.mark.parametrize(
    ("case", "function", "arguments"),
    [
        ("BertForMaskedLM", "masked_lm_loss", ("logits", "labels")),
        ("BertForNextSentencePrediction", "next_sentence_loss", ("logits", "labels")),
        ("BertForTokenClassification", "token_classification_loss", ("logits", "labels")),
        ("BertForMultipleChoice", "multiple_choice_loss", ("logits", "labels")),
        (
            "BertForPreTraining",
            "pretraining_loss",
            ("prediction_logits", "seq_relationship_logits", "labels", "next_sentence_label"),
        ),
        (
            "BertForQuestionAnswering",
            "question_answering_loss",
            ("start_logits", "end_logits", "start_positions", "end_positions"),
        ),
    ],
)
def test_losses_match_the_reference_cases(case, function, arguments):
    """The loss Transformers computed from the same logits and labels."""
    ref = load_reference_case(case)
    values = [ref.outputs[a] if a in ref.outputs else ref.inputs[a] for a in arguments]
    close(getattr(losses, function)(*values), float(ref.outputs["loss"]))


@pytest.mark.parametrize("problem", ["single", "multi", "regression"])
def test_sequence_classification_loss_matches_the_reference_cases(problem):
    from bert_common.config import BertConfig

    ref = load_reference_case(f"BertForSequenceClassification-{problem}")
    config = BertConfig.from_pretrained(ref.directory)
    loss = losses.sequence_classification_loss(ref.outputs["logits"], ref.inputs["labels"], config)
    close(loss, float(ref.outputs["loss"]))
