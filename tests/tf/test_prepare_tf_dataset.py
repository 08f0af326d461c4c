"""`prepare_tf_dataset` (Transformers' TF API): a `datasets.Dataset` becomes batches of (features, labels)
for `fit`, with the columns the model takes, `label` renamed to the head's `labels`, and padding by the
tokenizer's `pad`. Expected batches are written out by hand."""

from __future__ import annotations

import sys

import datasets
import keras
import numpy as np
import pytest

from bert_tf import TFBertForQuestionAnswering, TFBertForSequenceClassification, TFBertModel
from tests.common.head_spec import tiny
from tests.common.tokenizer_helpers import cased

ROWS = {
    "input_ids": [[2, 5, 6, 3], [2, 7, 3], [2, 8, 9, 10, 3], [2, 4, 3]],
    "token_type_ids": [[0, 0, 0, 0], [0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0]],
    "label": [0, 1, 2, 1],
    "text": ["a b", "c", "d e f", "g"],  # the model does not take these two: dropped
    "idx": [0, 1, 2, 3],
}


def _batches(tf_dataset):
    return [({k: v.numpy().tolist() for k, v in x.items()}, y.numpy().tolist()) for x, y in tf_dataset]


def test_batches_are_padded_by_the_tokenizer_and_labelled():
    model = TFBertForSequenceClassification(tiny(num_labels=3))
    tokenizer = cased("fast")
    assert tokenizer.pad_token_id == 0
    dataset = datasets.Dataset.from_dict(ROWS)
    batches = _batches(model.prepare_tf_dataset(dataset, batch_size=3, shuffle=False, tokenizer=tokenizer))
    # shuffle=False keeps the order and (drop_remainder defaults to shuffle) the last, smaller batch
    assert batches == [
        (
            {
                "input_ids": [[2, 5, 6, 3, 0], [2, 7, 3, 0, 0], [2, 8, 9, 10, 3]],
                "token_type_ids": [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1]],
                "attention_mask": [[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]],
            },
            [0, 1, 2],
        ),
        ({"input_ids": [[2, 4, 3]], "token_type_ids": [[0, 0, 0]], "attention_mask": [[1, 1, 1]]}, [1]),
    ]
    shuffled = model.prepare_tf_dataset(dataset, batch_size=3, tokenizer=tokenizer)
    assert len(list(shuffled)) == 1  # shuffle=True drops the remainder by default
    assert (
        len(list(model.prepare_tf_dataset(dataset, batch_size=3, drop_remainder=False, tokenizer=tokenizer)))
        == 2
    )


def test_fit_on_the_dataset_gives_the_models_own_loss():
    model = TFBertForSequenceClassification(tiny(num_labels=3))
    dataset = model.prepare_tf_dataset(
        datasets.Dataset.from_dict(ROWS), batch_size=2, shuffle=False, tokenizer=cased("fast")
    )
    # learning rate 0: the weights stay, so fit's epoch loss is the mean of the batches' own losses
    expected = np.mean([float(model(x, labels=y).loss) for x, y in dataset])
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(dataset, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, abs=1e-6)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = model.fit(dataset, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


def test_equal_lengths_stack_without_a_tokenizer_and_several_labels_come_as_a_dict():
    model = TFBertForQuestionAnswering(tiny(num_labels=2))
    dataset = datasets.Dataset.from_dict(
        {
            "input_ids": [[2, 5, 3], [2, 6, 3]],
            "start_positions": [1, 0],
            "end_positions": [1, 2],
            "id": ["x", "y"],
        }
    )
    ((x, y),) = [
        (
            {k: v.numpy().tolist() for k, v in x.items()} if isinstance(x, dict) else x.numpy().tolist(),
            {k: v.numpy().tolist() for k, v in y.items()},
        )
        for x, y in model.prepare_tf_dataset(dataset, batch_size=2, shuffle=False)
    ]
    assert x == [[2, 5, 3], [2, 6, 3]]  # one feature column: a tensor, as in Transformers
    assert y == {"start_positions": [1, 0], "end_positions": [1, 2]}


def test_a_model_without_labels_gets_features_only():
    model = TFBertModel(tiny())
    dataset = datasets.Dataset.from_dict({"input_ids": [[2, 5, 3], [2, 6, 3]], "label": [0, 1]})
    spec = model.prepare_tf_dataset(dataset, batch_size=2, shuffle=False).element_spec
    assert spec.shape.as_list() == [None, 3]  # input_ids alone; "labels" is not an argument of TFBertModel


def test_bad_inputs():
    model = TFBertForSequenceClassification(tiny(num_labels=3))
    ragged = datasets.Dataset.from_dict({"input_ids": [[2, 5, 3], [2, 3]], "label": [0, 1]})
    with pytest.raises(ValueError, match="differ in length; pass tokenizer="):
        model.prepare_tf_dataset(ragged, batch_size=2, shuffle=False)
    with pytest.raises(TypeError, match="takes a datasets.Dataset, got dict"):
        model.prepare_tf_dataset(dict(ROWS))
    with pytest.raises(ValueError, match="empty dataset"):
        model.prepare_tf_dataset(datasets.Dataset.from_dict({"input_ids": [], "label": []}))


def test_missing_datasets_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError
    model = TFBertModel(tiny())
    with pytest.raises(ImportError, match=r"pip install 'bert-zoo\[train\]'"):
        model.prepare_tf_dataset(object())
