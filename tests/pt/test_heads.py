"""The head tester (tests/common/head_spec.py) run on bert_pt, then the PyTorch-specific checks: every
optional output, tuple mode, and the forward arguments that change nothing when given their default."""

from __future__ import annotations

import pytest
import torch

from bert_common.heads import HEADS
from bert_pt import (
    MODEL_CLASSES,
    BertForMultipleChoice,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
    model_class,
)
from tests.common.head_spec import (
    HEAD_NAMES,
    MC_BATCH,
    MC_CHOICES,
    B,
    H,
    L,
    N,
    T,
    batch,
    expected_shapes,
    head_config,
    head_inputs,
    rows,
    tiny,
)
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import numpy, tensors


def _model(name: str, **changes):
    config = head_config(name, **changes)
    return MODEL_CLASSES[name](config).eval(), config


def _tensor_shapes(output) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in output.items() if isinstance(v, torch.Tensor)}


# ------------------------------------------------------------------------------- the head tester


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_head_fields_shapes_and_loss(name):
    """Output class, field shapes, float32 and a finite positive loss with labels; no loss without."""
    model, config = _model(name)
    out = model(**tensors(head_inputs(name, config)))
    assert type(out) is HEADS[name].output
    assert _tensor_shapes(out) == expected_shapes(name, config)
    assert all(v.dtype == torch.float32 for v in out.values() if isinstance(v, torch.Tensor))
    if HEADS[name].labels:
        assert out.loss.shape == () and torch.isfinite(out.loss) and out.loss > 0
    bare = model(**tensors(head_inputs(name, config, with_labels=False)))
    if HEADS[name].labels:
        assert bare.loss is None
    assert _tensor_shapes(bare) == expected_shapes(name, config, with_loss=False)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_optional_outputs_have_one_entry_per_layer(name):
    model, config = _model(name)
    out = model(**tensors(head_inputs(name, config)), output_hidden_states=True, output_attentions=True)
    n = rows(name)
    assert len(out.hidden_states) == L + 1
    assert all(h.shape == (n, T, H) for h in out.hidden_states)
    assert len(out.attentions) == L
    assert all(a.shape == (n, N, T, T) for a in out.attentions)
    # attention rows are probability distributions that give padded keys no weight
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(()), atol=1e-6)
    assert torch.all(out.attentions[1][1, :, :, -2:] == 0)  # sequence 1 ends in 2 padding positions


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_tuple_mode_returns_the_fields_in_order(name):
    """return_dict=False gives `to_tuple()`: the fields that are not None, loss first (seed 004 style)."""
    model, config = _model(name)
    x = tensors(head_inputs(name, config))
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


def test_registry_takes_every_spelling():
    assert (
        model_class("TFBertForMaskedLM")
        is model_class("FlaxBertForMaskedLM")
        is MODEL_CLASSES["BertForMaskedLM"]
    )
    assert model_class("FlaxBertForCausalLM") is BertLMHeadModel
    assert all(cls.head_name == name for name, cls in MODEL_CLASSES.items())
    with pytest.raises(ValueError, match="unknown BERT head"):
        model_class("BertForEverything")


# ------------------------------------------------------------------------------ per-head extras


def test_bert_model_defaults_and_no_pooler():
    config = tiny()
    out = BertModel(config).eval()(**tensors(batch(config)))
    assert out.hidden_states is None and out.attentions is None and out.past_key_values is None
    no_pool = BertModel(config, add_pooling_layer=False).eval()(**tensors(batch(config)))
    assert no_pool.pooler_output is None and "pooler_output" not in no_pool


def test_lm_head_cache():
    model, config = _model("BertLMHeadModel")
    x = tensors(head_inputs("BertLMHeadModel", config))
    assert model(**x).past_key_values is None, "labels switch the cache off"
    x.pop("labels")
    cached = model(**x, use_cache=True)
    assert len(cached.past_key_values) == L
    assert all(k.shape == (B, N, T, H // N) for layer in cached.past_key_values for k in layer)


@pytest.mark.parametrize(
    "num_labels, labels, problem",
    [
        (3, torch.tensor([0, 2, 1]), "single_label_classification"),
        (3, torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 0]]), "multi_label_classification"),
        (1, torch.tensor([0.5, -1.0, 2.0]), "regression"),
    ],
)
def test_sequence_classification(num_labels, labels, problem):
    config = tiny(num_labels=num_labels)
    out = BertForSequenceClassification(config).eval()(**tensors(batch(config)), labels=labels)
    assert out.logits.shape == (B, num_labels)
    assert out.loss.shape == () and torch.isfinite(out.loss) and out.loss > 0
    assert config.problem_type is None, "the config is not mutated by inferring the problem type"


def test_multiple_choice_flattens_choices():
    model, config = _model("BertForMultipleChoice")
    out = model(**tensors(head_inputs("BertForMultipleChoice", config)), output_hidden_states=True)
    assert out.logits.shape == (MC_BATCH, MC_CHOICES)
    assert out.hidden_states[0].shape == (MC_BATCH * MC_CHOICES, T, H)


def test_token_classification_ignores_minus_100_labels():
    model, config = _model("BertForTokenClassification")
    x = tensors(head_inputs("BertForTokenClassification", config))
    x["labels"][1, -2:] = -100
    out = model(**x)
    assert out.loss.shape == () and torch.isfinite(out.loss) and out.loss > 0


