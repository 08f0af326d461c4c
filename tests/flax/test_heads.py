"""The head tester (tests/common/head_spec.py) run on bert_flax, then the behaviour of the modules and
wrappers beyond the reference numbers: raw linen use, head masks, padding, per-query masks, output flags,
activations, dropout."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bert_common.config import SUPPORTED_ACTIVATIONS
from bert_common.heads import HEADS
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions
from bert_flax import MODEL_CLASSES, FlaxBertForSequenceClassification, FlaxBertModel, FlaxBertModule
from bert_flax.activations import get_activation
from bert_flax.masks import cross_attention_mask, self_attention_mask
from conversion.flax import flatten_tree
from tests.common.head_spec import (
    HEAD_NAMES,
    H,
    L,
    N,
    T,
    V,
    batch,
    expected_shapes,
    head_config,
    head_inputs,
    rows,
    tiny,
)
from tests.flax.utils import to_jax
from tests.helpers import max_abs_diff


@functools.cache
def _model(name: str):
    config = head_config(name)
    return MODEL_CLASSES[name](config, seed=0), config


def _shapes(output) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in output.items() if isinstance(v, jax.Array)}


# ------------------------------------------------------------------------------- the head tester


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_head_fields_shapes_and_loss(name):
    """Output class, field shapes, float32 and a finite positive loss with labels; no loss without."""
    model, config = _model(name)
    out = model(**to_jax(head_inputs(name, config)))
    assert type(out) is HEADS[name].output
    assert _shapes(out) == expected_shapes(name, config)
    assert all(v.dtype == jnp.float32 for v in out.values() if isinstance(v, jax.Array))
    if HEADS[name].labels:
        assert out.loss.shape == () and bool(jnp.isfinite(out.loss)) and float(out.loss) > 0
    bare = model(**to_jax(head_inputs(name, config, with_labels=False)))
    if HEADS[name].labels:
        assert bare.loss is None
    assert _shapes(bare) == expected_shapes(name, config, with_loss=False)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_optional_outputs_have_one_entry_per_layer(name):
    model, config = _model(name)
    out = model(**head_inputs(name, config), output_hidden_states=True, output_attentions=True)
    n = rows(name)
    assert len(out.hidden_states) == L + 1
    assert all(h.shape == (n, T, H) for h in out.hidden_states)
    assert len(out.attentions) == L
    assert all(a.shape == (n, N, T, T) for a in out.attentions)
    np.testing.assert_allclose(out.attentions[0].sum(-1), 1.0, atol=1e-6)
    assert float(jnp.abs(out.attentions[1][1, :, :, -2:]).max()) == 0.0  # row 1 ends in 2 padding positions


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_tuple_output_equals_the_dataclass(name):
    model, config = _model(name)
    inputs = head_inputs(name, config)
    as_dict = model(**inputs, output_hidden_states=True)
    as_tuple = model(**inputs, output_hidden_states=True, return_dict=False)
    assert isinstance(as_tuple, tuple)
    reference = as_dict.to_tuple()
    assert len(as_tuple) == len(reference)
    for got, want in zip(jax.tree_util.tree_leaves(as_tuple), jax.tree_util.tree_leaves(reference)):
        assert max_abs_diff(got, want) == 0.0


def test_next_sentence_label_is_an_alias_of_labels():
    model, config = _model("BertForNextSentencePrediction")
    inputs = head_inputs("BertForNextSentencePrediction", config)
    labels = inputs.pop("labels")
    a = model(**inputs, labels=labels).loss
    b = model(**inputs, next_sentence_label=labels).loss
    assert float(a) == float(b)
    with pytest.raises(ValueError, match="is another name of .labels.; pass only one of them"):
        model(**inputs, labels=labels, next_sentence_label=labels)


# ------------------------------------------------------------------------------------ linen module


@pytest.fixture(scope="module")
def classifier():
    return FlaxBertForSequenceClassification(tiny(num_labels=3), seed=0)


@pytest.fixture(scope="module")
def inputs():
    """Two rows of 9 tokens; row 1 ends in 3 padding positions."""
    return batch(tiny(), batch_size=2, length=9, pad=3)


def test_raw_module_init_apply_and_parameter_paths(inputs):
    module = FlaxBertModule(tiny())
    variables = module.init(jax.random.key(0), inputs["input_ids"])
    paths = set(flatten_tree(variables["params"]))
    assert {
        "embeddings/word_embeddings/embedding",
        "embeddings/LayerNorm/scale",
        "encoder/layer/0/attention/self/query/kernel",
        "encoder/layer/1/attention/output/LayerNorm/bias",
        "encoder/layer/1/intermediate/dense/kernel",
        "encoder/layer/1/output/dense/bias",
        "pooler/dense/kernel",
    } <= paths
    assert all(p.split("/")[0] in {"embeddings", "encoder", "pooler"} for p in paths)
    out = jax.jit(module.apply)(variables, **inputs)
    assert isinstance(out, BaseModelOutputWithPoolingAndCrossAttentions)
    wrapper = FlaxBertModel(tiny(), _do_init=False)
    via_wrapper = wrapper(**inputs, params=variables["params"]).last_hidden_state
    assert max_abs_diff(via_wrapper, out.last_hidden_state) <= 1e-6


def test_word_embedding_row_of_the_pad_token_starts_at_zero():
    model = FlaxBertModel(tiny(pad_token_id=3), _do_init=False)
    params = model.init_weights(jax.random.key(1))
    table = params["embeddings"]["word_embeddings"]["embedding"]
    assert float(jnp.abs(table[3]).max()) == 0.0 and float(jnp.abs(table[4]).max()) > 0.0


# ---------------------------------------------------------------------------------- masks and heads


def test_head_mask_zeroes_exactly_the_masked_heads(classifier, inputs):
    base = classifier(**inputs, output_attentions=True)
    head_mask = np.ones((2, 4), np.float32)
    head_mask[0, 1] = 0.0
    masked = classifier(**inputs, head_mask=head_mask, output_attentions=True)
    assert float(jnp.abs(masked.attentions[0][:, 1]).max()) == 0.0
    for h in (0, 2, 3):  # the other heads of the layer see the same input
        assert max_abs_diff(masked.attentions[0][:, h], base.attentions[0][:, h]) <= 1e-7
    assert max_abs_diff(masked.attentions[1], base.attentions[1]) > 1e-5  # layer 1 sees a changed input
    ones = classifier(**inputs, head_mask=np.ones((2, 4), np.float32), output_attentions=True)
    assert max_abs_diff(ones.logits, base.logits) <= 1e-7
    every_layer = classifier(
        **inputs, head_mask=np.array([1.0, 0.0, 1.0, 1.0], np.float32), output_attentions=True
    )
    both = np.ones((2, 4), np.float32)
    both[:, 1] = 0.0
    per_layer = classifier(**inputs, head_mask=both, output_attentions=True)
    assert max_abs_diff(every_layer.logits, per_layer.logits) <= 1e-7
    assert float(jnp.abs(every_layer.attentions[1][:, 1]).max()) == 0.0


def test_mask_bias_is_finfo_min_of_the_computation_dtype():
    mask = jnp.array([[1, 0]])
    for dtype in (jnp.float32, jnp.bfloat16, jnp.float16):
        for bias in (
            self_attention_mask(mask, 1, 1, 2, dtype=dtype),
            cross_attention_mask(mask, 1, 2, dtype),
        ):
            assert bias.shape == (1, 1, 1, 2) and bias.dtype == dtype
            assert float(bias[0, 0, 0, 0]) == 0.0 and float(bias[0, 0, 0, 1]) == float(jnp.finfo(dtype).min)
    causal = np.asarray(self_attention_mask(None, 1, 3, 3, causal=True)[0, 0]) == 0.0  # [T, K] visible
    np.testing.assert_array_equal(causal, np.tril(np.ones((3, 3), bool)))


def test_per_query_mask_equals_the_padding_mask_it_spells_out(classifier, inputs):
    """A [B, T, K] mask whose rows repeat the [B, K] padding mask gives the same numbers; masking one
    query's key hides exactly that key from that query."""
    mask = inputs["attention_mask"]
    per_query = np.repeat(mask[:, None, :], mask.shape[1], axis=1)  # [B, T, K]
    base = classifier(**inputs, output_attentions=True)
    same = classifier(inputs["input_ids"], per_query, inputs["token_type_ids"], output_attentions=True)
    assert max_abs_diff(same.logits, base.logits) <= 1e-6
    per_query[0, 2, 4] = 0
    out = classifier(inputs["input_ids"], per_query, inputs["token_type_ids"], output_attentions=True)
    assert float(jnp.abs(out.attentions[0][0, :, 2, 4]).max()) == 0.0
    assert float(jnp.abs(out.attentions[0][0, :, 3, 4]).min()) > 0.0


