"""Left-to-right generation with `BertLMHeadModel`: greedy or sampled, one token per step, with the KV cache.

The signature, the defaults and the argument checks are those of every twin (`bert_common.generation`).

Shape legend: B batch, T prompt length, G generated tokens, K key positions (T + G so far),
V vocabulary size, S encoder length, H hidden size.
"""

from __future__ import annotations

import torch
from torch import nn

from bert_common.generation import GenerateOutput, GenerationArgs, resolve_generation_args
from bert_pt.inputs import check_inputs


@torch.no_grad()
def generate(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    max_new_tokens: int | None = None,
    max_length: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    encoder_hidden_states: torch.Tensor | None = None,
    encoder_attention_mask: torch.Tensor | None = None,
    seed: int | None = None,
    return_dict_in_generate: bool = False,
) -> torch.Tensor | GenerateOutput:
    """Continue `input_ids` [B, T] (int) with a decoder `model` (a BertLMHeadModel, or anything called
    like one); returns the [B, T + G] int sequences, prompt included, or `GenerateOutput(sequences)` with
    return_dict_in_generate=True.

    attention_mask: [B, T] 0/1 for a padded prompt (new tokens are always attended); default all ones.
    max_new_tokens: G at most (default 20); max_length: T + G at most, used when max_new_tokens is None.
    do_sample=False picks the most likely token; do_sample=True samples from softmax(logits / temperature)
    restricted to the `top_k` most likely tokens (0 or None: all) and to the smallest set whose
    probability reaches `top_p` (1.0 or None: all), drawing from a torch.Generator seeded with `seed`
    (the global RNG when None).
    eos_token_id (default config.eos_token_id): a sequence that produced it gets `pad_token_id` (default
    config.pad_token_id, else the eos id) afterwards; generation stops when every sequence has finished.
    encoder_hidden_states / encoder_attention_mask: [B, S, H] float / [B, S] 0/1 for a decoder with
    cross-attention; their keys and values are computed once and cached.
    The prompt is run once and each new token reuses the cache (`past_key_values`), so a step costs one
    position. The model is used in its current mode: call `model.eval()` first for dropout-free output.

    Raises:
        ValueError: the model is not a decoder; bad limits (prompt + new tokens beyond
            max_position_embeddings), temperature, top_k or top_p (see resolve_generation_args);
            eos/pad ids outside [0, V); the input rules of BertModel.forward.
        TypeError: input_ids that are not an integer tensor.
    """
    config = model.config
    check_inputs(
        config,
        input_ids=input_ids,
        attention_mask=attention_mask,
        encoder_hidden_states=encoder_hidden_states,
        encoder_attention_mask=encoder_attention_mask,
    )
    args = resolve_generation_args(
        config,
        int(input_ids.shape[1]),
        max_new_tokens=max_new_tokens,
        max_length=max_length,
        do_sample=do_sample,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        seed=seed,
    )
    device = next(model.parameters()).device
    generator = None if args.seed is None else torch.Generator(device=device).manual_seed(args.seed)
    tokens = input_ids.to(device)
    batch = tokens.shape[0]
    if attention_mask is None:
        attention_mask = torch.ones_like(tokens)
    attention_mask = attention_mask.to(device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    step_input = tokens  # the whole prompt first, then one token per step
    past = None
    for _ in range(args.max_new_tokens):
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
        next_token = _pick(logits, args, generator).to(tokens.dtype)  # [B]
        if args.eos_token_id is not None:
            next_token = torch.where(finished, torch.full_like(next_token, args.pad_token_id), next_token)
            finished |= next_token == args.eos_token_id
        tokens = torch.cat([tokens, next_token[:, None]], dim=1)  # [B, T+G]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones((batch, 1))], dim=1)  # [B, K]
        step_input = next_token[:, None]
        if args.eos_token_id is not None and bool(finished.all()):
            break
    return GenerateOutput(sequences=tokens) if return_dict_in_generate else tokens


def _pick(logits: torch.Tensor, args: GenerationArgs, generator: torch.Generator | None) -> torch.Tensor:
    """The next token of each row of `logits` [B, V]: argmax, or a sample from the tempered softmax
    filtered to the top-k tokens, then to the top-p nucleus (Transformers' order)."""
    if not args.do_sample:
        return logits.argmax(dim=-1)
    logits = logits / args.temperature
    if args.top_k and args.top_k < logits.shape[-1]:
        kth = torch.topk(logits, args.top_k, dim=-1).values[:, -1:]  # [B, 1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if args.top_p < 1.0:
        ascending, order = torch.sort(logits, dim=-1)  # [B, V]
        cumulative = ascending.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= 1.0 - args.top_p  # the least likely tokens outside the nucleus
        drop[:, -1] = False  # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
