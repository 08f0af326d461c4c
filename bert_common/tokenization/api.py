"""The parts of Transformers' tokenizer API that training code calls, shared by both tokenizers.

`TransformersAPI` is a mixin of `TokenizerBase`: `pad` (DataCollatorWithPadding and hand-written
collate functions), `encode_plus` / `batch_encode_plus`, added tokens (`add_tokens`,
`add_special_tokens`, `get_added_vocab`, `vocab`), `max_len_single_sentence` /
`max_len_sentences_pair`, and the special-token layout helpers. Values follow Transformers 4.57's
BertTokenizerFast (tests/fixtures/reference/tokenizers/reference.json), except where noted.

Shape legend: B = examples or texts, T = tokens per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bert_common.tokenization.added import AddedToken, AddedVocab, as_added_token
from bert_common.tokenization.batch import BatchEncoding
from bert_common.tokenization.encoding import template_ids, template_special_mask, template_type_ids
from bert_common.tokenization.options import SPECIAL_TOKEN_NAMES, TokenizerOptions
from bert_common.tokenization.padding import pad_inputs

# add_special_tokens keys: the five named tokens, the additional list, and names with no role in BERT
# (kept as extra special tokens, readable as attributes, as Transformers keeps them)
_EXTRA_NAMES = ("bos_token", "eos_token")


class TransformersAPI:
    """Mixin: the Transformers methods collate functions and training scripts rely on."""

    options: TokenizerOptions
    _added: AddedVocab

    # provided by TokenizerBase and the tokenizers: __call__, get_vocab, pad_token_id, cls_token_id,
    # sep_token_id, all_special_ids, _add_to_vocab (add to the added tokens, and to the backend) and
    # _special_tokens_changed (rebuild after a named special token changed)

    # ---- padding and calling -----------------------------------------------------------------
    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad tokenized examples, as `DataCollatorWithPadding` calls it (see `padding.pad_inputs`).

        encoded_inputs: a list of examples (dicts: input_ids [T], token_type_ids, attention_mask, labels,
            ...) or a dict of columns ([B, T] ragged, or [T] for one example); lists, arrays or tensors.
        padding: True / "longest" (default), "max_length", False. padding_side: default the tokenizer's.
        Returns a BatchEncoding ([B, T] int64 token columns with return_tensors "np" / "pt").
        Raises TypeError / ValueError naming the bad argument or column (see `pad_inputs`).
        """
        return pad_inputs(
            encoded_inputs,
            self.pad_token_id,  # type: ignore[attr-defined]
            self.options.model_max_length,
            padding,
            max_length,
            pad_to_multiple_of,
            self.options.padding_side if padding_side is None else padding_side,
            return_attention_mask,
            return_tensors,
        )

    def encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> BatchEncoding:
        """One text (or pair) with every output `__call__` gives: `__call__` on a single input.

        Raises TypeError for a batch (use `batch_encode_plus`), and whatever `__call__` raises.
        """
        words = kwargs.get("is_split_into_words", False)
        if not isinstance(text, str) and not (words and isinstance(text, (list, tuple))):
            raise TypeError(
                f"encode_plus takes one text (a string, or a list of words with is_split_into_words=True), "
                f"got {type(text).__name__}; use batch_encode_plus for a batch"
            )
        if words and text and isinstance(text[0], (list, tuple)):
            raise TypeError("encode_plus takes one list of words; use batch_encode_plus for a batch")
        return self(text, text_pair, **kwargs)  # type: ignore[operator]

    def batch_encode_plus(self, batch_text_or_text_pairs: Any, **kwargs: Any) -> BatchEncoding:
        """A batch of texts or of (text, text_pair) tuples: `__call__` on a list.

        Raises TypeError when the batch is not a list or tuple, and whatever `__call__` raises.
        """
        if not isinstance(batch_text_or_text_pairs, (list, tuple)):
            raise TypeError(
                "batch_encode_plus takes a list of texts or of (text, text_pair) tuples, got "
                f"{type(batch_text_or_text_pairs).__name__}"
            )
        if kwargs.get("is_split_into_words") and batch_text_or_text_pairs:
            first = batch_text_or_text_pairs[0]
            if isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], (list, tuple)):
                pairs = list(batch_text_or_text_pairs)
                return self([a for a, _ in pairs], [b for _, b in pairs], **kwargs)  # type: ignore[operator]
        return self(list(batch_text_or_text_pairs), **kwargs)  # type: ignore[operator]

    # ---- lengths -----------------------------------------------------------------------------
    @property
    def max_len_single_sentence(self) -> int:
        """Tokens of one text that fit in model_max_length with [CLS] and [SEP]."""
        return self.options.model_max_length - 2

    @property
    def max_len_sentences_pair(self) -> int:
        """Tokens of two texts that fit in model_max_length with [CLS] and two [SEP]."""
        return self.options.model_max_length - 3

    # ---- added tokens ------------------------------------------------------------------------
    @property
    def vocab(self) -> dict[str, int]:
        """The vocabulary with the added tokens, {token: id} (as `get_vocab()`)."""
        return self.get_vocab()  # type: ignore[attr-defined]

    def get_added_vocab(self) -> dict[str, int]:
        """{token: id} of the added tokens (special tokens, never_split, add_tokens), by id."""
        return self._added.added_vocab()

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """{id: AddedToken} of the added tokens, by id (as tokenizer_config.json holds them)."""
        return dict(self._added.entries())

    def add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        """Add tokens matched whole in the text, as Transformers' BertTokenizerFast does.

        new_tokens: a string, an AddedToken (this package's, `tokenizers.AddedToken` or a dict) or a list
            of them. Strings match the normalized text (lowercased, ...) unless special_tokens=True.
        A token of the vocabulary keeps its id; others get ids after the vocabulary; `len(tokenizer)`
        grows by the number of new ids (what `resize_token_embeddings(len(tokenizer))` needs).
        Returns how many tokens were not already added tokens with the same flags (Transformers counts a
        token of the vocabulary that becomes an added token too). Raises TypeError / ValueError for a
        token that is not a non-empty string or AddedToken.
        """
        if not new_tokens:
            return 0
        if isinstance(new_tokens, (str, AddedToken, Mapping)) or not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        tokens = [
            as_added_token(t, special=special_tokens, name=f"new_tokens[{i}]")
            for i, t in enumerate(new_tokens)
        ]
        return self._add_to_vocab(tokens)  # type: ignore[attr-defined]

    def add_special_tokens(
        self, special_tokens_dict: Mapping[str, Any], replace_additional_special_tokens: bool = True
    ) -> int:
        """Add or replace special tokens: {"cls_token": "<cls>", "additional_special_tokens": [...], ...}.

        Keys: unk_token, sep_token, pad_token, cls_token, mask_token, additional_special_tokens (its list
        replaces the current one unless replace_additional_special_tokens=False, which extends it), and
        bos_token / eos_token (no role in BERT: kept as extra special tokens, `tok.bos_token`). New
        tokens get ids after the vocabulary. A new cls_token / sep_token is used by the [CLS] A [SEP]
        template (Transformers' fast tokenizer keeps the old ones there; its slow one uses the new).
        Returns the count `add_tokens(..., special_tokens=True)` returns. Raises ValueError for another
        key, TypeError for a value that is not a token.
        """
        if not special_tokens_dict:
            return 0
        known = (*SPECIAL_TOKEN_NAMES, "additional_special_tokens", *_EXTRA_NAMES)
        changes: dict[str, Any] = {}
        to_add: list[AddedToken] = []
        for key, value in special_tokens_dict.items():
            if key not in known:
                raise ValueError(f"add_special_tokens: unknown key {key!r}; expected one of {list(known)}")
            if key == "additional_special_tokens":
                if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                    raise TypeError(f"additional_special_tokens must be a list of tokens, got {value!r:.80}")
                tokens = [
                    as_added_token(_special(t), special=True, name=f"{key}[{i}]") for i, t in enumerate(value)
                ]
                current = list(self.options.additional_special_tokens)
                if not replace_additional_special_tokens:
                    tokens = [t for t in tokens if t.content not in current]
                contents = [t.content for t in tokens]
                if replace_additional_special_tokens and tokens:
                    changes[key] = contents
                else:
                    changes[key] = current + contents
                to_add += tokens
            else:
                token = as_added_token(_special(value), special=True, name=key)
                if key in _EXTRA_NAMES:
                    changes["extra_special_tokens"] = {
                        **self.options.extra_special_tokens,
                        key: token.content,
                    }
                else:
                    changes[key] = token.content
                if token not in to_add:
                    to_add.append(token)
        count = self._add_to_vocab(to_add)  # type: ignore[attr-defined]
        named_changed = any(
            changes.get(name, getattr(self.options, name)) != getattr(self.options, name)
            for name in SPECIAL_TOKEN_NAMES
        )
        self.options = dataclasses.replace(self.options, **changes)
        self.options.check_vocab(self.get_vocab())  # type: ignore[attr-defined]
        if named_changed:
            self._special_tokens_changed()  # type: ignore[attr-defined]
        return count

    # ---- special-token layout ----------------------------------------------------------------
    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """Special tokens added to a text (2: [CLS] [SEP]) or a pair (3: [CLS] [SEP] [SEP])."""
        return 3 if pair else 2

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """[CLS] A [SEP] for a text, [CLS] A [SEP] B [SEP] for a pair."""
        return template_ids(self.cls_token_id, self.sep_token_id, token_ids_0, token_ids_1)  # type: ignore[attr-defined]

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 for a special token, 0 for a sequence token.

        already_has_special_tokens=False: the mask of `build_inputs_with_special_tokens(ids_0, ids_1)`.
        already_has_special_tokens=True: ids that are special tokens (anywhere) give 1.
        Raises ValueError for token_ids_1 with already_has_special_tokens=True.
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "with already_has_special_tokens=True pass the full sequence as token_ids_0 only"
                )
            special = set(self.all_special_ids)  # type: ignore[attr-defined]
            return [1 if i in special else 0 for i in token_ids_0]
        return template_special_mask(token_ids_0, token_ids_1)

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Segment ids of `build_inputs_with_special_tokens`: 0 for [CLS] A [SEP], 1 for B [SEP]."""
        return template_type_ids(token_ids_0, token_ids_1)


def _special(value: Any) -> Any:
    """A special token value as add_special_tokens reads it: a string is not normalized."""
    return AddedToken(value, normalized=False, special=True) if isinstance(value, str) else value
