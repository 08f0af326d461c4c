from __future__ import annotations

import pytest

from bert_common import BertConfig
from bert_common.files import ModelNotFoundError, default_model_dir, resolve_model_dir

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_hub_cache(cache_dir, repo_id: str, files: dict[str, str], revision: str = "main"):
    """Lay out a huggingface_hub cache entry by hand, as a download would have left it."""
    repo = cache_dir / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name, text in files.items():
        (snapshot / name).write_text(text)
    (repo / "refs").mkdir()
    (repo / "refs" / revision).write_text(COMMIT)
    return snapshot


def test_local_directory_is_returned_as_is(tmp_path):
    assert resolve_model_dir(tmp_path) == tmp_path
    assert resolve_model_dir(str(tmp_path)) == tmp_path


def test_hub_id_resolves_from_cache_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = make_hub_cache(
        tmp_path, "org/tiny-bert", {"config.json": '{"hidden_size": 64, "num_attention_heads": 4}'}
    )
    assert resolve_model_dir("org/tiny-bert", cache_dir=tmp_path) == snapshot
    config = BertConfig.from_pretrained("org/tiny-bert", cache_dir=tmp_path)
    assert config.hidden_size == 64


def test_local_files_only_uses_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    snapshot = make_hub_cache(tmp_path, "tiny-bert", {"config.json": "{}"})
    assert resolve_model_dir("tiny-bert", cache_dir=tmp_path, local_files_only=True) == snapshot


def test_offline_and_uncached_names_the_id_and_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir("org/not-cached", cache_dir=tmp_path)
    message = str(info.value)
    assert "'org/not-cached'" in message and "offline mode is on" in message and "HF_HUB_OFFLINE=1" in message


def test_revision_that_is_not_cached_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_hub_cache(tmp_path, "org/tiny-bert", {"config.json": "{}"})
    with pytest.raises(ModelNotFoundError, match="at revision 'v2'"):
        resolve_model_dir("org/tiny-bert", cache_dir=tmp_path, revision="v2")


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model directory not found"):
        resolve_model_dir(str(tmp_path / "nope" / "deeper"))
    with pytest.raises(ModelNotFoundError, match="model directory not found"):
        resolve_model_dir("./relative-missing")
    file = tmp_path / "config.json"
    file.write_text("{}")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        resolve_model_dir(file)
    with pytest.raises(TypeError, match="expected a directory or hub id"):
        resolve_model_dir(42)


def test_default_model_dir_holds_the_real_checkpoint():
    directory = default_model_dir()
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json"):
        assert (directory / name).is_file()
