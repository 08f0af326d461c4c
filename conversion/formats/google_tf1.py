"""Google's original TensorFlow 1 BERT checkpoints (google-research/bert).

A release directory holds `bert_model.ckpt.index` + `bert_model.ckpt.data-*`, `bert_config.json` and
`vocab.txt`. Variable names follow the "tf1" column of conversion.names: the pretraining heads
(`cls/predictions/*`, `cls/seq_relationship/output_weights`), run_classifier's `output_weights` /
`output_bias` (the sequence-classification head), run_squad's `cls/squad/output_weights` (the QA head).
Checkpoints saved during training also hold optimizer state (`*/adam_m`, `*/adam_v`, `global_step`;
google-research/bert's own optimizer writes `*/AdamWeightDecayOptimizer(_1)`, others `*/BERTAdam`,
`*/LAMB`, ...): it is recognised by its structure (a variable under a model weight's name, or a scalar
no rule places), whatever the optimizer calls it, then skipped and reported by name. Reading needs
TensorFlow (its checkpoint reader), imported here lazily. Dense kernels are stored `[in, out]` (the NSP,
classifier and SQuAD matrices `[out, in]`); the name table's Placement says which, and turns them to
the canonical `[out, in]`.

Shape legend: V vocabulary size, H hidden size, I intermediate size, Y labels; a slot has the shape of
the weight it shadows (e.g. [V, H] for `bert/embeddings/word_embeddings/adam_m`), a step or learning
rate has shape [].
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from conversion.canonical import is_optimizer_slot
from conversion.formats.errors import CheckpointError
from conversion.names import Placement, UnmappedNameError, from_format

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
        UnmappedNameError: a variable the table cannot place that is not optimizer state (see
            `sort_variables`).
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
    placements, skipped = sort_variables(shapes)
    out: dict[str, np.ndarray] = {}
    for name, placement in placements.items():
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


def sort_variables(shapes: Mapping[str, Sequence[int]]) -> tuple[dict[str, Placement], list[str]]:
    """(placement of each model weight, names of the optimizer state) among a checkpoint's variables.

    shapes: variable name -> shape. Optimizer state is recognised by its structure, whatever the
    optimizer calls it: a variable whose name extends a model weight's name (`<weight>/adam_m`,
    `<weight>/AdamWeightDecayOptimizer_1`, `<weight>/BERTAdam`, `<weight>/LAMB`, ...), a scalar that no
    rule places (`global_step`, `learning_rate`, `beta1_power`, ...), or a known slot name.

    Raises:
        UnmappedNameError: a variable that is none of these and that the name table cannot place.
    """
    placements: dict[str, Placement] = {}
    unplaced: dict[str, UnmappedNameError] = {}
    skipped: list[str] = []
    for name in sorted(shapes):
        if is_optimizer_slot(name):
            skipped.append(name)
            continue
        try:
            placements[name] = from_format("tf1", name)
        except UnmappedNameError as err:
            unplaced[name] = err

    def shadows_a_weight(name: str) -> bool:
        parts = name.split("/")
        return any("/".join(parts[:i]) in placements for i in range(1, len(parts)))

    shadows = [name for name in placements if shadows_a_weight(name)]  # even where a rule would place it
    for name, err in unplaced.items():
        if not (shadows_a_weight(name) or len(shapes[name]) == 0):
            raise err
    for name in shadows:
        del placements[name]
    return placements, sorted([*skipped, *shadows, *unplaced])
