"""How the pipeline tasks turn inputs into model features and model outputs into answers.

`bert_common.pipelines.Pipeline` looks a task's handler up in `HANDLERS` and calls it in four steps:
`gather` (one input or a list, from the call's positional input or, for question answering, its
question=/context= keywords), `prepare` (tokenize one input into features, several for a long
question-answering context or a token-classification text read in windows, plus the state
post-processing needs), `finish` (the answer, from the numpy outputs of that input's features, through
the pure-numpy functions of `bert_common.tasks`) and `shape` (the answers returned as Transformers 4.57
returns them: one answer, a list, or its task's special cases). This module holds the base `TaskHandler`,
the tokenizer options every text task takes (`truncation=`, `tokenize_kwargs=` / `tokenizer_kwargs=`)
and the handlers of fill-mask, text-classification, feature-extraction and next-sentence-prediction;
token-classification and question-answering are in `bert_common.pipeline_spans`.

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

# What `tokenize_kwargs=` / `tokenizer_kwargs=` may hold: the tokenizer arguments that mean something for
# the one text (or pair) of a pipeline input.
TOKENIZE_OPTIONS = ("truncation", "max_length", "padding", "add_special_tokens")
TOKENIZE_DICTS = ("tokenize_kwargs", "tokenizer_kwargs")  # feature-extraction's and fill-mask's names
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")


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


def check_tokenize_options(params: dict[str, Any]) -> None:
    """Check the values of the TOKENIZE_OPTIONS in `params` (raises ValueError naming the option)."""
    truncation = params.get("truncation")
    if (
        truncation is not None
        and not isinstance(truncation, bool)
        and truncation not in TRUNCATION_STRATEGIES
    ):
        raise ValueError(
            f"truncation must be True, False or one of {TRUNCATION_STRATEGIES}, got {truncation!r}"
        )
    padding = params.get("padding")
    if padding is not None and not isinstance(padding, bool) and padding not in PADDING_STRATEGIES:
        raise ValueError(f"padding must be True, False or one of {PADDING_STRATEGIES}, got {padding!r}")
    if "max_length" in params:
        check_int("max_length", params["max_length"], 1, none_ok=True)
    if "add_special_tokens" in params and not isinstance(params["add_special_tokens"], bool):
        raise ValueError(f"add_special_tokens must be True or False, got {params['add_special_tokens']!r}")


class TaskHandler(abc.ABC):
    """How one task turns inputs into features and outputs into answers."""

    params: ClassVar[Mapping[str, Any]] = {}
    # Integer parameters: name -> (smallest value, None allowed).
    int_params: ClassVar[Mapping[str, tuple[int, bool]]] = {}
    # Parameters that take one of a few strings: name -> the accepted values (checked with the call's
    # other parameters, before any input is tokenized or run).
    choice_params: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # Keyword arguments of a call that are inputs rather than parameters (question-answering's).
    input_keywords: ClassVar[tuple[str, ...]] = ()
    # Whether the task tokenizes a text (or pair) with `encode`, so takes `tokenize_kwargs=`.
    tokenizes: ClassVar[bool] = True

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of one call (or of the pipeline), checked; `tokenize_kwargs=` /
        `tokenizer_kwargs=` unpacked into the tokenizer options they hold.

        Raises TypeError for an unknown parameter or tokenizer option, ValueError for a bad value or an
        option given twice (as a keyword and inside `tokenize_kwargs`).
        """
        params = dict(params)
        nested: dict[str, Any] = {}
        for key in TOKENIZE_DICTS:
            if key not in params or not self.tokenizes:
                continue
            value = params.pop(key)
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise TypeError(f"{key} must be a dict of tokenizer arguments, got {type(value).__name__}")
            unknown = sorted(set(value) - set(TOKENIZE_OPTIONS))
            if unknown:
                raise TypeError(
                    f"{key}: unknown tokenizer argument(s) {unknown}; it takes {list(TOKENIZE_OPTIONS)}"
                )
            for name in set(value) & (set(params) | set(nested)):
                raise ValueError(f"{name} given twice: as a keyword argument and in {key}")
            nested.update(value)
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise TypeError(f"unknown parameter(s) {unknown}; this task takes {self.accepted()}")
        params.update(nested)
        for name, (minimum, none_ok) in self.int_params.items():
            if name in params:
                check_int(name, params[name], minimum, none_ok)
        for name, choices in self.choice_params.items():
            if name in params and params[name] not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}, got {params[name]!r}")
        check_tokenize_options(params)
        return params

    def accepted(self) -> list[str]:
        return sorted({*self.params, *(TOKENIZE_DICTS if self.tokenizes else ())})

    def check_against(self, pipe: PipelineLike, params: Mapping[str, Any]) -> None:
        """Checks that need the pipeline (its model's limit); run once per call, before any input."""
        max_length = params.get("max_length")
        if max_length is not None and max_length > pipe.max_length:
            raise ValueError(f"max_length={max_length} is longer than the model's {pipe.max_length} tokens")

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

    def shape(self, inputs: Any, single: bool, results: list[Any], call_params: Mapping[str, Any]) -> Any:
        """The call's return value from one answer per input: the answer for one input, else the list."""
        return results[0] if single else results

    def param(self, params: Mapping[str, Any], name: str) -> Any:
        return params.get(name, self.params[name])

    def encode(
        self, pipe: PipelineLike, params: Mapping[str, Any], text: str, pair: str | None = None, **kwargs: Any
    ) -> Any:
        """Tokenize, truncated to the model's limit (`pipe.max_length`, or a smaller `max_length=`) unless
        truncation=False; `padding="max_length"` pads to that limit."""
        truncation = params.get("truncation", True)
        if truncation == "do_not_truncate":
            truncation = False
        padding = params.get("padding", False)
        limit = params.get("max_length") or pipe.max_length
        options = (
            {"add_special_tokens": params["add_special_tokens"]} if "add_special_tokens" in params else {}
        )
        encoding = pipe.tokenizer(
            text,
            pair,
            truncation=truncation,
            max_length=limit if truncation or padding == "max_length" else None,
            padding=padding,
            **options,
            **kwargs,
        )
        if truncation and limit == pipe.max_length and len(encoding["input_ids"]) == limit:
            full = len(pipe.tokenizer(text, pair, **options)["input_ids"])
            if full > limit:
                logger.warning("input of %d tokens truncated to the model's %d", full, limit)
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


