"""BertConfig: the framework-neutral description of a BERT model.

One object is shared by the three twins. It reads the `config.json` that Hugging Face Transformers writes
and the `bert_config.json` of Google's original checkpoints (the same field names; the extra keys of the
Chinese and multilingual releases are kept as extras), validates every field when it is built, and
writes back a `config.json` that Transformers loads (`model_type: "bert"`). Keys it does not know, read
from a file, are kept in `extra` and written back unchanged (with a "did you mean" warning when spelled
like a field); unknown keyword arguments given in code are rejected, since there they are almost always
typos. Files are found and read with `bert_common.files`;
the label maps (`id2label`, `label2id`, `num_labels`) are resolved by `bert_common.config_labels`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bert_common.config_labels import default_labels, likely_typos, resolve_labels, unknown_keys_message
from bert_common.files import find_model_file, make_save_directory, read_json_object

logger = logging.getLogger("bert_zoo")

CONFIG_NAME = "config.json"
GOOGLE_CONFIG_NAME = "bert_config.json"

# Activation names every twin implements. "gelu" is the exact erf form; the three tanh names are the
# tanh approximation (identical formulas under different historical names).
SUPPORTED_ACTIVATIONS = (
    "gelu",
    "gelu_new",
    "gelu_pytorch_tanh",
    "gelu_fast",
    "relu",
    "silu",
    "swish",
    "tanh",
    "quick_gelu",
)
POSITION_EMBEDDING_TYPES = ("absolute", "relative_key", "relative_key_query")
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

# Defaults of every named field, in the order of the Transformers signature (seed 003), then the
# decoder, tying, task and output-control fields.
_DEFAULTS: dict[str, Any] = {
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
_LABEL_FIELDS = ("num_labels", "id2label", "label2id")
FIELDS: tuple[str, ...] = (*_DEFAULTS, *_LABEL_FIELDS)

_POSITIVE_INTS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
)
_PROBABILITIES = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout")
_BOOLS = (
    "use_cache",
    "is_decoder",
    "add_cross_attention",
    "tie_word_embeddings",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
)


class BertConfig:
    """Configuration of a BERT model and its heads.

    Arguments and defaults are those of `transformers.BertConfig` (seed 003). On top of them:
    `num_labels` / `id2label` / `label2id` / `problem_type` for the task heads, `is_decoder` /
    `add_cross_attention` for `BertLMHeadModel`, `tie_word_embeddings` for the MLM decoder, and
    `output_attentions` / `output_hidden_states` / `return_dict`, the defaults of the forward arguments.
    """

    model_type = "bert"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int | None = 0,
        position_embedding_type: str = "absolute",
        use_cache: bool = True,
        classifier_dropout: float | None = None,
        *,
        is_decoder: bool = False,
        add_cross_attention: bool = False,
        tie_word_embeddings: bool = True,
        bos_token_id: int | None = None,
        eos_token_id: int | None = None,
        num_labels: int | None = None,
        id2label: Mapping[int | str, str] | None = None,
        label2id: Mapping[str, int | str] | None = None,
        problem_type: str | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = True,
        pruned_heads: Mapping[int | str, list[int]] | None = None,
        architectures: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(unknown_keys_message(kwargs, FIELDS))
        # model
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.pad_token_id = pad_token_id
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout
        # decoder and tying
        self.is_decoder = is_decoder
        self.add_cross_attention = add_cross_attention
        self.tie_word_embeddings = tie_word_embeddings
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        # task heads
        self.id2label, self.label2id = resolve_labels(num_labels, id2label, label2id)
        self.problem_type = problem_type
        # forward() defaults
        self.output_attentions = output_attentions
        self.output_hidden_states = output_hidden_states
        self.return_dict = return_dict
        # bookkeeping
        self.pruned_heads = {int(k): sorted(int(h) for h in v) for k, v in (pruned_heads or {}).items()}
        self.architectures = list(architectures) if architectures is not None else None
        self.extra: dict[str, Any] = {}
        self.validate()

    # ------------------------------------------------------------------ labels

    @property
    def num_labels(self) -> int:
        """Number of labels of the classification heads (`len(id2label)`)."""
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"BertConfig.num_labels must be a positive int, got {value!r}")
        if value != self.num_labels:
            self.id2label, self.label2id = default_labels(value)

    @property
    def attention_head_size(self) -> int:
        """Width of one attention head, `hidden_size // num_attention_heads`."""
        return self.hidden_size // self.num_attention_heads

    # -------------------------------------------------------------- validation

    def validate(self) -> None:
        """Raise `ValueError`/`TypeError` naming the first field whose value is not valid."""
        for name in _POSITIVE_INTS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"BertConfig.{name} must be an int, got {type(value).__name__} {value!r}")
            if value <= 0:
                raise ValueError(f"BertConfig.{name} must be positive, got {value}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"BertConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.hidden_act not in SUPPORTED_ACTIVATIONS:
            raise ValueError(
                f"BertConfig.hidden_act {self.hidden_act!r} is not supported; use one of {SUPPORTED_ACTIVATIONS}"
            )
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"BertConfig.position_embedding_type {self.position_embedding_type!r} is not one of "
                f"{POSITION_EMBEDDING_TYPES}"
            )
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if value is None and name == "classifier_dropout":
                continue
            if not _is_real(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"BertConfig.{name} must be a probability in [0, 1], got {value!r}")
        if not _is_real(self.layer_norm_eps) or not self.layer_norm_eps > 0:
            raise ValueError(
                f"BertConfig.layer_norm_eps must be a positive number, got {self.layer_norm_eps!r}"
            )
        if not _is_real(self.initializer_range) or self.initializer_range < 0:
            raise ValueError(
                f"BertConfig.initializer_range must be a non-negative number, got {self.initializer_range!r}"
            )
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"BertConfig.{name} must be a bool, got {getattr(self, name)!r}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < self.vocab_size:
                raise ValueError(f"BertConfig.{name} must be None or an id in [0, vocab_size), got {value!r}")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"BertConfig.problem_type {self.problem_type!r} is not None or one of {PROBLEM_TYPES}"
            )
        if self.add_cross_attention and not self.is_decoder:
            # Transformers allows this but then silently never uses the cross-attention layers.
            raise ValueError("BertConfig.add_cross_attention=True needs is_decoder=True")
        for layer, heads in self.pruned_heads.items():
            if not 0 <= layer < self.num_hidden_layers:
                raise ValueError(
                    f"BertConfig.pruned_heads names layer {layer}, the model has {self.num_hidden_layers}"
                )
            if any(not 0 <= h < self.num_attention_heads for h in heads):
                raise ValueError(f"BertConfig.pruned_heads[{layer}] = {heads} has a head outside the model")

    # ------------------------------------------------------------ dict / json

    @classmethod
    def from_dict(cls, config_dict: Mapping[str, Any], **overrides: Any) -> BertConfig:
        """Build a config from a `config.json`-style dict; `overrides` are keyword arguments that win.

        Keys this class does not know are kept in `extra` (and written back by `to_dict`); keyword
        overrides must be known fields.
        """
        if not isinstance(config_dict, Mapping):
            raise TypeError(f"BertConfig.from_dict expects a mapping, got {type(config_dict).__name__}")
        model_type = config_dict.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"config has model_type {model_type!r}; BertConfig reads only 'bert' configs")
        unknown_overrides = {k: v for k, v in overrides.items() if k not in FIELDS}
        if unknown_overrides:
            raise TypeError(unknown_keys_message(unknown_overrides, FIELDS))
        known = {k: v for k, v in config_dict.items() if k in FIELDS}
        extra = {k: v for k, v in config_dict.items() if k not in FIELDS and k != "model_type"}
        if "num_labels" in known and "id2label" in known and known["num_labels"] != len(known["id2label"]):
            # Transformers writes both; a hand-edited file may disagree with itself.
            raise ValueError(
                f"config has num_labels={known['num_labels']} but id2label has {len(known['id2label'])} entries"
            )
        known.update(overrides)
        if "num_labels" in overrides and "id2label" not in overrides:
            known.pop("id2label", None)
            known.pop("label2id", None)
        config = cls(**known)
        config.extra = copy.deepcopy(extra)
        return config

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str], **overrides: Any) -> BertConfig:
        """Read a Transformers `config.json` or a Google `bert_config.json`; `overrides` win.

        A key close to a field's name (`num_hiden_layers`) is warned about with "did you mean".
        Raises FileNotFoundError for a missing file, ValueError for a file that is not UTF-8, invalid
        JSON or an invalid field.
        """
        data = read_json_object(path, "config file")
        for key, field in likely_typos(data, FIELDS).items():
            logger.warning("%s: unknown key %r (kept as an extra): did you mean %r?", path, key, field)
        return cls.from_dict(data, **overrides)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        **overrides: Any,
    ) -> BertConfig:
        """Load from a directory, a config file, or a hub id (through the hub cache).

        A directory may hold `config.json` (Transformers) or `bert_config.json` (Google).
        Raises FileNotFoundError when it holds neither, ModelNotFoundError for an unknown path or hub id.
        """
        path = find_model_file(
            name_or_path,
            (CONFIG_NAME, GOOGLE_CONFIG_NAME),
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        return cls.from_json_file(path, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Every field, then the extras read from file; `model_type` is always "bert"."""
        out: dict[str, Any] = {}
        for name in _DEFAULTS:
            value = getattr(self, name)
            if name == "pruned_heads":
                value = {str(k): list(v) for k, v in self.pruned_heads.items()}
            if name == "architectures" and value is None:
                continue
            out[name] = copy.deepcopy(value)
        out["id2label"] = {str(i): label for i, label in self.id2label.items()}
        out["label2id"] = dict(self.label2id)
        for key, value in self.extra.items():
            out.setdefault(key, copy.deepcopy(value))
        out["model_type"] = self.model_type
        return out

    def to_json_string(self) -> str:
        """The JSON text that `save_pretrained` writes (sorted keys, two-space indent)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike[str]) -> None:
        """Write `to_json_string()` to the file `path`."""
        Path(path).write_text(self.to_json_string(), encoding="utf-8")

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> Path:
        """Write `config.json` into `save_directory` (created if needed); returns the file's path.

        Raises NotADirectoryError when `save_directory` is a file.
        """
        path = make_save_directory(save_directory, "save_pretrained") / CONFIG_NAME
        self.to_json_file(path)
        return path

    # ------------------------------------------------------------ utilities

    def copy(self, **changes: Any) -> BertConfig:
        """A validated deep copy with `changes` applied (known fields only)."""
        return type(self).from_dict(self.to_dict(), **changes)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: expose the extras read from file as attributes,
        # as Transformers users expect (`config.transformers_version`).
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"BertConfig has no field {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BertConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"BertConfig {self.to_json_string()}"


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
