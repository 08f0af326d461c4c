"""Generate docs/api-matrix.md: the public API of every model class of the three twins, side by side.

For each head (bert_common.heads) the PyTorch class `BertX`, the Keras class `TFBertX` and the Flax class
`FlaxBertX` are introspected: every public method, property and class attribute their project classes
define (the framework base classes' own API, `torch.nn.Module`, `keras.Model` / `keras.Layer` and
`object`, is framework API and left out by rule: `compile` / `fit`, `train` / `eval`, ...), with the
arguments of each. Each twin is introspected in a subprocess of its own (importing torch, TensorFlow
and JAX in one process is heavy), which prints json.

A row whose columns differ must be listed in `DIFFERENCES` (which twins have it, and why) or, for a
member every twin has with different arguments, in `ARGUMENT_DIFFERENCES`; tests/common/test_api_matrix.py
checks both lists against the code and that docs/api-matrix.md is what this script writes.

    python scripts/api_matrix.py            # rewrite docs/api-matrix.md
    python scripts/api_matrix.py --check    # exit 1 when docs/api-matrix.md is stale
    python scripts/api_matrix.py --introspect pt   # one twin's json (used by the above)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api-matrix.md"
TWINS = ("pt", "tf", "flax")
PACKAGES = {"pt": "bert_pt", "tf": "bert_tf", "flax": "bert_flax"}
PREFIXES = {"pt": "", "tf": "TF", "flax": "Flax"}

# member -> (the twins that have it, the framework reason). Applies to every model class that has it.
_KERAS = "keras.Model API that bert_tf overrides or extends (Keras base-class API, not Transformers')"
_KERAS_FIT = "Keras' training loop (`fit` on the head's own loss, bert_tf.training): keras.Model API"
_FLAX_WRAPPER = (
    "the Flax wrapper around a linen module: parameters live in a tree outside the module "
    "(Transformers' Flax API); PyTorch and Keras keep them in the layers"
)
_FLAX_CHECKPOINTING = (
    "Transformers' Flax names for nn.remat; every twin also has Transformers' PyTorch names "
    "(gradient_checkpointing_enable / gradient_checkpointing_disable / is_gradient_checkpointing)"
)

DIFFERENCES: dict[str, tuple[tuple[str, ...], str]] = {
    # PyTorch
    "tie_weights": (
        ("pt",),
        "PyTorch ties by sharing one Parameter object, re-done after a module swap; "
        "the Keras and Flax heads read the word-embedding matrix at call time, there is nothing to re-tie",
    ),
    "post_init": (
        ("pt",),
        "the nn.Module construction hook (prune from config, init, tie); Keras builds "
        "variables in build(), Flax draws params in init_weights",
    ),
    "init_weights": (
        ("pt", "flax"),
        "re-initialization: bert_pt in place over modules, Flax returns a new "
        "params tree from an rng; Keras variables are initialized by their initializers when built",
    ),
    "set_attn_implementation": (("pt",), "SDPA vs eager attention is a PyTorch kernel choice"),
    "attn_implementation": (("pt",), "SDPA vs eager attention is a PyTorch kernel choice"),
    "get_memory_footprint": (
        ("pt",),
        "Transformers' PyTorch API (parameters + buffers in bytes); Keras "
        "has count_params / weights, Flax a params tree; not added there",
    ),
    "enable_input_require_grads": (
        ("pt",),
        "autograd's requires_grad flag on a leaf (PEFT); JAX and "
        "TensorFlow differentiate with respect to what the caller asks, there is no such flag",
    ),
    "disable_input_require_grads": (
        ("pt",),
        "autograd's requires_grad flag (see enable_input_require_grads)",
    ),
    "dtype": (
        ("pt",),
        "nn.Module has no dtype of its own; keras.Model has `dtype` (framework API), the Flax "
        "wrapper sets `dtype` per instance",
    ),
    "device": (("pt",), "PyTorch models live on one device; JAX and TensorFlow place arrays themselves"),
    "config_class": (("pt",), "Transformers' PyTorch class attributes of its loader (bert_pt.loading)"),
    "base_model_prefix": (("pt",), "Transformers' PyTorch class attributes of its loader (bert_pt.loading)"),
    "model_kwargs": (
        ("pt",),
        "the constructor arguments bert_pt's from_pretrained forwards (bert_pt.loading)",
    ),
    "base_model": (
        ("pt",),
        "Transformers' PyTorch accessor of the `bert` submodule; Keras models expose "
        "the `bert` layer, Flax the params subtree params['bert']",
    ),
    "forward": (("pt",), "the framework's forward method: forward (PyTorch), call (Keras), __call__ (Flax)"),
    "call": (("tf",), "the framework's forward method: forward (PyTorch), call (Keras), __call__ (Flax)"),
    # Keras
    "build": (("tf",), _KERAS),
    "build_head": (("tf",), "creates a Keras head's variables in build() (Keras builds variables lazily)"),
    "get_config": (("tf",), "Keras serialization (.keras files): " + _KERAS),
    "from_config": (("tf",), "Keras serialization (.keras files): " + _KERAS),
    "compile_from_config": (("tf",), "Keras serialization (.keras files): " + _KERAS),
    "prepare_tf_dataset": (
        ("tf",),
        "Transformers' TF API: a datasets.Dataset as the tf.data.Dataset Keras' fit reads (bert_tf.training); "
        "PyTorch and JAX training loops batch with their own loaders (DataLoader, numpy iterators)",
    ),
    "export": (("tf",), "SavedModel export (bert_tf.export), a TensorFlow deployment format: " + _KERAS),
    **{
        name: (("tf",), _KERAS_FIT)
        for name in (
            "compile",
            "fit",
            "evaluate",
            "predict",
            "predict_step",
            "predict_on_batch",
            "train_step",
            "train_on_batch",
            "test_step",
            "test_on_batch",
            "compute_loss",
            "compute_metrics",
            "keras_predictions",
            "check_host_inputs",
        )
    },
    # Flax
    "to_bf16": (
        ("flax",),
        "casts a separate params tree (Transformers' Flax API); PyTorch casts with "
        "nn.Module.to(dtype) / half(), Keras with a dtype policy (dtype= in from_pretrained)",
    ),
    "to_fp16": (("flax",), "casts a separate params tree (see to_bf16)"),
    "to_fp32": (("flax",), "casts a separate params tree (see to_bf16)"),
    "params": (("flax",), _FLAX_WRAPPER),
    "module_class": (("flax",), _FLAX_WRAPPER),
    "check_params": (("flax",), _FLAX_WRAPPER),
    "dummy_inputs": (("flax",), _FLAX_WRAPPER + " (the inputs that trace every parameter)"),
    "scan_layers": (("flax",), "nn.scan over the layers, a JAX compile-time option"),
    "init_cache": (
        ("flax",),
        "JAX needs a fixed-size decoding cache (static shapes); PyTorch and Keras grow a tuple cache",
    ),
    "gradient_checkpointing": (("flax",), _FLAX_CHECKPOINTING),
    "enable_gradient_checkpointing": (("flax",), _FLAX_CHECKPOINTING),
    "disable_gradient_checkpointing": (("flax",), _FLAX_CHECKPOINTING),
}

# member every twin has, whose arguments differ -> the framework reason.
ARGUMENT_DIFFERENCES: dict[str, str] = {
    "from_pretrained": "framework loading options (PyTorch device / attn_implementation / torch_dtype, a "
    "Keras dtype policy, Flax _do_init / params); being unified under issue 12 item 3",
    "save_pretrained": "Flax passes its separate params tree; PyTorch writes safetensors or .bin; "
    "being unified under issue 12 item 3",
    "generate": "Flax takes its params tree and a PRNG key (prng_key) for sampling; PyTorch and Keras "
    "sample with a seed",
}


# ------------------------------------------------------------------------------------ introspection


def _arguments(member: Any, bound: bool) -> list[str] | None:
    """The argument names of a function (*args as "*name", **kwargs as "**name"); with `bound`, the
    first one (self / cls, or the model argument of a module function used as a method) is dropped."""
    try:
        signature = inspect.signature(member)
    except (TypeError, ValueError):
        return None
    names = []
    for index, parameter in enumerate(signature.parameters.values()):
        if bound and index == 0:
            continue
        star = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
        names.append(star.get(parameter.kind, "") + parameter.name)
    return names


def _members(cls: type, package: str) -> dict[str, dict[str, Any]]:
    """name -> {"kind", "arguments"} of the public members the project's classes in cls's MRO define."""
    out: dict[str, dict[str, Any]] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith(package + "."):
            continue  # framework base classes and object: framework API
        for name, raw in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(raw, property):
                out[name] = {"kind": "property", "arguments": []}
            elif isinstance(raw, (classmethod, staticmethod)):
                out[name] = {
                    "kind": type(raw).__name__,
                    "arguments": _arguments(raw.__func__, isinstance(raw, classmethod)),
                }
            elif inspect.isfunction(raw):
                out[name] = {"kind": "method", "arguments": _arguments(raw, True)}
            else:
                out[name] = {"kind": "attribute", "arguments": []}
    return out


def introspect(twin: str) -> dict[str, Any]:
    """{head name: {"class": class name, "members": {...}}} of one twin (imports its framework)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import importlib

    package = PACKAGES[twin]
    registry = importlib.import_module(package + ".registry")
    return {
        head: {"class": cls.__name__, "members": _members(cls, package)}
        for head, cls in sorted(registry.MODEL_CLASSES.items())
    }


