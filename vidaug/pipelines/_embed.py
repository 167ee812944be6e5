"""From files to an index: embed a dataset, reuse cached embeddings, append, open for checks.

An index directory doubles as the embedding cache: each clip in it carries its file's size and
modification time and the frame sampling used, so re-running ``vidaug embed`` on a grown or
edited dataset embeds only the new or changed clips (the model must be the same one). The
clips embedded so far are saved as the run goes (checkpoints), so an interrupted run resumes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.datasets import ManifestRow, load_rows, output_lock
from vidaug.errors import UsageError, VidaugError
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


#: :func:`embed_to_index` saves its progress every this many clips, at most once in this
#: many seconds.
CHECKPOINT_CLIPS = 64
CHECKPOINT_SECONDS = 30.0


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
    overwrite: bool = False,
    kind: str = "auto",
    nprobe: int = 16,
    checkpoint_clips: int = CHECKPOINT_CLIPS,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
    on_start: Callable[[int], None] | None = None,
    on_clip: Callable[[ClipFrames | None], None] | None = None,
) -> EmbedReport:
    """Embed every clip of ``source`` into an index, saved to ``out`` when given.

    With an existing index at ``out`` (same model), unchanged clips reuse their stored
    embeddings and changed files (other size or modification time) are embedded again.
    Without ``append`` or ``overwrite``, an index that holds clips ``source`` does not have is
    refused rather than shrunk; ``append=True`` adds the new and changed clips to it without
    rebuilding (a changed clip replaces its old entry); ``overwrite=True`` replaces it (an index
    of another model too).

    While it runs, ``out`` is locked (:func:`~vidaug.datasets.output_lock`) and the clips
    embedded so far are saved to it every ``checkpoint_clips`` clips once ``checkpoint_seconds``
    have passed since the last save (atomically, like the final index): a run that is killed
    keeps them, and running it again embeds only the rest.

    Raises:
        ManifestError: bad source. IndexMismatchError: ``out`` holds another model's index.
        UsageError: ``out`` is used by another run, or holds clips ``source`` does not have
            (neither ``append`` nor ``overwrite``), or both flags are given.
        VidaugError: ``out`` is not an index folder; no clip could be embedded.
    """
    if append and overwrite:
        raise UsageError("append adds clips to the index and overwrite replaces it: choose one")
    if checkpoint_clips < 1 or checkpoint_seconds < 0:
        raise VidaugError("checkpoint_clips must be ≥ 1 and checkpoint_seconds ≥ 0")
    rows = load_rows(source)
    job = _EmbedJob(source, rows, embedder, frames, fps, batch, kind, nprobe, on_clip)
    if out is None:
        return job.run(None, append=False, overwrite=False, chunk=max(1, len(rows)), every=0.0,
                       on_start=on_start)  # fmt: skip
    dest = Path(out)
    if dest.is_dir() and not is_index_dir(dest) and _visible(dest):
        raise VidaugError(f"{out}: exists and is not a vidaug index; choose another output folder")
    created = not dest.exists()
    try:
        with output_lock(dest):
            return job.run(dest, append=append, overwrite=overwrite, chunk=checkpoint_clips,
                           every=checkpoint_seconds, on_start=on_start)  # fmt: skip
    except BaseException:
        if created and dest.is_dir() and not _visible(dest):  # only our lock file: tidy up
            for p in dest.iterdir():
                p.unlink(missing_ok=True)
            dest.rmdir()
        raise


def _visible(d: Path) -> bool:
    """True when folder ``d`` holds more than hidden files (such as a run's lock file)."""
    return any(not (p.name.startswith(".") and p.is_file()) for p in d.iterdir())


@dataclass
class _EmbedJob:
    """The work of :func:`embed_to_index` once its output is locked."""

    source: str | os.PathLike
    rows: list[ManifestRow]
    embedder: FrameEmbedder
    frames: int | None
    fps: float | None
    batch: int
    kind: str
    nprobe: int
    on_clip: Callable[[ClipFrames | None], None] | None

    def _old(self, out: Path | None, overwrite: bool) -> EmbeddingIndex | None:
        if out is None or not is_index_dir(out):
            return None
        model = self.embedder.model_id
        old = EmbeddingIndex.load(out, model_id=None if overwrite else model)
        return old if old.model_id == model else None  # overwrite: another model's is dropped

    def run(
        self,
        out: Path | None,
        *,
        append: bool,
        overwrite: bool,
        chunk: int,
        every: float,
        on_start: Callable[[int], None] | None,
    ) -> EmbedReport:
        rows, sampling = self.rows, _sampling(self.frames, self.fps)
        old = self._old(out, overwrite)
        if old is not None and not append and not overwrite:
            wanted = {r.rel for r in rows}
            extra = [i for i in old.ids if i not in wanted]
            if extra:
                raise UsageError(
                    f"{out}: the index holds {len(extra)} clips that are not in {self.source} "
                    f"(e.g. {extra[0]}); add {self.source}'s clips to it with --append, or "
                    "replace it with --overwrite"
                )
        fresh = {r.rel: _fresh(old, r, sampling) for r in rows}
        todo = [r for r in rows if fresh[r.rel] is None]
        reused = len(rows) - len(todo)
        incremental = append and old is not None
        keep: list[int] = []
        if incremental:  # changed files: their old entries go, the new embeddings come
            have = set(old.ids)
            old.remove([r.rel for r in todo if r.rel in have])
        else:
            keep = [p for p in fresh.values() if p is not None]
        if on_start:
            on_start(len(rows))
        if self.on_clip:
            for _ in range(reused):
                self.on_clip(None)
        parts: list[Embedded] = []
        failures: list[tuple[str, str]] = []
        embedded, saved_at, save_cost = 0, time.monotonic(), 0.0

        def snapshot(final_kind: str) -> EmbeddingIndex | None:
            if incremental:
                return old if len(old) else None
            return self._build(old, keep, parts, final_kind)

        try:
            for lo in range(0, len(todo), chunk):
                e = embed_rows(todo[lo : lo + chunk], self.embedder, frames=self.frames,
                               fps=self.fps, batch=self.batch, on_clip=self.on_clip)  # fmt: skip
                for c in e.clips:
                    c["sampling"] = sampling
                failures += e.failures
                embedded += len(e.clips)
                if incremental and e.clips:
                    old.append(e.clips, e.frame_emb, e.frame_clip, e.clip_emb)
                elif not incremental:
                    parts.append(e)
                last = lo + chunk >= len(todo)
                # a checkpoint: saving a large index takes time, so never more than 1/5 of it
                if (
                    out is not None
                    and not last
                    and e.clips
                    and (time.monotonic() - saved_at >= max(every, 4 * save_cost))
                ):
                    t0 = time.monotonic()
                    ix = snapshot("flat")  # exact and quick to build; the last save sets kind
                    if ix is not None:
                        ix.save(out)
                    saved_at = time.monotonic()
                    save_cost = saved_at - t0
        except KeyboardInterrupt:
            if out is not None and embedded:  # keep what is done (a kill keeps the checkpoints)
                ix = snapshot("flat")
                if ix is not None:
                    ix.save(out)
            raise
        index = snapshot(self.kind)
        if index is None:
            why = "; ".join(m for _, m in failures[:3])
            raise VidaugError(
                f"{self.source}: no clip could be embedded" + (f" ({why})" if why else "")
            )
        if out is not None:
            index.save(out)
        return EmbedReport(index, embedded, reused, failures)

    def _build(
        self, old: EmbeddingIndex | None, keep: list[int], parts: list[Embedded], kind: str
    ) -> EmbeddingIndex | None:
        dims = old.dims if old is not None else self.embedder.dims
        merged = _merge(old, keep, _concat([p for p in parts if p.clips], dims))
        if not merged.clips:
            return None
        merged = _reorder(merged, np.argsort([c["id"] for c in merged.clips], kind="stable"))
        return EmbeddingIndex.build(
            merged.clips,
            merged.frame_emb,
            merged.frame_clip,
            model_id=self.embedder.model_id,
            kind=kind,
            nprobe=self.nprobe,
            clip_emb=merged.clip_emb,
        )


def _concat(parts: list[Embedded], dims: int) -> Embedded:
    """One :class:`Embedded` of several passes' (clips renumbered)."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        z = np.zeros((0, dims), np.float32)
        return Embedded([], z, np.zeros(0, np.int64), z)
    base = np.cumsum([0] + [len(p.clips) for p in parts[:-1]])
    return Embedded(
        [c for p in parts for c in p.clips],
        np.concatenate([p.frame_emb for p in parts]),
        np.concatenate([p.frame_clip + b for p, b in zip(parts, base, strict=True)]),
        np.concatenate([p.clip_emb for p in parts]),
    )


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
