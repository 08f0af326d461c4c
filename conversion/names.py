"""The weight-name table: how each BERT tensor is named and laid out in every format (DESIGN.md).

The canonical name of a tensor is its Hugging Face PyTorch state-dict name
(`bert.encoder.layer.0.attention.self.query.weight`, dense matrices `[out, in]`). Every other naming is
derived from it by the rules below, written once as data:

- the layer component `encoder.layer.{i}` takes each format's own spelling (`LAYER_PATHS`);
- the last component (the "leaf") is renamed by the kind of module that owns it (`LEAF_RULES`),
  and dense matrices are transposed to `[in, out]` where the format says so;
- a few tensors have a name of their own in some format (`SPECIAL_NAMES`, `PREFIX_RULES`).

`to_format(fmt, canonical)` and `from_format(fmt, name)` apply the rules both ways and raise on any name
they cannot place. Both return a `Placement`: the name on the other side plus whether the array is stored
transposed, with `placement.to_canonical(array)` / `placement.from_canonical(array)` doing the move, so no
reader or writer transposes on its own. Formats:

    "pt"     Transformers PyTorch / model.safetensors (the canonical names themselves)
    "tf_h5"  Transformers' TensorFlow tf_model.h5 (Keras 2 names, without the model-name prefix and ":0");
             the Keras 3 twin names its variables the same way
    "flax"   Transformers' Flax flax_model.msgpack param tree, path components joined with "/"
    "tf1"    Google's original TensorFlow 1 checkpoints (bert_model.ckpt)

Shapes (legend): H hidden size, I intermediate size, V vocabulary size. A dense matrix is `[out, in]`
canonically (e.g. `[H, H]` query, `[I, H]` intermediate) and `[in, out]` where transposed.

    python -m conversion.names bert.encoder.layer.0.attention.self.query.weight

prints one tensor's four spellings and layouts.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

FORMATS = ("pt", "tf_h5", "flax", "tf1")

# How the i-th encoder layer is spelled.
LAYER_PATHS = {
    "pt": "encoder.layer.{i}",
    "tf_h5": "encoder/layer_._{i}",
    "flax": "encoder/layer/{i}",
    "tf1": "encoder/layer_{i}",
}

# Module kinds, recognised by the name of the module that owns the tensor.
EMBEDDING_MODULES = ("word_embeddings", "position_embeddings", "token_type_embeddings", "distance_embedding")
LAYERNORM_MODULES = ("LayerNorm",)


@dataclass(frozen=True)
class LeafRule:
    """How a leaf of one module kind is named per format; `transpose` says the matrix is stored [in, out]."""

    kind: str
    pt: str
    tf_h5: str
    flax: str
    tf1: str | None  # None: the tensor is stored under the module's own name (TF1 embeddings)
    transpose: bool = False


LEAF_RULES = (
    LeafRule("dense", "weight", "kernel", "kernel", "kernel", transpose=True),
    LeafRule("dense", "bias", "bias", "bias", "bias"),
    LeafRule("embedding", "weight", "embeddings", "embedding", None),
    LeafRule("layernorm", "weight", "gamma", "scale", "gamma"),
    LeafRule("layernorm", "bias", "beta", "bias", "beta"),
)

# Tensors with a name of their own in some format: canonical -> {format: (name, transpose)}.
# A format not listed for a tensor uses the general rules.
SPECIAL_NAMES: dict[str, dict[str, tuple[str, bool]]] = {
    # Transformers' TF embeddings layer calls the word-embedding matrix "weight".
    "bert.embeddings.word_embeddings.weight": {"tf_h5": ("bert/embeddings/word_embeddings/weight", False)},
    # The MLM output bias sits directly on the prediction head.
    "cls.predictions.bias": {
        "tf_h5": ("mlm___cls/predictions/bias", False),
        "flax": ("cls/predictions/bias", False),
        "tf1": ("cls/predictions/output_bias", False),
    },
    # Google stores the NSP, classifier and SQuAD matrices [out, in], like PyTorch.
    "cls.seq_relationship.weight": {"tf1": ("cls/seq_relationship/output_weights", False)},
    "cls.seq_relationship.bias": {"tf1": ("cls/seq_relationship/output_bias", False)},
    "classifier.weight": {"tf1": ("output_weights", False)},
    "classifier.bias": {"tf1": ("output_bias", False)},
    "qa_outputs.weight": {"tf1": ("cls/squad/output_weights", False)},
    "qa_outputs.bias": {"tf1": ("cls/squad/output_bias", False)},
}

# Whole-prefix renames applied after the general rules (Transformers' TF heads are wrapped in layers named
# "mlm___cls" and "nsp___cls"; its converter maps "/x___y/" to "/y/").
PREFIX_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "tf_h5": (
        ("cls/predictions/", "mlm___cls/predictions/"),
        ("cls/seq_relationship/", "nsp___cls/seq_relationship/"),
    ),
}

# Formats whose base-model tensors always live under "bert/" (the TF main layer is named "bert").
ALWAYS_PREFIXED = ("tf_h5", "tf1")
HEAD_ROOTS = ("cls.", "classifier.", "qa_outputs.")

# The tied MLM decoder and the buffer of old files: canonical names that carry no independent weights.
TIED_DECODER_WEIGHT = "cls.predictions.decoder.weight"
DECODER_BIAS_ALIAS = "cls.predictions.decoder.bias"
POSITION_IDS_BUFFER = "embeddings.position_ids"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class UnmappedNameError(ValueError):
    """A tensor name that the table cannot place."""


class Placement(NamedTuple):
    """Where a tensor goes in the other naming: its `name` there, and whether the array is `transpose`d.

    A tuple, so `name, transpose = to_format(...)` keeps working. `to_canonical` and `from_canonical`
    move an array between the canonical layout (dense `[out, in]`) and the format's (`[in, out]` when
    `transpose`); a transposed result is a C-contiguous copy, anything else is returned as given.
    """

    name: str
    transpose: bool

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        """The format's array in the canonical layout (`[in, out]` -> `[out, in]` when transposed)."""
        return np.ascontiguousarray(np.asarray(array).T) if self.transpose else array

    def from_canonical(self, array: np.ndarray) -> np.ndarray:
        """The canonical array in the format's layout (`[out, in]` -> `[in, out]` when transposed)."""
        return np.ascontiguousarray(np.asarray(array).T) if self.transpose else array


