"""bert_tf: BERT and its heads as native Keras 3 models on the TensorFlow backend.

The Keras twin of bert_pt and bert_flax: the same classes (with the `TF` prefix), the same submodule
tree, the same numbers on the same weights, and `from_pretrained` / `save_pretrained` through the
canonical safetensors layout. `TFBertTokenizer` tokenizes inside the TensorFlow graph.

It needs Keras' TensorFlow backend: importing it under another backend (KERAS_BACKEND=jax, torch,
numpy) raises ImportError saying to set KERAS_BACKEND=tensorflow.

This file only re-exports. `TFBertTokenizer` is imported on first use: it needs tensorflow_text, whose
import is slow and which no model class needs (not to dodge an import cycle; nothing imports it back).
"""

from __future__ import annotations

from typing import Any

import keras

if keras.backend.backend() != "tensorflow":  # jax / torch / numpy: fit and loading break further on
    raise ImportError(
        f"bert_tf needs Keras on the TensorFlow backend, but Keras runs on {keras.backend.backend()!r}; "
        "set KERAS_BACKEND=tensorflow before Python starts (or before the first `import keras`)"
    )

from bert_tf.lm_heads import (
    TFBertForMaskedLM,
    TFBertForNextSentencePrediction,
    TFBertForPreTraining,
    TFBertLMHeadModel,
)
from bert_tf.modeling import TFBertMainLayer, TFBertModel
from bert_tf.pipelines import pipeline
from bert_tf.pretrained import TFBertPreTrainedModel
from bert_tf.registry import MODEL_CLASSES, model_class
from bert_tf.task_heads import (
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
)


def __getattr__(name: str) -> Any:
    if name == "TFBertTokenizer":
        from bert_tf.tokenizer import TFBertTokenizer

        return TFBertTokenizer
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
