"""Model outputs: small dataclasses that behave like Transformers' `ModelOutput`.

Each twin fills these with its own tensors (torch, tf or jax arrays). An output allows `out.logits`,
`out["logits"]`, `out[0]` and `to_tuple()`, where fields left as None are skipped, so the positions of
the tuple are those Transformers users know (`loss` first when present). `to_dict()` gives the plain dict
that Keras and `jax.jit` need; `flatten` / `unflatten` are what a twin registers as a pytree.

Shape legend used in field docs: B = batch, T = sequence length, S = source (encoder) length,
H = hidden size, N = heads, V = vocabulary, C = choices, L = labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any


@dataclasses.dataclass
class ModelOutput:
    """Base of every output class: attribute, key and index access over the fields that are not None."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """All field names in declaration order, including those that may be None."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def keys(self) -> list[str]:
        return [name for name in self.field_names() if getattr(self, name) is not None]

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self.keys()]

    def to_tuple(self) -> tuple[Any, ...]:
        """The fields that are not None, in declaration order (Transformers' `return_dict=False` tuple)."""
        return tuple(self.values())

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields that are not None (what Keras and jit want to see)."""
        return dict(self.items())

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.field_names():
                raise KeyError(f"{type(self).__name__} has no field {key!r}; fields: {self.field_names()}")
            value = getattr(self, key)
            if value is None:
                raise KeyError(f"{type(self).__name__}.{key} is None in this output")
            return value
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        raise TypeError(f"output indices must be str, int or slice, not {type(key).__name__}")

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    # pytree support, used by the twins that register output classes with their tree utilities
    def flatten(self) -> tuple[tuple[Any, ...], tuple[str, ...]]:
        """(children, names) over all fields; None children stay None so the structure is static."""
        names = self.field_names()
        return tuple(getattr(self, n) for n in names), names

    @classmethod
    def unflatten(cls, names: tuple[str, ...], children: tuple[Any, ...]) -> ModelOutput:
        return cls(**dict(zip(names, children)))


@dataclasses.dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    """Output of the encoder stack.

    last_hidden_state: [B, T, H] hidden states of the last layer.
    past_key_values: per layer (self_k, self_v[, cross_k, cross_v]), each [B, N, T, H/N]; decoders only.
    hidden_states: embeddings output and every layer's output, each [B, T, H].
    attentions: every layer's attention probabilities, each [B, N, T, T].
    cross_attentions: every layer's cross-attention probabilities, each [B, N, T, S].
    """

    last_hidden_state: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclasses.dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    """Output of `BertModel`.

    last_hidden_state: [B, T, H] hidden states of the last layer.
    pooler_output: [B, H] tanh(dense(last_hidden_state[:, 0])), the [CLS] summary; None without pooler.
    hidden_states: embeddings output and every layer's output, each [B, T, H].
    past_key_values: per layer cached keys/values, each [B, N, T, H/N]; decoders with use_cache only.
    attentions: every layer's attention probabilities, each [B, N, T, T].
    cross_attentions: every layer's cross-attention probabilities, each [B, N, T, S].
    """

    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    past_key_values: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclasses.dataclass
class BertForPreTrainingOutput(ModelOutput):
    """Output of `BertForPreTraining`.

    loss: [] masked-LM loss plus next-sentence loss, when both label sets are given.
    prediction_logits: [B, T, V] masked-LM scores before softmax.
    seq_relationship_logits: [B, 2] next-sentence scores (0 = B follows A, 1 = B is random).
    """

    loss: Any = None
    prediction_logits: Any = None
    seq_relationship_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    """Output of `BertLMHeadModel`.

    loss: [] next-token cross-entropy (labels shifted left by one inside the model).
    logits: [B, T, V] next-token scores.
    past_key_values: the cache to pass back for incremental decoding.
    """

    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclasses.dataclass
class MaskedLMOutput(ModelOutput):
    """Output of `BertForMaskedLM`. loss: [] over positions whose label is not -100; logits: [B, T, V]."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class NextSentencePredictorOutput(ModelOutput):
    """Output of `BertForNextSentencePrediction`. loss: []; logits: [B, 2] (0 = is next)."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class SequenceClassifierOutput(ModelOutput):
    """Output of `BertForSequenceClassification`. loss: []; logits: [B, L] (L = 1 for regression)."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class MultipleChoiceModelOutput(ModelOutput):
    """Output of `BertForMultipleChoice`. loss: []; logits: [B, C], one score per choice."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class TokenClassifierOutput(ModelOutput):
    """Output of `BertForTokenClassification`. loss: [] over labels that are not -100; logits: [B, T, L]."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclasses.dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    """Output of `BertForQuestionAnswering`.

    loss: [] mean of the start and end cross-entropies (positions clamped to [0, T]; T is ignored).
    start_logits, end_logits: [B, T] span-boundary scores.
    """

    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


OUTPUT_CLASSES: tuple[type[ModelOutput], ...] = (
    BaseModelOutputWithPastAndCrossAttentions,
    BaseModelOutputWithPoolingAndCrossAttentions,
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    SequenceClassifierOutput,
    MultipleChoiceModelOutput,
    TokenClassifierOutput,
    QuestionAnsweringModelOutput,
)


@dataclasses.dataclass(frozen=True)
class OutputFlags:
    """The output switches of one model call, after defaults from the config were applied."""

    output_attentions: bool
    output_hidden_states: bool
    use_cache: bool
    return_dict: bool


def resolve_output_flags(
    config: Any,
    *,
    output_attentions: bool | None = None,
    output_hidden_states: bool | None = None,
    use_cache: bool | None = None,
    return_dict: bool | None = None,
) -> OutputFlags:
    """Fill the call's output switches from `config` (a BertConfig) where they are None.

    use_cache is False for a model that is not a decoder (`config.is_decoder`), whatever was asked:
    only decoders keep a cache, as in Transformers.
    """

    def pick(value: bool | None, default: bool) -> bool:
        return bool(default) if value is None else bool(value)

    return OutputFlags(
        output_attentions=pick(output_attentions, config.output_attentions),
        output_hidden_states=pick(output_hidden_states, config.output_hidden_states),
        use_cache=pick(use_cache, config.use_cache) if config.is_decoder else False,
        return_dict=pick(return_dict, config.return_dict),
    )


def finish_output(
    output: ModelOutput, return_dict: bool | None, config: Any
) -> ModelOutput | tuple[Any, ...]:
    """`output`, or with return_dict=False (default `config.return_dict`) its tuple of the fields that
    are not None, `loss` first when present (Transformers' tuple positions)."""
    return_dict = config.return_dict if return_dict is None else return_dict
    return output if return_dict else output.to_tuple()
