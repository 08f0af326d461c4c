"""bert_zoo: the application on top of the twins (the `bert-zoo` command and what it runs).

Packages import one way: bert_common -> conversion -> bert_pt | bert_tf | bert_flax -> bert_zoo. This is
the only package that imports more than one twin; it reaches them through `bert_zoo.twins` only, and only
when a command runs, so `import bert_zoo` imports no framework.

    cli.py          the argument parser and `main` (the `bert-zoo` entry point)
    run.py          bert-zoo run: a pipeline task on texts, one JSON line per input
    demo.py         bert-zoo demo: sentence embeddings in every twin and how far apart they are
    convert.py      bert-zoo convert: any on-disk format to any other, verified in the twins
    diff.py         bert-zoo diff: max |diff| per stage between the twins on one checkpoint
    verify.py       one checkpoint run in a twin on numpy inputs, outputs compared field by field
    equivalence.py  the cross-framework grid: every head x config x twin pair, every output field
    twins.py        the twins' numpy-facing side (`pipelines` modules), one loader function per framework
    export.py       bert-zoo export: deployable graphs (export_onnx.py from bert_pt, export_savedmodel.py from
                    bert_tf, export_stablehlo.py from bert_flax, export_common.py shared checks,
                    export_report.py writes docs/export.md)
    fast.py         the fastest CPU path of a bert_pt model: optimize(model), verified against eager
                    (fast_backends.py: onnxruntime and inductor); `bert-zoo run --fast`
    train.py        bert-zoo train: argument checks and the choice of runner (train_loop.py shared loop
                    state, schedule, checkpoints, log_history; train_data.py / train_tasks.py / train_qa.py
                    data to numpy; train_pt.py, train_tf.py, train_flax.py the three loops; train_fsdp.py,
                    train_scale.py scale-out)
    bench.py        bert-zoo bench: model speed per twin against Transformers and onnxruntime
                    (bench_stats.py cases and medians, bench_runners.py each side, bench_report.py the
                    page and plots, bench_bf16.py bf16 vs fp32 agreement)
"""

from __future__ import annotations


class CliError(Exception):
    """A user error of the command line: printed as one line on stderr, exit code 2."""


__all__ = ["CliError"]
