"""The `Pipeline` object: the task registry, batching, padding and streaming, written once.

A `Pipeline` holds a tokenizer, the model config and a *runner*: a function that takes a batch of numpy
model inputs and returns the model's outputs as numpy arrays. It asks the task's handler
(`bert_common.pipeline_tasks`, `bert_common.pipeline_spans`) for the features of each input, runs them
through the runner in batches of `batch_size` (`bert_common.batching`: sorted by length, padded per
batch, to length buckets for twins that compile per shape, answers restored to input order), and hands
each input's outputs back to the handler for its answer. `bert_common.pipelines.build_pipeline` builds
one for every twin.

As in Transformers 4.57: one input gives one answer and a list gives a list (text-classification wraps
the answer for one text in a list, fill-mask and question-answering answer a list of one alone); any
other iterable (a generator, a `datasets` column) gives an iterator that reads `batch_size` inputs at a
time and yields their answers one by one. `Pipeline.answers` reads larger windows (by default 8
batches), sorts them by length across batches and yields one answer per input, in
input order, as the batches finish (what `bert-zoo run` writes). Every task truncates its inputs to the
model's limit, `Pipeline.max_length` = min(tokenizer `model_max_length`, config
`max_position_embeddings`), unless called with truncation=False; question answering splits long
contexts into chunks instead, and token-classification with `stride=` reads long texts in overlapping
windows. A progress bar (tqdm) shows on stderr when stderr is a terminal and more than one batch runs.

Tasks: fill-mask, text-classification (alias sentiment-analysis), token-classification (alias ner),
question-answering, feature-extraction, next-sentence-prediction.

Shape legend: B = features in one model call (at most batch_size), T = tokens (padded to the longest
feature of the call), H = hidden size.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bert_common.batching import Runner, in_input_order, run_batches
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

# Batches of inputs that `Pipeline.answers` reads and sorts by length at a time: sorted 8 batches at a
# time, short lines pad little, and the first answers come after at most 8 model calls.
ANSWER_WINDOW = 8


@dataclass(frozen=True)
class TaskSpec:
    """A pipeline task: the head it runs, the output fields it reads, and whether they have a token
    axis ([B, T, ...], cut back to each feature's length) or not ([B, Y])."""

    name: str
    head: str
    outputs: tuple[str, ...]
    description: str
    per_token: bool = True


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("fill-mask", "BertForMaskedLM", ("logits",), "top-k tokens for each [MASK]"),
        TaskSpec(
            "text-classification", "BertForSequenceClassification", ("logits",), "labels with scores", False
        ),
        TaskSpec("token-classification", "BertForTokenClassification", ("logits",), "entities with offsets"),
        TaskSpec(
            "question-answering", "BertForQuestionAnswering", ("start_logits", "end_logits"), "answer spans"
        ),
        TaskSpec("feature-extraction", "BertModel", ("last_hidden_state",), "token or sentence embeddings"),
        TaskSpec(
            "next-sentence-prediction", "BertForNextSentencePrediction", ("logits",), "does B follow A", False
        ),
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

    task: a name of TASKS (or alias). runner: batch of numpy inputs -> numpy outputs ([B, T] int64
    input_ids / attention_mask / token_type_ids in; the task's fields with B rows out).
    tokenizer: a bert_common tokenizer (BertTokenizerFast for offsets). config: the model's BertConfig.
    framework: "pt", "tf" or "flax" (for messages). batch_size: features per model call (default 8).
    static_shapes: pad every batch to a length bucket and a power-of-two row count
        (`bert_common.batching.padded_shape`), for runners that compile once per input shape (default
        False: padded to the batch's longest feature).
    padding_free_runner: the runner's model run padding-free, or None (default); when given, the
        batches where it is exact and pays run through it (`bert_common.batching.use_padding_free`).
    defaults: task parameters used when a call does not give them (e.g. top_k).

    Raises ValueError for a batch_size that is not a positive int, and the task's parameter errors.
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
        static_shapes: bool = False,
        padding_free_runner: Runner | None = None,
        **defaults: Any,
    ) -> None:
        self.task = get_task(task)
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.framework = framework
        self.batch_size = _check_batch_size(batch_size)
        self.model = model
        self.static_shapes = bool(static_shapes)
        self.padding_free_runner = padding_free_runner
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
        params = self._merged(call_params)
        if _is_stream(inputs) and not keywords:
            return self._stream(iter(inputs), params, batch_size, batch_size, _size(inputs))
        try:
            single, items = self._handler.gather(inputs, keywords)
        except TypeError as err:
            raise TypeError(f"{self.task.name}: {err}") from None
        if not items:
            raise ValueError(f"{self.task.name}: no inputs given")
        with self._progress(len(items), batch_size) as bar:
            results = []
            for answer in self._answers(items, params, batch_size):
                results.append(answer)
                bar.update(1)
        return self._handler.shape(inputs, single, results, call_params)

    def answers(
        self,
        inputs: Iterable[Any],
        *,
        batch_size: int | None = None,
        window: int | None = None,
        **params: Any,
    ) -> Iterator[Any]:
        """One answer per element of `inputs`, yielded in input order as soon as the batches holding
        it (and every earlier element) are done: what `bert-zoo run` writes line by line.

        inputs: an iterable of single inputs (texts, pair dicts, question-answering dicts): a list, a
            generator, a dataset column. batch_size: inputs per model call (default: the pipeline's).
        window: inputs read and sorted by length together (default: 8 batches, `ANSWER_WINDOW`); a
            larger window pads less, a smaller one answers sooner (the first answer waits for the
            batches of its window that hold it and every earlier input).
        params: the task's parameters, over the pipeline's defaults.

        Raises:
            TypeError: inputs that are not an iterable of inputs (one text, a dict).
            ValueError: a window or batch_size that is not a positive int; the task's parameter
                errors; an element's own errors, when its window is read.
        """
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        if not (_is_stream(inputs) or isinstance(inputs, (list, tuple))):
            raise TypeError(
                f"{self.task.name}: answers() takes an iterable of inputs, got {type(inputs).__name__}"
            )
        total = _size(inputs)
        window = batch_size * ANSWER_WINDOW if window is None else window
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        params = self._merged(self._handler.check_params(params))
        return self._stream(iter(inputs), params, batch_size, window, total)

    def _merged(self, call_params: Mapping[str, Any]) -> dict[str, Any]:
        """A call's checked parameters over the pipeline's defaults, checked against the model."""
        params = {**self.defaults, **call_params}
        self._handler.check_against(self, params)
        return params

    def _progress(self, total: int | None, batch_size: int) -> Any:
        """A tqdm bar of answered inputs on stderr, shown when stderr is a terminal and more than one
        batch (or an unknown number) will run; else a bar that draws nothing."""
        from tqdm.auto import tqdm

        show = sys.stderr.isatty() and (total is None or total > batch_size)
        return tqdm(total=total, desc=self.task.name, unit="input", file=sys.stderr, disable=not show)

    def _answers(self, items: list[Any], params: Mapping[str, Any], batch_size: int) -> Iterator[Any]:
        """One answer per item, in item order, each as soon as its batches are done. Every item is
        prepared (tokenized, checked) before the first model call."""
        prepared = [self._handler.prepare(self, item, params) for item in items]
        features = [f for p in prepared for f in p.features]
        longest = max(len(f["input_ids"]) for f in features)
        if longest > self.config.max_position_embeddings:
            raise ValueError(
                f"{self.task.name}: an input of {longest} tokens is longer than the model's "
                f"max_position_embeddings={self.config.max_position_embeddings}; call with truncation=True"
            )
        batches = run_batches(
            features,
            self.runner,
            batch_size=batch_size,
            pad_token_id=self.tokenizer.pad_token_id,
            max_length=int(self.config.max_position_embeddings),
            static_shapes=self.static_shapes,
            fields=self.task.outputs,
            token_fields=self.task.outputs if self.task.per_token else (),
            who=f"the {self.framework} model for {self.task.name}",
            padding_free_runner=self.padding_free_runner,
        )
        for index, outputs in in_input_order([len(p.features) for p in prepared], batches):
            yield self._handler.finish(self, prepared[index], outputs, params)

    def _stream(
        self,
        inputs: Iterator[Any],
        params: Mapping[str, Any],
        batch_size: int,
        window: int,
        total: int | None,
    ) -> Iterator[Any]:
        """Answers of an iterable, read `window` inputs at a time, yielded one by one in input order."""
        with self._progress(total, batch_size) as bar:
            while chunk := list(itertools.islice(inputs, window)):
                groups = [self._gather_one(element) for element in chunk]
                answers = self._answers([item for group in groups for item in group], params, batch_size)
                for group in groups:
                    found = [next(answers) for _ in group]
                    bar.update(1)
                    yield found[0] if len(found) == 1 else found

    def _gather_one(self, element: Any) -> list[Any]:
        """The inputs of one element of a stream (a TypeError with a hint for a dataset's rows)."""
        try:
            return self._handler.gather([element], {})[1]
        except TypeError as err:
            hint = ""
            if isinstance(element, Mapping):
                hint = "; a datasets.Dataset gives its rows as dicts: pass one column, dataset['text']"
            raise TypeError(f"{self.task.name}: {err}{hint}") from None


def _size(inputs: Any) -> int | None:
    """How many inputs a collection holds (None for a generator or other unsized iterable)."""
    try:
        return len(inputs)
    except TypeError:
        return None


HANDLERS: dict[str, TaskHandler] = {
    "fill-mask": FillMaskHandler(),
    "text-classification": TextClassificationHandler(),
    "token-classification": TokenClassificationHandler(),
    "question-answering": QuestionAnsweringHandler(),
    "feature-extraction": FeatureExtractionHandler(),
    "next-sentence-prediction": NextSentenceHandler(),
}
