"""Padding-free execution (bert_common.packing) against the padded path, every head, in the three twins:
tiny config, one batch with a right-padded row, a left-padded row and a row with a hole; and the one
switch, `padding_free`, with the same name and meaning in every twin (constructor, from_pretrained, the
`padding_free` property, a per-call override; never written to config.json).

The expected values are the padded path's own outputs (the padded path is checked against Transformers
by the golden references and across twins by test_grid.py). The contract (docs/numerics.md): 1e-5 at
attended positions, in pooler_output and in every per-sequence score; zeros in the hidden states at the
positions not computed (padding, except position 0); per-token scores there are the head's scores of a
zero hidden state.
"""

from __future__ import annotations

import numpy as np
import pytest

from bert_common.heads import HEADS
from tests.common.head_spec import head_config
from tests.helpers import ATOL

B, T = 3, 9
MASK = np.ones((B, T), np.int32)
MASK[0, 6:] = 0  # right padding
MASK[1, :3] = 0  # left padding: position 0 is padding, kept for the pooler
MASK[2, 3:5] = 0  # a hole
ATTENDED = MASK.astype(bool)
DROPPED = ~ATTENDED
DROPPED[:, 0] = False  # position 0 is always computed
HEAD_NAMES = sorted(HEADS)
TOKEN_SCORES = {"logits", "prediction_logits", "start_logits", "end_logits"}


def _inputs(config, name):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, config.vocab_size, (B, T)).astype(np.int32)
    types = np.zeros((B, T), np.int32)
    types[:, 5:] = 1
    arrays = {"input_ids": ids, "attention_mask": MASK, "token_type_ids": types}
    if name == "BertForMultipleChoice":
        arrays = {k: v.reshape(1, B, T) for k, v in arrays.items()}
    return arrays


def _compare(name, padded, free):
    """Every output field of `padded` vs `free` (dicts of numpy arrays / tuples) under the contract."""
    checked = 0
    for field, want in padded.items():
        got = free[field]
        if field == "hidden_states":
            for w, g in zip(want, got):
                np.testing.assert_allclose(g[ATTENDED], w[ATTENDED], atol=ATOL, rtol=0)
                assert not np.any(g[DROPPED]), f"{name}: hidden state not zero where padding was skipped"
        elif field == "attentions":  # [B, N, T, K]: rows of the attended queries
            for w, g in zip(want, got):
                rows = np.transpose(w, (0, 2, 1, 3))[ATTENDED]
                np.testing.assert_allclose(np.transpose(g, (0, 2, 1, 3))[ATTENDED], rows, atol=ATOL, rtol=0)
        elif want.ndim >= 2 and want.shape[:2] == (B, T):  # per token
            np.testing.assert_allclose(got[ATTENDED], want[ATTENDED], atol=ATOL, rtol=0)
            if field == "last_hidden_state":
                assert not np.any(got[DROPPED])
            if field in TOKEN_SCORES:
                # the scores of a zero hidden state: the same at every skipped position
                skipped = got[DROPPED]
                np.testing.assert_allclose(skipped, np.broadcast_to(skipped[:1], skipped.shape), atol=ATOL)
        else:  # pooler_output, per-sequence scores, loss
            np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_pytorch_padding_free_equals_padded(name):
    import torch

    from bert_pt.modeling import set_padding_free
    from bert_pt.registry import model_class

    config = head_config(name)
    torch.manual_seed(0)
    model = model_class(name)(config).eval()
    arrays = {k: torch.from_numpy(v.astype(np.int64)) for k, v in _inputs(config, name).items()}
    kwargs = dict(arrays, output_hidden_states=True, output_attentions=True)

    def run():
        with torch.no_grad():
            out = model(**kwargs)
        return {
            k: (tuple(t.numpy() for t in v) if isinstance(v, tuple) else v.numpy())
            for k, v in out.items()
            if k != "past_key_values"
        }

    padded = run()
    model.padding_free = True
    assert model.base_model.padding_free is True  # a head's switch is its BertModel's
    free = run()
    _compare(name, padded, free)
    set_padding_free(model, False)  # any module holding BertModels
    assert model.padding_free is False


