"""bert_tf: BERT and its heads as native Keras 3 models on the TensorFlow backend.

The Keras twin of bert_pt and bert_flax: the same classes (with the `TF` prefix), the same submodule
tree, the same numbers on the same weights, and `from_pretrained` / `save_pretrained` through the
canonical safetensors layout. `TFBertTokenizer` tokenizes inside the TensorFlow graph.
"""

from __future__ import annotations

from bert_common.heads import get_head
from bert_tf.heads import (
    TFBertForMaskedLM,
    TFBertForMultipleChoice,
    TFBertForNextSentencePrediction,
    TFBertForPreTraining,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFBertLMHeadModel,
)
from bert_tf.modeling import TFBertMainLayer, TFBertModel, TFBertPreTrainedModel

# Head name (bert_common.heads.HEADS, the PyTorch class name) -> Keras class.
MODEL_CLASSES: dict[str, type[TFBertPreTrainedModel]] = {
    cls.head_name: cls
    for cls in (
        TFBertModel,
        TFBertForPreTraining,
        TFBertLMHeadModel,
        TFBertForMaskedLM,
        TFBertForNextSentencePrediction,
        TFBertForSequenceClassification,
        TFBertForMultipleChoice,
        TFBertForTokenClassification,
        TFBertForQuestionAnswering,
    )
}


def model_class(head_name: str) -> type[TFBertPreTrainedModel]:
    """The Keras class of a head, by its PyTorch ("BertForMaskedLM") or TF ("TFBertForMaskedLM") name."""
    return MODEL_CLASSES[get_head(head_name).name]


def __getattr__(name: str):  # the tokenizer pulls in tensorflow_text, so it loads on first use
    if name == "TFBertTokenizer":
        from bert_tf.tokenizer import TFBertTokenizer

        return TFBertTokenizer
    if name == "pipeline":
        from bert_tf.pipelines import pipeline

        return pipeline
    raise AttributeError(f"module 'bert_tf' has no attribute {name!r}")


__all__ = [
    "MODEL_CLASSES",
    "TFBertForMaskedLM",
    "TFBertForMultipleChoice",
    "TFBertForNextSentencePrediction",
    "TFBertForPreTraining",
    "TFBertForQuestionAnswering",
    "TFBertForSequenceClassification",
    "TFBertForTokenClassification",
    "TFBertLMHeadModel",
    "TFBertMainLayer",
    "TFBertModel",
    "TFBertPreTrainedModel",
    "TFBertTokenizer",
    "model_class",
    "pipeline",
]
