"""The label maps of BertConfig: `id2label`, `label2id` and `num_labels` kept consistent.

The classification heads have Y = num_labels outputs; a config names them with `id2label` (integer
id -> name, keys 0..Y-1) and `label2id` (name -> id). Any one of the three may be given, read from a
`config.json` (where the ids are JSON strings) or set in code; `resolve_labels` completes the other two
and raises when they disagree. No tensors here; Y is the only letter of the shape alphabet used.
"""

from __future__ import annotations

from collections.abc import Mapping


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
