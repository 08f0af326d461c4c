"""Left-to-right generation with `TFBertLMHeadModel`: greedy or sampled, one token per step, on the KV cache.

The arguments, their defaults and limits are bert_common.generation's (the same `generate` signature in
the three twins). The prompt runs once with `use_cache=True`; each new token then reuses the cache
(`past_key_values`), so a step costs one position. The loop runs eagerly (one Keras call per token).
Positions follow the other twins: token i of the sequence has position i, so a batch of prompts of
different lengths should be left-padded with `attention_mask` marking the padding.

Shape legend: B batch, T prompt length, G generated tokens, V vocabulary, S encoder length, H hidden size.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from bert_common.generation import GenerateOutput, GenerationArgs, resolve_generation_args
from bert_tf.inputs import check_inputs


def _filter_logits(logits: tf.Tensor, top_k: int, top_p: float) -> tf.Tensor:
    """Scores outside the top_k best (0 = no limit) and outside the top_p nucleus (1.0 = no limit) set to
    -inf; the best token is always kept. logits: [B, V] float32."""
    vocab = logits.shape[-1]
    neg_inf = tf.constant(-np.inf, logits.dtype)
    if 0 < top_k < vocab:
        kth = tf.math.top_k(logits, k=top_k).values[:, -1:]  # [B, 1]
        logits = tf.where(logits < kth, neg_inf, logits)
    if top_p < 1.0:
        sorted_logits, order = tf.math.top_k(logits, k=vocab)  # [B, V] best first
        probs = tf.nn.softmax(sorted_logits, axis=-1)
        before = tf.cumsum(probs, axis=-1, exclusive=True)  # probability mass of the better tokens
        keep_sorted = before < top_p
        keep = tf.gather(keep_sorted, tf.argsort(order, axis=-1), batch_dims=1)  # back to vocabulary order
        logits = tf.where(keep, logits, neg_inf)
    return logits


def _pick(logits: tf.Tensor, args: GenerationArgs, rng: tf.random.Generator) -> tf.Tensor:
    """The next token of each row of `logits` [B, V]: the argmax, or a sample from the tempered, filtered
    softmax. Returns [B] int32."""
    logits = tf.cast(logits, tf.float32)
    if not args.do_sample:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    filtered = _filter_logits(logits / args.temperature, args.top_k, args.top_p)
    seed = rng.make_seeds(1)[:, 0]
    return tf.cast(tf.random.stateless_categorical(filtered, 1, seed=seed)[:, 0], tf.int32)


def generate(
    model: keras.Model,
    input_ids: tf.Tensor | np.ndarray,
    attention_mask: tf.Tensor | np.ndarray | None = None,
    *,
    max_new_tokens: int | None = None,
    max_length: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
    encoder_hidden_states: tf.Tensor | np.ndarray | None = None,
    encoder_attention_mask: tf.Tensor | np.ndarray | None = None,
    seed: int | None = None,
    return_dict_in_generate: bool = False,
) -> tf.Tensor | GenerateOutput:
    """Continue the prompts `input_ids` with the decoder `model` (a TFBertLMHeadModel).

    input_ids: [B, T] int prompt ids. attention_mask: [B, T] 0/1 for padded prompts (new tokens are
        always attended); all ones when None.
    max_new_tokens: G, the number of tokens to add; or max_length: T + G. Neither: 20 new tokens.
    do_sample: False picks the most likely token (greedy); True samples from softmax(logits /
        temperature) restricted to the top_k best tokens (None or 0: all) and the top_p nucleus (None or
        1.0: all), from a generator seeded with `seed` (None: nondeterministic).
    eos_token_id / pad_token_id: default to the config's. A row that produced eos gets pad_token_id
        afterwards; generation stops early when every row has finished.
    encoder_hidden_states / encoder_attention_mask: [B, S, H] / [B, S] for a decoder with
        cross-attention; their keys and values are computed once and cached.
    The model runs in inference mode (no dropout).

    Returns the [B, T + G] int32 sequences (prompt included), or GenerateOutput(sequences) with
    return_dict_in_generate=True.

    Raises:
        ValueError: the model is not a decoder; limits or sampling settings out of range (see
            bert_common.generation.resolve_generation_args); a bad prompt (bert_common.inputs).
        TypeError: prompt ids that are not integers.
    """
    config = model.config
    prompt = check_inputs(
        config,
        input_ids=input_ids,
        attention_mask=attention_mask,
        encoder_hidden_states=encoder_hidden_states,
        encoder_attention_mask=encoder_attention_mask,
    )
    args = resolve_generation_args(
        config,
        int(prompt.length),
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
    rng = (
        tf.random.Generator.from_seed(seed)
        if seed is not None
        else tf.random.Generator.from_non_deterministic_state()
    )
    tokens = tf.cast(prompt.input_ids, tf.int32)  # [B, T + G]
    mask = prompt.attention_mask
    mask = tf.ones_like(tokens) if mask is None else tf.cast(mask, tf.int32)
    finished = tf.zeros(tf.shape(tokens)[:1], tf.bool)  # [B]
    step_input, past = tokens, None  # the whole prompt first, then one token per step
    for _ in range(args.max_new_tokens):
        out = model(
            input_ids=step_input,
            attention_mask=mask,
            encoder_hidden_states=prompt.encoder_hidden_states,
            encoder_attention_mask=prompt.encoder_attention_mask,
            past_key_values=past,
            use_cache=True,
            return_dict=True,
            training=False,
        )
        past = out.past_key_values
        next_token = _pick(out.logits[:, -1, :], args, rng)  # [B]
        if args.eos_token_id is not None:
            next_token = tf.where(finished, args.pad_token_id, next_token)
            finished = finished | tf.equal(next_token, args.eos_token_id)
        tokens = tf.concat([tokens, next_token[:, tf.newaxis]], axis=1)
        mask = tf.concat([mask, tf.ones_like(next_token)[:, tf.newaxis]], axis=1)
        step_input = next_token[:, tf.newaxis]
        if args.eos_token_id is not None and bool(tf.reduce_all(finished)):
            break
    return GenerateOutput(sequences=tokens) if return_dict_in_generate else tokens