def test_pytorch_padding_free_call_argument_and_errors():
    import torch

    from bert_pt import BertModel
    from bert_pt.modeling import set_padding_free

    config = head_config("BertModel")
    torch.manual_seed(0)
    model = BertModel(config).eval()
    ids = torch.from_numpy(_inputs(config, "BertModel")["input_ids"].astype(np.int64))
    mask = torch.from_numpy(MASK)
    with torch.no_grad():
        padded = model(ids, attention_mask=mask).last_hidden_state
        free = model(ids, attention_mask=mask, padding_free=True).last_hidden_state
        assert model.padding_free is False  # the call argument does not change the default
        unmasked = model(ids, padding_free=True).last_hidden_state  # nothing to skip: the padded path
    np.testing.assert_allclose(free[ATTENDED].numpy(), padded[ATTENDED].numpy(), atol=ATOL, rtol=0)
    assert torch.equal(unmasked, model(ids).last_hidden_state)
    with pytest.raises(ValueError, match="padding_free needs a 2-D attention_mask"):
        model(ids, attention_mask=torch.ones(B, T, T), padding_free=True)
    with pytest.raises(TypeError, match="padding_free must be a bool or None, got 1"):
        model(ids, attention_mask=mask, padding_free=1)
    with pytest.raises(TypeError, match="padding_free must be a bool, got 'yes'"):
        model.padding_free = "yes"
    with pytest.raises(TypeError, match="padding_free must be a bool, got 1"):
        BertModel(config, padding_free=1)
    with pytest.raises(ValueError, match="holds no BertModel"):
        set_padding_free(torch.nn.Linear(2, 2), True)


def _flax_numpy(out):
    return {
        k: (tuple(np.asarray(t) for t in v) if isinstance(v, tuple) else np.asarray(v))
        for k, v in out.items()
        if k != "past_key_values"
    }


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_flax_padding_free_equals_padded(name):
    """The module applied eagerly: the bucket is chosen in Python (M = 24 of the 27 positions here, so
    three filler slots are computed and discarded)."""
    from bert_flax.registry import model_class

    config = head_config(name)
    cls = model_class(name)
    padded_model = cls(config)
    free_model = cls(config, padding_free=True, _do_init=False)
    variables = {"params": padded_model.params}
    kwargs = dict(_inputs(config, name), output_hidden_states=True, output_attentions=True)
    padded = _flax_numpy(padded_model.module.apply(variables, **kwargs))
    free = _flax_numpy(free_model.module.apply(variables, **kwargs))
    _compare(name, padded, free)


def test_flax_padding_free_under_jit_switches_to_the_right_bucket():
    """Through the wrapper (jax.jit): the bucket is picked by lax.switch from the traced mask; a second
    mask with fewer tokens takes another bucket without a new compile."""
    from bert_flax import FlaxBertModel

    config = head_config("BertModel")
    model = FlaxBertModel(config)
    free = FlaxBertModel(config, padding_free=True, _do_init=False)
    arrays = _inputs(config, "BertModel")
    sparse = MASK.copy()
    sparse[:, 4:] = 0
    for mask in (MASK, sparse):
        want = model(arrays["input_ids"], mask, output_hidden_states=True)
        got = free(arrays["input_ids"], mask, params=model.params, output_hidden_states=True)
        attended = mask.astype(bool)
        np.testing.assert_allclose(
            np.asarray(got.last_hidden_state)[attended],
            np.asarray(want.last_hidden_state)[attended],
            atol=ATOL,
        )
        np.testing.assert_allclose(np.asarray(got.pooler_output), np.asarray(want.pooler_output), atol=ATOL)
    assert free._jit_forward._cache_size() == 1
    with pytest.raises(ValueError, match="padding_free needs a 2-D attention_mask"):
        free(arrays["input_ids"], np.ones((B, T, T), np.int32), params=model.params)


