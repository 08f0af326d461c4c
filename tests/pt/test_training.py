"""Fine-tuning works: a few optimizer steps on a toy batch reduce the masked-LM and classification losses."""

from __future__ import annotations

import torch

from bert_pt import BertForMaskedLM, BertForSequenceClassification
from tests.common.head_spec import batch, tiny
from tests.pt.utils import tensors


def _train(model, inputs, steps: int = 15) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history


def test_masked_lm_loss_goes_down():
    config = tiny(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    model = BertForMaskedLM(config)
    x = tensors(batch(config, batch_size=4, length=10))
    labels = torch.full_like(x["input_ids"], -100)
    labels[:, [2, 5]] = x["input_ids"][:, [2, 5]]
    x["input_ids"][:, [2, 5]] = 3  # the [MASK] of this toy vocabulary
    history = _train(model, {**x, "labels": labels})
    assert history[-1] < 0.5 * history[0], history


def test_sequence_classification_loss_goes_down_and_fits_the_batch():
    config = tiny(num_labels=3, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    model = BertForSequenceClassification(config)
    x = tensors(batch(config, batch_size=6, length=8))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    history = _train(model, {**x, "labels": labels})
    assert history[-1] < 0.5 * history[0], history
    model.eval()
    assert torch.equal(model(**x).logits.argmax(-1), labels)


def test_only_trainable_parameters_move():
    config = tiny(num_labels=2)
    model = BertForSequenceClassification(config)
    for p in model.bert.parameters():
        p.requires_grad_(False)
    frozen = {k: v.clone() for k, v in model.bert.state_dict().items()}
    _train(model, {**tensors(batch(config)), "labels": torch.tensor([0, 1, 0])}, steps=3)
    assert all(torch.equal(v, model.bert.state_dict()[k]) for k, v in frozen.items())
    assert model.num_parameters(only_trainable=True) == 32 * 2 + 2
