"""The label maps of BertConfig (`id2label`, `label2id` and `num_labels` kept consistent), and the
spelling check of the keys read from a config file (`likely_typos`).

The classification heads have Y = num_labels outputs; a config names them with `id2label` (integer
id -> name, keys 0..Y-1) and `label2id` (name -> id). Any one of the three may be given, read from a
`config.json` (where the ids are JSON strings) or set in code; `resolve_labels` completes the other two
and raises when they disagree. No tensors here; Y is the only letter of the shape alphabet used.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping


def default_labels(num_labels: int) -> tuple[dict[int, str], dict[str, int]]:
    """(id2label, label2id) with the names Transformers gives unnamed labels: LABEL_0 .. LABEL_{Y-1}."""
    id2label = {i: f"LABEL_{i}" for i in range(num_labels)}
    return id2label, {label: i for i, label in id2label.items()}


def resolve_labels(
    num_labels: int | None,
    id2label: Mapping[int | str, str] | None,
    label2id: Mapping[str, int | str] | None,
) -> tuple[dict[int, str], dict[str, int]]:
    """Consistent `id2label` (int keys 0..Y-1, sorted) and `label2id` from any of the three arguments.

    num_labels: Y, or None (2 when neither map is given). id2label / label2id: None, or maps whose ids
    may be ints or strings of ints (as JSON writes them).

    Raises ValueError naming the field when an argument is malformed or the three disagree.
    """
    if num_labels is not None and (
        not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < 1
    ):
        raise ValueError(f"BertConfig.num_labels must be a positive int, got {num_labels!r}")
    if id2label is not None:
        try:
            id2label = {int(k): str(v) for k, v in id2label.items()}
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"BertConfig.id2label must map integer ids to names, got {id2label!r}") from None
        if sorted(id2label) != list(range(len(id2label))):
            raise ValueError(
                f"BertConfig.id2label keys must be 0..{len(id2label) - 1}, got {sorted(id2label)}"
            )
        if num_labels is not None and num_labels != len(id2label):
            raise ValueError(f"BertConfig.num_labels={num_labels} but id2label has {len(id2label)} entries")
    elif label2id is not None:
        try:
            id2label = {int(i): str(label) for label, i in label2id.items()}
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"BertConfig.label2id must map names to integer ids, got {label2id!r}") from None
        if num_labels is not None and num_labels != len(id2label):
            raise ValueError(f"BertConfig.num_labels={num_labels} but label2id has {len(label2id)} entries")
    else:
        id2label = {i: f"LABEL_{i}" for i in range(2 if num_labels is None else num_labels)}
    if not id2label:
        raise ValueError("BertConfig needs at least one label")
    if label2id is None:
        label2id = {label: i for i, label in id2label.items()}
    else:
        try:
            label2id = {str(k): int(v) for k, v in label2id.items()}
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"BertConfig.label2id must map names to integer ids, got {label2id!r}") from None
        if sorted(label2id.values()) != sorted(id2label):
            raise ValueError(
                f"BertConfig.label2id ids {sorted(label2id.values())} do not match id2label ids {sorted(id2label)}"
            )
    return dict(sorted(id2label.items())), label2id


# Keys Transformers or Google write into BERT configs that BertConfig keeps as extras on purpose; some
# are spelled close to a field (`pooler_num_attention_heads`, `sep_token_id`) and are no typo.
KNOWN_EXTRA_KEYS = frozenset(
    {
        "_name_or_path",
        "transformers_version",
        "torch_dtype",
        "dtype",
        "gradient_checkpointing",
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
        "output_past",
        "use_return_dict",
        "sep_token_id",
        "cls_token_id",
        "mask_token_id",
        "unk_token_id",
        "decoder_start_token_id",
        "is_encoder_decoder",
        "tie_encoder_decoder",
    }
)
# How alike a key and a field must be to call the key a typo (difflib's ratio): `num_hiden_layers` vs
# `num_hidden_layers` is 0.97, `layer_norm_epsilon` vs `layer_norm_eps` 0.875.
TYPO_CUTOFF = 0.86


def likely_typos(keys: Collection[str], fields: Collection[str]) -> dict[str, str]:
    """{key: the field it is probably a misspelling of} for the `keys` that are not `fields`.

    A key is a likely typo when difflib finds a field at least TYPO_CUTOFF alike and it is not one of
    KNOWN_EXTRA_KEYS (the extras Transformers and Google write).
    """
    out = {}
    for key in keys:
        if key in fields or key in KNOWN_EXTRA_KEYS or not isinstance(key, str):
            continue
        guess = difflib.get_close_matches(key, fields, n=1, cutoff=TYPO_CUTOFF)
        if guess:
            out[key] = guess[0]
    return out


def unknown_keys_message(kwargs: Collection[str], fields: Collection[str]) -> str:
    """The error for unknown BertConfig keyword arguments given in code, each with a suggestion."""
    parts = []
    for key in kwargs:
        guess = difflib.get_close_matches(key, fields, n=1)
        parts.append(f"{key!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    return (
        f"unknown BertConfig argument(s): {', '.join(parts)}. "
        "Keys read from a config file are kept as extras; use BertConfig.from_dict to keep them."
    )
