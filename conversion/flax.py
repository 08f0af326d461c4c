"""Canonical weights <-> the Flax parameter tree of `bert_flax`, and the scanned <-> unscanned layer trees.

The Flax tree is the one Transformers' Flax BERT uses (the "flax" column of `conversion.names`): a nested
dict whose path, joined with "/", is `to_format("flax", canonical_name)`, with dense kernels stored
`[in, out]` (the table says which tensors are transposed). Nothing here names a tensor by hand; every name
goes through `to_format` / `from_format`.

With `scan_layers=True` the encoder runs its layers under `nn.scan`, and the per-layer subtrees
`encoder/layer/0`, `encoder/layer/1`, ... become a single subtree `encoder/layer/scanned` whose leaves
carry a leading layer axis `[L, ...]`. `scan_layers` and `unscan_layers` convert between the two; the
canonical (on-disk) form is always the unscanned one.

Leaves may be numpy arrays, jax arrays or `jax.ShapeDtypeStruct`s (abstract shapes from `jax.eval_shape`);
jax is imported only when a function meets a jax leaf (or places weights in a model).

The module is the Flax `WeightAdapter` of `conversion.loading` (`expected_shapes`, `assign`,
`to_canonical` at module level) for a model that holds its parameters (`model.params`); `ParamsAdapter`
is the same for a parameter tree held outside the model, Flax's functional style
(`from_pretrained(..., _do_init=False)` returns it, `save_pretrained(params=...)` writes it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from conversion.canonical import LoadReport
from conversion.names import UnmappedNameError, from_format, to_format

SEP = "/"
# Where the encoder keeps its layers, and the key of the stacked subtree that replaces them when scanned.
LAYER_COLLECTION = ("encoder", "layer")
SCANNED = "scanned"


# ------------------------------------------------------------------ nested dict <-> flat paths


def flatten_tree(tree: Mapping[str, Any], sep: str = SEP) -> dict[str, Any]:
    """{"a/b/c": leaf} for a nested mapping {"a": {"b": {"c": leaf}}} (leaves are anything not a Mapping)."""
    out: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{sep}{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                walk(value, path)
            else:
                out[path] = value

    walk(tree, "")
    return out


def unflatten_tree(flat: Mapping[str, Any], sep: str = SEP) -> dict[str, Any]:
    """The nested dict of `flat` ({"a/b/c": leaf} -> {"a": {"b": {"c": leaf}}})."""
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        node = tree
        *parents, leaf = path.split(sep)
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"path {path!r} runs through the leaf {part!r}")
            node = child
        if leaf in node:
            raise ValueError(f"duplicate path {path!r}")
        node[leaf] = value
    return tree


# ------------------------------------------------------------------ canonical <-> flax


def _transpose(value: Any) -> Any:
    if _is_abstract(value):
        import jax

        return jax.ShapeDtypeStruct(tuple(reversed(value.shape)), value.dtype)
    return value.T


def canonical_to_flax(state: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The nested Flax param tree (unscanned) holding the canonical weights `state`.

    Base-model names (`embeddings.…`) land at the root, head-model names (`bert.embeddings.…`) under
    `bert/`, as in Transformers' Flax classes. Raises `UnmappedNameError` for a name the table cannot place.
    """
    flat: dict[str, Any] = {}
    for name, value in state.items():
        path, transpose = to_format("flax", name)
        flat[path] = _transpose(value) if transpose else value
    return unflatten_tree(flat)


