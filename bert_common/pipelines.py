"""Pipelines: text in, answers out, the same in every framework.

A `Pipeline` holds a tokenizer, the model config and a *runner*: a function that takes a batch of
numpy model inputs and returns the model's outputs as numpy arrays. The twins (`bert_pt.pipeline`,
`bert_tf.pipeline`, `bert_flax.pipeline`) only build the runner; tokenization, batching, padding and every
task's post-processing (bert_common.tasks) happen here, written once.

This module holds the task registry (`TaskSpec`, `TASKS`, `get_task`, `check_head_is_trained`), the
`Pipeline` that batches features and runs the model, `collate`, `build_pipeline` (the framework-free
part of every twin's `pipeline()`) and `HANDLERS`, each task's handler. The handlers of fill-mask,
text and token classification and question answering are in `bert_common.pipeline_tasks`; the two
short ones (feature-extraction, next-sentence-prediction) are here.

Every task truncates its inputs to the model's limit, `Pipeline.max_length` = min(tokenizer
`model_max_length`, config `max_position_embeddings`), unless called with truncation=False; question
answering splits long contexts into chunks of at most that length instead.

Tasks: fill-mask, text-classification (alias sentiment-analysis), token-classification (alias ner),
question-answering, feature-extraction, next-sentence-prediction.

Shape legend: B = features in one model call (at most batch_size), T = tokens (padded to the longest
feature of the call), H = hidden size.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bert_common import tasks
from bert_common.config import BertConfig
from bert_common.heads import HEADS
from bert_common.pipeline_tasks import (
    MISSING,
    FillMaskHandler,
    Prepared,
    QuestionAnsweringHandler,
    TaskHandler,
    TextClassificationHandler,
    TokenClassificationHandler,
    model_features,
)

logger = logging.getLogger("bert_zoo")

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
    prefixes = HEADS[task.head].head_prefixes
    untrained = [k for k in missing_keys if k.startswith(prefixes)]
    if untrained:
        raise UntrainedHeadError(
            f"{source} has no trained weights for the {task.name} head ({task.head}): "
            f"{len(untrained)} weights such as {untrained[0]!r} would be random; use a checkpoint fine-tuned "
            "for this task"
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
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.task = get_task(task)
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.framework = framework
        self.batch_size = batch_size
        self.model = model
        self._handler = HANDLERS[self.task.name]
        self.defaults = self._handler.check_params(defaults)

    def __repr__(self) -> str:
        return (
            f"Pipeline(task={self.task.name!r}, framework={self.framework!r}, batch_size={self.batch_size})"
        )

    @property
    def max_length(self) -> int:
        """The longest input the model takes: min(tokenizer model_max_length, max_position_embeddings)."""
        return min(int(self.tokenizer.model_max_length), int(self.config.max_position_embeddings))

    def __call__(self, inputs: Any = MISSING, **params: Any) -> Any:
        """Answers for one input, or a list of answers for a list of inputs.

        inputs: what the task takes (see TASKS); question-answering also takes question=/context=
        keywords (strings or lists). params: the task's parameters, over the pipeline's defaults.

        Raises:
            TypeError: no inputs, inputs of the wrong kind, an unknown parameter.
            ValueError: a bad parameter value, an input the task cannot use, or (with truncation=False)
                an input longer than the model's max_position_embeddings.
        """
        keywords = {k: params.pop(k) for k in self._handler.input_keywords if k in params}
        params = {**self.defaults, **self._handler.check_params(params)}
        try:
            single, items = self._handler.gather(inputs, keywords)
        except TypeError as err:
            raise TypeError(f"{self.task.name}: {err}") from None
        if not items:
            raise ValueError(f"{self.task.name}: no inputs given")
        prepared = [self._handler.prepare(self, item, params) for item in items]
        features = [f for p in prepared for f in p.features]
        longest = max(len(f["input_ids"]) for f in features)
        if longest > self.config.max_position_embeddings:
            raise ValueError(
                f"{self.task.name}: an input of {longest} tokens is longer than the model's "
                f"max_position_embeddings={self.config.max_position_embeddings}; call with truncation=True"
            )
        outputs = self._run(features)
        results, cursor = [], 0
        for p in prepared:
            chunk = outputs[cursor : cursor + len(p.features)]
            cursor += len(p.features)
            results.append(self._handler.finish(self, p, chunk, params))
        return results[0] if single else results

    def _run(self, features: list[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
        """Model outputs for each feature, computed in padded batches of `batch_size`."""
        batches = [features[i : i + self.batch_size] for i in range(0, len(features), self.batch_size)]
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


@contextlib.contextmanager
def _held_log_records():
    """Hold back bert_zoo log records (the loading report) while a pipeline loads its model."""
    records: list[logging.LogRecord] = []

    class _Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, propagate = _Hold(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def build_pipeline(
    task: str,
    model: Any,
    tokenizer: Any,
    *,
    framework: str,
    load: Callable[[str, str], tuple[Any, BertConfig, list[str]]],
    run: Callable[[Any, dict[str, np.ndarray]], Mapping[str, np.ndarray]],
    model_type: type,
    batch_size: int = 8,
    **defaults: Any,
) -> Pipeline:
    """The part of every twin's `pipeline()` that does not depend on the framework.

    model: None (the embedded default model), a directory or hub id, or a loaded model of the twin.
    tokenizer: None (loaded from the model's directory), a directory or hub id, or a tokenizer.
    load(head, name_or_path) -> (model, config, missing_keys); run(model, arrays) -> numpy outputs.
    model_type: the twin's model base class, to recognise loaded models.

    Raises UntrainedHeadError when the checkpoint lacks the task head's weights, TypeError for a model
    that is none of the above, ValueError for a model object given without its tokenizer.
    """
    from bert_common.files import default_model_dir
    from bert_common.tokenization import BertTokenizerFast

    spec = get_task(task)
    if model is None:
        model = str(default_model_dir())
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        with _held_log_records() as records:
            loaded, config, missing = load(spec.head, source)
        check_head_is_trained(spec, missing, source)  # the one-line verdict replaces the loading report
        for record in records:
            logger.handle(record)
        if tokenizer is None:
            tokenizer = source
    elif isinstance(model, model_type):
        loaded, config = model, model.config
        if tokenizer is None:
            raise ValueError("pipeline() was given a model object; pass its tokenizer too (tokenizer=...)")
    else:
        raise TypeError(
            f"model must be None, a directory, a hub id or a {framework} BERT model, got {type(model).__name__}"
        )
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = BertTokenizerFast.from_pretrained(tokenizer)
    return Pipeline(
        spec.name,
        lambda arrays: run(loaded, arrays),
        tokenizer,
        config,
        framework=framework,
        batch_size=batch_size,
        model=loaded,
        **defaults,
    )


class FeatureExtractionHandler(TaskHandler):
    """feature-extraction: token embeddings [1, T, H], or one pooled [H] vector."""

    params: ClassVar[Mapping[str, Any]] = {
        "pooling": None,
        "normalize": False,
        "return_tensors": False,
        "truncation": True,
    }

    def check_params(self, params):
        params = super().check_params(params)
        if params.get("pooling") not in (None, "mean", "cls"):
            raise ValueError(f"pooling must be None, 'mean' or 'cls', got {params['pooling']!r}")
        return params

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, params, item)
        return Prepared([model_features(encoding)], {"attention_mask": encoding["attention_mask"]})

    def finish(self, pipe, prepared, outputs, params):
        hidden = np.asarray(outputs[0]["last_hidden_state"], dtype=np.float32)  # [T, H]
        pooling = self.param(params, "pooling")
        if pooling is None:
            result = hidden[None]  # [1, T, H], as Transformers' feature-extraction returns
        elif pooling == "cls":
            result = hidden[0]
        else:
            result = tasks.mean_pool(hidden[None], np.asarray(prepared.state["attention_mask"])[None])[0]
        if self.param(params, "normalize"):
            result = tasks.l2_normalize(result)
        return result if self.param(params, "return_tensors") else result.tolist()


class NextSentenceHandler(TaskHandler):
    """next-sentence-prediction: {is_next, score} for a pair of texts."""

    params: ClassVar[Mapping[str, Any]] = {"truncation": True}

    def split_inputs(self, inputs):
        if isinstance(inputs, dict) or (isinstance(inputs, tuple) and len(inputs) == 2):
            return True, [inputs]
        if isinstance(inputs, list):
            return False, inputs
        raise TypeError(
            "next-sentence-prediction takes {'text': A, 'text_pair': B}, a pair (A, B), or a list of them"
        )

    def prepare(self, pipe, item, params):
        if isinstance(item, dict):
            first, second = item.get("text"), item.get("text_pair")
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            first, second = item
        else:
            raise TypeError(f"a next-sentence input must be a pair of texts, got {item!r}")
        if not isinstance(first, str) or not isinstance(second, str):
            raise ValueError("next-sentence-prediction needs two texts: 'text' and 'text_pair'")
        return Prepared([model_features(self.encode(pipe, params, first, second))], {})

    def finish(self, pipe, prepared, outputs, params):
        return tasks.next_sentence(outputs[0]["logits"])


HANDLERS: dict[str, TaskHandler] = {
    "fill-mask": FillMaskHandler(),
    "text-classification": TextClassificationHandler(),
    "token-classification": TokenClassificationHandler(),
    "question-answering": QuestionAnsweringHandler(),
    "feature-extraction": FeatureExtractionHandler(),
    "next-sentence-prediction": NextSentenceHandler(),
}
