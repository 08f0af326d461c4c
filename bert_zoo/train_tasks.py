"""The five tasks of `bert-zoo train` as numpy: tokenized examples, a collate function per micro-batch
(the collators of bert_common.collators) and the evaluation metrics of each task.

    task = BUILDERS[args.task](args, tokenizer, train_rows, eval_rows, pad_to_multiple_of)
    task.collate(rows [B], micro_index) -> {"input_ids": [B, T], ..., labels}
    task.evaluate(predict) -> {"loss": ..., "accuracy": ...}

| task | head | metrics |
| --- | --- | --- |
| pretraining | BertForPreTraining (MLM + NSP) | loss, mlm_loss, perplexity, nsp_accuracy |
| mlm | BertForMaskedLM | loss, perplexity (exp of the mean loss per masked token) |
| text-classification | BertForSequenceClassification | loss, accuracy, f1 (macro) |
| token-classification | BertForTokenClassification | loss, precision, recall, f1 (entity spans), accuracy |
| question-answering | BertForQuestionAnswering | loss, exact_match, f1 (SQuAD v1.1, percent) |

Token labels go on the first sub-token of each word (the others and the special tokens get -100), as
run_ner.py; QA features follow run_qa.py (question first, context truncated "only_second" with a stride,
answers outside a window point at [CLS]); eval predictions take the best start + end logit span of at
most 30 tokens inside the context over all windows of an example.

Shape legend: B batch, T tokens, V vocabulary, Y labels (num_labels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bert_common import metrics
from bert_common.collators import DataCollatorForLanguageModeling, DataCollatorWithPadding
from bert_common.pretraining_data import create_pretraining_examples
from bert_zoo import CliError
from bert_zoo.train_data import documents, label_names, resolve_columns

HEADS = {
    "pretraining": "BertForPreTraining",
    "mlm": "BertForMaskedLM",
    "text-classification": "BertForSequenceClassification",
    "token-classification": "BertForTokenClassification",
    "question-answering": "BertForQuestionAnswering",
}
MAX_ANSWER_TOKENS = 30  # run_qa.py's max_answer_length
Predict = Callable[[dict[str, np.ndarray]], dict[str, Any]]


@dataclass
class Task:
    """One task's data: train examples (dicts of python lists), the collate function and evaluation."""

    head: str
    train: list[dict[str, Any]]
    collate_examples: Callable[[list[dict[str, Any]], int], dict[str, np.ndarray]]
    evaluate: Callable[[Predict], dict[str, float]] | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def collate(self, rows: np.ndarray, micro_index: int) -> dict[str, np.ndarray]:
        """The numpy batch of the examples `rows` [B]; `micro_index` seeds its masks."""
        return self.collate_examples([self.train[int(i)] for i in rows], micro_index)


def _columns(args: Any, rows: Any, path: str) -> dict[str, Any]:
    return {
        role: (None if name is None else rows[name])
        for role, name in resolve_columns(args, rows, path).items()
    }


def _batches(examples: list[Any], size: int) -> list[list[Any]]:
    return [examples[i : i + size] for i in range(0, len(examples), size)]


def _feature_dicts(encoding: Any) -> list[dict[str, Any]]:
    keys = [k for k in encoding.keys() if k not in ("offset_mapping", "overflow_to_sample_mapping")]
    return [{k: encoding[k][i] for k in keys} for i in range(len(encoding["input_ids"]))]


def _pad_labels(batch: dict[str, Any], labels: list[list[int]]) -> dict[str, Any]:
    width = batch["input_ids"].shape[1]
    batch["labels"] = np.array([row + [-100] * (width - len(row)) for row in labels], dtype=np.int64)
    return batch


