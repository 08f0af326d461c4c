"""How the pipeline tasks turn inputs into model features and model outputs into answers.

`bert_common.pipelines.Pipeline` looks a task's handler up in `HANDLERS` and calls it in three steps:
`gather` (one input or a list, from the call's positional input or, for question answering, its
question=/context= keywords), `prepare` (tokenize one input into features, several for a long
question-answering context, plus the state post-processing needs) and `finish` (the answer, from the
numpy outputs of that input's features, through the pure-numpy functions of `bert_common.tasks`).
This module holds the base `TaskHandler` and the handlers of fill-mask, text-classification,
token-classification and question-answering; the two short ones are in `bert_common.pipelines`.

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
from bert_common.tokenization import clean_up_tokenization

logger = logging.getLogger("bert_zoo")


class PipelineLike(Protocol):
    """What a handler reads from the pipeline that calls it."""

    tokenizer: Any
    config: BertConfig
    max_length: int


@dataclass
class Prepared:
    """One user input turned into model features (several for long QA contexts) plus what
    post-processing needs to know about it."""

    features: list[dict[str, Any]]
    state: dict[str, Any]


MISSING: Any = object()  # `Pipeline.__call__` got no positional input


def check_int(name: str, value: Any, minimum: int, none_ok: bool = False) -> None:
    """Raise ValueError unless `value` is an int >= minimum (or None when none_ok)."""
    if value is None and none_ok:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        allowed = f"an int >= {minimum}" + (" or None" if none_ok else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


class TaskHandler(abc.ABC):
    """How one task turns inputs into features and outputs into answers."""

    params: ClassVar[Mapping[str, Any]] = {}
    # Integer parameters: name -> (smallest value, None allowed).
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {}
    # Keyword arguments of a call that are inputs rather than parameters (question-answering's).
    input_keywords: ClassVar[tuple[str, ...]] = ()

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise TypeError(f"unknown parameter(s) {unknown}; this task takes {sorted(self.params)}")
        for name, (minimum, none_ok) in self.int_params.items():
            if name in params:
                check_int(name, params[name], minimum, none_ok)
        return dict(params)

    def gather(self, inputs: Any, keywords: Mapping[str, Any]) -> tuple[bool, list[Any]]:
        """(one input given?, the inputs) from a call's positional input and input keywords."""
        if inputs is MISSING:
            raise TypeError("no inputs given: pass a text or a list of texts")
        return self.split_inputs(inputs)

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

    def encode(
        self, pipe: PipelineLike, params: Mapping[str, Any], text: str, pair: str | None = None, **kwargs: Any
    ) -> Any:
        """Tokenize, truncated to the model's limit (`pipe.max_length`) unless truncation=False."""
        truncation = bool(params.get("truncation", True))
        encoding = pipe.tokenizer(
            text, pair, truncation=truncation, max_length=pipe.max_length if truncation else None, **kwargs
        )
        if truncation and len(encoding["input_ids"]) == pipe.max_length:
            full = len(pipe.tokenizer(text, pair)["input_ids"])
            if full > pipe.max_length:
                logger.warning("input of %d tokens truncated to the model's %d", full, pipe.max_length)
        return encoding

    @abc.abstractmethod
    def prepare(self, pipe: PipelineLike, item: Any, params: Mapping[str, Any]) -> Prepared:
        """Features for one input, and the state post-processing needs."""

    @abc.abstractmethod
    def finish(
        self, pipe: PipelineLike, prepared: Prepared, outputs: list[dict[str, np.ndarray]], params
    ) -> Any:
        """The answer for one input from its features' outputs."""


