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


def test_an_out_of_range_id_is_refused_before_the_wrappers_own_jit():
    """The wrapper compiles its forward pass (jax.jit) but reads numpy (and concrete jax) inputs first."""
    full = FlaxBertModel(tiny(), seed=0)
    with pytest.raises(ValueError, match=r"^input_ids holds 99, outside \[0, 99\)"):
        full(np.array([[5, 99, 7]], np.int32))


def test_inside_a_users_own_jit_values_are_unchecked_and_give_nan():
    """What remains unchecked, as docs/flax.md says: inside the user's own jax.jit the ids are tracers, and
    JAX's gather fills an out-of-range row with NaN. The outputs are NaN, never finite garbage."""
    full = FlaxBertModel(tiny(), seed=0)
    out = jax.jit(lambda ids: full(ids).last_hidden_state)(np.array([[5, 99, 7]], np.int32))
    assert np.isnan(np.asarray(out)).all()


def test_train_and_eval_steps_check_numpy_batches_before_jit():
    """Issue 13: a numpy batch went straight into the jitted step, where an id outside the vocabulary or a
    label outside num_labels is not seen (NaN or a wrong loss); host batches are now checked first."""
    from bert_flax import FlaxBertForSequenceClassification
    from bert_flax.training import adamw, create_train_state, make_eval_step, make_train_step

    model = FlaxBertForSequenceClassification(tiny(num_labels=2), seed=0)
    state = create_train_state(model, adamw(learning_rate=1e-3))
    train_step, eval_step = make_train_step(model), make_eval_step(model)
    good = {"input_ids": IDS, "attention_mask": np.ones_like(IDS), "labels": np.array([0, 1], np.int32)}
    rng = jax.random.key(0)
    with pytest.raises(ValueError, match=r"^input_ids holds 99, outside \[0, 99\)"):
        train_step(state, {**good, "input_ids": np.where(IDS == 5, 99, IDS)}, rng)
    with pytest.raises(ValueError, match=r"^labels holds 2, outside \[0, 2\)"):
        train_step(state, {**good, "labels": np.array([0, 2], np.int32)}, rng)
    with pytest.raises(ValueError, match=r"^attention_mask must hold only 0 \(masked\) and 1"):
        eval_step(state.params, {**good, "attention_mask": np.full_like(IDS, 2)})
    with pytest.raises(ValueError, match=r"FlaxBertForSequenceClassification got input\(s\) \['offsets'\]"):
        eval_step(state.params, {**good, "offsets": IDS})
    state, metrics = train_step(state, good, rng)
    assert np.isfinite(float(metrics["loss"])) and int(state.step) == 1
    assert eval_step(state.params, good).logits.shape == (2, 2)
    assert hasattr(train_step, "jitted")
