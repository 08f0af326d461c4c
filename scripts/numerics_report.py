"""Measure how far the three twins are apart and write docs/numerics.md.

    .venv/bin/python scripts/numerics_report.py            # CPU
    .venv/bin/python scripts/numerics_report.py --device gpu --output docs/numerics-gpu.md

Three measured tables, nothing typed by hand:
1. the equivalence grid (bert_zoo.equivalence): every head x config (and the head-mask input variant),
   max |diff| per twin pair over every output field (loss, logits, all hidden states, all attentions,
   cross-attentions, pooler);
2. the same grid by output field family, worst over heads;
3. each twin against the golden reference cases produced by Transformers 4.57.1 (tests/fixtures/reference),
   and the three twins on the real all-MiniLM-L6-v2 checkpoint;
4. long sequences: 512 tokens on the real checkpoint (right / left padding, holes), attended and padded
   positions apart, each twin against float64, the network's own sensitivity, and the growth with length
   (the inputs and the contract of tests/equivalence/test_long_sequences.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bert_common import BertConfig  # noqa: E402
from bert_common.files import default_model_dir  # noqa: E402
from bert_zoo.equivalence import CONFIGS, PAIRS, grid_cases, run_grid  # noqa: E402
from bert_zoo.verify import TWINS, compare_outputs, run_in, sample_inputs  # noqa: E402
from tests.equivalence.test_long_sequences import (  # noqa: E402
    LENGTH,
    PATTERNS,
    RTOL_ALL,
    RTOL_ATTENDED,
    long_inputs,
    split_diffs,
)
from tests.helpers import load_reference_case, reference_case_names  # noqa: E402

LONG_FAMILIES = ("last_hidden_state", "pooler_output", "hidden_states", "attentions")


def sci(value: float) -> str:
    """A bound as written in prose: 2e-5, 1e-4."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def grid_tables(results) -> list[str]:
    lines = ["## 1. Every head x config, worst field per twin pair", ""]
    lines.append("| config | head | " + " | ".join("-".join(p) for p in PAIRS) + " | worst field |")
    lines.append("| --- | --- | " + " | ".join("---:" for _ in PAIRS) + " | --- |")
    by_case: dict = {}
    for r in results:
        by_case.setdefault(r.case, {})[r.pair] = r
    for case, pairs in by_case.items():
        worst = max(pairs.values(), key=lambda r: r.worst[1])
        cells = " | ".join(fmt(pairs[p].worst[1]) for p in PAIRS)
        lines.append(
            f"| {case.config_label} | {case.head} | {cells} | {worst.worst[0]} ({'-'.join(worst.pair)}) |"
        )
    lines += ["", "## 2. By output field, worst over every head and config", ""]
    families: dict[str, dict] = {}
    for r in results:
        for family, value in r.grouped().items():
            row = families.setdefault(family, {p: 0.0 for p in PAIRS})
            row[r.pair] = max(row[r.pair], value)
    lines.append("| field | " + " | ".join("-".join(p) for p in PAIRS) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in PAIRS) + " |")
    for family in sorted(families):
        lines.append(f"| {family} | " + " | ".join(fmt(families[family][p]) for p in PAIRS) + " |")
    return lines


