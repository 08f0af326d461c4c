"""What `bert-zoo bench` runs: one callable per side of a case, for each twin and each reference.

Each runner does the work a user of that library does, as they write it:

- PyTorch (bert_pt, eager, SDPA attention): `model(**inputs).logits` under `torch.inference_mode()`;
  bf16 is `model.to(torch.bfloat16)`. Train step: `loss.backward()`, `torch.optim.AdamW.step()`,
  `zero_grad()`; bf16 trains under `torch.autocast("cpu", torch.bfloat16)` (what the Trainer's
  `bf16=True` does), the weights staying fp32.
- Keras (bert_tf): the model call in `tf.function(jit_compile=True)` (XLA); the train step is
  `train_on_batch` after `compile(keras.optimizers.AdamW(...), jit_compile=True)`; bf16 is the
  `mixed_bfloat16` dtype policy.
- Flax (bert_flax): the model call under `jax.jit`; the train step is bert_flax.training's
  `make_train_step` with its AdamW; bf16 is `dtype=jnp.bfloat16` (parameters stay fp32).
- Transformers 4.57 (the reference, when importable): the same for its PyTorch classes
  (`attn_implementation="sdpa"`) and its Flax classes. Its TF classes need tf-keras (Keras 2), so
  Keras is compared with Transformers' PyTorch model; Flax with Transformers' Flax model when that
  imports, else with its PyTorch model. Every reference says which one it is.
- bert-zoo's fastest CPU path (fp32 forward of the PyTorch twin, cases with `fast`):
  `bert_zoo.fast.optimize(model, backend=case.fast)` built once per group (verified against eager on
  construction, untimed), then `fast(**inputs).logits`.
- onnxruntime (fp32 forward only): the bert_pt model exported by bert_zoo.export_onnx, run by an
  `InferenceSession` with default options (all graph optimizations) on the CPU provider.

Transformers and onnxruntime are imported here, inside functions, only when a case needs them.
Every runner returns after the result is computed (`.numpy()`, `block_until_ready()`).

Shape legend: B batch, T positions, Y labels.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_zoo.bench_stats import Case
from bert_zoo.twins import load_twin, native_stderr_silenced

Runner = Callable[[], Any]
HEAD = "BertForSequenceClassification"
LEARNING_RATE = 2e-5
_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "max_position_embeddings",
    "type_vocab_size",
    "num_labels",
)
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Unavailable(Exception):
    """A side of a case cannot run here (its library is not installed); the message says why."""


# ----------------------------------------------------------------------------- PyTorch (both sides)


def _pt_model(config: BertConfig, impl: str) -> Any:
    if impl == "zoo":
        load_twin("pt")
        from bert_pt import BertForSequenceClassification

        return BertForSequenceClassification(config)
    transformers = _transformers()
    settings = {name: getattr(config, name) for name in _CONFIG_FIELDS}
    ref_config = transformers.BertConfig(**settings, attn_implementation="sdpa")
    return transformers.BertForSequenceClassification(ref_config)


def _pt_runner(model: Any, case: Case, batch: dict[str, np.ndarray], state: dict) -> Runner:
    import torch

    inputs = {k: torch.from_numpy(batch[k]) for k in TOKEN_INPUTS}
    if case.mode == "forward":
        model.eval()
        if case.dtype == "bf16":
            model.to(torch.bfloat16)

        def forward() -> Any:
            with torch.inference_mode():
                return model(**inputs).logits

        return forward
    model.train()
    if "optimizer" not in state:
        state["optimizer"] = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    optimizer = state["optimizer"]
    labels = torch.from_numpy(batch["labels"])

    def train_step() -> Any:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=case.dtype == "bf16"):
            loss = model(**inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    return train_step


def _fast_model(model: Any, backend: str) -> Any:
    from bert_zoo.fast import FastError, optimize

    try:
        return optimize(model, backend=backend)
    except FastError as err:  # e.g. onnxruntime not installed: the case is reported, not run
        raise Unavailable(str(err)) from None


def _fast_runner(fast: Any, batch: dict[str, np.ndarray]) -> Runner:
    import torch

    inputs = {k: torch.from_numpy(batch[k]) for k in TOKEN_INPUTS}
    return lambda: fast(**inputs).logits


# ----------------------------------------------------------------------------- Keras


def _tf_model(config: BertConfig, case: Case) -> Any:
    load_twin("tf")
    import keras

    from bert_tf import TFBertForSequenceClassification

    model = TFBertForSequenceClassification(config, dtype="mixed_bfloat16" if case.dtype == "bf16" else None)
    if case.mode == "train":
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=LEARNING_RATE), jit_compile=True)
    return model


def _tf_runner(model: Any, case: Case, batch: dict[str, np.ndarray], state: dict) -> Runner:
    import tensorflow as tf

    if case.mode == "train":
        x = {k: batch[k] for k in TOKEN_INPUTS}
        return lambda: model.train_on_batch(x, batch["labels"])
    name = "call padding-free" if case.padding_free else "call"  # one XLA program per setting
    if name not in state:
        state[name] = tf.function(
            lambda x: model(x, training=False, padding_free=case.padding_free).logits, jit_compile=True
        )
    call = state[name]
    inputs = {k: tf.constant(batch[k]) for k in TOKEN_INPUTS}
    return lambda: call(inputs).numpy()


# ----------------------------------------------------------------------------- Flax (both sides)


def _flax_model(config: BertConfig, case: Case, impl: str) -> Any:
    import jax.numpy as jnp

    dtype = jnp.bfloat16 if case.dtype == "bf16" else jnp.float32
    if impl == "zoo":
        load_twin("flax")
        from bert_flax import FlaxBertForSequenceClassification

        return FlaxBertForSequenceClassification(config, dtype=dtype, padding_free=case.padding_free)
    transformers = _transformers()
    settings = {name: getattr(config, name) for name in _CONFIG_FIELDS}
    return transformers.FlaxBertForSequenceClassification(transformers.BertConfig(**settings), dtype=dtype)


def _flax_runner(model: Any, case: Case, batch: dict[str, np.ndarray], state: dict, impl: str) -> Runner:
    import jax
    import jax.numpy as jnp

    arrays = {k: jnp.asarray(v) for k, v in batch.items()}
    inputs = {k: arrays[k] for k in TOKEN_INPUTS}
    if case.mode == "forward":
        if "call" not in state:
            state["call"] = jax.jit(lambda params, x: model(**x, params=params).logits)
        call = state["call"]
        return lambda: call(model.params, inputs).block_until_ready()
    if "step" not in state:
        state.update(_flax_train(model, impl))
    step = state["step"]
    rng = jax.random.key(0)

    def train_step() -> Any:
        state["train_state"], loss = step(state["train_state"], arrays, rng)
        return jax.block_until_ready(loss)

    return train_step


def _flax_train(model: Any, impl: str) -> dict[str, Any]:
    """{"step": jitted (train state, batch, rng) -> (train state, loss), "train_state": the first}."""
    import jax
    import optax

    if impl == "zoo":
        from bert_flax.training import adamw, create_train_state, make_train_step

        step = make_train_step(model)
        return {
            "step": lambda s, b, rng: (lambda out: (out[0], out[1]["loss"]))(step(s, b, rng)),
            "train_state": create_train_state(model, adamw(learning_rate=LEARNING_RATE)),
        }
    # Transformers' Flax models have no training helper: the step its examples write.
    tx = optax.adamw(LEARNING_RATE, eps=1e-6, weight_decay=0.01)

    def loss_fn(params: Any, b: dict[str, Any], rng: Any) -> Any:
        x = {k: b[k] for k in TOKEN_INPUTS}
        logits = model(**x, params=params, dropout_rng=rng, train=True).logits
        return optax.softmax_cross_entropy_with_integer_labels(logits, b["labels"]).mean()

    @jax.jit
    def ref_step(train_state: Any, b: dict[str, Any], rng: Any) -> Any:
        params, opt_state, count = train_state
        loss, grads = jax.value_and_grad(loss_fn)(params, b, jax.random.fold_in(rng, count))
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, count + 1), loss

    return {"step": ref_step, "train_state": (model.params, tx.init(model.params), 0)}


# ----------------------------------------------------------------------------- references


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as err:
        raise Unavailable(f"Transformers is not installed ({err})") from None
    return transformers


def _onnx_session(zoo_model: Any) -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise Unavailable(f"onnxruntime is not installed ({err})") from None
    from bert_zoo.export_onnx import DEFAULT_OPSET, MODEL_FILE, export_onnx

    zoo_model.eval()
    with tempfile.TemporaryDirectory() as directory:
        export_onnx(zoo_model, HEAD, Path(directory), DEFAULT_OPSET)
        return onnxruntime.InferenceSession(
            str(Path(directory) / MODEL_FILE), providers=["CPUExecutionProvider"]
        )


def reference_name(case: Case, flax_fallback: str = "") -> str:
    """What the reference of `case` is, in words, with its version once it is imported; flax_fallback:
    why Transformers' Flax classes are not used (then a Flax case is compared with its PyTorch model)."""
    if case.reference == "none":
        return ""
    library = "onnxruntime" if case.reference == "onnxruntime" else "transformers"
    module = sys.modules.get(library)
    version = f" {module.__version__}" if module is not None else ""
    if case.reference == "onnxruntime":
        return f"onnxruntime{version} (export of the bert-zoo PyTorch model)"
    if case.twin == "flax" and not flax_fallback:
        return f"Transformers{version} Flax (jit)"
    if case.twin == "flax":
        return f"Transformers{version} PyTorch (SDPA): {flax_fallback}"
    if case.twin == "tf":
        return f"Transformers{version} PyTorch (SDPA): its TF classes need tf-keras"
    return f"Transformers{version} PyTorch (SDPA)"


