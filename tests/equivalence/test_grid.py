"""Every head x twin pair x config, every output field (loss, logits, all hidden states, all attentions,
cross-attentions, pooler) within 1e-5, on right-padded inputs, padded positions included; and every head
again with both rows padded and a head mask (what the former pairwise tests tests/flax/test_vs_pytorch.py
and tests/tf/test_pt_parity.py added). The absolute 1e-5 is the contract on these tiny configs; on a real
checkpoint at 512 tokens the contract is relative to each field's magnitude (test_long_sequences.py,
docs/numerics.md)."""

from __future__ import annotations

import numpy as np
import pytest

from bert_zoo.equivalence import PAIRS, case_config, case_inputs, case_outputs, grid_cases, write_case
from tests.helpers import ATOL

CASES = grid_cases()
_OUTPUTS: dict = {}


@pytest.fixture(scope="module")
def grid_root(tmp_path_factory):
    return tmp_path_factory.mktemp("grid")


def outputs(root, case, framework, device):
    key = (case, framework, device)
    if key not in _OUTPUTS:
        directory = root / case.directory_name
        if not directory.exists():
            write_case(root, case)
        _OUTPUTS[key] = case_outputs(framework, directory, case, device=device)
    return _OUTPUTS[key]


def test_grid_covers_every_head_and_config():
    from bert_common.heads import HEADS

    assert {c.head for c in CASES} == set(HEADS)
    assert {c.config_name for c in CASES} == {
        "absolute/gelu",
        "absolute/relu",
        "absolute/gelu_new",
        "relative_key",
        "relative_key_query",
        "decoder+cross",
        "decoder+cross/relative_key_query",
    }
    # Every head also runs with a head mask and padding in both rows.
    assert {c.head for c in CASES if c.inputs == "head_mask"} == set(HEADS)


def test_head_mask_variant_masks_a_head_and_pads_both_rows():
    for case in (c for c in CASES if c.inputs == "head_mask"):
        config = case_config(case)
        arrays = case_inputs(case, config)
        head_mask = arrays["head_mask"]
        assert head_mask.shape == (config.num_hidden_layers, config.num_attention_heads)
        assert head_mask.dtype == np.float32 and head_mask.sum() == head_mask.size - 1
        assert head_mask[1, 2] == 0
        assert (arrays["attention_mask"].sum(axis=-1) < arrays["attention_mask"].shape[-1]).all()
        if config.add_cross_attention:
            assert arrays["encoder_attention_mask"][1, -2:].sum() == 0


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_every_output_field_agrees(grid_root, case, pair, device):
    a = outputs(grid_root, case, pair[0], device)
    b = outputs(grid_root, case, pair[1], device)
    assert sorted(a) == sorted(b), "both twins return the same output fields"
    config = case_config(case)
    layers = config.num_hidden_layers
    # The fields the contract is about are really there.
    assert sum(k.startswith("hidden_states.") for k in a) == layers + 1
    assert sum(k.startswith("attentions.") for k in a) == layers
    if config.add_cross_attention:
        assert sum(k.startswith("cross_attentions.") for k in a) == layers
    if case.inputs == "head_mask":
        # The mask is applied, not ignored alike: head 2 of layer 1 attends nowhere. [B, N, T, K]
        assert not a["attentions.1"][:, 2].any() and a["attentions.1"][:, 1].any()
    if case.head != "BertModel":
        assert "loss" in a
    else:
        assert "pooler_output" in a
    for name in a:
        assert a[name].shape == b[name].shape, name
        diff = float(abs(a[name] - b[name]).max()) if a[name].size else 0.0
        assert diff <= ATOL, f"{case.label} {pair}: {name} differs by {diff:.2e}"
