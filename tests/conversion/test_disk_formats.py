"""The other on-disk formats against files written by Transformers 4.57.1 itself (make_formats.py)."""

from __future__ import annotations

import h5py
import msgpack
import numpy as np
import pytest

from bert_common.files import ModelNotFoundError
from conversion.checkpoint import detect_format, read_weights, write_weights
from conversion.formats import CheckpointError, read_safetensors
from conversion.formats.flax_msgpack import _ext_hook, read_flax_msgpack, write_flax_msgpack
from conversion.formats.google_tf1 import read_google_tf1
from conversion.formats.tf_h5 import keras_model_name, read_tf_h5, write_tf_h5
from tests.helpers import REFERENCE

FORMATS_DIR = REFERENCE / "formats"
CASES = ["BertForPreTraining", "BertForSequenceClassification-single"]


def canonical(case: str) -> dict[str, np.ndarray]:
    return read_safetensors(REFERENCE / "tiny" / case)


def assert_same_state(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_reads_transformers_tf_h5_exactly(case):
    assert_same_state(read_tf_h5(FORMATS_DIR / case / "tf_model.h5"), canonical(case))


@pytest.mark.parametrize("case", CASES)
def test_reads_transformers_flax_msgpack_exactly(case):
    assert_same_state(read_flax_msgpack(FORMATS_DIR / case / "flax_model.msgpack"), canonical(case))


def test_reads_google_tf1_and_skips_optimizer_state():
    state, skipped = read_google_tf1(FORMATS_DIR / "google_tf1")
    assert_same_state(state, canonical("BertForPreTraining"))
    assert "global_step" in skipped
    assert "bert/embeddings/word_embeddings/adam_m" in skipped
    assert len(skipped) == 2 * len(state) + 1


@pytest.mark.parametrize("case", CASES)
def test_written_tf_h5_has_the_layout_transformers_writes(case, tmp_path):
    state = canonical(case)
    model_name = keras_model_name("TF" + case.split("-")[0])
    path = write_tf_h5(state, tmp_path / "tf_model.h5", model_name=model_name)
    assert_same_state(read_tf_h5(path), state)
    with h5py.File(FORMATS_DIR / case / "tf_model.h5") as theirs, h5py.File(path) as ours:
        # Transformers also lists weightless layers (dropout) with empty weight lists.
        their_layers = {
            n for n in theirs.attrs["layer_names"].astype(str) if len(theirs[n].attrs["weight_names"])
        }
        assert set(ours.attrs["layer_names"].astype(str)) == their_layers
        for layer in ours.attrs["layer_names"].astype(str):
            our_names = set(ours[layer].attrs["weight_names"].astype(str))
            their_names = set(theirs[layer].attrs["weight_names"].astype(str))
            assert our_names == their_names
            for name in our_names:
                np.testing.assert_array_equal(ours[layer][name][()], theirs[layer][name][()])


@pytest.mark.parametrize("case", CASES)
def test_written_flax_msgpack_decodes_to_the_same_tree(case, tmp_path):
    path = write_flax_msgpack(canonical(case), tmp_path / "flax_model.msgpack")
    ours = msgpack.unpackb(path.read_bytes(), ext_hook=_ext_hook, strict_map_key=False)
    theirs = msgpack.unpackb(
        (FORMATS_DIR / case / "flax_model.msgpack").read_bytes(), ext_hook=_ext_hook, strict_map_key=False
    )

    def compare(a, b, path=""):
        assert isinstance(a, dict) == isinstance(b, dict), path
        if isinstance(a, dict):
            assert sorted(a) == sorted(b), path
            for key in a:
                compare(a[key], b[key], f"{path}/{key}")
        else:
            assert a.dtype == b.dtype and a.shape == b.shape, path
            np.testing.assert_array_equal(a, b)

    compare(ours, theirs)


def test_large_arrays_are_chunked_like_flax(tmp_path, monkeypatch):
    import conversion.formats.flax_msgpack as fm

    monkeypatch.setattr(fm, "_MAX_CHUNK", 64)
    state = {"classifier.weight": np.arange(60, dtype=np.float32).reshape(3, 20)}
    path = write_flax_msgpack(state, tmp_path / "flax_model.msgpack")
    raw = msgpack.unpackb(path.read_bytes(), ext_hook=_ext_hook, strict_map_key=False)
    assert raw["classifier"]["kernel"]["__msgpack_chunked_array__"] is True
    assert len(raw["classifier"]["kernel"]["chunks"]) == 4  # 240 bytes in chunks of 64
    np.testing.assert_array_equal(read_flax_msgpack(path)["classifier.weight"], state["classifier.weight"])


@pytest.mark.parametrize("fmt", ["safetensors", "pytorch", "tf-h5", "flax-msgpack"])
def test_write_then_read_every_format(fmt, tmp_path):
    state = canonical("BertForPreTraining")
    write_weights(state, tmp_path, fmt, model_class="BertForPreTraining")
    assert detect_format(tmp_path) == fmt
    back, _ = read_weights(tmp_path)
    got = {k if k.startswith(("bert.", "cls.")) else "bert." + k: v for k, v in back.items()}
    assert_same_state(got, state)


def test_detect_format_of_each_reference_directory():
    assert detect_format(FORMATS_DIR / "google_tf1") == "google-tf1"
    assert detect_format(REFERENCE / "tiny" / "BertModel-absolute-gelu") == "safetensors"


def test_corrupt_files_name_the_file(tmp_path):
    (tmp_path / "tf_model.h5").write_bytes(b"not an hdf5 file at all")
    with pytest.raises(CheckpointError, match="tf_model.h5 is not a readable HDF5 file"):
        read_weights(tmp_path)
    (tmp_path / "tf_model.h5").unlink()
    good = (FORMATS_DIR / "BertForPreTraining" / "flax_model.msgpack").read_bytes()
    (tmp_path / "flax_model.msgpack").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="flax_model.msgpack is not a readable Flax msgpack file"):
        read_weights(tmp_path)


def test_truncated_tf1_checkpoint(tmp_path):
    import shutil

    for path in (FORMATS_DIR / "google_tf1").iterdir():
        shutil.copy(path, tmp_path / path.name)
    data = tmp_path / "bert_model.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="bert_model.ckpt"):
        read_google_tf1(tmp_path)


def test_unknown_format_and_empty_directory(tmp_path):
    with pytest.raises(ValueError, match="unknown weights format 'onnx'"):
        read_weights(tmp_path, "onnx")
    with pytest.raises(ValueError, match="google-tf1 is a source format only"):
        write_weights({}, tmp_path, "google-tf1")
    with pytest.raises(ModelNotFoundError, match="no model weights found"):
        detect_format(tmp_path)


def test_keras_model_names():
    assert keras_model_name("TFBertForPreTraining") == "tf_bert_for_pre_training"
    assert keras_model_name("TFBertModel") == "tf_bert_model"
    assert keras_model_name("TFBertForQuestionAnswering") == "tf_bert_for_question_answering"
