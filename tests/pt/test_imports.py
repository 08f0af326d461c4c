"""bert_pt imports no other framework and no Transformers; conversion.pt imports torch only when used;
every module of the twin imports on its own (no cycle needs a particular import order)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import bert_pt

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(f"bert_pt.{m.name}" for m in pkgutil.iter_modules(bert_pt.__path__))


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split(".")[0] for line in out.stdout.splitlines()}


def test_the_twin_template_files():
    """The file names of the twin template (docs/architecture.md), plus surgery.py (PyTorch only)."""
    assert {m.removeprefix("bert_pt.") for m in MODULES} == {
        "registry",
        "initialization",
        "activations",
        "masks",
        "inputs",
        "embeddings",
        "attention",
        "layers",
        "modeling",
        "pretrained",
        "loading",
        "lm_heads",
        "task_heads",
        "losses",
        "generation",
        "pipelines",
        "surgery",
    }


def test_bert_pt_imports_no_other_framework():
    modules = _modules_after("import " + ", ".join([*MODULES, "conversion.pt", "hubconf"]))
    assert "torch" in modules
    assert not modules & {"transformers", "tensorflow", "keras", "jax", "flax"}


def _imports_of(module: str) -> tuple[set[str], set[str]]:
    """(bert_pt modules imported at module level, bert_pt modules imported inside functions)."""
    tree = ast.parse((REPO / (module.replace(".", "/") + ".py")).read_text())
    top, lazy = set(), set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bert_pt"):
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("bert_pt")]
        found = {n for n in names if n in MODULES}
        (top if node in tree.body else lazy).update(found)
    return top, lazy


def test_imports_inside_the_twin_point_one_way():
    """No import cycle between bert_pt modules, and no import inside a function to dodge one."""
    graph = {}
    for module in MODULES:
        top, lazy = _imports_of(module)
        assert not lazy, f"{module} imports {sorted(lazy)} inside a function"
        graph[module] = top
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path, module))
        if module not in done:
            for target in graph[module]:
                visit(target, (*path, module))
            done.add(module)

    for module in MODULES:
        visit(module, ())


def test_conversion_pt_imports_torch_lazily():
    assert "torch" not in _modules_after("import conversion.pt")
