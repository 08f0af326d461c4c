"""Framework-neutral post-processing of the pipeline tasks, in numpy.

Each function takes a model's raw outputs as numpy arrays (plus what the tokenizer said about the input)
and returns the answers users of Transformers' pipelines expect. The three twins only run the network;
everything here is written once, so the answers are the same whichever framework produced the logits.

Shape legend: T = sequence length, V = vocabulary, Y = labels (num_labels), B = batch, H = hidden size.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------------------- numerics


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax computed in float64 for stable scores, returned as float64."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-x))


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean over the positions the attention mask keeps (special tokens included), per row.

    hidden: [B, T, H]; attention_mask: [B, T] of 0/1. Returns [B, H]. This is the pooling of
    sentence-transformers models such as all-MiniLM-L6-v2.
    """
    mask = np.asarray(attention_mask, dtype=hidden.dtype)[..., None]  # [B, T, 1]
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


def l2_normalize(vectors: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norm, eps)


# --------------------------------------------------------------------------------------- fill-mask


def fill_mask(
    logits: np.ndarray,
    input_ids: Sequence[int],
    mask_token_id: int,
    decode: Callable[[list[int]], str],
    decode_sequence: Callable[[list[int]], str],
    top_k: int = 5,
    target_ids: Sequence[int] | None = None,
    special_ids: Collection[int] = (),
) -> list[list[dict[str, Any]]]:
    """Top-k candidates for every masked position of one input.

    logits: [T, V] masked-LM scores of this input (padding rows excluded or ignored).
    target_ids: restrict candidates to these vocabulary ids.
    special_ids: ids left out of each `sequence` ([CLS], [SEP], padding; the candidate too when it is one).
    Returns one list per mask, in order of position, of {score, token, token_str, sequence}; the
    sequence decodes the input with that mask filled in and the other masks kept as they are.
    """
    ids = list(int(i) for i in input_ids)
    positions = [i for i, t in enumerate(ids) if t == mask_token_id]
    if not positions:
        raise ValueError("no mask token found in the input; fill-mask needs at least one [MASK]")
    special = {int(i) for i in special_ids}
    results = []
    for position in positions:
        probs = softmax(logits[position])  # [V]
        candidates = np.arange(probs.shape[-1]) if target_ids is None else np.asarray(target_ids)
        k = min(top_k, len(candidates))
        order = candidates[np.argsort(-probs[candidates], kind="stable")[:k]]
        others = set(positions) - {position}
        answers = []
        for token in order:
            filled = list(ids)
            filled[position] = int(token)
            kept = [t for i, t in enumerate(filled) if i in others or t not in special]
            answers.append(
                {
                    "score": float(probs[token]),
                    "token": int(token),
                    "token_str": decode([int(token)]),
                    "sequence": decode_sequence(kept),
                }
            )
        results.append(answers)
    return results


# ----------------------------------------------------------------------------- text-classification


def classification_function(problem_type: str | None, num_labels: int, requested: str | None) -> str:
    """The score function, as Transformers 4.57 picks it: `requested` when given; else none for a
    regression head (the model's own output), sigmoid for multi-label or a single output, softmax otherwise.

    Raises ValueError for a requested function other than "softmax", "sigmoid" and "none".
    """
    if requested is not None:
        if requested not in ("softmax", "sigmoid", "none"):
            raise ValueError(f"function_to_apply must be 'softmax', 'sigmoid' or 'none', got {requested!r}")
        return requested
    if problem_type == "regression":
        return "none"
    if problem_type == "multi_label_classification" or num_labels == 1:
        return "sigmoid"
    return "softmax"


def text_classification(
    logits: np.ndarray, id2label: dict[int, str], function: str, top_k: int | None = 1
) -> list[dict[str, Any]]:
    """Labels with scores for one input, best first. logits: [Y]. top_k=None keeps every label."""
    if function == "softmax":
        scores = softmax(logits)
    elif function == "sigmoid":
        scores = sigmoid(logits)
    else:
        scores = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    return [{"label": id2label[int(i)], "score": float(scores[i])} for i in order]


# ---------------------------------------------------------------------------- token-classification

AGGREGATIONS = ("none", "simple", "first", "average", "max")


def _tag(label: str) -> tuple[str, str]:
    """("B" or "I", entity type) of an IOB label; labels without a prefix continue ("I")."""
    if label.startswith("B-"):
        return "B", label[2:]
    if label.startswith("I-"):
        return "I", label[2:]
    return "I", label


