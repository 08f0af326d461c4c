"""The BERT heads as data: names, output classes and the weights each head owns.

Each twin has one class per head with the same base name (`BertForMaskedLM`, `TFBertForMaskedLM`,
`FlaxBertForMaskedLM`); the CLI, the converter and the tests look heads up here instead of spelling the
list again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bert_common import outputs


@dataclass(frozen=True)
class Head:
    """One BERT head.

    name: the PyTorch class name, also the Transformers `architectures` entry.
    output: the output class the head returns.
    head_prefixes: canonical-name prefixes of the weights the head adds on top of `bert.`.
    pooler: whether the base model keeps its pooler under this head.
    labels: the label arguments of the head's call, in call order (Transformers' names).
    label_classes: per label, what its integer values range over: "vocab" (V), "next_sentence" (2),
        "num_labels" (Y; unchecked for regression), "choices" (C) or "positions" (clamped, unchecked).
    loss: the loss kind; each twin's `losses.py` implements it as `<loss>_loss` (see `loss_function`).
    input_rank: 2 for [B, T] inputs, 3 for multiple choice [B, C, T].
    label_aliases: other names Transformers accepts for a label (old name -> label name).
    """

    name: str
    output: type[outputs.ModelOutput]
    head_prefixes: tuple[str, ...]
    pooler: bool
    labels: tuple[str, ...] = ()
    label_classes: tuple[str, ...] = ()
    loss: str | None = None
    input_rank: int = 2
    label_aliases: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.label_classes):
            raise ValueError(f"{self.name}: one label_classes entry per label, got {self.label_classes}")

    @property
    def loss_function(self) -> str | None:
        """The name of the function in each twin's `losses.py` that computes this head's loss."""
        return None if self.loss is None else f"{self.loss}_loss"

    @property
    def tied_decoder(self) -> bool:
        """Whether the head scores the vocabulary with `cls.predictions.decoder` (tied to the word
        embeddings when `config.tie_word_embeddings`)."""
        return "cls.predictions." in self.head_prefixes

    def canonical_label(self, name: str) -> str:
        """`name`, or the label it is an alias of (e.g. NSP's `next_sentence_label` -> `labels`)."""
        return dict(self.label_aliases).get(name, name)

    @property
    def tf_name(self) -> str:
        return "TF" + self.name

    @property
    def flax_name(self) -> str:
        return "Flax" + ("BertForCausalLM" if self.name == "BertLMHeadModel" else self.name)


HEADS: dict[str, Head] = {
    head.name: head
    for head in (
        Head("BertModel", outputs.BaseModelOutputWithPoolingAndCrossAttentions, (), True),
        Head(
            "BertForPreTraining",
            outputs.BertForPreTrainingOutput,
            ("cls.predictions.", "cls.seq_relationship."),
            True,
            labels=("labels", "next_sentence_label"),
            label_classes=("vocab", "next_sentence"),
            loss="pretraining",
        ),
        Head(
            "BertLMHeadModel",
            outputs.CausalLMOutputWithCrossAttentions,
            ("cls.predictions.",),
            False,
            labels=("labels",),
            label_classes=("vocab",),
            loss="causal_lm",
        ),
        Head(
            "BertForMaskedLM",
            outputs.MaskedLMOutput,
            ("cls.predictions.",),
            False,
            labels=("labels",),
            label_classes=("vocab",),
            loss="masked_lm",
        ),
        Head(
            "BertForNextSentencePrediction",
            outputs.NextSentencePredictorOutput,
            ("cls.seq_relationship.",),
            True,
            labels=("labels",),
            label_classes=("next_sentence",),
            loss="next_sentence",
            label_aliases=(("next_sentence_label", "labels"),),
        ),
        Head(
            "BertForSequenceClassification",
            outputs.SequenceClassifierOutput,
            ("classifier.",),
            True,
            labels=("labels",),
            label_classes=("num_labels",),
            loss="sequence_classification",
        ),
        Head(
            "BertForMultipleChoice",
            outputs.MultipleChoiceModelOutput,
            ("classifier.",),
            True,
            labels=("labels",),
            label_classes=("choices",),
            loss="multiple_choice",
            input_rank=3,
        ),
        Head(
            "BertForTokenClassification",
            outputs.TokenClassifierOutput,
            ("classifier.",),
            False,
            labels=("labels",),
            label_classes=("num_labels",),
            loss="token_classification",
        ),
        Head(
            "BertForQuestionAnswering",
            outputs.QuestionAnsweringModelOutput,
            ("qa_outputs.",),
            False,
            labels=("start_positions", "end_positions"),
            label_classes=("positions", "positions"),
            loss="question_answering",
        ),
    )
}

# The eight loss functions every twin's losses.py defines, with these names and signatures:
#   masked_lm_loss(logits [B, T, V], labels [B, T]) -> scalar
#   causal_lm_loss(logits [B, T, V], labels [B, T]) -> scalar
#   next_sentence_loss(logits [B, 2], labels [B]) -> scalar
#   pretraining_loss(prediction_logits, seq_relationship_logits, labels, next_sentence_label) -> scalar
#   sequence_classification_loss(logits [B, Y], labels, config) -> scalar
#   multiple_choice_loss(logits [B, C], labels [B]) -> scalar
#   token_classification_loss(logits [B, T, Y], labels [B, T]) -> scalar
#   question_answering_loss(start_logits [B, T], end_logits [B, T], start_positions [B], end_positions [B])
LOSS_FUNCTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(h.loss_function for h in HEADS.values() if h.loss_function is not None)
)


def get_head(name: str) -> Head:
    """The head called `name`; accepts the PyTorch, TF (`TF...`) and Flax (`Flax...`) spellings."""
    key = name
    if key.startswith("TF"):
        key = key[2:]
    elif key.startswith("Flax"):
        key = key[4:]
        if key == "BertForCausalLM":
            key = "BertLMHeadModel"
    if key not in HEADS:
        raise ValueError(f"unknown BERT head {name!r}; known heads: {sorted(HEADS)}")
    return HEADS[key]


def head_of_checkpoint(names: list[str] | set[str]) -> str:
    """Best guess of the head a checkpoint was saved from, by the head weights it holds."""
    has = lambda prefix: any(n.startswith(prefix) for n in names)  # noqa: E731
    if has("cls.predictions.") and has("cls.seq_relationship."):
        return "BertForPreTraining"
    if has("cls.predictions."):
        return "BertForMaskedLM"
    if has("cls.seq_relationship."):
        return "BertForNextSentencePrediction"
    if has("qa_outputs."):
        return "BertForQuestionAnswering"
    if has("classifier."):
        return "BertForSequenceClassification"
    return "BertModel"


def build_registry(classes: Iterable[type]) -> dict[str, type]:
    """Head name -> model class, for a twin's `registry.py`; every class carries a `head_name` ClassVar.

    Raises:
        ValueError: a class without a known `head_name`, two classes for one head, or a head with no class.
    """
    registry: dict[str, type] = {}
    for cls in classes:
        name = get_head(getattr(cls, "head_name", "")).name if getattr(cls, "head_name", None) else None
        if name is None:
            raise ValueError(f"{cls.__name__} has no head_name")
        if name in registry:
            raise ValueError(f"two classes for {name}: {registry[name].__name__} and {cls.__name__}")
        registry[name] = cls
    missing = sorted(set(HEADS) - set(registry))
    if missing:
        raise ValueError(f"no class for the head(s) {missing}")
    return registry
