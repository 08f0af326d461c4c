"""bert_pt imports no other framework and no Transformers; conversion.pt imports torch only when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split(".")[0] for line in out.stdout.splitlines()}


def test_bert_pt_imports_no_other_framework():
    modules = _modules_after("import bert_pt, bert_pt.generation, bert_pt.surgery, conversion.pt, hubconf")
    assert "torch" in modules
    assert not modules & {"transformers", "tensorflow", "keras", "jax", "flax"}


def test_conversion_pt_imports_torch_lazily():
    assert "torch" not in _modules_after("import conversion.pt")
