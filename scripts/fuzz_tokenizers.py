"""Count where the slow, fast and in-graph tokenizers disagree on a fixed sample of strings drawn from
every Unicode category (`tests.common.tokenizer_helpers.unicode_sample`: 2,029 strings, seed 13).

    python scripts/fuzz_tokenizers.py [--count 2029] [--seed 13] [--tf]

For the uncased all-MiniLM-L6-v2 vocabulary and the small cased test vocabulary, prints how many
strings give different ids (slow vs fast), different offsets (slow vs fast), and with --tf different
ids between TFBertTokenizer and the fast tokenizer, with the first few examples. A measurement, not a
test (tests/common/test_tokenization_fuzz.py is the test); exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bert_common.files import default_model_dir
from bert_common.tokenization import BertTokenizer, BertTokenizerFast
from tests.common.tokenizer_helpers import CASED_VOCAB, unicode_sample


def main() -> None:
    """Print the mismatch counts of each configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2029)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--tf", action="store_true", help="also compare TFBertTokenizer with the fast one")
    args = parser.parse_args()
    texts = unicode_sample(args.count, args.seed)
    configs = {
        "uncased": (default_model_dir() / "vocab.txt", {}),
        "cased": (CASED_VOCAB, {"do_lower_case": False}),
    }
    for name, (vocab, options) in configs.items():
        slow, fast = BertTokenizer(vocab, **options), BertTokenizerFast(vocab, **options)
        a = slow(texts, return_offsets_mapping=True)
        b = fast(texts, return_offsets_mapping=True)
        ids = [i for i in range(len(texts)) if a["input_ids"][i] != b["input_ids"][i]]
        offsets = [i for i in range(len(texts)) if a["offset_mapping"][i] != b["offset_mapping"][i]]
        print(f"{name}: {len(texts)} strings, ids differ on {len(ids)}, offsets differ on {len(offsets)}")
        for i in ids[:5]:
            print(f"    {texts[i]!r}: slow {a['input_ids'][i]} fast {b['input_ids'][i]}")
        if args.tf:
            from bert_tf import TFBertTokenizer

            tf_tok = TFBertTokenizer.from_tokenizer(fast, padding="do_not_pad", max_length=None)
            got = tf_tok(texts)["input_ids"].to_list()
            tf_ids = [i for i in range(len(texts)) if got[i] != b["input_ids"][i]]
            print(f"    in-graph vs fast: ids differ on {len(tf_ids)}")
            for i in tf_ids[:5]:
                print(f"    {texts[i]!r}: in-graph {got[i]} fast {b['input_ids'][i]}")


if __name__ == "__main__":
    main()
