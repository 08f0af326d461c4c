"""Pipelines: text in, answers out, the same in every framework.

A `Pipeline` holds a tokenizer, the model config and a *runner*: a function that takes a batch of
numpy model inputs and returns the model's outputs as numpy arrays. The twins (`bert_pt.pipeline`,
`bert_tf.pipeline`, `bert_flax.pipeline`) only build the runner; tokenization, batching, padding and every
task's post-processing (bert_common.tasks) happen here, written once.

Tasks: fill-mask, text-classification (alias sentiment-analysis), token-classification (alias ner),
question-answering, feature-extraction, next-sentence-prediction.
"""

from __future__ import annotations

import abc
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
    """The task called `name` (aliases accepted); a clear error for anything else."""
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


@dataclass
class _Prepared:
    """One user input turned into model features (several for long QA contexts) plus what
    post-processing needs to know about it."""

    features: list[dict[str, Any]]
    state: dict[str, Any]


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
        self._handler = _HANDLERS[self.task.name]
        self.defaults = self._handler.check_params(defaults)

    def __repr__(self) -> str:
        return (
            f"Pipeline(task={self.task.name!r}, framework={self.framework!r}, batch_size={self.batch_size})"
        )

    def __call__(self, inputs: Any, **params: Any) -> Any:
        """Answers for one input, or a list of answers for a list of inputs."""
        params = {**self.defaults, **self._handler.check_params(params)}
        single, items = self._handler.split_inputs(inputs)
        if not items:
            raise ValueError(f"{self.task.name}: no inputs given")
        prepared = [self._handler.prepare(self, item, params) for item in items]
        features = [f for p in prepared for f in p.features]
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
    """Right-pad features to the longest one: input_ids with the pad id, masks and types with 0."""
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


# ------------------------------------------------------------------------------------ task handlers


class _Handler(abc.ABC):
    """How one task turns inputs into features and outputs into answers."""

    params: ClassVar[Mapping[str, Any]] = {}

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise TypeError(f"unknown parameter(s) {unknown}; this task takes {sorted(self.params)}")
        return dict(params)

    def split_inputs(self, inputs: Any) -> tuple[bool, list[Any]]:
        if isinstance(inputs, str):
            return True, [inputs]
        if isinstance(inputs, (list, tuple)):
            for item in inputs:
                if not isinstance(item, str):
                    raise TypeError(f"inputs must be strings, got {type(item).__name__}")
            return False, list(inputs)
        raise TypeError(f"inputs must be a string or a list of strings, got {type(inputs).__name__}")

    def param(self, params: Mapping[str, Any], name: str) -> Any:
        return params.get(name, self.params[name])

    def encode(self, pipe: Pipeline, text: str, text_pair: str | None = None, **kwargs: Any) -> Any:
        return pipe.tokenizer(text, text_pair, truncation=True, **kwargs)

    @abc.abstractmethod
    def prepare(self, pipe: Pipeline, item: Any, params: Mapping[str, Any]) -> _Prepared:
        """Features for one input, and the state post-processing needs."""

    @abc.abstractmethod
    def finish(
        self, pipe: Pipeline, prepared: _Prepared, outputs: list[dict[str, np.ndarray]], params
    ) -> Any:
        """The answer for one input from its features' outputs."""


