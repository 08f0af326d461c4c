"""Scale-out options of `bert-zoo train`, one engine per framework, and their checks.

    torchrun --nproc_per_node=2 -m bert_zoo.cli train --framework pt ...                  # DDP
    torchrun --nproc_per_node=2 -m bert_zoo.cli train --framework pt --fsdp full_shard ...  # FSDP2
    bert-zoo train --framework flax --mesh 2,2 ...          # jax.jit over a ("data", "model") Mesh
    bert-zoo train --framework tf --distribute mirrored ... # tf.distribute.MirroredStrategy
    bert-zoo train --framework flax|tf --cpu-devices 4 ...  # split the host CPU into 4 devices (tests)

The global batch of every micro-batch is --per-device-train-batch-size x the data-parallel size (the
torchrun world, the mesh's "data" axis, or the strategy's replicas), as in Transformers' Trainer; each
process / device takes an equal share, so the data-parallel size must divide every micro-batch the run
reaches (checked before training: `check_batches`).

`--cpu-devices N` exists for checking the multi-device paths on one CPU: the N devices share the same
cores (no speed-up). It must act before the framework initializes its devices, so it is applied before
the twin is imported (`configure_cpu_devices`): JAX's `jax_num_cpu_devices` option, TensorFlow's
`tf.config.set_logical_device_configuration` on the first physical CPU.

Shape legend: B batch (rows of a global micro-batch).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from bert_zoo import CliError
from bert_zoo.run import int_at_least

FSDP_STRATEGIES = ("full_shard", "shard_grad_op")


def _mesh(text: str) -> tuple[int, int]:
    parts = text.split(",")
    try:
        data, model = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mesh takes DATA,MODEL sizes such as 2,2, got {text!r}") from None
    if data < 1 or model < 1:
        raise argparse.ArgumentTypeError(f"--mesh sizes must be >= 1, got {text!r}")
    return data, model


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register --fsdp, --mesh, --distribute and --cpu-devices on the `train` parser."""
    p.add_argument(
        "--fsdp",
        choices=FSDP_STRATEGIES,
        default=None,
        help="pt under torchrun: FSDP2 fully_shard per encoder layer and the root; full_shard frees "
        "the gathered weights after forward (ZeRO-3), shard_grad_op keeps them until backward (ZeRO-2)",
    )
    p.add_argument(
        "--mesh",
        type=_mesh,
        default=None,
        metavar="DATA,MODEL",
        help="flax: a DATA x MODEL jax.sharding.Mesh (bert_flax.sharding); default: data-parallel over all "
        "visible devices",
    )
    p.add_argument(
        "--distribute",
        choices=("mirrored",),
        default=None,
        help="tf: fit under tf.distribute.MirroredStrategy over the visible GPUs (else the logical CPUs)",
    )
    p.add_argument(
        "--cpu-devices",
        type=int_at_least(1),
        default=None,
        metavar="N",
        help="flax, tf: split the host CPU into N devices before the framework starts (to check the "
        "multi-device paths on one machine; the devices share its cores)",
    )


def check_arguments(args: argparse.Namespace, world: int) -> None:
    """Each option with its framework (one-line CliError otherwise); `world` is torchrun's WORLD_SIZE."""
    framework = args.framework
    if getattr(args, "fsdp", None) and framework != "pt":
        raise CliError(f"--fsdp is for --framework pt (under torchrun), not {framework}")
    if getattr(args, "fsdp", None) and "LOCAL_RANK" not in os.environ:
        raise CliError(
            f"--fsdp {args.fsdp} runs under torchrun: torchrun --nproc_per_node=N -m bert_zoo.cli train ..."
        )
    if getattr(args, "mesh", None) and framework != "flax":
        raise CliError(f"--mesh is for --framework flax, not {framework}")
    if getattr(args, "distribute", None) and framework != "tf":
        raise CliError(f"--distribute is for --framework tf, not {framework}")
    if getattr(args, "cpu_devices", None) and framework == "pt":
        raise CliError(
            "--cpu-devices is for --framework flax or tf; PyTorch runs one process per device (torchrun)"
        )
    if world > 1 and framework != "pt":
        raise CliError(
            f"torchrun runs the PyTorch twin only; --framework {framework} scales out in one process "
            "(flax: --mesh, tf: --distribute mirrored)"
        )


def configure_cpu_devices(args: argparse.Namespace) -> None:
    """Apply --cpu-devices before the framework initializes its devices.

    Raises:
        CliError: the framework was already initialized in this process (devices can no longer change).
    """
    count = getattr(args, "cpu_devices", None)
    if not count:
        return
    if args.framework == "flax":
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", count)
        except RuntimeError as err:
            raise CliError(
                f"--cpu-devices {count}: JAX is already initialized in this process ({err})"
            ) from None
    else:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError as err:
            raise CliError(
                f"--cpu-devices {count}: TensorFlow is already initialized in this process ({err})"
            ) from None


def check_batches(plan: Any, replicas: int) -> None:
    """Refuse a run whose micro-batches `replicas` does not divide: every full one holds plan.batch_size
    rows; the last of an epoch holds the rest of the examples and is reached when the run finishes an
    epoch and that micro-batch is not among those skipped (see BatchPlan).

    Raises:
        CliError: a micro-batch of B rows that `replicas` does not divide.
    """
    if replicas <= 1:
        return
    sizes = {plan.batch_size}
    rest = plan.num_examples % plan.batch_size
    last_used = plan.batches_per_epoch % plan.accumulation == 0
    if rest and last_used and plan.total_steps >= plan.updates_per_epoch:
        sizes.add(rest)
    for size in sorted(sizes):
        if size % replicas:
            raise CliError(
                f"a micro-batch of {size} rows cannot be split evenly over {replicas} data-parallel replicas; "
                f"use a training set of a multiple of {plan.batch_size} rows or stop within the first epoch "
                "(--max-steps)"
            )
