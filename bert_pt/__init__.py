"""bert_pt: BERT and its eight heads in PyTorch, with the Hugging Face Transformers API.

    from bert_pt import BertModel
    model = BertModel.from_pretrained("path/or/hub-id")      # eval mode, float32, SDPA attention
    out = model(input_ids, attention_mask=attention_mask)    # out.last_hidden_state [B, T, H]

Parameter names equal Transformers' state-dict names, so its checkpoints load unchanged and
`save_pretrained` writes files Transformers loads. Imports no TensorFlow, JAX or Transformers.
"""

from __future__ import annotations

from bert_common.config import BertConfig
from bert_common.heads import HEADS
from bert_pt.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
)
from bert_pt.modeling import BertModel
from bert_pt.pipelines import pipeline
from bert_pt.pretrained import BertPreTrainedModel

# Head name (bert_common.heads.HEADS) -> class, for pipelines and the CLI.
MODEL_CLASSES: dict[str, type[BertPreTrainedModel]] = {
    cls.__name__: cls
    for cls in (
        BertModel,
        BertForPreTraining,
        BertLMHeadModel,
        BertForMaskedLM,
        BertForNextSentencePrediction,
        BertForSequenceClassification,
        BertForMultipleChoice,
        BertForTokenClassification,
        BertForQuestionAnswering,
    )
}
if set(MODEL_CLASSES) != set(HEADS):  # pragma: no cover - guards a change of the head list
    raise ImportError(
        f"bert_pt classes {sorted(MODEL_CLASSES)} differ from bert_common.heads {sorted(HEADS)}"
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
    "pipeline",
]
