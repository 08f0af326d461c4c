"""bert_flax: BERT and its heads as Flax linen modules, with Transformers-style wrappers.

Linen modules (`FlaxBertModule`, `FlaxBertFor*Module`) work with `init` / `apply`; the wrappers
(`FlaxBertModel`, `FlaxBertFor*`) hold `config`, `params` and `module`, load and save the canonical
safetensors layout shared with the PyTorch and Keras twins, and are jit/grad/vmap friendly.
Imports no torch, tensorflow or keras.
"""

from __future__ import annotations

import bert_flax.outputs  # noqa: F401  (registers the output classes as pytrees)
from bert_flax.attention import FlaxBertAttention, FlaxBertSelfAttention, FlaxBertSelfOutput
from bert_flax.embeddings import FlaxBertEmbeddings
from bert_flax.generation import GenerationOutput, generate
from bert_flax.heads import (
    FlaxBertForCausalLM,
    FlaxBertForCausalLMModule,
    FlaxBertForMaskedLM,
    FlaxBertForMaskedLMModule,
    FlaxBertForMultipleChoice,
    FlaxBertForMultipleChoiceModule,
    FlaxBertForNextSentencePrediction,
    FlaxBertForNextSentencePredictionModule,
    FlaxBertForPreTraining,
    FlaxBertForPreTrainingModule,
    FlaxBertForQuestionAnswering,
    FlaxBertForQuestionAnsweringModule,
    FlaxBertForSequenceClassification,
    FlaxBertForSequenceClassificationModule,
    FlaxBertForTokenClassification,
    FlaxBertForTokenClassificationModule,
    FlaxBertLMPredictionHead,
    FlaxBertOnlyMLMHead,
    FlaxBertOnlyNSPHead,
    FlaxBertPredictionHeadTransform,
    FlaxBertPreTrainingHeads,
)
from bert_flax.layers import (
    FlaxBertEncoder,
    FlaxBertIntermediate,
    FlaxBertLayer,
    FlaxBertLayerCollection,
    FlaxBertOutput,
    FlaxBertPooler,
)
from bert_flax.modeling import FlaxBertModel, FlaxBertModule
from bert_flax.pipelines import pipeline
from bert_flax.pretrained import FlaxBertPreTrainedModel
from bert_flax.scan import FlaxBertScannedLayerCollection

# Head name (bert_common.heads.HEADS, the PyTorch class name) -> Flax wrapper class.
MODEL_CLASSES: dict[str, type[FlaxBertPreTrainedModel]] = {
    cls.head_name: cls
    for cls in (
        FlaxBertModel,
        FlaxBertForPreTraining,
        FlaxBertForCausalLM,
        FlaxBertForMaskedLM,
        FlaxBertForNextSentencePrediction,
        FlaxBertForSequenceClassification,
        FlaxBertForMultipleChoice,
        FlaxBertForTokenClassification,
        FlaxBertForQuestionAnswering,
    )
}

# Head name -> linen module class.
MODULE_CLASSES: dict[str, type] = {name: cls.module_class for name, cls in MODEL_CLASSES.items()}

__all__ = [
    "MODEL_CLASSES",
    "MODULE_CLASSES",
    "FlaxBertAttention",
    "FlaxBertEmbeddings",
    "FlaxBertEncoder",
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
    "FlaxBertIntermediate",
    "FlaxBertLMPredictionHead",
    "FlaxBertLayer",
    "FlaxBertLayerCollection",
    "FlaxBertModel",
    "FlaxBertModule",
    "FlaxBertOnlyMLMHead",
    "FlaxBertOnlyNSPHead",
    "FlaxBertOutput",
    "FlaxBertPooler",
    "FlaxBertPreTrainedModel",
    "FlaxBertPreTrainingHeads",
    "FlaxBertPredictionHeadTransform",
    "FlaxBertScannedLayerCollection",
    "FlaxBertSelfAttention",
    "FlaxBertSelfOutput",
    "GenerationOutput",
    "generate",
    "pipeline",
]
