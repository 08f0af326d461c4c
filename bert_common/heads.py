"""The BERT heads as data: names, output classes and the weights each head owns.

Each twin has one class per head with the same base name (`BertForMaskedLM`, `TFBertForMaskedLM`,
`FlaxBertForMaskedLM`); the CLI, the converter and the tests look heads up here instead of spelling the
list again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bert_common import outputs


@dataclass(frozen=True)
class Head:
    """One BERT head.

    name: the PyTorch class name, also the Transformers `architectures` entry.
    output: the output class the head returns.
    head_prefixes: canonical-name prefixes of the weights the head adds on top of `bert.`.
    pooler: whether the base model keeps its pooler under this head.
    """

    name: str
    output: type[outputs.ModelOutput]
    head_prefixes: tuple[str, ...]
    pooler: bool

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
        ),
        Head("BertLMHeadModel", outputs.CausalLMOutputWithCrossAttentions, ("cls.predictions.",), False),
        Head("BertForMaskedLM", outputs.MaskedLMOutput, ("cls.predictions.",), False),
        Head(
            "BertForNextSentencePrediction",
            outputs.NextSentencePredictorOutput,
            ("cls.seq_relationship.",),
            True,
        ),
        Head("BertForSequenceClassification", outputs.SequenceClassifierOutput, ("classifier.",), True),
        Head("BertForMultipleChoice", outputs.MultipleChoiceModelOutput, ("classifier.",), True),
        Head("BertForTokenClassification", outputs.TokenClassifierOutput, ("classifier.",), False),
        Head("BertForQuestionAnswering", outputs.QuestionAnsweringModelOutput, ("qa_outputs.",), False),
    )
}


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