def test_fully_padded_row_is_finite_and_attends_uniformly(classifier, inputs):
    mask = inputs["attention_mask"].copy()
    mask[0] = 0
    out = classifier(inputs["input_ids"], mask, output_attentions=True, output_hidden_states=True)
    assert all(bool(jnp.isfinite(x).all()) for x in jax.tree_util.tree_leaves(out))
    np.testing.assert_allclose(out.attentions[0][0], 1.0 / mask.shape[1], rtol=1e-6)


def test_padded_positions_do_not_influence_real_tokens(classifier, inputs):
    changed = inputs["input_ids"].copy()
    changed[1, -3:] = [11, 12, 13]  # row 1's last three positions are padding
    a = classifier(**inputs, output_hidden_states=True)
    b = classifier(changed, inputs["attention_mask"], inputs["token_type_ids"], output_hidden_states=True)
    assert max_abs_diff(a.logits, b.logits) <= 1e-6
    assert max_abs_diff(a.hidden_states[-1][1, :-3], b.hidden_states[-1][1, :-3]) <= 1e-6


def test_inputs_embeds_and_explicit_positions_equal_the_defaults(inputs):
    model = FlaxBertModel(tiny(), seed=3)
    base = model(**inputs).last_hidden_state
    embeds = model.params["embeddings"]["word_embeddings"]["embedding"][inputs["input_ids"]]
    via_embeds = model(
        attention_mask=inputs["attention_mask"], token_type_ids=inputs["token_type_ids"], inputs_embeds=embeds
    )
    assert max_abs_diff(via_embeds.last_hidden_state, base) <= 1e-6
    positions = np.arange(9)[None].repeat(2, 0)
    assert max_abs_diff(model(**inputs, position_ids=positions).last_hidden_state, base) <= 1e-6
    assert max_abs_diff(model(**inputs, position_ids=positions[:1]).last_hidden_state, base) <= 1e-6
    shifted = model(**inputs, position_ids=positions + 1).last_hidden_state
    assert max_abs_diff(shifted, base) > 1e-3


