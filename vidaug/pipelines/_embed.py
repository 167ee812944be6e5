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


def _sampling(frames: int | None, fps: float | None, regions: bool = False) -> str:
    what = f"fps{fps:g}" if fps is not None else f"k{int(frames or 8)}"
    return what + ("+regions" if regions else "")


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
    engine: str = "local",
    ray_address: str | None = None,
    actors: int = 1,
    gpus: float = 0.0,
    regions: bool = True,
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

    With ``engine="ray"`` the clips are decoded in Ray tasks and embedded by ``actors`` model
    actors (``gpus`` GPUs each) on a local Ray instance or the cluster at ``ray_address``; the
    index is the same (same clips in the same order, embeddings equal within float tolerance).

    With ``regions`` (the default) each clip's region windows are embedded too (one model pass
    per window: :data:`~vidaug.mining._regions.REGION_FRAMES` frames × 9 windows a clip), the
    evidence :func:`~vidaug.mining.find_duplicates` needs for a clip shown inside another
    (picture-in-picture); ``regions=False`` embeds only the sampled frames (faster; no
    regional evidence). Clips cached with other region settings are embedded again.

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
    from vidaug.pipelines._ray import check_engine, quiet_ray_session

    check_engine(engine)
    if engine == "ray" and not embedder.spec:
        raise UsageError("the ray engine needs an embedder made by vidaug.mining.load_embedder")
    rows = load_rows(source)
    job = _EmbedJob(source, rows, embedder, frames, fps, batch, kind, nprobe, on_clip,
                    engine, actors, gpus, regions)  # fmt: skip
    if engine == "ray":
        with quiet_ray_session(ray_address):
            return _embed_locked(job, out, rows, append, overwrite, checkpoint_clips,
                                 checkpoint_seconds, on_start)  # fmt: skip
    return _embed_locked(job, out, rows, append, overwrite, checkpoint_clips, checkpoint_seconds,
                         on_start)  # fmt: skip


def _embed_locked(
    job: _EmbedJob,
    out: str | os.PathLike | None,
    rows: list[ManifestRow],
    append: bool,
    overwrite: bool,
    checkpoint_clips: int,
    checkpoint_seconds: float,
    on_start: Callable[[int], None] | None,
) -> EmbedReport:
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
    engine: str = "local"
    actors: int = 1
    gpus: float = 0.0
    regions: bool = True

    def _embed(self, rows: list[ManifestRow]) -> Embedded:
        if self.engine == "ray":
            from vidaug.pipelines._ray import ray_embed_rows

            return ray_embed_rows(rows, self.embedder, frames=self.frames, fps=self.fps,
                                  batch=self.batch, actors=self.actors, gpus=self.gpus,
                                  regions=self.regions, on_clip=self.on_clip)  # fmt: skip
        return embed_rows(rows, self.embedder, frames=self.frames, fps=self.fps,
                          batch=self.batch, regions=self.regions,
                          on_clip=self.on_clip)  # fmt: skip

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
        rows, sampling = self.rows, _sampling(self.frames, self.fps, self.regions)
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
                e = self._embed(todo[lo : lo + chunk])
                for c in e.clips:
                    c["sampling"] = sampling
                failures += e.failures
                embedded += len(e.clips)
                if incremental and e.clips:
                    old.append(e.clips, e.frame_emb, e.frame_clip, e.clip_emb, e.region_emb)
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
        merged = _assemble(old, keep, [p for p in parts if p.clips], dims)
        if not merged.clips:
            return None
        return EmbeddingIndex.build(
            merged.clips,
            merged.frame_emb,
            merged.frame_clip,
            model_id=self.embedder.model_id,
            kind=kind,
            nprobe=self.nprobe,
            clip_emb=merged.clip_emb,
            region_emb=merged.region_emb,
        )


def _assemble(
    old: EmbeddingIndex | None, keep: list[int], parts: list[Embedded], dims: int
) -> Embedded:
    """The kept clips of ``old`` and the clips of every embedded pass (shard), sorted by id
    (a deterministic layout whatever the caching history), written straight into one array:
    memory holds the shards plus the result, never a third copy."""
    sources: list[tuple[str, int, int]] = [(old.clips[p]["id"], -1, p) for p in keep] if old else []
    rows_of: list[list[np.ndarray]] = []
    for pi, part in enumerate(parts):
        order = np.argsort(part.frame_clip, kind="stable")
        bounds = np.cumsum(np.bincount(part.frame_clip, minlength=len(part.clips)))
        rows_of.append(np.split(order, bounds[:-1]))
        sources += [(c["id"], pi, ci) for ci, c in enumerate(part.clips)]
    sources.sort(key=lambda s: s[0])

    def rows(src: int, i: int) -> np.ndarray:
        return old.frames_of(i) if src < 0 else rows_of[src][i]  # type: ignore[union-attr]

    total = sum(len(rows(src, i)) for _, src, i in sources)
    fe = np.empty((total, dims), np.float32)
    fc = np.empty(total, np.int64)
    holders = ([old] if old and keep else []) + list(parts)
    regions = None
    if holders and all(h.region_emb is not None for h in holders):
        m = {h.region_emb.shape[1] for h in holders}  # type: ignore[union-attr]
        regions = np.empty((len(sources), m.pop(), dims), np.float16) if len(m) == 1 else None
    clips, at = [], 0
    for k, (_, src, i) in enumerate(sources):
        r = rows(src, i)
        holder = old if src < 0 else parts[src]
        fe[at : at + len(r)] = holder.frame_emb[r]  # type: ignore[union-attr]
        fc[at : at + len(r)] = k
        clips.append(holder.clips[i])  # type: ignore[union-attr]
        if regions is not None:
            regions[k] = holder.region_emb[i]  # type: ignore[union-attr, index]
        at += len(r)
    return Embedded(clips, fe, fc, clip_means(fe, fc, len(clips)), region_emb=regions)


def open_index(
    source: str | os.PathLike,
    embedder_factory: Callable[[], FrameEmbedder],
    **embed_kwargs: Any,
) -> EmbedReport:
    """An index for ``source``: loaded when it is an index directory, else embedded in memory."""
    if is_index_dir(source):
        return EmbedReport(EmbeddingIndex.load(source))
    return embed_to_index(source, embedder_factory(), **embed_kwargs)
