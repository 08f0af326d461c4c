from __future__ import annotations

import json

import numpy as np
import pytest

from bert_common.files import ModelNotFoundError, default_model_dir
from conversion.checkpoint import load_pretrained, read_weights, save_pretrained
from conversion.formats import CheckpointError, parse_size, read_safetensors, write_safetensors
from tests.helpers import tiny_config


def random_state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "embeddings.word_embeddings.weight": rng.standard_normal((99, 32), dtype=np.float32),
        "encoder.layer.0.attention.self.query.weight": rng.standard_normal((32, 32), dtype=np.float32),
        "encoder.layer.0.attention.self.query.bias": rng.standard_normal(32, dtype=np.float32),
        "pooler.dense.weight": rng.standard_normal((32, 32), dtype=np.float32),
        "half": rng.standard_normal(7).astype(np.float16),
    }


def test_single_file_round_trip_is_bit_exact(tmp_path):
    state = random_state()
    files = write_safetensors(state, tmp_path)
    assert [f.name for f in files] == ["model.safetensors"]
    back = read_safetensors(tmp_path)
    assert set(back) == set(state)
    for name, value in state.items():
        assert back[name].dtype == value.dtype
        np.testing.assert_array_equal(back[name], value)


def test_sharded_round_trip_writes_an_index(tmp_path):
    state = random_state()
    files = write_safetensors(state, tmp_path, max_shard_size=13000)  # word embeddings alone are 12.7 kB
    names = sorted(f.name for f in files)
    assert "model.safetensors.index.json" in names
    shards = [n for n in names if n.endswith(".safetensors")]
    assert len(shards) >= 2 and all("-of-" in n for n in shards)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(state)
    assert index["metadata"]["total_size"] == sum(v.nbytes for v in state.values())
    assert not (tmp_path / "model.safetensors").exists()
    back = read_safetensors(tmp_path)
    for name, value in state.items():
        np.testing.assert_array_equal(back[name], value)
    # Writing again unsharded removes the shards, so the directory never holds two copies.
    write_safetensors(state, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_truncated_file_is_reported_with_its_path(tmp_path):
    write_safetensors(random_state(), tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"model\.safetensors is not a readable safetensors file"):
        read_safetensors(tmp_path)


def test_missing_shard_and_index_mismatch(tmp_path):
    state = random_state()
    write_safetensors(state, tmp_path, max_shard_size=13000)
    index_path = tmp_path / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    name = next(iter(index["weight_map"]))
    index["weight_map"]["ghost.weight"] = index["weight_map"][name]
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=r"missing from the shard \['ghost.weight'\]"):
        read_safetensors(tmp_path)
    shard = tmp_path / index["weight_map"][name]
    shard.unlink()
    with pytest.raises(CheckpointError, match="shard file\\(s\\) named in the index are missing"):
        read_safetensors(tmp_path)


def test_bf16_tensors_are_read_exactly_as_fp32(tmp_path):
    import torch
    from safetensors.torch import save_file

    values = torch.tensor([1.0, -2.5, 3.140625, 1e-3], dtype=torch.bfloat16)
    save_file({"w": values}, str(tmp_path / "model.safetensors"))
    back = read_safetensors(tmp_path)["w"]
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, values.float().numpy())


@pytest.mark.parametrize(
    "text, expected", [("5GB", 5 * 10**9), ("200MB", 200 * 10**6), ("1KiB", 1024), (77, 77)]
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_parse_size_rejects_nonsense():
    with pytest.raises(ValueError, match="cannot read shard size 'lots'"):
        parse_size("lots")
    with pytest.raises(ValueError, match="must be positive"):
        parse_size(0)


def test_pretrained_directory_round_trip(tmp_path):
    config = tiny_config(num_labels=3)
    state = random_state()
    files = save_pretrained(tmp_path, config, state, architecture="BertForSequenceClassification")
    assert sorted(f.name for f in files) == ["config.json", "model.safetensors"]
    loaded_config, loaded, source = load_pretrained(tmp_path)
    assert loaded_config.architectures == ["BertForSequenceClassification"]
    assert loaded_config.num_labels == 3 and config.architectures is None  # caller's config untouched
    assert source.endswith("model.safetensors")
    np.testing.assert_array_equal(loaded["pooler.dense.weight"], state["pooler.dense.weight"])


def test_pytorch_bin_is_read_with_weights_only(tmp_path):
    import torch

    torch.save({"a.weight": torch.arange(6.0).reshape(2, 3)}, tmp_path / "pytorch_model.bin")
    state, name = read_weights(tmp_path)
    assert name == "pytorch_model.bin"
    np.testing.assert_array_equal(state["a.weight"], np.arange(6.0, dtype=np.float32).reshape(2, 3))

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"a.weight": Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        read_weights(tmp_path)


def test_directory_without_weights_names_what_it_holds(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match=r"no model weights found .* holds \['config.json'\]"):
        load_pretrained(tmp_path)


def test_real_checkpoint_reads_all_tensors():
    config, state, _ = load_pretrained(default_model_dir())
    assert len(state) == 104
    assert state["embeddings.word_embeddings.weight"].shape == (config.vocab_size, config.hidden_size)


def test_hub_id_loads_from_a_prefilled_cache_offline(tmp_path, monkeypatch):
    """A model that huggingface_hub downloaded earlier loads by its hub id with the network off."""
    import shutil

    from tests.common.test_files import make_hub_cache

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = make_hub_cache(tmp_path, "org/tiny-bert", {})
    source = default_model_dir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(source / name, snapshot / name)
    config, state, where = load_pretrained("org/tiny-bert", cache_dir=tmp_path)
    assert config.hidden_size == 384 and len(state) == 104
    assert where.startswith(str(snapshot))
    with pytest.raises(ModelNotFoundError, match="'org/other' is not in the local hub cache"):
        load_pretrained("org/other", cache_dir=tmp_path)
