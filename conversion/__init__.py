"""conversion: BERT weights between PyTorch, Keras, Flax and every on-disk format, through one name table.

Nothing here imports a deep-learning framework at import time; each mapping imports its framework
when it runs.
"""

from __future__ import annotations

from conversion.canonical import LoadReport, ShapeMismatchError, fit_to_model, normalize_legacy_names
from conversion.formats import CheckpointError, read_safetensors, write_safetensors
from conversion.names import FORMATS, UnmappedNameError, from_format, to_format

__all__ = [
    "FORMATS",
    "CheckpointError",
    "LoadReport",
    "ShapeMismatchError",
    "UnmappedNameError",
    "fit_to_model",
    "from_format",
    "normalize_legacy_names",
    "read_safetensors",
    "to_format",
    "write_safetensors",
]
