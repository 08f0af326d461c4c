"""Saving over a checkpoint is atomic (issue 13, item 4): a write killed at any moment leaves the old
checkpoint whole and loadable, files get the umask's usual permissions, and what a killed save or
`bert-zoo convert` left behind is removed by the next run.

The fault-injection tests run the save in a subprocess whose safetensors writer stops half-way through
the file and waits; the test kills it there with SIGKILL, so the kill lands mid-write every time.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from bert_common import BertConfig
from bert_zoo.cli import main
from conversion.checkpoint import load_pretrained, read_weights, save_pretrained
from conversion.formats import atomic, read_safetensors
from tests.helpers import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
BASE = REFERENCE / "tiny" / "BertModel-absolute-gelu"

# The child: make safetensors' writer stop half-way through the file, then save with `how`.
HANG_MID_WRITE = """
import os, sys, time
import safetensors.numpy

real = safetensors.numpy.save_file

def hanging(tensors, filename, metadata=None):
    real(tensors, filename + ".whole", metadata=metadata)
    data = open(filename + ".whole", "rb").read()
    os.unlink(filename + ".whole")
    with open(filename, "wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        print("WRITING", flush=True)
        time.sleep(600)

safetensors.numpy.save_file = hanging
how, target = sys.argv[1], sys.argv[2]
from bert_common import BertConfig
config = BertConfig.from_pretrained(target)
if how == "pt":
    import bert_pt
    bert_pt.BertModel(config).save_pretrained(target)
elif how == "tf":
    import bert_tf
    bert_tf.TFBertModel.from_pretrained(target).save_pretrained(target)
elif how == "flax":
    import bert_flax
    bert_flax.FlaxBertModel(config).save_pretrained(target)
else:
    from bert_zoo.cli import main
    main(["convert", target, sys.argv[3], "--no-verify"])
"""


def kill_mid_write(how: str, *args: str) -> int:
    """Run the child until its writer is half-way through a file, SIGKILL it; returns its pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", HANG_MID_WRITE, how, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in child.stdout:
            if line.strip() == "WRITING":
                break
        else:
            child.wait(timeout=60)
            pytest.fail(f"the saving process ended before writing: {child.stderr.read()[-3000:]}")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return child.pid


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def old_checkpoint(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    target.mkdir()
    for name in ("config.json", "model.safetensors"):
        (target / name).write_bytes((BASE / name).read_bytes())
    (target / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    return target


@pytest.mark.parametrize("twin", ["pt", "tf", "flax"])
def test_twin_save_killed_mid_write_leaves_the_old_checkpoint_intact(tmp_path, twin):
    target = old_checkpoint(tmp_path)
    before = snapshot(target)
    pid = kill_mid_write(twin, target)
    assert snapshot(target) == before  # every byte of the old checkpoint
    config, state, _ = load_pretrained(target)
    assert config == BertConfig.from_pretrained(BASE)
    for name, value in read_safetensors(BASE).items():
        np.testing.assert_array_equal(state[name], value)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(f".model.tmp-{pid}-")]
    assert len(leftovers) == 1  # the killed save's staging folder, half a file in it
    # The next save removes it and replaces the checkpoint.
    fresh = {k: v + 1 for k, v in state.items()}
    save_pretrained(target, config, fresh)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    np.testing.assert_array_equal(read_weights(target)[0]["pooler.dense.bias"], fresh["pooler.dense.bias"])
    assert (target / "vocab.txt").read_text() == "[PAD]\n[UNK]\n"  # files the save does not write stay


def test_pt_twin_loads_the_old_checkpoint_after_the_kill(tmp_path):
    import bert_pt

    target = old_checkpoint(tmp_path)
    kill_mid_write("pt", target)
    model = bert_pt.BertModel.from_pretrained(target)
    np.testing.assert_array_equal(
        model.pooler.dense.bias.detach().numpy(), read_safetensors(BASE)["pooler.dense.bias"]
    )


def test_failing_write_leaves_the_old_checkpoint_and_no_staging(tmp_path, monkeypatch):
    target = old_checkpoint(tmp_path)
    before = snapshot(target)

    def disk_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(safetensors.numpy, "save_file", disk_full)
    config, state, _ = load_pretrained(target)
    with pytest.raises(OSError, match="No space left"):
        save_pretrained(target, config, state)
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_files_get_the_usual_permissions(tmp_path, umask):
    config, state, _ = load_pretrained(BASE)
    previous = os.umask(umask)
    try:
        fresh = save_pretrained(tmp_path / "new", config, state)
        over = save_pretrained(old_checkpoint(tmp_path), config, state)
    finally:
        os.umask(previous)
    for path in [*fresh, *over]:
        assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~umask), path
    assert oct((tmp_path / "new").stat().st_mode & 0o777) == oct(0o777 & ~umask)


def test_save_over_a_checkpoint_replaces_its_layout_and_keeps_other_files(tmp_path):
    config, state, _ = load_pretrained(BASE)
    target = tmp_path / "model"
    save_pretrained(target, config, state, max_shard_size=20000)  # sharded
    assert (target / "model.safetensors.index.json").is_file()
    (target / "vocab.txt").write_text("[PAD]\n")
    (target / "extra").mkdir()
    (target / "extra" / "notes.md").write_text("mine")
    (target / "pytorch_model.bin").write_bytes(b"legacy")
    os.chmod(target, 0o750)
    written = save_pretrained(target, config, {k: v * 2 for k, v in state.items()})
    assert sorted(p.name for p in written) == ["config.json", "model.safetensors"]
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json",
        "extra",
        "model.safetensors",
        "pytorch_model.bin",
        "vocab.txt",
    ]
    assert (target / "extra" / "notes.md").read_text() == "mine"
    assert oct(target.stat().st_mode & 0o777) == oct(0o750)
    np.testing.assert_array_equal(
        read_weights(target)[0]["pooler.dense.bias"], 2 * state["pooler.dense.bias"]
    )