def test_output_flags_default_to_the_config(inputs):
    model = FlaxBertModel(tiny(output_hidden_states=True, return_dict=False), seed=3)
    out = model(**inputs)
    assert isinstance(out, tuple) and len(out) == 3  # last_hidden_state, pooler_output, hidden_states
    assert len(out[2]) == 3
    no_pool = FlaxBertModel(tiny(), add_pooling_layer=False, _do_init=False)
    assert "pooler" not in no_pool.params_shape_tree


@pytest.mark.parametrize("name", SUPPORTED_ACTIVATIONS)
def test_activations_follow_their_formulas(name):
    x = np.linspace(-4, 4, 17)
    erf_gelu = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    tanh_gelu = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    expected = {
        "gelu": erf_gelu,
        "gelu_new": tanh_gelu,
        "gelu_pytorch_tanh": tanh_gelu,
        "gelu_fast": tanh_gelu,
        "relu": np.maximum(x, 0),
        "silu": x / (1 + np.exp(-x)),
        "swish": x / (1 + np.exp(-x)),
        "tanh": np.tanh(x),
        "quick_gelu": x / (1 + np.exp(-1.702 * x)),
    }[name]
    np.testing.assert_allclose(
        np.asarray(get_activation(name)(jnp.asarray(x, jnp.float32))), expected, atol=2e-6
    )


def test_dropout_runs_only_in_training_and_follows_the_key(inputs):
    model = FlaxBertForSequenceClassification(tiny(num_labels=3, hidden_dropout_prob=0.3), seed=4)
    eval_a, eval_b = model(**inputs).logits, model(**inputs).logits
    assert max_abs_diff(eval_a, eval_b) == 0.0
    train = lambda seed: model(**inputs, train=True, dropout_rng=jax.random.key(seed)).logits  # noqa: E731
    assert max_abs_diff(train(0), train(0)) == 0.0
    assert max_abs_diff(train(0), train(1)) > 1e-4
    assert max_abs_diff(train(0), eval_a) > 1e-4
    with pytest.raises(ValueError, match="dropout_rng"):
        model(**inputs, train=True)


# ------------------------------------------------------------------- Transformers' model API (issue 12)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_num_parameters_counted_by_hand(name):
    """The count of bert_pt (and Transformers) for the same config, worked out by hand."""
    from tests.common.test_api_matrix import bert_parameter_count

    model, config = _model(name)
    count, tables = bert_parameter_count(config, name)
    assert model.num_parameters() == count
    assert model.num_parameters(only_trainable=True) == count  # every Flax parameter is trainable
    assert model.num_parameters(exclude_embeddings=True) == count - tables
    lazy = MODEL_CLASSES[name](config, _do_init=False)  # read off the shape tree: no params needed
    assert lazy.num_parameters() == count


def test_main_input_name_and_can_generate():
    for name, cls in MODEL_CLASSES.items():
        assert cls.main_input_name == "input_ids"
        assert cls.can_generate() is (name == "BertLMHeadModel")