def _keras_numpy(out):
    return {
        k: (tuple(np.asarray(t) for t in v) if isinstance(v, tuple) else np.asarray(v))
        for k, v in out.items()
        if k != "past_key_values"
    }


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_keras_padding_free_equals_padded(name):
    """Eager Keras: M is exact (the 23 kept tokens of the 27 positions)."""
    from bert_tf.registry import model_class

    config = head_config(name)
    model = model_class(name)(config)
    kwargs = dict(_inputs(config, name), output_hidden_states=True, output_attentions=True)
    padded = _keras_numpy(model(**kwargs))
    free = _keras_numpy(model(**kwargs, padding_free=True))  # the per-call override
    _compare(name, padded, free)
    model.padding_free = True  # the model's setting
    _compare(name, padded, _keras_numpy(model(**kwargs)))
    assert model.bert.padding_free is True


def test_keras_pack_order_is_bert_common_rule():
    """bert_tf.masks.pack_order (TensorFlow ops, dynamic shapes) gives bert_common.packing's order."""
    import tensorflow as tf

    from bert_common import packing
    from bert_tf import masks

    for mask in (MASK, np.array([[1, 1, 1, 0], [0, 0, 1, 1], [1, 0, 1, 1]], np.int32)):
        order, count, kept = masks.pack_order(tf.constant(mask))
        want_order, want_count = packing.pack_order(mask)
        np.testing.assert_array_equal(order.numpy(), want_order)
        assert int(count) == int(want_count)
        np.testing.assert_array_equal(kept.numpy(), packing.kept_positions(mask))


def test_keras_padding_free_compiles_buckets_under_xla():
    """Under XLA (jit_compile) M is a static bucket, picked by tf.switch_case from the traced mask: a
    sparser mask (12 kept tokens: bucket 16 instead of 24 of B * T = 27) runs without a new trace.
    Through predict the batch axis is not static: the bucket sizes are folded by the XLA compile."""
    import tensorflow as tf

    from bert_common import packing
    from bert_tf import TFBertForSequenceClassification, TFBertModel

    config = head_config("BertModel")
    model = TFBertModel(config, padding_free=True)
    arrays = _inputs(config, "BertModel")
    sparse = MASK.copy()
    sparse[:, 4:] = 0
    assert packing.bucket_for(int(packing.kept_positions(sparse).sum()), B * T) == 16
    assert packing.bucket_for(int(packing.kept_positions(MASK).sum()), B * T) == 24
    forward = tf.function(
        lambda ids, mask: model(ids, attention_mask=mask).last_hidden_state, jit_compile=True
    )
    for mask in (MASK, sparse):
        want = model(arrays["input_ids"], attention_mask=mask, padding_free=False).last_hidden_state.numpy()
        got = forward(tf.constant(arrays["input_ids"]), tf.constant(mask)).numpy()
        attended = mask.astype(bool)
        np.testing.assert_allclose(got[attended], want[attended], atol=ATOL, rtol=0)
        assert not np.any(got[~attended & (np.arange(T) > 0)])
    assert forward.experimental_get_tracing_count() == 1

    classifier = TFBertForSequenceClassification(head_config("BertForSequenceClassification"))
    inputs = {"input_ids": arrays["input_ids"], "attention_mask": MASK}
    want = classifier(**inputs).logits.numpy()
    classifier.padding_free = True
    classifier.compile(jit_compile=True)
    got = classifier.predict(inputs, batch_size=B, verbose=0)["logits"]
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


