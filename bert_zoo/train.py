"""`bert-zoo train`: pretraining and fine-tuning in the twin of your choice, on local data files.

    bert-zoo train --framework pt --task text-classification --model DIR \\
        --train-file train.csv --validation-file dev.csv --output-dir out --num-train-epochs 3
    bert-zoo train --framework flax --task mlm --config config.json --tokenizer DIR \\
        --train-file corpus.txt --output-dir out --max-steps 1000 --save-steps 100
    bert-zoo train ... --resume                     # continue from the last out/checkpoint-<step>
    bert-zoo train ... --eval-strategy epoch --logging-steps 1   # curves in out/trainer_state.json
    torchrun --nproc_per_node=2 -m bert_zoo.cli train --framework pt ...   # DistributedDataParallel
    ... --framework pt --fsdp full_shard (torchrun) | flax --mesh 2,2 | tf --distribute mirrored

Everything that does not depend on the framework is here and in train_loop (schedule, data order,
trainer state, checkpoints), train_data (files and columns), train_tasks / train_qa (tokenization to
numpy, collators, metrics); the runner of the chosen framework (train_pt: a PyTorch loop, train_tf:
Keras `compile` + `fit` with callbacks, train_flax: an optax TrainState under `jax.jit`) is imported
only when selected and only runs steps; train_scale holds the scale-out options (--fsdp, --mesh,
--distribute, --cpu-devices). Argument names follow Transformers' TrainingArguments.

Shape legend: B batch.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bert_zoo import CliError, train_scale
from bert_zoo.run import int_at_least
from bert_zoo.twins import FRAMEWORKS, load_twin

TASKS = ("pretraining", "mlm", "text-classification", "token-classification", "question-answering")


@dataclass
class ModelSpec:
    """What a runner builds: the head's model from `source` (a directory or hub id; `config` overrides
    its labels), or from `config` alone (fresh weights drawn with `seed`)."""

    head: str
    source: str | None
    config: Any
    kwargs: dict[str, Any]
    seed: int


def _float_in(low: float, high: float, name: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must lie in [{low}, {high}], got {value}")
        return value

    return parse


def add_parser(sub: Any) -> None:
    """Register `train` on the `bert-zoo` sub-command parser."""
    p = sub.add_parser("train", help="pretrain or fine-tune a model on local data files")
    p.add_argument("--framework", default="pt", help="pt, tf or flax (default pt)")
    p.add_argument("--task", required=True, help=", ".join(TASKS))
    p.add_argument("--model", default=None, help="directory or hub id to start from (offline: the hub cache)")
    p.add_argument("--config", default=None, help="config.json to train from scratch (with --tokenizer)")
    p.add_argument("--tokenizer", default=None, help="tokenizer directory (default: the --model's)")
    p.add_argument("--train-file", required=True, help="csv, json, jsonl or txt")
    p.add_argument("--validation-file", default=None, help="evaluated after training (metrics.json)")
    for column in ("text", "text-pair", "label", "question", "context", "answer"):
        p.add_argument(f"--{column}-column", default=None, help=f"the {column} column (task default)")
    p.add_argument("--max-seq-length", type=int_at_least(8), default=128, help="tokens per row (default 128)")
    p.add_argument("--doc-stride", type=int_at_least(0), default=None, help="QA window overlap (default T/4)")
    p.add_argument("--mlm-probability", type=_float_in(0.0, 1.0, "--mlm-probability"), default=0.15)
    p.add_argument("--output-dir", required=True, help="checkpoints, the final model and metrics.json")
    p.add_argument(
        "--overwrite-output-dir", action="store_true", help="start over in a non-empty --output-dir"
    )
    p.add_argument("--num-train-epochs", type=_float_in(1e-9, 1e9, "--num-train-epochs"), default=3.0)
    p.add_argument("--max-steps", type=int, default=-1, help="optimizer updates; > 0 overrides epochs")
    p.add_argument("--per-device-train-batch-size", type=int_at_least(1), default=8)
    p.add_argument("--per-device-eval-batch-size", type=int_at_least(1), default=8)
    p.add_argument("--learning-rate", type=_float_in(1e-12, 10.0, "--learning-rate"), default=5e-5)
    p.add_argument("--warmup-steps", type=int_at_least(0), default=0)
    p.add_argument("--warmup-ratio", type=_float_in(0.0, 1.0, "--warmup-ratio"), default=0.0)
    p.add_argument("--weight-decay", type=_float_in(0.0, 10.0, "--weight-decay"), default=0.0)
    p.add_argument("--adam-beta1", type=_float_in(0.0, 1.0, "--adam-beta1"), default=0.9)
    p.add_argument("--adam-beta2", type=_float_in(0.0, 1.0, "--adam-beta2"), default=0.999)
    p.add_argument("--adam-epsilon", type=_float_in(0.0, 1.0, "--adam-epsilon"), default=1e-8)
    p.add_argument("--gradient-accumulation-steps", type=int_at_least(1), default=1)
    p.add_argument("--max-grad-norm", type=_float_in(0.0, 1e9, "--max-grad-norm"), default=1.0, help="0: off")
    p.add_argument("--bf16", action="store_true", help="bfloat16 mixed precision")
    p.add_argument("--seed", type=int_at_least(0), default=42)
    p.add_argument(
        "--save-steps", type=int_at_least(0), default=500, help="checkpoint every N updates (0: never)"
    )
    p.add_argument(
        "--logging-steps", type=int_at_least(1), default=10, help="log every N updates (default 10)"
    )
    p.add_argument(
        "--eval-strategy",
        choices=("no", "steps", "epoch"),
        default="no",
        help="also evaluate during training: every --eval-steps updates or at each epoch's end (log_history)",
    )
    p.add_argument("--eval-steps", type=int_at_least(1), default=None, help="default: --logging-steps")
    p.add_argument(
        "--resume",
        "--resume-from-checkpoint",
        dest="resume",
        nargs="?",
        const="last",
        default=None,
        metavar="CHECKPOINT",
        help="continue from CHECKPOINT, or from the last checkpoint in --output-dir",
    )
    p.add_argument("--disable-tqdm", action="store_true", help="no progress bar")
    train_scale.add_arguments(p)
    p.set_defaults(func=cmd_train)


def check_args(args: argparse.Namespace) -> None:
    """The cross-argument rules (one-line CliError each): known task and framework, a model or a config,
    a tokenizer for a config, the output directory's state, warmup within the run."""
    if args.task not in TASKS:
        raise CliError(f"unknown task {args.task!r}; choose one of {', '.join(TASKS)}")
    if args.framework not in FRAMEWORKS:
        raise CliError(f"unknown framework {args.framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    if (args.model is None) == (args.config is None):
        raise CliError("give --model (to fine-tune) or --config (to train from scratch), not both or neither")
    if args.config is not None:
        if not Path(args.config).is_file():
            raise CliError(f"--config {args.config}: no such file")
        if args.tokenizer is None:
            raise CliError("--config needs --tokenizer DIR (a directory with vocab.txt or tokenizer.json)")
    if args.warmup_steps and args.warmup_ratio:
        raise CliError("give --warmup-steps or --warmup-ratio, not both")
    if args.max_steps == 0 or args.max_steps < -1:
        raise CliError(f"--max-steps must be > 0 (or -1 for --num-train-epochs), got {args.max_steps}")
    output = Path(args.output_dir)
    # (under torchrun only rank 0 checks: the others may start after it has begun writing)
    if args.resume is None and _distributed()[0] == 0 and output.is_dir() and any(output.iterdir()):
        if not args.overwrite_output_dir:
            raise CliError(
                f"--output-dir {output} exists and is not empty; use --resume to continue or "
                "--overwrite-output-dir to start over"
            )
    if getattr(args, "eval_strategy", "no") != "no" and args.validation_file is None:
        raise CliError(f"--eval-strategy {args.eval_strategy} needs --validation-file")
    if getattr(args, "eval_steps", None) is None:
        args.eval_steps = args.logging_steps
    if args.doc_stride is None:
        args.doc_stride = args.max_seq_length // 4


def _tokenizer(args: argparse.Namespace) -> Any:
    from bert_common import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(args.tokenizer or args.model)


def _model_spec(args: argparse.Namespace, head: str, kwargs: dict[str, Any], vocab_size: int) -> ModelSpec:
    from bert_common import BertConfig

    config = None
    if args.config is not None:
        config = BertConfig.from_json_file(args.config)
        if config.vocab_size < vocab_size:
            raise CliError(
                f"--config has vocab_size {config.vocab_size} but the tokenizer has {vocab_size} tokens"
            )
        config = config.copy(**kwargs)
    return ModelSpec(head, args.model, config, kwargs, args.seed)


def _resume_dir(args: argparse.Namespace, output: Path) -> Path | None:
    from bert_zoo.train_loop import last_checkpoint

    if args.resume is None:
        return None
    found = last_checkpoint(output) if args.resume == "last" else Path(args.resume)
    if found is None:
        raise CliError(f"--resume: {output} holds no checkpoint-<step> directory")
    if not found.is_dir():
        raise CliError(f"--resume {found}: no such directory")
    return found


def _distributed() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment (RANK, WORLD_SIZE); (0, 1) outside it."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def cmd_train(args: argparse.Namespace) -> int:
    """Train `args.task` in `args.framework`; checkpoints, the final model (`save_pretrained`, with the
    tokenizer) and `metrics.json` go to --output-dir.

    Raises:
        CliError: bad arguments, missing files or columns, a checkpoint that does not fit the run.
        ValueError, OSError: the errors of loading the model or the tokenizer (one line on stderr).
        ImportError: the chosen framework is not installed.
    """
    from bert_zoo.train_data import load_split
    from bert_zoo.train_loop import BatchPlan, Job, LinearSchedule, read_trainer_state
    from bert_zoo.train_tasks import BUILDERS

    check_args(args)
    rank, world = _distributed()
    train_scale.check_arguments(args, world)
    train_rows = load_split(args.train_file, "train")
    valid_rows = load_split(args.validation_file, "validation") if args.validation_file else None
    train_scale.configure_cpu_devices(args)  # before the framework starts
    load_twin(args.framework)  # the framework's start-up, quietly; ImportError names the pip extra
    runner = importlib.import_module(f"bert_zoo.train_{args.framework}")
    tokenizer = _tokenizer(args)
    if args.task == "question-answering":
        from bert_zoo.train_qa import question_answering as build
    else:
        build = BUILDERS[args.task]
    multiple = runner.PAD_TO_MULTIPLE_OF
    if multiple == "max_length":  # static shapes: every batch padded to --max-seq-length
        multiple = args.max_seq_length
    task = build(args, tokenizer, train_rows, valid_rows, multiple)
    output = Path(args.output_dir)
    resume = _resume_dir(args, output)
    if resume is None and args.overwrite_output_dir and output.is_dir() and rank == 0:
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    replicas = runner.replicas(args)  # data-parallel size: processes, mesh "data" axis or replicas
    plan = BatchPlan(
        len(task.train),
        args.per_device_train_batch_size * replicas,
        args.gradient_accumulation_steps,
        args.seed,
        args.num_train_epochs,
        args.max_steps,
    )
    train_scale.check_batches(plan, replicas)
    warmup = args.warmup_steps or math.ceil(args.warmup_ratio * plan.total_steps)
    job = Job(
        args=args,
        head=task.head,
        plan=plan,
        schedule=LinearSchedule(args.learning_rate, warmup, plan.total_steps),
        collate=task.collate,
        evaluate=task.evaluate,
        model_kwargs=task.model_kwargs,
        output_dir=output,
        resume_from=resume,
        rank=rank,
        world_size=world,
    )
    if resume is not None:
        try:
            job.restore(read_trainer_state(resume))
        except (ValueError, FileNotFoundError) as err:
            raise CliError(str(err)) from None
    spec = _model_spec(args, task.head, task.model_kwargs, len(tokenizer))
    runner.run(job, spec)
    if rank == 0:
        tokenizer.save_pretrained(output)
    return 0
