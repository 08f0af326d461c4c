"""Extractive question answering for `bert-zoo train`: SQuAD-style rows to windows and back to answers.

Training windows follow run_qa.py's prepare_train_features: the question first, the context truncated
"only_second" to --max-seq-length with --doc-stride tokens shared between windows, every window padded
to --max-seq-length; the answer's first and last tokens are the labels, or [CLS] (position 0) when the
answer is not inside the window. Evaluation scores each example's best span over its windows: start and
end inside the context, end >= start, at most 30 tokens, the highest start + end logit; the answer text
is cut from the context by the tokens' character offsets, and scored with SQuAD v1.1 exact match / F1.

Shape legend: B batch (windows), T tokens (--max-seq-length).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bert_common import metrics
from bert_zoo import CliError
from bert_zoo.train_tasks import HEADS, MAX_ANSWER_TOKENS, Predict, Task, _batches, _columns, _mean_loss, _run

_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def _answers(value: Any, row: int, path: str) -> tuple[list[str], list[int]]:
    if not isinstance(value, dict) or "text" not in value or "answer_start" not in value:
        raise CliError(
            f'{path}: row {row}: answers must be {{"text": [...], "answer_start": [...]}}, got {value!r:.80}'
        )
    return list(value["text"]), [int(start) for start in value["answer_start"]]


def _windows(args: Any, tokenizer: Any, columns: dict[str, Any], path: str) -> tuple[Any, list[int]]:
    if args.doc_stride >= args.max_seq_length:
        raise CliError(f"--doc-stride {args.doc_stride} must be below --max-seq-length {args.max_seq_length}")
    encoded = tokenizer(
        [q.lstrip() for q in columns["question"]],
        list(columns["context"]),
        truncation="only_second",
        max_length=args.max_seq_length,
        stride=args.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    return encoded, list(encoded["overflow_to_sample_mapping"])


def _positions(encoded: Any, i: int, start_char: int, end_char: int) -> tuple[int, int]:
    """(start token, end token) of characters [start_char, end_char) in window i, or (0, 0)."""
    offsets, sequence = encoded["offset_mapping"][i], encoded.sequence_ids(i)
    context = [t for t, s in enumerate(sequence) if s == 1]
    if not context or offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return 0, 0
    start = next(t for t in context if offsets[t][1] > start_char)
    end = next(t for t in reversed(context) if offsets[t][0] < end_char)
    return start, end


def _train_examples(args: Any, tokenizer: Any, rows: Any, path: str) -> list[dict[str, Any]]:
    columns = _columns(args, rows, path)
    encoded, sample = _windows(args, tokenizer, columns, path)
    examples = []
    for i, s in enumerate(sample):
        texts, starts = _answers(columns["answers"][s], s, path)
        start = end = 0
        if texts:
            start, end = _positions(encoded, i, starts[0], starts[0] + len(texts[0]))
        example = {k: encoded[k][i] for k in _INPUTS}
        example.update(start_positions=start, end_positions=end)
        examples.append(example)
    return examples


def _collate(chunk: list[dict[str, Any]], _micro: int = 0) -> dict[str, np.ndarray]:
    # every window is already max_seq_length long: stacking is the padding
    return {k: np.asarray([row[k] for row in chunk], dtype=np.int64) for k in chunk[0]}


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, offsets: list[tuple[int, int]], sequence: list[Any]
) -> tuple[float, tuple[int, int] | None]:
    """(score, (first char, end char)) of the best answer in one window: start/end tokens inside the
    context (sequence id 1), start <= end < start + 30, highest start + end logit; (-inf, None) when the
    window offers none. start_logits, end_logits [T]."""
    context = np.array([s == 1 for s in sequence])
    best, span = -np.inf, None
    starts = [int(t) for t in np.argsort(start_logits)[::-1][:20] if context[t]]
    ends = [int(t) for t in np.argsort(end_logits)[::-1][:20] if context[t]]
    for s in starts:
        for e in ends:
            if s <= e < s + MAX_ANSWER_TOKENS and start_logits[s] + end_logits[e] > best:
                best, span = float(start_logits[s] + end_logits[e]), (offsets[s][0], offsets[e][1])
    return best, span


def question_answering(args: Any, tokenizer: Any, train: Any, valid: Any, multiple: int | None) -> Task:
    """The QA task (see the module docstring); `multiple` is unused: windows have a fixed length.

    Raises:
        CliError: missing columns, answers that are not SQuAD dicts, --doc-stride >= --max-seq-length.
    """
    task = Task(
        HEADS["question-answering"], _train_examples(args, tokenizer, train, args.train_file), _collate
    )
    if valid is None:
        return task
    path = args.validation_file
    columns = _columns(args, valid, path)
    encoded, sample = _windows(args, tokenizer, columns, path)
    labelled = _train_examples(args, tokenizer, valid, path)
    gold = [_answers(value, n, path)[0] for n, value in enumerate(columns["answers"])]
    contexts = list(columns["context"])

    def evaluate(predict: Predict) -> dict[str, float]:
        outputs = _run(
            predict, [_collate(chunk) for chunk in _batches(labelled, args.per_device_eval_batch_size)]
        )
        start = np.concatenate([out["start_logits"] for _, out in outputs])
        end = np.concatenate([out["end_logits"] for _, out in outputs])
        best: dict[int, tuple[float, str]] = {}
        for i, s in enumerate(sample):
            score, span = best_span(start[i], end[i], encoded["offset_mapping"][i], encoded.sequence_ids(i))
            if span is not None and score > best.get(s, (-np.inf, ""))[0]:
                best[s] = (score, contexts[s][span[0] : span[1]])
        answered = [n for n in range(len(gold)) if gold[n]]
        if not answered:
            raise CliError(f"{path}: no question has a gold answer to score")
        scores = metrics.squad_metrics(
            [best.get(n, (0.0, ""))[1] for n in answered], [gold[n] for n in answered]
        )
        return {"loss": _mean_loss(outputs), **scores}

    task.evaluate = evaluate
    return task
