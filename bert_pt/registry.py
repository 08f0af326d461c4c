"""The bert_pt model classes by head name (`bert_common.heads.HEADS`), for pipelines, torch.hub and the CLI.

Shape legend: none (no tensors here).
"""

from __future__ import annotations

from bert_common.heads import build_registry, get_head
from bert_pt.lm_heads import (
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertLMHeadModel,
)
from bert_pt.modeling import BertModel
from bert_pt.pretrained import BertPreTrainedModel
from bert_pt.task_heads import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)

# Head name -> class, from each class's `head_name` (build_registry raises if a head has no class).
MODEL_CLASSES: dict[str, type[BertPreTrainedModel]] = build_registry(
    [
        BertModel,
        BertForPreTraining,
        BertLMHeadModel,
        BertForMaskedLM,
        BertForNextSentencePrediction,
        BertForSequenceClassification,
        BertForMultipleChoice,
        BertForTokenClassification,
        BertForQuestionAnswering,
    ]
)


def model_class(name: str) -> type[BertPreTrainedModel]:
    """The bert_pt class of a head, by its PyTorch ("BertForMaskedLM"), TF ("TFBertForMaskedLM") or Flax
    ("FlaxBertForMaskedLM", "FlaxBertForCausalLM") name.

    Raises:
        ValueError: an unknown head name.
    """
    return MODEL_CLASSES[get_head(name).name]
