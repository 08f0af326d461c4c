"""BertPreTrainedModel: the base class of every bert_pt model.

The base class stays thin: it holds the config and gives each model the methods Transformers users call
(`from_pretrained`, `save_pretrained`, `resize_token_embeddings`, `prune_heads`,
`gradient_checkpointing_enable`, ...). The work is done by focused modules, all below this one:

- weights on disk: `bert_pt.loading` (on `conversion.loading`, with `conversion.pt` as the adapter);
- initialization: `bert_pt.initialization`; resizing and pruning: `bert_pt.surgery`;
- the attention implementation: `bert_pt.attention`.

Shape legend: V vocabulary size, H hidden size.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from bert_common.config import BertConfig
from bert_common.heads import Head, get_head
from bert_common.model_api import (
    MAIN_INPUT_NAME,
    can_generate,
    check_gradient_checkpointing_kwargs,
    count_parameters,
)
from bert_pt import loading, surgery
from bert_pt.attention import get_attn_implementation, set_attn_implementation
from bert_pt.initialization import init_bert_weights, zero_padding_rows


class BertPreTrainedModel(nn.Module):
    """Base of every bert_pt model: config, initialization, embeddings access, loading and saving.

    Subclasses set `head_name` (the head in `bert_common.heads.HEADS`) and `model_kwargs` (keyword
    arguments of their __init__, besides config and attn_implementation, that from_pretrained accepts).
    """

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    head_name: ClassVar[str]
    model_kwargs: ClassVar[tuple[str, ...]] = ()

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

    main_input_name: ClassVar[str] = MAIN_INPUT_NAME

    @classmethod
    def head(cls) -> Head:
        """The head of this class in bert_common.heads (output class, labels, loss, head weights)."""
        return get_head(cls.head_name)

    @classmethod
    def can_generate(cls) -> bool:
        """True for the class with a `generate` method (BertLMHeadModel)."""
        return can_generate(cls.head_name)

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of distinct parameters (a tied decoder is counted once); exclude_embeddings leaves out
        the nn.Embedding tables, only_trainable the parameters with requires_grad=False."""
        tables = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return count_parameters(
            ((p.numel(), p.requires_grad, id(p) in tables) for p in self.parameters()),
            only_trainable,
            exclude_embeddings,
        )

    def get_memory_footprint(self, return_buffers: bool = True) -> int:
        """Bytes held by the distinct parameters (and, with return_buffers, the buffers such as
        position_ids), as Transformers' `get_memory_footprint`."""
        tensors = [*self.parameters(), *(self.buffers() if return_buffers else ())]
        return sum(t.nelement() * t.element_size() for t in tensors)

    def enable_input_require_grads(self) -> None:
        """Make the word-embedding output require grad (a forward hook), so gradient checkpointing and
        adapters (PEFT) train with frozen embeddings; undo with `disable_input_require_grads`."""

        def make_inputs_require_grads(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            output.requires_grad_(True)

        self.disable_input_require_grads()
        self._require_grads_hook = self.get_input_embeddings().register_forward_hook(
            make_inputs_require_grads
        )

    def disable_input_require_grads(self) -> None:
        """Remove the hook of `enable_input_require_grads` (nothing when there is none)."""
        hook = self.__dict__.pop("_require_grads_hook", None)
        if hook is not None:
            hook.remove()

    # ---------------------------------------------------------------------------------- embeddings

    def get_input_embeddings(self) -> nn.Embedding:
        return self.base_model.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Use `value` [V, H] as the word embeddings (and the tied decoder); updates config.vocab_size.

        Raises:
            TypeError: not a torch.nn.Embedding. ValueError: its width is not hidden_size.
        """
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

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        """The language-model heads replace their decoder; the other heads have none.

        Raises:
            TypeError: always here (a head without a language-model decoder).
        """
        raise TypeError(f"{type(self).__name__} has no output embeddings")

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
        return surgery.resize_token_embeddings(self, new_num_tokens, pad_to_multiple_of, mean_resizing)

    # ------------------------------------------------------------------------ pruning, attention

    def prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        """Remove attention heads: {layer: [heads]} (numbered as in the unpruned model), merged into
        `config.pruned_heads`; see `bert_pt.surgery.prune_heads`.

        Raises:
            TypeError: not a mapping of int -> list of ints. ValueError: a layer or head that does not
                exist, or pruning every head of a layer.
        """
        surgery.prune_heads(self, heads_to_prune)

    def set_attn_implementation(self, attn_implementation: str) -> None:
        """Switch every attention block to "sdpa" or "eager" (ValueError for another name)."""
        set_attn_implementation(self, attn_implementation)

    @property
    def attn_implementation(self) -> str:
        return get_attn_implementation(self)

    # ----------------------------------------------------------------------- gradient checkpointing

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """Recompute each layer's activations in the backward pass (training only) to save memory.

        gradient_checkpointing_kwargs: None, {} or {"use_reentrant": False}
            (`bert_common.model_api.check_gradient_checkpointing_kwargs`). The flag is not saved by
            save_pretrained (as in Transformers): a loaded model starts without it.

        Raises:
            ValueError: kwargs other than use_reentrant=False.
        """
        check_gradient_checkpointing_kwargs(gradient_checkpointing_kwargs)
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
        device_map: str | int | torch.device | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> BertPreTrainedModel | tuple[BertPreTrainedModel, dict[str, Any]]:
        """Load a model from a directory or hub id holding config.json and model.safetensors (sharded or
        not), or a legacy pytorch_model.bin (read with weights_only=True), a tf_model.h5,
        flax_model.msgpack or Google TF1 checkpoint (all through the canonical weights).

        pretrained_model_name_or_path: a directory, or a hub id found in the local cache (or downloaded).
        config: a BertConfig (or a path to one) to use instead of the stored config.
        dtype: floating torch dtype (or its name, or "auto" for the stored one); float32 when None.
            `torch_dtype` is the older spelling.
        attn_implementation: "sdpa" (default) or "eager". device: where to put the model (default cpu).
        device_map: Transformers' spelling of the placement, on one device: "cpu", "cuda:0", an int,
            {"": device}, or "auto" (the first GPU, else the CPU); records `hf_device_map`.
        ignore_mismatched_sizes: initialize weights whose shapes differ instead of raising.
        output_loading_info: also return {"missing_keys", "unexpected_keys", "mismatched_keys",
            "dropped_keys", "renamed_keys", "error_msgs"}.
        cache_dir, revision, local_files_only, token: as in Transformers, for hub ids.
        subfolder, variant, use_safetensors, from_pt / from_tf / from_flax (read that framework's file,
            error if absent), low_cpu_mem_usage (no effect), force_download (the hub cache is reused),
            trust_remote_code (ignored, as Transformers' BERT classes do): see
            `conversion.loading.load_into`.
        kwargs: those loader arguments, BertConfig fields that override the stored ones (e.g. num_labels=3), and the model's
            own keyword arguments (`model_kwargs`, e.g. `add_pooling_layer` for BertModel).

        Returns the model in eval mode (and the loading info with output_loading_info=True).

        Raises:
            bert_common.files.ModelNotFoundError: no such directory, or no weights in it.
            conversion.canonical.ShapeMismatchError: checkpoint shapes that do not fit the config (unless
                ignore_mismatched_sizes).
            TypeError: unknown keyword arguments (the message lists the accepted ones); both dtype and
                torch_dtype; both device and device_map; a config of another type.
            ValueError: an unknown dtype name or attn_implementation; a device_map over several devices;
                contradicting loader flags (two from_*, use_safetensors=True with from_tf).
        """
        return loading.from_pretrained(
            cls,
            pretrained_model_name_or_path,
            config=config,
            cache_dir=cache_dir,
            ignore_mismatched_sizes=ignore_mismatched_sizes,
            output_loading_info=output_loading_info,
            local_files_only=local_files_only,
            token=token,
            revision=revision,
            dtype=dtype,
            torch_dtype=torch_dtype,
            attn_implementation=attn_implementation,
            device=device,
            device_map=device_map,
            **kwargs,
        )

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
    ) -> list[Path]:
        """Write config.json and model.safetensors (sharded with an index above `max_shard_size`, an int
        of bytes or a size such as "5GB"), atomically; with safe_serialization=False, pytorch_model.bin
        (one file, torch.save of the state dict; refused above max_shard_size) instead, removing a
        model.safetensors of the directory so that it loads what was saved.

        The weights are the canonical state dict Transformers writes: a tied MLM decoder is not stored
        (it is the word-embedding matrix), bfloat16 weights are stored as float32 (exactly; the
        config records dtype "bfloat16"). Returns the files written.

        Raises:
            ValueError: safe_serialization=False with weights larger than max_shard_size.
            NotADirectoryError: save_directory is a file.
        """
        return loading.save_pretrained(
            self, save_directory, max_shard_size=max_shard_size, safe_serialization=safe_serialization
        )