def test_to_bf16_fp16_fp32_cast_floating_params_only_where_masked():
    model = MODEL_CLASSES["BertForMaskedLM"](tiny())
    params = model.params
    flat = flatten_tree(params)
    half = flatten_tree(model.to_bf16(params))
    assert {v.dtype for v in half.values()} == {jnp.dtype(jnp.bfloat16)}
    assert {v.dtype for v in flatten_tree(model.to_fp16(params)).values()} == {jnp.dtype(jnp.float16)}
    back = flatten_tree(model.to_fp32(model.to_bf16(params)))
    for path, value in flat.items():
        assert back[path].dtype == jnp.float32
        # bfloat16 keeps 8 significant bits: a round trip is the value rounded to the nearest bf16
        want = np.asarray(value).astype(jnp.bfloat16).astype(np.float32)
        np.testing.assert_array_equal(np.asarray(back[path]), want)
    # Transformers' mask idiom: cast everything but the LayerNorm scales and biases
    mask = jax.tree_util.tree_map_with_path(
        lambda path, _: not any(getattr(k, "key", None) in ("LayerNorm", "bias") for k in path), params
    )
    masked = flatten_tree(model.to_bf16(params, mask))
    for path, value in masked.items():
        keep = "LayerNorm" in path or path.endswith("bias")
        assert value.dtype == (jnp.float32 if keep else jnp.bfloat16), path
    assert flatten_tree(params)[next(iter(flat))].dtype == jnp.float32  # the input is not changed
    with pytest.raises(ValueError, match="mask must have the structure of params"):
        model.to_bf16(params, {"bert": True})


def test_input_and_output_embeddings():
    model = MODEL_CLASSES["BertForMaskedLM"](tiny())
    table = model.get_input_embeddings()
    assert table.shape == (V, H)
    assert model.get_output_embeddings() is table  # tied
    assert MODEL_CLASSES["BertModel"](tiny()).get_output_embeddings() is None
    new = np.random.default_rng(0).normal(size=(V + 2, H)).astype("float32")
    model.set_input_embeddings(new)
    np.testing.assert_array_equal(np.asarray(model.get_input_embeddings()), new)
    assert model.config.vocab_size == V + 2
    assert model(np.array([[1, V + 1, 5]])).logits.shape == (1, 3, V + 2)
    with pytest.raises(ValueError, match=r"set_input_embeddings expects a \[V, 32\] matrix"):
        model.set_input_embeddings(np.zeros((V, H + 1)))
    with pytest.raises(TypeError, match="FlaxBertModel has no output embeddings"):
        MODEL_CLASSES["BertModel"](tiny()).set_output_embeddings(new)
    untied = MODEL_CLASSES["BertForMaskedLM"](tiny(tie_word_embeddings=False))
    decoder = np.arange(V * H, dtype="float32").reshape(V, H) / (V * H)
    untied.set_output_embeddings(decoder)  # [V, H], bert_pt's layout; stored as the kernel [H, V]
    np.testing.assert_array_equal(
        np.asarray(untied.params["cls"]["predictions"]["decoder"]["kernel"]), decoder.T
    )
    np.testing.assert_array_equal(np.asarray(untied.get_output_embeddings()), decoder)


@pytest.mark.parametrize("tied", [True, False])
def test_resize_token_embeddings_keeps_old_rows_and_adds_mean_rows(tied):
    """Hand-computed: 101 tokens padded to a multiple of 8 -> 104 rows; rows 0..98 kept, rows 99..103
    at the mean of the old rows (bert_pt's mean_resizing=True), decoder bias padded with zeros."""
    model = MODEL_CLASSES["BertForMaskedLM"](tiny(tie_word_embeddings=tied))
    ids = np.array([[1, 7, 9, 2]])
    before = np.asarray(model(ids).logits)
    old = np.asarray(model.get_input_embeddings()).copy()
    table = np.asarray(model.resize_token_embeddings(101, pad_to_multiple_of=8))
    assert table.shape == (104, H) and model.config.vocab_size == 104
    np.testing.assert_array_equal(table[:V], old)
    np.testing.assert_allclose(table[V:], np.broadcast_to(old.mean(axis=0), (5, H)), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(model.params["cls"]["predictions"]["bias"])[V:], 0)
    after = np.asarray(model(ids).logits)
    assert after.shape == (1, 4, 104)
    assert max_abs_diff(after[..., :V], before) < 1e-5  # the old vocabulary scores as before
    if not tied:
        assert model.params["cls"]["predictions"]["decoder"]["kernel"].shape == (H, 104)
    model.resize_token_embeddings(50)
    np.testing.assert_array_equal(np.asarray(model.get_input_embeddings()), old[:50])
    assert model(ids).logits.shape == (1, 4, 50)


def test_resize_token_embeddings_random_rows_and_bad_arguments():
    model = MODEL_CLASSES["BertModel"](tiny())
    table = np.asarray(model.resize_token_embeddings(V + 400, mean_resizing=False))
    assert abs(float(table[V:].std()) - model.config.initializer_range) < 0.002
    with pytest.raises(ValueError, match="pad_to_multiple_of must be a positive int, got 0"):
        model.resize_token_embeddings(10, pad_to_multiple_of=0)
    with pytest.raises(ValueError, match="new_num_tokens must be a positive int, got True"):
        model.resize_token_embeddings(True)
