"""From files to an index: embed a dataset, reuse cached embeddings, append, open for checks.

An index directory doubles as the embedding cache: each clip in it carries its file's size and
modification time and the frame sampling used, so re-running ``vidaug embed`` on a grown or
edited dataset embeds only the new or changed clips (the model must be the same one).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.datasets import ManifestRow, load_rows
from vidaug.errors import VidaugError
from vidaug.mining import (
    ClipFrames,
    Embedded,
    EmbeddingIndex,
    FrameEmbedder,
    clip_key,
    clip_means,
    embed_rows,
    is_index_dir,
)

__all__ = ["EmbedReport", "embed_to_index", "open_index"]


def _sampling(frames: int | None, fps: float | None) -> str:
    return f"fps{fps:g}" if fps is not None else f"k{int(frames or 8)}"


@dataclass
class EmbedReport:
    """What :func:`embed_to_index` did."""

    index: EmbeddingIndex
    embedded: int = 0
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def _fresh(old: EmbeddingIndex | None, row: ManifestRow, sampling: str) -> int | None:
    """Position of ``row`` in ``old`` when its cached embedding is still valid."""
    if old is None:
        return None
    try:
        pos = old.position(row.rel)
    except (KeyError, ValueError):
        return None
    c = old.clips[pos]
    try:
        key = clip_key(row.path)
    except OSError:
        return None
    same = c.get("size") == key["size"] and c.get("mtime_ns") == key["mtime_ns"]
    return pos if same and c.get("sampling") == sampling else None


def embed_to_index(
    source: str | os.PathLike,
    embedder: FrameEmbedder,
    *,
    out: str | os.PathLike | None = None,
    frames: int | None = 8,
    fps: float | None = None,
    batch: int = 32,
    append: bool = False,
    kind: str = "auto",
    nprobe: int = 16,
    on_start: Callable[[int], None] | None = None,
    on_clip: Callable[[ClipFrames | None], None] | None = None,
) -> EmbedReport:
    """Embed every clip of ``source`` into an index, saved to ``out`` when given.

    With an existing index at ``out`` (same model), unchanged clips reuse their stored
    embeddings; ``append=True`` adds only clips the index does not have yet, without rebuilding.

    Raises:
        ManifestError: bad source. IndexMismatchError: ``out`` holds another model's index.
        VidaugError: no clip could be embedded.
    """
    rows = load_rows(source)
    sampling = _sampling(frames, fps)
    old = None
    if out is not None and is_index_dir(out):
        old = EmbeddingIndex.load(out, model_id=embedder.model_id)
    elif out is not None and Path(out).exists() and any(Path(out).iterdir()):
        raise VidaugError(f"{out}: exists and is not a vidaug index; choose another output folder")
    if append and old is not None:
        have = set(old.ids)
        todo = [r for r in rows if r.rel not in have]
        keep: list[int] = []
    else:
        cached = {r.rel: _fresh(old, r, sampling) for r in rows}
        todo = [r for r in rows if cached[r.rel] is None]
        keep = [p for p in cached.values() if p is not None]
    if on_start:
        on_start(len(rows))
    if on_clip:
        for _ in range(len(rows) - len(todo)):
            on_clip(None)
    new = embed_rows(todo, embedder, frames=frames, fps=fps, batch=batch, on_clip=on_clip)
    for c in new.clips:
        c["sampling"] = sampling
    if append and old is not None:
        if new.clips:
            old.append(new.clips, new.frame_emb, new.frame_clip, new.clip_emb)
        index = old
    else:
        merged = _merge(old, keep, new)
        if not merged.clips:
            why = "; ".join(m for _, m in new.failures[:3])
            raise VidaugError(f"{source}: no clip could be embedded" + (f" ({why})" if why else ""))
        order = np.argsort([c["id"] for c in merged.clips], kind="stable")
        merged = _reorder(merged, order)
        index = EmbeddingIndex.build(
            merged.clips,
            merged.frame_emb,
            merged.frame_clip,
            model_id=embedder.model_id,
            kind=kind,
            nprobe=nprobe,
            clip_emb=merged.clip_emb,
        )
    if out is not None:
        index.save(out)
    return EmbedReport(index, len(new.clips), len(keep), new.failures)


def _merge(old: EmbeddingIndex | None, keep: list[int], new: Embedded) -> Embedded:
    if old is None or not keep:
        return new
    clips, frames, owners = [], [], []
    for i, pos in enumerate(keep):
        clips.append(old.clips[pos])
        rows = old.frames_of(pos)
        frames.append(old.frame_emb[rows])
        owners.append(np.full(len(rows), i, dtype=np.int64))
    base = len(clips)
    clips += new.clips
    frames.append(new.frame_emb)
    owners.append(new.frame_clip + base)
    fe = np.concatenate(frames).astype(np.float32)
    fc = np.concatenate(owners)
    return Embedded(clips, fe, fc, clip_means(fe, fc, len(clips)), new.failures)


def _reorder(e: Embedded, order: np.ndarray) -> Embedded:
    """Clips sorted by id (deterministic index layout whatever the caching history)."""
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    rows = np.argsort(inv[e.frame_clip], kind="stable")
    return Embedded(
        [e.clips[i] for i in order],
        e.frame_emb[rows],
        inv[e.frame_clip][rows],
        e.clip_emb[order],
        e.failures,
    )


def open_index(
    source: str | os.PathLike,
    embedder_factory: Callable[[], FrameEmbedder],
    **embed_kwargs: Any,
) -> EmbedReport:
    """An index for ``source``: loaded when it is an index directory, else embedded in memory."""
    if is_index_dir(source):
        return EmbedReport(EmbeddingIndex.load(source))
    return embed_to_index(source, embedder_factory(), **embed_kwargs)
