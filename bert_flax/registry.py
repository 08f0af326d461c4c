"""The bert_flax wrapper classes by head name (`bert_common.heads.HEADS`), for pipelines and the CLI."""

from __future__ import annotations

import flax.linen as nn

from bert_common.heads import build_registry, get_head
from bert_flax.lm_heads import (
    FlaxBertForCausalLM,
    FlaxBertForMaskedLM,
    FlaxBertForNextSentencePrediction,
    FlaxBertForPreTraining,
)
from bert_flax.modeling import FlaxBertModel
from bert_flax.pretrained import FlaxBertPreTrainedModel
from bert_flax.task_heads import (
    FlaxBertForMultipleChoice,
    FlaxBertForQuestionAnswering,
    FlaxBertForSequenceClassification,
    FlaxBertForTokenClassification,
)

# Head name -> wrapper class, from each class's `head_name` (build_registry raises if a head has no class).
MODEL_CLASSES: dict[str, type[FlaxBertPreTrainedModel]] = build_registry(
    [
        FlaxBertModel,
        FlaxBertForPreTraining,
        FlaxBertForCausalLM,
        FlaxBertForMaskedLM,
        FlaxBertForNextSentencePrediction,
        FlaxBertForSequenceClassification,
        FlaxBertForMultipleChoice,
        FlaxBertForTokenClassification,
        FlaxBertForQuestionAnswering,
    ]
)

# Head name -> linen module class.
MODULE_CLASSES: dict[str, type[nn.Module]] = {name: cls.module_class for name, cls in MODEL_CLASSES.items()}


def model_class(name: str) -> type[FlaxBertPreTrainedModel]:
    """The bert_flax wrapper of a head, by its PyTorch ("BertLMHeadModel"), TF ("TFBertForMaskedLM") or
    Flax ("FlaxBertForCausalLM") name.

    Raises:
        ValueError: an unknown head name.
    """
    return MODEL_CLASSES[get_head(name).name]
