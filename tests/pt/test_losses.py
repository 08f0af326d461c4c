"""Loss conventions, checked against losses written out by hand from log-softmax / sigmoid formulas."""

from __future__ import annotations

import inspect

import pytest
import torch

from bert_common.heads import LOSS_FUNCTIONS
from bert_pt import (
    BertForMultipleChoice,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertLMHeadModel,
    losses,
)
from tests.common.head_spec import batch, tiny
from tests.pt.utils import tensors


def nll(logits: torch.Tensor, target: int) -> torch.Tensor:
    """-log softmax(logits)[target] for one row."""
    return -(logits[target] - torch.logsumexp(logits, dim=-1))


def test_masked_lm_loss_averages_only_labelled_positions():
    logits = torch.randn(2, 3, 5)
    labels = torch.tensor([[-100, 4, -100], [0, -100, -100]])
    expected = (nll(logits[0, 1], 4) + nll(logits[1, 0], 0)) / 2
    assert torch.allclose(losses.masked_lm_loss(logits, labels), expected, atol=1e-6)


def test_causal_lm_loss_shifts_labels_left():
    logits = torch.randn(1, 4, 6)
    labels = torch.tensor([[1, 2, -100, 5]])
    # position t predicts label t+1: (0 -> 2), (1 -> ignored), (2 -> 5); the last position predicts nothing
    expected = (nll(logits[0, 0], 2) + nll(logits[0, 2], 5)) / 2
    assert torch.allclose(losses.causal_lm_loss(logits, labels), expected, atol=1e-6)


def test_lm_head_model_loss_is_the_shifted_loss_of_its_logits():
    config = tiny(is_decoder=True)
    model = BertLMHeadModel(config).eval()
    ids = tensors(batch(config, pad_row=None))["input_ids"]
    out = model(ids, labels=ids)
    by_hand = torch.stack(
        [nll(out.logits[b, t], int(ids[b, t + 1])) for b in range(3) for t in range(6)]
    ).mean()
    assert torch.allclose(out.loss, by_hand, atol=1e-5)


def test_pretraining_loss_is_mlm_plus_nsp():
    config = tiny()
    model = BertForPreTraining(config).eval()
    x = tensors(batch(config))
    labels = torch.full((3, 7), -100)
    labels[:, 2] = torch.tensor([3, 4, 5])
    nsp = torch.tensor([1, 0, 1])
    out = model(**x, labels=labels, next_sentence_label=nsp)
    mlm = torch.stack([nll(out.prediction_logits[b, 2], int(labels[b, 2])) for b in range(3)]).mean()
    ns = torch.stack([nll(out.seq_relationship_logits[b], int(nsp[b])) for b in range(3)]).mean()
    assert torch.allclose(out.loss, mlm + ns, atol=1e-5)


def test_sequence_classification_problem_types():
    config = tiny(num_labels=3)
    model = BertForSequenceClassification(config).eval()
    x = tensors(batch(config))
    logits = model(**x).logits
    single = model(**x, labels=torch.tensor([2, 0, 1])).loss
    assert torch.allclose(
        single, torch.stack([nll(logits[0], 2), nll(logits[1], 0), nll(logits[2], 1)]).mean(), atol=1e-6
    )

    multi_hot = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    p = torch.sigmoid(logits)
    bce = -(multi_hot * torch.log(p) + (1 - multi_hot) * torch.log(1 - p)).mean()
    assert torch.allclose(model(**x, labels=multi_hot).loss, bce, atol=1e-6)

    regression = BertForSequenceClassification(tiny(num_labels=1)).eval()
    target = torch.tensor([0.5, -1.0, 2.0])
    out = regression(**x, labels=target)
    assert torch.allclose(out.loss, ((out.logits[:, 0] - target) ** 2).mean(), atol=1e-6)
    # integer scores for a regressor are cast, as users expect
    assert torch.allclose(
        regression(**x, labels=torch.tensor([1, 2, 3])).loss,
        ((out.logits[:, 0] - torch.tensor([1.0, 2, 3])) ** 2).mean(),
    )


def test_configured_problem_type_wins():
    config = tiny(num_labels=3, problem_type="multi_label_classification")
    model = BertForSequenceClassification(config).eval()
    x = tensors(batch(config))
    logits = model(**x).logits
    labels = torch.tensor([[1, 0, 0], [0, 1, 1], [0, 0, 0]])  # integer multi-hot: cast to float
    p = torch.sigmoid(logits)
    bce = -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()
    assert torch.allclose(model(**x, labels=labels).loss, bce, atol=1e-6)
    regression = BertForSequenceClassification(tiny(num_labels=3, problem_type="regression")).eval()
    target = torch.randn(3, 3)
    out = regression(**x, labels=target)
    assert torch.allclose(out.loss, ((out.logits - target) ** 2).mean(), atol=1e-6)


