"""The registry of bert_tf's model classes: head name (bert_common.heads) -> Keras class.

Shape legend: none (no tensors here).
"""

from __future__ import annotations

from bert_common.heads import build_registry, get_head
from bert_tf.lm_heads import (
    TFBertForMaskedLM,
    TFBertForNextSentencePrediction,
    TFBertForPreTraining,
    TFBertLMHeadModel,
)
from bert_tf.modeling import TFBertModel
from bert_tf.pretrained import TFBertPreTrainedModel
from bert_tf.task_heads import (
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
)

# Head name (the PyTorch class name, a key of bert_common.heads.HEADS) -> Keras class.
MODEL_CLASSES: dict[str, type[TFBertPreTrainedModel]] = build_registry(
    [
        TFBertModel,
        TFBertForPreTraining,
        TFBertLMHeadModel,
        TFBertForMaskedLM,
        TFBertForNextSentencePrediction,
        TFBertForSequenceClassification,
        TFBertForMultipleChoice,
        TFBertForTokenClassification,
        TFBertForQuestionAnswering,
    ]
)


def model_class(name: str) -> type[TFBertPreTrainedModel]:
    """The Keras class of a head, by its PyTorch ("BertForMaskedLM"), TF ("TFBertForMaskedLM") or Flax
    ("FlaxBertForCausalLM") name.

    Raises:
        ValueError: an unknown head name.
    """
    return MODEL_CLASSES[get_head(name).name]
