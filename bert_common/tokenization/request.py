"""EncodeRequest: one tokenizer call with every argument checked and every default resolved.

`TokenizerBase.__call__` turns its arguments into an `EncodeRequest` with `build_request` (and its
texts into a list with `batch_inputs`) before any tokenization; the tokenizers then only read the
request. The checks here are the user-facing ones: each raises TypeError or ValueError naming the
argument and the value. `as_id_list`, `join_wordpieces` and `clean_up_tokenization` are decoding's
rules on ids and text.

Shape legend: B = inputs in a call, T = tokens per row (max_length counts the special tokens).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from bert_common.tokenization.options import VERY_LARGE_INTEGER, TokenizerOptions

logger = logging.getLogger("bert_zoo")

TENSOR_KINDS = ("np", "pt", "tf", "jax")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


@dataclasses.dataclass(frozen=True)
class EncodeRequest:
    """One tokenizer call, validated. Lengths are final (model_max_length already substituted).

    truncation: None or a strategy; max_length: the truncation length (with special tokens);
    truncation_side: the end it cuts ("right" keeps the first tokens, "left" the last).
    padding: None, "longest" or "max_length"; pad_length: the "max_length" target.
    """

    is_pair: bool
    add_special_tokens: bool = True
    truncation: str | None = None
    max_length: int | None = None
    stride: int = 0
    padding: str | None = None
    pad_length: int | None = None
    pad_to_multiple_of: int | None = None
    padding_side: str = "right"
    truncation_side: str = "right"
    return_tensors: str | None = None
    return_token_type_ids: bool = True
    return_attention_mask: bool = True
    return_overflowing_tokens: bool = False
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False

    @property
    def n_special(self) -> int:
        """Special tokens the template adds to each row: [CLS] A [SEP] (+ B [SEP])."""
        return (3 if self.is_pair else 2) if self.add_special_tokens else 0


def check_tensor_kind(kind: Any) -> str | None:
    """Validate a `return_tensors` value: None or one of TENSOR_KINDS."""
    if kind is None:
        return None
    if not isinstance(kind, str) or kind not in TENSOR_KINDS:
        raise ValueError(f"unknown return_tensors {kind!r}; expected one of {list(TENSOR_KINDS)} or None")
    return kind


def check_int(name: str, value: Any, minimum: int, allow_none: bool = True) -> int | None:
    """`value` as an int >= `minimum` (or None when allowed); TypeError / ValueError naming `name`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int{' or None' if allow_none else ''}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_bool(name: str, value: Any, allow_none: bool = False) -> bool | None:
    """`value` as a bool (or None when allowed); TypeError naming `name` otherwise."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def as_id_list(token_ids: Any) -> list[int]:
    """Ids given as an int, a list/tuple, a numpy array or a framework tensor, as a flat list of ints.

    Raises TypeError for anything else, naming batch_decode when given a batch of sequences.
    """
    if hasattr(token_ids, "tolist") and not isinstance(token_ids, (list, tuple)):
        token_ids = token_ids.tolist()
    if isinstance(token_ids, (int, np.integer)) and not isinstance(token_ids, bool):
        return [int(token_ids)]
    if not isinstance(token_ids, (list, tuple)):
        raise TypeError(f"token ids must be an int or a sequence of ints, got {type(token_ids).__name__}")
    out = []
    for i in token_ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            if isinstance(i, (list, tuple)):
                raise TypeError("decode takes one sequence of ids; use batch_decode for a batch")
            raise TypeError(f"token ids must be ints, got {type(i).__name__} {i!r}")
        out.append(int(i))
    return out


def clean_up_tokenization(text: str) -> str:
    """Remove the spaces decoding leaves before punctuation and inside English contractions
    (Transformers' `clean_up_tokenization`, applied once to the whole decoded string)."""
    return (
        text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
    )


def join_wordpieces(tokens: Sequence[str], prefix: str) -> str:
    """Join WordPiece tokens back into text: continuation pieces (starting with `prefix`) lose the prefix
    and attach to the previous token, other tokens are separated by a space. No clean-up."""
    parts = []
    for i, token in enumerate(tokens):
        if i == 0:
            parts.append(token)
        elif token.startswith(prefix):
            parts.append(token[len(prefix) :])
        else:
            parts.append(" " + token)
    return "".join(parts)


def build_request(
    options: TokenizerOptions,
    is_pair: bool,
    add_special_tokens: Any,
    padding: Any,
    truncation: Any,
    max_length: Any,
    stride: Any,
    pad_to_multiple_of: Any,
    padding_side: Any,
    return_tensors: Any,
    return_token_type_ids: Any,
    return_attention_mask: Any,
    return_overflowing_tokens: Any,
    return_special_tokens_mask: Any,
    return_offsets_mapping: Any,
    return_length: Any,
    verbose: Any,
) -> EncodeRequest:
    """Validate the arguments of a tokenizer call and resolve their defaults into an EncodeRequest.

    options: the tokenizer's options (padding_side, truncation_side and model_max_length defaults). The other arguments
    are those of `TokenizerBase.__call__`, in its order.

    Raises TypeError for an argument of the wrong type, ValueError for an unknown strategy or tensor
    kind, a max_length that leaves no room for text, a stride not smaller than that room, only_second
    without pairs, or a max_length that is not a multiple of pad_to_multiple_of when both apply.
    """
    add_special_tokens = check_bool("add_special_tokens", add_special_tokens)
    max_length = check_int("max_length", max_length, 0)
    stride = check_int("stride", stride, 0, allow_none=False)
    pad_to_multiple_of = check_int("pad_to_multiple_of", pad_to_multiple_of, 1)
    verbose = check_bool("verbose", verbose)
    if padding_side is None:
        padding_side = options.padding_side
    elif padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")

    # padding strategy
    if padding is True or padding == "longest":
        pad: str | None = "longest"
    elif padding is False or padding is None or padding == "do_not_pad":
        pad = None
    elif padding == "max_length":
        pad = "max_length"
    else:
        raise ValueError(
            f"unknown padding strategy {padding!r}; expected True, False or one of {list(PADDING_STRATEGIES)}"
        )

    # truncation strategy (max_length alone, without padding, turns truncation on, as in Transformers)
    if truncation is None:
        trunc: str | None = "longest_first" if (max_length is not None and pad is None) else None
    elif truncation is True:
        trunc = "longest_first"
    elif truncation is False or truncation == "do_not_truncate":
        trunc = None
    elif truncation in ("longest_first", "only_first", "only_second"):
        trunc = truncation
    else:
        raise ValueError(
            f"unknown truncation strategy {truncation!r}; expected True, False or one of "
            f"{list(TRUNCATION_STRATEGIES)}"
        )

    no_limit = options.model_max_length >= VERY_LARGE_INTEGER
    trunc_length = max_length
    if trunc is not None and trunc_length is None:
        if no_limit:
            if verbose:
                logger.warning(
                    "truncation was requested without max_length and this tokenizer has no "
                    "model_max_length; not truncating"
                )
            trunc = None
        else:
            trunc_length = options.model_max_length
    pad_length = None
    if pad == "max_length":
        pad_length = (
            max_length if max_length is not None else (None if no_limit else options.model_max_length)
        )
        if pad_length is None:
            raise ValueError("padding='max_length' needs max_length: this tokenizer has no model_max_length")

    request = EncodeRequest(
        is_pair=is_pair,
        add_special_tokens=add_special_tokens,
        truncation=trunc,
        max_length=trunc_length if trunc is not None else None,
        stride=stride,
        padding=pad,
        pad_length=pad_length,
        pad_to_multiple_of=pad_to_multiple_of if pad is not None else None,
        padding_side=padding_side,
        truncation_side=options.truncation_side,
        return_tensors=check_tensor_kind(return_tensors),
        return_token_type_ids=check_bool("return_token_type_ids", return_token_type_ids, True) is not False,
        return_attention_mask=check_bool("return_attention_mask", return_attention_mask, True) is not False,
        return_overflowing_tokens=check_bool("return_overflowing_tokens", return_overflowing_tokens),
        return_special_tokens_mask=check_bool("return_special_tokens_mask", return_special_tokens_mask),
        return_offsets_mapping=check_bool("return_offsets_mapping", return_offsets_mapping),
        return_length=check_bool("return_length", return_length),
    )

    if request.truncation is not None:
        assert request.max_length is not None
        n_template = 3 if is_pair else 2
        room = request.max_length - request.n_special
        if room < 1:
            raise ValueError(
                f"max_length={request.max_length} leaves no room for tokens: the "
                f"{'pair' if is_pair else 'text'} template adds {request.n_special} special tokens"
            )
        # The stride must stay below the room left for text. The Rust library checks it against the
        # template's special tokens even when add_special_tokens=False, so that bound applies too.
        stride_room = min(room, request.max_length - n_template)
        if request.stride >= stride_room:
            raise ValueError(
                f"stride={request.stride} must be smaller than the room max_length leaves for text "
                f"({stride_room} = max_length {request.max_length} - {n_template} special tokens"
                f"{' of the template' if not add_special_tokens else ''})"
            )
        if request.truncation == "only_second" and not is_pair:
            raise ValueError("truncation='only_second' needs text pairs; this input has single texts")
        if (
            request.padding == "max_length"
            and request.pad_to_multiple_of is not None
            and request.pad_length == request.max_length
            and request.max_length % request.pad_to_multiple_of != 0
        ):
            raise ValueError(
                f"truncation and padding are both on but max_length={request.max_length} is not a "
                f"multiple of pad_to_multiple_of={request.pad_to_multiple_of}"
            )
    return request
