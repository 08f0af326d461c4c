"""conversion/flax.py: canonical weights <-> the Flax param tree, and scanned <-> unscanned trees.

Expected names come from the weight-name table (conversion.names, DESIGN.md) applied to the tensor names
Transformers wrote into the reference checkpoints."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import bert_flax
from bert_common.config import BertConfig
from bert_common.heads import HEADS
from conversion import flax as flax_adapter
from conversion.canonical import LoadReport
from conversion.flax import (
    ParamsAdapter,
    canonical_shapes,
    canonical_to_flax,
    flatten_tree,
    flax_to_canonical,
    is_scanned,
    scan_layers,
    unflatten_tree,
    unscan_layers,
)
from conversion.formats import read_safetensors
from conversion.names import UnmappedNameError, to_format
from conversion.shapes import model_shapes
from tests.common.head_spec import tiny
from tests.helpers import load_reference_case, reference_case_names

CASES = reference_case_names()


def _transformers_state(name: str) -> dict[str, np.ndarray]:
    return read_safetensors(load_reference_case(name).directory)


def test_paths_and_layouts_follow_the_name_table():
    state = _transformers_state("BertForPreTraining")
    flat = flatten_tree(canonical_to_flax(state))
    query = state["bert.encoder.layer.1.attention.self.query.weight"]  # [out, in]
    np.testing.assert_array_equal(flat["bert/encoder/layer/1/attention/self/query/kernel"], query.T)
    np.testing.assert_array_equal(
        flat["bert/embeddings/word_embeddings/embedding"], state["bert.embeddings.word_embeddings.weight"]
    )
    np.testing.assert_array_equal(
        flat["bert/embeddings/LayerNorm/scale"], state["bert.embeddings.LayerNorm.weight"]
    )
    np.testing.assert_array_equal(flat["cls/predictions/bias"], state["cls.predictions.bias"])
    np.testing.assert_array_equal(flat["cls/seq_relationship/kernel"], state["cls.seq_relationship.weight"].T)
    assert set(flat) == {to_format("flax", name)[0] for name in state}


@pytest.mark.parametrize("name", CASES)
def test_round_trip_is_exact_and_model_tree_equals_checkpoint_tree(name):
    """Every Transformers-saved checkpoint maps to exactly the parameter paths and shapes of our module."""
    state = _transformers_state(name)
    back = flax_to_canonical(canonical_to_flax(state))
    assert set(back) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(back[key], value)
    model = bert_flax.MODEL_CLASSES[load_reference_case(name).model_class](
        BertConfig.from_pretrained(load_reference_case(name).directory), _do_init=False
    )
    assert canonical_shapes(model.params_shape_tree) == {k: v.shape for k, v in state.items()}


def test_scan_and_unscan_are_inverse():
    state = _transformers_state("BertModel-relative_key_query-gelu")
    tree = canonical_to_flax(state)
    scanned = scan_layers(tree)
    assert is_scanned(scanned) and not is_scanned(tree)
    assert set(scanned["encoder"]["layer"]) == {"scanned"}
    kernel = scanned["encoder"]["layer"]["scanned"]["attention"]["self"]["distance_embedding"]["embedding"]
    assert kernel.shape == (2, 127, 8)  # [L, 2 * max_position_embeddings - 1, head size]
    np.testing.assert_array_equal(
        kernel[1], state["encoder.layer.1.attention.self.distance_embedding.weight"]
    )
    again = flatten_tree(unscan_layers(scanned))
    assert set(again) == set(flatten_tree(tree))
    for path, value in flatten_tree(tree).items():
        np.testing.assert_array_equal(again[path], value)
    assert flatten_tree(scan_layers(scanned)).keys() == flatten_tree(scanned).keys()  # idempotent
    np.testing.assert_array_equal(
        flax_to_canonical(scanned)["encoder.layer.0.output.dense.weight"],
        state["encoder.layer.0.output.dense.weight"],
    )


def test_scanned_model_tree_equals_scanned_checkpoint_tree():
    model = bert_flax.FlaxBertForMaskedLM(tiny(), scan_layers=True, _do_init=False)
    want = jax.tree_util.tree_map(lambda s: s.shape, scan_layers(model.params_shape_tree))
    got = jax.tree_util.tree_map(lambda s: s.shape, model.params_shape_tree)
    assert want == got
    assert model.params_shape_tree["bert"]["encoder"]["layer"]["scanned"]["intermediate"]["dense"][
        "kernel"
    ].shape == (
        2,
        32,
        37,
    )


def test_conversion_errors():
    with pytest.raises(UnmappedNameError):
        canonical_to_flax({"bert.embeddings.word_embeddings.kernel": np.zeros((2, 2))})
    with pytest.raises(UnmappedNameError, match="no canonical name"):
        flax_to_canonical({"bert": {"mystery": {"thing": np.zeros(2)}}})
    with pytest.raises(ValueError, match="without gaps"):
        scan_layers(
            {"encoder": {"layer": {"0": {"a": {"bias": np.zeros(1)}}, "2": {"a": {"bias": np.zeros(1)}}}}}
        )
    with pytest.raises(ValueError, match="does not have the parameters of layer 0"):
        scan_layers(
            {"encoder": {"layer": {"0": {"a": {"bias": np.zeros(1)}}, "1": {"b": {"bias": np.zeros(1)}}}}}
        )
    with pytest.raises(ValueError, match="runs through the leaf"):
        unflatten_tree({"a": 1, "a/b": 2})


@pytest.mark.parametrize("name", sorted(HEADS))
def test_adapter_expected_shapes_equal_the_shared_table(name):
    """conversion.flax.expected_shapes reads the model; conversion.shapes.model_shapes states the same
    set without a framework (tied decoder excluded)."""
    config = tiny(is_decoder=name == "BertLMHeadModel", add_cross_attention=name == "BertLMHeadModel")
    model = bert_flax.model_class(name)(config, _do_init=False)
    assert flax_adapter.expected_shapes(model) == model_shapes(config, name)


def test_adapter_assign_and_to_canonical_round_trip():
    """The module is the WeightAdapter of conversion.loading: to_canonical then assign reproduces the
    params exactly (into a scanned model too); ParamsAdapter keeps the tree outside the model."""
    source = bert_flax.FlaxBertForMaskedLM(tiny(), seed=3)
    state = flax_adapter.to_canonical(source)
    assert all(isinstance(v, np.ndarray) for v in state.values())
    for scan in (False, True):
        target = bert_flax.FlaxBertForMaskedLM(tiny(), scan_layers=scan, _do_init=False)
        flax_adapter.assign(target, state, LoadReport())
        got = unscan_layers(target.params) if scan else target.params
        assert flatten_tree(got).keys() == flatten_tree(source.params).keys()
        for path, value in flatten_tree(source.params).items():
            np.testing.assert_array_equal(flatten_tree(got)[path], value)
    outside = ParamsAdapter()
    target = bert_flax.FlaxBertForMaskedLM(tiny(), _do_init=False)
    partial = {k: v for k, v in state.items() if not k.startswith("cls.")}
    outside.assign(target, partial, LoadReport())
    assert "cls" not in outside.params and target._params is None
    assert outside.to_canonical(target).keys() == partial.keys()