def reference_table(device: str) -> list[str]:
    lines = ["## 3. Against the independent reference (Transformers 4.57.1 golden cases)", ""]
    lines.append("| reference case | " + " | ".join(TWINS) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in TWINS) + " |")
    for name in reference_case_names():
        case = load_reference_case(name)
        cells = []
        for fw in TWINS:
            flat, _ = run_in(
                fw,
                case.directory,
                case.model_class,
                case.inputs,
                device=device,
                output_hidden_states=True,
                output_attentions=True,
            )
            want = {k: np.asarray(v, dtype=np.float64) for k, v in case.outputs.items()}
            got = {k: v for k, v in flat.items() if k in want}
            cells.append(fmt(max(compare_outputs(got, want).values())))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    directory = default_model_dir()
    config = BertConfig.from_pretrained(directory)
    arrays = sample_inputs(config, "BertModel", batch=2, length=24)
    runs = {
        fw: run_in(
            fw,
            directory,
            "BertModel",
            arrays,
            device=device,
            output_hidden_states=True,
            output_attentions=True,
        )[0]
        for fw in TWINS
    }
    lines += [
        "",
        "The real all-MiniLM-L6-v2 checkpoint (2 x 24 tokens, one row padded), every output field:",
        "",
    ]
    lines.append("| pair | worst field | max abs diff |")
    lines.append("| --- | --- | ---: |")
    for a, b in PAIRS:
        diffs = compare_outputs(runs[a], runs[b])
        worst = max(diffs, key=diffs.get)
        lines.append(f"| {a}-{b} | {worst} | {fmt(diffs[worst])} |")
    return lines


def _family_worst(diffs: dict[str, tuple[float, float, float]]) -> dict[str, tuple[float, float, float]]:
    """Worst (attended, padded, relative = max of both / max(1, M)) per field family of split_diffs."""
    worst: dict[str, list[float]] = {}
    for name, (real, padded, magnitude) in diffs.items():
        row = worst.setdefault(name.split(".")[0], [0.0, 0.0, 0.0])
        row[0], row[1] = max(row[0], real), max(row[1], padded)
        row[2] = max(row[2], max(real, padded) / max(1.0, magnitude))
    return {family: tuple(row) for family, row in worst.items()}


def _float64_reference(arrays: dict[str, np.ndarray], perturb: float = 0.0) -> dict[str, np.ndarray]:
    """The PyTorch twin in float64 (eager attention): exact arithmetic as far as fp32 is concerned. With
    `perturb`, the input of layer 1 gets N(0, perturb) noise: the network's own sensitivity."""
    import torch

    from bert_pt.pipelines import load_model
    from bert_zoo.verify import flatten_outputs

    model, _, _ = load_model("BertModel", str(default_model_dir()), attn_implementation="eager")
    model = model.double().eval()
    if perturb:
        generator = torch.Generator().manual_seed(0)

        def noise(module, args):
            shaken = args[0] + perturb * torch.randn(args[0].shape, generator=generator, dtype=args[0].dtype)
            return (shaken, *args[1:])

        model.encoder.layer[1].register_forward_pre_hook(noise)
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    with torch.inference_mode():
        out = model(**tensors, output_hidden_states=True, output_attentions=True, return_dict=True)
    return flatten_outputs(
        {
            k: tuple(t.numpy() for t in v) if isinstance(v, tuple) else v.numpy()
            for k, v in out.items()
            if v is not None
        }
    )


