"""Padding-free execution (bert_common.packing) against the padded path, every head, PyTorch and Flax:
tiny config, one batch with a right-padded row, a left-padded row and a row with a hole.

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
    set_padding_free(model, True)
    free = run()
    _compare(name, padded, free)


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
    with pytest.raises(TypeError, match="padding_free must be a bool"):
        model(ids, attention_mask=mask, padding_free=1)
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