def test_without_an_atomic_exchange_two_renames_do_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    config, state, _ = load_pretrained(BASE)
    target = old_checkpoint(tmp_path)
    save_pretrained(target, config, {k: v * 3 for k, v in state.items()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    np.testing.assert_array_equal(
        read_weights(target)[0]["pooler.dense.bias"], 3 * state["pooler.dense.bias"]
    )


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_kill_between_the_two_renames_is_undone_by_the_next_save(tmp_path):
    """Where directories cannot be exchanged atomically, the old checkpoint waits in `.NAME.old-PID-*`
    for an instant; a kill right then leaves no `model`: the next write puts the old one back first."""
    aside = tmp_path / f".model.old-{dead_pid()}-0a1b2c3d"
    aside.mkdir()
    for name in ("config.json", "model.safetensors"):
        (aside / name).write_bytes((BASE / name).read_bytes())
    restored = atomic.clean_stale_staging(tmp_path / "model")
    assert restored == [aside]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / "model" / name).read_bytes() == (BASE / name).read_bytes()


def test_staging_of_a_live_process_is_left_alone(tmp_path):
    live = tmp_path / f".model.tmp-{os.getppid()}-0a1b2c3d"
    live.mkdir()
    dead = tmp_path / f".model.tmp-{dead_pid()}-0a1b2c3d"
    dead.mkdir()
    assert atomic.clean_stale_staging(tmp_path / "model") == [dead]
    assert live.is_dir() and not dead.exists()


def test_saving_into_the_working_directory_keeps_it_usable(tmp_path, monkeypatch):
    config, state, _ = load_pretrained(BASE)
    target = old_checkpoint(tmp_path)
    monkeypatch.chdir(target)
    save_pretrained(".", config, {k: v * 2 for k, v in state.items()})
    assert Path.cwd().resolve() == target.resolve()
    np.testing.assert_array_equal(read_weights(".")[0]["pooler.dense.bias"], 2 * state["pooler.dense.bias"])


def test_a_mount_point_is_written_file_by_file(tmp_path, monkeypatch):
    """A mount point cannot be renamed: the staging folder goes inside it, each file replaced atomically."""
    target = old_checkpoint(tmp_path)
    monkeypatch.setattr(atomic.os.path, "ismount", lambda path: Path(path) == target)
    config, state, _ = load_pretrained(BASE)
    save_pretrained(target, config, {k: v * 2 for k, v in state.items()})
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    np.testing.assert_array_equal(
        read_weights(target)[0]["pooler.dense.bias"], 2 * state["pooler.dense.bias"]
    )


# ---------------------------------------------------------------- bert-zoo convert


def test_convert_killed_mid_write_is_cleaned_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "out"
    pid = kill_mid_write("convert", BASE, out)
    assert not out.exists()
    assert [p.name.startswith(f".out.tmp-{pid}-") for p in tmp_path.iterdir()] == [True]
    legacy = tmp_path / ".out.k3j4h5g6"  # what bert-zoo convert left before it named its folders by pid
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"hidden_size": 32}))
    (legacy / "model.safetensors").write_bytes(b"\0" * 10)
    assert main(["convert", str(BASE), str(out), "--no-verify"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~current_umask())
    assert read_weights(out)[0].keys() == read_safetensors(BASE).keys()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
