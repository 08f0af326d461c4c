"""Next-sentence-prediction pretraining examples from documents, as Google's BERT builds them.

Follows google-research/bert `create_pretraining_data.py` (`create_instances_from_document` and
`truncate_seq_pair`): per document, a target length (max_seq_length - 3, or with probability
`short_seq_prob` a random length in [2, max_seq_length - 3]); sentences are gathered into a chunk until
it reaches the target; a random split point makes segment A; segment B is the rest of the chunk (the
actual next sentences, next_sentence_label 0), or, with probability `nsp_probability` and always when
the chunk holds one sentence, sentences from a random other document (label 1; the unused sentences of
the chunk are put back). The pair is then cut to fit, one token at a time from the longer segment, at
its front or its back at random. Masking is left to `DataCollatorForLanguageModeling` (the collator
pads, draws the MLM labels, and passes next_sentence_label through), so pretraining = MLM + NSP labels.

Differences from Google's script: the random document is drawn among the *other* documents (Google
draws up to 10 times and may keep the same document), so at least two non-empty documents are needed;
there is no `dupe_factor` and no final shuffle (the examples come in document order; shuffle them in
the data loader); the NSP probability is an argument (Google's 0.5 is the default).

Shape legend: T tokens per example (<= max_seq_length; examples are not padded).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from bert_common.collators import check_probability


def _sentence_ids(tokenizer: Any, sentence: Any, where: str) -> list[int]:
    """A sentence as token ids: a string goes through the tokenizer, a list of ints is taken as ids."""
    if isinstance(sentence, str):
        return list(tokenizer.convert_tokens_to_ids(tokenizer.tokenize(sentence)))
    if isinstance(sentence, (list, tuple, np.ndarray)):
        ids = np.asarray(sentence).reshape(-1)
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"{where}: a sentence is a string or a list of token ids, got {sentence!r:.60}")
        return [int(i) for i in ids]
    raise TypeError(f"{where}: a sentence is a string or a list of token ids, got {type(sentence).__name__}")


def _tokenize_documents(documents: Any, tokenizer: Any) -> list[list[list[int]]]:
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError("documents must be a list of documents, each a list of sentences")
    out = []
    for d, document in enumerate(documents):
        if isinstance(document, (str, bytes)) or not isinstance(document, Sequence):
            raise TypeError(
                f"document {d} must be a list of sentences (strings or token ids), got {type(document).__name__}"
            )
        sentences = [_sentence_ids(tokenizer, s, f"document {d}") for s in document]
        sentences = [s for s in sentences if s]  # empty lines are dropped, as Google's reader does
        if sentences:
            out.append(sentences)
    if len(out) < 2:
        raise ValueError(
            f"next-sentence prediction needs at least 2 non-empty documents (random sentences come from "
            f"another document); got {len(out)}"
        )
    return out


def truncate_seq_pair(
    tokens_a: list[int], tokens_b: list[int], max_num_tokens: int, rng: random.Random
) -> None:
    """Cut the pair in place to at most `max_num_tokens` tokens: one token at a time from the longer
    segment (B on a tie), from its front or its back with equal chance (Google's `truncate_seq_pair`)."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _example(
    tokenizer: Any, tokens_a: list[int], tokens_b: list[int], is_random_next: bool
) -> dict[str, Any]:
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    input_ids = [cls, *tokens_a, sep, *tokens_b, sep]
    token_type_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "attention_mask": [1] * len(input_ids),
        "next_sentence_label": 1 if is_random_next else 0,
    }


def _from_document(
    documents: list[list[list[int]]],
    index: int,
    tokenizer: Any,
    max_num_tokens: int,
    short_seq_prob: float,
    nsp_probability: float,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Google's `create_instances_from_document` for document `index`."""
    document = documents[index]
    target = max_num_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_num_tokens)
    examples = []
    chunk: list[list[int]] = []
    length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for sentence in chunk[:a_end] for t in sentence]
            tokens_b: list[int] = []
            is_random_next = len(chunk) == 1 or rng.random() < nsp_probability
            if is_random_next:
                target_b = target - len(tokens_a)
                other = rng.randint(0, len(documents) - 2)
                other += other >= index  # any document but this one
                random_document = documents[other]
                for sentence in random_document[rng.randint(0, len(random_document) - 1) :]:
                    tokens_b.extend(sentence)
                    if len(tokens_b) >= target_b:
                        break
                i -= len(chunk) - a_end  # the unused sentences start the next chunk
            else:
                tokens_b = [t for sentence in chunk[a_end:] for t in sentence]
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            examples.append(_example(tokenizer, tokens_a, tokens_b, is_random_next))
            chunk, length = [], 0
        i += 1
    return examples


def create_pretraining_examples(
    documents: Sequence[Sequence[Any]],
    tokenizer: Any,
    max_seq_length: int = 128,
    short_seq_prob: float = 0.1,
    nsp_probability: float = 0.5,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Sentence-pair examples with next-sentence labels from `documents` (see the module docstring).

    documents: a list of documents, each a list of sentences; a sentence is a string (tokenized with
        `tokenizer.tokenize`, no special tokens) or a list of token ids. Empty sentences and documents
        are dropped.
    tokenizer: a BertTokenizer / BertTokenizerFast (tokenize, convert_tokens_to_ids, cls/sep_token_id).
    max_seq_length: the longest example, [CLS] A [SEP] B [SEP] included (default 128; at least 5).
    short_seq_prob: chance that a document's target length is drawn in [2, max_seq_length - 3]
        (default 0.1, Google's: pretraining sees short sequences too).
    nsp_probability: chance that segment B is random text from another document (default 0.5).
    seed: seeds a `random.Random` (Google's generator); None draws a fresh seed.

    Returns a list of dicts (python lists, unpadded): input_ids [T], token_type_ids [T] (0 for
    [CLS] A [SEP], 1 for B [SEP]), attention_mask [T] (ones), next_sentence_label (0: B follows A,
    1: B is random, as BertForPreTraining expects).

    Raises:
        TypeError: documents not a list of lists of sentences; a probability, length or seed of the wrong type.
        ValueError: fewer than 2 non-empty documents; max_seq_length < 5; a probability outside [0, 1].
    """
    if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, (int, np.integer)):
        raise TypeError(f"max_seq_length must be an int, got {max_seq_length!r}")
    if max_seq_length < 5:
        raise ValueError(
            f"max_seq_length must be at least 5 ([CLS] A [SEP] B [SEP] with two tokens left), got {max_seq_length}"
        )
    short_seq_prob = check_probability("short_seq_prob", short_seq_prob)
    nsp_probability = check_probability("nsp_probability", nsp_probability)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    rng = random.Random(seed)
    tokenized = _tokenize_documents(documents, tokenizer)
    examples = []
    for index in range(len(tokenized)):
        examples.extend(
            _from_document(
                tokenized, index, tokenizer, int(max_seq_length) - 3, short_seq_prob, nsp_probability, rng
            )
        )
    return examples
