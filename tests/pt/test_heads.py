"""The model tester: a tiny config, one check per head (output shapes and loss), every optional output,
tuple mode, and the forward arguments that change nothing when given their default value."""

from __future__ import annotations

import pytest
import torch

from bert_common.heads import HEADS
from bert_pt import (
    MODEL_CLASSES,
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
)
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import batch, numpy, tiny

B, T, H, V, N, LAYERS = 3, 7, 32, 99, 4, 2


def _scalar_loss(loss):
    assert loss.shape == () and torch.isfinite(loss) and loss > 0


class TestModelTester:
    """One check per head: shapes of every field, and a loss when labels are given."""

    def check_bert_model(self):
        config = tiny()
        model = BertModel(config).eval()
        out = model(**batch(config))
        assert out.last_hidden_state.shape == (B, T, H)
        assert out.pooler_output.shape == (B, H)
        assert out.hidden_states is None and out.attentions is None and out.past_key_values is None
        no_pool = BertModel(config, add_pooling_layer=False).eval()(**batch(config))
        assert no_pool.pooler_output is None and "pooler_output" not in no_pool

    def test_bert_model(self):
        self.check_bert_model()

    def test_pretraining(self):
        config = tiny()
        x = batch(config)
        labels = torch.full((B, T), -100)
        labels[:, 1] = 5
        out = BertForPreTraining(config).eval()(
            **x, labels=labels, next_sentence_label=torch.tensor([0, 1, 0])
        )
        assert out.prediction_logits.shape == (B, T, V)
        assert out.seq_relationship_logits.shape == (B, 2)
        _scalar_loss(out.loss)
        assert BertForPreTraining(config).eval()(**x).loss is None

    def test_lm_head(self):
        config = tiny(is_decoder=True)
        x = batch(config)
        out = BertLMHeadModel(config).eval()(**x, labels=x["input_ids"])
        assert out.logits.shape == (B, T, V)
        _scalar_loss(out.loss)
        assert out.past_key_values is None, "labels switch the cache off"
        cached = BertLMHeadModel(config).eval()(**x, use_cache=True)
        assert len(cached.past_key_values) == LAYERS
        assert all(k.shape == (B, N, T, H // N) for layer in cached.past_key_values for k in layer)

    def test_masked_lm(self):
        config = tiny()
        labels = torch.full((B, T), -100)
        labels[0, 3] = 42
        out = BertForMaskedLM(config).eval()(**batch(config), labels=labels)
        assert out.logits.shape == (B, T, V)
        _scalar_loss(out.loss)

    def test_next_sentence(self):
        config = tiny()
        out = BertForNextSentencePrediction(config).eval()(**batch(config), labels=torch.tensor([0, 1, 1]))
        assert out.logits.shape == (B, 2)
        _scalar_loss(out.loss)

    @pytest.mark.parametrize(
        "num_labels, labels, problem",
        [
            (3, torch.tensor([0, 2, 1]), "single_label_classification"),
            (3, torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 0]]), "multi_label_classification"),
            (1, torch.tensor([0.5, -1.0, 2.0]), "regression"),
        ],
    )
    def test_sequence_classification(self, num_labels, labels, problem):
        config = tiny(num_labels=num_labels)
        out = BertForSequenceClassification(config).eval()(**batch(config), labels=labels)
        assert out.logits.shape == (B, num_labels)
        _scalar_loss(out.loss)
        assert config.problem_type is None, "the config is not mutated by inferring the problem type"

    def test_multiple_choice(self):
        config = tiny()
        x = {k: v.unsqueeze(1).expand(-1, 4, -1).contiguous() for k, v in batch(config).items()}
        out = BertForMultipleChoice(config).eval()(
            **x, labels=torch.tensor([0, 3, 1]), output_hidden_states=True
        )
        assert out.logits.shape == (B, 4)
        assert out.hidden_states[0].shape == (B * 4, T, H)
        _scalar_loss(out.loss)

    def test_token_classification(self):
        config = tiny(num_labels=5)
        labels = torch.randint(0, 5, (B, T))
        labels[1, -2:] = -100
        out = BertForTokenClassification(config).eval()(**batch(config), labels=labels)
        assert out.logits.shape == (B, T, 5)
        _scalar_loss(out.loss)

    def test_question_answering(self):
        config = tiny()
        out = BertForQuestionAnswering(config).eval()(
            **batch(config), start_positions=torch.tensor([1, 2, 3]), end_positions=torch.tensor([2, 2, 5])
        )
        assert out.start_logits.shape == (B, T) and out.end_logits.shape == (B, T)
        _scalar_loss(out.loss)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_optional_outputs_have_one_entry_per_layer(name):
    config = tiny(is_decoder=name == "BertLMHeadModel")
    model = MODEL_CLASSES[name](config).eval()
    x = batch(config)
    if name == "BertForMultipleChoice":
        x = {k: v.unsqueeze(1).expand(-1, 2, -1).contiguous() for k, v in x.items()}
    rows = B * 2 if name == "BertForMultipleChoice" else B
    out = model(**x, output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == LAYERS + 1
    assert all(h.shape == (rows, T, H) for h in out.hidden_states)
    assert len(out.attentions) == LAYERS
    assert all(a.shape == (rows, N, T, T) for a in out.attentions)
    # attention rows are probability distributions that give padded keys no weight
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(()), atol=1e-6)
    padded_row = 1 if name != "BertForMultipleChoice" else 2
    assert torch.all(out.attentions[1][padded_row, :, :, -2:] == 0)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_tuple_mode_returns_the_fields_in_order(name):
    """return_dict=False gives `to_tuple()`: the fields that are not None, loss first (seed 004 style)."""
    config = tiny(is_decoder=name == "BertLMHeadModel")
    model = MODEL_CLASSES[name](config).eval()
    x = batch(config)
    if name == "BertForMultipleChoice":
        x = {k: v.unsqueeze(1).expand(-1, 2, -1).contiguous() for k, v in x.items()}
    as_dict = model(**x, output_hidden_states=True)
    as_tuple = model(**x, output_hidden_states=True, return_dict=False)
    assert isinstance(as_tuple, tuple)
    assert len(as_tuple) == len(as_dict.to_tuple())
    for got, (field, want) in zip(as_tuple, as_dict.items()):
        assert _same(got, want), field


