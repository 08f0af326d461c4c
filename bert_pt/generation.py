"""Left-to-right generation with `BertLMHeadModel`: greedy or sampled, one token per step, with the KV cache.

Shape legend: B = batch, T = prompt length, G = tokens generated so far, V = vocabulary, S = encoder length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from bert_pt.inputs import check_integer, check_range

if TYPE_CHECKING:  # pragma: no cover
    from bert_pt.heads import BertLMHeadModel


def _check_positive_int(name: str, value: object, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


@torch.no_grad()
def generate(
    model: BertLMHeadModel,
    input_ids: torch.Tensor,
    max_new_tokens: int = 20,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    *,
    attention_mask: torch.Tensor | None = None,
    encoder_hidden_states: torch.Tensor | None = None,
    encoder_attention_mask: torch.Tensor | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue `input_ids` [B, T] by up to `max_new_tokens`; returns [B, T + G] (prompt included).

    do_sample=False picks the most likely token; do_sample=True samples from softmax(logits / temperature)
    restricted to the `top_k` most likely tokens (all when None), drawing from `generator` if given.
    The prompt is run once and each new token reuses the cache (`past_key_values`), so a step costs one
    position. attention_mask: [B, T] for a padded prompt (new tokens are always attended).
    encoder_hidden_states / encoder_attention_mask: [B, S, H] / [B, S] for a decoder with cross-attention;
    their keys and values are computed once and cached.
    eos_token_id: a sequence that produced it gets `pad_token_id` (default: config.pad_token_id, else the
    eos id) afterwards; generation stops when every sequence has finished.
    The model is used in its current mode: call `model.eval()` first for deterministic dropout-free output.
    """
    config = model.config
    if not config.is_decoder:
        raise ValueError("generate needs a decoder: build BertLMHeadModel with BertConfig(is_decoder=True)")
    check_integer("input_ids", input_ids)
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise ValueError(
            f"input_ids must be a non-empty [batch, sequence] prompt, got shape {tuple(input_ids.shape)}"
        )
    _check_positive_int("max_new_tokens", max_new_tokens, allow_zero=True)
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if top_k is not None:
        _check_positive_int("top_k", top_k)
    for name, value in (("eos_token_id", eos_token_id), ("pad_token_id", pad_token_id)):
        if value is not None:
            _check_positive_int(name, value, allow_zero=True)
            check_range(name, torch.tensor(value), config.vocab_size, f"vocab_size={config.vocab_size}")
    total = input_ids.shape[1] + max_new_tokens
    if total > config.max_position_embeddings:
        raise ValueError(
            f"prompt of {input_ids.shape[1]} tokens + max_new_tokens={max_new_tokens} exceeds "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
    if pad_token_id is None:
        pad_token_id = config.pad_token_id if config.pad_token_id is not None else eos_token_id

    device = model.device
    tokens = input_ids.to(device)
    batch = tokens.shape[0]
    if attention_mask is None:
        attention_mask = torch.ones_like(tokens)
    attention_mask = attention_mask.to(device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    step_input = tokens  # the whole prompt first, then one token per step
    past = None
    for _ in range(max_new_tokens):
        out = model(
            input_ids=step_input,
            attention_mask=attention_mask,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=past,
            use_cache=True,
            return_dict=True,
        )
        past = out.past_key_values
        logits = out.logits[:, -1, :].float()  # [B, V]
        next_token = _pick(logits, do_sample, temperature, top_k, generator)  # [B]
        if eos_token_id is not None:
            next_token = torch.where(finished, torch.full_like(next_token, pad_token_id), next_token)
            finished |= next_token == eos_token_id
        tokens = torch.cat([tokens, next_token[:, None]], dim=1)  # [B, T+G]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones((batch, 1))], dim=1)
        step_input = next_token[:, None]
        if eos_token_id is not None and bool(finished.all()):
            break
    return tokens


def _pick(
    logits: torch.Tensor,
    do_sample: bool,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """The next token of each row of `logits` [B, V]: argmax, or a sample from the tempered top-k softmax."""
    if not do_sample:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # [B, 1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
