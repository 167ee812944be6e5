"""The vidaug error tree.

Library code raises subclasses of :class:`VidaugError`; the CLI catches them at the boundary,
prints one line and exits non-zero. Each error message names the file or field at fault.
"""

from __future__ import annotations

__all__ = [
    "IndexMismatchError",
    "ManifestError",
    "ManifestWarning",
    "RecipeError",
    "UsageError",
    "VidaugError",
    "VidaugWarning",
    "VideoReadError",
    "VideoWriteError",
]


class VidaugError(Exception):
    """Base class of every error vidaug raises on purpose."""


class UsageError(VidaugError):
    """The call itself is wrong, before any data is touched: a missing input, an OUTPUT that is
    a file, inside INPUT or in use by another run, contradictory options. The CLI exits 2."""


class VideoReadError(VidaugError):
    """A video could not be read: missing, not a video, zero frames or truncated.

    Attributes:
        path: the file at fault.
        reason: a short machine-friendly reason: ``missing``, ``not_a_video``, ``no_frames``,
            ``truncated`` or ``unreadable``.
    """

    def __init__(self, path, message: str, reason: str = "unreadable") -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {message}")


class VideoWriteError(VidaugError):
    """A video could not be written (no codec, disk full, bad frames)."""


class ManifestError(VidaugError):
    """An input listing (directory, CSV or JSONL manifest) is missing, empty or malformed."""


class VidaugWarning(UserWarning):
    """Base class of the warnings vidaug issues (``warnings.warn``); the CLI prints each as one
    yellow ``warning:`` line."""


class ManifestWarning(VidaugWarning):
    """An input listing has a harmless oddity that was fixed, e.g. one file listed twice with
    the same label (one row is kept)."""


class RecipeError(VidaugError):
    """A recipe or transform configuration is invalid; the message names file, position and field."""


class IndexMismatchError(VidaugError):
    """An embedding index was built with another model or dimension than the one asked for."""
