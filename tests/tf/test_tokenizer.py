"""TFBertTokenizer: in-graph ids equal to Hugging Face `tokenizers` (and BertTokenizerFast) exactly.

The reference is the Rust library itself, read from the real all-MiniLM-L6-v2 tokenizer.json with padding
and truncation switched off (each test sets what it compares). The texts cover the foundation's corpus
(tests/fixtures/tokenizer_corpus.json, including its texts of characters whose Unicode properties differ between versions) and a
corpus of our own; a sweep runs every code point of the Basic Multilingual Plane (and the code points of
bert_common.tokenization.unicode_tables) through BertNormalizer + BertPreTokenizer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from bert_common.files import default_model_dir
from bert_common.tokenization import BertTokenizerFast, unicode_tables
from bert_tf import TFBertForSequenceClassification
from bert_tf.export import export_text_model
from bert_tf.tokenizer import TFBertTokenizer
from tests.common.head_spec import tiny
from tests.common.tokenizer_helpers import unicode_sample
from tests.helpers import ATOL, FIXTURES, max_abs_diff

OWN_CORPUS = [
    "Hello, World! I'm here.",
    "Héllo café naïve ÉCOLE résumé",  # accents stripped by the uncased normalizer
    "e\u0301te\u0301 n\u0303 a\u0300\u0301\u0302",  # combining marks (decomposed input)
    "你好世界，今天天气很好。 日本語のテキスト 한국어",  # CJK ideographs split one by one; Hangul is not CJK
    "family 👨\u200d👩\u200d👧 flag \U0001f1fa\U0001f1f8 smile 😀 👍🏽",  # emoji, ZWJ sequences, modifiers
    "zero\u200bwidth\u200cjoin\u200dner\ufeffbom soft\u00adhyphen",  # zero-width and format characters
    "ctrl\x00\x01\x07\x0b\x0c\x1f\x7f\x85\x9f end \ufffd",  # controls (and U+FFFD) removed
    "tab\tnew\nline\rcr nb\u00a0sp ideo\u3000space line\u2028sep para\u2029sep thin\u2009space",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？",  # fullwidth forms are not NFKC-folded by BERT
    "ΟΔΟΣ Σίσυφος ΣΑΣ",
    "İstanbul ıi ß ẞ Ǆǅǆ ﬁ",  # final sigma, Turkish i, sharp s, digraphs, ligature
    "$100 + 5% = <ok> ^_^ `x` |y| ~z #tag @user a—b–c «q» “d” ‘e’ … ¿¡",
    "x" * 100 + " " + "y" * 101 + " " + "é" * 101,  # 100 characters is a word, 101 is [UNK]
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "hello [MASK] world [MASK][MASK]x [CLS]a[SEP] [UNK] [PAD] [mask] [ MASK ]",  # inline special tokens
    "",
    "   ",
]


@pytest.fixture(scope="module")
def reference() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> TFBertTokenizer:
    return TFBertTokenizer.from_pretrained(default_model_dir())


def foundation_corpus() -> tuple[list[str], list[tuple[str, str]]]:
    data = json.loads((FIXTURES / "tokenizer_corpus.json").read_text(encoding="utf-8"))
    texts = [text for group in data["texts"].values() for text in group]
    texts += [entry["text"] for entry in data["unicode_versions"]]
    return texts, [tuple(pair) for pair in data["pairs"]]


def unpadded(encoded: dict[str, tf.Tensor], row: int, key: str = "input_ids") -> list[int]:
    length = int(encoded["attention_mask"][row].numpy().sum())
    return encoded[key][row, :length].numpy().tolist()


def assert_same_ids(encoded, references, texts):
    for row, (expected, text) in enumerate(zip(references, texts)):
        assert unpadded(encoded, row) == expected.ids, repr(text)
        assert unpadded(encoded, row, "token_type_ids") == expected.type_ids, repr(text)


def test_foundation_corpus_matches_tokenizers(tokenizer, reference):
    texts, pairs = foundation_corpus()
    assert len(texts) > 100
    assert_same_ids(tokenizer(texts, truncation=False), reference.encode_batch(texts), texts)
    firsts, seconds = [a for a, _ in pairs], [b for _, b in pairs]
    encoded = tokenizer(firsts, text_pair=seconds, truncation=False)
    assert_same_ids(encoded, reference.encode_batch(list(pairs)), pairs)


def test_unicode_sample_of_every_category_matches_tokenizers(tokenizer, reference):
    # the 2,029 strings of tests/common/test_tokenization_fuzz.py: the in-graph tokenizer reads the same
    # tables (bert_common.tokenization.unicode_tables) as the slow one
    texts = unicode_sample()
    assert_same_ids(tokenizer(texts, truncation=False), reference.encode_batch(texts), texts)


def test_own_corpus_matches_tokenizers(tokenizer, reference):
    assert_same_ids(tokenizer(OWN_CORPUS, truncation=False), reference.encode_batch(OWN_CORPUS), OWN_CORPUS)
    # the corpus does reach the cases it is about
    ids = tokenizer(OWN_CORPUS, truncation=False)["input_ids"].numpy()
    assert (ids[OWN_CORPUS.index(OWN_CORPUS[14])] == 103).sum() == 3  # three [MASK], "[mask]" is text
    long_words = unpadded(tokenizer([OWN_CORPUS[12]], truncation=False), 0)
    assert long_words.count(tokenizer.unk_token_id) == 2 and len(long_words) > 5


def test_matches_bert_tokenizer_fast(tokenizer):
    fast = BertTokenizerFast.from_pretrained(default_model_dir())
    texts, pairs = foundation_corpus()
    texts = texts + OWN_CORPUS
    expected = fast(texts, padding=True, return_tensors="np")
    mine = tokenizer(texts, truncation=False)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(mine[key].numpy(), expected[key], err_msg=key)
    expected = fast(
        [a for a, _ in pairs],
        [b for _, b in pairs],
        padding=True,
        truncation=True,
        max_length=16,
        return_tensors="np",
    )
    mine = tokenizer([a for a, _ in pairs], text_pair=[b for _, b in pairs], max_length=16)
    np.testing.assert_array_equal(mine["input_ids"].numpy(), expected["input_ids"])
    from_fast = TFBertTokenizer.from_tokenizer(fast)
    np.testing.assert_array_equal(
        from_fast(texts, truncation=False)["input_ids"].numpy(), mine_ids(tokenizer, texts)
    )


def mine_ids(tokenizer, texts):
    return tokenizer(texts, truncation=False)["input_ids"].numpy()


@pytest.mark.parametrize("max_length", [5, 8, 9, 13, 24])
def test_longest_first_truncation_of_pairs_and_singles(tokenizer, reference, max_length):
    texts = [OWN_CORPUS[i] for i in (0, 1, 3, 4, 10, 11, 13, 15)]
    pairs = [(a, b) for a in texts for b in texts]
    reference.enable_truncation(max_length, strategy="longest_first")
    try:
        encoded = tokenizer([a for a, _ in pairs], text_pair=[b for _, b in pairs], max_length=max_length)
        assert_same_ids(encoded, reference.encode_batch(pairs), pairs)
        assert_same_ids(tokenizer(texts, max_length=max_length), reference.encode_batch(texts), texts)
    finally:
        reference.no_truncation()


def test_padding_strategies(tokenizer):
    texts = ["a b c d e", "a"]
    longest = tokenizer(texts)
    assert longest["input_ids"].shape == (2, 7) and longest["input_ids"].dtype == tf.int64
    np.testing.assert_array_equal(longest["attention_mask"].numpy(), [[1] * 7, [1, 1, 1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(longest["input_ids"][1].numpy(), [101, 1037, 102, 0, 0, 0, 0])
    assert tokenizer(texts, padding="max_length", max_length=10)["input_ids"].shape == (2, 10)
    assert tokenizer(texts, pad_to_multiple_of=4)["input_ids"].shape == (2, 8)
    ragged = tokenizer(texts, padding=False)
    assert isinstance(ragged["input_ids"], tf.RaggedTensor)
    assert ragged["input_ids"].row_lengths().numpy().tolist() == [7, 3]
    single = tokenizer("a b")
    assert single["input_ids"].numpy().tolist() == [[101, 1037, 1038, 102]]
    without = tokenizer(texts, return_token_type_ids=False, return_attention_mask=False)
    assert set(without) == {"input_ids"}


def test_runs_inside_tf_function_and_tf_data(tokenizer):
    texts = tf.constant(OWN_CORPUS[:6])
    eager = tokenizer(texts, text_pair=texts)
    graph = tf.function(lambda t: tokenizer(t, text_pair=t))(texts)
    for key in eager:
        np.testing.assert_array_equal(graph[key].numpy(), eager[key].numpy())
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(3).map(lambda t: tokenizer(t)["input_ids"])
    batches = [b.numpy() for b in dataset]
    first = tokenizer(texts[:3])["input_ids"].numpy()
    np.testing.assert_array_equal(batches[0], first)


def _reference_normalizer(lowercase: bool, strip_accents: bool | None):
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )


def _sweep_code_points() -> list[int]:
    bmp = [c for c in range(1, 0x10000) if not 0xD800 <= c <= 0xDFFF]
    table_points = set()
    ranges = [
        r
        for name in ("CONTROL", "MARKS", "PUNCTUATION", "DECOMPOSED", "ICU_NFD_NEWER")
        for r in getattr(unicode_tables, name)
    ]
    for low, high, *_ in (*ranges, *unicode_tables.LOWERCASE, *unicode_tables.COMBINING):
        # every code point of a table and its neighbours (only the edges of the private-use planes)
        table_points.update(range(low - 1, high + 2) if high - low < 256 else (low - 1, low, high, high + 1))
    supplementary = set(range(0x10000, 0x110000, 97)) | {0x2B81F, 0x2B820, 0x2B91F, 0x2B920, 0x20000, 0x2FA1F}
    return sorted(set(bmp) | {c for c in table_points | supplementary if c >= 0x10000})


@pytest.mark.parametrize(
    "lowercase,strip_accents", [(True, None), (True, False), (False, None), (False, True)]
)
def test_normalizer_and_pre_tokenizer_agree_on_every_code_point(lowercase, strip_accents):
    """Each character between letters ("a" + c + "B" + c) splits into the same words as in `tokenizers`."""
    code_points = _sweep_code_points()
    texts = ["a" + chr(c) + "B" + chr(c) for c in code_points]
    normalizer, splitter = _reference_normalizer(lowercase, strip_accents), pre_tokenizers.BertPreTokenizer()
    expected = [[w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(t))] for t in texts]
    tokenizer = TFBertTokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], do_lower_case=lowercase, strip_accents=strip_accents
    )
    words = tokenizer.pre_tokenize(tokenizer.normalize(tf.constant(texts))).to_list()
    mismatches = [
        f"U+{c:04X}: {want} vs {[w.decode() for w in got]}"
        for c, want, got in zip(code_points, expected, words)
        if [w.decode() for w in got] != want
    ]
    assert not mismatches, f"{len(mismatches)} code points differ, e.g. {mismatches[:5]}"


def _cased_reference() -> Tokenizer:
    vocab = {
        token: i
        for i, token in enumerate((FIXTURES / "cased_vocab.txt").read_text(encoding="utf-8").splitlines())
    }
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = _reference_normalizer(False, None)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return tokenizer


def test_cased_tokenizer_from_a_tokenizers_object():
    reference = _cased_reference()
    tokenizer = TFBertTokenizer.from_tokenizer(reference)
    assert not tokenizer.do_lower_case
    texts = foundation_corpus()[0] + OWN_CORPUS
    assert_same_ids(tokenizer(texts, truncation=False), reference.encode_batch(texts), texts)


def test_vocab_txt_directory_equals_tokenizer_json(tmp_path, tokenizer):
    (tmp_path / "vocab.txt").write_text(
        (default_model_dir() / "vocab.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "model_max_length": 128})
    )
    from_vocab = TFBertTokenizer.from_pretrained(tmp_path)
    assert from_vocab.max_length == 128
    texts = foundation_corpus()[0]
    np.testing.assert_array_equal(
        from_vocab(texts, truncation=False)["input_ids"].numpy(),
        tokenizer(texts, truncation=False)["input_ids"].numpy(),
    )


def test_get_config_round_trip(tokenizer):
    clone = TFBertTokenizer.from_config(tokenizer.get_config())
    texts = OWN_CORPUS
    np.testing.assert_array_equal(clone(texts)["input_ids"].numpy(), tokenizer(texts)["input_ids"].numpy())


def test_bad_arguments_are_rejected(tokenizer):
    with pytest.raises(ValueError, match="padding must be"):
        tokenizer(["a"], padding="left")
    with pytest.raises(ValueError, match="max_length must be an int >= 3"):
        tokenizer(["a"], max_length=2)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        TFBertTokenizer(["[PAD]", "[UNK]", "[CLS]", "a"])
    with pytest.raises(ValueError, match="text must be a string"):
        tokenizer([["a", "b"]])
    data = json.loads((default_model_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"] = {"type": "NFKC"}
    with pytest.raises(ValueError, match="needs a BertNormalizer"):
        TFBertTokenizer.from_tokenizer_json(json.dumps(data))


def test_duplicate_tokens_and_lone_surrogates_as_in_the_other_tokenizers(tmp_path, tokenizer):
    # one behaviour in every tokenizer (tests/common/test_tokenization_bad_input.py); before, a repeated
    # token gave tensorflow-text's "Tokens in the vocabulary must be unique" and a surrogate "Error
    # converting unicode string while converting Python sequence to Tensor"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    with pytest.raises(ValueError, match="^duplicate token 'a' on entries 5 and 6 of vocab_list"):
        TFBertTokenizer([*specials, "a", "a"])
    (tmp_path / "vocab.txt").write_text("\n".join([*specials, "hello", "world", "hello"]), encoding="utf-8")
    with pytest.raises(ValueError, match="^duplicate token 'hello' on lines 6 and 8 of vocabulary file"):
        TFBertTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="^text holds a lone surrogate U\\+D800 at index 2"):
        tokenizer("ab\ud800c")
    with pytest.raises(ValueError, match="^text\\[1\\] holds a lone surrogate U\\+DFFF at index 1"):
        tokenizer(["ok", "x\udfff"])
    with pytest.raises(ValueError, match="^text_pair\\[0\\] holds a lone surrogate U\\+DC00 at index 0"):
        tokenizer(["a"], text_pair=["\udc00"])


@pytest.mark.parametrize("case", ["fast-uncased", "slow-cased", "old-keys", "added-fast", "added-slow"])
def test_folders_written_by_transformers(case):
    # read as bert_common's tokenizers read them (tests/common/test_tokenization_transformers.py); the ids
    # are Transformers 4.57's (tests/fixtures/reference/tokenizers/reference.json). Added tokens the graph
    # cannot match (normalized or stripping ones, ids beyond the vocabulary) are refused by name; before,
    # added-slow's were dropped silently and old-keys lost its model_max_length ("max_len": 16)
    root = FIXTURES / "reference" / "tokenizers"
    call = json.loads((root / "reference.json").read_text(encoding="utf-8"))["cases"][case]["calls"][0]
    if case.startswith("added"):
        with pytest.raises(ValueError, match="^added token '.*' uses normalized/lstrip/rstrip/single_word"):
            TFBertTokenizer.from_pretrained(root / case)
        return
    tokenizer = TFBertTokenizer.from_pretrained(root / case, padding="do_not_pad", truncation=False)
    assert tokenizer.max_length == 16
    assert tokenizer(call["args"][0])["input_ids"].to_list() == call["result"]["input_ids"]


def test_padding_and_truncation_sides_as_transformers():
    # Transformers 4.57's answers with truncation_side / padding_side = "left" (reference.json, the calls
    # with "set"); overflow rows are not an in-graph feature
    root = FIXTURES / "reference" / "tokenizers"
    calls = json.loads((root / "reference.json").read_text(encoding="utf-8"))["cases"]["fast-uncased"][
        "calls"
    ]
    left = TFBertTokenizer.from_pretrained(root / "fast-uncased", truncation_side="left", padding_side="left")
    checked = 0
    for call in calls:
        if "set" not in call or call["kwargs"].get("return_overflowing_tokens"):
            continue
        args, kwargs = call["args"], call["kwargs"]
        texts = args[0] if isinstance(args[0], list) else [args[0]]
        pairs = None if len(args) < 2 else [args[1]]
        got = left(
            texts, text_pair=pairs, max_length=kwargs.get("max_length"), truncation="truncation" in kwargs
        )
        want = call["result"]["input_ids"]
        assert got["input_ids"].numpy().tolist() == (want if isinstance(want[0], list) else [want])
        checked += 1
    assert checked == 3
    with pytest.raises(ValueError, match="^padding_side must be 'right' or 'left'"):
        left(["a"], padding_side="top")


@pytest.mark.integration
def test_exported_text_model_takes_raw_strings(tmp_path, tokenizer):
    import tensorflow_text  # noqa: F401  (registers the ops the SavedModel uses)

    model = TFBertForSequenceClassification(tiny(vocab_size=30522, num_labels=3, max_position_embeddings=512))
    texts = ["A man is eating food.", "Ünïcödé [MASK] text 你好", "x"]
    expected = model(tokenizer(texts)).logits
    export_text_model(model, tokenizer, tmp_path / "text", verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "text"))
    serving = loaded.signatures["serving_default"]
    assert serving.structured_input_signature[1]["text"].dtype == tf.string
    assert max_abs_diff(serving(text=tf.constant(texts))["logits"], expected) <= ATOL
    expected = model(tokenizer(texts, text_pair=texts[::-1])).logits
    served = loaded.signatures["serving_pairs"](text=tf.constant(texts), text_pair=tf.constant(texts[::-1]))
    assert max_abs_diff(served["logits"], expected) <= ATOL


def test_a_functional_raw_strings_model_is_built_saved_and_exported(tmp_path, tokenizer):
    # Before: "A KerasTensor cannot be used as input to a TensorFlow function" (tokenizer on keras.Input).
    import keras
    import tensorflow_text  # noqa: F401  (registers the ops the SavedModel uses)

    text = keras.Input(shape=(), dtype="string", name="text")
    encoded = tokenizer(text)
    assert {k: v.dtype for k, v in encoded.items()} == dict.fromkeys(encoded, "int64")
    model = TFBertForSequenceClassification(tiny(vocab_size=30522, num_labels=3, max_position_embeddings=512))
    functional = keras.Model(text, model(encoded)["logits"])
    texts = ["A man is eating food.", "Ünïcödé [MASK] text 你好", "x"]
    expected = model(tokenizer(texts)).logits
    assert max_abs_diff(functional(tf.constant(texts)), expected) <= ATOL
    functional.save(tmp_path / "text.keras")
    reloaded = keras.models.load_model(tmp_path / "text.keras")
    assert max_abs_diff(reloaded(tf.constant(texts)), expected) <= ATOL
    functional.export(tmp_path / "served", verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "served"))  # kept: its variables live as long as it does
    assert max_abs_diff(loaded.serve(tf.constant(texts)), expected) <= ATOL
    # Keras' other spelling of a string input, shape (1,): [B, 1] is a batch of B texts
    column = tokenizer(keras.Input(shape=(1,), dtype="string"))
    assert column["input_ids"].shape == (None, None)
    np.testing.assert_array_equal(
        tokenizer(tf.constant([[t] for t in texts]))["input_ids"], tokenizer(texts)["input_ids"]
    )


def test_non_strings_are_refused_with_a_first_line_that_says_so(tokenizer):
    import keras

    cases = [
        (
            tf.constant([[101, 2023, 102]]),
            "^text must hold strings: TFBertTokenizer tokenizes text, got a int32 tensor",
        ),
        (np.array([1, 2]), "^text must hold strings: TFBertTokenizer tokenizes text, got a int64 array"),
        ([1, 2], "^text must be a str, a list of str or a string tensor, got a list holding int values"),
        (None, "^text must be a str, a list of str or a string tensor, got None"),
        (
            keras.Input(shape=(None,), dtype="int32"),
            "^text must hold strings: .* got a int32 tensor of shape",
        ),
    ]
    for value, message in cases:
        with pytest.raises(TypeError, match=message):
            tokenizer(value)
    with pytest.raises(TypeError, match="^text_pair must hold strings"):
        tokenizer(["a"], text_pair=tf.constant([3]))
    with pytest.raises(
        ValueError, match=r"^text must be a string or a \[batch\] string tensor, got shape \(None, 2\)"
    ):
        tokenizer(keras.Input(shape=(2,), dtype="string"))