def module_kind(module_name: str) -> str:
    """Kind of the module called `module_name` ("embedding", "layernorm" or "dense")."""
    if module_name in EMBEDDING_MODULES:
        return "embedding"
    if module_name in LAYERNORM_MODULES:
        return "layernorm"
    return "dense"


def _leaf_rule(kind: str, pt_leaf: str) -> LeafRule | None:
    for rule in LEAF_RULES:
        if rule.kind == kind and rule.pt == pt_leaf:
            return rule
    return None


def _validate_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown weight format {fmt!r}; known formats: {FORMATS}")


def to_format(fmt: str, canonical: str) -> Placement:
    """Placement(name in `fmt`, transpose?) of the canonical tensor `canonical`.

    Raises:
        ValueError: `fmt` is not one of FORMATS.
        UnmappedNameError: no rule places `canonical` (an unknown leaf, or no `<module>.<leaf>` form).
    """
    _validate_format(fmt)
    if fmt == "pt":
        return Placement(canonical, False)
    if fmt in ALWAYS_PREFIXED and not canonical.startswith(("bert.", *HEAD_ROOTS)):
        canonical = "bert." + canonical
    special = SPECIAL_NAMES.get(canonical, {}).get(fmt)
    if special is not None:
        return Placement(*special)
    parts = canonical.split(".")
    if len(parts) < 2:
        raise UnmappedNameError(f"cannot map tensor {canonical!r}: expected <module>.<leaf>")
    *modules, leaf = parts
    rule = _leaf_rule(module_kind(modules[-1]), leaf)
    if rule is None:
        raise UnmappedNameError(
            f"cannot map tensor {canonical!r} to {fmt}: no rule for leaf {leaf!r} of {modules[-1]!r}"
        )
    path = "/".join(modules)
    path = re.sub(
        r"(^|/)encoder/layer/(\d+)(?=/|$)", lambda m: m.group(1) + LAYER_PATHS[fmt].format(i=m.group(2)), path
    )
    new_leaf = getattr(rule, fmt)
    name = path if new_leaf is None else f"{path}/{new_leaf}"
    for old, new in PREFIX_RULES.get(fmt, ()):
        if name.startswith(old):
            name = new + name[len(old) :]
    return Placement(name, rule.transpose)


