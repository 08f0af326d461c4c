"""`from_pretrained` / `save_pretrained`, written once for the three twins.

Every twin loads the same way: resolve the directory or hub id, read `config.json` and the weights as
canonical arrays (`conversion.checkpoint`), build the model, check the weights against the shapes the
model expects, drop the tied decoder copy, assign, and report every key that was missing, unexpected,
mismatched, dropped or renamed. Only three steps depend on the framework; each twin supplies them as a
`WeightAdapter` (in `conversion.pt`, `conversion.tf`, `conversion.flax`):

    expected_shapes(model) -> {canonical name: shape}   what the model owns, canonical layout [out, in]
    assign(model, weights, report)                      put fitted canonical arrays into the model
    to_canonical(model) -> {canonical name: ndarray}    the model's weights, for saving

The loader arguments Transformers users pass (`LOADER_ARGUMENTS`) are handled here once, with
Transformers' meaning (documented on `load_into`). Saving writes `model.safetensors`, or with
`safe_serialization=False` the twin's legacy file (`save_from`).

Nothing here imports a framework. Weights are canonical `{name: array}`, dense matrices `[out, in]`
(H hidden size, V vocabulary size: `[V, H]` embeddings).
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from bert_common.config import CONFIG_NAME, FIELDS, GOOGLE_CONFIG_NAME, BertConfig
from bert_common.files import ModelNotFoundError, resolve_model_dir
from conversion.canonical import LoadReport, check_weights, fit_to_model
from conversion.checkpoint import DEFAULT_MAX_SHARD_SIZE, WEIGHT_FILE_NAMES, read_checkpoint, write_weights
from conversion.checkpoint import save_pretrained as write_checkpoint
from conversion.formats.atomic import atomic_directory
from conversion.formats.safetensors import SAFE_WEIGHTS_INDEX_NAME, parse_size
from conversion.shapes import tied_weights

logger = logging.getLogger("bert_zoo")

ModelT = TypeVar("ModelT")

# Arguments of every twin's from_pretrained that steer loading (not config fields, not model arguments).
LOADER_ARGUMENTS: tuple[str, ...] = (
    "config",
    "cache_dir",
    "revision",
    "local_files_only",
    "token",
    "ignore_mismatched_sizes",
    "output_loading_info",
    "subfolder",
    "variant",
    "use_safetensors",
    "from_pt",
    "from_tf",
    "from_flax",
    "low_cpu_mem_usage",
    "force_download",
    "trust_remote_code",
)
# The loader arguments that reach `load_into` through a twin's **kwargs (the rest are named parameters).
FILE_ARGUMENTS = LOADER_ARGUMENTS[7:]

# Formats in the order they are read (conversion.checkpoint.detect_format's), and what each from_* names.
READ_ORDER = ("safetensors", "pytorch", "tf-h5", "flax-msgpack", "google-tf1")
FROM_FLAGS = dict(
    from_pt=("pytorch", "safetensors"), from_tf=("tf-h5", "google-tf1"), from_flax=("flax-msgpack",)
)
# The layouts of a format in a directory, as globs ({v}: "" or ".<variant>").
LAYOUTS = {
    "safetensors": ("model{v}.safetensors", "model.safetensors.index{v}.json", "model{v}-*-of-*.safetensors"),
    "pytorch": ("pytorch_model{v}.bin",),
    "tf-h5": ("tf_model{v}.h5",),
    "flax-msgpack": ("flax_model{v}.msgpack",),
    "google-tf1": ("bert_model.ckpt.*",),
}


class WeightAdapter(Protocol):
    """The three framework steps of loading and saving (see the module docstring)."""

    def expected_shapes(self, model: Any) -> dict[str, tuple[int, ...]]: ...

    def assign(self, model: Any, weights: Mapping[str, np.ndarray], report: LoadReport) -> None: ...

    def to_canonical(self, model: Any) -> dict[str, np.ndarray]: ...


def split_model_kwargs(
    owner: str,
    kwargs: Mapping[str, Any],
    model_arguments: Sequence[str],
    twin_arguments: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `from_pretrained(**kwargs)` into (model constructor arguments, config overrides and the
    loader arguments of FILE_ARGUMENTS, both for `load_into`).

    owner: the class name, for the message. model_arguments: what the twin's constructors take (e.g.
    `add_pooling_layer`, `attn_implementation`, `dtype`). twin_arguments: the twin's own loader
    arguments (e.g. `device_map`), named in the message only.

    Raises:
        TypeError: a keyword that is neither a loader argument, a model argument nor a BertConfig field;
            the message lists the loader arguments (shared and the twin's), the model arguments and says
            that config fields are accepted.
    """
    model_kwargs = {k: v for k, v in kwargs.items() if k in model_arguments}
    overrides = {k: v for k, v in kwargs.items() if k not in model_arguments}
    unknown = sorted(k for k in overrides if k not in FIELDS and k not in FILE_ARGUMENTS)
    if unknown:
        raise TypeError(
            f"{owner}.from_pretrained got unknown keyword argument(s) {unknown}; it accepts the loader "
            f"arguments {[*LOADER_ARGUMENTS, *twin_arguments]}, the model arguments {list(model_arguments)}, "
            "and any BertConfig field as an override (e.g. num_labels=3)"
        )
    return model_kwargs, overrides