def flax_to_canonical(params: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical name -> tensor for a Flax param tree (scanned trees are unscanned first).

    Leaves keep their type (numpy, jax or abstract); dense kernels come back `[out, in]`.
    """
    out: dict[str, Any] = {}
    for path, value in flatten_tree(unscan_layers(params)).items():
        try:
            name, transpose = from_format("flax", path)
        except UnmappedNameError as err:
            raise UnmappedNameError(f"Flax parameter {path!r} has no canonical name: {err}") from None
        if name in out:
            raise ValueError(f"two Flax parameters map to the canonical name {name!r}")
        out[name] = _transpose(value) if transpose else value
    return out


def canonical_shapes(params: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape for a Flax param tree of arrays or `ShapeDtypeStruct`s (what `fit_to_model` expects)."""
    return {name: tuple(int(d) for d in value.shape) for name, value in flax_to_canonical(params).items()}


# ------------------------------------------------------------------ scanned <-> unscanned


def _is_abstract(value: Any) -> bool:
    return type(value).__name__ == "ShapeDtypeStruct"


def _stack(leaves: list[Any]) -> Any:
    first = leaves[0]
    if _is_abstract(first):
        import jax

        return jax.ShapeDtypeStruct((len(leaves), *first.shape), first.dtype)
    if isinstance(first, np.ndarray):
        return np.stack(leaves)
    import jax.numpy as jnp

    return jnp.stack(leaves)


def _take(leaf: Any, index: int) -> Any:
    if _is_abstract(leaf):
        import jax

        return jax.ShapeDtypeStruct(tuple(leaf.shape[1:]), leaf.dtype)
    return leaf[index]


def _map_layer_collections(
    tree: Mapping[str, Any], fn: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """Copy of `tree` with every `encoder/layer` subtree replaced by `fn(subtree)`."""

    def walk(node: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            child_path = (*path, key)
            if isinstance(value, Mapping):
                out[key] = fn(value) if child_path[-2:] == LAYER_COLLECTION else walk(value, child_path)
            else:
                out[key] = value
        return out

    return walk(tree, ())


def is_scanned(params: Mapping[str, Any]) -> bool:
    """True when the tree holds a scanned layer stack (`encoder/layer/scanned`)."""
    return any(
        f"{SEP.join(LAYER_COLLECTION)}{SEP}{SCANNED}{SEP}" in f"{SEP}{path}" for path in flatten_tree(params)
    )


def scan_layers(params: Mapping[str, Any]) -> dict[str, Any]:
    """Stack `encoder/layer/{0..L-1}` into `encoder/layer/scanned` with a leading `[L, ...]` axis.

    Trees that are already scanned are returned unchanged (as a copy of the dict structure).

    Raises:
        ValueError: layer keys other than 0..L-1, or layers whose parameters differ in names or shapes
            (a model with different head counts per layer, `config.pruned_heads`).
    """

    def stack(layers: Mapping[str, Any]) -> dict[str, Any]:
        if set(layers) == {SCANNED}:
            return dict(layers)
        if not layers or not all(str(k).isdigit() for k in layers):
            raise ValueError(f"encoder/layer must hold layers '0'..'L-1', found keys {sorted(layers)}")
        order = sorted(layers, key=int)
        if order != [str(i) for i in range(len(order))]:
            raise ValueError(f"encoder/layer keys must be 0..{len(order) - 1} without gaps, found {order}")
        flats = [flatten_tree(layers[k]) for k in order]
        for i, flat in enumerate(flats[1:], start=1):
            if set(flat) != set(flats[0]):
                diff = sorted(set(flat) ^ set(flats[0]))
                raise ValueError(f"layer {i} does not have the parameters of layer 0 (differs in {diff})")
        for i, flat in enumerate(flats[1:], start=1):
            differ = [p for p in flats[0] if tuple(flat[p].shape) != tuple(flats[0][p].shape)]
            if differ:
                raise ValueError(
                    f"layer {i} does not have the shapes of layer 0 ({differ[0]}: {tuple(flat[differ[0]].shape)} "
                    f"vs {tuple(flats[0][differ[0]].shape)}; pruned heads?): layers of different shapes cannot be "
                    "scanned"
                )
        stacked = {path: _stack([flat[path] for flat in flats]) for path in flats[0]}
        return {SCANNED: unflatten_tree(stacked)}

    return _map_layer_collections(params, stack)


def unscan_layers(params: Mapping[str, Any]) -> dict[str, Any]:
    """Split `encoder/layer/scanned` (leading `[L, ...]` axis) into `encoder/layer/{0..L-1}`.

    Unscanned trees are returned unchanged (as a copy of the dict structure).
    """

    def split(layers: Mapping[str, Any]) -> dict[str, Any]:
        if set(layers) != {SCANNED}:
            return dict(layers)
        flat = flatten_tree(layers[SCANNED])
        lengths = {int(v.shape[0]) for v in flat.values()}
        if len(lengths) != 1:
            raise ValueError(f"scanned layer parameters disagree on the number of layers: {sorted(lengths)}")
        (num_layers,) = lengths
        return {str(i): unflatten_tree({p: _take(v, i) for p, v in flat.items()}) for i in range(num_layers)}

    return _map_layer_collections(params, split)


# ------------------------------------------------------------------ the adapter


class FlaxModel(Protocol):
    """What the adapter needs of a bert_flax wrapper (FlaxBertPreTrainedModel)."""

    params_shape_tree: Mapping[str, Any]
    param_dtype: Any
    scan_layers: bool
    key: Any
    input_shape: tuple[int, ...]

    @property
    def params(self) -> Mapping[str, Any]: ...

    @params.setter
    def params(self, params: Mapping[str, Any]) -> None: ...

    def init_weights(self, rng: Any, input_shape: tuple[int, ...] | None = None) -> dict[str, Any]: ...


def expected_shapes(model: FlaxModel) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape of every weight the model owns, read off its abstract parameter tree."""
    return canonical_shapes(model.params_shape_tree)


def to_params(model: FlaxModel, weights: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The Flax parameter tree of the fitted canonical `weights`: cast to `model.param_dtype`, placed and
    transposed by the name table, scanned when the model scans its layers. Weights absent from `weights`
    stay absent."""
    import jax
    import jax.numpy as jnp

    # transposed before they become jax arrays: numpy's .T is a view, a jax array's compiles and runs a
    # transpose per kernel shape (0.25 s of loading all-MiniLM-L6-v2, cProfile)
    params = canonical_to_flax(dict(weights))
    params = jax.tree_util.tree_map(lambda value: jnp.asarray(value, dtype=model.param_dtype), params)
    return scan_layers(params) if model.scan_layers else params


def assign(model: FlaxModel, weights: Mapping[str, np.ndarray], report: LoadReport) -> None:
    """Set `model.params` from the fitted canonical `weights`; the weights the checkpoint lacks (missing,
    or mismatched and ignored, as `report` lists them) are drawn from the model's initializers."""
    weights = dict(weights)
    to_init = [name for name in expected_shapes(model) if name not in weights]
    if to_init:
        random = flax_to_canonical(model.init_weights(model.key, model.input_shape))
        weights.update({name: random[name] for name in to_init})
    model.params = to_params(model, weights)


def params_to_canonical(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Canonical name -> numpy array of a Flax parameter tree (unscanned first); bfloat16, which
    safetensors' numpy API cannot hold, becomes float32 (exactly)."""
    out = {}
    for name, value in flax_to_canonical(params).items():
        array = np.asarray(value)
        out[name] = array.astype(np.float32) if array.dtype.name == "bfloat16" else array
    return out


def to_canonical(model: FlaxModel) -> dict[str, np.ndarray]:
    """The model's parameters as canonical numpy arrays, for saving (see params_to_canonical)."""
    return params_to_canonical(model.params)


@dataclass
class ParamsAdapter:
    """The adapter for a parameter tree held outside the model.

    `assign` keeps the tree in `params` (missing weights left out, nothing drawn) instead of setting
    `model.params`; `to_canonical` reads `params`.
    """

    params: dict[str, Any] | None = None

    def expected_shapes(self, model: FlaxModel) -> dict[str, tuple[int, ...]]:
        return expected_shapes(model)

    def assign(self, model: FlaxModel, weights: Mapping[str, np.ndarray], report: LoadReport) -> None:
        self.params = to_params(model, weights)

    def to_canonical(self, model: FlaxModel) -> dict[str, np.ndarray]:
        if self.params is None:
            raise ValueError("ParamsAdapter holds no params to save")
        return params_to_canonical(self.params)