def _features(encoding: Any) -> dict[str, Any]:
    return {k: encoding[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


class _FillMask(_Handler):
    params: ClassVar[Mapping[str, Any]] = {"top_k": 5, "targets": None}

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, item)
        if pipe.tokenizer.mask_token_id not in encoding["input_ids"]:
            raise ValueError(f"no {pipe.tokenizer.mask_token} token in the input {item!r}")
        return _Prepared([_features(encoding)], {"input_ids": encoding["input_ids"]})

    def _target_ids(self, pipe, targets) -> list[int] | None:
        if targets is None:
            return None
        targets = [targets] if isinstance(targets, str) else list(targets)
        ids = []
        for target in targets:
            pieces = pipe.tokenizer.tokenize(target)
            if not pieces:
                raise ValueError(f"fill-mask target {target!r} tokenizes to nothing")
            if len(pieces) > 1:
                logger.warning(
                    "fill-mask target %r is several tokens %s; using its first, %r", target, pieces, pieces[0]
                )
            ids.append(pipe.tokenizer.convert_tokens_to_ids(pieces[0]))
        return sorted(set(ids), key=ids.index)

    def finish(self, pipe, prepared, outputs, params):
        top_k = self.param(params, "top_k")
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        tok = pipe.tokenizer
        per_mask = tasks.fill_mask(
            outputs[0]["logits"],
            prepared.state["input_ids"],
            tok.mask_token_id,
            decode=lambda ids: tok.decode(ids),
            decode_sequence=lambda ids: tok.decode(ids, skip_special_tokens=True),
            top_k=top_k,
            target_ids=self._target_ids(pipe, self.param(params, "targets")),
        )
        return per_mask[0] if len(per_mask) == 1 else per_mask


class _TextClassification(_Handler):
    params: ClassVar[Mapping[str, Any]] = {"top_k": 1, "function_to_apply": None}

    def split_inputs(self, inputs):
        if isinstance(inputs, (str, dict)):
            return True, [inputs]
        if isinstance(inputs, list):
            for item in inputs:
                if not isinstance(item, (str, dict)):
                    raise TypeError(
                        f"inputs must be texts or {{'text', 'text_pair'}} dicts, got {type(item).__name__}"
                    )
            return False, inputs
        raise TypeError(f"inputs must be a text, a pair dict or a list of them, got {type(inputs).__name__}")

    def prepare(self, pipe, item, params):
        if isinstance(item, dict):
            unknown = set(item) - {"text", "text_pair"}
            if unknown or "text" not in item:
                raise ValueError(
                    f"a text pair must be {{'text': ..., 'text_pair': ...}}, got keys {sorted(item)}"
                )
            encoding = self.encode(pipe, item["text"], item.get("text_pair"))
        else:
            encoding = self.encode(pipe, item)
        return _Prepared([_features(encoding)], {})

    def finish(self, pipe, prepared, outputs, params):
        top_k = self.param(params, "top_k")
        function = tasks.classification_function(
            pipe.config.problem_type, pipe.config.num_labels, self.param(params, "function_to_apply")
        )
        ranked = tasks.text_classification(outputs[0]["logits"], pipe.config.id2label, function, top_k)
        return ranked[0] if top_k == 1 else ranked


class _TokenClassification(_Handler):
    params: ClassVar[Mapping[str, Any]] = {"aggregation_strategy": "none", "ignore_labels": ("O",)}

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, item, return_offsets_mapping=True, return_special_tokens_mask=True)
        state = {
            "text": item,
            "input_ids": encoding["input_ids"],
            "offsets": encoding["offset_mapping"],
            "special": encoding["special_tokens_mask"],
            "word_ids": encoding.word_ids(),
        }
        return _Prepared([_features(encoding)], state)

    def finish(self, pipe, prepared, outputs, params):
        s, tok = prepared.state, pipe.tokenizer
        ignore = self.param(params, "ignore_labels")
        return tasks.token_classification(
            outputs[0]["logits"],
            s["input_ids"],
            s["offsets"],
            s["special"],
            s["word_ids"],
            s["text"],
            pipe.config.id2label,
            convert_ids_to_tokens=tok.convert_ids_to_tokens,
            convert_tokens_to_string=tok.convert_tokens_to_string,
            unk_token_id=tok.unk_token_id,
            aggregation_strategy=self.param(params, "aggregation_strategy"),
            ignore_labels=[ignore] if isinstance(ignore, str) else list(ignore),
        )