def collect() -> dict[str, dict[str, Any]]:
    """twin -> introspect(twin), each in a subprocess."""
    out = {}
    for twin in TWINS:
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--introspect", twin],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"introspecting {twin} failed:\n{result.stderr[-3000:]}")
        out[twin] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------------------------------- the check


def problems(data: dict[str, dict[str, Any]]) -> list[str]:
    """Every row whose columns differ without a listed reason, and every listed row the code contradicts."""
    found = []
    heads = sorted(data["pt"])
    for twin in TWINS:
        if sorted(data[twin]) != heads:
            found.append(f"{twin} has heads {sorted(data[twin])}, pt has {heads}")
    for head in heads:
        rows = {twin: data[twin].get(head, {}).get("members", {}) for twin in TWINS}
        for name in sorted(set().union(*rows.values())):
            have = tuple(twin for twin in TWINS if name in rows[twin])
            if name in DIFFERENCES:
                listed = DIFFERENCES[name][0]
                if have != listed:
                    found.append(f"{head}.{name}: listed for {listed}, present in {have}")
                continue
            if have != TWINS:
                found.append(f"{head}.{name}: only in {have} (add it to the others, or list it)")
                continue
            arguments = {twin: rows[twin][name]["arguments"] for twin in TWINS}
            if len({json.dumps(a) for a in arguments.values()}) > 1 and name not in ARGUMENT_DIFFERENCES:
                found.append(f"{head}.{name}: arguments differ {arguments}")
    return found


