"""torch.hub entry points of bert-zoo, named as in pytorch-pretrained-BERT's hub page (seed 004).

    import torch
    model = torch.hub.load("/path/to/bert-zoo", "bertModel", "/path/to/checkpoint", source="local")
    classifier = torch.hub.load(repo, "bertForSequenceClassification", "bert-base-cased", num_labels=2)

Each entry takes a checkpoint directory or hub id (the embedded all-MiniLM-L6-v2 when omitted) and the
keyword arguments of `from_pretrained` (BertConfig overrides such as num_labels, dtype,
attn_implementation, ...). Models come back in eval mode; call them with return_dict=False for the tuple
outputs of the original hub examples.
"""

from __future__ import annotations

import logging
import os
from typing import Any

dependencies = ["torch", "numpy", "safetensors", "tokenizers", "huggingface_hub"]

logger = logging.getLogger("bert_zoo")


def _path(pretrained_model_name_or_path: str | os.PathLike[str] | None) -> str | os.PathLike[str]:
    if pretrained_model_name_or_path is not None:
        return pretrained_model_name_or_path
    from bert_common.files import default_model_dir

    return default_model_dir()


def _load(class_name: str, pretrained_model_name_or_path: str | os.PathLike[str] | None, **kwargs: Any):
    import bert_pt

    return bert_pt.MODEL_CLASSES[class_name].from_pretrained(_path(pretrained_model_name_or_path), **kwargs)


def bertTokenizer(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any):
    """WordPiece tokenizer (basic tokenization, then WordPiece) of the checkpoint's vocab.txt."""
    try:
        from bert_common.tokenization import BertTokenizer
    except ImportError as err:
        raise ImportError(f"bertTokenizer needs bert_common.tokenization.BertTokenizer: {err}") from err
    return BertTokenizer.from_pretrained(_path(pretrained_model_name_or_path), **kwargs)


def bertModel(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any):
    """The bare encoder: (last_hidden_state, pooler_output) with return_dict=False."""
    return _load("BertModel", pretrained_model_name_or_path, **kwargs)


def bertForMaskedLM(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any):
    """BERT with the masked-LM head (fully pretrained in BERT checkpoints)."""
    return _load("BertForMaskedLM", pretrained_model_name_or_path, **kwargs)


def bertForNextSentencePrediction(
    pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any
):
    """BERT with the next-sentence classifier (fully pretrained in BERT checkpoints)."""
    return _load("BertForNextSentencePrediction", pretrained_model_name_or_path, **kwargs)


def bertForPreTraining(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any):
    """BERT with both pretraining heads: (prediction_logits, seq_relationship_logits)."""
    return _load("BertForPreTraining", pretrained_model_name_or_path, **kwargs)


def bertForSequenceClassification(
    pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any
):
    """BERT with a sequence classifier (initialized; to be fine-tuned). Pass num_labels=..."""
    return _load("BertForSequenceClassification", pretrained_model_name_or_path, **kwargs)


def bertForMultipleChoice(pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any):
    """BERT with a multiple-choice head (initialized; to be fine-tuned). Inputs are [B, C, T].

    `num_choices` (pytorch-pretrained-BERT's argument) is accepted and not needed: the number of choices
    is read from the inputs.
    """
    if kwargs.pop("num_choices", None) is not None:
        logger.info("bertForMultipleChoice: num_choices is read from the inputs' shape and need not be given")
    return _load("BertForMultipleChoice", pretrained_model_name_or_path, **kwargs)


def bertForTokenClassification(
    pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any
):
    """BERT with a token classifier (initialized; to be fine-tuned). Pass num_labels=..."""
    return _load("BertForTokenClassification", pretrained_model_name_or_path, **kwargs)


def bertForQuestionAnswering(
    pretrained_model_name_or_path: str | os.PathLike[str] | None = None, **kwargs: Any
):
    """BERT with a span head: (start_logits, end_logits)."""
    return _load("BertForQuestionAnswering", pretrained_model_name_or_path, **kwargs)
