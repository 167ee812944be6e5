"""What ``vidaug dedup`` and ``vidaug mine-hard`` decide besides the mining itself: the
duplicate settings, and whether a reused index covers the clips asked about."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from vidaug.datasets import load_rows
from vidaug.errors import VidaugError
from vidaug.mining import DEFAULT_DEDUP, DedupConfig

__all__ = ["dedup_config", "require_embedded"]


def dedup_config(
    *,
    threshold: float | None = None,
    frame_threshold: float | None = None,
    match_fraction: float | None = None,
    keep: str = DEFAULT_DEDUP.keep,
) -> DedupConfig:
    """The calibrated :data:`~vidaug.mining.DEFAULT_DEDUP` with the settings given.

    Args:
        threshold: clip-embedding cosine for a duplicate (None: the default).
        frame_threshold: frame cosine for a match (None: the default).
        match_fraction: share of matching frames for a duplicate (None: the default).
        keep: which clip of a group is kept.
    """
    given = {"clip_threshold": threshold, "frame_threshold": frame_threshold,
             "match_fraction": match_fraction}  # fmt: skip
    return replace(DEFAULT_DEDUP, keep=keep, **{k: v for k, v in given.items() if v is not None})


def require_embedded(index: Any, index_dir: str | Path, source: str | Path) -> None:
    """Refuse a reused index that lacks clips of ``source``.

    Args:
        index: the :class:`~vidaug.mining.EmbeddingIndex` loaded from ``index_dir``.
        index_dir: where it was loaded from (named in the message).
        source: the clips asked about: a folder or a manifest.

    Raises:
        VidaugError: some clip of ``source`` has no embedding (the message says how to add it).
    """
    have = set(index.ids)
    missing = [r.rel for r in load_rows(source) if r.rel not in have]
    if missing:
        raise VidaugError(
            f"{index_dir}: has no embeddings for {len(missing)} clips of {source} "
            f"(e.g. {missing[0]}); run `vidaug embed {source} --out {index_dir}` first"
        )
