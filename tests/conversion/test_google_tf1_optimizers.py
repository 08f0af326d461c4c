"""Google TF1 checkpoints with any optimizer's state (issue 11 item 10).

google-research/bert's own optimizer saves its slots as `<weight>/AdamWeightDecayOptimizer` and
`<weight>/AdamWeightDecayOptimizer_1`; other trainers write `<weight>/BERTAdam`, `<weight>/LAMB`, ... and
scalars such as `learning_rate`. Such a checkpoint used to be refused whole (`UnmappedNameError: cannot
place tf1 tensor 'bert/embeddings/LayerNorm/beta/AdamWeightDecayOptimizer'`). Each test writes a tiny
checkpoint with TensorFlow: the model variables of the committed fixture formats/google_tf1 (written by
make_formats.py from the Transformers reference weights tiny/BertForPreTraining) plus optimizer state
under the names below. The right value: exactly the reference weights, every optimizer variable skipped
and reported by name.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conversion.formats import read_safetensors
from conversion.formats.google_tf1 import read_google_tf1, sort_variables
from conversion.names import UnmappedNameError
from tests.helpers import REFERENCE

tf = pytest.importorskip("tensorflow")

FIXTURE = REFERENCE / "formats" / "google_tf1"


def model_variables() -> dict[str, np.ndarray]:
    """The fixture checkpoint's model weights under their TF1 names (its optimizer state left out)."""
    reader = tf.train.load_checkpoint(str(FIXTURE / "bert_model.ckpt"))
    names = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n) for n in names if not n.endswith(("adam_m", "adam_v", "global_step"))}


def write_tf1(directory, variables: dict[str, np.ndarray]) -> None:
    """A TF1 checkpoint (tf.compat.v1 Saver, as google-research/bert writes them) + config + vocab."""
    graph = tf.Graph()
    with graph.as_default():
        saved = [tf.compat.v1.Variable(value, name=name) for name, value in variables.items()]
        saver = tf.compat.v1.train.Saver(saved)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(directory / "bert_model.ckpt"), write_meta_graph=False)
    (directory / "checkpoint").unlink(missing_ok=True)
    for name in ("bert_config.json", "vocab.txt"):
        shutil.copy(FIXTURE / name, directory / name)


OPTIMIZERS = {
    "google-research/bert AdamWeightDecayOptimizer": [
        "AdamWeightDecayOptimizer",
        "AdamWeightDecayOptimizer_1",
    ],
    "BERTAdam": ["BERTAdam"],
    "LAMB": ["LAMB", "LAMB_1"],
    "a name never seen, two levels deep": ["ZebraOptimizer/first_moment", "ZebraOptimizer/second_moment"],
}
SCALARS = {
    "global_step": np.int64(1000),
    "learning_rate": np.float32(1e-4),
    "beta1_power": np.float32(0.9),
    "loss_scale": np.float32(32768.0),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_optimizer_state_is_recognised_by_structure(tmp_path, optimizer):
    weights = model_variables()
    rng = np.random.default_rng(0)
    slots = {
        f"{name}/{suffix}": rng.standard_normal(value.shape).astype(np.float32)
        for name, value in weights.items()
        for suffix in OPTIMIZERS[optimizer]
    }
    write_tf1(tmp_path, {**weights, **slots, **SCALARS})
    state, skipped = read_google_tf1(tmp_path)
    want = read_safetensors(REFERENCE / "tiny" / "BertForPreTraining")
    assert sorted(state) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(state[name], want[name], err_msg=name)
    assert skipped == sorted([*slots, *SCALARS])


def test_a_variable_that_is_no_optimizer_state_is_still_refused(tmp_path):
    """Only state that shadows a weight (or a scalar) is skipped: an unknown tensor of its own is an error."""
    weights = model_variables()
    write_tf1(tmp_path, {**weights, "bert/embeddings/extra_table": np.ones((4, 4), np.float32)})
    with pytest.raises(UnmappedNameError, match="bert/embeddings/extra_table"):
        read_google_tf1(tmp_path)


def test_sort_variables_without_tensorflow_values():
    shapes = {
        "bert/embeddings/word_embeddings": [99, 32],
        "bert/embeddings/word_embeddings/Momentum_slot": [99, 32],
        "bert/embeddings/word_embeddings/kernel": [99, 32],
        "bert/embeddings/LayerNorm/beta/ema/dense/bias": [32],  # a slot name the table's rules would place
        "bert/embeddings/LayerNorm/beta": [32],
        "bert/embeddings/LayerNorm/beta/adafactor_vr": [1],  # factored slots need not share the shape
        "good_steps": [],
    }
    placements, skipped = sort_variables(shapes)
    assert sorted(placements) == ["bert/embeddings/LayerNorm/beta", "bert/embeddings/word_embeddings"]
    assert skipped == [
        "bert/embeddings/LayerNorm/beta/adafactor_vr",
        "bert/embeddings/LayerNorm/beta/ema/dense/bias",
        "bert/embeddings/word_embeddings/Momentum_slot",
        "bert/embeddings/word_embeddings/kernel",
        "good_steps",
    ]
    with pytest.raises(UnmappedNameError):
        sort_variables({**shapes, "orphan/AdamWeightDecayOptimizer": [3]})  # shadows no weight


def test_bert_zoo_convert_skips_and_reports_the_slots_and_bounds_the_tokenizer(tmp_path, capsys):
    """`bert-zoo convert` of such a checkpoint: verified against the source, the slots reported, and
    tokenizer_config.json written with model_max_length = max_position_embeddings of bert_config.json
    (issue 11 item 6; the right value is the config's 64, not "unbounded")."""
    from bert_zoo.cli import main

    weights = model_variables()
    slots = {f"{n}/AdamWeightDecayOptimizer": v for n, v in weights.items()}
    source = tmp_path / "google"
    source.mkdir()
    write_tf1(source, {**weights, **slots, "global_step": np.int64(7)})
    out = tmp_path / "out"
    assert main(["convert", str(source), str(out), "--model-class", "BertForPreTraining"]) == 0
    printed = capsys.readouterr().out
    assert "/AdamWeightDecayOptimizer" in printed and "(47 in all) -- optimizer state" in printed, printed
    limit = json.loads((FIXTURE / "bert_config.json").read_text())["max_position_embeddings"]
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == limit == 64