def _with_variant(pattern: str, variant: str | None) -> str:
    return pattern.format(v=f".{variant}" if variant else "")


def candidate_formats(
    use_safetensors: bool | None = None, from_pt: bool = False, from_tf: bool = False, from_flax: bool = False
) -> tuple[str, ...]:
    """The formats a loader may read, in order of preference, with Transformers' meaning of its flags.

    use_safetensors: None prefers safetensors; True reads only safetensors; False never reads them.
    from_pt: PyTorch's files (pytorch_model.bin first, then model.safetensors, as Transformers' TF and
    Flax loaders do); from_tf: tf_model.h5, then a Google TF1 checkpoint; from_flax: flax_model.msgpack.

    Raises:
        TypeError: a flag that is not a bool (use_safetensors: or None).
        ValueError: more than one from_* flag; use_safetensors=True with from_tf or from_flax.
    """
    flags = {"from_pt": from_pt, "from_tf": from_tf, "from_flax": from_flax}
    for name, value in {**flags, "use_safetensors": use_safetensors}.items():
        if not isinstance(value, bool) and not (name == "use_safetensors" and value is None):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    named = [name for name, value in flags.items() if value]
    if len(named) > 1:
        raise ValueError(f"pass at most one of from_pt, from_tf, from_flax (got {' and '.join(named)})")
    formats = FROM_FLAGS[named[0]] if named else READ_ORDER
    if use_safetensors is True and "safetensors" not in formats:
        raise ValueError(
            f"use_safetensors=True contradicts {named[0]}=True (those weights are not safetensors)"
        )
    if use_safetensors is True:
        return ("safetensors",)
    return tuple(f for f in formats if not (use_safetensors is False and f == "safetensors"))


def choose_weights(directory: Path, formats: Sequence[str], variant: str | None = None) -> tuple[str, Path]:
    """(format, file) to read in `directory`: the first of `formats` present, variant file names
    (`model.<variant>.safetensors`, `pytorch_model.<variant>.bin`, ...) when `variant` is given.

    Raises:
        ModelNotFoundError: none of them is there; the message names the files looked for and those held.
    """
    from conversion.formats.google_tf1 import find_tf1_checkpoint

    for fmt in formats:
        if fmt == "google-tf1" and not variant and directory.is_dir() and find_tf1_checkpoint(directory):
            return fmt, find_tf1_checkpoint(directory)
        for path in (directory / _with_variant(p, variant) for p in LAYOUTS[fmt][:2] if fmt != "google-tf1"):
            if path.is_file():
                return fmt, path
    looked = [_with_variant(p, variant) for f in formats for p in LAYOUTS[f][:2] if f != "google-tf1"]
    looked += ["bert_model.ckpt.index"] if "google-tf1" in formats and not variant else []
    present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    raise ModelNotFoundError(
        f"{directory}: no model weights found (looked for {looked}); the directory holds {present}"
    )


def read_chosen(fmt: str, path: Path) -> dict[str, np.ndarray]:
    """The checked canonical weights of `path` (chosen by `choose_weights`) in format `fmt`.

    Raises:
        See conversion.checkpoint.read_checkpoint.
    """
    if path.name in (WEIGHT_FILE_NAMES[fmt], SAFE_WEIGHTS_INDEX_NAME) or fmt == "google-tf1":
        return read_checkpoint(path.parent, fmt).state  # the usual names: the usual reader
    from conversion.formats import flax_msgpack, pytorch_bin, safetensors, tf_h5

    if path.name.endswith(".json"):  # a variant's shard index
        state = safetensors._read_sharded(path)
    else:
        readers = (safetensors.read_safetensors_file, pytorch_bin.read_pytorch_bin, tf_h5.read_tf_h5)
        state = dict(zip(READ_ORDER, (*readers, flax_msgpack.read_flax_msgpack)))[fmt](path)
    check_weights(state, lambda name: str(path))
    return state


