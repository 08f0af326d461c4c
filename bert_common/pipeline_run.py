"""The `Pipeline` object: the task registry, batching, padding and streaming, written once.

A `Pipeline` holds a tokenizer, the model config and a *runner*: a function that takes a batch of numpy
model inputs and returns the model's outputs as numpy arrays. It asks the task's handler
(`bert_common.pipeline_tasks`, `bert_common.pipeline_spans`) for the features of each input, runs them
through the runner in padded batches of `batch_size` (`collate`), and hands each input's outputs back
to the handler for its answer. `bert_common.pipelines.build_pipeline` builds one for every twin.

As in Transformers 4.57: one input gives one answer and a list gives a list (text-classification wraps
the answer for one text in a list, fill-mask and question-answering answer a list of one alone); any
other iterable (a generator, a `datasets` column) gives an iterator that reads `batch_size` inputs at a
time and yields their answers one by one. Every task truncates its inputs to the model's limit,
`Pipeline.max_length` = min(tokenizer `model_max_length`, config `max_position_embeddings`), unless
called with truncation=False; question answering splits long contexts into chunks instead, and
token-classification with `stride=` reads long texts in overlapping windows.

Tasks: fill-mask, text-classification (alias sentiment-analysis), token-classification (alias ner),
question-answering, feature-extraction, next-sentence-prediction.

Shape legend: B = features in one model call (at most batch_size), T = tokens (padded to the longest
feature of the call), H = hidden size.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import HEADS
from bert_common.pipeline_spans import QuestionAnsweringHandler, TokenClassificationHandler
from bert_common.pipeline_tasks import (
    MISSING,
    FeatureExtractionHandler,
    FillMaskHandler,
    NextSentenceHandler,
    TaskHandler,
    TextClassificationHandler,
)

Runner = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class TaskSpec:
    """A pipeline task: the head it runs and the output fields it reads."""

    name: str
    head: str
    outputs: tuple[str, ...]
    description: str


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("fill-mask", "BertForMaskedLM", ("logits",), "top-k tokens for each [MASK]"),
        TaskSpec("text-classification", "BertForSequenceClassification", ("logits",), "labels with scores"),
        TaskSpec("token-classification", "BertForTokenClassification", ("logits",), "entities with offsets"),
        TaskSpec(
            "question-answering", "BertForQuestionAnswering", ("start_logits", "end_logits"), "answer spans"
        ),
        TaskSpec("feature-extraction", "BertModel", ("last_hidden_state",), "token or sentence embeddings"),
        TaskSpec("next-sentence-prediction", "BertForNextSentencePrediction", ("logits",), "does B follow A"),
    )
}
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}


class UntrainedHeadError(ValueError):
    """The checkpoint has no trained weights for the head a task needs."""


def get_task(name: str) -> TaskSpec:
    """The task called `name` (aliases accepted).

    Raises TypeError for a name that is not a string, ValueError (listing the known tasks) for an
    unknown one.
    """
    if not isinstance(name, str):
        raise TypeError(f"task must be a string, got {type(name).__name__}")
    key = TASK_ALIASES.get(name, name)
    if key not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[key]


def check_head_is_trained(task: TaskSpec, missing_keys: Sequence[str], source: str) -> None:
    """Raise UntrainedHeadError when any weight of the task's head was missing from the checkpoint."""
    head = HEADS[task.head]
    # a head that reads the pooled output depends on the pooler too (a token-classification checkpoint
    # has a `classifier` of the right shape for text classification, but no trained pooler)
    prefixes = (*head.head_prefixes, *(("bert.pooler.",) if head.pooler and head.head_prefixes else ()))
    untrained = [k for k in missing_keys if k.startswith(prefixes)]
    if untrained:
        raise UntrainedHeadError(
            f"{source} has no trained weights for the {task.name} head ({task.head}): "
            f"{len(untrained)} weights such as {untrained[0]!r} would be random; use a checkpoint fine-tuned "
            "for this task"
        )


def _check_batch_size(batch_size: Any) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def _is_stream(inputs: Any) -> bool:
    """A generator, a dataset column or any other iterable that is not one input or a list of them."""
    return (
        inputs is not MISSING
        and isinstance(inputs, Iterable)
        and not isinstance(inputs, (str, bytes, Mapping, list, tuple))
    )