def token_classification(
    logits: np.ndarray,
    input_ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    special_tokens_mask: Sequence[int],
    word_ids: Sequence[int | None],
    text: str,
    id2label: dict[int, str],
    convert_ids_to_tokens: Callable[[list[int]], list[str]],
    convert_tokens_to_string: Callable[[list[str]], str],
    unk_token_id: int | None,
    aggregation_strategy: str = "none",
    ignore_labels: Sequence[str] = ("O",),
) -> list[dict[str, Any]]:
    """Entities of one text from per-token scores, with character offsets into `text`.

    logits: [T, Y]. offsets: (start, end) per token. word_ids: word index per token (None for specials).
    aggregation_strategy "none" returns {entity, score, index, word, start, end} per token;
    "simple" groups consecutive tokens of one entity (B-/I- aware) into {entity_group, score, word,
    start, end}; "first"/"average"/"max" first merge sub-word tokens into words (label of the first
    token / of the averaged scores / of the best-scoring token) and then group. Grouped words are joined
    by `convert_tokens_to_string`, which should read tokens as the tokenizer decodes them ('york.').
    """
    if aggregation_strategy not in AGGREGATIONS:
        raise ValueError(f"aggregation_strategy must be one of {AGGREGATIONS}, got {aggregation_strategy!r}")
    probs = softmax(logits)  # [T, Y]
    tokens = convert_ids_to_tokens([int(i) for i in input_ids])
    pre: list[dict[str, Any]] = []
    previous_word = None
    for index, token_id in enumerate(input_ids):
        if special_tokens_mask[index]:
            previous_word = None
            continue
        start, end = (int(offsets[index][0]), int(offsets[index][1]))
        word = tokens[index]
        if unk_token_id is not None and int(token_id) == unk_token_id:
            word = text[start:end]
        word_id = word_ids[index]
        is_subword = word_id is not None and word_id == previous_word
        previous_word = word_id
        pre.append(
            {
                "word": word,
                "scores": probs[index],
                "start": start,
                "end": end,
                "index": index,
                "is_subword": is_subword,
            }
        )

    if aggregation_strategy in ("none", "simple"):
        entities = []
        for item in pre:
            best = int(np.argmax(item["scores"]))
            entities.append(
                {
                    "entity": id2label[best],
                    "score": float(item["scores"][best]),
                    "index": item["index"],
                    "word": item["word"],
                    "start": item["start"],
                    "end": item["end"],
                }
            )
        if aggregation_strategy == "none":
            return [e for e in entities if e["entity"] not in ignore_labels]
    else:
        entities = _aggregate_words(pre, aggregation_strategy, id2label, convert_tokens_to_string)
    groups = _group_entities(entities, convert_tokens_to_string)
    return [g for g in groups if g["entity_group"] not in ignore_labels]


def _aggregate_words(
    pre: list[dict[str, Any]], strategy: str, id2label: dict[int, str], to_string: Callable[[list[str]], str]
) -> list[dict[str, Any]]:
    words: list[list[dict[str, Any]]] = []
    for item in pre:
        if words and item["is_subword"]:
            words[-1].append(item)
        else:
            words.append([item])
    entities = []
    for pieces in words:
        scores = np.stack([p["scores"] for p in pieces])  # [pieces, Y]
        if strategy == "first":
            word_scores = scores[0]
        elif strategy == "max":
            word_scores = scores[int(np.argmax(scores.max(axis=1)))]
        else:  # average
            word_scores = scores.mean(axis=0)
        best = int(np.argmax(word_scores))
        entities.append(
            {
                "entity": id2label[best],
                "score": float(word_scores[best]),
                "word": to_string([p["word"] for p in pieces]),
                "start": pieces[0]["start"],
                "end": pieces[-1]["end"],
            }
        )
    return entities


def _group_entities(
    entities: list[dict[str, Any]], to_string: Callable[[list[str]], str]
) -> list[dict[str, Any]]:
    groups: list[list[dict[str, Any]]] = []
    for entity in entities:
        bi, tag = _tag(entity["entity"])
        if groups:
            _, last_tag = _tag(groups[-1][-1]["entity"])
            if tag == last_tag and bi != "B":
                groups[-1].append(entity)
                continue
        groups.append([entity])
    return [
        {
            "entity_group": _tag(group[0]["entity"])[1],
            "score": float(np.mean([e["score"] for e in group])),
            "word": to_string([e["word"] for e in group]),
            "start": group[0]["start"],
            "end": group[-1]["end"],
        }
        for group in groups
    ]


# ------------------------------------------------------------------------------ question-answering