def resolve_weights(
    name_or_path: str | os.PathLike[str],
    formats: Sequence[str],
    *,
    subfolder: str = "",
    variant: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """The model directory of a directory or hub id: `subfolder` inside it. A hub repository is fetched
    in two steps: the config and the first format's files, then the other formats' when the first is
    absent. `choose_weights` then picks the file.

    Raises:
        ModelNotFoundError: no such directory, subfolder or cached hub id.
    """
    if not isinstance(subfolder, str) or ".." in Path(subfolder).parts or Path(subfolder).is_absolute():
        raise ValueError(f"subfolder must be a relative path inside the model directory, got {subfolder!r}")
    if variant is not None and (not isinstance(variant, str) or not variant or "/" in variant):
        raise ValueError(f"variant must be a non-empty name such as 'fp16', got {variant!r}")
    prefix = f"{subfolder.strip('/')}/" if subfolder.strip("/") else ""
    hub = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    for wanted in (formats[:1], formats):  # the second pass returns or raises
        patterns = [
            CONFIG_NAME,
            GOOGLE_CONFIG_NAME,
            *(_with_variant(p, variant) for f in wanted for p in LAYOUTS[f]),
        ]
        root = resolve_model_dir(name_or_path, allow_patterns=[prefix + p for p in patterns], **hub)
        directory = root / prefix if prefix else root
        if not directory.is_dir():
            raise ModelNotFoundError(f"{root} has no subfolder {subfolder!r}")
        try:
            choose_weights(directory, formats, variant)  # fetched? (the caller chooses after the config)
        except ModelNotFoundError:
            if wanted is not formats and not Path(name_or_path).expanduser().is_dir():
                continue
        return directory


def load_into(
    build: Callable[[BertConfig], ModelT],
    adapter: WeightAdapter,
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    head: str,
    owner: str,
    config: BertConfig | str | os.PathLike[str] | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    ignore_mismatched_sizes: bool = False,
    subfolder: str = "",
    variant: str | None = None,
    use_safetensors: bool | None = None,
    from_pt: bool = False,
    from_tf: bool = False,
    from_flax: bool = False,
    low_cpu_mem_usage: bool | None = None,
    force_download: bool = False,
    trust_remote_code: bool | None = None,
    **config_overrides: Any,
) -> tuple[ModelT, LoadReport]:
    """Build a model with `build(config)` and fill it from a directory or hub id; returns (model, report).

    head: the head name in bert_common.heads (decides the tied decoder); owner: the class name, for logs.
    config: a BertConfig (or a path to one) used instead of the stored config; config_overrides
        (BertConfig fields, e.g. num_labels=3) then apply to it, otherwise to the stored config.
    ignore_mismatched_sizes: leave tensors whose checkpoint shape differs to the model's initialization
        (reported) instead of raising.
    subfolder: where config and weights lie inside the directory or hub repository ("" default).
    variant: read `model.<variant>.safetensors` (or its `model.safetensors.index.<variant>.json`),
        `pytorch_model.<variant>.bin`, `tf_model.<variant>.h5`, `flax_model.<variant>.msgpack`.
    use_safetensors: None (default) prefers model.safetensors; True requires it; False never reads it
        (pytorch_model.bin first, then the other formats).
    from_pt / from_tf / from_flax: read that framework's weights (PyTorch: pytorch_model.bin, else
        model.safetensors; TF: tf_model.h5, else a Google TF1 checkpoint; Flax: flax_model.msgpack) and
        fail when the directory has none. Every twin reads every format anyway; without a flag the
        first present in the order safetensors, PyTorch, TF, Flax, TF1 is read.
    low_cpu_mem_usage: accepted, no effect: the model is built once and the checkpoint arrays are
        assigned into it (there is no second copy of random weights to save).
    force_download: accepted; hub files come through huggingface_hub's cache, which bert-zoo does not
        re-download (a warning says so when True for a hub id); a local directory is read as it is.
    trust_remote_code: accepted and ignored, as Transformers' model classes do: the BERT classes are
        part of this package and a checkpoint's remote code is never run.

    Raises:
        bert_common.files.ModelNotFoundError: no such directory, and the hub id is not in the cache; no
            weights (or none of the format asked for by from_* / use_safetensors / variant).
        conversion.formats.CheckpointError: a corrupt weights file.
        conversion.canonical.ShapeMismatchError: checkpoint shapes that do not fit the config (unless
            ignore_mismatched_sizes).
        TypeError: a config that is neither a BertConfig nor a path; a flag that is not a bool.
        ValueError: contradicting flags; a bad subfolder or variant.
    """
    formats = candidate_formats(use_safetensors, from_pt, from_tf, from_flax)
    if not isinstance(force_download, bool) or low_cpu_mem_usage not in (True, False, None):
        raise TypeError("force_download and low_cpu_mem_usage must be True or False")
    if force_download and not Path(pretrained_model_name_or_path).expanduser().is_dir():
        logger.warning(
            "force_download=True: bert-zoo reuses the huggingface_hub cache and does not re-download"
        )
    if isinstance(config, (str, os.PathLike)):
        config = BertConfig.from_pretrained(config)
    if config is not None:
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig or a path, got {type(config).__name__}")
        config, config_overrides = config.copy(**config_overrides), {}
    chosen = {f"from_{k}": v for k, v in (("pt", from_pt), ("tf", from_tf), ("flax", from_flax)) if v}
    chosen.update(
        {k: v for k, v in (("use_safetensors", use_safetensors), ("variant", variant)) if v is not None}
    )
    asked = ", ".join(f"{k}={v!r}" for k, v in chosen.items())
    hub = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    try:
        directory = resolve_weights(
            pretrained_model_name_or_path, formats, subfolder=subfolder, variant=variant, **hub
        )
        loaded_config = config or BertConfig.from_pretrained(
            directory, **config_overrides
        )  # config: None or set
        fmt, path = choose_weights(directory, formats, variant)
    except ModelNotFoundError as err:
        if not asked:
            raise
        raise ModelNotFoundError(f"{owner}.from_pretrained({asked}): {err}") from None
    state = read_chosen(fmt, path)
    model = build(loaded_config)
    expected = adapter.expected_shapes(model)
    matched, report = fit_to_model(
        state,
        expected,
        tied=tied_weights(head, loaded_config, expected),
        ignore_mismatched_sizes=ignore_mismatched_sizes,
    )
    adapter.assign(model, matched, report)
    report.log(owner, str(path))
    return model, report


# What `save_pretrained(safe_serialization=False)` writes in each twin: Transformers' file of that framework.
LEGACY_FORMATS = {"pt": "pytorch", "tf": "tf-h5", "flax": "flax-msgpack"}


def _superseded(fmt: str) -> Callable[[str], bool]:
    """Entries of an existing directory that a save in `fmt` replaces: config.json, and the layouts of
    `fmt` and of the formats read before it (so that loading the directory reads what was saved)."""
    patterns = [_with_variant(p, None) for f in READ_ORDER[: READ_ORDER.index(fmt) + 1] for p in LAYOUTS[f]]
    return lambda name: name == CONFIG_NAME or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def save_from(
    model: Any,
    adapter: WeightAdapter,
    save_directory: str | os.PathLike[str],
    *,
    config: BertConfig,
    architecture: str,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    fmt: str = "safetensors",
) -> list[Path]:
    """Write `config.json` (with `architectures = [architecture]`) and the canonical weights, atomically
    (conversion.formats.atomic); returns the files written.

    fmt: "safetensors" (default; sharded with an index above `max_shard_size`, bytes or e.g. "5GB"), or
        a legacy single file: "pytorch" (pytorch_model.bin), "tf-h5" (tf_model.h5), "flax-msgpack"
        (flax_model.msgpack). These are not sharded: weights larger than max_shard_size are refused.
        An existing directory keeps its other files, except the layouts that would be read before the
        new weights (a stale model.safetensors beside a new pytorch_model.bin is removed).

    Raises:
        NotADirectoryError: `save_directory` is a file.
        ValueError: a legacy format with weights above max_shard_size; a bad max_shard_size.
    """
    if fmt == "safetensors":
        return write_checkpoint(
            save_directory,
            config,
            adapter.to_canonical(model),
            architecture=architecture,
            max_shard_size=max_shard_size,
        )
    directory = Path(save_directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"save_pretrained needs a directory, {directory} is a file")
    limit, state = parse_size(max_shard_size), adapter.to_canonical(model)
    size = sum(int(a.nbytes) for a in state.values())
    if size > limit:
        raise ValueError(
            f"the weights take {size} bytes, above max_shard_size={max_shard_size!r}, and "
            f"{WEIGHT_FILE_NAMES[fmt]} is written as one file; use safe_serialization=True for shards"
        )
    config = config.copy()
    config.architectures = [architecture]
    with atomic_directory(directory, replaces=_superseded(fmt)) as staging:
        written = [config.save_pretrained(staging)]
        written += write_weights(state, staging, fmt, model_class=architecture)
    return [directory / path.relative_to(staging) for path in written]