# -------------------------------------------------------------------------------------- the document


def _cell(member: dict[str, Any] | None) -> str:
    if member is None:
        return "-"
    if member["kind"] in ("property", "attribute"):
        return member["kind"]
    arguments = member["arguments"]
    return "(" + ", ".join(arguments or []) + ")" if arguments is not None else "(?)"


def render(data: dict[str, dict[str, Any]]) -> str:
    """The markdown of docs/api-matrix.md."""
    lines = [
        "# API matrix of the three twins",
        "",
        "Generated by `python scripts/api_matrix.py` from the code (do not edit by hand);",
        "`tests/common/test_api_matrix.py` fails when it is stale, or when a row differs between the twins",
        "without a reason listed below. A cell shows the arguments of a method (self / cls left out), or",
        "`property` / `attribute`; `-` means the twin's class does not have it. The framework base classes'",
        "own API (`torch.nn.Module`, `keras.Model`, e.g. Keras' `compile` / `fit`, PyTorch's `train` /",
        "`eval`) is framework API and not listed.",
        "",
        "## Rows that differ, and why",
        "",
        "| member | twins | reason |",
        "| --- | --- | --- |",
    ]
    for name, (twins, reason) in sorted(DIFFERENCES.items()):
        lines.append(f"| `{name}` | {', '.join(twins)} | {reason} |")
    for name, reason in sorted(ARGUMENT_DIFFERENCES.items()):
        lines.append(f"| `{name}` (arguments) | pt, tf, flax | {reason} |")
    for head in sorted(data["pt"]):
        names = {twin: data[twin][head]["class"] for twin in TWINS}
        rows = {twin: data[twin][head]["members"] for twin in TWINS}
        lines += [
            "",
            f"## {head}",
            "",
            f"| member | {names['pt']} (pt) | {names['tf']} (tf) | {names['flax']} (flax) |",
            "| --- | --- | --- | --- |",
        ]
        for name in sorted(set().union(*rows.values())):
            cells = " | ".join(_cell(rows[twin].get(name)) for twin in TWINS)
            lines.append(f"| `{name}` | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--introspect", choices=TWINS, help="print one twin's json and exit")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/api-matrix.md is stale")
    args = parser.parse_args(argv)
    if args.introspect:
        print(json.dumps(introspect(args.introspect)))
        return 0
    data = collect()
    for line in problems(data):
        print("api matrix:", line, file=sys.stderr)
    text = render(data)
    if args.check:
        return 0 if DOC.exists() and DOC.read_text() == text else 1
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
