"""What ``vidaug dedup`` and ``vidaug mine-hard`` decide besides the mining itself (the
duplicate settings, and whether a reused index covers the clips asked about), and the search
behind ``vidaug search``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vidaug.datasets import ManifestRow, load_rows
from vidaug.errors import VidaugError
from vidaug.mining import DEFAULT_DEDUP, DedupConfig, embed_rows
from vidaug.pipelines._embed import query_sampling

__all__ = ["dedup_config", "require_embedded", "search_index"]


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


def search_index(
    index: Any,
    rows: list[ManifestRow],
    embedder: Any,
    *,
    k: int = 10,
    frames: int | None = None,
    source: str | Path | None = None,
    on_clip: Callable[[Any], None] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The ``k`` clips of ``index`` most similar to each query clip (cosine similarity).

    Args:
        index: an :class:`~vidaug.mining.EmbeddingIndex` of ``embedder``'s model.
        rows: the query clips.
        embedder: the frame embedding model.
        k: neighbours per query clip (at most the index's clips).
        frames: frames per query clip (None: sampled the way the index's clips were).
        source: where ``rows`` came from when they are several queries (named in the error
            when none can be read); None for one video (its own error).
        on_clip: called for each query clip once it is decoded (progress).

    Returns:
        ``(results, failures)``: one ``{"query", "hits"}`` per query clip read, each hit
        ``{"rank", "id", "label", "similarity"}``; the query clips that could not be read.

    Raises:
        VidaugError: no query clip could be read.
    """
    fps = None
    if frames is None:  # sample the query the way the index's clips were sampled
        frames, fps = query_sampling(index.clips[0].get("sampling") if len(index) else None)
    q = embed_rows(rows, embedder, frames=frames or 8, fps=fps, on_clip=on_clip)
    if not q.clips:
        raise VidaugError(q.failures[0][1] if source is None else f"{source}: no query clip "
                          f"could be read (e.g. {q.failures[0][1]})")  # fmt: skip
    sims, ids = index.search_clips(q.clip_emb, min(k, len(index)))

    def hits(j: int) -> list[dict[str, Any]]:
        pairs = enumerate(zip(sims[j], ids[j], strict=True))
        return [{"rank": r + 1, "id": index.clips[i]["id"], "label": index.clips[i].get("label"),
                 "similarity": round(float(s), 4)} for r, (s, i) in pairs if i >= 0]  # fmt: skip

    return [{"query": c["id"], "hits": hits(j)} for j, c in enumerate(q.clips)], q.failures
