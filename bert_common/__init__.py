"""bert_common: the framework-neutral half of bert-zoo (config, outputs, tokenizers, files).

Imports no deep-learning framework; the twins `bert_pt`, `bert_tf` and `bert_flax` build on it.
"""

from __future__ import annotations

from bert_common.config import BertConfig
from bert_common.files import DEFAULT_MODEL_ID, ModelNotFoundError, default_model_dir, resolve_model_dir
from bert_common.outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    BaseModelOutputWithPoolingAndCrossAttentions,
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from bert_common.tokenization import BatchEncoding, BertTokenizer, BertTokenizerFast

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL_ID",
    "BaseModelOutputWithPastAndCrossAttentions",
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "BatchEncoding",
    "BertConfig",
    "BertForPreTrainingOutput",
    "BertTokenizer",
    "BertTokenizerFast",
    "CausalLMOutputWithCrossAttentions",
    "MaskedLMOutput",
    "ModelNotFoundError",
    "ModelOutput",
    "MultipleChoiceModelOutput",
    "NextSentencePredictorOutput",
    "QuestionAnsweringModelOutput",
    "SequenceClassifierOutput",
    "TokenClassifierOutput",
    "default_model_dir",
    "resolve_model_dir",
]
