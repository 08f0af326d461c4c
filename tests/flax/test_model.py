"""Behaviour of the modules and wrappers beyond the reference numbers: raw linen use, jit/grad/vmap,
head masks, padding, dropout, dtypes, gradient checkpointing and scanned layers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bert_common.config import SUPPORTED_ACTIVATIONS
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions, SequenceClassifierOutput
from bert_flax import FlaxBertForSequenceClassification, FlaxBertModel, FlaxBertModule
from bert_flax.attention import mask_to_bias
from bert_flax.layers import get_activation
from conversion.flax import flatten_tree, scan_layers
from tests.flax.utils import batch, tiny, tree_max_diff
from tests.helpers import ATOL, max_abs_diff


@pytest.fixture(scope="module")
def classifier():
    return FlaxBertForSequenceClassification(tiny(num_labels=3), seed=0)


@pytest.fixture(scope="module")
def inputs():
    return batch(tiny())


LABELS = np.array([1, 2], np.int32)


def _grads(model, params, inputs):
    return jax.jit(jax.grad(lambda p: model(**inputs, params=p, labels=LABELS).loss))(params)


@pytest.fixture(scope="module")
def plain_grads(classifier, inputs):
    """Gradients of the unrolled model without remat: what every variant must reproduce."""
    return _grads(classifier, classifier.params, inputs)


# ------------------------------------------------------------------------------------ linen module


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


# ------------------------------------------------------------------------------ jax transformations


def test_wrapper_jits_and_outputs_are_pytrees(classifier, inputs):
    eager = classifier(**inputs)
    jitted = jax.jit(lambda p, ids, mask, types: classifier(ids, mask, types, params=p).logits)
    logits = jitted(
        classifier.params, inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
    )
    assert max_abs_diff(logits, eager.logits) <= 1e-6
    whole = jax.jit(lambda p: classifier(**inputs, params=p, output_hidden_states=True))(classifier.params)
    assert isinstance(whole, SequenceClassifierOutput) and len(whole.hidden_states) == 3
    leaves = jax.tree_util.tree_leaves(whole)
    assert len(leaves) == 1 + 3  # logits + hidden states; None fields are empty subtrees


def test_gradient_matches_finite_difference(classifier, inputs, plain_grads):
    loss = jax.jit(lambda p: classifier(**inputs, params=p, labels=LABELS).loss)
    bias = classifier.params["classifier"]["bias"]
    eps = 1e-3

    def moved(delta: float) -> dict:
        return {
            **classifier.params,
            "classifier": {**classifier.params["classifier"], "bias": bias.at[1].add(delta)},
        }

    numeric = (float(loss(moved(eps))) - float(loss(moved(-eps)))) / (2 * eps)
    assert abs(float(plain_grads["classifier"]["bias"][1]) - numeric) <= 1e-3


def test_vmap_over_examples_equals_the_batch(classifier, inputs):
    one = lambda ids, mask: classifier(ids[None], mask[None]).logits[0]  # noqa: E731
    mapped = jax.vmap(one)(jnp.asarray(inputs["input_ids"]), jnp.asarray(inputs["attention_mask"]))
    assert max_abs_diff(mapped, classifier(inputs["input_ids"], inputs["attention_mask"]).logits) <= 1e-6


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
    mask = jnp.array([True, False])
    for dtype in (jnp.float32, jnp.bfloat16, jnp.float16):
        bias = mask_to_bias(mask, dtype)
        assert bias.dtype == dtype and float(bias[0]) == 0.0 and float(bias[1]) == float(jnp.finfo(dtype).min)


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


# ------------------------------------------------------------------------------------ dropout/dtype


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


def test_bfloat16_computation_and_parameters(inputs):
    config = tiny()
    reference = FlaxBertModel(config, seed=5)
    bf16 = FlaxBertModel(config, dtype=jnp.bfloat16, _do_init=False)
    out = bf16(**inputs, params=reference.params)
    assert out.last_hidden_state.dtype == jnp.bfloat16
    assert bool(jnp.isfinite(out.last_hidden_state.astype(jnp.float32)).all())
    # bf16 keeps 8 significant bits: LayerNorm outputs of size ~1 agree to a few hundredths.
    assert (
        max_abs_diff(out.last_hidden_state.astype(jnp.float32), reference(**inputs).last_hidden_state) <= 0.1
    )
    stored = FlaxBertModel(config, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16, _do_init=False)
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(stored.params_shape_tree)} == {
        jnp.dtype(jnp.bfloat16)
    }
    bf16_params = jax.tree_util.tree_map(lambda x: x.astype(jnp.bfloat16), reference.params)
    assert stored(**inputs, params=bf16_params).last_hidden_state.dtype == jnp.bfloat16


# ---------------------------------------------------------------------------------- remat and scan


def test_gradient_checkpointing_gives_the_same_gradients_through_remat(classifier, inputs, plain_grads):
    remat = FlaxBertForSequenceClassification(tiny(num_labels=3), gradient_checkpointing=True, _do_init=False)
    assert tree_max_diff(_grads(remat, classifier.params, inputs), plain_grads) <= 1e-6
    loss = lambda model: lambda p: model(**inputs, params=p, labels=LABELS).loss  # noqa: E731
    jaxpr = str(jax.make_jaxpr(jax.grad(loss(remat)))(classifier.params))
    assert "remat" in jaxpr or "checkpoint" in jaxpr
    plain = str(jax.make_jaxpr(jax.grad(loss(classifier)))(classifier.params))
    assert "remat" not in plain and "checkpoint" not in plain
    switch = FlaxBertForSequenceClassification(tiny(num_labels=3), _do_init=False)
    switch.enable_gradient_checkpointing()
    assert switch.gradient_checkpointing and switch.module.gradient_checkpointing


def test_scanned_layers_match_the_unrolled_stack_with_and_without_remat(classifier, inputs, plain_grads):
    params = scan_layers(classifier.params)
    scanned = FlaxBertForSequenceClassification(tiny(num_labels=3), scan_layers=True, _do_init=False)
    a = classifier(**inputs, output_hidden_states=True, output_attentions=True)
    b = scanned(**inputs, params=params, output_hidden_states=True, output_attentions=True)
    assert tree_max_diff(a, b) <= ATOL
    head_mask = np.ones((2, 4), np.float32)
    head_mask[0, 1] = 0.0  # per-layer head masks are scanned over with the layers
    a = classifier(**inputs, head_mask=head_mask, output_attentions=True)
    b = scanned(**inputs, params=params, head_mask=head_mask, output_attentions=True)
    assert tree_max_diff(a, b) <= ATOL and float(jnp.abs(b.attentions[0][:, 1]).max()) == 0.0
    both = FlaxBertForSequenceClassification(
        tiny(num_labels=3), scan_layers=True, gradient_checkpointing=True, _do_init=False
    )
    assert tree_max_diff(_grads(both, params, inputs), scan_layers(plain_grads)) <= 1e-6
