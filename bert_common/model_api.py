"""Framework-neutral rules of the model API the three twins share (Transformers' `PreTrainedModel` names).

- `resized_vocab_size`: the vocabulary size `resize_token_embeddings(new_num_tokens, pad_to_multiple_of)`
  gives, with its argument checks;
- `resized_rows`: the [V_new, H] matrix after a resize (old rows kept, new rows at the mean of the old
  ones, as bert_pt's `mean_resizing=True` default), written on numpy so every twin calls it;
- `count_parameters`: the rule of `num_parameters(only_trainable, exclude_embeddings)`;
- `MAIN_INPUT_NAME` and `can_generate`: class-level facts of every twin;
- pruning attention heads (`prune_heads`): `check_heads_to_prune` (the argument's rules),
  `layer_head_counts` (N_l of each layer from `config.pruned_heads`), `kept_head_index` (the rows of the
  [N*D] projections that stay), `merged_pruned_heads` (the config after a prune);
- gradient checkpointing: `check_gradient_checkpointing_kwargs`.

Shape legend: V vocabulary size, H hidden size, L layers, N attention heads (N_l those of layer l),
D head size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

MAIN_INPUT_NAME = "input_ids"

# The head models that run `generate` (a left-to-right decoder with a language-model head).
GENERATING_HEADS = frozenset({"BertLMHeadModel"})


def can_generate(head_name: str) -> bool:
    """True for the heads with a `generate` method (BertLMHeadModel), as Transformers' `can_generate`."""
    return head_name in GENERATING_HEADS


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def resized_vocab_size(old_size: int, new_num_tokens: int | None, pad_to_multiple_of: int | None) -> int:
    """The vocabulary size after `resize_token_embeddings`: `new_num_tokens` (default the current size)
    rounded up to a multiple of `pad_to_multiple_of` when given.

    Raises:
        ValueError: new_num_tokens or pad_to_multiple_of that is not a positive int.
    """
    rows = old_size if new_num_tokens is None else _positive_int("new_num_tokens", new_num_tokens)
    if pad_to_multiple_of is not None:
        multiple = _positive_int("pad_to_multiple_of", pad_to_multiple_of)
        rows = math.ceil(rows / multiple) * multiple
    return rows


def resized_rows(
    old: np.ndarray, rows: int, mean_resizing: bool = True, std: float = 0.02, seed: int | None = None
) -> np.ndarray:
    """old: [V_old, H] -> [rows, H]: the first min(rows, V_old) rows of `old`, then new rows at the
    mean of the old rows (mean_resizing, computed in float32, so new tokens do not skew the MLM
    softmax) or drawn from N(0, std) (numpy generator of `seed`), in old's dtype.
    A 1-D `old` [V_old] (a decoder bias) is padded with zeros instead."""
    old = np.asarray(old)
    kept = min(rows, old.shape[0])
    new = np.zeros((rows, *old.shape[1:]), dtype=old.dtype)
    new[:kept] = old[:kept]
    if rows > kept and old.ndim == 2:
        if mean_resizing:
            new[kept:] = old.astype(np.float32).mean(axis=0).astype(old.dtype)
        else:
            new[kept:] = np.random.default_rng(seed).normal(0.0, std, new[kept:].shape).astype(old.dtype)
    return new


def count_parameters(
    entries: Iterable[tuple[int, bool, bool]], only_trainable: bool = False, exclude_embeddings: bool = False
) -> int:
    """`num_parameters`: the sum of the sizes of distinct parameters, given as (size, trainable,
    is_embedding) once each (a tied decoder is the word-embedding matrix, counted once).
    exclude_embeddings drops the embedding tables (word, position, token type); only_trainable the
    frozen ones."""
    return sum(
        size
        for size, trainable, embedding in entries
        if (trainable or not only_trainable) and not (embedding and exclude_embeddings)
    )


# ------------------------------------------------------------------------------ pruning attention heads
#
# Transformers' `prune_heads({layer: [heads]})` numbers heads as in the unpruned model, merges repeated
# calls into `config.pruned_heads` and skips heads already gone. It does not check its argument: a layer
# index past the end raises IndexError after `config.pruned_heads` was already changed, a negative layer
# or head prunes from the end, a head past N raises IndexError, and pruning every head of a layer leaves a
# block with zero heads whose forward raises ("cannot reshape tensor of 0 elements", Transformers 4.57.1).
# The twins check the whole argument first and refuse each of those with a ValueError, changing nothing.


def _index(value: object, what: str) -> int:
    """`value` as an int: ints and numpy ints, and (for layers) the digit strings of JSON keys.

    Raises:
        TypeError: anything else (bools included).
    """
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"heads_to_prune: {what} must be an int, got {value!r}")


def remaining_heads(num_heads: int, pruned: Iterable[int]) -> list[int]:
    """The heads (numbered as in the unpruned model, ascending) a block keeps after `pruned` are gone."""
    gone = set(pruned)
    return [head for head in range(num_heads) if head not in gone]


