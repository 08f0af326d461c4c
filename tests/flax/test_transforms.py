"""JAX transformations of the wrappers (framework-only): jit, grad, vmap, bfloat16 computation and
parameters, gradient checkpointing through nn.remat, and layers scanned with nn.scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bert_common.outputs import SequenceClassifierOutput
from bert_flax import FlaxBertForSequenceClassification, FlaxBertModel
from conversion.flax import scan_layers
from tests.common.head_spec import batch, tiny
from tests.flax.utils import tree_max_diff
from tests.helpers import ATOL, max_abs_diff


@pytest.fixture(scope="module")
def classifier():
    return FlaxBertForSequenceClassification(tiny(num_labels=3), seed=0)


@pytest.fixture(scope="module")
def inputs():
    """Two rows of 9 tokens; row 1 ends in 3 padding positions."""
    return batch(tiny(), batch_size=2, length=9, pad=3)


LABELS = np.array([1, 2], np.int32)


def _grads(model, params, inputs):
    return jax.jit(jax.grad(lambda p: model(**inputs, params=p, labels=LABELS).loss))(params)


@pytest.fixture(scope="module")
def plain_grads(classifier, inputs):
    """Gradients of the unrolled model without remat: what every variant must reproduce."""
    return _grads(classifier, classifier.params, inputs)


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