def _masked_lm(args: Any, tokenizer: Any, multiple: int | None) -> Callable[[list[Any], int], dict]:
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, pad_to_multiple_of=multiple, seed=args.seed
    )

    def collate(examples: list[Any], micro_index: int) -> dict[str, np.ndarray]:
        # Each micro-batch's masks come from (seed, its running number): resumable, order-free.
        # (negative numbers: the fixed masks of the evaluation batches)
        stream = [args.seed, 0, micro_index] if micro_index >= 0 else [args.seed, 1, -micro_index]
        collator.generator = np.random.default_rng(stream)
        return collator(examples)

    return collate


def _lm_evaluate(collate: Callable, examples: list[Any], size: int, pretraining: bool) -> Callable:
    def evaluate(predict: Predict) -> dict[str, float]:
        nll = tokens = loss = rows = nsp_right = 0.0
        for n, chunk in enumerate(_batches(examples, size)):
            batch = collate(chunk, -1 - n)  # fixed masks, apart from the training ones
            out = predict(batch)
            logits = out["prediction_logits" if pretraining else "logits"].astype(np.float64)
            labels = batch["labels"]
            chosen = labels != -100
            shifted = logits - logits.max(-1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
            nll -= float(
                np.take_along_axis(logp, np.where(chosen, labels, 0)[..., None], -1)[..., 0][chosen].sum()
            )
            tokens += float(chosen.sum())
            loss += float(out["loss"]) * len(chunk)
            rows += len(chunk)
            if pretraining:
                guess = out["seq_relationship_logits"].argmax(-1)
                nsp_right += float(np.sum(guess == batch["next_sentence_label"]))
        mlm_loss = nll / max(tokens, 1.0)
        result = {"loss": loss / rows, "perplexity": metrics.perplexity(mlm_loss)}
        if pretraining:
            result.update(mlm_loss=mlm_loss, nsp_accuracy=nsp_right / rows)
        return result

    return evaluate


def _mean_loss(outputs: list[tuple[int, dict[str, Any]]]) -> float:
    return sum(float(out["loss"]) * n for n, out in outputs) / sum(n for n, _ in outputs)


def _run(predict: Predict, batches: list[dict[str, np.ndarray]]) -> list[tuple[int, dict[str, Any]]]:
    return [(len(batch["input_ids"]), predict(batch)) for batch in batches]


def _language_modelling(args: Any, tokenizer: Any, train: Any, valid: Any, multiple: int | None) -> Task:
    collate = _masked_lm(args, tokenizer, multiple)
    pretraining = args.task == "pretraining"

    def examples(rows: Any, path: str) -> list[dict[str, Any]]:
        lines = _columns(args, rows, path)["text"]
        if pretraining:
            docs = documents(lines)
            if len(docs) < 2:
                raise CliError(
                    f"{path}: pretraining needs at least two documents (separated by an empty line)"
                )
            return create_pretraining_examples(docs, tokenizer, args.max_seq_length, seed=args.seed)
        texts = [line for line in lines if line and line.strip()]
        if not texts:
            raise CliError(f"{path}: no text to train on")
        encoded = tokenizer(
            texts, truncation=True, max_length=args.max_seq_length, return_special_tokens_mask=True
        )
        return _feature_dicts(encoded)

    task = Task(HEADS[args.task], examples(train, args.train_file), collate)
    if valid is not None:
        task.evaluate = _lm_evaluate(
            collate, examples(valid, args.validation_file), args.per_device_eval_batch_size, pretraining
        )
    return task


def _labelled_task(
    args: Any,
    cols: dict[str, Any],
    valid: Any,
    names: list[str],
    examples: Callable[[dict[str, Any], str], list[dict[str, Any]]],
    collate: Callable[[list[Any], int], dict[str, np.ndarray]],
    score: Callable[[list[dict[str, np.ndarray]], list[Any]], dict[str, float]],
) -> Task:
    """The Task of a head trained on labels (sequence or token classification): the training examples,
    the label maps as model kwargs, and with a validation file an `evaluate` that runs its batches and
    returns the mean loss plus `score(batches, outputs)`."""
    task = Task(HEADS[args.task], examples(cols, args.train_file), collate)
    label2id = {name: i for i, name in enumerate(names)}
    task.model_kwargs = {"num_labels": len(names), "id2label": dict(enumerate(names)), "label2id": label2id}
    if valid is not None:
        rows = examples(_columns(args, valid, args.validation_file), args.validation_file)
        batches = [collate(b, 0) for b in _batches(rows, args.per_device_eval_batch_size)]

        def evaluate(predict: Predict) -> dict[str, float]:
            outputs = _run(predict, batches)
            return {"loss": _mean_loss(outputs), **score(batches, outputs)}

        task.evaluate = evaluate
    return task


def _classification(args: Any, tokenizer: Any, train: Any, valid: Any, multiple: int | None) -> Task:
    padder = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple)
    cols = _columns(args, train, args.train_file)
    names = label_names(list(cols["label"]), args.train_file)
    label2id = {name: i for i, name in enumerate(names)}

    def examples(columns: dict[str, Any], path: str) -> list[dict[str, Any]]:
        unknown = sorted({str(v) for v in columns["label"]} - set(names))
        if unknown:
            raise CliError(f"{path}: labels {unknown[:5]} do not occur in the training file")
        pairs = columns["pair"]
        encoded = tokenizer(
            list(columns["text"]),
            None if pairs is None else list(pairs),
            truncation=True,
            max_length=args.max_seq_length,
        )
        rows = _feature_dicts(encoded)
        for row, label in zip(rows, columns["label"]):
            row["labels"] = label2id[str(label)]
        return rows

    def collate(chunk: list[Any], _micro: int) -> dict[str, np.ndarray]:
        return dict(padder(chunk))

    def score(batches: list[dict[str, np.ndarray]], outputs: list[Any]) -> dict[str, float]:
        guess = np.concatenate([out["logits"].argmax(-1) for _, out in outputs])
        truth = np.concatenate([b["labels"] for b in batches])
        return metrics.classification_metrics(guess, truth)

    return _labelled_task(args, cols, valid, names, examples, collate, score)


