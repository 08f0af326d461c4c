"""Pipelines at volume: sorted batches, length buckets, answers in input order, compiles counted.

The expected values are worked out by hand in each test (bucket lists, plans, compile counts); the
batched answers are compared with each twin's own unbatched, unpadded forward pass (`run_numpy` on one
feature), at the 1e-5 of the tiny-config numerics contract (docs/numerics.md).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bert_common import BertTokenizerFast
from bert_common.batching import (
    collate,
    in_input_order,
    length_buckets,
    padded_shape,
    plan_batches,
    run_batches,
    use_padding_free,
)
from conversion.checkpoint import save_pretrained
from tests.pipelines.conftest import VOCAB, WORDS, random_weights, tiny_config

TWINS = ["pt", "tf", "flax"]


def twin(name):
    return importlib.import_module(f"bert_{name}")


def pipelines_module(name):
    return importlib.import_module(f"bert_{name}.pipelines")


def sentence(words: int) -> str:
    """`words` one-token words: words + 2 tokens with [CLS] and [SEP]."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


# ---- the framework-free rules


def test_length_buckets_are_powers_of_two_and_one_and_a_half_times_them():
    assert length_buckets(512) == (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
    assert length_buckets(64) == (16, 24, 32, 48, 64)
    assert length_buckets(40) == (16, 24, 32, 40)  # the model's limit closes the list
    assert length_buckets(10) == (10,)
    with pytest.raises(ValueError, match="max_length and smallest must be >= 1"):
        length_buckets(0)


def test_padded_shape():
    # no static shapes: the batch as it is
    assert padded_shape(3, 13, 32, 512, static_shapes=False) == (3, 13)
    # static: 13 tokens -> bucket 16; 17 -> 24; 3 rows of a one-batch call -> 4 (a power of two)
    assert padded_shape(3, 13, 32, 512, static_shapes=True, total=3) == (4, 16)
    assert padded_shape(3, 17, 32, 512, static_shapes=True, total=3) == (4, 24)
    assert padded_shape(32, 13, 32, 512, static_shapes=True, total=3) == (32, 16)
    # a partial batch of a call with several batches takes the full batches' rows
    assert padded_shape(5, 13, 32, 512, static_shapes=True, total=100) == (32, 16)
    # the limit is a bucket; beyond it the length is left as it is (the pipeline refuses it earlier)
    assert padded_shape(1, 60, 8, 64, static_shapes=True, total=1) == (1, 64)
    assert padded_shape(1, 70, 8, 64, static_shapes=True, total=1) == (1, 70)


def test_plan_sorts_by_length_and_keeps_input_order_among_equals():
    assert plan_batches([5, 3, 5, 1, 9], 2) == [[3, 1], [0, 2], [4]]
    assert plan_batches([4, 4, 4], 8) == [[0, 1, 2]]
    assert plan_batches([], 4) == []


def test_collate_pads_to_the_asked_shape():
    features = [{"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 1]}, {"input_ids": [2, 3]}]
    arrays = collate(features, pad_token_id=0, length=5, rows=3)
    np.testing.assert_array_equal(arrays["input_ids"], [[2, 7, 3, 0, 0], [2, 3, 0, 0, 0], [0] * 5])
    np.testing.assert_array_equal(arrays["attention_mask"], [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [0] * 5])
    np.testing.assert_array_equal(arrays["token_type_ids"], [[0, 0, 1, 0, 0], [0] * 5, [0] * 5])
    assert all(a.dtype == np.int64 for a in arrays.values())
    with pytest.raises(ValueError, match=r"cannot pad 2 features of up to 3 tokens to \[2, 2\]"):
        collate(features, pad_token_id=0, length=2)


def test_answers_come_in_input_order_as_soon_as_their_prefix_is_complete():
    # inputs 0 and 2 have one feature each, input 1 two (features 1 and 2); input 3 one (feature 4)
    batches = [([4], ["e"]), ([0, 2], ["a", "c"]), ([1], ["b"]), ([3], ["d"])]
    seen = []

    def source():
        for batch in batches:
            seen.append(batch[0])
            yield batch

    out = in_input_order([1, 2, 1, 1], source())
    assert next(out) == (0, ["a"]) and len(seen) == 2  # input 0 as soon as its batch came
    assert next(out) == (1, ["b", "c"]) and len(seen) == 3
    assert list(out) == [(2, ["d"]), (3, ["e"])]
    with pytest.raises(RuntimeError, match="input 1 of 2 got no model output"):
        list(in_input_order([1, 1], iter([([0], ["a"])])))


def test_padding_free_only_where_every_read_position_is_attended_and_padding_is_worth_skipping():
    ragged = collate([{"input_ids": [5] * 8}, {"input_ids": [5] * 2}], pad_token_id=0)  # 6 of 16 padded
    assert use_padding_free([{"input_ids": [5] * 8}, {"input_ids": [5] * 2}], ragged["attention_mask"])
    # a feature that holds its own padding (padding="max_length"): the pipeline reads those positions
    padded_feature = {"input_ids": [5, 5, 0, 0], "attention_mask": [1, 1, 0, 0]}
    batch = collate([padded_feature, {"input_ids": [5]}], pad_token_id=0)
    assert not use_padding_free([padded_feature, {"input_ids": [5]}], batch["attention_mask"])
    # 1 padded position of 32 (3%) is below MIN_PADDING_FRACTION (5%)
    near = [{"input_ids": [5] * 16}, {"input_ids": [5] * 15}]
    assert not use_padding_free(near, collate(near, pad_token_id=0)["attention_mask"])


def test_run_batches_sends_only_the_picked_batches_to_the_padding_free_runner():
    calls = []

    def runner(kind):
        def run(arrays):
            calls.append((kind, arrays["attention_mask"].shape))
            return {"logits": np.zeros((arrays["input_ids"].shape[0], 2), np.float32)}

        return run

    features = [{"input_ids": [5] * n} for n in (2, 8, 9, 9)]  # batches [2, 8] (37% padding), [9, 9] (none)
    common = {"batch_size": 2, "pad_token_id": 0, "max_length": 16, "static_shapes": False}
    list(
        run_batches(
            features, runner("padded"), fields=["logits"], padding_free_runner=runner("free"), **common
        )
    )
    assert calls == [("free", (2, 8)), ("padded", (2, 9))]
    calls.clear()
    list(run_batches(features, runner("padded"), fields=["logits"], **common))  # no padding-free runner
    assert calls == [("padded", (2, 8)), ("padded", (2, 9))]


# ---- each twin: batched and padded answers equal the unbatched forward pass


@pytest.fixture(scope="module")
def texts():
    """14 texts of 1 to 40 words (3 to 42 tokens), in an order that is not sorted."""
    return [sentence(n) for n in (7, 1, 40, 3, 12, 25, 2, 18, 9, 33, 5, 14, 29, 21)]


@pytest.mark.parametrize("name", TWINS)
def test_batched_features_equal_the_unbatched_forward_pass(task_models, texts, name):
    pipe = twin(name).pipeline("feature-extraction", model=task_models["feature-extraction"], batch_size=4)
    batched = pipe(texts, return_tensors=True)  # [1, T, H] each, from sorted, padded batches
    module = pipelines_module(name)
    for text, answer in zip(texts, batched):
        encoding = pipe.tokenizer(text)
        alone = {k: np.asarray([encoding[k]], dtype=np.int64) for k in ("input_ids", "attention_mask")}
        want = module.run_numpy(pipe.model, alone)["last_hidden_state"]  # [1, T, H], no padding
        assert answer.shape == want.shape
        assert float(np.max(np.abs(answer - want))) <= 1e-5, text
    streamed = list(pipe.answers(iter(texts), window=6, batch_size=3, return_tensors=True))
    for a, b in zip(batched, streamed):
        assert float(np.max(np.abs(a - b))) <= 1e-5


def test_pytorch_pipeline_runs_ragged_batches_padding_free_but_never_a_feature_with_its_own_padding(
    task_models, texts
):
    """The PyTorch pipelines pick the padding-free path per batch (bert_common.batching.use_padding_free);
    the answers equal the padded path within 1e-5 (and the unbatched pass: the test above). With
    padding="max_length" every feature holds padding the answer reads, so nothing runs padding-free."""
    pipe = twin("pt").pipeline("feature-extraction", model=task_models["feature-extraction"], batch_size=4)
    used = []
    padding_free_runner = pipe.padding_free_runner
    pipe.padding_free_runner = lambda arrays: (
        used.append(arrays["input_ids"].shape) or padding_free_runner(arrays)
    )
    free = pipe(texts, return_tensors=True)
    assert len(used) >= 2  # of the 4 sorted batches of 3..42 tokens, those with > 10% padding
    pipe.padding_free_runner = None
    padded = pipe(texts, return_tensors=True)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(free, padded)) <= 1e-5
    pipe.padding_free_runner = lambda arrays: used.append("max_length") or padding_free_runner(arrays)
    pipe(texts, return_tensors=True, tokenize_kwargs={"padding": "max_length", "max_length": 48})
    assert "max_length" not in used


@pytest.mark.parametrize("name", TWINS)
def test_sequence_logits_are_not_cut_to_the_input_length(tmp_path, name):
    """10 labels for a 4-token input: every label gets a score (the padded batch's rows were once cut
    to the input's length, [Y][:T], leaving 4 of the 10 labels)."""
    labels = [f"label_{i}" for i in range(10)]
    config = tiny_config(labels)
    head = "BertForSequenceClassification"
    save_pretrained(tmp_path, config, random_weights(config, head, 5), architecture=head)
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), model_max_length=64).save_pretrained(tmp_path)
    pipe = twin(name).pipeline("text-classification", model=str(tmp_path), batch_size=2)
    answers = pipe(["the cat", "the big dog eats food", "paris"], top_k=None)
    assert [len(a) for a in answers] == [10, 10, 10]
    assert all(sorted(s["label"] for s in a) == sorted(labels) for a in answers)
    assert all(abs(sum(s["score"] for s in a) - 1.0) <= 1e-5 for a in answers)


