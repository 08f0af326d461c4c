from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from safetensors import safe_open

from conversion.names import FORMATS, Placement, UnmappedNameError, from_format, to_format
from tests.helpers import REFERENCE


def all_canonical_names() -> set[str]:
    """Every tensor name of every head in the Transformers-saved reference models, plus the relative
    position and cross-attention tensors."""
    names = set()
    for path in (REFERENCE / "tiny").glob("*/model.safetensors"):
        with safe_open(str(path), "np") as handle:
            names.update(handle.keys())
    return names


def test_reference_models_cover_every_kind_of_tensor():
    names = all_canonical_names()
    for expected in (
        "bert.encoder.layer.0.crossattention.self.query.weight",
        "embeddings.word_embeddings.weight",
        "encoder.layer.1.attention.self.distance_embedding.weight",
        "cls.predictions.bias",
        "cls.seq_relationship.weight",
        "classifier.weight",
        "qa_outputs.bias",
        "bert.pooler.dense.weight",
    ):
        assert expected in names


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_through_every_format(fmt):
    for name in sorted(all_canonical_names()):
        mapped, transpose = to_format(fmt, name)
        back, transpose_back = from_format(fmt, mapped)
        # tf_h5 and tf1 always put base-model tensors under "bert/".
        want = (
            "bert." + name
            if fmt in ("tf_h5", "tf1")
            and not name.startswith(("bert.", "cls.", "classifier.", "qa_outputs."))
            else name
        )
        assert (back, transpose_back) == (want, transpose), (fmt, name, mapped)


@pytest.mark.parametrize(
    "fmt, canonical, name, transpose",
    [
        # The facts of DESIGN.md's weight-name table.
        ("tf_h5", "bert.embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings/weight", False),
        (
            "tf_h5",
            "bert.embeddings.position_embeddings.weight",
            "bert/embeddings/position_embeddings/embeddings",
            False,
        ),
        (
            "flax",
            "bert.embeddings.word_embeddings.weight",
            "bert/embeddings/word_embeddings/embedding",
            False,
        ),
        ("tf1", "bert.embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings", False),
        (
            "tf_h5",
            "bert.encoder.layer.3.attention.output.LayerNorm.weight",
            "bert/encoder/layer_._3/attention/output/LayerNorm/gamma",
            False,
        ),
        (
            "flax",
            "bert.encoder.layer.3.attention.output.LayerNorm.weight",
            "bert/encoder/layer/3/attention/output/LayerNorm/scale",
            False,
        ),
        (
            "tf1",
            "bert.encoder.layer.3.attention.output.LayerNorm.bias",
            "bert/encoder/layer_3/attention/output/LayerNorm/beta",
            False,
        ),
        (
            "tf_h5",
            "bert.encoder.layer.0.attention.self.query.weight",
            "bert/encoder/layer_._0/attention/self/query/kernel",
            True,
        ),
        (
            "flax",
            "bert.encoder.layer.0.intermediate.dense.weight",
            "bert/encoder/layer/0/intermediate/dense/kernel",
            True,
        ),
        ("tf1", "bert.encoder.layer.0.output.dense.weight", "bert/encoder/layer_0/output/dense/kernel", True),
        ("tf_h5", "cls.predictions.bias", "mlm___cls/predictions/bias", False),
        ("flax", "cls.predictions.bias", "cls/predictions/bias", False),
        ("tf1", "cls.predictions.bias", "cls/predictions/output_bias", False),
        (
            "tf_h5",
            "cls.predictions.transform.dense.weight",
            "mlm___cls/predictions/transform/dense/kernel",
            True,
        ),
        ("tf_h5", "cls.seq_relationship.weight", "nsp___cls/seq_relationship/kernel", True),
        ("tf1", "cls.seq_relationship.weight", "cls/seq_relationship/output_weights", False),
        ("tf1", "classifier.weight", "output_weights", False),
        ("tf1", "classifier.bias", "output_bias", False),
        ("tf1", "qa_outputs.weight", "cls/squad/output_weights", False),
        ("flax", "pooler.dense.weight", "pooler/dense/kernel", True),
        ("tf_h5", "pooler.dense.weight", "bert/pooler/dense/kernel", True),
    ],
)
def test_table_facts(fmt, canonical, name, transpose):
    assert to_format(fmt, canonical) == (name, transpose)
    assert from_format(fmt, name)[1] == transpose


def test_pt_is_the_identity():
    assert to_format("pt", "anything.weight") == ("anything.weight", False)


def test_unplaceable_names_raise():
    with pytest.raises(UnmappedNameError, match="no rule for leaf 'running_mean'"):
        to_format("flax", "bert.encoder.layer.0.output.LayerNorm.running_mean")
    with pytest.raises(UnmappedNameError, match="no rule for leaf 'moving_variance'"):
        from_format("tf_h5", "bert/encoder/layer_._0/output/dense/moving_variance")
    with pytest.raises(UnmappedNameError, match="expected <module>.<leaf>"):
        to_format("flax", "weight")
    with pytest.raises(ValueError, match="unknown weight format 'onnx'"):
        to_format("onnx", "classifier.weight")


def test_placement_moves_arrays_between_layouts():
    kernel = to_format("flax", "bert.encoder.layer.0.attention.self.query.weight")
    assert isinstance(kernel, Placement) and kernel.transpose
    canonical = np.arange(6, dtype=np.float32).reshape(3, 2)  # [out, in]
    stored = kernel.from_canonical(canonical)
    assert stored.shape == (2, 3) and stored.flags.c_contiguous
    np.testing.assert_array_equal(kernel.to_canonical(stored), canonical)
    bias = from_format("tf_h5", "bert/encoder/layer_._0/attention/self/query/bias")
    assert bias == ("bert.encoder.layer.0.attention.self.query.bias", False)
    vector = np.ones(3, np.float32)
    assert bias.to_canonical(vector) is vector and bias.from_canonical(vector) is vector


def test_names_module_prints_the_four_spellings():
    name = "bert.encoder.layer.0.attention.self.query.weight"
    result = subprocess.run(
        [sys.executable, "-m", "conversion.names", name], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == ""
    for fmt in FORMATS:
        placement = to_format(fmt, name)
        line = next(line for line in result.stdout.splitlines() if line.split()[:2] == [fmt, placement.name])
        assert ("[in, out]" if placement.transpose else "[out, in]") in line
    bad = subprocess.run(
        [sys.executable, "-m", "conversion.names", "bert.encoder.layer.0.output.LayerNorm.running_mean"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "no rule for leaf 'running_mean'" in bad.stderr and bad.stdout == ""
