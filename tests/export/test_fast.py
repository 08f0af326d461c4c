"""bert_zoo.fast.optimize: each backend equals eager PyTorch within 1e-5 on padded batches of shapes its
construction never ran (dynamic axes), its one-line errors, and a verification that catches a wrong
result. No speed is asserted here (the benchmark measures it: `bert-zoo bench`).

The expected values are eager bert_pt's, computed in the test on the same weights; the weights are
N(0, 0.2) (not the 0.02 initializer) so that a wrong result shows in the differences.

Shape legend: B batch, C choices, T positions, H hidden size, Y labels.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from bert_pt import BertForMultipleChoice, BertForSequenceClassification, BertLMHeadModel, BertModel
from bert_zoo import fast, fast_backends
from bert_zoo.fast import FastError, FastVerificationError, optimize
from tests.common.head_spec import tiny
from tests.helpers import ATOL, max_abs_diff

BACKENDS = [
    pytest.param("onnxruntime", id="onnxruntime"),
    # inductor compiles C++ kernels twice (the first shape, then dynamic axes): about a minute on 2 cores
    # torch's inductor imports torch.utils.mkldnn, which warns about its own use of torch.jit
    pytest.param(
        "inductor",
        id="inductor",
        marks=[
            pytest.mark.slow,
            pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
        ],
    ),
]


def model_of(cls, **config):
    torch.manual_seed(0)
    model = cls(tiny(num_labels=3, **config)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    return model


def padded(config, batch, length, seed, choices=None):
    """int64 [B, T] (or [B, C, T]) inputs, rows 1 and 3 (when present) right-padded, segment 1 after T/3."""
    rng = np.random.default_rng(seed)
    shape = (batch, choices, length) if choices else (batch, length)
    ids = rng.integers(5, config.vocab_size, size=shape)
    mask = np.ones(shape, np.int64)
    mask[1, ..., length - 4 :] = 0
    if batch > 3:
        mask[3, ..., length - 1 :] = 0
    ids[mask == 0] = 0
    types = np.zeros(shape, np.int64)
    types[..., length // 3 :] = 1
    return {
        k: torch.from_numpy(v)
        for k, v in {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}.items()
    }


def assert_matches_eager(fast_model, model, inputs):
    with torch.inference_mode():
        expected = model(**inputs)
    got = fast_model(**inputs)
    assert type(got) is type(expected)
    assert got.keys() == expected.keys()
    for name in expected.keys():
        assert got[name].shape == expected[name].shape, name
        assert max_abs_diff(got[name].numpy(), expected[name].numpy()) <= ATOL, name


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_classification_equals_eager_on_padded_batches_of_two_new_shapes(backend):
    model = model_of(BertForSequenceClassification)
    fast_model = optimize(model, backend=backend)
    assert fast_model.backend == backend
    assert len(fast_model.checks) == 3 and fast_model.worst <= ATOL  # the construction's verification
    for batch, length, seed in ((5, 23, 1), (2, 9, 2)):
        assert_matches_eager(fast_model, model, padded(model.config, batch, length, seed))
    inputs = padded(model.config, 4, 11, 3)
    as_tuple = fast_model(**inputs, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 1  # (logits,), as the model's to_tuple()
    assert max_abs_diff(as_tuple[0].numpy(), fast_model(**inputs).logits.numpy()) == 0.0


@pytest.mark.parametrize("cls, choices", [(BertModel, None), (BertForMultipleChoice, 3)])
def test_onnxruntime_backend_on_the_base_model_and_multiple_choice(cls, choices):
    model = model_of(cls)
    fast_model = optimize(model, backend="onnxruntime")
    for batch, length, seed in ((5, 23, 1), (2, 9, 2)):
        assert_matches_eager(fast_model, model, padded(model.config, batch, length, seed, choices))


def test_auto_picks_onnxruntime_when_it_is_installed_and_example_inputs_are_verified_too():
    model = model_of(BertForSequenceClassification)
    example = {k: v.numpy() for k, v in padded(model.config, 4, 30, 5).items()}
    fast_model = optimize(model, example_inputs=example)
    assert fast_model.backend == "onnxruntime"
    assert [c.shape for c in fast_model.checks] == [(1, 1), (3, 16), (2, 40), (4, 30)]


def perturbing(builder, field, shape=None, delta=1e-3):
    """A builder whose runner adds `delta` to `field` (on inputs of `shape` only, when given)."""

    def build(*args, **kwargs):
        run = builder(*args, **kwargs)

        def wrong(inputs):
            out = run(inputs)
            if shape is None or tuple(inputs["input_ids"].shape) == shape:
                setattr(out, field, getattr(out, field) + delta)
            return out

        return wrong

    return build


def test_verification_catches_a_perturbed_output(monkeypatch):
    model = model_of(BertForSequenceClassification)
    builder = fast.BUILDERS["onnxruntime"]
    monkeypatch.setitem(fast.BUILDERS, "onnxruntime", perturbing(builder, "logits", shape=(2, 40)))
    with pytest.raises(FastVerificationError) as caught:
        optimize(model, backend="onnxruntime")
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "onnxruntime vs eager PyTorch on inputs [2, 40], logits: max |diff| 1.00e-03 > 1e-05" in message
    worst = {c.shape: c.worst for c in caught.value.checks}
    assert worst[(1, 1)] <= ATOL and worst[(3, 16)] <= ATOL and worst[(2, 40)] > 9e-4
    # an error 10x below the tolerance passes; verify=False skips the check entirely
    monkeypatch.setitem(fast.BUILDERS, "onnxruntime", perturbing(builder, "logits", delta=1e-6))
    assert optimize(model, backend="onnxruntime").worst <= ATOL
    monkeypatch.setitem(fast.BUILDERS, "onnxruntime", perturbing(builder, "logits"))
    assert optimize(model, backend="onnxruntime", verify=False).checks == []


def test_verification_reports_a_backend_that_fails_on_a_batch(monkeypatch):
    def broken(*args, **kwargs):
        def run(inputs):
            raise RuntimeError("Non-zero status code returned while running Gather node\nmore detail")

        return run

    monkeypatch.setitem(fast.BUILDERS, "onnxruntime", broken)
    with pytest.raises(FastVerificationError, match=r"on inputs \[1, 1\]: the fast path cannot run them "):
        optimize(model_of(BertForSequenceClassification), backend="onnxruntime")


def test_bad_input_gives_one_line_errors(monkeypatch):
    model = model_of(BertForSequenceClassification)
    with pytest.raises(FastError, match=r"^unknown backend 'tensorrt'; choose auto, inductor, onnxruntime$"):
        optimize(model, backend="tensorrt")
    with pytest.raises(FastError, match="takes a bert_pt model .*, got Linear"):
        optimize(torch.nn.Linear(2, 2))
    decoder = model_of(BertLMHeadModel, is_decoder=True)
    with pytest.raises(FastError, match="runs encoders; BertLMHeadModel is a decoder"):
        optimize(decoder, backend="inductor")
    with pytest.raises(FastError, match="runs float32 models; this one is torch.bfloat16"):
        optimize(model_of(BertForSequenceClassification).to(torch.bfloat16), backend="onnxruntime")
    hidden = model_of(BertForSequenceClassification, output_hidden_states=True)
    with pytest.raises(FastError, match="main fields only; the config asks for hidden_states"):
        optimize(hidden, backend="onnxruntime")
    fast_model = optimize(model, backend="onnxruntime")
    inputs = padded(model.config, 2, 9, 1)
    with pytest.raises(TypeError, match=r"^backend='onnxruntime' runs input_ids, .* only; got labels "):
        fast_model(**inputs, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="input_ids"):  # the model's own input rules: an id outside V
        fast_model(input_ids=torch.full((1, 4), model.config.vocab_size))
    # onnxruntime not installed: named, with the extra to install; auto falls back to inductor
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setitem(sys.modules, "onnxruntime.transformers.optimizer", None)
    assert not fast_backends.onnxruntime_available()
    with pytest.raises(
        FastError, match=r"needs onnxruntime, which is not installed: pip install bert-zoo\[export\]"
    ):
        optimize(model, backend="onnxruntime")
    assert fast.resolve_backend("auto") == "inductor"


def test_the_fast_pipeline_gives_the_eager_pipelines_answers(minilm):
    from bert_pt import pipeline as eager_pipeline

    texts = ["A man is eating food.", "Someone is riding a white horse on an enclosed ground.", "Hi"]
    pipe = fast.pipeline("feature-extraction", model=str(minilm), batch_size=2)
    expected = eager_pipeline("feature-extraction", model=str(minilm), batch_size=2)
    assert pipe.runner.__module__ == "bert_zoo.fast"  # the fast path runs the model, not run_numpy
    got = pipe(texts, pooling="mean", normalize=True, return_tensors=True)
    want = expected(texts, pooling="mean", normalize=True, return_tensors=True)
    assert len(got) == len(want) == 3
    for a, b in zip(got, want):
        assert max_abs_diff(a, b) <= ATOL
