"""StableHLO export of the Flax twin (bert_flax) through `jax.export`, verified after a round trip.

The file `model.stablehlo` is a serialized `jax.export.Exported`: the StableHLO module of the forward
pass with the weights inside, its calling convention and the output names. It is called with keyword
arrays and returns a dict of the model's output fields:

    exported = jax.export.deserialize(Path("OUT/model.stablehlo").read_bytes())
    out = exported.call(input_ids=ids, attention_mask=mask, token_type_ids=types)  # int32 [B, T]
    out["last_hidden_state"]  # float32 [B, T, H]

The batch and sequence axes (and C, S) are symbolic, so one file serves every shape. The export is
constrained to T <= max_position_embeddings: a longer input is refused at call time (once deserialized,
jax reports it as "Error refining shapes") instead of silently reading clamped positions.
Matmuls run at "highest" precision, the twins' numerics contract. Verification deserializes the written
bytes and compares their outputs with the Flax wrapper's on the verification batches.

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size, V vocabulary size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.heads import get_head
from bert_zoo.export_common import (
    Check,
    ExportError,
    compare_fields,
    failed_check,
    input_names,
    verification_batches,
)

MODEL_FILE = "model.stablehlo"
PLATFORMS = ("cpu", "cuda", "rocm", "tpu")
_NOT_EXPORTED = ("loss", "past_key_values", "hidden_states", "attentions", "cross_attentions")


def check_platforms(platforms: Sequence[str] | None) -> tuple[str, ...] | None:
    """`platforms` as a tuple of jax.export lowering platforms (None: the local backend).

    Raises:
        ExportError: an empty list or an unknown platform.
    """
    if platforms is None:
        return None
    chosen = tuple(platforms) if not isinstance(platforms, str) else (platforms,)
    unknown = [p for p in chosen if p not in PLATFORMS]
    if not chosen or unknown:
        raise ExportError(f"platforms must be some of {', '.join(PLATFORMS)}, got {list(chosen)}")
    return chosen


def _symbolic_specs(model: Any, head: str) -> dict[str, Any]:
    """ShapeDtypeStructs of the inputs with symbolic batch / choices / sequence / encoder axes."""
    import jax
    import jax.numpy as jnp
    from jax import export

    config = model.config
    rank = get_head(head).input_rank
    names = "batch, choices, sequence" if rank == 3 else "batch, sequence"
    scope = export.SymbolicScope([f"sequence <= {config.max_position_embeddings}"])
    dims = export.symbolic_shape(names + ", encoder_sequence", scope=scope)
    tokens, encoder_sequence = dims[:-1], dims[-1]
    specs = {}
    for name in input_names(config, head):
        if name == "encoder_hidden_states":
            specs[name] = jax.ShapeDtypeStruct((dims[0], encoder_sequence, config.hidden_size), jnp.float32)
        elif name == "encoder_attention_mask":
            specs[name] = jax.ShapeDtypeStruct((dims[0], encoder_sequence), jnp.int32)
        else:
            specs[name] = jax.ShapeDtypeStruct(tokens, jnp.int32)
    return specs


def _forward(model: Any) -> Any:
    """The pure forward pass: keyword input arrays -> {output field: array}, weights closed over."""
    import jax

    params = model.params
    module = model.module

    def forward(**inputs: jax.Array) -> dict[str, jax.Array]:
        with jax.default_matmul_precision("highest"):
            out = module.apply(
                {"params": params},
                **inputs,
                deterministic=True,
                output_attentions=False,
                output_hidden_states=False,
            )
        return {k: v for k, v in out.items() if v is not None and k not in _NOT_EXPORTED}

    return forward


def export_stablehlo(
    model: Any, head: str, directory: Path, platforms: tuple[str, ...] | None = None
) -> tuple[list[str], list[str], dict[str, Any]]:
    """Export the bert_flax wrapper `model` to `directory / model.stablehlo`; returns (input names,
    output names, {"inputs"/"outputs": {name: {"dtype", "shape"}}, "platforms": [...]}), symbolic axes
    by name.

    Raises:
        ExportError: jax.export cannot lower the model with symbolic shapes (or for `platforms`).
    """
    import jax
    from jax import export

    specs = _symbolic_specs(model, head)
    try:
        exported = export.export(jax.jit(_forward(model)), platforms=platforms)(**specs)
    except Exception as err:  # jax's lowering errors have no common base class
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"jax.export cannot export {head} with symbolic shapes: {first}") from err
    (directory / MODEL_FILE).write_bytes(exported.serialize())
    by_name = exported.out_tree.unflatten(list(exported.out_avals))  # {field: aval}

    def spec(aval: Any) -> dict[str, Any]:
        return {"dtype": str(aval.dtype), "shape": [d if isinstance(d, int) else str(d) for d in aval.shape]}

    description = {
        "inputs": {name: spec(value) for name, value in specs.items()},
        "outputs": {name: spec(value) for name, value in by_name.items()},
        "platforms": list(exported.platforms),
    }
    return list(specs), list(by_name), description


def verify_stablehlo(path: Path, model: Any, head: str, outputs: Sequence[str]) -> list[Check]:
    """Deserialize `path`, call it on every verification batch and compare with the Flax wrapper; one
    Check per batch, named "jax.export".

    Raises:
        ExportError: the file cannot be deserialized or called on this machine's backend.
    """
    import jax
    from jax import export

    from bert_flax.pipelines import run_numpy

    try:
        exported = export.deserialize(bytearray(path.read_bytes()))
    except Exception as err:
        raise ExportError(f"jax.export.deserialize cannot read {path.name}: {err}") from err
    backend = jax.default_backend()
    if backend not in exported.platforms:
        raise ExportError(
            f"{path.name} was lowered for {', '.join(exported.platforms)} and cannot be verified on this "
            f"machine's {backend} backend: include {backend} in platforms, or export without verification"
        )
    checks = []
    for batch in verification_batches(model.config, head):
        arrays = {k: v.astype(np.int32) if v.dtype == np.int64 else v for k, v in batch.items()}
        shape = tuple(batch["input_ids"].shape)
        try:
            got = {k: np.asarray(v) for k, v in exported.call(**arrays).items()}
        except Exception as err:  # XLA's runtime errors (e.g. a failed shape assertion)
            checks.append(failed_check("jax.export", "bert_flax", shape, list(outputs), err))
            continue
        expected = run_numpy(model, arrays, output_attentions=False, output_hidden_states=False)
        checks.append(Check("jax.export", "bert_flax", shape, compare_fields(got, expected, list(outputs))))
    return checks
