"""bert_flax.losses against the golden losses of the reference cases (Transformers' PyTorch heads computed
them from the same logits and labels), plus hand-derived facts of each convention."""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bert_common.heads import LOSS_FUNCTIONS
from bert_flax import losses
from tests.common.head_spec import tiny
from tests.helpers import ATOL, load_reference_case


def _close(value, expected) -> None:
    assert abs(float(value) - float(expected)) <= ATOL, (float(value), float(expected))


def test_masked_lm_loss_matches_reference():
    ref = load_reference_case("BertForMaskedLM")
    _close(losses.masked_lm_loss(ref.outputs["logits"], ref.inputs["labels"]), ref.outputs["loss"])


def test_pretraining_loss_is_mlm_plus_nsp_and_matches_reference():
    ref = load_reference_case("BertForPreTraining")
    total = losses.pretraining_loss(
        ref.outputs["prediction_logits"],
        ref.outputs["seq_relationship_logits"],
        ref.inputs["labels"],
        ref.inputs["next_sentence_label"],
    )
    _close(total, ref.outputs["loss"])
    parts = losses.masked_lm_loss(
        ref.outputs["prediction_logits"], ref.inputs["labels"]
    ) + losses.next_sentence_loss(ref.outputs["seq_relationship_logits"], ref.inputs["next_sentence_label"])
    _close(total, parts)


def test_next_sentence_loss_matches_reference():
    ref = load_reference_case("BertForNextSentencePrediction")
    _close(losses.next_sentence_loss(ref.outputs["logits"], ref.inputs["labels"]), ref.outputs["loss"])


@pytest.mark.parametrize("problem", ["single", "multi", "regression"])
def test_sequence_classification_loss_infers_problem_type_and_matches_reference(problem):
    ref = load_reference_case(f"BertForSequenceClassification-{problem}")
    _close(
        losses.sequence_classification_loss(ref.outputs["logits"], ref.inputs["labels"], tiny()),
        ref.outputs["loss"],
    )


def test_token_classification_and_multiple_choice_losses_match_reference():
    ref = load_reference_case("BertForTokenClassification")
    _close(losses.token_classification_loss(ref.outputs["logits"], ref.inputs["labels"]), ref.outputs["loss"])
    ref = load_reference_case("BertForMultipleChoice")
    _close(losses.multiple_choice_loss(ref.outputs["logits"], ref.inputs["labels"]), ref.outputs["loss"])


def test_question_answering_loss_matches_reference_with_an_out_of_range_position():
    ref = load_reference_case("BertForQuestionAnswering")
    assert (
        ref.inputs["start_positions"].max() > ref.outputs["start_logits"].shape[1]
    )  # 30 > T: clamped, ignored
    value = losses.question_answering_loss(
        ref.outputs["start_logits"],
        ref.outputs["end_logits"],
        ref.inputs["start_positions"],
        ref.inputs["end_positions"],
    )
    _close(value, ref.outputs["loss"])


def test_causal_lm_loss_shifts_labels_and_matches_reference():
    ref = load_reference_case("BertLMHeadModel-cross")
    _close(losses.causal_lm_loss(ref.outputs["logits"], ref.inputs["labels"]), ref.outputs["loss"])
    unshifted = losses.cross_entropy(ref.outputs["logits"], ref.inputs["labels"])
    assert abs(float(unshifted) - float(ref.outputs["loss"])) > 1e-3


def test_hand_derived_values():
    """Uniform scores over K classes cost log K; ignored positions do not count; nothing left is 0."""
    logits = jnp.zeros((2, 3, 5))
    _close(losses.masked_lm_loss(logits, jnp.array([[1, -100, 2], [-100, -100, 4]])), math.log(5))
    assert float(losses.masked_lm_loss(logits, jnp.full((2, 3), -100))) == 0.0
    scores = jnp.array([[2.0, 0.0, 0.0, 0.0, 0.0]])
    expected = -(2.0 - math.log(math.exp(2.0) + 4))
    _close(losses.token_classification_loss(scores[None], jnp.array([[0]])), expected)
    # MSE and BCE by hand
    _close(
        losses.sequence_classification_loss(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0]), tiny()),
        (1 + 4) / 2,
    )
    bce = -(math.log(1 / (1 + math.exp(-1.0))) + math.log(1 - 1 / (1 + math.exp(-2.0)))) / 2
    _close(
        losses.sequence_classification_loss(
            jnp.array([[1.0, 2.0]]), jnp.array([[1.0, 0.0]]), tiny(problem_type="multi_label_classification")
        ),
        bce,
    )
    # QA: an end position past the sequence is clamped to T and ignored, so only row 0's end counts;
    # a negative start is clamped to 0 and counts.
    end_logits = jnp.array([[0.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0]])
    start_logits = jnp.array([[0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]])
    value = losses.question_answering_loss(start_logits, end_logits, jnp.array([1, -5]), jnp.array([2, 9]))
    start_row1 = -(3.0 - math.log(math.exp(3.0) + 3))
    _close(value, ((math.log(4) + start_row1) / 2 + math.log(4)) / 2)


