"""The documentation site builds with `mkdocs build --strict` (offline), every page is in its nav, and
the API reference holds every public entry point (generated from the docstrings by mkdocstrings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docs.blocks import ROOT

# Public entry points whose docstrings the API reference must render, by their anchor (full path).
REFERENCE = {
    "config": ["bert_common.config.BertConfig"],
    "tokenizers": [
        "bert_common.tokenization.fast.BertTokenizerFast",
        "bert_common.tokenization.wordpiece.BertTokenizer",
    ],
    "pytorch": [
        "bert_pt.modeling.BertModel",
        "bert_pt.lm_heads.BertForPreTraining",
        "bert_pt.lm_heads.BertForMaskedLM",
        "bert_pt.lm_heads.BertLMHeadModel",
        "bert_pt.lm_heads.BertForNextSentencePrediction",
        "bert_pt.task_heads.BertForSequenceClassification",
        "bert_pt.task_heads.BertForMultipleChoice",
        "bert_pt.task_heads.BertForTokenClassification",
        "bert_pt.task_heads.BertForQuestionAnswering",
        "bert_pt.pipelines.pipeline",
    ],
    "keras": [
        "bert_tf.modeling.TFBertModel",
        "bert_tf.lm_heads.TFBertForPreTraining",
        "bert_tf.lm_heads.TFBertForMaskedLM",
        "bert_tf.lm_heads.TFBertLMHeadModel",
        "bert_tf.lm_heads.TFBertForNextSentencePrediction",
        "bert_tf.task_heads.TFBertForSequenceClassification",
        "bert_tf.task_heads.TFBertForMultipleChoice",
        "bert_tf.task_heads.TFBertForTokenClassification",
        "bert_tf.task_heads.TFBertForQuestionAnswering",
        "bert_tf.tokenizer.TFBertTokenizer",
        "bert_tf.pipelines.pipeline",
    ],
    "flax": [
        "bert_flax.modeling.FlaxBertModel",
        "bert_flax.lm_heads.FlaxBertForPreTraining",
        "bert_flax.lm_heads.FlaxBertForMaskedLM",
        "bert_flax.lm_heads.FlaxBertForCausalLM",
        "bert_flax.lm_heads.FlaxBertForNextSentencePrediction",
        "bert_flax.task_heads.FlaxBertForSequenceClassification",
        "bert_flax.task_heads.FlaxBertForMultipleChoice",
        "bert_flax.task_heads.FlaxBertForTokenClassification",
        "bert_flax.task_heads.FlaxBertForQuestionAnswering",
        "bert_flax.pipelines.pipeline",
    ],
    "pipelines": ["bert_common.pipelines.Pipeline", "bert_common.pipelines.build_pipeline"],
    "conversion": [
        "conversion.checkpoint.read_weights",
        "conversion.checkpoint.write_weights",
        "conversion.names.to_format",
        "conversion.canonical.fit_to_model",
    ],
    "export": ["bert_zoo.export.export", "bert_zoo.export_common.ExportResult", "bert_zoo.export.run_export"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    problems = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0, "\n".join(problems) or done.stderr[-3000:]
    return out


def nav_pages(entries) -> list[str]:
    pages = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_the_site_builds_strictly(site):
    assert (site / "index.html").is_file()
    assert (site / "export" / "index.html").is_file()


def test_every_page_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert sorted(listed) == pages
    assert not [
        p
        for p in config.get("plugins", [])
        if (p if isinstance(p, str) else next(iter(p))) not in ("search", "mkdocstrings")
    ]


@pytest.mark.parametrize("page", sorted(REFERENCE))
def test_the_api_reference_renders_every_public_entry_point(site, page):
    html = (site / "reference" / page / "index.html").read_text(encoding="utf-8")
    missing = [name for name in REFERENCE[page] if f'id="{name}"' not in html]
    assert not missing, f"reference/{page}.md lacks {missing}"