def tokens_to_text(tokenizer: Any) -> Any:
    """tokens -> text as the tokenizer decodes: WordPiece joined, then its clean-up of spaces ('york.')."""

    def join(tokens: list[str]) -> str:
        text = tokenizer.convert_tokens_to_string(tokens)
        return clean_up_tokenization(text) if tokenizer.clean_up_tokenization_spaces else text

    return join


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

    def shape(self, inputs, single, results, call_params):
        # Transformers returns the answer itself for a list of one text.
        one = single or (len(results) == 1 and isinstance(inputs, (list, tuple)))
        return results[0] if one else results


class TextClassificationHandler(TaskHandler):
    params: ClassVar[Mapping[str, Any]] = {
        "top_k": 1,
        "function_to_apply": None,
        "truncation": True,
        "max_length": None,
        "padding": False,
    }
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
        function = tasks.classification_function(
            pipe.config.problem_type, pipe.config.num_labels, self.param(params, "function_to_apply")
        )
        if "top_k" not in params:  # Transformers' "legacy" answer: the best label alone
            return tasks.text_classification(outputs[0]["logits"], pipe.config.id2label, function, 1)[0]
        return tasks.text_classification(
            outputs[0]["logits"], pipe.config.id2label, function, params["top_k"]
        )

    def shape(self, inputs, single, results, call_params):
        # Transformers wraps the answer for one text in a list unless the call itself names top_k
        # (`clf("text")[0]["label"]`); a pair dict's answer comes alone.
        if isinstance(inputs, str) and "top_k" not in call_params:
            return [results[0]]
        return results[0] if single else results


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
