"""BertPreTrainedModel: what every BERT model shares, and `from_pretrained` / `save_pretrained`.

The base class stays thin: it holds the config and gives each model the methods Transformers users call
(`from_pretrained`, `save_pretrained`, `resize_token_embeddings`, `prune_heads`,
`gradient_checkpointing_enable`, ...). The work is done by focused modules:

- weights on disk: `conversion.checkpoint` (config + canonical weights, safetensors / pytorch_model.bin),
  `conversion.canonical.fit_to_model` (legacy names, the `bert.` prefix, missing / unexpected /
  mismatched keys), `conversion.pt` (canonical weights <-> the module's parameters);
- initialization: `bert_pt.initialization`; resizing and pruning: `bert_pt.surgery`;
  generation: `bert_pt.generation`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bert_common.config import FIELDS, BertConfig
from bert_pt.attention import BertSelfAttention, check_attn_implementation
from bert_pt.initialization import init_bert_weights, zero_padding_rows

logger = logging.getLogger("bert_zoo")

_DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}


class BertPreTrainedModel(nn.Module):
    """Base of every bert_pt model: config, initialization, embeddings access, loading and saving."""

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    # Keyword arguments of __init__ (besides config and attn_implementation) that from_pretrained accepts.
    model_kwargs: tuple[str, ...] = ()

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(
                f"{type(self).__name__} needs a bert_common.BertConfig, got {type(config).__name__}"
            )
        self.config = config

    # ------------------------------------------------------------------------------ initialization

    def post_init(self) -> None:
        """Called at the end of each model's __init__: prune heads named in the config, initialize, tie."""
        if self.config.pruned_heads:
            self.prune_heads({layer: list(heads) for layer, heads in self.config.pruned_heads.items()})
        self.init_weights()

    def init_weights(self) -> None:
        """(Re)initialize every weight as BERT does, then tie the MLM decoder to the word embeddings."""
        self.apply(functools.partial(init_bert_weights, initializer_range=self.config.initializer_range))
        zero_padding_rows(self)
        self.tie_weights()

    # ---------------------------------------------------------------------------------- properties

    @property
    def base_model(self) -> nn.Module:
        """The `BertModel` inside a head model (`self.bert`), or the model itself."""
        return getattr(self, self.base_model_prefix, self)

    @property
    def dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of distinct parameters (a tied decoder is counted once)."""
        skip = set()
        if exclude_embeddings:
            skip = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return sum(
            p.numel()
            for p in self.parameters()
            if id(p) not in skip and (p.requires_grad or not only_trainable)
        )

    # ---------------------------------------------------------------------------------- embeddings

    def get_input_embeddings(self) -> nn.Embedding:
        return self.base_model.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        if not isinstance(value, nn.Embedding):
            raise TypeError(f"set_input_embeddings expects a torch.nn.Embedding, got {type(value).__name__}")
        if value.embedding_dim != self.config.hidden_size:
            raise ValueError(
                f"embedding width {value.embedding_dim} != hidden_size {self.config.hidden_size}"
            )
        self.base_model.embeddings.word_embeddings = value
        self.config.vocab_size = value.num_embeddings
        self.tie_weights()

    def get_output_embeddings(self) -> nn.Linear | None:
        """The MLM decoder [V, H] of the heads that have one; None otherwise."""
        return None

    def tie_weights(self) -> None:
        """Make the MLM decoder weight the word-embedding Parameter itself (when tie_word_embeddings)."""
        output = self.get_output_embeddings()
        if output is not None and self.config.tie_word_embeddings:
            output.weight = self.get_input_embeddings().weight

    def resize_token_embeddings(
        self,
        new_num_tokens: int | None = None,
        pad_to_multiple_of: int | None = None,
        mean_resizing: bool = True,
    ) -> nn.Embedding:
        """See `bert_pt.surgery.resize_token_embeddings`."""
        from bert_pt.surgery import resize_token_embeddings

        return resize_token_embeddings(self, new_num_tokens, pad_to_multiple_of, mean_resizing)

    # ------------------------------------------------------------------------ pruning, attention

    def prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        """Remove attention heads: {layer: [heads]} (numbered as in the unpruned model)."""
        from bert_pt.surgery import prune_heads

        prune_heads(self, heads_to_prune)

    def set_attn_implementation(self, attn_implementation: str) -> None:
        """Switch every attention block to "sdpa" or "eager"."""
        check_attn_implementation(attn_implementation)
        for module in self.modules():
            if isinstance(module, BertSelfAttention):
                module.attn_implementation = attn_implementation

    @property
    def attn_implementation(self) -> str:
        return next(m.attn_implementation for m in self.modules() if isinstance(m, BertSelfAttention))

    # ----------------------------------------------------------------------- gradient checkpointing

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """Recompute each layer's activations in the backward pass (training only) to save memory."""
        if gradient_checkpointing_kwargs and set(gradient_checkpointing_kwargs) - {"use_reentrant"}:
            raise ValueError(
                f"gradient_checkpointing_kwargs supports only 'use_reentrant', got {sorted(gradient_checkpointing_kwargs)}"
            )
        if gradient_checkpointing_kwargs and gradient_checkpointing_kwargs.get("use_reentrant"):
            raise ValueError("bert_pt checkpoints with use_reentrant=False only")
        self.base_model.encoder.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        self.base_model.encoder.gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return bool(self.base_model.encoder.gradient_checkpointing)

    # --------------------------------------------------------------------------- loading, saving

    @classmethod
    def from_pretrained(
        cls,
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
        **kwargs: Any,
    ) -> BertPreTrainedModel | tuple[BertPreTrainedModel, dict[str, list]]:
        """Load a model from a directory or hub id holding config.json and model.safetensors (sharded or
        not), or a legacy pytorch_model.bin (read with weights_only=True).

        config: a BertConfig (or a path to one) to use instead of the stored config.
        dtype: torch dtype (or its name, or "auto" for the stored one); float32 when None.
            `torch_dtype` is the older spelling.
        attn_implementation: "sdpa" (default) or "eager".
        ignore_mismatched_sizes: initialize weights whose shapes differ instead of raising.
        output_loading_info: also return {"missing_keys", "unexpected_keys", "mismatched_keys", ...}.
        kwargs: BertConfig fields that override the stored ones (e.g. num_labels=3), and the model's
            own keyword arguments (`add_pooling_layer` for BertModel).
        The model comes back in eval mode.
        """
        from conversion.canonical import fit_to_model
        from conversion.checkpoint import load_pretrained
        from conversion.pt import expected_shapes, load_canonical, tied_weights

        if torch_dtype is not None:
            if dtype is not None:
                raise TypeError("pass dtype or torch_dtype (its older name), not both")
            dtype = torch_dtype
        model_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cls.model_kwargs}
        unknown = sorted(k for k in kwargs if k not in FIELDS)
        if unknown:
            raise TypeError(
                f"{cls.__name__}.from_pretrained got unknown keyword argument(s) {unknown}; it accepts BertConfig "
                f"fields and {list(cls.model_kwargs) or 'no model arguments'}"
            )
        if isinstance(config, (str, os.PathLike)):
            config = BertConfig.from_pretrained(config)
        elif config is not None:
            if not isinstance(config, BertConfig):
                raise TypeError(f"config must be a BertConfig or a path, got {type(config).__name__}")
            config = config.copy(**kwargs)
            kwargs = {}
        if attn_implementation is not None:
            check_attn_implementation(attn_implementation)

        config, state, source = load_pretrained(
            pretrained_model_name_or_path,
            config=config,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            **kwargs,
        )
        target_dtype = _resolve_dtype(dtype, config, state)
        model = cls(config, attn_implementation=attn_implementation, **model_kwargs)
        matched, report = fit_to_model(
            state,
            expected_shapes(model),
            tied=tied_weights(model),
            ignore_mismatched_sizes=ignore_mismatched_sizes,
        )
        load_canonical(model, matched)
        report.log(cls.__name__, source)
        if target_dtype is not None:
            model.to(target_dtype)
        if device is not None:
            model.to(device)
        model.eval()
        return (model, report.loading_info()) if output_loading_info else model

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
    ) -> list[Path]:
        """Write config.json and model.safetensors (sharded with an index above `max_shard_size`).

        The weights are the canonical state dict Transformers writes: a tied MLM decoder is not stored
        (it is the word-embedding matrix), bfloat16 weights are stored as float32 (exactly; the
        config records dtype "bfloat16"). Returns the files written.
        """
        from conversion.checkpoint import save_pretrained
        from conversion.pt import module_to_canonical

        if not safe_serialization:
            raise ValueError(
                "bert_pt writes safetensors only (safe_serialization=True); it reads pytorch_model.bin"
            )
        config = self.config.copy()
        dtype_name = str(self.dtype).removeprefix("torch.")
        config.extra["dtype"] = dtype_name
        if "torch_dtype" in config.extra:
            config.extra["torch_dtype"] = dtype_name
        return save_pretrained(
            save_directory,
            config,
            module_to_canonical(self),
            architecture=type(self).__name__,
            max_shard_size=max_shard_size,
        )


def _resolve_dtype(
    dtype: torch.dtype | str | None, config: BertConfig, state: Mapping[str, np.ndarray]
) -> torch.dtype | None:
    """The dtype to cast a loaded model to: None keeps float32; "auto" uses the stored dtype."""
    if dtype is None:
        return None
    if dtype == "auto":
        name = config.extra.get("dtype") or config.extra.get("torch_dtype")
        if name is None:
            name = next(
                (str(a.dtype) for a in state.values() if np.issubdtype(a.dtype, np.floating)), "float32"
            )
        dtype = name
    if isinstance(dtype, str):
        if dtype.removeprefix("torch.") not in _DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {sorted(_DTYPES)} or 'auto'")
        return _DTYPES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise TypeError(f"dtype must be a floating torch.dtype, its name, or 'auto'; got {dtype!r}")
