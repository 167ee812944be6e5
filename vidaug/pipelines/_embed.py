"""From files to an index: embed a dataset, reuse cached embeddings, append, open for checks.

An index directory doubles as the embedding cache: each clip in it carries its file's size and
modification time and the frame sampling used, so re-running ``vidaug embed`` on a grown or
edited dataset embeds only the new or changed clips (the model must be the same one). The
clips embedded so far are saved as the run goes (checkpoints, every few seconds), and every
finished clip is saved when the run is stopped (Ctrl-C, SIGTERM), so running it again resumes.

Clip ids (the manifest's relative paths) stay unique: an id that the index holds for another
file that still exists (``camA/fight/x.mp4`` in the index, ``camB/fight/x.mp4`` embedded as
``fight/x.mp4``) is refused with both paths (:class:`~vidaug.errors.UsageError`) rather than
replaced; a file that moved (the old path is gone) keeps its entry under its new path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
    is_index_dir,
    iter_embedded,
    verify_regions,
)

__all__ = ["EmbedReport", "embed_to_index", "query_sampling"]


#: :func:`embed_to_index` saves its progress once this many clips are new, at most once in
#: this many seconds (and saves take at most a fifth of the time).
CHECKPOINT_CLIPS = 1
CHECKPOINT_SECONDS = 10.0
#: Clips a pass of the Ray engine embeds (it reports its clips when the pass ends).
RAY_PASS = 64


def _sampling(
    frames: int | None, fps: float | None, regions: bool = False, probe: bool = False
) -> str:
    """How a clip was sampled, as its cached entry records it: ``+regions`` every window
    embedded, ``+probe`` the probe stage (windows verified on demand)."""
    what = f"fps{fps:g}" if fps is not None else f"k{int(frames or 8)}"
    return what + (("+probe" if probe else "+regions") if regions else "")


def query_sampling(sampling: str | None) -> tuple[int | None, float | None]:
    """``(frames, fps)`` to sample a query the way an index's clips were (the inverse of
    :func:`_sampling`, whatever its region suffix): ``"k8+probe"`` → ``(8, None)``,
    ``"fps2"`` → ``(None, 2.0)``; None or unreadable → ``(8, None)``."""
    what = str(sampling or "k8").split("+", 1)[0]
    try:
        if what.startswith("fps"):
            return None, float(what[3:])
        return int(what[1:]), None
    except ValueError:
        return 8, None


@dataclass
class EmbedReport:
    """What :func:`embed_to_index` did."""

    index: EmbeddingIndex
    embedded: int = 0
    reused: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    verified: int = 0


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
    # a clip cached before the grayscale evidence has no thumbnails: embedded again
    return pos if same and c.get("sampling") == sampling and "thumbs" in c else None


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
    on_interrupt: Callable[[int, int], None] | None = None,
    rows: list[ManifestRow] | None = None,
) -> EmbedReport:
    """Embed every clip of ``source`` into an index, saved to ``out`` when given.

    With an existing index at ``out`` (same model), unchanged clips reuse their stored
    embeddings and changed files (other size or modification time) are embedded again.
    Without ``append`` or ``overwrite``, an index that holds clips ``source`` does not have is
    refused rather than shrunk; ``append=True`` adds the new and changed clips to it without
    rebuilding (a changed clip replaces its old entry); ``overwrite=True`` replaces it (an index
    of another model too).

    While it runs, ``out`` is locked (:func:`~vidaug.datasets.output_lock`) and the clips
    embedded so far are saved to it once ``checkpoint_clips`` clips are new and
    ``checkpoint_seconds`` have passed since the last save (atomically, like the final index):
    a run that is killed keeps them. A :class:`KeyboardInterrupt` (Ctrl-C, or SIGTERM in the
    CLI) saves every finished clip first, calls ``on_interrupt(kept, total)`` (the clips of
    ``source`` now in ``out``, and of ``source``) and is raised again. Running it again embeds
    only the rest.

    Ids stay unique: a clip whose id ``out`` holds for another file that still exists is
    refused (both paths named; ``overwrite`` replaces the index instead). A clip whose
    embedding comes out NaN or all zero, or whose frames are too small, fails alone (listed in
    ``failures``); the index holds the others.

    With ``engine="ray"`` the clips are decoded in Ray tasks and embedded by ``actors`` model
    actors (``gpus`` GPUs each) on a local Ray instance or the cluster at ``ray_address``; the
    index is the same (same clips in the same order, embeddings equal within float tolerance).

    With ``regions`` (the default) each clip's region windows are looked at too, the evidence
    :func:`~vidaug.mining.find_duplicates` needs for a clip shown inside another
    (picture-in-picture), in two stages (:mod:`vidaug.mining._regions`): every clip's windows
    of one frame at a quarter of the pixels (the probe), then, once all clips are in, the
    windows the probes propose re-embedded from 4 frames at full size
    (:func:`~vidaug.mining.verify_regions`, counted in ``verified``). With an embedder that
    has no probe model (a user model, the Ray engine) every window of 4 frames is embedded
    (one model pass each). ``regions=False`` embeds only the sampled frames (no regional
    evidence). Clips cached with other region settings, or before the clip table kept gray
    thumbnails (:mod:`vidaug.mining._gray`), are embedded again.
    ``rows`` are ``source``'s rows when the caller has read them already (else read here).

    Raises:
        ManifestError: bad source. IndexMismatchError: ``out`` holds another model's index.
        UsageError: ``out`` is used by another run, or holds clips ``source`` does not have
            (neither ``append`` nor ``overwrite``), or holds an id of ``source`` for another
            file (not ``overwrite``), or both flags are given.
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
    rows = load_rows(source) if rows is None else rows
    job = _EmbedJob(source, rows, embedder, frames, fps, batch, kind, nprobe, on_clip,
                    engine, actors, gpus, regions, on_interrupt)  # fmt: skip
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
    on_interrupt: Callable[[int, int], None] | None = None

    def _stream(self, rows: list[ManifestRow]) -> Iterator[Embedded]:
        """The embedded clips as they finish (locally after each model call; with Ray, pass
        by pass of :data:`RAY_PASS` clips)."""
        if self.engine != "ray":
            yield from iter_embedded(rows, self.embedder, frames=self.frames, fps=self.fps,
                                     batch=self.batch, regions=self.regions,
                                     on_clip=self.on_clip)  # fmt: skip
            return
        from vidaug.pipelines._ray import ray_embed_rows

        for lo in range(0, len(rows), RAY_PASS):
            yield ray_embed_rows(rows[lo : lo + RAY_PASS], self.embedder, frames=self.frames,
                                 fps=self.fps, batch=self.batch, actors=self.actors,
                                 gpus=self.gpus, regions=self.regions,
                                 on_clip=self.on_clip)  # fmt: skip

    def _old(self, out: Path | None, overwrite: bool) -> EmbeddingIndex | None:
        if out is None or not is_index_dir(out):
            return None
        model = self.embedder.model_id
        if not overwrite:
            return EmbeddingIndex.load(out, model_id=model)
        try:
            old = EmbeddingIndex.load(out)
        except VidaugError:  # damaged or unreadable: overwrite replaces it all the same
            return None
        return old if old.model_id == model else None  # another model's is dropped

    def _refuse(self, out: Path, old: EmbeddingIndex, append: bool) -> None:
        """Refuse a run that would drop clips of ``old``: clips the source lacks (without
        ``append``), or an id of the source that ``old`` holds for another file."""
        clash = _same_id_other_file(old, self.rows)
        if clash:
            row, was = clash[0]
            more = f" (and {len(clash) - 1} more clips like it)" if len(clash) > 1 else ""
            raise UsageError(
                f"{out}: clip id {row.rel!r} of {row.path} is already in the index for another "
                f"file, {was}{more}; ids stay unique: give the clips distinct ids (a manifest "
                "whose 'path' keeps the folder that tells them apart), or replace the index "
                "with --overwrite"
            )
        if not append:
            wanted = {r.rel for r in self.rows}
            extra = [i for i in old.ids if i not in wanted]
            if extra:
                raise UsageError(
                    f"{out}: the index holds {len(extra)} clips that are not in {self.source} "
                    f"(e.g. {extra[0]}); add {self.source}'s clips to it with --append, or "
                    "replace it with --overwrite"
                )

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
        probe = self.embedder.make_probe is not None and self.engine != "ray"
        rows, sampling = self.rows, _sampling(self.frames, self.fps, self.regions, probe)
        old = self._old(out, overwrite)
        if old is not None and out is not None and not overwrite:
            self._refuse(out, old, append)
        fresh = {r.rel: _fresh(old, r, sampling) for r in rows}
        todo = [r for r in rows if fresh[r.rel] is None]
        reused = len(rows) - len(todo)
        for r in rows:  # a moved file keeps its embedding and gets its new path
            if fresh[r.rel] is not None:
                old.clips[fresh[r.rel]]["path"] = r.path  # type: ignore[union-attr]
        incremental = append and old is not None
        if incremental:  # changed files: their old entries go, the new embeddings come
            have = set(old.ids)
            old.remove([r.rel for r in todo if r.rel in have])
        keep = [] if incremental else [p for p in fresh.values() if p is not None]
        got = _Gathered(self, old, keep, incremental)
        if on_start:
            on_start(len(rows))
        if self.on_clip:
            for _ in range(reused):
                self.on_clip(None)
        stream = self._stream(todo)
        try:
            for e in stream:
                for c in e.clips:
                    c["sampling"] = sampling
                got.add(e)
                if out is not None and got.done < len(todo) and got.due(chunk, every):
                    got.save(out, "flat")  # exact and quick to build; the last save sets kind
            index = got.snapshot(self.kind)
            if index is None:
                why = "; ".join(m for _, m in got.failures[:3])
                raise VidaugError(
                    f"{self.source}: no clip could be embedded" + (f" ({why})" if why else "")
                )
            verified = 0
            if self.regions and probe:  # the verify stage, over old and new clips alike
                # a clip that cannot be read again keeps its windows unverified (no evidence)
                verified, _ = verify_regions(index, self.embedder)
            if out is not None:
                index.save(out)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep every finished clip
            if out is not None and got.embedded > got.saved and not got.broken:
                got.save(out, "flat")
            if self.on_interrupt:
                self.on_interrupt(reused + got.saved if out is not None else 0, len(rows))
            raise
        finally:
            stream.close()
        return EmbedReport(index, got.embedded, reused, got.failures, verified)

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


