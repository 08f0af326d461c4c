"""The files `bert-zoo convert` writes beside the weights, and what `--overwrite` replaces.

- The tokenizer files (`copy_tokenizer`): copied as they are; a Google release (vocab.txt only) gets the
  full Transformers layout; a tokenizer without a length limit of its own gets the model's.
- The sentence-transformers files (`copy_sentence_transformers`): `modules.json`, the module folders it
  names (`1_Pooling/`, `2_Normalize/`, ...), `sentence_bert_config.json`,
  `config_sentence_transformers.json` and the model card `README.md`, copied as they are, so that a
  converted sentence-transformers model still loads as one.
- `replaced_by(fmt)`: with `--overwrite`, the entries of an existing OUT that the conversion supersedes
  (config.json and every layout of the target format: single file, index, shards); everything else in
  OUT is kept, so `--to tf-h5 --overwrite` adds tf_model.h5 beside model.safetensors.

No tensors here: files and directories only.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from bert_common.files import read_text_file
from bert_common.tokenization import TOKENIZER_FILES
from conversion.checkpoint import WEIGHT_FILE_NAMES

logger = logging.getLogger("bert_zoo")

SENTENCE_TRANSFORMERS_FILES = (
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "README.md",
)
# What to fetch from the hub besides weights and tokenizer for a sentence-transformers model.
SENTENCE_TRANSFORMERS_PATTERNS = [*SENTENCE_TRANSFORMERS_FILES, "[0-9]*_*/*"]


class CarryError(ValueError):
    """A file to carry across cannot be read (a modules.json that is not sentence-transformers')."""


def weight_patterns(fmt: str) -> tuple[str, ...]:
    """File-name patterns of every layout of the weights format `fmt`: the single file, its sharded
    index and the shards (`model-00001-of-00002.safetensors`); a Google TF1 checkpoint's files."""
    if fmt == "google-tf1":
        return ("*.index", "*.data-*-of-*")
    name = WEIGHT_FILE_NAMES[fmt]
    stem, suffix = name.rsplit(".", 1)
    return (name, f"{name}.index.json", f"{stem}-*-of-*.{suffix}")


def replaced_by(fmt: str) -> Callable[[str], bool]:
    """For `--overwrite`: whether an entry of OUT is superseded by a conversion to `fmt`."""
    patterns = ("config.json", *weight_patterns(fmt))
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def weight_files(directory: Path, fmt: str) -> list[Path]:
    """The files of `directory` that hold weights in `fmt` (for the reading progress bar)."""
    patterns = weight_patterns(fmt)
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and any(fnmatch.fnmatchcase(p.name, x) for x in patterns)
    )


def copy_tokenizer(src: Path, out: Path) -> list[str]:
    """Copy the tokenizer files of `src` into `out` (whose config.json is written); returns their names."""
    copied = []
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
            copied.append(name)
    if "vocab.txt" in copied and "tokenizer_config.json" not in copied:
        # A Google release: write the full tokenizer layout so every loader can use it.
        from bert_common import BertTokenizerFast

        cased = _vocab_is_cased(src / "vocab.txt")
        BertTokenizerFast(vocab_file=str(src / "vocab.txt"), do_lower_case=not cased).save_pretrained(out)
        copied = [n for n in TOKENIZER_FILES if (out / n).is_file()]
    elif "tokenizer_config.json" in copied:
        # A tokenizer without a limit of its own gets the model's (OUT's config.json is written first);
        # the Google-release branch above gets it from save_pretrained.
        path = out / "tokenizer_config.json"
        settings = json.loads(path.read_text(encoding="utf-8"))
        limit = settings.get("model_max_length") if isinstance(settings, dict) else 0
        if not isinstance(limit, int) or limit >= int(1e30):
            config = json.loads((out / "config.json").read_text(encoding="utf-8"))
            settings["model_max_length"] = int(config["max_position_embeddings"])
            path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return copied


def _vocab_is_cased(path: Path) -> bool:
    """True when the vocabulary has upper-case word pieces (Google's cased releases)."""
    for line in read_text_file(path, "vocabulary file").splitlines():
        token = line.strip()
        if token and not (token.startswith("[") and token.endswith("]")) and token != token.lower():
            return True
    return False


def sentence_transformers_modules(src: Path) -> list[str]:
    """The module folders `src/modules.json` names (`1_Pooling`, ...), those present in `src`.

    Raises:
        CarryError: a modules.json that is not a list of modules, or names a folder outside `src`.
    """
    path = src / "modules.json"
    if not path.is_file():
        return []
    try:
        modules = json.loads(read_text_file(path, "sentence-transformers modules file"))
    except json.JSONDecodeError as err:
        raise CarryError(f"{path} is not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise CarryError(f"{path} is not a sentence-transformers modules list (a JSON list of modules)")
    folders = []
    for module in modules:
        folder = str(module.get("path", ""))
        if not folder:
            continue  # the transformer itself: the converted directory
        if Path(folder).is_absolute() or ".." in Path(folder).parts:
            raise CarryError(f"{path} names the module folder {folder!r}, outside the model directory")
        if (src / folder).is_dir():
            folders.append(folder)
    return folders


def copy_sentence_transformers(src: Path, out: Path) -> list[str]:
    """Copy the sentence-transformers files and module folders of `src` into `out`; returns their names
    (folders with a trailing '/')."""
    copied = []
    for name in SENTENCE_TRANSFORMERS_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
            copied.append(name)
    for folder in sentence_transformers_modules(src):
        shutil.copytree(src / folder, out / folder, dirs_exist_ok=True)
        copied.append(folder.rstrip("/") + "/")
    return copied


# The temporary folders of bert-zoo convert before it used conversion.formats.atomic: tempfile.mkdtemp
# names, `.OUT.` and 8 characters. Removed when they hold only what a conversion writes.
_LEGACY_STAGING = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}$")


def clean_legacy_staging(out: Path) -> None:
    """Remove the temporary folders a killed `bert-zoo convert` of an older version left beside `out`."""
    out = Path(os.path.abspath(out))
    if not out.parent.is_dir():
        return
    ours = {"config.json", *WEIGHT_FILE_NAMES.values(), *TOKENIZER_FILES}
    for entry in out.parent.iterdir():
        match = _LEGACY_STAGING.match(entry.name)
        if not (match and match["name"] == out.name and entry.is_dir() and not entry.is_symlink()):
            continue
        names = {p.name for p in entry.iterdir()}
        if all(n in ours or n.endswith(".safetensors") or n.startswith("model.safetensors") for n in names):
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("removed %s, left by a bert-zoo convert that was killed", entry)
