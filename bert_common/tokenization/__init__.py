"""BERT's WordPiece tokenizers, framework-neutral: `BertTokenizer` (pure Python) and `BertTokenizerFast`
(the Rust `tokenizers` library), with one calling API and identical outputs.

The package, from the bottom up (each module imports only those above it):

    unicode_tables  the Rust library's Unicode data, code point by code point (generated)
    chars           the character rules of BertNormalizer / BertPreTokenizer (also used by bert_tf)
    texts           the texts of a call checked (lone surrogates refused) and batched
    options         TokenizerOptions, the options as attributes, reading them from the config files
    added           AddedToken and AddedVocab: added tokens with the Rust library's ids and matching
    files           vocab.txt read and written, tokenizer_config.json written
    tokenizer_json  tokenizer.json read and built, the added tokens of a directory read
    request         EncodeRequest: one call's arguments checked and resolved
    encoding        the pure-Python Encoding and the Rust library's truncation / template / padding
    batch           BatchEncoding and tensor conversion
    padding         pad(): tokenized examples padded as collate functions need them
    api             the Transformers methods training code calls (pad, encode_plus, add_tokens, ...)
    base            TokenizerBase, the shared front end (__call__, decode, special tokens, save / load)
    wordpiece       BertTokenizer, the slow tokenizer
    fast            BertTokenizerFast

Every public name is importable from here: `from bert_common.tokenization import BertTokenizerFast`.

Shape legend: B = texts (or pairs) in a call, T = tokens per row.
"""

from __future__ import annotations

from bert_common.tokenization.added import AddedToken, AddedVocab
from bert_common.tokenization.base import TokenizerBase
from bert_common.tokenization.batch import BatchEncoding, build_batch_encoding, to_tensor
from bert_common.tokenization.chars import (
    ASCII_PUNCTUATION,
    CJK_RANGES,
    WHITESPACE,
    is_chinese_char,
    is_control,
    is_punctuation,
    is_whitespace,
)
from bert_common.tokenization.encoding import Encoding, pad_encodings, truncation_targets
from bert_common.tokenization.fast import BertTokenizerFast
from bert_common.tokenization.files import (
    ADDED_TOKENS_FILE,
    TOKENIZER_FILE,
    TOKENIZER_FILES,
    VOCAB_FILE,
    load_vocab,
    vocab_from_list,
)
from bert_common.tokenization.options import (
    SPECIAL_TOKEN_NAMES,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    VERY_LARGE_INTEGER,
    TokenizerOptions,
    options_from_files,
)
from bert_common.tokenization.padding import pad_inputs
from bert_common.tokenization.request import (
    PADDING_STRATEGIES,
    TENSOR_KINDS,
    TRUNCATION_STRATEGIES,
    EncodeRequest,
    check_tensor_kind,
    clean_up_tokenization,
    join_wordpieces,
)
from bert_common.tokenization.texts import check_surrogates
from bert_common.tokenization.tokenizer_json import (
    ParsedTokenizerJson,
    build_backend,
    parse_tokenizer_json,
    read_tokenizer_json,
)
from bert_common.tokenization.wordpiece import BertTokenizer

__all__ = [
    "ADDED_TOKENS_FILE",
    "ASCII_PUNCTUATION",
    "CJK_RANGES",
    "PADDING_STRATEGIES",
    "SPECIAL_TOKENS_MAP_FILE",
    "SPECIAL_TOKEN_NAMES",
    "TENSOR_KINDS",
    "TOKENIZER_CONFIG_FILE",
    "TOKENIZER_FILE",
    "TOKENIZER_FILES",
    "TRUNCATION_STRATEGIES",
    "VERY_LARGE_INTEGER",
    "VOCAB_FILE",
    "WHITESPACE",
    "AddedToken",
    "AddedVocab",
    "BatchEncoding",
    "BertTokenizer",
    "BertTokenizerFast",
    "EncodeRequest",
    "Encoding",
    "ParsedTokenizerJson",
    "TokenizerBase",
    "TokenizerOptions",
    "build_backend",
    "build_batch_encoding",
    "check_surrogates",
    "check_tensor_kind",
    "clean_up_tokenization",
    "is_chinese_char",
    "is_control",
    "is_punctuation",
    "is_whitespace",
    "join_wordpieces",
    "load_vocab",
    "options_from_files",
    "pad_encodings",
    "pad_inputs",
    "parse_tokenizer_json",
    "read_tokenizer_json",
    "to_tensor",
    "truncation_targets",
    "vocab_from_list",
]