def model_features(encoding: Any) -> dict[str, Any]:
    """The model inputs (input_ids, attention_mask, token_type_ids) of one encoding."""
    return {k: encoding[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


class FillMaskHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {"top_k": 5, "targets": None, "truncation": True}
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {"top_k": (1, False)}

    def prepare(self, pipe, item, params):
        encoding = self.encode(pipe, params, item)
        tok = pipe.tokenizer
        if tok.mask_token_id not in encoding["input_ids"]:
            if tok.mask_token_id in tok(item)["input_ids"]:
                raise ValueError(
                    f"every {tok.mask_token} of the input lies beyond the model's {pipe.max_length} tokens"
                )
            raise ValueError(f"no {tok.mask_token} token in the input {item!r}")
        return Prepared([model_features(encoding)], {"input_ids": encoding["input_ids"]})

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
        tok = pipe.tokenizer
        per_mask = tasks.fill_mask(
            outputs[0]["logits"],
            prepared.state["input_ids"],
            tok.mask_token_id,
            decode=lambda ids: tok.decode(ids),
            decode_sequence=lambda ids: tok.decode(ids),
            top_k=self.param(params, "top_k"),
            target_ids=self._target_ids(pipe, self.param(params, "targets")),
            special_ids=tok.all_special_ids,
        )
        return per_mask[0] if len(per_mask) == 1 else per_mask


class TextClassificationHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {"top_k": 1, "function_to_apply": None, "truncation": True}
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {"top_k": (1, True)}

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
            encoding = self.encode(pipe, params, item["text"], item.get("text_pair"))
        else:
            encoding = self.encode(pipe, params, item)
        return Prepared([model_features(encoding)], {})

    def finish(self, pipe, prepared, outputs, params):
        top_k = self.param(params, "top_k")
        function = tasks.classification_function(
            pipe.config.problem_type, pipe.config.num_labels, self.param(params, "function_to_apply")
        )
        ranked = tasks.text_classification(outputs[0]["logits"], pipe.config.id2label, function, top_k)
        return ranked[0] if top_k == 1 else ranked


def tokens_to_text(tokenizer: Any) -> Any:
    """tokens -> text as the tokenizer decodes: WordPiece joined, then its clean-up of spaces ('york.')."""

    def join(tokens: list[str]) -> str:
        text = tokenizer.convert_tokens_to_string(tokens)
        return clean_up_tokenization(text) if tokenizer.clean_up_tokenization_spaces else text

    return join


class TokenClassificationHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {
        "aggregation_strategy": "none",
        "ignore_labels": ("O",),
        "truncation": True,
    }

    def prepare(self, pipe, item, params):
        encoding = self.encode(
            pipe, params, item, return_offsets_mapping=True, return_special_tokens_mask=True
        )
        state = {
            "text": item,
            "input_ids": encoding["input_ids"],
            "offsets": encoding["offset_mapping"],
            "special": encoding["special_tokens_mask"],
            "word_ids": encoding.word_ids(),
        }
        return Prepared([model_features(encoding)], state)

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
            convert_tokens_to_string=tokens_to_text(tok),
            unk_token_id=tok.unk_token_id,
            aggregation_strategy=self.param(params, "aggregation_strategy"),
            ignore_labels=[ignore] if isinstance(ignore, str) else list(ignore),
        )


def qa_items(question: Any, context: Any) -> list[dict[str, Any]]:
    """{question, context} dicts from a question and a context, either of them a list (paired up)."""
    if isinstance(question, list) and isinstance(context, list):
        if len(question) != len(context):
            raise ValueError(f"{len(question)} questions but {len(context)} contexts; give as many of each")
        return [{"question": q, "context": c} for q, c in zip(question, context)]
    if isinstance(question, list):
        return [{"question": q, "context": context} for q in question]
    if isinstance(context, list):
        return [{"question": question, "context": c} for c in context]
    return [{"question": question, "context": context}]


class QuestionAnsweringHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {
        "top_k": 1,
        "doc_stride": None,
        "max_answer_len": 15,
        "max_seq_len": None,
        "max_question_len": 64,
        "handle_impossible_answer": False,
        "align_to_words": True,
    }
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {
        "top_k": (1, False),
        "doc_stride": (0, True),
        "max_answer_len": (1, False),
        "max_seq_len": (1, True),
        "max_question_len": (1, False),
    }
    input_keywords = ("question", "context")

    def gather(self, inputs, keywords):
        if inputs is MISSING:
            if set(keywords) != {"question", "context"}:
                raise TypeError("needs question=... and context=..., or a {'question', 'context'} dict")
            inputs = keywords
        elif keywords:
            raise TypeError("give question=/context= or a {'question', 'context'} dict, not both")
        dicts = [inputs] if isinstance(inputs, dict) else inputs
        if not isinstance(dicts, list) or not all(isinstance(i, dict) for i in dicts):
            raise TypeError("takes question=/context=, a {'question', 'context'} dict or a list of them")
        items = []
        for item in dicts:
            if set(item) != {"question", "context"}:
                raise ValueError(
                    f"a question-answering input has keys 'question' and 'context', got {sorted(item)}"
                )
            items += qa_items(item["question"], item["context"])
        # One answer for one dict of two strings; a list for a list or list-valued question/context.
        single = isinstance(inputs, dict) and not any(isinstance(v, list) for v in inputs.values())
        return single, items

    def prepare(self, pipe, item, params):
        question, context = item.get("question"), item.get("context")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question-answering needs a non-empty 'question'")
        if not isinstance(context, str) or not context.strip():
            raise ValueError("question-answering needs a non-empty 'context'")
        max_seq_len = self.param(params, "max_seq_len")
        if max_seq_len is None:
            max_seq_len = min(pipe.max_length, 384)  # Transformers' default
        elif max_seq_len > pipe.max_length:
            raise ValueError(f"max_seq_len={max_seq_len} is longer than the model's {pipe.max_length} tokens")
        question_len = len(pipe.tokenizer.tokenize(question))
        if question_len > self.param(params, "max_question_len"):
            raise ValueError(
                f"the question has {question_len} tokens, more than max_question_len="
                f"{self.param(params, 'max_question_len')}"
            )
        room = max_seq_len - question_len - pipe.tokenizer.num_special_tokens_to_add(pair=True)
        if room < 1:
            raise ValueError(f"max_seq_len={max_seq_len} leaves no room for the context after the question")
        stride = self.param(params, "doc_stride")
        if stride is None:
            stride = min(max_seq_len // 2, 128, room - 1)  # Transformers' default, kept inside the room
        elif stride >= room:
            raise ValueError(
                f"doc_stride={stride} must be smaller than the {room} context tokens of a chunk "
                f"(max_seq_len={max_seq_len} minus the question and special tokens)"
            )
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
                    "word_ids": encoding.word_ids(row),
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
            align_to_words=bool(self.param(params, "align_to_words")),
        )
        if top_k == 1:
            return answers[0] if answers else {"score": 0.0, "start": 0, "end": 0, "answer": ""}
        return answers