def _sdpa_last_hidden_state(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """last_hidden_state of the PyTorch twin with its default attention (SDPA, no probabilities)."""
    import torch

    from bert_pt.pipelines import load_model

    model, _, _ = load_model("BertModel", str(default_model_dir()))
    with torch.inference_mode():
        out = model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
    return out.last_hidden_state.numpy().astype(np.float64)


def long_sequence_tables(device: str) -> list[str]:
    directory = default_model_dir()
    runs, inputs = {}, {}
    for pattern in PATTERNS:
        inputs[pattern] = long_inputs(pattern)
        for fw in TWINS:
            runs[pattern, fw] = run_in(
                fw,
                directory,
                "BertModel",
                inputs[pattern],
                device=device,
                output_hidden_states=True,
                output_attentions=True,
            )[0]
    lines = [
        f"## 4. Long sequences: {LENGTH} tokens on the real checkpoint",
        "",
        "Inputs: `tests/equivalence/test_long_sequences.py` (2 rows x 512 tokens per pattern). right / left:",
        "row 0 has 20 real tokens and 492 padded positions, row 1 400 real tokens; holes: every 7th position",
        "of row 0 masked, ~30% of row 1 at random. Attended = query positions with mask 1; padded = mask 0.",
        "M = the field's largest |value|; relative = max |a - b| / max(1, M). The contract asserted there:",
        f"attended <= {sci(RTOL_ATTENDED)} x max(1, M) and everywhere <= {sci(RTOL_ALL)} x max(1, M).",
        "",
        "Where the differences come from (issue 13 looked at each candidate on these inputs):",
        "",
        "- the mask constant: every twin adds `finfo(float32).min`; masked probabilities are exactly 0 in",
        "  all three, and a query's row sums to 1 within 3e-7 in all three;",
        "- softmax: all three subtract the row maximum before `exp`; GELU: erf form in all three, within",
        "  ~1 ulp of float64; LayerNorm: two-pass variance in all three, each within ~2e-6 of float64 on the",
        "  model's own activations; the embedding sum and scale-then-mask run in the same order;",
        "- matmul precision: no TF32 on CPU, and JAX's default precision gives the same bits as `highest`;",
        "- what remains is the accumulation order inside each framework's kernels (MKL/oneDNN, Eigen, XLA),",
        "  a few ulps per operation, which the network itself amplifies (4b, 4c): most at padded positions",
        "  of a right-padded row, which attend to the few real tokens only. Nothing in the twins' formulas",
        "  is left to remove; equal kernels would be needed for equal bits.",
        "",
        "### 4a. Twin pairs, worst per field family",
        "",
        "| pattern | pair | field | attended | padded | relative |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for pattern in PATTERNS:
        mask = inputs[pattern]["attention_mask"]
        for a, b in PAIRS:
            worst = _family_worst(split_diffs(runs[pattern, a], runs[pattern, b], mask))
            for family in LONG_FAMILIES:
                real, padded, rel = worst[family]
                lines.append(f"| {pattern} | {a}-{b} | {family} | {fmt(real)} | {fmt(padded)} | {fmt(rel)} |")
    lines += [
        "",
        "### 4b. Each twin against float64 (the PyTorch twin in float64, eager attention)",
        "",
        "All three twins are about equally far from exact arithmetic: no twin is the outlier, so no",
        "formulation difference is left to remove. Worst over hidden_states (attended / padded) and attentions.",
        "",
        "| pattern | twin | hidden_states attended | hidden_states padded | attentions attended | attentions padded |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    sensitivity = []
    for pattern in PATTERNS:
        mask = inputs[pattern]["attention_mask"]
        exact = _float64_reference(inputs[pattern])
        for fw in TWINS:
            worst = _family_worst(split_diffs(runs[pattern, fw], exact, mask))
            h, at = worst["hidden_states"], worst["attentions"]
            lines.append(f"| {pattern} | {fw} | {fmt(h[0])} | {fmt(h[1])} | {fmt(at[0])} | {fmt(at[1])} |")
        shaken = _family_worst(split_diffs(_float64_reference(inputs[pattern], perturb=1e-6), exact, mask))
        sdpa = {"last_hidden_state": _sdpa_last_hidden_state(inputs[pattern])}
        own = split_diffs(sdpa, {"last_hidden_state": runs[pattern, "pt"]["last_hidden_state"]}, mask)
        sensitivity.append((pattern, shaken["hidden_states"], own["last_hidden_state"]))
    lines += [
        "",
        "### 4c. The network's own sensitivity",
        "",
        "Left: in float64, N(0, 1e-6) noise added to the input of layer 1 (the size of fp32 rounding there)",
        "and the largest change it makes to any later hidden state. Right: the PyTorch twin against itself,",
        "SDPA (its default) vs eager attention, last_hidden_state. Both are as large as the twins' differences.",
        "",
        "| pattern | noise -> hidden_states attended | padded | pt SDPA vs eager attended | padded |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for pattern, shaken, own in sensitivity:
        lines.append(f"| {pattern} | {fmt(shaken[0])} | {fmt(shaken[1])} | {fmt(own[0])} | {fmt(own[1])} |")
    lines += [
        "",
        "### 4d. By length (right padding: row 0 with 20 real tokens), worst over every field and pair",
        "",
        "| T | attended | padded | relative |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for length in (128, 256, 384, 512):
        arrays = long_inputs("right", length)
        outs = {
            fw: runs["right", fw]
            if length == LENGTH
            else run_in(
                fw,
                directory,
                "BertModel",
                arrays,
                device=device,
                output_hidden_states=True,
                output_attentions=True,
            )[0]
            for fw in TWINS
        }
        worst = [0.0, 0.0, 0.0]
        for a, b in PAIRS:
            for real, padded, rel in _family_worst(
                split_diffs(outs[a], outs[b], arrays["attention_mask"])
            ).values():
                worst = [max(worst[0], real), max(worst[1], padded), max(worst[2], rel)]
        lines.append(f"| {length} | {fmt(worst[0])} | {fmt(worst[1])} | {fmt(worst[2])} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--output", default=str(ROOT / "docs" / "numerics.md"))
    args = parser.parse_args()
    logging.getLogger("bert_zoo").setLevel(logging.ERROR)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        results = run_grid(root, grid_cases(), progress=True, device=args.device)
    worst = max(results, key=lambda r: r.worst[1])
    body = [*grid_tables(results), "", *reference_table(args.device), "", *long_sequence_tables(args.device)]
    import jax
    import tensorflow as tf
    import torch

    header = [
        "# Numerics: how far apart the three twins are",
        "",
        "The contract (DESIGN.md), in fp32 and eval mode, on the same weights and inputs:",
        "",
        "- the tiny configs of the equivalence grid (sections 1-3): every output field of the three twins",
        "  agrees to max-abs-diff <= 1e-5, padded positions included;",
        "- real checkpoints at any length up to max_position_embeddings (section 4): no absolute bound holds",
        "  (the network amplifies fp32 rounding at padded positions far from the real tokens), so per field,",
        f"  with M its largest |value|: max |a - b| <= {sci(RTOL_ATTENDED)} x max(1, M) at attended positions and",
        f"  <= {sci(RTOL_ALL)} x max(1, M) everywhere, padded positions included.",
        "",
        "All three use the dtype's most negative finite value as the additive mask (masked probabilities are",
        "exactly 0 in each), exact erf GELU for `gelu` and the tanh form for `gelu_new`, two-pass LayerNorm",
        "with the config's eps, the same order of the embedding sum and of scale-then-mask, and full fp32",
        "matmuls (TF32 off, JAX `highest`; on CPU JAX's default precision gives the same bits).",
        "",
        "This page is written by `scripts/numerics_report.py`; the same grid is asserted by",
        "`tests/equivalence`. Weights are random N(0, 0.2) (LayerNorm scales near 1) on the tiny config",
        "(hidden 32, 2 layers, 4 heads, vocab 99); inputs are 2 rows x 11 tokens with the second row padded;",
        "labels are given, so the loss is compared too. Configs: " + ", ".join(CONFIGS) + ".",
        "Rows marked `+head_mask` pad the first row too (its last 2 positions) and drop head 2 of layer 1.",
        "",
        f"Measured on {args.device.upper()} ({platform.machine()}, {platform.python_version()}), torch {torch.__version__},",
        f"tensorflow {tf.__version__}, jax {jax.__version__}, in {time.perf_counter() - start:.0f}s.",
        f"Worst over the whole grid: {fmt(worst.worst[1])} ({worst.case.label}, {worst.worst[0]}, {'-'.join(worst.pair)}).",
        "",
        "Decoder caches are not compared across twins directly (each keeps its cache in its own structure);",
        "each twin's tests check incremental decoding against its own full recompute (<= 1e-7) and the",
        "full recompute is in the grid above.",
        "",
    ]
    Path(args.output).write_text("\n".join(header + body) + "\n", encoding="utf-8")
    print(f"wrote {args.output}; worst {worst.worst[1]:.2e}")
    return 0 if worst.worst[1] <= 1e-5 else 1  # section 4 is asserted by tests/equivalence


if __name__ == "__main__":
    sys.exit(main())
