"""The dictionary side of BertConfig: its fields and their defaults, and `to_diff_dict`'s rule.

`FIELD_DEFAULTS` lists every named field of `bert_common.config.BertConfig` with its default, in the
order of the Transformers signature; `FIELDS` adds the label fields. `PRETRAINED_CONFIG_DEFAULTS` are the
defaults of the generic fields of Transformers 4.57's `PretrainedConfig` (the base class every
Transformers config shares); `diff_dict` applies Transformers' `to_diff_dict` rule with them: a key is
kept unless it is one of those generic fields and holds both the generic default and BertConfig's own
default. BERT's own fields (`hidden_size`, ...) are therefore always kept, as Transformers keeps them.

No tensors here; Y (num_labels) is the only letter of the shape alphabet that appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Defaults of every named field, in the order of the Transformers signature (seed 003), then the
# decoder, tying, task and output-control fields.
FIELD_DEFAULTS: dict[str, Any] = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "use_cache": True,
    "classifier_dropout": None,
    "is_decoder": False,
    "add_cross_attention": False,
    "tie_word_embeddings": True,
    "bos_token_id": None,
    "eos_token_id": None,
    "problem_type": None,
    "output_attentions": False,
    "output_hidden_states": False,
    "return_dict": True,
    "pruned_heads": None,
    "architectures": None,
}
LABEL_FIELDS = ("num_labels", "id2label", "label2id")
FIELDS: tuple[str, ...] = (*FIELD_DEFAULTS, *LABEL_FIELDS)
# The key under which Transformers keeps `name_or_path` in a config dict (never written to config.json).
NAME_OR_PATH_KEY = "_name_or_path"

# `transformers.PretrainedConfig().to_dict()` of Transformers 4.57.1 (tests/fixtures/reference/make_config.py
# reads the same values), less `_name_or_path`, `transformers_version` and `model_type`, which
# `to_diff_dict` handles on their own. Label maps in their JSON form (string ids).
PRETRAINED_CONFIG_DEFAULTS: dict[str, Any] = {
    "return_dict": True,
    "output_hidden_states": False,
    "output_attentions": False,
    "torchscript": False,
    "dtype": None,
    "pruned_heads": {},
    "tie_word_embeddings": True,
    "chunk_size_feed_forward": 0,
    "is_encoder_decoder": False,
    "is_decoder": False,
    "cross_attention_hidden_size": None,
    "add_cross_attention": False,
    "tie_encoder_decoder": False,
    "architectures": None,
    "finetuning_task": None,
    "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
    "label2id": {"LABEL_0": 0, "LABEL_1": 1},
    "task_specific_params": None,
    "problem_type": None,
    "tokenizer_class": None,
    "prefix": None,
    "bos_token_id": None,
    "pad_token_id": None,
    "eos_token_id": None,
    "sep_token_id": None,
    "decoder_start_token_id": None,
    "max_length": 20,
    "min_length": 0,
    "do_sample": False,
    "early_stopping": False,
    "num_beams": 1,
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "typical_p": 1.0,
    "repetition_penalty": 1.0,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "num_return_sequences": 1,
    "output_scores": False,
    "return_dict_in_generate": False,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "remove_invalid_values": False,
    "exponential_decay_length_penalty": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "num_beam_groups": 1,
    "diversity_penalty": 0.0,
    "tf_legacy_loss": False,
    "use_bfloat16": False,
}


def diff_dict(full: Mapping[str, Any], class_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Transformers' `to_diff_dict` rule applied to `full` (a `BertConfig.to_dict()`).

    full: the config's dict. class_defaults: `BertConfig().to_dict()`, the defaults of this class.
    A key is dropped when it is a generic `PretrainedConfig` field whose value equals both the generic
    default and the class default; every other key is kept (BERT's own fields and the extras read from
    a file always, `pad_token_id` always, since BERT's default 0 is not the generic None).
    """
    out = {}
    for key, value in full.items():
        if key in PRETRAINED_CONFIG_DEFAULTS:
            generic = PRETRAINED_CONFIG_DEFAULTS[key]
            if _same(value, generic) and _same(value, class_defaults.get(key, generic)):
                continue
        out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    # Label maps and pruned heads compare in their JSON form (string keys), as Transformers compares them
    # after its own to_dict; other values with ==, as Transformers does.
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return {str(k): v for k, v in a.items()} == {str(k): v for k, v in b.items()}
    return bool(a == b)
