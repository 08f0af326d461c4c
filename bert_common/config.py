"""BertConfig: the framework-neutral description of a BERT model.

One object is shared by the three twins. It reads the `config.json` that Hugging Face Transformers writes
and the `bert_config.json` of Google's original checkpoints (the same field names; the extra keys of the
Chinese and multilingual releases are kept as extras), validates every field when it is built, and
writes back a `config.json` that Transformers loads (`model_type: "bert"`). Keys it does not know, read
from a file, are kept in `extra` and written back unchanged (with a "did you mean" warning when spelled
like a field); unknown keyword arguments given in code are rejected, since there they are almost always
typos (`from_pretrained(..., return_unused_kwargs=True)` hands them back instead, as in Transformers).
`name_or_path` records where the config was loaded from (`_name_or_path` in Transformers' dicts; never
written to config.json, as Transformers 4.57 never writes it). Files are found and read with
`bert_common.files`; the label maps (`id2label`, `label2id`, `num_labels`) are resolved by
`bert_common.config_labels`; the fields, their defaults and `to_diff_dict`'s rule are in
`bert_common.config_dicts`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bert_common.config_checks import (
    POSITION_EMBEDDING_TYPES,
    PROBLEM_TYPES,
    SUPPORTED_ACTIVATIONS,
    check_fields,
)
from bert_common.config_dicts import FIELD_DEFAULTS, FIELDS, NAME_OR_PATH_KEY, diff_dict
from bert_common.config_labels import default_labels, likely_typos, resolve_labels, unknown_keys_message
from bert_common.files import find_model_file, make_save_directory, read_json_object

logger = logging.getLogger("bert_zoo")

CONFIG_NAME = "config.json"
GOOGLE_CONFIG_NAME = "bert_config.json"


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
        name_or_path: str | os.PathLike[str] = "",
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
        self.name_or_path = name_or_path
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
    def name_or_path(self) -> str:
        """Where the config was loaded from: the path or hub id given to `from_pretrained`, else the
        `_name_or_path` of the dict it was built from, else "". Never written to config.json."""
        return self._name_or_path

    @name_or_path.setter
    def name_or_path(self, value: str | os.PathLike[str]) -> None:
        self._name_or_path = os.fspath(value) if isinstance(value, os.PathLike) else str(value)

    @property
    def use_return_dict(self) -> bool:
        """Whether models return output objects: `return_dict`, unless the config asks for TorchScript
        (`torchscript: true`, kept as an extra), as in Transformers."""
        return self.return_dict and not bool(self.extra.get("torchscript", False))

    @property
    def attention_head_size(self) -> int:
        """Width of one attention head, `hidden_size // num_attention_heads`."""
        return self.hidden_size // self.num_attention_heads

    # -------------------------------------------------------------- validation

    def validate(self) -> None:
        """Raise `ValueError`/`TypeError` naming the first field whose value is not valid
        (`bert_common.config_checks.check_fields`)."""
        check_fields(self)

    # ------------------------------------------------------------ dict / json

    @classmethod
    def from_dict(
        cls, config_dict: Mapping[str, Any], *, return_unused_kwargs: bool = False, **overrides: Any
    ) -> BertConfig | tuple[BertConfig, dict[str, Any]]:
        """Build a config from a `config.json`-style dict; `overrides` are keyword arguments that win.

        Keys this class does not know are kept in `extra` (and written back by `to_dict`); `_name_or_path`
        becomes `name_or_path`. An override of `num_labels` resets the label names only when the count
        changes; one of `id2label` / `label2id` alone recomputes the other.

        return_unused_kwargs: return (config, the overrides that are no BertConfig field) instead of
            raising for them, as Transformers does.

        Raises:
            TypeError: `config_dict` is not a mapping; an override that is no field (unless
                return_unused_kwargs).
            ValueError: a model_type other than "bert", label maps that disagree, an invalid field.
        """
        if not isinstance(config_dict, Mapping):
            raise TypeError(f"BertConfig.from_dict expects a mapping, got {type(config_dict).__name__}")
        model_type = config_dict.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"config has model_type {model_type!r}; BertConfig reads only 'bert' configs")
        unused = {k: v for k, v in overrides.items() if k not in FIELDS}
        if unused and not return_unused_kwargs:
            raise TypeError(unknown_keys_message(unused, FIELDS))
        overrides = {k: v for k, v in overrides.items() if k in FIELDS}
        known = {k: v for k, v in config_dict.items() if k in FIELDS}
        skip = (*FIELDS, "model_type", NAME_OR_PATH_KEY, "name_or_path")
        extra = {k: v for k, v in config_dict.items() if k not in skip}
        if "num_labels" in known and "id2label" in known and known["num_labels"] != len(known["id2label"]):
            # Transformers writes both; a hand-edited file may disagree with itself.
            raise ValueError(
                f"config has num_labels={known['num_labels']} but id2label has {len(known['id2label'])} entries"
            )
        labels = known.get("id2label") or known.get("label2id")
        if "num_labels" in overrides and (labels is None or len(labels) != overrides["num_labels"]):
            known.pop("id2label", None)  # a new count: names LABEL_0..LABEL_{Y-1}, as Transformers
            known.pop("label2id", None)
        for given, derived in (("id2label", "label2id"), ("label2id", "id2label")):
            if given in overrides and derived not in overrides:
                known.pop(derived, None)  # recomputed from the new map, never a stale one kept
                if "num_labels" not in overrides:
                    known.pop("num_labels", None)
        known.update(overrides)
        name = config_dict.get(NAME_OR_PATH_KEY) or config_dict.get("name_or_path") or ""
        config = cls(**known, name_or_path=name)
        config.extra = copy.deepcopy(extra)
        return (config, unused) if return_unused_kwargs else config

    @classmethod
    def from_json_file(
        cls, path: str | os.PathLike[str], *, return_unused_kwargs: bool = False, **overrides: Any
    ) -> BertConfig | tuple[BertConfig, dict[str, Any]]:
        """Read a Transformers `config.json` or a Google `bert_config.json`; `overrides` win.

        A key close to a field's name (`num_hiden_layers`) is warned about with "did you mean".
        return_unused_kwargs: as in `from_dict`.
        Raises FileNotFoundError for a missing file, ValueError for a file that is not UTF-8, invalid
        JSON or an invalid field, TypeError for an unknown override.
        """
        data = read_json_object(path, "config file")
        for key, field in likely_typos(data, FIELDS).items():
            logger.warning("%s: unknown key %r (kept as an extra): did you mean %r?", path, key, field)
        return cls.from_dict(data, return_unused_kwargs=return_unused_kwargs, **overrides)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        return_unused_kwargs: bool = False,
        **overrides: Any,
    ) -> BertConfig | tuple[BertConfig, dict[str, Any]]:
        """Load from a directory, a config file, or a hub id (through the hub cache).

        A directory may hold `config.json` (Transformers) or `bert_config.json` (Google). overrides:
        fields that replace the stored values (`num_labels=3`). return_unused_kwargs: return
        (config, {the overrides that are no field}) instead of raising for them, as Transformers does.
        The config's `name_or_path` is `name_or_path` as given (what Transformers' model loaders set).

        Raises:
            FileNotFoundError: the directory holds neither file.
            ModelNotFoundError: an unknown path or hub id.
            TypeError: an override that is no field (unless return_unused_kwargs).
            ValueError: an unreadable file or an invalid field.
        """
        path = find_model_file(
            name_or_path,
            (CONFIG_NAME, GOOGLE_CONFIG_NAME),
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        result = cls.from_json_file(path, return_unused_kwargs=return_unused_kwargs, **overrides)
        config = result[0] if isinstance(result, tuple) else result
        config.name_or_path = name_or_path
        return result

    def to_dict(self) -> dict[str, Any]:
        """Every field, then the extras read from file; `model_type` is always "bert".

        Unlike Transformers' `to_dict`, `_name_or_path` is left out: two configs that describe the same
        model are equal wherever they were loaded from (`name_or_path` holds it).
        """
        out: dict[str, Any] = {}
        for name in FIELD_DEFAULTS:
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

    def to_diff_dict(self) -> dict[str, Any]:
        """`to_dict()` less the generic fields that hold their defaults, as Transformers' `to_diff_dict`
        (BERT's own fields, `pad_token_id` and the extras read from file are always kept)."""
        return diff_dict(self.to_dict(), _class_defaults())

    def to_json_string(self, use_diff: bool = False) -> str:
        """The JSON text that `save_pretrained` writes (sorted keys, two-space indent): every field, or
        with use_diff=True only `to_diff_dict()` (Transformers' default; here the full dict is)."""
        return (
            json.dumps(self.to_diff_dict() if use_diff else self.to_dict(), indent=2, sort_keys=True) + "\n"
        )

    def to_json_file(self, path: str | os.PathLike[str], use_diff: bool = False) -> None:
        """Write `to_json_string(use_diff)` to the file `path`."""
        Path(path).write_text(self.to_json_string(use_diff), encoding="utf-8")

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> Path:
        """Write `config.json` into `save_directory` (created if needed); returns the file's path.

        Raises NotADirectoryError when `save_directory` is a file.
        """
        path = make_save_directory(save_directory, "save_pretrained") / CONFIG_NAME
        self.to_json_file(path)
        return path

    # ------------------------------------------------------------ utilities

    def copy(self, **changes: Any) -> BertConfig:
        """A validated deep copy with `changes` applied (known fields only); keeps `name_or_path`."""
        other = type(self).from_dict(self.to_dict(), **changes)
        other.name_or_path = self.name_or_path
        return other

    def update(self, config_dict: Mapping[str, Any]) -> None:
        """Set the fields named in `config_dict`, as Transformers' `update`, but validated first: on an
        error nothing changes. Keys already held as extras are updated there; `name_or_path` /
        `_name_or_path` set `name_or_path`; the label maps stay consistent (see `from_dict`).

        Raises:
            TypeError: `config_dict` is not a mapping, or names a key that is neither a field nor an extra.
            ValueError: a value that is not valid for its field.
        """
        if not isinstance(config_dict, Mapping):
            raise TypeError(f"BertConfig.update expects a mapping, got {type(config_dict).__name__}")
        changes = dict(config_dict)
        names = [changes.pop(k) for k in ("name_or_path", NAME_OR_PATH_KEY) if k in changes]
        extras = {k: changes.pop(k) for k in list(changes) if k not in FIELDS and k in self.extra}
        updated = self.copy(**changes)  # raises before anything changes
        self.__dict__.update(updated.__dict__)
        self.extra.update(copy.deepcopy(extras))
        if names:
            self.name_or_path = names[-1]

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


def _class_defaults() -> dict[str, Any]:
    return BertConfig().to_dict()


__all__ = [
    "CONFIG_NAME",
    "FIELDS",
    "GOOGLE_CONFIG_NAME",
    "POSITION_EMBEDDING_TYPES",
    "PROBLEM_TYPES",
    "SUPPORTED_ACTIVATIONS",
    "BertConfig",
]
