"""Exporting bert_tf models as TensorFlow SavedModels for serving.

`export_saved_model(model, dir)` (also `model.export(dir)`) writes a SavedModel with

- the endpoint `serve`, what `tf.saved_model.load(dir).serve(...)` and
  `keras.layers.TFSMLayer(dir, call_endpoint="serve")` call. It takes `input_ids` as a tensor or a dict
  of named inputs, with `attention_mask` and `token_type_ids` optional (ones / zeros when left out),
  int32 or int64 (every input given of the same dtype):

      serve(input_ids, attention_mask=None, token_type_ids=None)
      serve({"input_ids": ..., "attention_mask": ..., "token_type_ids": ...})  # the last two optional

  A decoder with cross-attention also takes float32 `encoder_hidden_states` [B, S, H] (required) and
  `encoder_attention_mask` [B, S] (optional, ones).
- the signatures (flat named tensors, all required: what TF Serving and `loaded.signatures[...]` see)
  `serving_default` on int32 and `serve` on int64 `input_ids`, `attention_mask`, `token_type_ids` (and
  the encoder inputs of a cross-attention decoder).

Every one returns the head's prediction fields by name (`logits`, or `start_logits` / `end_logits`, ...;
`last_hidden_state` / `pooler_output` for TFBertModel), float32. Ids are [B, T] ([B, C, T] for multiple
choice) of any B and T. A TensorFlow signature has one dtype per input and no optional inputs, so
`serve` is a polymorphic function of one concrete function per accepted form (dtype x inputs given x
tensor or dict); each casts to int64, fills what was left out and calls one shared forward function, so
the network is in the SavedModel once.

With a `tokenizer` (a TFBertTokenizer), the export also takes raw strings: the endpoint
`serve_text(text, text_pair=None)` ([B] strings) and the signatures `serve_text` (`text`) and
`serve_text_pairs` (`text`, `text_pair`). `export_text_model(model, tokenizer, dir)` writes a SavedModel
of strings only: `serving_default` takes `text`, `serving_pairs` takes `text` and `text_pair`, and the
endpoint `serve(text, text_pair=None)`. Loading either needs `import tensorflow_text` (its ops).

A framework-only file: SavedModel serving signatures exist only in TensorFlow.
Shape legend: B batch, C choices, T positions, S encoder length, H hidden size.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from bert_tf.training import prediction_names

SERVING_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ENCODER_INPUTS = ("encoder_hidden_states", "encoder_attention_mask")
# The id dtypes `serve` takes; int64 first: its first concrete function becomes the `serve` signature.
ID_DTYPES = (tf.int64, tf.int32)
# What an input left out of `serve` becomes: ones (masks) or zeros (token types), the model's defaults.
_FILL = {"attention_mask": tf.ones_like, "token_type_ids": tf.zeros_like}


def serving_inputs(model: keras.Model) -> tuple[str, ...]:
    """The inputs of the serving signatures: ids, mask and token types; a decoder with cross-attention
    adds `encoder_hidden_states` and `encoder_attention_mask`."""
    config = model.config
    cross = config.is_decoder and config.add_cross_attention and model.head().input_rank == 2
    return SERVING_INPUTS + (ENCODER_INPUTS if cross else ())


def serving_outputs(model: keras.Model) -> tuple[str, ...]:
    """The output fields the serving functions return (the head's predictions, no loss or cache)."""
    names = prediction_names(model.head().output)
    if model.head().name == "BertModel" and not getattr(model, "add_pooling_layer", True):
        names = tuple(n for n in names if n != "pooler_output")
    return names


def _specs(model: keras.Model, dtype: tf.DType) -> dict[str, tf.TensorSpec]:
    """TensorSpecs of the serving inputs with ids of `dtype` (float32 encoder states)."""
    rank = model.head().input_rank
    specs = {name: tf.TensorSpec([None] * rank, dtype, name=name) for name in SERVING_INPUTS}
    if "encoder_hidden_states" in serving_inputs(model):
        hidden = model.config.hidden_size
        specs["encoder_hidden_states"] = tf.TensorSpec(
            [None, None, hidden], tf.float32, "encoder_hidden_states"
        )
        specs["encoder_attention_mask"] = tf.TensorSpec([None, None], dtype, name="encoder_attention_mask")
    return specs


def forward_function(model: keras.Model) -> Callable[..., dict[str, tf.Tensor]]:
    """The one traced forward pass every serving function calls: int64 inputs (float32 encoder states),
    all given, to {output field: float32 tensor}."""
    names = serving_outputs(model)
    flags = {"use_cache": False} if model.config.is_decoder else {}

    def forward(**inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        output = model(**inputs, training=False, return_dict=True, **flags)
        return {name: tf.cast(getattr(output, name), tf.float32) for name in names}

    specs = _specs(model, tf.int64)
    return tf.function(forward, autograph=False).get_concrete_function(**specs)


def serve_function(model: keras.Model, forward: Callable[..., dict[str, tf.Tensor]]) -> Any:
    """The polymorphic `serve` tf.function, traced on every accepted form (see the module docstring);
    its first concrete function takes every input as an int64 keyword (it becomes the `serve` signature)."""
    names = serving_inputs(model)
    optional = [n for n in names if n not in ("input_ids", "encoder_hidden_states")]

    def serve(input_ids: Any, **given: Any) -> dict[str, tf.Tensor]:
        inputs = dict(input_ids) if isinstance(input_ids, dict) else {"input_ids": input_ids}
        inputs.update({k: v for k, v in given.items() if v is not None})
        return forward(**complete_inputs(inputs, names))

    function = tf.function(_named(serve, names, required=1), autograph=False)
    for dtype in ID_DTYPES:
        specs = _specs(model, dtype)
        for count in range(len(optional), -1, -1):
            for kept in itertools.combinations(optional, count):
                given = {n: specs[n] for n in names if n not in optional or n in kept}
                function.get_concrete_function(**given)  # serve(input_ids, attention_mask=..., ...)
                function.get_concrete_function(given)  # serve({"input_ids": ..., ...})
    return function


def _named(fn: Callable[..., Any], names: Sequence[str], required: int) -> Callable[..., Any]:
    """`fn(first, **rest)` with the parameters `names` (the first `required` without default, the
    others default None), so that TensorFlow binds positional and keyword calls alike and names the
    signature inputs."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        inspect.Parameter(n, kind) if i < required else inspect.Parameter(n, kind, default=None)
        for i, n in enumerate(names)
    ]
    signature = inspect.Signature(parameters)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        return fn(values.pop(names[0]), **values)

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(fn, "__name__", "serve")
    return wrapper


def complete_inputs(inputs: dict[str, Any], names: Sequence[str]) -> dict[str, tf.Tensor]:
    """The serving inputs as int64 (encoder states float32), those left out filled with the model's
    defaults (mask ones, token types zeros, encoder mask ones).

    Raises:
        ValueError: an input name the model does not serve (at trace time).
    """
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise ValueError(f"serve got input(s) {unknown} it does not take; accepted inputs: {list(names)}")
    out = {}
    for name, value in inputs.items():
        value = tf.convert_to_tensor(value)
        out[name] = value if name == "encoder_hidden_states" else tf.cast(value, tf.int64)
    ids = out["input_ids"]
    for name, fill in _FILL.items():
        out.setdefault(name, fill(ids))
    if "encoder_hidden_states" in names:
        states = out["encoder_hidden_states"]  # [B, S, H]
        out.setdefault("encoder_attention_mask", tf.ones(tf.shape(states)[:2], tf.int64))
    return out


def _signature(forward: Callable[..., dict[str, tf.Tensor]], names: Sequence[str]) -> Callable[..., Any]:
    """A signature function: every input required, named, cast to int64."""

    def signature(input_ids: tf.Tensor, **rest: tf.Tensor) -> dict[str, tf.Tensor]:
        return forward(**complete_inputs({"input_ids": input_ids, **rest}, names))

    return _named(signature, names, required=len(names))


def export_saved_model(
    model: keras.Model,
    filepath: str | os.PathLike[str],
    verbose: bool = True,
    tokenizer: keras.layers.Layer | None = None,
) -> None:
    """Write the bert_tf `model` as a SavedModel with the `serve` endpoint and the `serving_default`
    (int32) and `serve` (int64) signatures; see the module docstring for their inputs and outputs.

    tokenizer: a TFBertTokenizer to serve raw strings too (`serve_text`, `serve_text_pairs`); its
        padding and truncation settings apply (default None: ids only).
    verbose: print the endpoints (Keras' ExportArchive listing).

    Raises:
        TypeError: a tokenizer that is not a TFBertTokenizer (e.g. a BertTokenizerFast).
        ValueError: a tokenizer for a head that does not take [B, T] ids (multiple choice, a
            cross-attention decoder).
    """
    names = serving_inputs(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    forward = forward_function(model)
    archive.add_endpoint("serve", serve_function(model, forward))
    int32 = list(_specs(model, tf.int32).values())
    archive.add_endpoint("serving_default", _signature(forward, names), input_signature=int32)
    if tokenizer is not None:
        _check_text_model(model, tokenizer)
        archive.track(tokenizer)
        run = _text_function(tokenizer, forward, names)
        archive.add_endpoint("serve_text", _traced_text(run))
        archive.add_endpoint("serve_text_pairs", run, input_signature=_STRINGS)
    archive.write_out(os.fspath(filepath), verbose=verbose)


def export_text_model(
    model: keras.Model,
    tokenizer: keras.layers.Layer,
    filepath: str | os.PathLike[str],
    *,
    verbose: bool = True,
) -> None:
    """Write tokenizer + model as one SavedModel that takes raw strings.

    tokenizer: a TFBertTokenizer (its padding/truncation settings apply). Signatures: `serving_default`
    takes `text` ([B] strings), `serving_pairs` takes `text` and `text_pair`; the endpoint
    `serve(text, text_pair=None)` takes either.

    Raises:
        TypeError: a tokenizer that is not a TFBertTokenizer.
        ValueError: a head that does not take [B, T] ids (multiple choice, a cross-attention decoder).
    """
    _check_text_model(model, tokenizer)
    names = serving_inputs(model)
    run = _text_function(tokenizer, forward_function(model), names)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)
    archive.add_endpoint("serving_default", lambda text: run(text), input_signature=_STRINGS[:1])
    archive.add_endpoint("serving_pairs", run, input_signature=_STRINGS)
    archive.add_endpoint("serve", _traced_text(run))
    archive.write_out(os.fspath(filepath), verbose=verbose)


_STRINGS = [tf.TensorSpec([None], tf.string, name="text"), tf.TensorSpec([None], tf.string, name="text_pair")]


def _check_text_model(model: keras.Model, tokenizer: Any) -> None:
    if not isinstance(tokenizer, keras.layers.Layer) or not hasattr(tokenizer, "tokenize"):
        raise TypeError(f"tokenizer must be a TFBertTokenizer, got {type(tokenizer).__name__}")
    if serving_inputs(model) != SERVING_INPUTS or model.head().input_rank != 2:
        raise ValueError(
            f"raw-string serving feeds [B, T] ids from the tokenizer; {model.head().name} takes other inputs"
        )


def _text_function(
    tokenizer: keras.layers.Layer, forward: Callable[..., dict[str, tf.Tensor]], names: Sequence[str]
) -> Callable[..., dict[str, tf.Tensor]]:
    def run(text: tf.Tensor, text_pair: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        encoded = tokenizer(text, text_pair=text_pair)
        return forward(**complete_inputs({k: v for k, v in encoded.items() if k in names}, names))

    return run


def _traced_text(run: Callable[..., dict[str, tf.Tensor]]) -> Any:
    """`run(text, text_pair=None)` as a tf.function traced on [B] strings, with and without pairs."""
    function = tf.function(run, autograph=False)
    function.get_concrete_function(_STRINGS[0])
    function.get_concrete_function(*_STRINGS)
    return function
