"""The span tasks of the pipelines: token-classification (entities, with windows over long texts) and
question-answering (answers, with chunks over long contexts).

Both read one input as several model features when it is longer than the model: question answering
splits a long context into chunks of `max_seq_len` tokens overlapping by `doc_stride`; token
classification, given `stride=`, reads a long text in windows of the model's length overlapping by
`stride` tokens and merges the windows' entities as Transformers 4.57 does
(`merge_overlapping_entities`). The handlers follow `bert_common.pipeline_tasks.TaskHandler`.

Shape legend: T = tokens of one feature (window or chunk), Y = labels (num_labels). Per feature the
handlers read token-classification logits [T, Y] and question-answering start/end logits [T].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from bert_common import tasks
from bert_common.pipeline_tasks import MISSING, Prepared, TaskHandler, tokens_to_text


def merge_overlapping_entities(entities: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entities of overlapping windows merged as Transformers 4.57 merges them.

    Sorted by start; of entities whose spans overlap, the longer one wins (the higher score at equal
    length), and entities are compared with the last one kept. Used only when a text was read in more
    than one window.
    """
    if not entities:
        return []
    ordered = sorted(entities, key=lambda e: e["start"])
    merged, previous = [], ordered[0]
    for entity in ordered:
        if previous["start"] <= entity["start"] < previous["end"]:
            length, previous_length = entity["end"] - entity["start"], previous["end"] - previous["start"]
            if length > previous_length or (
                length == previous_length and entity["score"] > previous["score"]
            ):
                previous = entity
        else:
            merged.append(previous)
            previous = entity
    merged.append(previous)
    return merged


WINDOW_KEYS = ("input_ids", "attention_mask", "token_type_ids", "offset_mapping", "special_tokens_mask")


class TokenClassificationHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {
        "aggregation_strategy": "none",
        "ignore_labels": ("O",),
        "truncation": True,
        "stride": None,
    }
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {"stride": (0, True)}
    choice_params: ClassVar[Mapping[str, tuple[str, ...]]] = {"aggregation_strategy": tasks.AGGREGATIONS}

    def check_against(self, pipe, params):
        super().check_against(pipe, params)
        stride = params.get("stride")
        if stride is None:
            return
        if self.param(params, "aggregation_strategy") == "none":
            # Transformers refuses this only when "none" is named; by default its windows then repeat
            # tokens with window-relative indexes.
            raise ValueError(
                "stride reads a long text in overlapping windows and merges their entities, which needs "
                "aggregation_strategy 'simple', 'first', 'average' or 'max', not 'none'"
            )
        if params.get("truncation", True) in (False, "do_not_truncate"):
            raise ValueError(
                "stride cuts a long text into windows of the model's length: it needs truncation"
            )
        limit = params.get("max_length") or pipe.max_length
        room = limit - pipe.tokenizer.num_special_tokens_to_add(pair=False)
        if stride >= room:
            raise ValueError(
                f"stride={stride} must be smaller than the {room} text tokens of a window "
                f"(the model's {limit} tokens less the special tokens)"
            )

    def prepare(self, pipe, item, params):
        stride = params.get("stride")
        window = {"return_overflowing_tokens": True, "stride": stride} if stride is not None else {}
        encoding = self.encode(
            pipe, params, item, return_offsets_mapping=True, return_special_tokens_mask=True, **window
        )
        rows = range(len(encoding["input_ids"])) if stride is not None else [None]
        features, windows = [], []
        for row in rows:
            part = {k: encoding[k] if row is None else encoding[k][row] for k in WINDOW_KEYS}
            features.append({k: part[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
            windows.append(
                {
                    "input_ids": part["input_ids"],
                    "offsets": part["offset_mapping"],
                    "special": part["special_tokens_mask"],
                    "word_ids": encoding.word_ids() if row is None else encoding.word_ids(row),
                }
            )
        return Prepared(features, {"text": item, "windows": windows})

    def finish(self, pipe, prepared, outputs, params):
        tok = pipe.tokenizer
        ignore = self.param(params, "ignore_labels")
        entities = []
        for window, out in zip(prepared.state["windows"], outputs):
            entities += tasks.token_classification(
                out["logits"],
                window["input_ids"],
                window["offsets"],
                window["special"],
                window["word_ids"],
                prepared.state["text"],
                pipe.config.id2label,
                convert_ids_to_tokens=tok.convert_ids_to_tokens,
                convert_tokens_to_string=tokens_to_text(tok),
                unk_token_id=tok.unk_token_id,
                aggregation_strategy=self.param(params, "aggregation_strategy"),
                ignore_labels=[ignore] if isinstance(ignore, str) else list(ignore),
            )
        return merge_overlapping_entities(entities) if len(outputs) > 1 else entities


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
    tokenizes = False
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
        # Transformers answers one question alone however it was given (a dict, a list of one dict,
        # question=[q]); several questions get a list.
        return len(items) == 1, items

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
