"""Bad checkpoint files (issue 13, items 2, 3, 10, 11): each is refused with a first line that names the
problem and the file, or warned about by name; none is accepted silently.

The checkpoints are the tiny reference BertForPreTraining (tests/fixtures/reference/tiny), edited here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil

import msgpack
import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from bert_common import BertConfig
from bert_common.tokenization.files import load_vocab
from conversion.checkpoint import load_pretrained, read_checkpoint, read_weights
from conversion.formats import CheckpointError, read_safetensors
from conversion.formats.flax_msgpack import read_flax_msgpack
from tests.helpers import REFERENCE

PRETRAINING = REFERENCE / "tiny" / "BertForPreTraining"
EMBEDDINGS = "bert.embeddings.word_embeddings.weight"


def copy_checkpoint(tmp_path, name="model"):
    directory = tmp_path / name
    shutil.copytree(PRETRAINING, directory)
    return directory


def rewrite_safetensors(directory, change):
    state = read_safetensors(directory)
    change(state)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return state


# ---------------------------------------------------------------- 2. weights of the wrong kind


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_non_floating_safetensors_weight_is_refused_naming_tensor_dtype_and_file(tmp_path, dtype):
    directory = copy_checkpoint(tmp_path)
    rewrite_safetensors(directory, lambda s: s.update({EMBEDDINGS: s[EMBEDDINGS].astype(dtype)}))
    with pytest.raises(CheckpointError) as info:
        load_pretrained(directory)  # the path every twin's from_pretrained takes
    first = str(info.value).splitlines()[0]
    assert EMBEDDINGS in first and np.dtype(dtype).name in first
    assert str(directory / "model.safetensors") in first


def test_torch_long_weight_in_pytorch_bin_is_refused(tmp_path):
    directory = tmp_path / "pt"
    directory.mkdir()
    shutil.copy(PRETRAINING / "config.json", directory / "config.json")
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(PRETRAINING).items()}
    state["bert.pooler.dense.weight"] = state["bert.pooler.dense.weight"].long()
    torch.save(state, directory / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"'bert.pooler.dense.weight' has dtype int64") as info:
        read_weights(directory)
    assert str(directory / "pytorch_model.bin") in str(info.value).splitlines()[0]


def test_integer_position_ids_buffer_still_loads(tmp_path):
    """Transformers < 4.31 saved the int64 `position_ids` buffer in pytorch_model.bin: not a weight."""
    directory = tmp_path / "pt"
    directory.mkdir()
    state = {k: torch.from_numpy(v) for k, v in read_safetensors(PRETRAINING).items()}
    state["bert.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
    torch.save(state, directory / "pytorch_model.bin")
    assert "bert.embeddings.position_ids" in read_weights(directory)[0]


def test_nan_and_inf_weights_are_named_in_a_warning(tmp_path, caplog):
    directory = copy_checkpoint(tmp_path)

    def poison(state):
        state[EMBEDDINGS][3, 1] = np.nan
        state["bert.pooler.dense.bias"][0] = np.inf

    rewrite_safetensors(directory, poison)
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        read = read_checkpoint(directory)
    assert sorted(read.nonfinite) == sorted([EMBEDDINGS, "bert.pooler.dense.bias"])
    text = caplog.text
    assert f"{EMBEDDINGS} (1 NaN, 0 Inf)" in text and "bert.pooler.dense.bias (0 NaN, 1 Inf)" in text
    assert str(directory / "model.safetensors") in text


def test_sharded_weight_names_its_shard(tmp_path):
    from conversion.checkpoint import save_pretrained

    state = read_safetensors(PRETRAINING)
    state[EMBEDDINGS] = state[EMBEDDINGS].astype(np.int64)
    save_pretrained(
        tmp_path / "sharded", BertConfig.from_pretrained(PRETRAINING), state, max_shard_size=20000
    )
    with pytest.raises(CheckpointError) as info:
        read_weights(tmp_path / "sharded")
    weight_map = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())["weight_map"]
    assert str(tmp_path / "sharded" / weight_map[EMBEDDINGS]) in str(info.value)


# ---------------------------------------------------------------- 3. shard index leaving the directory


def write_index(directory, shard_name):
    weight_map = dict.fromkeys(read_safetensors(PRETRAINING), shard_name)
    index = {"metadata": {}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_shard_index_pointing_outside_the_directory_is_refused(tmp_path, kind):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(PRETRAINING / "model.safetensors", other / "model.safetensors")
    directory = tmp_path / "a" / "b" / "model"
    directory.mkdir(parents=True)
    shutil.copy(PRETRAINING / "config.json", directory / "config.json")
    if kind == "dotdot":
        shard = "../../../other/model.safetensors"
    elif kind == "absolute":
        shard = str(other / "model.safetensors")
    else:
        shard = "model-00001-of-00001.safetensors"
        os.symlink(other / "model.safetensors", directory / shard)
    write_index(directory, shard)
    with pytest.raises(CheckpointError, match="outside the model directory") as info:
        read_weights(directory)
    assert shard in str(info.value).splitlines()[0]


def test_shard_inside_the_directory_or_the_hub_blobs_is_followed(tmp_path):
    repo = tmp_path / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / "0123abcd"
    (snapshot / "sub").mkdir(parents=True)
    shutil.copy(PRETRAINING / "model.safetensors", repo / "blobs" / "5f2a")
    os.symlink("../../../blobs/5f2a", snapshot / "sub" / "model-00001-of-00001.safetensors")
    write_index(snapshot, "sub/model-00001-of-00001.safetensors")
    state, _ = read_weights(snapshot)
    assert sorted(state) == sorted(read_safetensors(PRETRAINING))


# ---------------------------------------------------------------- 10. a refused pickle


def test_refused_pickle_names_the_global_and_file_first_and_never_suggests_disabling(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    directory = tmp_path / "evil"
    directory.mkdir()
    torch.save({"bert.pooler.dense.bias": Payload()}, directory / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as info:
        read_weights(directory)
    message = str(info.value)
    first = message.splitlines()[0]
    assert str(directory / "pytorch_model.bin") in first
    assert f"the global {os.system.__module__}.system" in first  # posix.system on Linux
    assert "weights_only=False" not in message and "add_safe_globals" not in message
    assert not marker.exists()


# ---------------------------------------------------------------- 11. messages that name the file


def test_non_utf8_config_json_names_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"hidden_size": 32, "directionality": "\xff\xfe"}')
    with pytest.raises(ValueError) as info:
        BertConfig.from_json_file(path)
    assert str(path) in str(info.value) and "not UTF-8" in str(info.value)
    assert not isinstance(info.value, UnicodeDecodeError)


def test_non_utf8_vocab_names_the_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n[UNK]\ncaf\xe9\n")
    with pytest.raises(ValueError) as info:
        load_vocab(path)
    assert str(path) in str(info.value) and "not UTF-8" in str(info.value) and "offset 15" in str(info.value)
    assert not isinstance(info.value, UnicodeDecodeError)


def test_unknown_msgpack_dtype_names_the_file(tmp_path):
    array = msgpack.ExtType(1, msgpack.packb(([2], "float99", b"\0" * 8), use_bin_type=True))
    tree = {"bert": {"pooler": {"dense": {"bias": array}}}}
    path = tmp_path / "flax_model.msgpack"
    path.write_bytes(msgpack.packb(tree, use_bin_type=True))
    with pytest.raises(CheckpointError) as info:
        read_flax_msgpack(path)
    first = str(info.value).splitlines()[0]
    assert str(path) in first and "float99" in first


def test_typo_in_config_json_warns_with_did_you_mean(tmp_path, caplog):
    config = json.loads((PRETRAINING / "config.json").read_text())
    config["num_hiden_layers"] = config.pop("num_hidden_layers")
    config.update({"pooler_num_attention_heads": 12, "sep_token_id": 102, "transformers_version": "4.57.1"})
    (tmp_path / "config.json").write_text(json.dumps(config))
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        loaded = BertConfig.from_pretrained(tmp_path)
    assert loaded.num_hidden_layers == 12  # the default, as before: the typo is kept as an extra
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # the extras Transformers writes are no typos
    assert "'num_hiden_layers'" in warnings[0] and "did you mean 'num_hidden_layers'" in warnings[0]
    assert str(tmp_path / "config.json") in warnings[0]