def layer_head_counts(
    num_layers: int, num_heads: int, pruned_heads: Mapping[int, Iterable[int]]
) -> list[int]:
    """N_l, the heads each of the `num_layers` self-attention blocks has, given `config.pruned_heads`
    ({layer: [heads]}): what every twin builds from a config (cross-attention is never pruned).

    Raises:
        ValueError: a layer of pruned_heads outside [0, L), or with no head left.
    """
    counts = [num_heads] * num_layers
    for layer, heads in pruned_heads.items():
        if not 0 <= layer < num_layers:
            raise ValueError(f"pruned_heads names layer {layer}, the model has {num_layers} layers")
        counts[layer] = len(remaining_heads(num_heads, heads))
        if counts[layer] == 0:
            raise ValueError(f"pruned_heads removes every head of layer {layer}: a layer keeps at least one")
    return counts


def check_heads_to_prune(
    heads_to_prune: object,
    num_layers: int,
    num_heads: int,
    already_pruned: Mapping[int, Iterable[int]],
) -> dict[int, list[int]]:
    """The heads `prune_heads(heads_to_prune)` removes now: {layer: sorted heads not pruned before}, for the
    layers that lose at least one head; the whole argument is checked before any twin changes a weight.

    heads_to_prune: {layer index: [head indices]}, heads numbered as in the unpruned model (N heads).
    already_pruned: {layer: heads} whose weights are gone already (config.pruned_heads where the model
        was built from it; bert_pt's blocks record their own while it applies the config).

    Raises:
        TypeError: heads_to_prune is not a mapping of int -> iterable of ints.
        ValueError: a layer outside [0, L), a head outside [0, N), or pruning every head of a layer.
    """
    if not isinstance(heads_to_prune, Mapping):
        raise TypeError(
            f"heads_to_prune must map layer index -> list of heads, got {type(heads_to_prune).__name__}"
        )
    out: dict[int, list[int]] = {}
    for key, heads in heads_to_prune.items():
        layer = _index(key, "a layer index")
        if not 0 <= layer < num_layers:
            raise ValueError(
                f"heads_to_prune names layer {key!r}, the model has {num_layers} layers (0..{num_layers - 1})"
            )
        if isinstance(heads, (str, bytes)) or not isinstance(heads, Iterable):
            raise TypeError(f"heads_to_prune[{layer}] must be a list of head indices, got {heads!r}")
        wanted = {_index(head, "a head index") for head in heads}
        bad = sorted(head for head in wanted if not 0 <= head < num_heads)
        if bad:
            raise ValueError(
                f"heads_to_prune[{layer}] names heads {bad}: heads are numbered 0..{num_heads - 1}"
            )
        before = set(already_pruned.get(layer, ())) | set(out.get(layer, ()))
        if not remaining_heads(num_heads, before | wanted):
            raise ValueError(
                f"pruning {sorted(before | wanted)} would remove every head of layer {layer}: "
                "a layer keeps at least one"
            )
        new = wanted - set(already_pruned.get(layer, ()))
        if new:
            out[layer] = sorted(set(out.get(layer, ())) | new)
    return out


def kept_head_index(
    num_heads: int, head_size: int, already_pruned: Iterable[int], heads: Iterable[int]
) -> np.ndarray:
    """int64 [N_kept * D]: the positions, along the current [N_cur * D] axis of a block's query / key /
    value outputs (and its output projection's inputs), that stay when `heads` are removed.

    Heads are numbered as in the unpruned model (N = num_heads); the block already lacks `already_pruned`,
    so head h sits at slot (h minus the pruned heads below it) of the current matrices.
    """
    current = remaining_heads(num_heads, already_pruned)
    gone = set(heads)
    slots = [slot for slot, head in enumerate(current) if head not in gone]
    return (np.asarray(slots, dtype=np.int64)[:, None] * head_size + np.arange(head_size)).reshape(-1)


def merged_pruned_heads(
    pruned_heads: Mapping[int, Iterable[int]], new: Mapping[int, Iterable[int]]
) -> dict[int, list[int]]:
    """config.pruned_heads after pruning `new`: per layer the sorted union (JSON-ready lists)."""
    merged = {int(layer): set(heads) for layer, heads in pruned_heads.items()}
    for layer, heads in new.items():
        merged.setdefault(int(layer), set()).update(heads)
    return {layer: sorted(heads) for layer, heads in sorted(merged.items())}


# ------------------------------------------------------------------------------ gradient checkpointing


def check_gradient_checkpointing_kwargs(gradient_checkpointing_kwargs: Mapping[str, object] | None) -> None:
    """The `gradient_checkpointing_kwargs` every twin's `gradient_checkpointing_enable` accepts: None, {} or
    {"use_reentrant": False}. Transformers hands them to `torch.utils.checkpoint`; the one setting with a
    meaning in all three twins is the non-reentrant recomputation they all do (PyTorch's
    `use_reentrant=False`, Keras' `tf.recompute_grad`, Flax's `nn.remat`).

    Raises:
        ValueError: another key, or use_reentrant=True.
    """
    if not gradient_checkpointing_kwargs:
        return
    if not isinstance(gradient_checkpointing_kwargs, Mapping):
        raise ValueError(
            f"gradient_checkpointing_kwargs must be a dict, got {type(gradient_checkpointing_kwargs).__name__}"
        )
    unknown = sorted(set(gradient_checkpointing_kwargs) - {"use_reentrant"})
    if unknown:
        raise ValueError(f"gradient_checkpointing_kwargs supports only 'use_reentrant', got {unknown}")
    if gradient_checkpointing_kwargs.get("use_reentrant"):
        raise ValueError(
            "gradient_checkpointing_kwargs: use_reentrant=True is not supported; the twins recompute "
            "layers non-reentrantly (use_reentrant=False)"
        )