# ---- compiles counted


def lengths_5_to_42():
    """38 texts of 3..40 words: 5..42 tokens, one of each length, shuffled."""
    order = np.random.default_rng(0).permutation(np.arange(3, 41))
    return [sentence(int(n)) for n in order]


def test_flax_compiles_once_per_length_bucket(task_models):
    """Sorted into batches of 4: lengths 5-16 -> bucket 16 (3 batches), 17-24 -> 24, 25-32 -> 32,
    33-42 -> 48 (the last batch of 2 is padded to 4 rows): 4 shapes for 38 lengths, where a compile per
    batch shape would be 10 (and one per length 38)."""
    pipe = twin("flax").pipeline("feature-extraction", model=task_models["feature-extraction"], batch_size=4)
    texts = lengths_5_to_42()
    first = pipe(texts, pooling="mean")
    assert pipe.runner.compiles == 4
    again = list(pipe.answers(texts[::-1], pooling="mean", batch_size=4))  # the same buckets: no compile
    assert pipe.runner.compiles == 4
    assert max(float(np.max(np.abs(np.subtract(a, b)))) for a, b in zip(first, again[::-1])) <= 1e-5


def test_keras_traces_its_compiled_forward_once(task_models):
    """One `tf.function` with an open [B, T] signature: a trace for the first batch, none after, for
    38 lengths, two batch sizes and a single text."""
    pipe = twin("tf").pipeline("feature-extraction", model=task_models["feature-extraction"], batch_size=4)
    texts = lengths_5_to_42()
    eager = [
        pipelines_module("tf").run_numpy(
            pipe.model, {"input_ids": np.asarray([pipe.tokenizer(t)["input_ids"]])}
        )
        for t in texts[:3]
    ]
    compiled = pipe(texts, return_tensors=True)
    pipe(texts[:5], batch_size=3)
    pipe("the cat sat")
    assert pipe.runner.traces == 1
    for want, got in zip(eager, compiled):
        assert float(np.max(np.abs(want["last_hidden_state"] - got))) <= 1e-5
