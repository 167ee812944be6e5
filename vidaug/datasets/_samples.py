"""The sample clips bundled with vidaug (six short surveillance clips, labeled by folder)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_clips_dir"]


def sample_clips_dir() -> Path:
    """The folder of vendored sample clips inside the installed package.

    It holds ``fight/*.mp4`` and ``noFight/*.mp4`` (so :func:`~vidaug.datasets.load_rows` gives
    labeled rows) plus ``PROVENANCE.md`` and ``LICENSE``. Read it, never write into it.

    Returns:
        The absolute path of the folder.

    Raises:
        FileNotFoundError: the package was installed without its data files.
    """
    path = Path(__file__).resolve().parent / "samples"
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: vidaug's sample clips are missing from this install")
    return path
