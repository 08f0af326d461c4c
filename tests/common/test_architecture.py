"""The architecture as tests: file sizes, the twin template, and imports that run one way.

docs/architecture.md explains each rule; these tests keep the tree honest:

- no library file over 400 lines (generated tables excepted);
- the three twins hold the same template files, plus only the framework-only files listed here and
  named in docs/architecture.md;
- packages import one way, `bert_common` -> `conversion` -> the twins -> `bert_zoo`, also through
  importlib strings, and no twin imports another;
- no import cycle between the modules of the library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("bert_common", "conversion", "bert_pt", "bert_tf", "bert_flax", "bert_zoo")
TWINS = ("bert_pt", "bert_tf", "bert_flax")
MAX_LINES = 400
GENERATED = {"bert_common/tokenization/unicode_tables.py"}

TEMPLATE = {
    "__init__.py",
    "registry.py",
    "initialization.py",
    "activations.py",
    "masks.py",
    "inputs.py",
    "embeddings.py",
    "attention.py",
    "layers.py",
    "modeling.py",
    "pretrained.py",
    "loading.py",
    "lm_heads.py",
    "task_heads.py",
    "losses.py",
    "generation.py",
    "pipelines.py",
}
# Framework-only files, each explained in docs/architecture.md.
FRAMEWORK_ONLY = {
    "bert_pt": {"surgery.py"},
    "bert_tf": {
        "base.py",
        "outputs.py",
        "training.py",
        "export.py",
        "tokenizer.py",
        "tokenizer_ops.py",
        "tokenizer_settings.py",
    },
    "bert_flax": {"outputs.py", "training.py", "sharding.py", "cache.py"},
}

# Allowed imports between the packages: each may import itself and what is below it.
LAYER = {"bert_common": 0, "conversion": 1, "bert_pt": 2, "bert_tf": 2, "bert_flax": 2, "bert_zoo": 3}


def library_files() -> list[Path]:
    return sorted(p for package in LIBRARY for p in (ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports: import statements anywhere in the file (also inside functions) and
    string arguments of importlib.import_module / __import__ (f-strings by their constant prefix)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                own = module_name(path)
                package = own if path.name == "__init__.py" else own.rpartition(".")[0]
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                name = f"{prefix}.{node.module}" if node.module else prefix
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            if called in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif (
                    isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant)
                ):
                    # f"bert_{name}..." reaches every package that starts with the prefix
                    prefix = str(arg.values[0].value)
                    found.update(p for p in LAYER if p.startswith(prefix) or prefix.startswith(p))
    return found


def test_no_library_file_over_400_lines():
    long = {
        relative(p): n
        for p in library_files()
        if relative(p) not in GENERATED and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"library files over {MAX_LINES} lines (split them by responsibility): {long}"


@pytest.mark.parametrize("twin", TWINS)
def test_twins_hold_the_template_and_only_documented_extras(twin):
    files = {p.name for p in (ROOT / twin).glob("*.py")}
    missing = sorted(TEMPLATE - files)
    extra = sorted(files - TEMPLATE - FRAMEWORK_ONLY[twin])
    assert not missing, f"{twin} lacks template files {missing}"
    assert not extra, (
        f"{twin} has files outside the template {extra}; add them to docs/architecture.md and FRAMEWORK_ONLY"
    )


def test_framework_only_files_are_explained_in_the_architecture_doc():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for twin, names in FRAMEWORK_ONLY.items():
        for name in names:
            assert f"{twin}/{name}" in doc, f"docs/architecture.md does not explain {twin}/{name}"
    for name in TEMPLATE:
        assert f"`{name}`" in doc, f"docs/architecture.md's template table lacks {name}"


@pytest.mark.parametrize("path", library_files(), ids=relative)
def test_imports_run_one_way(path):
    own = relative(path).split("/")[0]
    for name in imported_modules(path):
        top = name.split(".")[0]
        if top not in LAYER or top == own:
            continue
        assert LAYER[top] < LAYER[own], (
            f"{relative(path)} imports {name}: {own} may only import packages below it "
            "(bert_common -> conversion -> bert_pt | bert_tf | bert_flax -> bert_zoo)"
        )


def test_no_import_cycles_between_library_modules():
    modules = {module_name(p): p for p in library_files()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_modules(path):
            # `from package import module` names the module; `from module import function` the module
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                # a package __init__ importing its own submodules is re-exporting, not a cycle risk
                if not (modules[imported].name == "__init__.py" and name.startswith(imported)):
                    targets.add(imported)
        graph[name] = {t for t in targets if not (modules[t].name == "__init__.py")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles between library modules:\n" + "\n".join(cycles)


def test_the_import_checker_sees_importlib_strings_and_lazy_imports(tmp_path):
    # the checker itself must catch the ways the first wave reached up
    sample = tmp_path / "probe.py"
    sample.write_text(
        "import importlib\n"
        'mod = importlib.import_module(f"bert_{name}.pipelines")\n'
        "def f():\n    from bert_zoo.cli import main\n"
    )
    found = imported_modules(sample)
    assert {"bert_pt", "bert_tf", "bert_flax", "bert_zoo.cli"} <= found


MIRRORED_TESTS = {
    "test_heads.py",
    "test_inputs.py",
    "test_losses.py",
    "test_loading.py",
    "test_reference.py",
    "test_cache_generation.py",
    "test_minilm.py",
    "test_conversion.py",
    "test_prune.py",
}
FRAMEWORK_ONLY_TESTS = {
    "pt": {"test_attention.py", "test_compile.py", "test_hub.py", "test_imports.py", "test_training.py"},
    "tf": {
        "test_keras.py",
        "test_tokenizer.py",
        "test_gradient_checkpointing.py",  # Keras remat under fit/XLA (pt: test_training, flax: test_transforms)
        "test_prepare_tf_dataset.py",  # a tf.data API, Keras only
        "test_distribute.py",  # tf.distribute.MirroredStrategy (pt: tests/train DDP, flax: test_sharding)
    },
    "flax": {"test_transforms.py", "test_sharding.py", "test_training.py"},
}


@pytest.mark.parametrize("twin", sorted(FRAMEWORK_ONLY_TESTS))
def test_twin_test_folders_mirror_each_other(twin):
    files = {p.name for p in (ROOT / "tests" / twin).glob("test_*.py")}
    assert not MIRRORED_TESTS - files, f"tests/{twin} lacks {sorted(MIRRORED_TESTS - files)}"
    extra = files - MIRRORED_TESTS - FRAMEWORK_ONLY_TESTS[twin]
    assert not extra, f"tests/{twin} has test files outside the mirrored set {sorted(extra)}"
