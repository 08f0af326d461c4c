"""FSDP for the PyTorch runner of `bert-zoo train --fsdp full_shard|shard_grad_op` under torchrun.

PyTorch's FSDP2 (`torch.distributed.fsdp.fully_shard`) wraps each encoder layer and then the root
model (embeddings, pooler and head, tied decoder included), so every parameter becomes a DTensor
sharded on dim 0 over the processes; the optimizer is built on the sharded parameters. `full_shard`
frees the gathered weights of a layer after its forward and gathers them again for backward (ZeRO-3,
Transformers' fsdp="full_shard"); `shard_grad_op` keeps them until backward (`reshard_after_forward=
False`, ZeRO-2, fsdp="shard_grad_op"). Gradients are reduce-scattered and averaged over the processes,
as DDP's all-reduce averages them.

Checkpoints stay portable: every process joins in gathering the full state dict
(torch.distributed.checkpoint.state_dict, full_state_dict + cpu_offload: rank 0 receives it), rank 0
loads it into a plain, unsharded copy of the model and writes it with `save_pretrained`; the optimizer
state is gathered the same way and stored in torch.optim's own layout (parameter indices), so a
checkpoint written under FSDP resumes with or without FSDP, and the other way round. The plain copy on
rank 0 also runs evaluation (the sharded model would need every process for a forward).

Shape legend: B batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import fully_shard

GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)


def shard_model(model: torch.nn.Module, strategy: str) -> torch.nn.Module:
    """`model` with fully_shard applied to each encoder layer and to the root (in place; returned).

    Raises:
        ValueError: an unknown strategy (full_shard or shard_grad_op).
    """
    if strategy not in ("full_shard", "shard_grad_op"):
        raise ValueError(f"unknown FSDP strategy {strategy!r}; choose full_shard or shard_grad_op")
    reshard = strategy == "full_shard"
    base = getattr(model, model.base_model_prefix, model)
    for layer in base.encoder.layer:
        fully_shard(layer, reshard_after_forward=reshard)
    fully_shard(model, reshard_after_forward=reshard)
    return model


def _names(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """The parameter names in the optimizer's order (its param_groups, one after the other)."""
    by_id = {id(p): name for name, p in model.named_parameters()}
    return [by_id[id(p)] for group in optimizer.param_groups for p in group["params"]]


def plain_copy(model: torch.nn.Module, cls: type) -> torch.nn.Module | None:
    """Gather the full weights of the sharded `model` (every process must call this) into an unsharded
    `cls(model.config)` on rank 0, in eval mode; None on the other ranks. The copy is built without
    touching torch's RNG (the dropout stream of the run)."""
    state = get_model_state_dict(model, options=GATHER)
    if torch.distributed.get_rank() != 0:
        return None
    with torch.random.fork_rng(devices=[]):
        copy = cls(model.config)
    copy.load_state_dict(state)
    return copy.eval()


def gather_optimizer(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """The full optimizer state in torch.optim's layout (parameter indices in param_groups order) on
    rank 0, None elsewhere (every process must call this)."""
    state = get_optimizer_state_dict(model, optimizer, options=GATHER)
    if torch.distributed.get_rank() != 0:
        return None
    index = {name: i for i, name in enumerate(_names(model, optimizer))}
    groups = [
        {**group, "params": [index[name] for name in group["params"]]} for group in state["param_groups"]
    ]
    return {"state": {index[name]: value for name, value in state["state"].items()}, "param_groups": groups}


def load_optimizer(model: torch.nn.Module, optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load a full optimizer state in torch.optim's layout (`optimizer.state_dict()` of an unsharded
    run, or `gather_optimizer`) into the optimizer of the sharded `model`; every process calls this.

    Raises:
        ValueError: the saved state has other parameter groups than the optimizer.
    """
    names = _names(model, optimizer)
    if sum(len(g["params"]) for g in saved["param_groups"]) != len(names):
        raise ValueError("--resume: the optimizer state does not hold this model's parameters")
    groups = [{**group, "params": [names[i] for i in group["params"]]} for group in saved["param_groups"]]
    state = {names[int(i)]: value for i, value in saved["state"].items()}
    set_optimizer_state_dict(
        model,
        optimizer,
        {"state": state, "param_groups": groups},
        options=StateDictOptions(full_state_dict=True),
    )