def _same_id_other_file(
    old: EmbeddingIndex, rows: list[ManifestRow]
) -> list[tuple[ManifestRow, str]]:
    """Rows whose id ``old`` holds for another file that still exists (a file that is gone
    was moved: its entry is the row's)."""
    out = []
    for r in rows:
        try:
            was = old.clips[old.position(r.rel)].get("path")
        except KeyError:
            continue
        if not isinstance(was, str) or was == r.path or not os.path.exists(was):
            continue
        if os.path.realpath(was) != os.path.realpath(r.path):
            out.append((r, was))
    return out


class _Gathered:
    """What a run has embedded, and its checkpoints: the passes are kept apart (a rebuild) or
    folded into the old index at each save (``append``)."""

    def __init__(
        self, job: _EmbedJob, old: EmbeddingIndex | None, keep: list[int], incremental: bool
    ) -> None:
        self.job, self.old, self.keep, self.incremental = job, old, keep, incremental
        self.parts: list[Embedded] = []
        self.failures: list[tuple[str, str]] = []
        self.done = self.embedded = self.saved = 0  # clips finished / embedded / saved
        self.broken = False  # a fold into the old index was cut short: it is not saved
        self.saved_at, self.save_cost = time.monotonic(), 0.0

    def add(self, e: Embedded) -> None:
        if e.clips:
            self.parts.append(e)
        self.failures += e.failures
        self.embedded += len(e.clips)
        self.done += len(e.clips) + len(e.failures)

    def due(self, chunk: int, every: float) -> bool:
        """``chunk`` clips unsaved and ``every`` seconds since the last save; saving a large
        index takes time, so never more than 1/5 of it."""
        waited = time.monotonic() - self.saved_at
        return self.embedded - self.saved >= chunk and waited >= max(every, 4 * self.save_cost)

    def snapshot(self, kind: str) -> EmbeddingIndex | None:
        if not self.incremental:
            return self.job._build(self.old, self.keep, self.parts, kind)
        assert self.old is not None
        if self.parts:
            new = _assemble(None, [], self.parts, self.old.dims)
            self.broken = True
            self.old.append(new.clips, new.frame_emb, new.frame_clip, new.clip_emb,
                            new.region_emb)  # fmt: skip
            self.broken, self.parts = False, []
        return self.old if len(self.old) else None

    def save(self, out: Path, kind: str) -> None:
        t0 = time.monotonic()
        ix = self.snapshot(kind)
        if ix is not None:
            ix.save(out)
        self.saved = self.embedded
        self.saved_at = time.monotonic()
        self.save_cost = self.saved_at - t0


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
