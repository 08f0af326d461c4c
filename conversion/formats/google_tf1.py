"""Google's original TensorFlow 1 BERT checkpoints (google-research/bert).

A release directory holds `bert_model.ckpt.index` + `bert_model.ckpt.data-*`, `bert_config.json` and
`vocab.txt`. Variable names follow the "tf1" column of conversion.names: the pretraining heads
(`cls/predictions/*`, `cls/seq_relationship/output_weights`), run_classifier's `output_weights` /
`output_bias` (the sequence-classification head), run_squad's `cls/squad/output_weights` (the QA head).
Checkpoints saved during training also hold optimizer state (`*/adam_m`, `*/adam_v`, `global_step`);
those are skipped and reported. Reading needs TensorFlow (its checkpoint reader), imported here lazily.
Dense kernels are stored `[in, out]` (the NSP, classifier and SQuAD matrices `[out, in]`); the name
table's Placement says which, and turns them to the canonical `[out, in]`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from conversion.canonical import is_optimizer_slot
from conversion.formats.errors import CheckpointError
from conversion.names import from_format

logger = logging.getLogger("bert_zoo")


def find_tf1_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The checkpoint prefix in `directory` (`.../bert_model.ckpt`), or None when there is none.

    Raises:
        CheckpointError: `directory` holds several checkpoints and none is `bert_model.ckpt`.
    """
    directory = Path(directory)
    preferred = directory / "bert_model.ckpt.index"
    if preferred.is_file():
        return directory / "bert_model.ckpt"
    candidates = sorted(directory.glob("*.ckpt*.index"))
    if not candidates:
        return None
    if len(candidates) > 1:
        raise CheckpointError(f"{directory} holds several TF1 checkpoints: {[c.name for c in candidates]}")
    return candidates[0].with_suffix("")


def read_google_tf1(prefix: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """(canonical weights, skipped optimizer-state names) of the TF1 checkpoint at `prefix`.

    prefix: `.../bert_model.ckpt` (the files are `prefix.index` and `prefix.data-*`) or its directory.

    Raises:
        ImportError: TensorFlow is not installed.
        CheckpointError: no checkpoint, or a truncated or corrupt one.
        UnmappedNameError: a variable name the table cannot place.
    """
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError(
            "reading Google TF1 checkpoints needs TensorFlow: pip install 'bert-zoo[tf]'"
        ) from None
    prefix = Path(prefix)
    if prefix.is_dir():
        found = find_tf1_checkpoint(prefix)
        if found is None:
            raise CheckpointError(f"{prefix}: no TF1 checkpoint (*.ckpt.index) found")
        prefix = found
    if not Path(f"{prefix}.index").is_file():
        raise CheckpointError(f"TF1 checkpoint index not found: {prefix}.index")
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as err:
        raise CheckpointError(
            f"{prefix} is not a readable TF1 checkpoint (truncated or corrupt): {err}"
        ) from None
    out: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    for name in sorted(shapes):
        if is_optimizer_slot(name):
            skipped.append(name)
            continue
        placement = from_format("tf1", name)
        try:
            value = np.asarray(reader.get_tensor(name))
        except (tf.errors.OpError, IndexError, ValueError) as err:
            raise CheckpointError(
                f"{prefix}: could not read {name!r} (truncated or corrupt data file): {err}"
            ) from None
        out[placement.name] = placement.to_canonical(value)
    if skipped:
        logger.info("skipped %d optimizer-state tensors of %s: %s", len(skipped), prefix, skipped)
    return out, skipped
