"""The bodies of `from_pretrained` / `save_pretrained` for bert_pt, on `conversion.loading`.

The skeleton (resolve the directory, read config and canonical weights, build, fit, assign, report) is
`conversion.loading.load_into` / `save_from`, with the module `conversion.pt` as the weight adapter, and
the tied-decoder rule is `conversion.shapes.tied_weights`; the loader arguments Transformers users pass
(`subfolder`, `variant`, `use_safetensors`, `from_tf`, ...) are handled there. What stays here is
PyTorch's own: the `dtype` / `torch_dtype` / `device` / `device_map` arguments, `attn_implementation`,
eval mode, recording the dtype in the saved config, and `pytorch_model.bin` (safe_serialization=False).

Shape legend: none of these functions touch tensors by shape; weights are the canonical `[out, in]`
matrices of `conversion.pt` (H hidden size, V vocabulary size).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

import conversion.pt as pt_adapter
from bert_common.config import BertConfig
from bert_pt.attention import check_attn_implementation
from conversion.canonical import LoadReport
from conversion.loading import LEGACY_FORMATS, load_into, save_from, split_model_kwargs

ModelT = TypeVar("ModelT", bound=nn.Module)

DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}
# Constructor arguments of every bert_pt model class that from_pretrained forwards (besides `model_kwargs`).
MODEL_ARGUMENTS = ("padding_free",)
# from_pretrained arguments of bert_pt besides conversion.loading.LOADER_ARGUMENTS (named in errors).
TWIN_ARGUMENTS = ("dtype", "torch_dtype", "attn_implementation", "device", "device_map")
# device_map strategies that place a model on several devices; with one device they all mean that one.
ONE_DEVICE_STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")


class _RecordingAdapter:
    """`conversion.pt`, remembering the numpy dtype of the first floating weight it assigns: the stored
    dtype that `dtype="auto"` falls back to when the config records none."""

    def __init__(self) -> None:
        self.stored_dtype: str | None = None

    def expected_shapes(self, model: nn.Module) -> dict[str, tuple[int, ...]]:
        return pt_adapter.expected_shapes(model)

    def assign(self, model: nn.Module, weights: Mapping[str, np.ndarray], report: LoadReport) -> None:
        self.stored_dtype = next(
            (str(a.dtype) for a in weights.values() if np.issubdtype(a.dtype, np.floating)), None
        )
        pt_adapter.assign(model, weights, report)

    def to_canonical(self, model: nn.Module) -> dict[str, np.ndarray]:
        return pt_adapter.to_canonical(model)


def from_pretrained(
    cls: type[ModelT],
    pretrained_model_name_or_path: str | os.PathLike[str],
    *,
    config: BertConfig | str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    ignore_mismatched_sizes: bool = False,
    output_loading_info: bool = False,
    local_files_only: bool = False,
    token: str | bool | None = None,
    revision: str | None = None,
    dtype: torch.dtype | str | None = None,
    torch_dtype: torch.dtype | str | None = None,
    attn_implementation: str | None = None,
    device: torch.device | str | None = None,
    device_map: str | int | torch.device | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ModelT | tuple[ModelT, dict[str, Any]]:
    """`cls.from_pretrained(...)`; the arguments, result and errors are documented on
    `BertPreTrainedModel.from_pretrained`. `cls` carries `head_name` and `model_kwargs`."""
    if torch_dtype is not None:
        if dtype is not None:
            raise TypeError("pass dtype or torch_dtype (its older name), not both")
        dtype = torch_dtype
    model_kwargs, overrides = split_model_kwargs(
        cls.__name__, kwargs, (*cls.model_kwargs, *MODEL_ARGUMENTS), TWIN_ARGUMENTS
    )
    if device_map is not None:
        if device is not None:
            raise TypeError("pass device or device_map, not both")
        device = resolve_device_map(device_map)
    if attn_implementation is not None:
        check_attn_implementation(attn_implementation)
    if dtype is not None and dtype != "auto":
        resolve_dtype(dtype, None)  # refuse a bad dtype before reading any file

    def build(loaded: BertConfig) -> ModelT:
        return cls(loaded, attn_implementation=attn_implementation, **model_kwargs)

    adapter = _RecordingAdapter()
    model, report = load_into(
        build,
        adapter,
        pretrained_model_name_or_path,
        head=cls.head_name,
        owner=cls.__name__,
        config=config,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        ignore_mismatched_sizes=ignore_mismatched_sizes,
        **overrides,
    )
    stored = model.config.extra.get("dtype") or model.config.extra.get("torch_dtype") or adapter.stored_dtype
    target_dtype = resolve_dtype(dtype, stored)
    if target_dtype is not None:
        model.to(target_dtype)
    if device is not None:
        model.to(device)
    if device_map is not None:  # as Transformers records a placement: {"": the device}
        model.hf_device_map = {"": device.index if device.type == "cuda" else str(device)}
    model.eval()
    return (model, report.loading_info()) if output_loading_info else model


def resolve_device_map(device_map: str | int | torch.device | Mapping[str, Any]) -> torch.device:
    """The one device a Transformers `device_map` names: "cpu", "cuda:1", `torch.device`, an int (a
    CUDA index), {"": device} (or a dict giving every module the same device), or "auto" / "balanced"
    / "balanced_low_0" / "sequential", which put the whole model on the first GPU, or the CPU without one.

    Raises:
        ValueError: a dict spreading modules over several devices (bert_pt places a model on one device);
            a string that names no device.
        TypeError: another type.
    """
    if isinstance(device_map, Mapping):
        devices = {str(resolve_device_map(d)) for d in device_map.values()}
        if len(devices) != 1:
            raise ValueError(
                f"device_map places modules on several devices {sorted(devices)}; bert_pt loads a model "
                "onto one device (pass one device, or 'auto')"
            )
        return torch.device(devices.pop())
    if device_map in ONE_DEVICE_STRATEGIES:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if isinstance(device_map, int) and not isinstance(device_map, bool):
        return torch.device("cuda", device_map)
    if isinstance(device_map, (str, torch.device)):
        try:
            return torch.device(device_map)
        except RuntimeError as err:
            raise ValueError(
                f"device_map {device_map!r} names no device ({err}); use 'cpu', 'cuda:0', an int, a dict "
                f"or one of {list(ONE_DEVICE_STRATEGIES)}"
            ) from None
    raise TypeError(f"device_map must be a device, an int, a dict or a strategy name, got {device_map!r}")


def resolve_dtype(dtype: torch.dtype | str | None, stored: str | None) -> torch.dtype | None:
    """The dtype to cast a loaded model to: None keeps float32; "auto" uses `stored` (float32 when None).

    Raises:
        ValueError: a name that is not float32, float16, bfloat16 or float64.
        TypeError: anything else that is not a floating torch.dtype.
    """
    if dtype is None:
        return None
    if dtype == "auto":
        dtype = stored or "float32"
    if isinstance(dtype, str):
        if dtype.removeprefix("torch.") not in DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {sorted(DTYPES)} or 'auto'")
        return DTYPES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise TypeError(f"dtype must be a floating torch.dtype, its name, or 'auto'; got {dtype!r}")


def save_pretrained(
    model: nn.Module,
    save_directory: str | os.PathLike[str],
    *,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
) -> list[Path]:
    """`model.save_pretrained(...)`; documented on `BertPreTrainedModel.save_pretrained`."""
    if not isinstance(safe_serialization, bool):
        raise TypeError(f"safe_serialization must be True or False, got {safe_serialization!r}")
    config = model.config.copy()
    dtype_name = str(model.dtype).removeprefix("torch.")
    config.extra["dtype"] = dtype_name
    if "torch_dtype" in config.extra:
        config.extra["torch_dtype"] = dtype_name
    return save_from(
        model,
        pt_adapter,
        save_directory,
        config=config,
        architecture=type(model).__name__,
        max_shard_size=max_shard_size,
        fmt="safetensors" if safe_serialization else LEGACY_FORMATS["pt"],
    )
