"""The twin contract at 512 tokens on the real all-MiniLM-L6-v2 checkpoint (issue 13, item 7).

At 512 tokens no absolute bound holds: the twins differ by up to ~2.4e-4 in intermediate hidden states at
padded positions far from the real tokens, although every operation of every twin is within a few ulps of
float64 (docs/numerics.md, "Long sequences"). The cause is the network, not a formulation: in float64, a
random 1e-6 perturbation of a layer's input grows to ~1.6e-4 at those positions, and PyTorch's own SDPA
and eager attention differ from each other by as much as the twins do. So the contract is relative to each
field's magnitude M = the largest |value| of the field on either side:

- at attended positions (mask 1): max |a - b| <= RTOL_ATTENDED * max(1, M);
- everywhere, padded positions included: max |a - b| <= RTOL_ALL * max(1, M).

Each mask pattern is one batch of 2 rows x 512 tokens (a short and a long real part), run once by each twin
with every hidden state and attention: right padding, left padding, and holes (masked positions between
real ones). `scripts/numerics_report.py` prints the measured numbers from the same helpers.

Shapes: B batch (2), T positions (512), H hidden size, N heads, K key positions (T).
"""

from __future__ import annotations

import numpy as np
import pytest

from bert_common.files import default_model_dir
from bert_zoo.verify import run_in

