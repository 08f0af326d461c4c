"""bert_pt: BERT and its eight heads in PyTorch, with the Hugging Face Transformers API.

    from bert_pt import BertModel
    model = BertModel.from_pretrained("path/or/hub-id")      # eval mode, float32, SDPA attention
    out = model(input_ids, attention_mask=attention_mask)    # out.last_hidden_state [B, T, H]

Parameter names equal Transformers' state-dict names, so its checkpoints load unchanged and
`save_pretrained` writes files Transformers loads. Imports no TensorFlow, JAX or Transformers.

Shape legend: B batch, T sequence length, H hidden size.
"""

from __future__ import annotations

from bert_common.config import BertConfig
from bert_pt.lm_heads import (
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertLMHeadModel,
)
from bert_pt.modeling import BertModel
from bert_pt.pipelines import pipeline
from bert_pt.pretrained import BertPreTrainedModel
from bert_pt.registry import MODEL_CLASSES, model_class
from bert_pt.task_heads import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)

__all__ = [
    "MODEL_CLASSES",
    "BertConfig",
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertLMHeadModel",
    "BertModel",
    "BertPreTrainedModel",
    "model_class",
    "pipeline",
]
