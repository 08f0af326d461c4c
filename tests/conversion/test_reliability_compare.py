"""NaN and Inf never pass a comparison (issue 13, item 1): `bert-zoo convert`'s verification, `bert-zoo
diff`, the equivalence grid's results and the tests' `worst_diff` all count a NaN or Inf on either side
as a failure and print it as nan; a weight holding NaN is refused by `bert-zoo convert` (item 2).

The checkpoint is the tiny reference BertForPreTraining with layer 1's query matrix set to 3e38: every
weight is finite, but the attention scores overflow to Inf, so both twins' outputs from layer 1 on are NaN.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from bert_zoo.cli import main
from bert_zoo.equivalence import Case, PairResult
from bert_zoo.verify import compare_outputs
from conversion.formats import read_safetensors
from tests.helpers import REFERENCE, worst_diff

PRETRAINING = REFERENCE / "tiny" / "BertForPreTraining"


def edited_checkpoint(tmp_path, name, value):
    directory = tmp_path / "src"
    shutil.copytree(PRETRAINING, directory)
    state = read_safetensors(directory)
    state[name][:] = value
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


@pytest.fixture
def overflowing(tmp_path):
    return edited_checkpoint(tmp_path, "bert.encoder.layer.1.attention.self.query.weight", 3e38)


def test_convert_verification_fails_on_nan_outputs_and_prints_nan(tmp_path, overflowing, capsys):
    out = tmp_path / "out"
    assert main(["convert", str(overflowing), str(out), "--to", "tf-h5"]) == 1
    captured = capsys.readouterr()
    assert "all fields within" not in captured.out
    assert "prediction_logits            nan" in captured.out
    assert "worst: prediction_logits nan" in captured.out
    assert "verification failed: nothing written" in captured.err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_diff_marks_nan_stages_and_fails(overflowing, capsys):
    assert main(["diff", str(overflowing), "--frameworks", "pt,tf"]) == 1
    text = capsys.readouterr().out
    assert "all stages within" not in text
    lines = {line.split("|")[1].strip(): line.split("|")[2] for line in text.splitlines() if "|" in line}
    assert "!" not in lines["layer 0"]
    assert lines["layer 1"].strip() == "nan!"
    assert "first divergence above 1e-05 (or NaN/Inf): layer 1 (pt vs tf)" in text


def test_convert_refuses_a_nan_weight_naming_it(tmp_path, capsys):
    source = edited_checkpoint(tmp_path, "bert.pooler.dense.bias", np.nan)
    assert main(["convert", str(source), str(tmp_path / "out"), "--no-verify"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "1 weight(s) hold NaN or Inf" in err and "bert.pooler.dense.bias" in err
    assert str(source / "model.safetensors") in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_compare_outputs_gives_nan_for_a_non_finite_side():
    finite = np.zeros((2, 3))
    with_inf = finite.copy()
    with_inf[1, 2] = np.inf
    diffs = compare_outputs({"a": finite, "b": with_inf}, {"a": finite, "b": with_inf})
    assert diffs["a"] == 0.0 and math.isnan(diffs["b"])  # the same Inf on both sides still fails


def test_equivalence_results_put_nan_first():
    result = PairResult(
        Case("absolute/gelu", "BertModel"),
        ("pt", "tf"),
        {"hidden_states.0": 1e-7, "hidden_states.1": math.nan, "pooler_output": 2e-7},
    )
    name, value = result.worst
    assert name == "hidden_states.1" and math.isnan(value)
    grouped = result.grouped()
    assert math.isnan(grouped["hidden_states"]) and grouped["pooler_output"] == 2e-7


def test_worst_diff_of_the_tests_puts_nan_first():
    expected = {"logits": np.ones(3), "hidden_states.1": np.ones(3)}
    got = {"logits": np.ones(3) + 1e-7, "hidden_states.1": np.array([1.0, np.nan, 1.0])}
    diff, where = worst_diff(got, expected)
    assert where == "hidden_states.1" and math.isnan(diff)
    assert not diff <= 1e-5