def answer_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    top_k: int,
    max_answer_len: int,
) -> tuple[list[tuple[int, int, float]], float]:
    """Best (start, end, score) token spans of one chunk, and the chunk's no-answer score.

    start_logits, end_logits: [T]. context_mask: [T] True where a token belongs to the context (the
    only tokens an answer may use). Scores are p_start * p_end under a softmax over the context tokens
    and [CLS] (position 0); the no-answer score is p_start[0] * p_end[0].
    """
    allowed = np.asarray(context_mask, dtype=bool).copy()
    allowed[0] = True  # [CLS] stays in the softmax: it is where "no answer" points
    start = np.where(allowed, np.asarray(start_logits, dtype=np.float64), -10000.0)
    end = np.where(allowed, np.asarray(end_logits, dtype=np.float64), -10000.0)
    p_start, p_end = softmax(start), softmax(end)
    null_score = float(p_start[0] * p_end[0])
    p_start[0] = p_end[0] = 0.0
    outer = np.outer(p_start, p_end)  # [T, T]: score of span (i, j)
    candidates = np.tril(np.triu(outer), max_answer_len - 1)  # j >= i and j - i < max_answer_len
    flat = candidates.ravel()
    order = np.argsort(-flat, kind="stable")
    spans = []
    context = np.asarray(context_mask, dtype=bool)
    for flat_index in order:
        if len(spans) >= top_k or flat[flat_index] <= 0.0:
            break
        i, j = divmod(int(flat_index), candidates.shape[1])
        if context[i] and context[j]:
            spans.append((i, j, float(flat[flat_index])))
    return spans, null_score


def _char_spans(chunk: dict[str, Any], align_to_words: bool) -> list[tuple[int, int]]:
    """(start, end) characters of each token of a chunk, widened to its whole word with align_to_words."""
    spans = [(int(s), int(e)) for s, e in chunk["offsets"]]
    if not align_to_words:
        return spans
    if chunk.get("word_ids") is None:
        raise ValueError(
            "align_to_words needs the word_ids of every chunk (the tokenizer's word index per token)"
        )
    words: dict[int, tuple[int, int]] = {}
    context = np.asarray(chunk["context_mask"], dtype=bool)
    for index, word in enumerate(chunk["word_ids"]):
        if word is not None and context[index]:
            start, end = words.get(word, spans[index])
            words[word] = (min(start, spans[index][0]), max(end, spans[index][1]))
    return [
        words[word] if word is not None and context[i] else spans[i]
        for i, word in enumerate(chunk["word_ids"])
    ]


def question_answering(
    chunks: list[dict[str, Any]],
    context: str,
    top_k: int = 1,
    max_answer_len: int = 15,
    handle_impossible_answer: bool = False,
    align_to_words: bool = True,
) -> list[dict[str, Any]]:
    """Answers of one (question, context) pair from all its chunks, best first.

    chunks: per chunk {start_logits [T], end_logits [T], offsets [(s, e)] * T, context_mask [T], and
    word_ids [T] (the tokenizer's word index per token) for align_to_words}.
    Each chunk proposes its best 2 * top_k + 10 token spans (top_k without align_to_words), as
    Transformers does; align_to_words widens a span to the whole words of its first and last tokens.
    Token spans that give the same characters (widened to the same words, or found again in an
    overlapping chunk) are one answer whose score is the sum of theirs, as in Transformers (which also
    merges equal texts at different places; here those stay apart). Returns up to top_k
    {score, start, end, answer} with character offsets into `context`; with handle_impossible_answer the
    empty answer {score, start: 0, end: 0, answer: ""} competes, scored by the lowest no-answer score
    over the chunks.
    """
    if max_answer_len < 1:
        raise ValueError(f"max_answer_len must be >= 1, got {max_answer_len}")
    candidates = 2 * top_k + 10 if align_to_words else top_k
    best: dict[tuple[int, int], float] = {}
    min_null = 1.0
    for chunk in chunks:
        spans, null_score = answer_spans(
            chunk["start_logits"], chunk["end_logits"], chunk["context_mask"], candidates, max_answer_len
        )
        min_null = min(min_null, null_score)
        chars = _char_spans(chunk, align_to_words)
        for i, j, score in spans:
            key = (chars[i][0], chars[j][1])
            best[key] = best.get(key, 0.0) + score
    answers = [
        {"score": score, "start": start, "end": end, "answer": context[start:end]}
        for (start, end), score in best.items()
    ]
    if handle_impossible_answer:
        answers.append({"score": min_null, "start": 0, "end": 0, "answer": ""})
    answers.sort(key=lambda a: -a["score"])
    return answers[:top_k]


# ------------------------------------------------------------------------ next-sentence-prediction


def next_sentence(logits: np.ndarray) -> dict[str, Any]:
    """{is_next, score} for one pair. logits: [2], index 0 = "B follows A". score is the probability of
    the verdict given in is_next."""
    probs = softmax(logits)
    is_next = bool(probs[0] >= probs[1])
    return {"is_next": is_next, "score": float(probs[0] if is_next else probs[1])}
