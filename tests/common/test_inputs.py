"""The shared input rule set (bert_common.inputs) on its own: what is checked when values or sizes are
unknown, the cache and multiple-choice geometry, and label ranges. The twins run INPUT_CASES on top."""

from __future__ import annotations

import numpy as np
import pytest

from bert_common.heads import HEADS
from bert_common.inputs import TensorInfo, check_encoder_inputs, check_labels
from tests.common.head_spec import tiny


def info(array, readable: bool = True, shape=None) -> TensorInfo:
    array = np.asarray(array)
    kind = (
        "bool"
        if array.dtype == bool
        else "int"
        if np.issubdtype(array.dtype, np.integer)
        else "float"
        if np.issubdtype(array.dtype, np.floating)
        else "other"
    )
    return TensorInfo(
        tuple(array.shape) if shape is None else shape,
        kind,
        str(array.dtype),
        (lambda: array) if readable else None,
    )


def test_geometry_of_a_plain_batch_a_cache_and_multiple_choice():
    config = tiny(is_decoder=True)
    ids = np.ones((3, 5), np.int64)
    geometry = check_encoder_inputs(config, input_ids=info(ids))
    assert (geometry.batch, geometry.length, geometry.past_length, geometry.key_length) == (3, 5, 0, 5)
    cached = check_encoder_inputs(
        config, input_ids=info(ids[:, :1]), attention_mask=info(np.ones((3, 9))), past_length=8
    )
    assert (cached.length, cached.key_length) == (1, 9)
    choices = check_encoder_inputs(config, input_ids=info(np.ones((2, 4, 5), np.int32)), rank=3)
    assert choices.batch_shape == (2, 4) and choices.length == 5


def test_values_are_checked_only_when_readable():
    config = tiny()
    bad = np.full((2, 3), 500, np.int64)
    with pytest.raises(ValueError, match=r"input_ids holds 500, outside \[0, 99\)"):
        check_encoder_inputs(config, input_ids=info(bad))
    # a traced tensor: shape and dtype are still checked, values are not
    assert check_encoder_inputs(config, input_ids=info(bad, readable=False)).length == 3
    with pytest.raises(TypeError, match="input_ids must hold integer ids"):
        check_encoder_inputs(config, input_ids=info(bad.astype(np.float32), readable=False))


def test_unknown_sizes_match_anything_known_sizes_must_agree():
    config = tiny()
    ids = info(np.ones((2, 3), np.int32), readable=False, shape=(None, None))
    mask = info(np.ones((2, 3), np.int32), readable=False, shape=(None, 3))
    assert check_encoder_inputs(config, input_ids=ids, attention_mask=mask).key_length is None
    with pytest.raises(ValueError, match=r"attention_mask has shape \(\?, 4\), expected \(2, 3\)"):
        check_encoder_inputs(
            config,
            input_ids=info(np.ones((2, 3), np.int32)),
            attention_mask=info(np.ones((2, 4)), shape=(None, 4)),
        )


def test_bool_and_float_masks_pass_and_a_fixed_size_cache_sets_the_mask_length():
    config = tiny(is_decoder=True)
    ids = info(np.ones((2, 1), np.int32))
    check_encoder_inputs(
        config, input_ids=ids, attention_mask=info(np.ones((2, 16), bool)), past_length=4, mask_length=16
    )
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 5\), expected \(2, 16\)"):
        check_encoder_inputs(
            config, input_ids=ids, attention_mask=info(np.ones((2, 5))), past_length=4, mask_length=16
        )


def test_cached_decoding_accepts_the_encoder_mask_alone():
    config = tiny(is_decoder=True, add_cross_attention=True)
    ids = info(np.ones((2, 1), np.int32))
    check_encoder_inputs(
        config, input_ids=ids, encoder_attention_mask=info(np.ones((2, 6), np.int32)), past_length=3
    )
    with pytest.raises(ValueError, match="encoder_attention_mask has shape"):
        check_encoder_inputs(
            config, input_ids=ids, encoder_attention_mask=info(np.ones((5, 6), np.int32)), past_length=3
        )


@pytest.mark.parametrize(
    ("head", "labels", "message"),
    [
        (
            "BertForMaskedLM",
            {"labels": np.array([[1, -100, 99]])},
            r"labels holds 99, outside \[0, 99\) and is not -100",
        ),
        (
            "BertForPreTraining",
            {"next_sentence_label": np.array([0, 2])},
            r"next_sentence_label holds 2, outside \[0, 2\)",
        ),
        ("BertForSequenceClassification", {"labels": np.array([3])}, r"labels holds 3, outside \[0, 3\)"),
        ("BertForMultipleChoice", {"labels": np.array([4])}, r"labels holds 4, outside \[0, 4\)"),
    ],
)
def test_integer_labels_outside_their_classes_are_refused(head, labels, message):
    config = tiny(num_labels=3)
    with pytest.raises(ValueError, match=message):
        check_labels(HEADS[head], config, {k: info(v) for k, v in labels.items()}, num_choices=4)


def test_labels_that_are_not_checked_and_a_label_the_head_does_not_take():
    config = tiny(num_labels=1)
    # regression targets, clamped QA positions, and -100 everywhere pass
    check_labels(HEADS["BertForSequenceClassification"], config, {"labels": info(np.array([7]))})
    check_labels(HEADS["BertForQuestionAnswering"], config, {"start_positions": info(np.array([50]))})
    check_labels(
        HEADS["BertForTokenClassification"], tiny(num_labels=3), {"labels": info(np.full((2, 3), -100))}
    )
    with pytest.raises(TypeError, match="takes the label argument"):
        check_labels(HEADS["BertForMaskedLM"], config, {"next_sentence_label": info(np.array([0]))})


def test_nsp_accepts_transformers_tf_label_name_as_an_alias():
    head = HEADS["BertForNextSentencePrediction"]
    assert head.canonical_label("next_sentence_label") == "labels"
    assert head.canonical_label("labels") == "labels"