def test_question_answering_clamps_and_ignores_out_of_range_positions():
    start, end = torch.randn(2, 5), torch.randn(2, 5)
    # row 1's start (30) is past the end: clamped to T = 5 and ignored
    loss = losses.question_answering_loss(start, end, torch.tensor([1, 30]), torch.tensor([3, 4]))
    start_loss = nll(start[0], 1)
    end_loss = (nll(end[0], 3) + nll(end[1], 4)) / 2
    assert torch.allclose(loss, (start_loss + end_loss) / 2, atol=1e-6)
    # [B, 1] positions are accepted
    again = losses.question_answering_loss(start, end, torch.tensor([[1], [30]]), torch.tensor([[3], [4]]))
    assert torch.equal(loss, again)


def test_question_answering_needs_both_positions():
    config = tiny()
    model = BertForQuestionAnswering(config).eval()
    assert model(**tensors(batch(config)), start_positions=torch.tensor([1, 2, 3])).loss is None


def test_multiple_choice_loss_is_cross_entropy_over_choices():
    config = tiny()
    model = BertForMultipleChoice(config).eval()
    x = {k: v.unsqueeze(1).expand(-1, 3, -1).contiguous() for k, v in tensors(batch(config)).items()}
    x["input_ids"][:, 1, 1] = 11
    x["input_ids"][:, 2, 2] = 12
    out = model(**x, labels=torch.tensor([2, 0, 1]))
    expected = torch.stack([nll(out.logits[0], 2), nll(out.logits[1], 0), nll(out.logits[2], 1)]).mean()
    assert torch.allclose(out.loss, expected, atol=1e-6)
    # each choice is scored on its own: choice c of example b equals a plain forward of that row
    row = {k: v[1, 2][None] for k, v in x.items()}
    single = model.classifier(model.bert(**row).pooler_output)
    assert torch.allclose(out.logits[1, 2], single[0, 0], atol=1e-6)


def test_token_classification_ignores_minus_100():
    logits = torch.randn(1, 3, 4)
    loss = losses.token_classification_loss(logits, torch.tensor([[3, -100, 0]]))
    assert torch.allclose(loss, (nll(logits[0, 0], 3) + nll(logits[0, 2], 0)) / 2, atol=1e-6)


@pytest.mark.parametrize(
    "fn, args, error, match",
    [
        (
            losses.masked_lm_loss,
            (torch.randn(1, 3, 5), torch.tensor([[0.0, 1.0, 2.0]])),
            TypeError,
            "integer",
        ),
        (losses.masked_lm_loss, (torch.randn(1, 3, 5), torch.tensor([[0, 1]])), ValueError, "shape"),
        (losses.masked_lm_loss, (torch.randn(1, 3, 5), torch.tensor([[0, 7, -100]])), ValueError, "holds 7"),
        (
            losses.token_classification_loss,
            (torch.randn(1, 3, 5), torch.tensor([[0, -5, 1]])),
            ValueError,
            "holds -5",
        ),
        (losses.multiple_choice_loss, (torch.randn(2, 3), torch.tensor([0, 3])), ValueError, "num_choices=3"),
        (losses.next_sentence_loss, (torch.randn(2, 2), torch.tensor([0, 2])), ValueError, "holds 2"),
        (
            losses.question_answering_loss,
            (torch.randn(2, 5), torch.randn(2, 5), torch.tensor([1.0, 2.0]), torch.tensor([1, 2])),
            TypeError,
            "start_positions",
        ),
    ],
)
def test_bad_labels_raise_clear_errors(fn, args, error, match):
    with pytest.raises(error, match=match):
        fn(*args)


def test_float_labels_for_single_label_classification_raise():
    config = tiny(num_labels=3, problem_type="single_label_classification")
    model = BertForSequenceClassification(config).eval()
    with pytest.raises(TypeError, match="integer class ids"):
        model(**tensors(batch(config)), labels=torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="do not fit problem_type"):
        BertForSequenceClassification(tiny(num_labels=3)).eval()(
            **tensors(batch(config)), labels=torch.tensor([[0, 1, 2]])
        )
    # through the model, the shared label rule (bert_common.inputs.check_labels) speaks first
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\).*\(num_labels\)"):
        model(**tensors(batch(config)), labels=torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="num_labels=3"):
        losses.sequence_classification_loss(torch.zeros(3, 3), torch.tensor([0, 1, 3]), config)