def test_keras_padding_free_errors():
    from bert_tf import TFBertModel

    config = head_config("BertModel")
    model = TFBertModel(config)
    ids = _inputs(config, "BertModel")["input_ids"]
    with pytest.raises(ValueError, match="padding_free needs a 2-D attention_mask"):
        model(ids, attention_mask=np.ones((B, T, T), np.int32), padding_free=True)
    with pytest.raises(TypeError, match="padding_free must be a bool or None, got 1"):
        model(ids, attention_mask=MASK, padding_free=1)
    with pytest.raises(TypeError, match="padding_free must be a bool, got 1"):
        TFBertModel(config, padding_free=1)
    unmasked = model(ids, padding_free=True).last_hidden_state.numpy()  # nothing to skip: padded path
    np.testing.assert_array_equal(unmasked, model(ids).last_hidden_state.numpy())


def _assert_switch(model, run, config_path):
    """`model` was loaded with padding_free=True: it runs padding-free (zeros where padding was skipped),
    the call's padding_free=False runs the padded path, and config.json never names the switch."""
    import json

    assert model.padding_free is True
    free, padded = np.asarray(run(None)), np.asarray(run(False))
    np.testing.assert_allclose(free[ATTENDED], padded[ATTENDED], atol=ATOL, rtol=0)
    assert not np.any(free[DROPPED]) and np.all(np.abs(padded[DROPPED]).sum(-1) > 0)
    assert "padding_free" not in json.loads(config_path.read_text())


def test_one_switch_round_trip_in_every_twin(tmp_path):
    """from_pretrained(padding_free=True) in PyTorch, Keras and Flax, then the per-call override; the
    saved config.json does not hold the switch (it is how the model runs, not what it is)."""
    import torch

    from bert_flax import FlaxBertForTokenClassification
    from bert_pt import BertForTokenClassification
    from bert_tf import TFBertForTokenClassification

    config = head_config("BertForTokenClassification")
    arrays = _inputs(config, "BertForTokenClassification")
    pt_model = BertForTokenClassification(config, padding_free=True)
    assert pt_model.padding_free is True
    pt_model.save_pretrained(tmp_path)
    config_path = tmp_path / "config.json"
    assert "padding_free" not in config_path.read_text()

    pt_model = BertForTokenClassification.from_pretrained(tmp_path, padding_free=True)
    tensors = {k: torch.from_numpy(v.astype(np.int64)) for k, v in arrays.items()}

    def pt_run(flag):
        with torch.no_grad():
            return pt_model(**tensors, padding_free=flag, output_hidden_states=True).hidden_states[-1].numpy()

    _assert_switch(pt_model, pt_run, config_path)

    tf_model = TFBertForTokenClassification.from_pretrained(tmp_path, padding_free=True)
    _assert_switch(
        tf_model,
        lambda flag: tf_model(**arrays, padding_free=flag, output_hidden_states=True).hidden_states[-1],
        config_path,
    )
    tf_model.save_pretrained(tmp_path / "tf")
    assert "padding_free" not in (tmp_path / "tf" / "config.json").read_text()

    flax_model = FlaxBertForTokenClassification.from_pretrained(tmp_path, padding_free=True)
    _assert_switch(
        flax_model,
        lambda flag: flax_model(**arrays, padding_free=flag, output_hidden_states=True).hidden_states[-1],
        config_path,
    )
    flax_model.save_pretrained(tmp_path / "flax")
    assert "padding_free" not in (tmp_path / "flax" / "config.json").read_text()
    flax_model.padding_free = False  # the property rebuilds the module: the padded path by default
    np.testing.assert_array_equal(
        np.asarray(flax_model(**arrays, output_hidden_states=True).hidden_states[-1]),
        np.asarray(flax_model(**arrays, padding_free=False, output_hidden_states=True).hidden_states[-1]),
    )
    with pytest.raises(TypeError, match="padding_free must be a bool, got 0"):
        FlaxBertForTokenClassification(config, padding_free=0)
    with pytest.raises(TypeError, match="padding_free must be a bool or None"):
        flax_model(**arrays, padding_free="no")
