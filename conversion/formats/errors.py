"""The one error every on-disk format raises for a bad file."""

from __future__ import annotations


class CheckpointError(ValueError):
    """A weights file that is missing, truncated, corrupt or inconsistent with its index."""
