"""Helpers of the PyTorch tests: tiny models, batches with padding, output comparison."""

from __future__ import annotations

import numpy as np
import torch

from tests.helpers import max_abs_diff, tiny_config


def tiny(**changes):
    """The tiny config (hidden 32, 2 layers, 4 heads, vocab 99) with dropout off unless asked for."""
    base = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return tiny_config(**{**base, **changes})


def batch(config, batch_size: int = 3, length: int = 7, seed: int = 0, pad_row: int | None = 1, pad: int = 2):
    """input_ids / attention_mask / token_type_ids; row `pad_row` has its last `pad` positions padded."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, config.vocab_size, (batch_size, length), generator=g)
    attention_mask = torch.ones(batch_size, length, dtype=torch.long)
    if pad_row is not None and pad:
        attention_mask[pad_row, length - pad :] = 0
        input_ids[pad_row, length - pad :] = 0
    token_type_ids = torch.zeros(batch_size, length, dtype=torch.long)
    token_type_ids[:, length // 2 :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def to(inputs: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def numpy(x) -> np.ndarray:
    """A float numpy copy of a tensor (arrays pass through)."""
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def fields(output) -> dict[str, torch.Tensor]:
    """Every tensor of an output, tuples flattened to `name.i` (the reference files' keys)."""
    out = {}
    for name, value in output.items():
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif name in ("hidden_states", "attentions", "cross_attentions"):
            out.update({f"{name}.{i}": v for i, v in enumerate(value)})
    return out


def worst_diff(a: dict, b: dict) -> tuple[float, str]:
    """(largest max-abs-diff, its field) over the fields of `b`; `a` must hold each of them."""
    diffs = {k: max_abs_diff(numpy(a[k]), numpy(v)) for k, v in b.items()}
    key = max(diffs, key=diffs.get)
    return diffs[key], key
