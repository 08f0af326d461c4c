"""The arguments of `generate`, checked and resolved once for the three twins, and its output class.

Every twin's `generation.generate(model, input_ids, attention_mask=None, *, max_new_tokens=None,
max_length=None, do_sample=False, temperature=1.0, top_k=None, top_p=None, eos_token_id=None,
pad_token_id=None, encoder_hidden_states=None, encoder_attention_mask=None, seed=None,
return_dict_in_generate=False)` calls `resolve_generation_args` first, so the defaults, the limits and the
messages are the same everywhere. As in Transformers: `max_new_tokens` wins over `max_length` (which
counts the prompt); with neither, 20 new tokens; greedy decoding unless `do_sample`; `top_k` 0 or None
and `top_p` 1.0 or None mean no filtering; `eos_token_id` / `pad_token_id` default to the config's.

Shape legend: B batch, T prompt length, G generated tokens.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bert_common.outputs import ModelOutput

DEFAULT_MAX_NEW_TOKENS = 20


@dataclasses.dataclass
class GenerateOutput(ModelOutput):
    """What `generate(..., return_dict_in_generate=True)` returns.

    sequences: [B, T + G] int ids: the prompt followed by the generated tokens; rows that reached
    `eos_token_id` early are filled with `pad_token_id` after it.
    """

    sequences: Any = None


@dataclasses.dataclass(frozen=True)
class GenerationArgs:
    """The resolved arguments of one `generate` call."""

    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int  # 0 = no limit
    top_p: float  # 1.0 = no limit
    eos_token_id: int | None
    pad_token_id: int
    seed: int | None


def resolve_generation_args(
    config: Any,
    prompt_length: int,
    *,
    max_new_tokens: int | None = None,
    max_length: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    seed: int | None = None,
) -> GenerationArgs:
    """Check and resolve the arguments of `generate` for a prompt of `prompt_length` tokens.

    config: the model's BertConfig (is_decoder, max_position_embeddings, eos/pad token ids are read).

    Raises:
        ValueError: the model is not a decoder; a limit that is not positive or that leaves no room for a
            new token; prompt + new tokens beyond max_position_embeddings; temperature <= 0 when sampling;
            top_k < 0; top_p outside (0, 1]; eos/pad token ids outside [0, V).
    """
    if not config.is_decoder:
        raise ValueError("generate needs a decoder: build the model with BertConfig(is_decoder=True)")
    if max_new_tokens is not None:
        if int(max_new_tokens) < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        new = int(max_new_tokens)
    elif max_length is not None:
        new = int(max_length) - prompt_length
        if new < 1:
            raise ValueError(
                f"max_length={max_length} leaves no room after the prompt of {prompt_length} tokens; "
                "raise it or pass max_new_tokens"
            )
    else:
        new = DEFAULT_MAX_NEW_TOKENS
    limit = config.max_position_embeddings
    if prompt_length + new > limit:
        raise ValueError(
            f"prompt of {prompt_length} tokens + {new} new tokens is longer than max_position_embeddings={limit}"
        )
    if do_sample and not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0 when sampling, got {temperature}")
    if top_k is not None and int(top_k) < 0:
        raise ValueError(f"top_k must be >= 0 (0 or None: no limit), got {top_k}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] (1 or None: no limit), got {top_p}")
    eos = config.eos_token_id if eos_token_id is None else eos_token_id
    pad = pad_token_id if pad_token_id is not None else config.pad_token_id
    if pad is None:
        pad = eos if eos is not None else 0
    for name, value in (("eos_token_id", eos), ("pad_token_id", pad)):
        if value is not None and not 0 <= int(value) < config.vocab_size:
            raise ValueError(f"{name}={value} is outside the vocabulary [0, {config.vocab_size})")
    return GenerationArgs(
        max_new_tokens=new,
        do_sample=bool(do_sample),
        temperature=float(temperature),
        top_k=0 if top_k is None else int(top_k),
        top_p=1.0 if top_p is None else float(top_p),
        eos_token_id=None if eos is None else int(eos),
        pad_token_id=int(pad),
        seed=seed,
    )