class Sides:
    """Builds the two runners of each case, keeping the models of one (twin, mode, dtype) group alive
    while consecutive cases share them (a bert-base model takes seconds to build, XLA and jit compile
    per shape in the warm-up runs). config: the model's BertConfig (num_labels is the Y of the head)."""

    def __init__(self, config: BertConfig) -> None:
        self.config = config
        self._group: tuple[str, str, str] | None = None
        self._built: dict[str, Any] = {}
        self.flax_fallback = ""

    def _get(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    def runners(self, case: Case, batch: dict[str, np.ndarray]) -> tuple[Runner, Runner | None, str, str]:
        """(bert-zoo runner, reference runner or None, reference name, note on a missing reference).

        Raises:
            Unavailable: bert-zoo's twin of the case cannot be imported.
            ValueError: an onnxruntime reference for anything but the fp32 forward of the PyTorch twin.
        """
        if case.reference == "onnxruntime" and (case.twin, case.mode, case.dtype) != (
            "pt",
            "forward",
            "fp32",
        ):
            raise ValueError(f"onnxruntime is the reference of the PyTorch fp32 forward only, not {case.key}")
        group = (case.twin, case.mode, case.dtype)
        if group != self._group:
            self._built.clear()
            gc.collect()
            self._group = group
        try:
            zoo = self._zoo(case, batch)
        except ImportError as err:
            raise Unavailable(str(err).splitlines()[0]) from None
        try:
            with native_stderr_silenced():  # Transformers imports TensorFlow lazily, which logs natively
                reference = self._reference(case, batch)
        except Unavailable as err:
            return zoo, None, reference_name(case, self.flax_fallback), str(err)
        return zoo, reference, reference_name(case, self.flax_fallback), ""

    def _zoo(self, case: Case, batch: dict[str, np.ndarray]) -> Runner:
        state = self._get("zoo state", dict)
        if case.twin == "pt":
            model = self._get("zoo", lambda: _pt_model(self.config, "zoo"))
            from bert_pt.modeling import set_padding_free

            set_padding_free(model, case.padding_free)  # the model is shared by the group's cases
            if case.fast:
                return _fast_runner(
                    self._get(f"fast {case.fast}", lambda: _fast_model(model, case.fast)), batch
                )
            return _pt_runner(model, case, batch, state)
        if case.twin == "tf":
            return _tf_runner(self._get("zoo", lambda: _tf_model(self.config, case)), case, batch, state)
        # padding_free is a Flax module field: its own model (sharing the parameters) and jit
        suffix = " padding-free" if case.padding_free else ""
        model = self._get("zoo" + suffix, lambda: _flax_model(self.config, case, "zoo"))
        if case.padding_free and "zoo" in self._built:
            model.params = self._built["zoo"].params
        return _flax_runner(model, case, batch, self._get("zoo state" + suffix, dict), "zoo")

    def _reference(self, case: Case, batch: dict[str, np.ndarray]) -> Runner | None:
        if case.reference == "none":
            return None
        if case.reference == "onnxruntime":
            session = self._get("onnxruntime", lambda: _onnx_session(self._built["zoo"]))
            feeds = {k: batch[k] for k in TOKEN_INPUTS}
            return lambda: session.run(["logits"], feeds)
        state = self._get("ref state", dict)
        if case.twin == "flax" and not self.flax_fallback:
            try:
                model = self._get("ref", lambda: _flax_model(self.config, case, "transformers"))
                return _flax_runner(model, case, batch, state, "transformers")
            except (ImportError, AttributeError) as err:  # then compare with its PyTorch model
                self.flax_fallback = f"its Flax classes do not import ({str(err).splitlines()[0]})"
        pt_case = case if case.twin == "pt" else Case("pt", case.mode, case.dtype, case.batch, case.length)
        return _pt_runner(
            self._get("ref", lambda: _pt_model(self.config, "transformers")), pt_case, batch, state
        )