def test_the_eight_shared_loss_functions():
    """losses.py has exactly the functions of bert_common.heads.LOSS_FUNCTIONS, with their signatures."""
    public = {n for n, f in vars(losses).items() if n.endswith("_loss") and inspect.isfunction(f)}
    assert public == set(LOSS_FUNCTIONS)
    params = {name: list(inspect.signature(getattr(losses, name)).parameters) for name in LOSS_FUNCTIONS}
    assert params["pretraining_loss"] == [
        "prediction_logits",
        "seq_relationship_logits",
        "labels",
        "next_sentence_label",
    ]
    assert params["sequence_classification_loss"] == ["logits", "labels", "config"]
    assert params["question_answering_loss"] == [
        "start_logits",
        "end_logits",
        "start_positions",
        "end_positions",
    ]
    assert all(
        params[n] == ["logits", "labels"]
        for n in LOSS_FUNCTIONS
        if n not in ("pretraining_loss", "sequence_classification_loss", "question_answering_loss")
    )


def test_pretraining_loss_function_names_its_labels():
    logits, nsp = torch.randn(2, 3, 5), torch.randn(2, 2)
    labels = torch.tensor([[-100, 4, -100], [0, -100, -100]])
    expected = losses.masked_lm_loss(logits, labels) + losses.next_sentence_loss(nsp, torch.tensor([1, 0]))
    assert torch.equal(losses.pretraining_loss(logits, nsp, labels, torch.tensor([1, 0])), expected)
    with pytest.raises(ValueError, match="next_sentence_label holds 2"):
        losses.pretraining_loss(logits, nsp, labels, torch.tensor([1, 2]))


def test_nothing_to_score_is_a_zero_loss_with_zero_gradients_not_nan():
    """Issue 13: every label -100 gave NaN (0 / 0, as Transformers and F.cross_entropy do); the convention
    of bert_common.losses is sum / max(count, 1) = 0. The right value is 0 by definition of an empty sum."""
    logits = torch.randn(2, 3, 5, requires_grad=True)
    ignored = torch.full((2, 3), -100)
    causal_ignored = torch.tensor([[4, -100, -100], [0, -100, -100]])  # only labels[:, 1:] are scored
    for loss in (
        losses.masked_lm_loss(logits, ignored),
        losses.token_classification_loss(logits, ignored),
        losses.causal_lm_loss(logits, causal_ignored),
    ):
        assert loss.dtype == torch.float32 and loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.equal(grad, torch.zeros_like(grad))
    nsp = torch.randn(2, 2)
    total = losses.pretraining_loss(logits, nsp, ignored, torch.tensor([0, 1]))
    assert torch.allclose(total, (nll(nsp[0], 0) + nll(nsp[1], 1)) / 2, atol=1e-6)
    # QA: every start and end position outside the sequence (clamped to T = 3 and ignored)
    qa = losses.question_answering_loss(
        torch.randn(2, 3), torch.randn(2, 3), torch.tensor([7, 3]), torch.tensor([3, 9])
    )
    assert qa.item() == 0.0


def test_token_classification_model_with_every_label_ignored_has_loss_zero():
    from bert_pt import BertForTokenClassification

    config = tiny(num_labels=3)
    model = BertForTokenClassification(config).eval()
    x = tensors(batch(config))
    out = model(**x, labels=torch.full(x["input_ids"].shape, -100))
    assert out.loss.item() == 0.0


def test_integer_regression_targets_are_cast_to_float():
    """As Transformers' PyTorch MSELoss promotes integer targets (the one behaviour of every twin): the
    loss of [1, 2, 3] is the mean squared error against 1.0, 2.0, 3.0, written out by hand."""
    scores = torch.tensor([[0.5], [2.5], [1.0]])
    expected = ((0.5 - 1) ** 2 + (2.5 - 2) ** 2 + (1.0 - 3) ** 2) / 3
    config = tiny(num_labels=1)
    for labels in (
        torch.tensor([1, 2, 3]),
        torch.tensor([1, 2, 3], dtype=torch.int32),
        torch.tensor([[1], [2], [3]]),
    ):
        assert abs(losses.sequence_classification_loss(scores, labels, config).item() - expected) < 1e-6
