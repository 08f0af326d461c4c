"""Text generation for FlaxBertForCausalLM: greedy or sampled decoding with the key/value cache, under jit.

`generate` has the signature of every twin (bert_common.generation; the arguments are resolved there,
with the same defaults, limits and messages). The whole loop is one `jax.lax.while_loop` over a fixed
buffer of T + G tokens: the prompt fills the cache in one call, then each step feeds one token. It compiles
once per model, prompt shape and G; the decoding options (greedy or sampling, temperature, top_k, top_p,
eos and pad ids) are array inputs, so changing them does not recompile. It can itself be called inside
`jax.jit`.

Positions follow the PyTorch twin: token i of the sequence has position i, so a batch of prompts of
different lengths should be left-padded with `attention_mask` marking the padding.

Shape legend: B batch, T prompt length, G generated tokens, K = T + G (the cache size), V vocabulary size,
S encoder length, H hidden size.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from bert_common.config import BertConfig
from bert_common.generation import GenerateOutput, resolve_generation_args
from bert_flax.inputs import check_inputs


class Decoder(Protocol):
    """What `generate` needs of a model (FlaxBertForCausalLM)."""

    config: BertConfig
    params: Mapping[str, Any]

    def init_cache(self, batch_size: int, max_length: int) -> dict[str, Any]: ...

    def __call__(
        self, input_ids: ArrayLike, attention_mask: ArrayLike | None = None, **kwargs: Any
    ) -> Any: ...


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
    model: Decoder,
    params: Mapping[str, Any],
    input_ids: jax.Array,
    attention_mask: jax.Array,
    encoder_hidden_states: jax.Array | None,
    encoder_attention_mask: jax.Array | None,
    prng_key: jax.Array,
    options: dict[str, jax.Array],
    *,
    max_length: int,
) -> jax.Array:
    """The decoding loop over a [B, K] buffer (K = max_length). options: do_sample, temperature, top_k,
    top_p, eos_token_id (-1 = none), pad_token_id, all arrays; only max_length is static."""
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
    model: Decoder,
    input_ids: ArrayLike,
    attention_mask: ArrayLike | None = None,
    *,
    max_new_tokens: int | None = None,
    max_length: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    encoder_hidden_states: ArrayLike | None = None,
    encoder_attention_mask: ArrayLike | None = None,
    seed: int | None = None,
    return_dict_in_generate: bool = False,
    prng_key: jax.Array | None = None,
    params: Mapping[str, Any] | None = None,
) -> jax.Array | GenerateOutput:
    """Continue the prompts `input_ids` [B, T] by G = max_new_tokens tokens (default 20; or
    max_length - T).

    attention_mask: [B, T] 0/1, 0 on (left) padding; default every position.
    do_sample=False: greedy (argmax) decoding. do_sample=True: sample from softmax(logits / temperature)
    restricted to the top_k best tokens and the top_p nucleus (None, 0 / 1.0: no restriction).
    eos_token_id / pad_token_id default to the config's; a row that produced eos is filled with
    pad_token_id after it (the loop stops once every row has).
    encoder_hidden_states [B, S, H] (+ encoder_attention_mask [B, S]) for a decoder with cross-attention.
    seed: the sampling seed (default 0); the Flax extras: prng_key, a jax.random key used instead of
    seed; params: parameters to use instead of `model.params` (what jit traces through).

    Returns the [B, T + G] int32 sequences, the prompt first (GenerateOutput(sequences) with
    return_dict_in_generate=True). The buffer has a fixed size, so rows that all stopped early are
    padded to T + G.

    Raises:
        ValueError: a model that is not a decoder; limits that leave no new token or pass
            max_position_embeddings; bad sampling options (bert_common.generation.resolve_generation_args);
            both seed and prng_key; inputs the shared rules refuse (ids outside the vocabulary, ...).
        TypeError: ids that are not integers, arguments that are not arrays.
    """
    config = model.config
    inputs, shape = check_inputs(
        config,
        input_ids=input_ids,
        attention_mask=attention_mask,
        encoder_hidden_states=encoder_hidden_states,
        encoder_attention_mask=encoder_attention_mask,
    )
    batch, prompt_length = int(shape.batch), int(shape.length)
    args = resolve_generation_args(
        config,
        prompt_length,
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
    if seed is not None and prng_key is not None:
        raise ValueError("pass seed or prng_key, not both")
    key = prng_key if prng_key is not None else jax.random.key(0 if seed is None else seed)
    mask = inputs["attention_mask"]
    options = dict(
        do_sample=jnp.asarray(args.do_sample),
        temperature=jnp.asarray(args.temperature, jnp.float32),
        top_k=jnp.asarray(args.top_k or config.vocab_size, jnp.int32),
        top_p=jnp.asarray(args.top_p, jnp.float32),
        eos_token_id=jnp.asarray(-1 if args.eos_token_id is None else args.eos_token_id, jnp.int32),
        pad_token_id=jnp.asarray(args.pad_token_id, jnp.int32),
    )
    compiled = model.__dict__.get("_generate_jit")
    if compiled is None:  # one compiled loop per model (and prompt shape / max_length)
        compiled = jax.jit(partial(_generate_core, model), static_argnames=("max_length",))
        model.__dict__["_generate_jit"] = compiled
    sequences = compiled(
        model.params if params is None else params,
        inputs["input_ids"],
        jnp.ones((batch, prompt_length), jnp.int32) if mask is None else mask,
        inputs["encoder_hidden_states"],
        inputs["encoder_attention_mask"],
        key,
        options,
        max_length=prompt_length + args.max_new_tokens,
    )
    return GenerateOutput(sequences=sequences) if return_dict_in_generate else sequences
