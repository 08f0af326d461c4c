"""The PyTorch runner of `bert-zoo train`: a plain training loop.

torch.optim.AdamW (no weight decay on biases and LayerNorm weights, as Transformers' Trainer) with a
LambdaLR on the shared linear schedule, `loss / accumulation` backward per micro-batch,
`clip_grad_norm_`, optional bfloat16 autocast. Under `torchrun` (RANK / WORLD_SIZE set) the model is
wrapped in DistributedDataParallel (gloo on CPU, nccl on GPUs); each process takes its equal share of
every global micro-batch (bert_zoo.train_loop.Job.micro_batches), gradients are averaged by DDP and only
rank 0 writes checkpoints, the final model and metrics.json. With --fsdp full_shard|shard_grad_op the
model is sharded by FSDP2 instead (bert_zoo.train_fsdp): checkpoints are gathered to full state dicts
and written by rank 0 in the same layout, and rank 0 evaluates on a gathered, unsharded copy.

A checkpoint holds the model (`save_pretrained`), optimizer.pt, scheduler.pt and rng_state.pth (the
torch RNG that draws dropout; rng_state_<rank>.pth per process under DDP); resuming restores all three.

Shape legend: B batch, T tokens.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bert_pt.registry import model_class

PAD_TO_MULTIPLE_OF = None  # eager PyTorch runs any shape


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "LayerNorm" in name


def build_model(job: Any, spec: Any) -> torch.nn.Module:
    """The model to train: the checkpoint being resumed, a fresh model of `spec.config`, or
    `spec.source` with the task's labels (new head weights drawn after seeding torch with `spec.seed`)."""
    cls = model_class(spec.head)
    torch.manual_seed(spec.seed)
    if job.resume_from is not None:
        return cls.from_pretrained(job.resume_from)
    if spec.config is not None:
        return cls(spec.config)
    return cls.from_pretrained(spec.source, **spec.kwargs)


def build_optimizer(model: torch.nn.Module, job: Any) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW with two parameter groups (decay / no decay) and the linear schedule as a LambdaLR."""
    args = job.args
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if not _no_decay(n)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in named if _no_decay(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(
        groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: float(job.schedule.factor(float(step)))
    )
    return optimizer, scheduler


def replicas(args: Any) -> int:
    """The data-parallel size: torchrun's WORLD_SIZE (1 outside it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _rng_file(job: Any) -> str:
    return f"rng_state_{job.rank}.pth" if job.world_size > 1 else "rng_state.pth"


def _rng_to_resume(job: Any) -> Path:
    """This process's RNG file of the checkpoint; when it was written by another number of processes,
    the first process's (the same dropout stream only when both runs have as many processes).

    Raises:
        FileNotFoundError: the checkpoint holds no RNG state.
    """
    for name in (_rng_file(job), "rng_state.pth", "rng_state_0.pth"):
        if (job.resume_from / name).is_file():
            return job.resume_from / name
    raise FileNotFoundError(f"--resume: {job.resume_from} holds no {_rng_file(job)}")


def _tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}


def run(job: Any, spec: Any) -> dict[str, float]:
    """Train `job` (see bert_zoo.train_loop.Job) in PyTorch; returns the metrics written to metrics.json."""
    args = job.args
    fsdp = getattr(args, "fsdp", None)
    distributed = job.world_size > 1 or fsdp is not None
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if job.is_main:
            engine = f"FSDP {fsdp}" if fsdp else "DistributedDataParallel"
            print(
                f"bert-zoo train: {engine} over {job.world_size} processes ({dist.get_backend()})",
                file=sys.stderr,
            )
    device = torch.device(
        f"cuda:{job.rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    )
    if device.type == "cuda":
        torch.cuda.set_device(device)
    model = build_model(job, spec).to(device)
    core = model
    if fsdp is not None:
        from bert_zoo import train_fsdp

        model = core = train_fsdp.shard_model(model, fsdp)
    optimizer, scheduler = build_optimizer(model, job)
    if job.resume_from is not None:
        saved = torch.load(job.resume_from / "optimizer.pt", weights_only=True)
        if fsdp is not None:
            train_fsdp.load_optimizer(model, optimizer, saved)
        else:
            optimizer.load_state_dict(saved)
        scheduler.load_state_dict(torch.load(job.resume_from / "scheduler.pt", weights_only=True))
        torch.set_rng_state(torch.load(_rng_to_resume(job), weights_only=True)["cpu"])
    if distributed and fsdp is None:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    evaluator = [core]  # the model `predict` runs: under FSDP an unsharded copy gathered on rank 0

    def gather() -> None:  # under FSDP, every process: refresh rank 0's unsharded copy
        evaluator[0] = train_fsdp.plain_copy(model, model_class(spec.head))

    def save(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        state = optimizer.state_dict() if fsdp is None else train_fsdp.gather_optimizer(model, optimizer)
        if fsdp is not None:
            gather()
        if job.is_main:
            evaluator[0].save_pretrained(directory)
            torch.save(state, directory / "optimizer.pt")
            torch.save(scheduler.state_dict(), directory / "scheduler.pt")
        torch.save({"cpu": torch.get_rng_state()}, directory / _rng_file(job))
        if distributed:
            torch.distributed.barrier()

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)

    def predict(batch: dict[str, np.ndarray]) -> dict[str, Any]:
        net = evaluator[0]
        training = net.training
        net.eval()
        try:
            with torch.no_grad(), autocast:
                out = net(**_tensors(batch, device))
        finally:
            net.train(training)
        return {
            k: (v.float().cpu().numpy() if v.ndim else float(v)) for k, v in out.items() if torch.is_tensor(v)
        }

    accumulation = job.plan.accumulation
    model.train()
    job.start()
    for step in range(job.start_step, job.plan.total_steps):
        total = torch.zeros((), device=device)
        for micro, batch in enumerate(job.micro_batches(step)):
            last = micro == accumulation - 1
            if fsdp is not None:
                model.set_requires_gradient_sync(last)
            sync = contextlib.nullcontext() if last or fsdp or not distributed else model.no_sync()
            with sync:
                with autocast:
                    loss = model(**_tensors(batch, device)).loss / accumulation
                loss.backward()
            total += loss.detach().float()
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if distributed:
            torch.distributed.all_reduce(total)
            total /= job.world_size
        if fsdp is not None and job.evaluates_at(step + 1):
            gather()
        job.on_step_end(step + 1, float(total), save, predict)
    if fsdp is not None:
        gather()
    if evaluator[0] is not None:
        evaluator[0].eval()
    metrics = job.finish(predict if job.is_main else None)
    if job.is_main:
        evaluator[0].save_pretrained(job.output_dir)
    if distributed:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return metrics
