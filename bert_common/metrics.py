"""Evaluation metrics of the training tasks, numpy only, with the definitions users compare against.

    classification_metrics(predictions [B], labels [B]) -> {"accuracy", "f1"}       (f1: macro, sklearn's)
    entity_spans(tags) -> [(type, first, last)]                                    (seqeval's default mode)
    span_f1(true_tags, pred_tags) -> {"precision", "recall", "f1", "accuracy"}      (seqeval's micro average)
    squad_metrics(predictions, references) -> {"exact_match", "f1"}               (SQuAD v1.1, in percent)
    perplexity(mean_loss) -> exp(loss)                                            (run_mlm.py's definition)

Sources: macro F1 follows sklearn.metrics.f1_score(average="macro") (labels present in either array, an
undefined F1 counts 0); entity spans follow seqeval.metrics.sequence_labeling.get_entities (conlleval
rules: an I- after O or after another type starts an entity, IOB1/IOB2/IOBES tags); the SQuAD numbers are
the official v1.1 evaluation script's normalize_answer / exact_match / f1 (max over the gold answers).

Shape legend: B batch (examples; tokens for tag sequences).
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence

import numpy as np

__all__ = [
    "classification_metrics",
    "entity_spans",
    "normalize_answer",
    "perplexity",
    "span_f1",
    "squad_metrics",
]


def _same_length(name: str, first: Sequence, second: Sequence) -> None:
    if len(first) != len(second):
        raise ValueError(f"{name}: {len(first)} predictions but {len(second)} references")


def classification_metrics(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro F1 of class ids. predictions [B], labels [B] (integers).

    Returns {"accuracy": fraction correct, "f1": unweighted mean over the classes found in either array
    of each class' F1 (0 where precision + recall is 0)}.

    Raises:
        ValueError: the arrays differ in length or are empty.
    """
    pred, true = np.asarray(predictions).reshape(-1), np.asarray(labels).reshape(-1)
    _same_length("classification_metrics", pred, true)
    if pred.size == 0:
        raise ValueError("classification_metrics: no examples to score")
    scores = []
    for label in np.union1d(pred, true):
        hit = float(np.sum((pred == label) & (true == label)))
        denominator = float(np.sum(pred == label) + np.sum(true == label))
        scores.append(2 * hit / denominator if denominator else 0.0)
    return {"accuracy": float(np.mean(pred == true)), "f1": float(np.mean(scores))}


def _split_tag(tag: str) -> tuple[str, str]:
    """("B"/"I"/"E"/"S"/"O", entity type) of a tag such as "B-PER"; "O" has type "_" like seqeval."""
    return tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entity_spans(tags: Sequence[str] | Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """The entities of a tag sequence as (type, first index, last index), inclusive, in order.

    A list of sentences is read as one sequence with an "O" between sentences (seqeval's convention), so
    indices run over the concatenation.

    Raises:
        ValueError: an empty tag string.
    """
    if tags and not isinstance(tags[0], str):
        flat: list[str] = []
        for sentence in tags:
            flat.extend([*sentence, "O"])
        tags = flat
    spans = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate([*tags, "O"]):
        if not chunk:
            raise ValueError(f"entity_spans: tag {i} is an empty string")
        tag, type_ = _split_tag(chunk)
        if _ends(prev_tag, tag, prev_type, type_):
            spans.append((prev_type, begin, i - 1))
        if _starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return spans


def span_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1 (micro over entities: exact type and boundaries), and the
    token accuracy, of sentences of tags (seqeval's classification numbers, as run_ner.py reports them).

    true_tags, pred_tags: one list of tags per sentence, sentence by sentence of equal length.
    Returns {"precision", "recall", "f1", "accuracy"}; a ratio with a zero denominator is 0.

    Raises:
        ValueError: the sentences or their lengths differ, or there are no tokens.
    """
    _same_length("span_f1", pred_tags, true_tags)
    for n, (pred, true) in enumerate(zip(pred_tags, true_tags)):
        if len(pred) != len(true):
            raise ValueError(
                f"span_f1: sentence {n} has {len(pred)} predicted tags but {len(true)} gold tags"
            )
    tokens = sum(len(true) for true in true_tags)
    if tokens == 0:
        raise ValueError("span_f1: no tokens to score")
    gold, found = set(entity_spans(list(true_tags))), set(entity_spans(list(pred_tags)))
    correct = len(gold & found)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    same = sum(p == t for pred, true in zip(pred_tags, true_tags) for p, t in zip(pred, true))
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": same / tokens}


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalization: lower case, no punctuation, no articles (a, an, the), single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _token_f1(prediction: str, truth: str) -> float:
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """SQuAD v1.1 exact match and token F1 in percent (0-100), each the mean over questions of the best
    score against that question's gold answers.

    predictions: one answer text per question. references: the gold answer texts of each question.

    Raises:
        ValueError: the lengths differ, there are no questions, or a question has no gold answer.
    """
    _same_length("squad_metrics", predictions, references)
    if not predictions:
        raise ValueError("squad_metrics: no questions to score")
    exact = f1 = 0.0
    for n, (prediction, truths) in enumerate(zip(predictions, references)):
        if not truths:
            raise ValueError(f"squad_metrics: question {n} has no gold answer")
        exact += max(float(normalize_answer(prediction) == normalize_answer(t)) for t in truths)
        f1 += max(_token_f1(prediction, t) for t in truths)
    return {"exact_match": 100.0 * exact / len(predictions), "f1": 100.0 * f1 / len(predictions)}


def perplexity(mean_loss: float) -> float:
    """exp(mean cross-entropy in nats), inf where it overflows (run_mlm.py's perplexity).

    Raises:
        ValueError: a NaN loss.
    """
    if math.isnan(mean_loss):
        raise ValueError("perplexity: the loss is NaN")
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf
