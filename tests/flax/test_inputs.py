"""Bad inputs get a clear error naming the argument and the value, before JAX would silently turn an
out-of-range id into NaN embeddings: every case of the shared table (tests/common/input_cases.py), then
the Flax-only ones (non-array arguments, the cache, labels, train, checks under jit)."""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest

from bert_flax import FlaxBertForMultipleChoice, FlaxBertForQuestionAnswering, FlaxBertModel
from tests.common.head_spec import batch, tiny
from tests.common.input_cases import INPUT_CASES
from tests.flax.utils import to_jax

PARAMS: dict = {}  # never reached: validation comes first


@pytest.fixture(scope="module")
def model():
    return FlaxBertModel(tiny(), _do_init=False)


@pytest.mark.parametrize("case", INPUT_CASES, ids=[c.name for c in INPUT_CASES])
@pytest.mark.parametrize("arrays", ["jax", "numpy"])
def test_shared_input_case(model, case, arrays):
    """The same exception type and first line as in every twin, for jax and numpy arrays."""
    inputs = case.change(batch(model.config))
    if arrays == "jax":
        inputs = to_jax(inputs)
    with pytest.raises(case.error) as error:
        model(**inputs, params=PARAMS)
    assert re.search(case.match, str(error.value).splitlines()[0]), str(error.value)


IDS = np.array([[5, 6, 7], [8, 9, 10]], np.int32)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(input_ids="hello"), TypeError, "input_ids must be an array"),
        (dict(input_ids=IDS, past_key_values={}), ValueError, "is_decoder=False"),
        (
            dict(input_ids=IDS, labels=np.array([0, 1])),
            TypeError,
            r"BertModel takes the label argument\(s\) \[\], not 'labels'",
        ),
        (dict(input_ids=IDS, train="yes"), TypeError, "train must be a bool"),
    ],
)
def test_flax_only_bad_arguments(model, kwargs, error, match):
    with pytest.raises(error, match=match):
        model(**kwargs, params=PARAMS)


def test_per_query_masks_pass_the_rule(model):
    """[B, T, K] masks are accepted (checked as shapes and 0/1 values like [B, K] ones)."""
    full = FlaxBertModel(tiny(), seed=0)
    out = full(IDS, np.ones((2, 3, 3), np.int32))
    assert out.last_hidden_state.shape == (2, 3, 32)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 3, 4\), expected"):
        model(IDS, np.ones((2, 3, 4), np.int32), params=PARAMS)


def test_labels_are_checked_per_head():
    qa = FlaxBertForQuestionAnswering(tiny(), _do_init=False)
    with pytest.raises(
        TypeError, match=r"takes the label argument\(s\) \['start_positions', 'end_positions'\]"
    ):
        qa(IDS, labels=np.array([0, 1]), params=PARAMS)
    mc = FlaxBertForMultipleChoice(tiny(), _do_init=False)
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, choices, sequence\]"):
        mc(IDS, params=PARAMS)
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\)"):
        mc(np.stack([IDS] * 3, axis=1), labels=np.array([0, 3]), params=PARAMS)


def test_under_jit_shapes_are_checked_and_values_cannot_be(model):
    """Tracers carry shapes and dtypes, not values: the shape rules still run inside jax.jit."""
    full = FlaxBertModel(tiny(), seed=0)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 2\)"):
        jax.jit(lambda ids, mask: full(ids, mask).last_hidden_state)(IDS, np.ones((2, 2), np.int32))
    out = jax.jit(lambda ids, mask: full(ids, mask).last_hidden_state)(IDS, np.full((2, 3), 1, np.int32))
    assert out.shape == (2, 3, 32)