LENGTH = 512
PATTERNS = ("right", "left", "holes")
RTOL_ATTENDED = 2e-5
RTOL_ALL = 1e-4
SHORT_REAL, PAD_ID, CLS_ID, SEP_ID = 20, 0, 101, 102

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def long_inputs(pattern: str, length: int = LENGTH, seed: int = 0) -> dict[str, np.ndarray]:
    """Two rows of `length` tokens: int64 input_ids, attention_mask, token_type_ids [B=2, T].

    right / left: row 0 has SHORT_REAL real tokens, row 1 has 25/32 of `length`, padded after (right) or
    before (left) them; holes: row 0 masks every 7th position from 5 on, row 1 about 30% at random (its
    first and last positions kept). Real tokens are random word-piece ids with [CLS] first and [SEP] last;
    padded positions hold [PAD].

    Raises:
        ValueError: an unknown pattern.
    """
    rng = np.random.default_rng(seed)
    mask = np.zeros((2, length), np.int64)
    lengths = (SHORT_REAL, length * 25 // 32)
    if pattern == "right":
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
    elif pattern == "left":
        for row, n in enumerate(lengths):
            mask[row, length - n :] = 1
    elif pattern == "holes":
        mask[:] = 1
        mask[0, 5::7] = 0
        mask[1, 1:-1] = rng.random(length - 2) > 0.3
    else:
        raise ValueError(f"unknown mask pattern {pattern!r}; known: {PATTERNS}")
    ids = rng.integers(1000, 30000, size=(2, length)).astype(np.int64)
    for row in range(2):
        real = np.flatnonzero(mask[row])
        ids[row, real[0]], ids[row, real[-1]] = CLS_ID, SEP_ID
    ids = np.where(mask == 1, ids, PAD_ID)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def split_diffs(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], mask: np.ndarray
) -> dict[str, tuple[float, float, float]]:
    """Per output field: (max |a - b| at attended positions, at padded positions, M = max(|a|, |b|)).

    Positions are query positions: axis 1 of [B, T, H] fields, axis 2 of attentions [B, N, T, K]; fields
    without a position axis (pooler_output [B, H]) count as attended. A NaN or Inf anywhere gives NaN.
    """
    attended = mask.astype(bool)  # [B, T]
    out = {}
    for name in a:
        x, y = np.asarray(a[name], np.float64), np.asarray(b[name], np.float64)
        if x.shape != y.shape:
            raise AssertionError(f"{name}: shapes differ, {x.shape} vs {y.shape}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            out[name] = (float("nan"), float("nan"), float("nan"))
            continue
        diff = np.abs(x - y)
        if diff.ndim == 4:  # [B, N, T, K] -> [B, T, N, K]
            diff = diff.transpose(0, 2, 1, 3)
        magnitude = float(max(np.abs(x).max(), np.abs(y).max()))
        if diff.ndim >= 3:
            real = float(diff[attended].max())
            padded = float(diff[~attended].max()) if (~attended).any() else 0.0
        else:
            real, padded = float(diff.max()), 0.0
        out[name] = (real, padded, magnitude)
    return out


def contract_violations(diffs: dict[str, tuple[float, float, float]]) -> list[str]:
    """The fields of `split_diffs` that break the contract (see the module docstring); NaN always does."""
    broken = []
    for name, (real, padded, magnitude) in diffs.items():
        scale = max(1.0, magnitude)
        if not real <= RTOL_ATTENDED * scale:
            broken.append(f"{name}: {real:.2e} at attended positions > {RTOL_ATTENDED:g} x {scale:.2f}")
        if not max(real, padded) <= RTOL_ALL * scale:
            broken.append(f"{name}: {max(real, padded):.2e} > {RTOL_ALL:g} x {scale:.2f}")
    return broken


_OUTPUTS: dict = {}


def outputs(pattern: str, framework: str, device: str) -> dict[str, np.ndarray]:
    """Every output field of `framework` on `pattern` (run once per pattern, twin and device)."""
    key = (pattern, framework, device)
    if key not in _OUTPUTS:
        _OUTPUTS[key], _ = run_in(
            framework,
            default_model_dir(),
            "BertModel",
            long_inputs(pattern),
            device=device,
            output_hidden_states=True,
            output_attentions=True,
        )
    return _OUTPUTS[key]


def test_patterns_pad_where_they_say():
    right, left, holes = (long_inputs(p)["attention_mask"] for p in PATTERNS)
    assert right.shape == (2, LENGTH) and right[0].sum() == SHORT_REAL and right[0, :SHORT_REAL].all()
    assert left[0].sum() == SHORT_REAL and left[0, -SHORT_REAL:].all() and left[1, -1] == 1
    assert right[1].sum() == left[1].sum() == 400
    assert holes[:, 0].all() and holes[:, -1].all() and 0 < holes.sum() < holes.size
    ids = long_inputs("holes")["input_ids"]
    assert (ids[holes == 0] == PAD_ID).all() and (ids[:, 0] == CLS_ID).all()


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize(
    "pair", [("pt", "tf"), ("pt", "flax"), ("tf", "flax")], ids=["pt-tf", "pt-flax", "tf-flax"]
)
def test_every_field_within_the_relative_bound_at_512_tokens(pattern, pair, device):
    a, b = outputs(pattern, pair[0], device), outputs(pattern, pair[1], device)
    assert sorted(a) == sorted(b)
    assert (
        sum(k.startswith("hidden_states.") for k in a) == 7
        and sum(k.startswith("attentions.") for k in a) == 6
    )
    assert a["last_hidden_state"].shape == (2, LENGTH, 384)
    diffs = split_diffs(a, b, long_inputs(pattern)["attention_mask"])
    assert not contract_violations(diffs), contract_violations(diffs)


def test_the_relative_bound_is_not_vacuous():
    """The bound still catches faults: a 1e-3 difference in last_hidden_state (|values| up to ~6) breaks
    it, and so does a NaN."""
    a = outputs("right", "pt", "cpu")
    mask = long_inputs("right")["attention_mask"]
    broken = dict(a)
    broken["last_hidden_state"] = a["last_hidden_state"] + 1e-3 * (np.arange(384) % 2)
    assert contract_violations(split_diffs(a, broken, mask))
    broken["last_hidden_state"] = np.where(mask[..., None] == 1, a["last_hidden_state"], np.nan)
    assert contract_violations(split_diffs(a, broken, mask))
