"""Fixtures of the export tests: tiny checkpoints of every head (random weights of realistic size, so the
differences mean something), the embedded all-MiniLM-L6-v2, and the StableHLO export of every head made
in a helper process (`stablehlo_exports`).

Most of an export's time is one core's work (tracing, lowering, XLA compiles), so on a 2-core machine the
helper (tests/export/background.py, started with the session when a test needs it) makes the StableHLO
exports while this process runs the ONNX and SavedModel tests; the StableHLO tests then check what it
wrote, as they would check an export made in this process.

Shape legend: B batch, C choices, T positions, H hidden size.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bert_common.files import default_model_dir
from bert_zoo.equivalence import random_canonical_weights
from conversion.checkpoint import write_weights
from tests.common.head_spec import HEAD_NAMES, head_config

# Every head, and the causal LM once more with cross-attention (two more graph inputs).
CASES = [*HEAD_NAMES, "BertLMHeadModel+cross"]
# The head lowered to StableHLO for several platforms (cpu and cuda); the others for this machine's only.
MULTI_PLATFORM = "BertForSequenceClassification"
ROOT = Path(__file__).resolve().parents[2]
HELPER_TIMEOUT_S = 900


def case_head(case: str) -> str:
    return case.split("+")[0]


@pytest.fixture(autouse=True, scope="session")
def _quiet_loading_reports():
    logger = logging.getLogger("bert_zoo")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Case -> a directory with config.json (head in `architectures`) and model.safetensors: the tiny
    config of tests/common/head_spec.py with N(0, 0.2) weights."""
    root = tmp_path_factory.mktemp("tiny")
    made = {}
    for seed, case in enumerate(CASES):
        head = case_head(case)
        config = head_config(head, add_cross_attention=case.endswith("+cross"))
        config.architectures = [head]
        directory = root / case.replace("+", "_")
        write_weights(
            random_canonical_weights(config, head, seed), directory, "safetensors", model_class=head
        )
        config.save_pretrained(directory)
        made[case] = directory
    return made


@pytest.fixture(scope="session")
def minilm() -> Path:
    """The embedded all-MiniLM-L6-v2 (a BertModel checkpoint with its tokenizer files)."""
    return default_model_dir()


def staging_leftovers(out: Path) -> list[str]:
    """Hidden staging folders an export to `out` left beside it (there must be none)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


class BackgroundExports:
    """`export(source, out, **options)` per key, made by one helper process in order; `get` waits for a
    key's ExportResult (or fails the test with the traceback of what export raised there)."""

    def __init__(self, jobs: dict[str, dict], root: Path) -> None:
        self.root = root
        (root / "jobs.json").write_text(json.dumps(jobs))
        self.log = root / "helper.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.export.background", str(root / "jobs.json")],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()

    def get(self, key: str):
        done = self.root / f"{key}.pkl"
        while not done.exists():
            if self.process.poll() is not None and not done.exists():
                pytest.fail(f"the export helper ended without {key}:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() - self.started > HELPER_TIMEOUT_S:
                pytest.fail(f"the export helper took over {HELPER_TIMEOUT_S} s; stopped at {key}")
            time.sleep(0.2)
        status, value = pickle.loads(done.read_bytes())
        if status != "ok":
            pytest.fail(f"export of {key} raised in the helper process:\n{value}")
        return value

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def stablehlo_exports(tiny_checkpoints, tmp_path_factory):
    """case -> (ExportResult, directory): `export(checkpoint, out, to="stablehlo")` of every case (of
    MULTI_PLATFORM with platforms=["cpu", "cuda"]), made in the helper process."""
    root = tmp_path_factory.mktemp("stablehlo")
    jobs = {
        case.replace("+", "_"): {
            "source": str(tiny_checkpoints[case]),
            "out": str(root / case.replace("+", "_")),
            "options": {
                "to": "stablehlo",
                **({"platforms": ["cpu", "cuda"]} if case == MULTI_PLATFORM else {}),
            },
        }
        for case in CASES
    }
    helper = BackgroundExports(jobs, root)

    def get(case: str):
        return helper.get(case.replace("+", "_")), root / case.replace("+", "_")

    yield get
    helper.close()


@pytest.fixture(autouse=True, scope="session")
def _start_the_helper_early(request):
    """Start the StableHLO helper with the session when a selected test needs it, so that it works while
    the tests before it run."""
    if any("stablehlo_exports" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("stablehlo_exports")