def test_next_sentence_label_is_an_alias_of_labels():
    model, config = _model("BertForNextSentencePrediction")
    x = tensors(head_inputs("BertForNextSentencePrediction", config))
    labels = x.pop("labels")
    assert torch.equal(model(**x, labels=labels).loss, model(**x, next_sentence_label=labels).loss)


def test_tuple_mode_of_bert_model_is_sequence_then_pooled():
    """The pytorch-pretrained-BERT unpacking of seed 004: `encoded_layers, pooled = model(tokens, segments)`."""
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
    encoded, pooled = model(x["input_ids"], None, x["token_type_ids"], return_dict=False)
    out = model(x["input_ids"], token_type_ids=x["token_type_ids"])
    assert torch.equal(encoded, out.last_hidden_state) and torch.equal(pooled, out.pooler_output)
    start, end = BertForQuestionAnswering(head_config("BertForQuestionAnswering")).eval()(
        x["input_ids"], return_dict=False
    )
    assert start.shape == end.shape == (B, T)


def test_config_defaults_drive_optional_outputs():
    config = tiny(output_hidden_states=True, output_attentions=True, return_dict=False)
    out = BertModel(config).eval()(**tensors(batch(config)))
    assert isinstance(out, tuple) and len(out) == 4  # sequence, pooled, hidden states, attentions
    assert len(out[2]) == L + 1 and len(out[3]) == L


# ----------------------------------------------------------------- arguments that change nothing


def test_inputs_embeds_give_the_same_result_as_input_ids():
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
    embeds = model.get_input_embeddings()(x["input_ids"])
    a = model(**x).last_hidden_state
    b = model(inputs_embeds=embeds, attention_mask=x["attention_mask"], token_type_ids=x["token_type_ids"])
    assert torch.equal(a, b.last_hidden_state)


def test_default_positions_and_token_types():
    """Omitted position_ids are 0..T-1 and omitted token_type_ids are zeros."""
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
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
    ids = tensors(batch(config, pad_row=None))["input_ids"]
    a = model(ids).last_hidden_state
    b = model(ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert max_abs_diff(numpy(a), numpy(b)) <= ATOL


def test_padding_does_not_change_the_real_tokens():
    """Row 1 padded with two tokens gives its first five positions the same states as the unpadded row."""
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
    full = model(**x).last_hidden_state
    short = model(
        x["input_ids"][1:2, : T - 2], token_type_ids=x["token_type_ids"][1:2, : T - 2]
    ).last_hidden_state
    assert max_abs_diff(numpy(full[1, : T - 2]), numpy(short[0])) <= ATOL


def test_head_mask_silences_a_head():
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
    head_mask = torch.ones(L, N)
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
    x = tensors(batch(config))
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
    out = model(**tensors(batch(tiny())))
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
    x = tensors(batch(config))
    per_query = x["attention_mask"][:, None, :].expand(-1, T, -1)  # [B, T, K]
    a = model(**x).last_hidden_state
    b = model(x["input_ids"], attention_mask=per_query, token_type_ids=x["token_type_ids"]).last_hidden_state
    assert torch.equal(a, b)


# ------------------------------------------------------------------- Transformers' model API (issue 12)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_num_parameters_counted_by_hand(name):
    from tests.common.test_api_matrix import bert_parameter_count

    config = head_config(name)
    model = model_class(name)(config)
    count, tables = bert_parameter_count(config, name)
    assert model.num_parameters() == count
    assert model.num_parameters(exclude_embeddings=True) == count - tables
    model.base_model.embeddings.requires_grad_(False)
    assert model.num_parameters(only_trainable=True) == count - tables - 2 * config.hidden_size


def test_memory_footprint_in_bytes():
    model = BertModel(tiny())
    params = model.num_parameters()
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert buffers > 0  # position_ids / token_type_ids
    assert model.get_memory_footprint(return_buffers=False) == 4 * params
    assert model.get_memory_footprint() == 4 * params + buffers
    model.to(torch.bfloat16)
    assert model.get_memory_footprint(return_buffers=False) == 2 * params


def test_enable_input_require_grads_reaches_frozen_embeddings():
    model = BertModel(tiny())
    model.requires_grad_(False)
    ids = torch.tensor([[1, 5, 7, 2]])
    assert not model(ids).last_hidden_state.requires_grad
    model.enable_input_require_grads()
    model.enable_input_require_grads()  # twice: still one hook
    assert len(model.get_input_embeddings()._forward_hooks) == 1
    out = model(ids).last_hidden_state
    assert out.requires_grad
    model.disable_input_require_grads()
    assert not model(ids).last_hidden_state.requires_grad
    model.disable_input_require_grads()  # nothing to remove: no error


def test_main_input_name_and_can_generate():
    for name, cls in MODEL_CLASSES.items():
        assert cls.main_input_name == "input_ids"
        assert cls.can_generate() is (name == "BertLMHeadModel")
        assert cls.head().name == name


def test_set_output_embeddings_on_a_head_without_decoder():
    with pytest.raises(TypeError, match="BertModel has no output embeddings"):
        BertModel(tiny()).set_output_embeddings(torch.nn.Linear(32, 99))
