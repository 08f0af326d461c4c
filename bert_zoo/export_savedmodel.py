"""TensorFlow SavedModel export of the Keras twin (bert_tf), loaded back and verified.

OUT is the SavedModel directory itself (`saved_model.pb`, `variables/`, `fingerprint.pb`), written by
`bert_tf.export.export_saved_model`:

    loaded = tf.saved_model.load("OUT")
    loaded.serve(input_ids)                                   # int32 or int64 [B, T]; mask and types optional
    loaded.serve({"input_ids": ids, "attention_mask": mask})  # a dict, as keras.layers.TFSMLayer passes it
    loaded.signatures["serving_default"](input_ids=..., attention_mask=..., token_type_ids=...)  # int32
    loaded.signatures["serve"](...)                           # the same inputs, int64

Every one returns a dict of the head's output fields (float32). Multiple choice takes [B, C, T]; a
decoder with cross-attention also float32 `encoder_hidden_states` [B, S, H] and `encoder_attention_mask`
[B, S] (optional in `serve`). With `text=True` (a checkpoint with tokenizer files), the in-graph
TFBertTokenizer (bert_tf.tokenizer) serves raw strings too: `loaded.serve_text(texts)` /
`serve_text(texts, text_pair)` and the signatures `serve_text` (`text` [B] strings) and
`serve_text_pairs` (`text`, `text_pair`); loading it needs `import tensorflow_text`. Its texts are cut
to min(the tokenizer's model_max_length, max_position_embeddings) tokens.

Verification loads the written directory with `tf.saved_model.load` and compares with the Keras model
on every verification batch: `serve` on int64 inputs, the int32 `serving_default` signature, and `serve`
on int32 `input_ids` alone (against the model called with ids alone). With text, `serve_text` on
sentences with accents, CJK, punctuation and [MASK] (single and pairs) against the model on the ids of
the fast tokenizer (bert_common.tokenization.BertTokenizerFast), and TFBertTokenizer's ids against the
fast tokenizer's: they must be identical (a max |diff| of 0).

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_zoo.export_common import Check, ExportError, compare_fields, failed_check, verification_batches

MODEL_FILE = "saved_model.pb"
REFERENCE = "bert_tf"
# The checks' graph names, in the order of the tables of docs/export.md.
GRAPHS = ("serve (int64)", "serving_default (int32)", "serve (input_ids only)", "serve_text")
TOKENIZER_CHECK = "TFBertTokenizer ids"
# Texts the raw-strings path is verified on: accents (stripped by uncased vocabularies), CJK, punctuation,
# an inline special token, a long word; paired with themselves reversed.
VERIFY_TEXTS = (
    "A man is eating food.",
    "Héllo, café naïve ÉCOLE résumé!",
    "你好世界，今天天气很好。日本語",
    'Don\'t stop -- (really?) "$100" & 50%... ¿qué?',
    "hello [MASK] world, supercalifragilisticexpialidocious",
)


def text_tokenizers(source: Path | None, config: BertConfig, head: str) -> tuple[Any, Any]:
    """(TFBertTokenizer, BertTokenizerFast) of the checkpoint `source`, cutting texts to min(its
    model_max_length, max_position_embeddings) tokens.

    Raises:
        ExportError: no checkpoint directory (a loaded model), no tokenizer files, a tokenizer the
            graph cannot reproduce, a vocabulary larger than the model's, or a head that does not take
            [B, T] ids (multiple choice, a cross-attention decoder).
    """
    from bert_common.heads import get_head
    from bert_common.tokenization import BertTokenizerFast

    if get_head(head).input_rank != 2 or (config.is_decoder and config.add_cross_attention):
        raise ExportError(f"text signatures feed [B, T] ids from the tokenizer; {head} takes other inputs")
    if source is None:
        raise ExportError(
            "text signatures need a checkpoint directory with tokenizer files, not a loaded model"
        )
    try:
        fast = BertTokenizerFast.from_pretrained(source)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"text signatures need the tokenizer files of {source}: {first}") from None
    max_length = min(int(getattr(fast, "model_max_length", 10**9) or 10**9), config.max_position_embeddings)
    from bert_tf.tokenizer import TFBertTokenizer

    try:
        graph = TFBertTokenizer.from_tokenizer(fast, max_length=max_length)
    except (TypeError, ValueError) as err:
        raise ExportError(f"the in-graph tokenizer cannot reproduce {source}'s tokenizer: {err}") from None
    if len(graph.vocab_list) > config.vocab_size:
        raise ExportError(
            f"the tokenizer has {len(graph.vocab_list)} tokens, the model's vocabulary {config.vocab_size}"
        )
    fast.model_max_length = max_length
    return graph, fast


def export_savedmodel(
    model: Any, head: str, directory: Path, tokenizer: Any = None
) -> tuple[list[str], list[str]]:
    """Write the bert_tf `model` as a SavedModel into `directory` (with the raw-strings endpoints when a
    TFBertTokenizer is given); returns (input names, output names) of the signatures.

    Raises:
        ExportError: TensorFlow cannot trace or save the model.
    """
    from bert_tf.export import export_saved_model, serving_inputs, serving_outputs

    try:
        export_saved_model(model, directory, verbose=False, tokenizer=tokenizer)
    except (TypeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"tf.saved_model cannot export {head}: {first}") from err
    return list(serving_inputs(model)), list(serving_outputs(model))


def describe_savedmodel(loaded: Any) -> dict[str, Any]:
    """The inputs and outputs of the `serve` signature ({name: {"dtype", "shape"}}, None for a dynamic
    axis; ids "int32 or int64", as the endpoint takes them), every signature's input dtypes and the
    endpoints of a loaded SavedModel."""
    import tensorflow as tf

    signatures = loaded.signatures

    def spec(specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            name: {"dtype": s.dtype.name, "shape": s.shape.as_list()} for name, s in sorted(specs.items())
        }

    serve = signatures["serve"]
    described = {
        "inputs": spec(serve.structured_input_signature[1]),
        "outputs": spec(serve.structured_outputs),
        "signatures": {
            name: {k: s.dtype.name for k, s in sorted(fn.structured_input_signature[1].items())}
            for name, fn in sorted(signatures.items())
        },
        "endpoints": sorted(n for n in ("serve", "serve_text") if hasattr(loaded, n)),
        "tensorflow": tf.__version__,
    }
    for entry in described["inputs"].values():
        entry["dtype"] = "int32 or int64" if entry["dtype"] == "int64" else entry["dtype"]
    return described


def load(directory: Path) -> Any:
    """`tf.saved_model.load(directory)` (tensorflow_text imported first, for the tokenizer's ops).

    Raises:
        ExportError: TensorFlow cannot load it.
    """
    import tensorflow as tf

    try:
        import tensorflow_text  # noqa: F401  (registers the tokenizer's ops, for a raw-strings export)
    except ImportError:
        pass
    try:
        return tf.saved_model.load(str(directory))
    except Exception as err:  # TensorFlow's loading errors have no common base class
        raise ExportError(f"tf.saved_model.load cannot read {directory.name}: {str(err)[:300]}") from err


def verify_savedmodel(
    loaded: Any,
    model: Any,
    head: str,
    outputs: list[str],
    fast_tokenizer: Any = None,
    graph_tokenizer: Any = None,
) -> list[Check]:
    """Compare the endpoints of the `loaded` SavedModel (`load`) with `model` (see the module
    docstring); one Check per graph and input shape. With `fast_tokenizer` (BertTokenizerFast) also
    `serve_text`, and the ids of `graph_tokenizer` (the exported TFBertTokenizer) against the fast ones.
    """
    from bert_tf.pipelines import run_numpy

    flags = {"output_attentions": False, "output_hidden_states": False}
    if model.config.is_decoder:
        flags["use_cache"] = False
    checks = []
    for batch in verification_batches(model.config, head):
        shape = tuple(batch["input_ids"].shape)
        expected = run_numpy(model, batch, **flags)
        int32 = {k: v.astype(np.int32) if v.dtype == np.int64 else v for k, v in batch.items()}
        ids_only = {k: v for k, v in int32.items() if k in ("input_ids", "encoder_hidden_states")}
        runs = [
            (GRAPHS[0], loaded.serve, batch, expected),
            (GRAPHS[1], loaded.signatures["serving_default"], int32, expected),
            (GRAPHS[2], loaded.serve, ids_only, run_numpy(model, ids_only, **flags)),
        ]
        for graph, function, inputs, reference in runs:
            checks.append(_check(graph, shape, reference, outputs, function, **inputs))
    if fast_tokenizer is not None:
        checks += _verify_text(loaded, model, outputs, fast_tokenizer, graph_tokenizer, flags)
    return checks


def _check(
    graph: str,
    shape: tuple[int, ...],
    reference: dict[str, Any],
    names: list[str],
    function: Any,
    *args: Any,
    **kwargs: Any,
) -> Check:
    """Run `function(*args, **kwargs)` and compare the fields `names` with `reference`."""
    try:
        got = {k: np.asarray(v) for k, v in function(*args, **kwargs).items()}
    except Exception as err:  # TensorFlow's runtime errors: the graph cannot run these inputs
        return failed_check(graph, REFERENCE, shape, names, err)
    return Check(graph, REFERENCE, shape, compare_fields(got, reference, names))


def _verify_text(
    loaded: Any, model: Any, outputs: list[str], fast: Any, graph_tokenizer: Any, flags: dict[str, Any]
) -> list[Check]:
    """serve_text (singles and pairs) against the model on the fast tokenizer's ids, and the in-graph
    tokenizer's ids against the fast tokenizer's (a different padded length is a failed check)."""
    import tensorflow as tf

    from bert_tf.pipelines import run_numpy

    texts = list(VERIFY_TEXTS)
    names = ["input_ids", "token_type_ids", "attention_mask"]
    checks = []
    for pair in (None, texts[::-1]):
        encoded = fast(texts, pair, padding=True, truncation=True, return_tensors="np")
        arrays = {k: np.asarray(v) for k, v in encoded.items() if k in names}
        shape = tuple(arrays["input_ids"].shape)
        strings = [tf.constant(texts)] + ([] if pair is None else [tf.constant(pair)])
        reference = run_numpy(model, arrays, **flags)
        checks.append(_check(GRAPHS[3], shape, reference, outputs, loaded.serve_text, *strings))
        if graph_tokenizer is None:
            continue
        mine = {k: np.asarray(v) for k, v in graph_tokenizer(texts, text_pair=pair).items() if k in names}
        if mine["input_ids"].shape == shape:
            check = Check(TOKENIZER_CHECK, "BertTokenizerFast", shape, compare_fields(mine, arrays, names))
        else:
            problem = ValueError(f"ids of shape {mine['input_ids'].shape}, the fast tokenizer's {shape}")
            check = failed_check(TOKENIZER_CHECK, "BertTokenizerFast", shape, names, problem)
        checks.append(check)
    return checks
