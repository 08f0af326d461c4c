"""The twins as the application sees them: one loader function per framework, no import strings.

Each twin's `pipelines` module offers the same numpy-facing functions, and they are all bert_zoo uses:

    load_model(head, source) -> (model, config, loading_info)
    run_numpy(model, arrays, **forward) -> {field: numpy array or tuple of arrays}
    pipeline(task, model=None, batch_size=8, ...) -> Pipeline

Importing a framework prints native start-up noise on file descriptor 2 (TensorFlow's C++ logging ignores
TF_CPP_MIN_LOG_LEVEL for some lines); `load_twin` hides it, Python errors still reach the caller.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

FRAMEWORKS = ("pt", "tf", "flax")
FRAMEWORK_NAMES = {"pt": "PyTorch", "tf": "TensorFlow/Keras", "flax": "Flax/JAX"}
# The pip extra that installs each framework.
EXTRAS = {"pt": "torch", "tf": "tf", "flax": "flax"}


def _pt() -> ModuleType:
    import bert_pt.pipelines

    return bert_pt.pipelines


def _tf() -> ModuleType:
    import tensorflow

    import bert_tf.pipelines

    tensorflow.config.list_physical_devices()  # device discovery prints too ("failed call to cuInit")
    return bert_tf.pipelines


def _flax() -> ModuleType:
    import jax

    import bert_flax.pipelines

    jax.devices()  # the backend starts here: its start-up lines go while stderr is silenced
    return bert_flax.pipelines


LOADERS: dict[str, Callable[[], ModuleType]] = {"pt": _pt, "tf": _tf, "flax": _flax}


def quiet_frameworks() -> None:
    """Ask TensorFlow for no start-up logging (set before it is imported; a user's setting wins)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def load_twin(name: str) -> ModuleType:
    """The `pipelines` module of the twin `name` ("pt", "tf" or "flax").

    Raises:
        ValueError: `name` is not a known framework.
        ImportError: the twin or its framework cannot be imported (the message names the pip extra).
    """
    if name not in LOADERS:
        raise ValueError(f"unknown framework {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    quiet_frameworks()
    try:
        with native_stderr_silenced():
            return LOADERS[name]()
    except ImportError as err:
        raise ImportError(
            f"the {FRAMEWORK_NAMES[name]} twin cannot be imported ({err}); install bert-zoo[{EXTRAS[name]}]"
        ) from None


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what native code prints to file descriptor 2 inside the block; Python-level errors still
    reach the caller."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