def _token_classification(args: Any, tokenizer: Any, train: Any, valid: Any, multiple: int | None) -> Task:
    padder = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple)
    cols = _columns(args, train, args.train_file)
    names = label_names([tag for tags in cols["label"] for tag in tags], args.train_file)
    label2id = {name: i for i, name in enumerate(names)}

    def examples(columns: dict[str, Any], path: str) -> list[dict[str, Any]]:
        words, tags = list(columns["text"]), list(columns["label"])
        for n, (w, t) in enumerate(zip(words, tags)):
            if len(w) != len(t):
                raise CliError(f"{path}: row {n} has {len(w)} words but {len(t)} tags")
        encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=args.max_seq_length)
        rows = _feature_dicts(encoded)
        for i, row in enumerate(rows):
            labels, previous = [], None
            for word in encoded.word_ids(i):
                labels.append(
                    -100 if word is None or word == previous else label2id.get(str(tags[i][word]), -1)
                )
                previous = word
            if -1 in labels:
                raise CliError(f"{path}: row {i} has a tag that does not occur in the training file")
            row["labels"] = labels
        return rows

    def collate(chunk: list[Any], _micro: int) -> dict[str, np.ndarray]:
        batch = dict(padder([{k: v for k, v in row.items() if k != "labels"} for row in chunk]))
        return _pad_labels(batch, [row["labels"] for row in chunk])

    def score(batches: list[dict[str, np.ndarray]], outputs: list[Any]) -> dict[str, float]:
        truth, guess = [], []
        for batch, (_, out) in zip(batches, outputs):
            for labels, logits in zip(batch["labels"], out["logits"]):
                keep = labels != -100
                truth.append([names[i] for i in labels[keep]])
                guess.append([names[i] for i in logits.argmax(-1)[keep]])
        return metrics.span_f1(truth, guess)

    return _labelled_task(args, cols, valid, names, examples, collate, score)


BUILDERS = {
    "pretraining": _language_modelling,
    "mlm": _language_modelling,
    "text-classification": _classification,
    "token-classification": _token_classification,
}