class _QuestionAnswering(_Handler):
    params: ClassVar[Mapping[str, Any]] = {
        "top_k": 1,
        "doc_stride": 128,
        "max_answer_len": 15,
        "max_seq_len": 384,
        "max_question_len": 64,
        "handle_impossible_answer": False,
    }

    def split_inputs(self, inputs):
        if isinstance(inputs, dict):
            return True, [inputs]
        if isinstance(inputs, list) and all(isinstance(i, dict) for i in inputs):
            return False, inputs
        raise TypeError("question-answering takes {'question': ..., 'context': ...} or a list of such dicts")

    def prepare(self, pipe, item, params):
        question, context = item.get("question"), item.get("context")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question-answering needs a non-empty 'question'")
        if not isinstance(context, str) or not context.strip():
            raise ValueError("question-answering needs a non-empty 'context'")
        max_seq_len, stride = self.param(params, "max_seq_len"), self.param(params, "doc_stride")
        question_len = len(pipe.tokenizer.tokenize(question))
        if question_len > self.param(params, "max_question_len"):
            raise ValueError(
                f"the question has {question_len} tokens, more than max_question_len="
                f"{self.param(params, 'max_question_len')}"
            )
        room = max_seq_len - question_len - pipe.tokenizer.num_special_tokens_to_add(pair=True)
        if room < 1:
            raise ValueError(f"max_seq_len={max_seq_len} leaves no room for the context after the question")
        stride = min(stride, room - 1)
        encoding = pipe.tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=max_seq_len,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        features, chunks = [], []
        for row in range(len(encoding["input_ids"])):
            sequence_ids = encoding.sequence_ids(row)
            features.append({k: encoding[k][row] for k in ("input_ids", "attention_mask", "token_type_ids")})
            chunks.append(
                {
                    "offsets": encoding["offset_mapping"][row],
                    "context_mask": np.array([s == 1 for s in sequence_ids], dtype=bool),
                }
            )
        return _Prepared(features, {"context": context, "chunks": chunks})

    def finish(self, pipe, prepared, outputs, params):
        chunks = [
            {**chunk, "start_logits": out["start_logits"], "end_logits": out["end_logits"]}
            for chunk, out in zip(prepared.state["chunks"], outputs)
        ]
        top_k = self.param(params, "top_k")
        answers = tasks.question_answering(
            chunks,
            prepared.state["context"],
            top_k=top_k,
            max_answer_len=self.param(params, "max_answer_len"),
            handle_impossible_answer=self.param(params, "handle_impossible_answer"),
        )
        if top_k == 1:
            return answers[0] if answers else {"score": 0.0, "start": 0, "end": 0, "answer": ""}
        return answers


class _FeatureExtraction(_Handler):
    params: ClassVar[Mapping[str, Any]] = {"pooling": None, "normalize": False, "return_tensors": False}

    def check_params(self, params):
        params = super().check_params(params)
        if params.get("pooling") not in (None, "mean", "cls"):
            raise ValueError(f"pooling must be None, 'mean' or 'cls', got {params['pooling']!r}")
        return params

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, item)
        return _Prepared([_features(encoding)], {"attention_mask": encoding["attention_mask"]})

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


class _NextSentence(_Handler):
    params: ClassVar[Mapping[str, Any]] = {}

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
        return _Prepared([_features(self.encode(pipe, first, second))], {})

    def finish(self, pipe, prepared, outputs, params):
        return tasks.next_sentence(outputs[0]["logits"])


_HANDLERS: dict[str, _Handler] = {
    "fill-mask": _FillMask(),
    "text-classification": _TextClassification(),
    "token-classification": _TokenClassification(),
    "question-answering": _QuestionAnswering(),
    "feature-extraction": _FeatureExtraction(),
    "next-sentence-prediction": _NextSentence(),
}


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
    """
    from bert_common.files import default_model_dir
    from bert_common.tokenization_fast import BertTokenizerFast

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