def test_problem_type_from_config_wins():
    logits = jnp.array([[0.5, -0.5]])
    forced = losses.sequence_classification_loss(
        logits, jnp.array([[1.0, 0.0]]), tiny(problem_type="regression")
    )
    _close(forced, ((0.5 - 1.0) ** 2 + (-0.5) ** 2) / 2)


def test_losses_are_jittable():
    ref = load_reference_case("BertForMaskedLM")
    value = jax.jit(losses.masked_lm_loss)(ref.outputs["logits"], ref.inputs["labels"])
    _close(value, ref.outputs["loss"])


def test_label_errors_name_the_argument():
    logits = jnp.zeros((2, 3, 5))
    with pytest.raises(TypeError, match="labels must hold integer class ids"):
        losses.masked_lm_loss(logits, jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 3\)"):
        losses.token_classification_loss(logits, jnp.zeros((2, 4), jnp.int32))
    with pytest.raises(ValueError, match="do not fit problem_type"):
        losses.sequence_classification_loss(jnp.zeros((2, 3)), jnp.zeros((3,), jnp.int32), tiny())
    with pytest.raises(TypeError, match="start_positions"):
        losses.question_answering_loss(jnp.zeros((1, 4)), jnp.zeros((1, 4)), jnp.array([1.0]), jnp.array([2]))
    with pytest.raises(ValueError, match="next_sentence_label must have shape"):
        losses.next_sentence_loss(jnp.zeros((2, 2)), np.array([0, 1, 1]))


def test_the_shared_loss_functions_and_their_arguments():
    """The eight names of bert_common.heads.LOSS_FUNCTIONS, with the arguments every twin uses."""
    want = {
        "masked_lm_loss": ["logits", "labels"],
        "causal_lm_loss": ["logits", "labels"],
        "next_sentence_loss": ["logits", "labels"],
        "pretraining_loss": ["prediction_logits", "seq_relationship_logits", "labels", "next_sentence_label"],
        "sequence_classification_loss": ["logits", "labels", "config"],
        "multiple_choice_loss": ["logits", "labels"],
        "token_classification_loss": ["logits", "labels"],
        "question_answering_loss": ["start_logits", "end_logits", "start_positions", "end_positions"],
    }
    assert set(want) == set(LOSS_FUNCTIONS)
    for name, arguments in want.items():
        assert list(inspect.signature(getattr(losses, name)).parameters) == arguments, name


def test_nothing_to_score_is_a_zero_loss_with_zero_gradients_not_nan():
    """Issue 13: every label -100 gave NaN (0 / 0, as in Transformers); the convention of bert_common.losses
    is sum / max(count, 1) = 0, the value of an empty sum."""
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 5)), jnp.float32)
    ignored = jnp.full((2, 3), -100)
    causal_ignored = jnp.array([[4, -100, -100], [0, -100, -100]])  # only labels[:, 1:] are scored
    for function, labels in (
        (losses.masked_lm_loss, ignored),
        (losses.token_classification_loss, ignored),
        (losses.causal_lm_loss, causal_ignored),
    ):
        value, grad = jax.value_and_grad(function)(logits, labels)
        assert float(value) == 0.0, function.__name__
        assert np.array_equal(np.asarray(grad), np.zeros((2, 3, 5), np.float32))
    nsp = jnp.array([[0.3, -0.2], [1.0, 0.5]])
    _close(
        losses.pretraining_loss(logits, nsp, ignored, jnp.array([0, 1])),
        losses.next_sentence_loss(nsp, jnp.array([0, 1])),
    )
    # QA: every start and end position outside the sequence (clamped to T = 3 and ignored)
    qa = losses.question_answering_loss(
        jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.array([7, 3]), jnp.array([3, 9])
    )
    assert float(qa) == 0.0


def test_token_classification_model_with_every_label_ignored_has_loss_zero():
    from bert_flax import FlaxBertForTokenClassification
    from tests.common.head_spec import batch

    config = tiny(num_labels=3)
    inputs = batch(config)
    out = FlaxBertForTokenClassification(config)(**inputs, labels=np.full(inputs["input_ids"].shape, -100))
    assert float(out.loss) == 0.0


def test_integer_regression_targets_are_cast_to_float():
    """Integer regression targets used to raise TypeError here while the other twins cast them; now one
    behaviour, Transformers' PyTorch MSELoss's: the loss of [1, 2, 3] is the mean squared error against
    1.0, 2.0, 3.0, written out by hand."""
    scores = jnp.array([[0.5], [2.5], [1.0]])
    expected = ((0.5 - 1) ** 2 + (2.5 - 2) ** 2 + (1.0 - 3) ** 2) / 3
    for labels in (jnp.array([1, 2, 3]), np.array([1, 2, 3], np.int64), jnp.array([[1], [2], [3]])):
        _close(losses.sequence_classification_loss(scores, labels, tiny(num_labels=1)), expected)
    from bert_flax import FlaxBertForSequenceClassification
    from tests.common.head_spec import batch

    config = tiny(num_labels=1)
    model = FlaxBertForSequenceClassification(config)
    inputs = batch(config)
    as_floats = model(**inputs, labels=np.array([1.0, 2.0, 3.0], np.float32)).loss
    _close(model(**inputs, labels=np.array([1, 2, 3])).loss, as_floats)
