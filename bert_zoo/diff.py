"""`bert-zoo diff MODEL [--frameworks pt,tf,flax] [--model-class HEAD]`: where the twins diverge.

Loads one checkpoint in each twin, runs the same inputs, and prints max-abs-diff per stage (embeddings,
each layer, pooler, each head output) for every pair, marking values above 1e-5 and naming the first
stage that diverges. A NaN or Inf in either twin's output is a difference of NaN: marked, never within.

Shapes: inputs are B=2 rows of T=11 tokens (the second row padded); every stage is compared whole,
padded positions included ([B, T, H] hidden states, [B, H] pooler, the head's outputs).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from bert_zoo.convert import ConversionError, load_source, quiet_loading
from bert_zoo.verify import ATOL, TWINS, compare_outputs, run_in, sample_inputs, within


def add_parser(sub: Any) -> None:
    """Register `diff` on the `bert-zoo` sub-command parser."""
    diff = sub.add_parser("diff", help="where do the frameworks diverge on one checkpoint")
    diff.add_argument("model", help="directory or hub id")
    diff.add_argument("--frameworks", default="pt,tf,flax", help="comma-separated subset of pt,tf,flax")
    diff.add_argument("--model-class", default=None, help="the head to compare (default: from the weights)")
    diff.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the per-stage table; returns 0, or 1 when a stage differs by more than 1e-5.

    Raises:
        ConversionError: fewer than two known frameworks, or weights that do not fit the head.
    """
    quiet_loading(args)
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in TWINS]
    if unknown or len(frameworks) < 2:
        raise ConversionError(
            f"--frameworks needs two or more of {', '.join(TWINS)}, got {args.frameworks!r}"
        )
    directory, _fmt, config, head, _state, report = load_source(
        args.model, "auto", args.model_class, allow_nonfinite=True
    )
    if report["nonfinite"]:
        print(f"note: {len(report['nonfinite'])} weight(s) hold NaN or Inf: {report['nonfinite'][:3]}")
    base_inputs = sample_inputs(config, "BertModel")
    head_inputs = sample_inputs(config, head)
    runs: dict[str, dict[str, np.ndarray]] = {}
    for fw in frameworks:
        base, _ = run_in(fw, directory, "BertModel", base_inputs, output_hidden_states=True)
        flat = {k: v for k, v in base.items() if k.startswith("hidden_states.") or k == "pooler_output"}
        if head != "BertModel":
            out, _ = run_in(fw, directory, head, head_inputs)
            flat.update({f"{head}.{k}": v for k, v in out.items()})
        runs[fw] = flat
    pairs = [(a, b) for i, a in enumerate(frameworks) for b in frameworks[i + 1 :]]
    diffs = {pair: compare_outputs(runs[pair[0]], runs[pair[1]]) for pair in pairs}
    labels = {"hidden_states.0": "embeddings"}
    labels.update({f"hidden_states.{i}": f"layer {i - 1}" for i in range(1, config.num_hidden_layers + 1)})
    labels["pooler_output"] = "pooler"
    order = [k for k in labels if k in runs[frameworks[0]]] + sorted(
        k for k in runs[frameworks[0]] if k not in labels
    )
    print(
        f"{directory} as {head}: max |diff| per stage (fp32, {base_inputs['input_ids'].shape[0]} padded rows)"
    )
    header = f"| {'stage':<40} | " + " | ".join(f"{a}-{b:<6}" for a, b in pairs) + " |"
    print(header)
    print("|" + "-" * 42 + "|" + "|".join("-" * (len(a) + len(b) + 9) for a, b in pairs) + "|")
    first_bad = None
    for key in order:
        cells = []
        for pair in pairs:
            value = diffs[pair][key]
            cells.append(
                f"{value:8.2e}" + (" " if within(value) else "!") + " " * (len(pair[0]) + len(pair[1]) - 1)
            )
            if not within(value) and first_bad is None:
                first_bad = (labels.get(key, key), pair)
        print(f"| {labels.get(key, key):<40} | " + " | ".join(cells) + " |")
    if first_bad:
        print(
            f"first divergence above {ATOL:g} (or NaN/Inf): {first_bad[0]} "
            f"({first_bad[1][0]} vs {first_bad[1][1]})"
        )
        return 1
    print(f"all stages within {ATOL:g}")
    return 0
