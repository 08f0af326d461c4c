"""Text generation for FlaxBertForCausalLM: greedy or sampled decoding with the key/value cache, under jit.

The whole loop is one `jax.lax.while_loop` over a fixed buffer of `max_length` tokens: the prompt fills
the cache in one call, then each step feeds one token. `generate` compiles it once per model, prompt shape
and max_length; the decoding options (greedy or sampling, temperature, top_k, top_p, eos and pad ids) are
array inputs, so changing them does not recompile. It can itself be called inside `jax.jit`.

Positions follow the PyTorch twin: token i of the sequence has position i, so a batch of prompts of
different lengths should be left-padded with `attention_mask` marking the padding.

Shape legend: B = batch, P = prompt length, M = max_length, V = vocabulary, S = encoder length, H = hidden.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from bert_common.outputs import ModelOutput
from bert_flax.inputs import as_array, check_ids, check_mask
from bert_flax.outputs import register_output_class


@register_output_class
@dataclasses.dataclass
class GenerationOutput(ModelOutput):
    """sequences: [B, M] the prompt followed by the generated tokens (pad_token_id after eos)."""

    sequences: Any = None


def _filter_logits(logits: jax.Array, top_k: jax.Array, top_p: jax.Array) -> jax.Array:
    """Set scores outside the top_k best and outside the top_p nucleus to -inf. logits: [B, V].

    top_k (int, V = no limit) and top_p (float, 1 = no limit) are arrays, so changing them does not
    recompile.
    """
    neg_inf = jnp.asarray(-jnp.inf, logits.dtype)
    order = jnp.argsort(-logits, axis=-1)  # [B, V] best first
    sorted_logits = jnp.take_along_axis(logits, order, axis=-1)
    rank = jnp.arange(logits.shape[-1])[None, :]  # [1, V]
    probs = jax.nn.softmax(sorted_logits, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # probability mass of the better tokens
    keep_sorted = (rank < top_k) & ((before < top_p) | (top_p >= 1.0))  # the best token is always kept
    keep = jnp.zeros_like(keep_sorted).at[jnp.arange(logits.shape[0])[:, None], order].set(keep_sorted)
    return jnp.where(keep, logits, neg_inf)


def _generate_core(
    model: Any,
    params: Any,
    input_ids: jax.Array,
    attention_mask: jax.Array,
    encoder_hidden_states: jax.Array | None,
    encoder_attention_mask: jax.Array | None,
    prng_key: jax.Array,
    options: dict[str, jax.Array],
    *,
    max_length: int,
) -> jax.Array:
    """The decoding loop. options: do_sample, temperature, top_k, top_p, eos_token_id (-1 = none),
    pad_token_id, all arrays; only max_length (the buffer size) is static."""
    batch, prompt_length = input_ids.shape
    cache = model.init_cache(batch, max_length)
    full_mask = (
        jnp.ones((batch, max_length), jnp.int32).at[:, :prompt_length].set(attention_mask.astype(jnp.int32))
    )
    cross = dict(encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask)
    pad, eos = options["pad_token_id"], options["eos_token_id"]

    out = model(input_ids, full_mask, params=params, past_key_values=cache, **cross)
    sequences = jnp.full((batch, max_length), pad, jnp.int32).at[:, :prompt_length].set(input_ids)
    state = (
        jnp.array(prompt_length, jnp.int32),
        sequences,
        out.past_key_values,
        out.logits[:, -1],  # [B, V] scores of the next token
        jnp.zeros((batch,), bool),
        prng_key,
    )

    def pick(logits: jax.Array, key: jax.Array) -> jax.Array:
        logits = logits.astype(jnp.float32)
        filtered = _filter_logits(logits / options["temperature"], options["top_k"], options["top_p"])
        sampled = jax.random.categorical(key, filtered, axis=-1)
        return jnp.where(options["do_sample"], sampled, jnp.argmax(logits, axis=-1))

    def cond(state: tuple) -> jax.Array:
        cur_len, _, _, _, finished, _ = state
        return jnp.logical_and(cur_len < max_length, jnp.logical_not(jnp.all(finished)))

    def body(state: tuple) -> tuple:
        cur_len, sequences, cache, logits, finished, key = state
        key, step_key = jax.random.split(key)
        token = jnp.where(finished, pad, pick(logits, step_key).astype(jnp.int32))  # [B]
        sequences = jax.lax.dynamic_update_slice(sequences, token[:, None], (0, cur_len))
        finished = jnp.logical_or(finished, token == eos)
        out = model(token[:, None], full_mask, params=params, past_key_values=cache, **cross)
        return cur_len + 1, sequences, out.past_key_values, out.logits[:, -1], finished, key

    return jax.lax.while_loop(cond, body, state)[1]


def generate(
    model: Any,
    input_ids: Any,
    attention_mask: Any = None,
    *,
    max_length: int | None = None,
    max_new_tokens: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    prng_key: jax.Array | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    encoder_hidden_states: Any = None,
    encoder_attention_mask: Any = None,
    params: Any = None,
) -> GenerationOutput:
    """Continue `input_ids` [B, P] up to `max_length` tokens (or P + max_new_tokens).

    do_sample=False: greedy (argmax) decoding. do_sample=True: sample from softmax(logits / temperature)
    restricted to the top_k tokens and the top_p nucleus, with `prng_key` (default key 0).
    eos_token_id / pad_token_id default to the config's; after eos a row is filled with pad_token_id.
    encoder_hidden_states [B, S, H] (+ mask [B, S]) for a decoder with cross-attention.
    Returns GenerationOutput(sequences [B, M]).
    """
    config = model.config
    if not config.is_decoder:
        raise ValueError("generate needs a decoder: the config has is_decoder=False")
    input_ids = as_array("input_ids", input_ids)
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must have shape [batch, prompt_len], got {tuple(input_ids.shape)}")
    check_ids("input_ids", input_ids, config.vocab_size, f"vocab_size={config.vocab_size}")
    batch, prompt_length = input_ids.shape
    if (max_length is None) == (max_new_tokens is None):
        raise ValueError("pass exactly one of max_length and max_new_tokens")
    total = max_length if max_length is not None else prompt_length + int(max_new_tokens)
    if not isinstance(total, int) or total <= prompt_length:
        raise ValueError(
            f"max_length must be an int larger than the prompt length {prompt_length}, got {total!r}"
        )
    if total > config.max_position_embeddings:
        raise ValueError(
            f"max_length={total} exceeds max_position_embeddings={config.max_position_embeddings}"
        )
    if attention_mask is None:
        attention_mask = jnp.ones((batch, prompt_length), jnp.int32)
    attention_mask = as_array("attention_mask", attention_mask)
    check_mask("attention_mask", attention_mask, (batch, prompt_length))
    if do_sample and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
    pad = config.pad_token_id if pad_token_id is None else pad_token_id
    eos = config.eos_token_id if eos_token_id is None else eos_token_id

    options = dict(
        do_sample=jnp.asarray(bool(do_sample)),
        temperature=jnp.asarray(temperature, jnp.float32),
        top_k=jnp.asarray(config.vocab_size if top_k is None else top_k, jnp.int32),
        top_p=jnp.asarray(1.0 if top_p is None else top_p, jnp.float32),
        eos_token_id=jnp.asarray(-1 if eos is None else eos, jnp.int32),
        pad_token_id=jnp.asarray(0 if pad is None else pad, jnp.int32),
    )
    compiled = model.__dict__.get("_generate_jit")
    if compiled is None:  # one compiled loop per model (and prompt shape / max_length)
        compiled = jax.jit(partial(_generate_core, model), static_argnames=("max_length",))
        model.__dict__["_generate_jit"] = compiled
    sequences = compiled(
        model.params if params is None else params,
        jnp.asarray(input_ids, jnp.int32),
        jnp.asarray(attention_mask),
        None if encoder_hidden_states is None else jnp.asarray(encoder_hidden_states),
        None if encoder_attention_mask is None else jnp.asarray(encoder_attention_mask),
        jax.random.key(0) if prng_key is None else prng_key,
        options,
        max_length=total,
    )
    return GenerationOutput(sequences=sequences)