def _inverse_specials(fmt: str) -> dict[str, tuple[str, bool]]:
    return {v[fmt][0]: (k, v[fmt][1]) for k, v in SPECIAL_NAMES.items() if fmt in v}


_LAYER_PATTERNS = {
    fmt: re.compile(r"(^|/)" + re.escape(p).replace(r"\{i\}", r"(\d+)") + r"(?=/|$)")
    for fmt, p in LAYER_PATHS.items()
    if fmt != "pt"
}


def from_format(fmt: str, name: str) -> Placement:
    """Placement(canonical name, transpose?) of the tensor called `name` in `fmt`.

    Names from "tf_h5" and "tf1" always come back with the "bert." prefix of head models; the loaders
    adapt it to the model they fill.

    Raises:
        ValueError: `fmt` is not one of FORMATS.
        UnmappedNameError: no rule places `name`.
    """
    _validate_format(fmt)
    if fmt == "pt":
        return Placement(name, False)
    special = _inverse_specials(fmt).get(name)
    if special is not None:
        return Placement(*special)
    for old, new in PREFIX_RULES.get(fmt, ()):
        if name.startswith(new):
            name = old + name[len(new) :]
    path = _LAYER_PATTERNS[fmt].sub(lambda m: m.group(1) + "encoder/layer/" + m.group(2), name)
    parts = path.split("/")
    if fmt == "tf1" and module_kind(parts[-1]) == "embedding":
        modules, rule = parts, _leaf_rule("embedding", "weight")
    else:
        *modules, leaf = parts
        if not modules:
            raise UnmappedNameError(f"cannot place {fmt} tensor {name!r}: expected <module>/<leaf>")
        kind = module_kind(modules[-1])
        rule = next((r for r in LEAF_RULES if r.kind == kind and getattr(r, fmt) == leaf), None)
        if rule is None:
            raise UnmappedNameError(
                f"cannot place {fmt} tensor {name!r}: no rule for leaf {leaf!r} of a {kind} module"
            )
    return Placement(".".join([*modules, rule.pt]), rule.transpose)


def strip_base_prefix(name: str) -> str:
    """`bert.x` -> `x` (head-model name to base-model name); other names unchanged."""
    return name[len("bert.") :] if name.startswith("bert.") else name


_EMBEDDING_ROWS = {
    "word_embeddings": "[V, H]",
    "position_embeddings": "[max_position_embeddings, H]",
    "token_type_embeddings": "[type_vocab_size, H]",
    "distance_embedding": "[2 * max_position_embeddings - 1, D]",
}


def layout(canonical: str, placement: Placement) -> str:
    """The array layout of `canonical` as stored under `placement`, e.g. "[out, in]" or "[in, out]"."""
    *modules, leaf = canonical.split(".")
    owner = modules[-1] if modules else ""
    kind = module_kind(owner)
    if kind == "embedding":
        return _EMBEDDING_ROWS[owner]
    if kind == "layernorm":
        return "[H]"
    if canonical.endswith("predictions.bias"):
        return "[V]"
    if leaf == "bias":
        return "[out]"
    return "[in, out]" if placement.transpose else "[out, in]"


def describe(canonical: str) -> list[str]:
    """One line per format: the name of `canonical` there and its layout (the `python -m` output).

    Raises:
        UnmappedNameError: no rule places `canonical`.
    """
    lines = []
    for fmt in FORMATS:
        placement = to_format(fmt, canonical)
        note = "  (stored transposed)" if placement.transpose else ""
        lines.append(f"{fmt:<6} {placement.name:<60} {layout(canonical, placement)}{note}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m conversion.names CANONICAL_NAME...`: print each tensor's four spellings and layouts."""
    names = list(sys.argv[1:] if argv is None else argv)
    if not names or names[0] in ("-h", "--help"):
        usage = (
            "usage: python -m conversion.names CANONICAL_NAME [CANONICAL_NAME ...]\n"
            "  e.g. python -m conversion.names bert.encoder.layer.0.attention.self.query.weight"
        )
        print(usage, file=sys.stdout if names else sys.stderr)
        return 0 if names else 2
    for i, canonical in enumerate(names):
        try:
            lines = describe(canonical)
        except UnmappedNameError as err:
            print(f"conversion.names: error: {err}", file=sys.stderr)
            return 2
        print(("\n" if i else "") + canonical)
        print("\n".join("  " + line for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
