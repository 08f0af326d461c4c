"""Streaming at volume: `Pipeline.answers`, `bert-zoo run` writing while batches still run, progress on
stderr whenever stderr is a terminal, and PyTorch's waiting threads told to sleep."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

import pytest

import bert_pt
from bert_zoo import run as run_module
from bert_zoo.cli import build_parser
from bert_zoo.twins import load_twin
from tests.pipelines.conftest import WORDS


def texts(count: int) -> list[str]:
    """`count` texts of 1 to 12 words, of varied lengths."""
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + (i * 7) % 12)) for i in range(count)]


def test_answers_reads_a_window_at_a_time_and_answers_in_input_order(task_models):
    pipe = bert_pt.pipeline("feature-extraction", model=task_models["feature-extraction"])
    inputs = texts(10)
    pulled = []

    def source():
        for text in inputs:
            pulled.append(text)
            yield text

    answers = pipe.answers(source(), batch_size=2, window=4, pooling="mean")
    assert pulled == []  # nothing read before the first answer is asked for
    first = next(answers)
    assert len(pulled) == 4  # one window
    rest = list(answers)
    want = pipe(inputs, pooling="mean")
    assert len(rest) == 9
    for a, b in zip([first, *rest], want):
        assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-5


def test_answers_refuses_what_is_not_an_iterable_of_inputs(task_models):
    pipe = bert_pt.pipeline("feature-extraction", model=task_models["feature-extraction"])
    with pytest.raises(
        TypeError, match="feature-extraction: answers\\(\\) takes an iterable of inputs, got str"
    ):
        pipe.answers("one text")
    with pytest.raises(ValueError, match="window must be a positive int, got 0"):
        pipe.answers(["a text"], window=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got -1"):
        pipe.answers(["a text"], batch_size=-1)


class _Terminal:
    """A stderr that says it is a terminal and keeps what is written to it."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_goes_to_stderr_when_stderr_is_a_terminal(task_models, monkeypatch, capsys):
    pipe = bert_pt.pipeline("feature-extraction", model=task_models["feature-extraction"], batch_size=2)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    pipe(texts(5), pooling="mean")
    assert "feature-extraction" in terminal.text and "5/5" in terminal.text
    terminal.text = ""
    pipe(texts(2), pooling="mean")  # one batch: no bar
    assert terminal.text == ""
    assert capsys.readouterr().out == ""  # nothing on stdout


def test_run_writes_lines_in_input_order_while_batches_still_run(task_models, monkeypatch):
    calls: list[int] = []
    real = load_twin("pt")

    class CountedTwin:
        """The PyTorch twin, with its runners (padded and padding-free) counting the model calls."""

        def pipeline(self, *args, **kwargs):
            pipe = real.pipeline(*args, **kwargs)

            def counted(runner):
                def run(arrays):
                    calls.append(len(arrays["input_ids"]))
                    return runner(arrays)

                return run

            pipe.runner = counted(pipe.runner)
            pipe.padding_free_runner = counted(pipe.padding_free_runner)
            return pipe

    class Out:
        """stdout: each line with the number of model calls made when it was written."""

        def __init__(self):
            self.lines: list[tuple[int, str]] = []

        def write(self, text):
            self.lines.append((len(calls), text))

        def flush(self):
            pass

    monkeypatch.setattr(run_module, "load_twin", lambda name: CountedTwin())
    out = Out()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    inputs = texts(40)
    model = task_models["feature-extraction"]
    args = build_parser().parse_args(
        ["run", "--task", "feature-extraction", "--model", model, "--batch-size", "2", *inputs]
    )
    assert run_module.cmd_run(args) == 0
    assert len(calls) == 20  # 40 inputs, 2 per call
    first_write = out.lines[0][0]
    assert first_write <= 8  # the first window (8 calls of 2) at most, not all 20 calls
    assert [json.loads(text)["input"] for _, text in out.lines] == inputs
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_run_keeps_the_users_omp_wait_policy(task_models, monkeypatch, capsys):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    model = task_models["feature-extraction"]
    args = build_parser().parse_args(["run", "--task", "feature-extraction", "--model", model, "the cat"])
    assert run_module.cmd_run(args) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert json.loads(capsys.readouterr().out)["input"] == "the cat"


def test_run_shows_progress_on_a_terminal_stderr_while_stdout_is_a_pipe(task_models):
    """The bar was once drawn only when stdout was a terminal: never for `bert-zoo run > file`."""
    leader, follower = pty.openpty()
    # a terminal of 24 rows x 100 columns (a new pty has 0 x 0, where tqdm draws an empty bar)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    command = [sys.executable, "-m", "bert_zoo.cli", "run", "--task", "feature-extraction"]
    command += ["--model", task_models["feature-extraction"], "--batch-size", "4"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    os.close(follower)
    seen = bytearray()

    def read_terminal():
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the pty is closed once the process has ended
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    out, _ = process.communicate(("\n".join(texts(12)) + "\n").encode(), timeout=300)
    reader.join(timeout=30)
    os.close(leader)
    assert process.returncode == 0, seen.decode(errors="replace")
    assert len(out.decode().splitlines()) == 12  # stdout holds the JSON lines alone
    assert all(json.loads(line)["output"] for line in out.decode().splitlines())
    assert b"feature-extraction" in seen and b"12/12" in seen
