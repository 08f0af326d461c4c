"""The six pipeline tasks: how each turns inputs into model features and model outputs into answers.

`bert_common.pipelines.Pipeline` looks a task's handler up in `HANDLERS` and calls it in three steps:
`split_inputs` (one input or a list), `prepare` (tokenize one input into features, several for a long
question-answering context, plus the state post-processing needs) and `finish` (the answer, from the
numpy outputs of that input's features, through the pure-numpy functions of `bert_common.tasks`).

Shape legend: T = tokens of one feature, H = hidden size, V = vocabulary size, Y = labels (num_labels).
Per feature the handlers read: fill-mask logits [T, V]; text-classification and next-sentence logits
[Y] / [2]; token-classification logits [T, Y]; question-answering start/end logits [T];
feature-extraction last_hidden_state [T, H].
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from bert_common import tasks
from bert_common.config import BertConfig

logger = logging.getLogger("bert_zoo")


class PipelineLike(Protocol):
    """What a handler reads from the pipeline that calls it."""

    tokenizer: Any
    config: BertConfig


@dataclass
class Prepared:
    """One user input turned into model features (several for long QA contexts) plus what
    post-processing needs to know about it."""

    features: list[dict[str, Any]]
    state: dict[str, Any]


class TaskHandler(abc.ABC):
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

    def encode(self, pipe: PipelineLike, text: str, text_pair: str | None = None, **kwargs: Any) -> Any:
        return pipe.tokenizer(text, text_pair, truncation=True, **kwargs)

    @abc.abstractmethod
    def prepare(self, pipe: PipelineLike, item: Any, params: Mapping[str, Any]) -> Prepared:
        """Features for one input, and the state post-processing needs."""

    @abc.abstractmethod
    def finish(
        self, pipe: PipelineLike, prepared: Prepared, outputs: list[dict[str, np.ndarray]], params
    ) -> Any:
        """The answer for one input from its features' outputs."""


def _features(encoding: Any) -> dict[str, Any]:
    return {k: encoding[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


class FillMaskHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {"top_k": 5, "targets": None}

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, item)
        if pipe.tokenizer.mask_token_id not in encoding["input_ids"]:
            raise ValueError(f"no {pipe.tokenizer.mask_token} token in the input {item!r}")
        return Prepared([_features(encoding)], {"input_ids": encoding["input_ids"]})

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


class TextClassificationHandler(TaskHandler):
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
        return Prepared([_features(encoding)], {})

    def finish(self, pipe, prepared, outputs, params):
        top_k = self.param(params, "top_k")
        function = tasks.classification_function(
            pipe.config.problem_type, pipe.config.num_labels, self.param(params, "function_to_apply")
        )
        ranked = tasks.text_classification(outputs[0]["logits"], pipe.config.id2label, function, top_k)
        return ranked[0] if top_k == 1 else ranked


class TokenClassificationHandler(TaskHandler):
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
        return Prepared([_features(encoding)], state)

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


class QuestionAnsweringHandler(TaskHandler):
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
        return Prepared(features, {"context": context, "chunks": chunks})

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


class FeatureExtractionHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {"pooling": None, "normalize": False, "return_tensors": False}

    def check_params(self, params):
        params = super().check_params(params)
        if params.get("pooling") not in (None, "mean", "cls"):
            raise ValueError(f"pooling must be None, 'mean' or 'cls', got {params['pooling']!r}")
        return params

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, item)
        return Prepared([_features(encoding)], {"attention_mask": encoding["attention_mask"]})

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
        return Prepared([_features(self.encode(pipe, first, second))], {})

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
