"""Running one checkpoint in several twins and measuring how far their outputs are apart.

Every twin offers the same two functions in its `pipelines` module (see bert_zoo.twins):

    load_model(head, source) -> (model, config, loading_info)
    run_numpy(model, arrays, **forward_kwargs) -> {field: numpy array or tuple of arrays}

so the converter's verification, `bert-zoo diff` and the equivalence grid are written once, here, and so
is the comparison: a NaN or Inf on either side is a difference of NaN, which no tolerance passes.

Shapes: B batch, T positions, C choices, S encoder length, H hidden size, L layers.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_zoo.twins import FRAMEWORKS, load_twin

TWINS = FRAMEWORKS
# Which twin reads a format natively: used to load the source and the result of a conversion.
FORMAT_TWIN = {
    "safetensors": "pt",
    "pytorch": "pt",
    "tf-h5": "tf",
    "flax-msgpack": "flax",
    "google-tf1": "tf",
}
# The numerics contract (DESIGN.md): fp32 outputs of the twins agree to this max-abs-diff.
ATOL = 1e-5


def sample_inputs(
    config: BertConfig, head: str, *, batch: int = 2, length: int = 11, seed: int = 0
) -> dict[str, np.ndarray]:
    """Deterministic inputs for `head`: random ids, two token types, the second row right-padded.

    Returns int64 `input_ids`, `attention_mask`, `token_type_ids` of shape [B, T] (T = `length`, at most
    max_position_embeddings); multiple choice gets [B, C=3, T]; a decoder with cross-attention also gets
    float32 `encoder_hidden_states` [B, S=5, H] and `encoder_attention_mask` [B, S].
    """
    rng = np.random.default_rng(seed)
    length = min(length, config.max_position_embeddings)
    low = min(5, config.vocab_size - 1)
    ids = rng.integers(low, config.vocab_size, size=(batch, length), dtype=np.int64)
    mask = np.ones((batch, length), dtype=np.int64)
    if batch > 1 and length > 4:
        mask[1, length - 3 :] = 0
        ids[1, length - 3 :] = config.pad_token_id or 0
    types = np.zeros((batch, length), dtype=np.int64)
    if config.type_vocab_size > 1:
        types[:, length // 2 :] = 1
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if get_head(head).name == "BertForMultipleChoice":
        choices = 3
        arrays = {k: np.repeat(v[:, None], choices, axis=1) for k, v in arrays.items()}
        arrays["input_ids"][:, 1, 1] = low
    if config.is_decoder and config.add_cross_attention:
        arrays["encoder_hidden_states"] = rng.standard_normal((batch, 5, config.hidden_size)).astype(
            np.float32
        )
        arrays["encoder_attention_mask"] = np.ones((batch, 5), dtype=np.int64)
    return arrays


def flatten_outputs(outputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """{field: float64 array} with tuple fields spread out as `hidden_states.0`, `attentions.1`, ...;
    the decoder cache is left out (it is compared through the logits it produces)."""
    flat: dict[str, np.ndarray] = {}
    for name, value in outputs.items():
        if value is None or name == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"{name}.{i}"] = np.asarray(item, dtype=np.float64)
        else:
            flat[name] = np.asarray(value, dtype=np.float64)
    return flat


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Max |a - b| over two arrays of one shape (0.0 when empty); NaN when either side holds a NaN or an
    Inf anywhere, so a non-finite output is never "within" a tolerance (see `within`)."""
    if not a.size:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    return float(np.max(np.abs(a - b)))


def within(value: float, atol: float = ATOL) -> bool:
    """Whether a difference passes `atol` (default 1e-5); NaN (a non-finite output) never passes."""
    return bool(value <= atol)


def nan_max(values: Iterable[float]) -> float:
    """The largest of `values`, NaN when any is NaN (Python's `max` would skip it by comparing false);
    0.0 when there are none."""
    values = list(values)
    if any(math.isnan(v) for v in values):
        return float("nan")
    return max(values, default=0.0)


def worst_field(diffs: Mapping[str, float]) -> tuple[str, float]:
    """(field, difference) of the worst field of `diffs`: the first NaN, otherwise the largest.

    Raises:
        ValueError: `diffs` is empty.
    """
    if not diffs:
        raise ValueError("no fields to compare")
    for name, value in diffs.items():
        if math.isnan(value):
            return name, value
    name = max(diffs, key=diffs.__getitem__)
    return name, diffs[name]


def group_diffs(diffs: Mapping[str, float]) -> dict[str, float]:
    """Worst difference per field family (`hidden_states.3` -> `hidden_states`), NaN winning."""
    families: dict[str, list[float]] = {}
    for name, value in diffs.items():
        families.setdefault(name.split(".")[0], []).append(value)
    return {family: nan_max(values) for family, values in families.items()}


def compare_outputs(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Max |a - b| per field (see `max_abs_diff`: 0.0 for empty fields, NaN when a side is not finite).

    Raises:
        ValueError: a field is on one side only, or has a different shape on each side.
    """
    only = sorted(set(a) ^ set(b))
    if only:
        raise ValueError(f"the outputs do not have the same fields; only on one side: {only}")
    diffs = {}
    for name in a:
        if a[name].shape != b[name].shape:
            raise ValueError(
                f"output {name!r} has shape {a[name].shape} on one side and {b[name].shape} on the other"
            )
        diffs[name] = max_abs_diff(a[name], b[name])
    return diffs


def gpu_available(framework: str) -> bool:
    """Whether `framework` ("pt", "tf" or "flax") sees a GPU (imports the framework)."""
    if framework == "pt":
        import torch

        return torch.cuda.is_available()
    if framework == "tf":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import jax

    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@contextlib.contextmanager
def _device_scope(framework: str, device: str) -> Iterator[None]:
    """Run a twin on "cpu" or "gpu" with full fp32 matmuls (TF32 off; JAX "highest" is set by the twin)."""
    if framework == "pt":
        import torch

        previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous
    elif framework == "tf":
        import tensorflow as tf

        previous = tf.config.experimental.tensor_float_32_execution_enabled()
        tf.config.experimental.enable_tensor_float_32_execution(False)
        try:
            with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
                yield
        finally:
            tf.config.experimental.enable_tensor_float_32_execution(previous)
    else:
        import jax

        with jax.default_device(jax.devices("gpu" if device == "gpu" else "cpu")[0]):
            yield


def run_in(
    framework: str,
    source: str | os.PathLike[str],
    head: str,
    arrays: Mapping[str, np.ndarray],
    *,
    device: str = "cpu",
    **forward: Any,
) -> tuple[dict[str, np.ndarray], BertConfig]:
    """Load `source` as `head` in `framework` on `device` ("cpu", the default, or "gpu") and run `arrays`.

    forward: keyword arguments of the model call (e.g. output_hidden_states=True).
    Returns (flattened float64 outputs, see flatten_outputs; the loaded config).

    Raises:
        ValueError: unknown `framework` or `device`.
        ImportError: the twin cannot be imported.
    """
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    twin = load_twin(framework)
    with _device_scope(framework, device):
        model, config, _info = twin.load_model(head, os.fspath(source))
        if framework == "pt" and device == "gpu":
            model = model.to("cuda")
        outputs = twin.run_numpy(model, dict(arrays), **forward)
    return flatten_outputs(outputs), config
