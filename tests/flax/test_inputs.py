"""Bad input gets a clear error naming the argument and the value, before JAX would silently turn an
out-of-range id into NaN embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from bert_flax import FlaxBertForMultipleChoice, FlaxBertForQuestionAnswering, FlaxBertModel
from tests.flax.utils import tiny


@pytest.fixture(scope="module")
def model():
    return FlaxBertModel(tiny(), _do_init=False)


IDS = np.array([[5, 6, 7], [8, 9, 10]], np.int32)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(input_ids=np.array([[5, 99]])), ValueError, r"input_ids holds 99, outside \[0, 99\)"),
        (dict(input_ids=np.array([[5, -1]])), ValueError, "input_ids holds -1"),
        (
            dict(input_ids=IDS.astype(np.float32)),
            TypeError,
            "input_ids must hold integer ids, got dtype float32",
        ),
        (dict(input_ids=IDS[0]), ValueError, r"input_ids must have shape \[batch, seq_len\]"),
        (dict(input_ids="hello"), TypeError, "input_ids must be an array"),
        (
            dict(input_ids=IDS, attention_mask=np.ones((2, 4))),
            ValueError,
            r"attention_mask must have shape \(2, 3\)",
        ),
        (dict(input_ids=IDS, attention_mask=np.full((2, 3), 2)), ValueError, "only 0 .masked. and 1"),
        (dict(input_ids=IDS, token_type_ids=np.full((2, 3), 2)), ValueError, "token_type_ids holds 2"),
        (
            dict(input_ids=IDS, token_type_ids=np.zeros((2, 2), int)),
            ValueError,
            "token_type_ids must have shape",
        ),
        (dict(input_ids=IDS, position_ids=np.array([[0, 1, 64]])), ValueError, "position_ids holds 64"),
        (dict(input_ids=IDS, head_mask=np.ones(3)), ValueError, r"head_mask must have shape \[num_heads\]"),
        (dict(input_ids=np.ones((1, 65), np.int32)), ValueError, "longer than max_position_embeddings=64"),
        (dict(), ValueError, "exactly one of input_ids and inputs_embeds"),
        (dict(input_ids=IDS, inputs_embeds=np.zeros((2, 3, 32))), ValueError, "exactly one"),
        (dict(inputs_embeds=np.zeros((2, 3, 31), np.float32)), ValueError, "hidden_size=32"),
        (
            dict(input_ids=IDS, encoder_hidden_states=np.zeros((2, 4, 32), np.float32)),
            ValueError,
            "add_cross_attention=False",
        ),
        (dict(input_ids=IDS, past_key_values={}), ValueError, "is_decoder=False"),
        (
            dict(input_ids=IDS, labels=np.array([0, 1])),
            TypeError,
            "FlaxBertModel got labels, but it accepts no labels",
        ),
        (dict(input_ids=IDS, train="yes"), TypeError, "train must be a bool"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(model, kwargs, error, match):
    params = {}  # never reached: validation comes first
    with pytest.raises(error, match=match):
        model(**kwargs, params=params)


def test_labels_are_checked_per_head():
    qa = FlaxBertForQuestionAnswering(tiny(), _do_init=False)
    with pytest.raises(TypeError, match="accepts start_positions, end_positions"):
        qa(IDS, labels=np.array([0, 1]), params={})
    mc = FlaxBertForMultipleChoice(tiny(), _do_init=False)
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, choices, seq_len\]"):
        mc(IDS, params={})
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\)"):
        mc(np.stack([IDS] * 3, axis=1), labels=np.array([0, 3]), params={})