def _same(a, b) -> bool:
    """Equal tensors, or equally nested tuples of equal tensors (hidden states, the decoder cache)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))


def test_tuple_mode_of_bert_model_is_sequence_then_pooled():
    """The pytorch-pretrained-BERT unpacking of seed 004: `encoded_layers, pooled = model(tokens, segments)`."""
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    encoded, pooled = model(x["input_ids"], None, x["token_type_ids"], return_dict=False)
    out = model(x["input_ids"], token_type_ids=x["token_type_ids"])
    assert torch.equal(encoded, out.last_hidden_state) and torch.equal(pooled, out.pooler_output)
    start, end = BertForQuestionAnswering(config).eval()(x["input_ids"], return_dict=False)
    assert start.shape == end.shape == (B, T)


def test_config_defaults_drive_optional_outputs():
    config = tiny(output_hidden_states=True, output_attentions=True, return_dict=False)
    out = BertModel(config).eval()(**batch(config))
    assert isinstance(out, tuple) and len(out) == 4  # sequence, pooled, hidden states, attentions
    assert len(out[2]) == LAYERS + 1 and len(out[3]) == LAYERS


def test_inputs_embeds_give_the_same_result_as_input_ids():
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    embeds = model.get_input_embeddings()(x["input_ids"])
    a = model(**x).last_hidden_state
    b = model(inputs_embeds=embeds, attention_mask=x["attention_mask"], token_type_ids=x["token_type_ids"])
    assert torch.equal(a, b.last_hidden_state)


def test_default_positions_and_token_types():
    """Omitted position_ids are 0..T-1 and omitted token_type_ids are zeros."""
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    explicit = model(
        x["input_ids"],
        attention_mask=x["attention_mask"],
        token_type_ids=torch.zeros_like(x["input_ids"]),
        position_ids=torch.arange(T).expand(B, -1),
    ).last_hidden_state
    implicit = model(x["input_ids"], attention_mask=x["attention_mask"]).last_hidden_state
    assert torch.equal(explicit, implicit)
    shifted = model(
        x["input_ids"], attention_mask=x["attention_mask"], position_ids=torch.arange(1, T + 1)[None]
    )
    assert max_abs_diff(numpy(shifted.last_hidden_state), numpy(implicit)) > 1e-3


def test_all_ones_mask_equals_no_mask():
    config = tiny()
    model = BertModel(config).eval()
    ids = batch(config, pad_row=None)["input_ids"]
    a = model(ids).last_hidden_state
    b = model(ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert max_abs_diff(numpy(a), numpy(b)) <= ATOL


def test_padding_does_not_change_the_real_tokens():
    """Row 1 padded with two tokens gives its first five positions the same states as the unpadded row."""
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    full = model(**x).last_hidden_state
    short = model(
        x["input_ids"][1:2, : T - 2], token_type_ids=x["token_type_ids"][1:2, : T - 2]
    ).last_hidden_state
    assert max_abs_diff(numpy(full[1, : T - 2]), numpy(short[0])) <= ATOL


def test_head_mask_silences_a_head():
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    head_mask = torch.ones(LAYERS, N)
    head_mask[1, 2] = 0
    out = model(**x, head_mask=head_mask, output_attentions=True)
    assert torch.all(out.attentions[1][:, 2] == 0)
    assert torch.all(out.attentions[1][:, 0].sum(-1) > 0.99)
    plain = model(**x).last_hidden_state
    assert max_abs_diff(numpy(out.last_hidden_state), numpy(plain)) > 1e-4
    ones = model(**x, head_mask=torch.ones(N)).last_hidden_state
    assert max_abs_diff(numpy(ones), numpy(plain)) <= ATOL


def test_dropout_only_in_train_mode():
    config = tiny(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    model = BertModel(config)
    x = batch(config)
    model.train()
    a, b = model(**x).last_hidden_state, model(**x).last_hidden_state
    assert not torch.equal(a, b)
    model.eval()
    c, d = model(**x).last_hidden_state, model(**x).last_hidden_state
    assert torch.equal(c, d)


def test_classifier_dropout_overrides_hidden_dropout():
    assert BertForSequenceClassification(tiny(hidden_dropout_prob=0.1)).dropout.p == 0.1
    assert BertForSequenceClassification(tiny(classifier_dropout=0.4)).dropout.p == 0.4
    assert BertForTokenClassification(tiny(classifier_dropout=0.25)).dropout.p == 0.25
    assert BertForMultipleChoice(tiny(classifier_dropout=0.5)).dropout.p == 0.5
    model = BertForSequenceClassification(tiny(classifier_dropout=1.0)).train()
    out = model(**batch(tiny()))
    # p = 1 drops the whole pooled vector: the logits are the classifier bias (zero at init)
    assert torch.equal(out.logits, model.classifier.bias.expand(B, -1))


def test_submodule_names_are_the_transformers_tree():
    names = set(dict(BertForPreTraining(tiny()).named_modules()))
    for expected in [
        "bert.embeddings.word_embeddings",
        "bert.encoder.layer.1.attention.self.query",
        "bert.encoder.layer.1.attention.output.LayerNorm",
        "bert.encoder.layer.0.intermediate.dense",
        "bert.encoder.layer.0.output.dense",
        "bert.pooler.dense",
        "cls.predictions.transform.dense",
        "cls.predictions.transform.LayerNorm",
        "cls.predictions.decoder",
        "cls.seq_relationship",
    ]:
        assert expected in names
    cross = dict(BertLMHeadModel(tiny(is_decoder=True, add_cross_attention=True)).named_modules())
    assert "bert.encoder.layer.0.crossattention.self.key" in cross
    assert "classifier" in dict(BertForSequenceClassification(tiny()).named_modules())
    assert "qa_outputs" in dict(BertForQuestionAnswering(tiny()).named_modules())


def test_per_query_3d_mask_equals_the_2d_mask():
    config = tiny()
    model = BertModel(config).eval()
    x = batch(config)
    per_query = x["attention_mask"][:, None, :].expand(-1, T, -1)  # [B, T, T]
    a = model(**x).last_hidden_state
    b = model(x["input_ids"], attention_mask=per_query, token_type_ids=x["token_type_ids"]).last_hidden_state
    assert torch.equal(a, b)
