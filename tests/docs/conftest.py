"""The documentation tests: every Python block of README.md and docs/ runs, the site builds with
`mkdocs build --strict`, and docs/export.md's measured section is complete.

The pages run as separate processes (tests/docs/blocks.py), several at a time: most of a page's time is
one core's work (imports, tracing, XLA compiles), so on a 2-core machine two pages at once take about
half the wall time. The slowest pages start first. `page_runs` starts every selected page at the first
test that asks for one; each test then waits for its own page. DOCS_PAGE_WORKERS sets how many run at
once (default: the number of cores, at most 4; 1 runs them one after another).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, documentation_pages, python_blocks

PAGES = [p for p in documentation_pages() if python_blocks(p)]
# Pages measured to take longest (about 120, 90, 60 and 40 s on 2 cores): started first, so that the
# short pages fill the other worker instead of waiting at the end.
SLOW_FIRST = ("docs/keras.md", "docs/export.md", "docs/flax.md", "README.md")
TIMEOUT_S = 900


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def workers() -> int:
    chosen = os.environ.get("DOCS_PAGE_WORKERS")
    if chosen:
        return max(1, int(chosen))
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class PageRun:
    """One page's run: its working directory (what its blocks wrote is still there), exit code, output."""

    page: str
    cwd: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def failed(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("FAILED")]


class PageRuns:
    """Runs pages with tests/docs/blocks.py, `workers()` at a time, each once per session."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="docs-page")
        self._futures: dict[str, Future[PageRun]] = {}
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self, pages: list[str]) -> None:
        """Queue `pages` (ids such as "docs/keras.md") not queued yet, slow pages first."""
        for page in sorted(pages, key=lambda p: SLOW_FIRST.index(p) if p in SLOW_FIRST else len(SLOW_FIRST)):
            if page not in self._futures:
                cwd = self._root / page.replace("/", "_")
                cwd.mkdir()
                self._futures[page] = self._pool.submit(self._run, page, cwd)

    def result(self, page: str) -> PageRun:
        """The page's run, waiting for it (started now if it was not queued)."""
        self.start([page])
        return self._futures[page].result()

    def _run(self, page: str, cwd: Path) -> PageRun:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "MPLBACKEND": "Agg",
        }
        with self._lock:
            if self._closed:
                return PageRun(page, cwd, -1, "", "not run: the test session ended first")
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "docs" / "blocks.py"), str(ROOT / page)],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self._running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            stderr += f"\nkilled after {TIMEOUT_S} s"
        finally:
            with self._lock:
                self._running.discard(process)
        return PageRun(page, cwd, process.returncode, stdout, stderr)

    def close(self) -> None:
        """Cancel the pages not started and stop the ones still running (an aborted session, -x)."""
        with self._lock:
            self._closed = True
            for process in self._running:
                process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _selected_pages(session: pytest.Session) -> list[str]:
    pages = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "page" in callspec.params and "page_runs" in item.fixturenames:
            pages.append(page_id(callspec.params["page"]))
        if "export_page" in item.fixturenames:
            pages.append("docs/export.md")
    return list(dict.fromkeys(pages))


@pytest.fixture(scope="session")
def page_runs(request, tmp_path_factory):
    """The page runner, with every page a selected test needs already queued."""
    runs = PageRuns(tmp_path_factory.mktemp("pages"))
    runs.start(_selected_pages(request.session))
    yield runs
    runs.close()


@pytest.fixture(scope="session")
def export_page(page_runs) -> Path:
    """The working directory of docs/export.md's run, holding the exports its examples wrote
    (minilm-onnx, minilm-stablehlo, minilm-savedmodel)."""
    run = page_runs.result("docs/export.md")
    if run.returncode != 0:
        pytest.fail("docs/export.md's examples failed, see its test: " + "; ".join(run.failed))
    return run.cwd
