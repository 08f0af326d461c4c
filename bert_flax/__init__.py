"""bert_flax: BERT and its heads as Flax linen modules, with Transformers-style wrappers.

    from bert_flax import FlaxBertModel
    model = FlaxBertModel.from_pretrained("path/or/hub-id")     # float32, params as a nested dict
    out = model(input_ids, attention_mask)                      # out.last_hidden_state [B, T, H]

Linen modules (`FlaxBertModule`, `FlaxBertFor*Module`) work with `init` / `apply`; the wrappers
(`FlaxBertModel`, `FlaxBertFor*`) hold `config`, `params` and `module`, load and save the canonical
safetensors layout shared with the PyTorch and Keras twins, and are jit/grad/vmap friendly. The building
blocks (attention, layers, embeddings, head parts) are imported from their modules. Imports no torch,
tensorflow or keras.

Shape legend: B batch, T sequence length, H hidden size.
"""

from __future__ import annotations

from bert_common.config import BertConfig
from bert_common.generation import GenerateOutput
from bert_flax.generation import generate
from bert_flax.lm_heads import (
    FlaxBertForCausalLM,
    FlaxBertForCausalLMModule,
    FlaxBertForMaskedLM,
    FlaxBertForMaskedLMModule,
    FlaxBertForNextSentencePrediction,
    FlaxBertForNextSentencePredictionModule,
    FlaxBertForPreTraining,
    FlaxBertForPreTrainingModule,
)
from bert_flax.modeling import FlaxBertModel, FlaxBertModule
from bert_flax.pipelines import pipeline
from bert_flax.pretrained import FlaxBertPreTrainedModel
from bert_flax.registry import MODEL_CLASSES, MODULE_CLASSES, model_class
from bert_flax.task_heads import (
    FlaxBertForMultipleChoice,
    FlaxBertForMultipleChoiceModule,
    FlaxBertForQuestionAnswering,
    FlaxBertForQuestionAnsweringModule,
    FlaxBertForSequenceClassification,
    FlaxBertForSequenceClassificationModule,
    FlaxBertForTokenClassification,
    FlaxBertForTokenClassificationModule,
)

__all__ = [
    "MODEL_CLASSES",
    "MODULE_CLASSES",
    "BertConfig",
    "FlaxBertForCausalLM",
    "FlaxBertForCausalLMModule",
    "FlaxBertForMaskedLM",
    "FlaxBertForMaskedLMModule",
    "FlaxBertForMultipleChoice",
    "FlaxBertForMultipleChoiceModule",
    "FlaxBertForNextSentencePrediction",
    "FlaxBertForNextSentencePredictionModule",
    "FlaxBertForPreTraining",
    "FlaxBertForPreTrainingModule",
    "FlaxBertForQuestionAnswering",
    "FlaxBertForQuestionAnsweringModule",
    "FlaxBertForSequenceClassification",
    "FlaxBertForSequenceClassificationModule",
    "FlaxBertForTokenClassification",
    "FlaxBertForTokenClassificationModule",
    "FlaxBertModel",
    "FlaxBertModule",
    "FlaxBertPreTrainedModel",
    "GenerateOutput",
    "generate",
    "model_class",
    "pipeline",
]