class Pipeline:
    """Runs a task on texts with any twin's model.

    task: a name of TASKS (or alias). runner: batch of numpy inputs -> numpy outputs.
    tokenizer: a bert_common tokenizer (BertTokenizerFast for offsets). config: the model's BertConfig.
    framework: "pt", "tf" or "flax" (for messages). batch_size: features per model call.
    defaults: task parameters used when a call does not give them (e.g. top_k).
    """

    def __init__(
        self,
        task: str,
        runner: Runner,
        tokenizer: Any,
        config: BertConfig,
        *,
        framework: str,
        batch_size: int = 8,
        model: Any = None,
        **defaults: Any,
    ) -> None:
        self.task = get_task(task)
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.framework = framework
        self.batch_size = _check_batch_size(batch_size)
        self.model = model
        self._handler: TaskHandler = HANDLERS[self.task.name]
        self.defaults = self._handler.check_params(defaults)
        self._handler.check_against(self, self.defaults)

    def __repr__(self) -> str:
        return (
            f"Pipeline(task={self.task.name!r}, framework={self.framework!r}, batch_size={self.batch_size})"
        )

    @property
    def max_length(self) -> int:
        """The longest input the model takes: min(tokenizer model_max_length, max_position_embeddings)."""
        return min(int(self.tokenizer.model_max_length), int(self.config.max_position_embeddings))

    def __call__(self, inputs: Any = MISSING, *, batch_size: int | None = None, **params: Any) -> Any:
        """Answers for one input, a list of answers for a list, an iterator of answers for any other
        iterable (a generator, a dataset column), read `batch_size` inputs at a time.

        inputs: what the task takes (see TASKS); question-answering also takes question=/context=
        keywords (strings or lists). batch_size: inputs per model call (default: the pipeline's).
        params: the task's parameters, over the pipeline's defaults.

        Raises:
            TypeError: no inputs, inputs of the wrong kind, an unknown parameter.
            ValueError: a bad parameter value, an input the task cannot use, or (with truncation=False)
                an input longer than the model's max_position_embeddings. For an iterator, errors of
                the inputs themselves come when their answers are read.
        """
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        keywords = {k: params.pop(k) for k in self._handler.input_keywords if k in params}
        call_params = self._handler.check_params(params)
        params = {**self.defaults, **call_params}
        self._handler.check_against(self, params)
        if _is_stream(inputs) and not keywords:
            return self._stream(iter(inputs), params, batch_size)
        try:
            single, items = self._handler.gather(inputs, keywords)
        except TypeError as err:
            raise TypeError(f"{self.task.name}: {err}") from None
        if not items:
            raise ValueError(f"{self.task.name}: no inputs given")
        results = self._answer(items, params, batch_size)
        return self._handler.shape(inputs, single, results, call_params)

    def _answer(self, items: list[Any], params: Mapping[str, Any], batch_size: int) -> list[Any]:
        """One answer per item, the model run in padded batches."""
        prepared = [self._handler.prepare(self, item, params) for item in items]
        features = [f for p in prepared for f in p.features]
        longest = max(len(f["input_ids"]) for f in features)
        if longest > self.config.max_position_embeddings:
            raise ValueError(
                f"{self.task.name}: an input of {longest} tokens is longer than the model's "
                f"max_position_embeddings={self.config.max_position_embeddings}; call with truncation=True"
            )
        outputs = self._run(features, batch_size)
        results, cursor = [], 0
        for p in prepared:
            chunk = outputs[cursor : cursor + len(p.features)]
            cursor += len(p.features)
            results.append(self._handler.finish(self, p, chunk, params))
        return results

    def _stream(self, inputs: Iterator[Any], params: Mapping[str, Any], batch_size: int) -> Iterator[Any]:
        """Answers of an iterable, read `batch_size` inputs at a time, yielded one by one."""
        while chunk := list(itertools.islice(inputs, batch_size)):
            groups = []
            for element in chunk:
                try:
                    groups.append(self._handler.gather([element], {})[1])
                except TypeError as err:
                    hint = ""
                    if isinstance(element, Mapping):
                        hint = (
                            "; a datasets.Dataset gives its rows as dicts: pass one column, dataset['text']"
                        )
                    raise TypeError(f"{self.task.name}: {err}{hint}") from None
            answers = iter(self._answer([item for group in groups for item in group], params, batch_size))
            for group in groups:
                found = [next(answers) for _ in group]
                yield found[0] if len(found) == 1 else found

    def _run(self, features: list[dict[str, Any]], batch_size: int) -> list[dict[str, np.ndarray]]:
        """Model outputs for each feature, computed in padded batches of `batch_size`."""
        batches = [features[i : i + batch_size] for i in range(0, len(features), batch_size)]
        if len(batches) > 1 and sys.stdout.isatty():
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=self.task.name, unit="batch")
        per_feature: list[dict[str, np.ndarray]] = []
        for batch in batches:
            arrays = collate(batch, pad_token_id=self.tokenizer.pad_token_id)
            out = self.runner(arrays)
            missing = [name for name in self.task.outputs if name not in out]
            if missing:
                raise RuntimeError(f"the {self.framework} model returned no {missing} for {self.task.name}")
            for row, feature in enumerate(batch):
                length = len(feature["input_ids"])
                per_feature.append({name: np.asarray(out[name])[row][:length] for name in self.task.outputs})
        return per_feature


def collate(features: Sequence[Mapping[str, Sequence[int]]], pad_token_id: int) -> dict[str, np.ndarray]:
    """Right-pad features to the longest one: input_ids with the pad id, masks and types with 0.

    features: B dicts of id lists (input_ids, optional attention_mask / token_type_ids), each [T_i].
    Returns input_ids, attention_mask and token_type_ids as int64 arrays [B, T], T = max T_i.
    """
    length = max(len(f["input_ids"]) for f in features)
    batch = len(features)
    input_ids = np.full((batch, length), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((batch, length), dtype=np.int64)
    token_type_ids = np.zeros((batch, length), dtype=np.int64)
    for row, feature in enumerate(features):
        n = len(feature["input_ids"])
        input_ids[row, :n] = feature["input_ids"]
        attention_mask[row, :n] = feature.get("attention_mask", [1] * n)
        token_type_ids[row, :n] = feature.get("token_type_ids", [0] * n)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


HANDLERS: dict[str, TaskHandler] = {
    "fill-mask": FillMaskHandler(),
    "text-classification": TextClassificationHandler(),
    "token-classification": TokenClassificationHandler(),
    "question-answering": QuestionAnsweringHandler(),
    "feature-extraction": FeatureExtractionHandler(),
    "next-sentence-prediction": NextSentenceHandler(),
}
