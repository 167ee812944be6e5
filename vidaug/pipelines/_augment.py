"""The batch job behind ``vidaug augment``: files in, augmented copies + a manifest out.

Per-clip work is a pure function of (manifest row, job settings): :func:`augment_row` reads one
clip, writes its copies and returns their manifest entries. The seed of copy ``k`` of a clip is
derived from ``(seed, clip's relative path, k)`` with ``np.random.SeedSequence``, never from
processing order, so the same seed gives byte-identical outputs and manifest for any number of
workers (and the function can be mapped by a distributed engine as is).

Crash safety (:class:`~vidaug.datasets.JobDir`, shared with ``curate``): OUTPUT is marked
before anything is written; every copy is verified under a temporary name, listed, renamed into
place, and then gets its fsync'ed manifest line, copy by copy (from the worker processes too);
``--resume`` re-checks what it keeps and ``--overwrite`` removes exactly what the mark lists.
The manifest is rewritten, sorted, once the job ends.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np

from vidaug._json import to_jsonable
from vidaug._version import __version__
from vidaug.augment import (
    Plan,
    Recipe,
    RecipeLike,
    as_recipe,
    iter_chunks,
    parse_recipe,
    plan,
)
from vidaug.datasets import (
    Clip,
    ClipWriter,
    JobDir,
    ManifestRow,
    ShortStream,
    VideoInfo,
    VideoSource,
    check_output_outside_input,
    clip_seed,
    inside,
    is_truncated,
    load_rows,
    output_lock,
    probe_video,
    read_clip,
    remove_temp_files,
    temp_path,
    write_clip,
)
from vidaug.errors import UsageError, VidaugError, VideoReadError, VideoWriteError
from vidaug.pipelines._workers import (
    WorkerPool,
    default_workers,
    memory_bytes,
    worker_queue,
)

__all__ = ["AugmentJob", "AugmentSummary", "augment_dataset", "augment_row"]

MANIFEST = "manifest.jsonl"
Damaged = Literal["keep", "skip"]
#: Decoded bytes above which a clip streams (below it, one decode serves every copy).
STREAM_ABOVE = 256 * 2**20
#: Output frames per streamed chunk are sized to about this many bytes.
_CHUNK_BYTES = 64 * 2**20
#: A clip that cannot stream holds its frames about this many times (decoded, augmented, even).
_HELD = 3
#: Write errors that stop a job: no other clip could be written either.
SYSTEM_REFUSED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


@dataclass(frozen=True, kw_only=True)
class AugmentJob:
    """Everything one row's work depends on (picklable, sent to workers).

    Attributes:
        output: the output root.
        recipe: the recipe as a plain dict (``Recipe.to_dict()``).
        copies: augmented copies per clip.
        seed: the run seed.
        clip_frames: read at most this many frames per clip (None: all).
        damaged: what to do with a partly decodable (truncated) clip: ``keep`` the frames that
            decode (reported as a warning) or ``skip`` it (reported as a failure).
        segment: cut each input into clips of this many seconds (None: whole inputs).
        memory_limit: bytes one clip may hold in memory when its recipe cannot stream (0: no
            limit); a clip that would need more fails with one line and the batch goes on.
        stream_above: clips whose decoded frames (in or out) exceed this many bytes are
            streamed chunk by chunk instead of decoded whole (the bytes are the same).
    """

    output: str
    recipe: dict[str, Any]
    copies: int = 1
    seed: int = 0
    clip_frames: int | None = None
    damaged: Damaged = "keep"
    segment: float | None = None
    memory_limit: int = 0
    stream_above: int = STREAM_ABOVE

    def settings(self) -> dict[str, Any]:
        """What must match for ``--resume`` to continue an earlier run (not the memory
        settings: they change how a clip is computed, never its bytes)."""
        return {
            "vidaug": __version__,
            "recipe": self.recipe,
            "copies": self.copies,
            "seed": self.seed,
            "clip_frames": self.clip_frames,
            "damaged": self.damaged,
            "segment": self.segment,
        }


@dataclass
class RowResult:
    """One input's outcome: the entries of the copies put in place by :func:`augment_row`
    itself (none when an ``emit`` took them), its error and its warning."""

    rel: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None


@dataclass
class AugmentSummary:
    """What a run did. ``failures`` and ``warnings`` hold ``(clip, message)`` pairs."""

    output: Path
    sources: int = 0
    written: int = 0
    resumed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    recipe: str = ""

    @property
    def manifest(self) -> Path:
        return self.output / MANIFEST

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "manifest": str(self.manifest),
            "recipe": self.recipe,
            "sources": self.sources,
            "written": self.written,
            "resumed": self.resumed,
            "failed": len(self.failures),
            "failures": [{"clip": c, "error": m} for c, m in self.failures],
            "warnings": [{"clip": c, "warning": m} for c, m in self.warnings],
            "seconds": round(self.seconds, 3),
        }


def output_relpath(rel: str, copy: int, segment: int | None = None) -> str:
    """``a/b/clip.avi`` → ``a/b/clip__aug<copy>.mp4``, or ``a/b/clip__seg0003__aug<copy>.mp4``
    for a segment (POSIX, relative to the output root)."""
    p = PurePosixPath(rel)
    seg = "" if segment is None else f"__seg{segment:04d}"
    return str(p.with_name(f"{p.stem}{seg}__aug{copy}.mp4"))


#: ``root / rel``, refusing anything that would land outside ``root``.
_inside = inside


_RECIPES: dict[str, Recipe] = {}


def _recipe(d: dict[str, Any]) -> Recipe:
    key = json.dumps(d, sort_keys=True)
    if key not in _RECIPES:
        _RECIPES[key] = parse_recipe(d, source="recipe", default_name=d.get("name", "recipe"))
    return _RECIPES[key]


def _segments(info: VideoInfo, job: AugmentJob) -> list[tuple[int | None, int, int]]:
    """``(segment, first frame, frames)`` of each clip cut from one input (one whole clip
    without ``segment``); ``clip_frames`` caps every clip."""
    cap = job.clip_frames or info.frames
    if job.segment is None:
        return [(None, 0, min(info.frames, cap))]
    step = max(1, round(job.segment * info.fps))
    return [(i, a, min(step, info.frames - a, cap))
            for i, a in enumerate(range(0, info.frames, step))]  # fmt: skip


def _bytes(shape: tuple) -> int:
    return int(np.prod(shape[1:])) * int(shape[0])


def augment_row(
    row: ManifestRow,
    job: AugmentJob,
    copies: list[int] | None = None,
    done: Collection[tuple[int, int]] = (),
    emit: Callable[[dict[str, Any], Path], None] | None = None,
) -> RowResult:
    """Read one input, write its augmented copies (of each segment), return what happened.
    Small clips are decoded once for all copies; a clip whose frames would not fit
    (``job.stream_above``) streams from the decoder through the recipe to the encoder chunk by
    chunk, giving the same bytes.

    Each copy is written under a temporary name next to its destination and verified there
    (:class:`~vidaug.datasets.ClipWriter`); ``emit(entry, temp)`` then puts it in place, copy by
    copy (a job journals it first: :meth:`~vidaug.datasets.JobDir.commit`). Without ``emit`` it
    is renamed into place and its manifest entry returned in ``RowResult.entries``.

    Args:
        copies: the copies to make (default: all ``job.copies``).
        done: ``(segment, copy)`` pairs to skip (segment -1 without ``job.segment``).
        emit: takes each finished copy: its manifest entry (``path`` relative to
            ``job.output``) and its verified temporary file.

    Never raises for a bad clip: the error is returned in ``RowResult.error``.

    Raises:
        OSError: the system refused a write (a full disk, a read-only or failing disk): no
            other clip could be written either.
    """
    res = RowResult(row.rel)

    def put_in_place(entry: dict[str, Any], temp: Path) -> None:
        os.replace(temp, _inside(Path(job.output), entry["path"]))
        res.entries.append(entry)

    for entry, temp in row_copies(row, job, res, copies, done):
        (emit or put_in_place)(entry, temp)
    return res


def row_copies(
    row: ManifestRow,
    job: AugmentJob,
    res: RowResult,
    copies: list[int] | None = None,
    done: Collection[tuple[int, int]] = (),
) -> Iterator[tuple[dict[str, Any], Path]]:
    """:func:`augment_row`'s work, one copy at a time: yields ``(entry, temp)`` for each copy
    written and verified under a temporary name; a bad clip's error or a warning goes to
    ``res`` (and ends the row)."""
    todo = list(range(job.copies)) if copies is None else list(copies)
    recipe = _recipe(job.recipe)
    try:
        info = probe_video(row.path)
    except VideoReadError as e:
        res.error = str(e)
        return
    except Exception as e:  # noqa: BLE001 - a decoder surprise must not stop the batch
        res.error = f"{row.path}: unreadable ({type(e).__name__}: {e})"
        return
    whole: Clip | None = None
    for seg, start, n in _segments(info, job):
        for k in todo:
            if (-1 if seg is None else seg, k) in done:
                continue
            key = row.rel if seg is None else f"{row.rel}#seg{seg}"
            seed = clip_seed(job.seed, key, k)
            dest_rel = output_relpath(row.rel, k, seg)
            try:
                temp = temp_path(_inside(Path(job.output), dest_rel))
                p = plan(recipe.transform, (n, info.height, info.width, 3), seed=seed)
                big = max(_bytes(p.in_shape), _bytes(p.out_shape)) > job.stream_above
                if seg is None and not big:  # decode once, every copy from memory
                    if whole is None:
                        whole = read_clip(
                            row.path, max_frames=job.clip_frames,
                            allow_truncated=job.damaged == "keep",
                        )  # fmt: skip
                        if whole.truncated:
                            res.warning = (f"{row.path}: damaged stream, kept the "
                                           f"{len(whole.frames)} frames that decode")  # fmt: skip
                        _warn_errors(res, row, whole.decode_errors)
                    out = recipe.transform.augment(whole.frames, seed=seed)
                    frames = _even(out.clip)
                    write_clip(temp, frames, whole.fps)
                    record, shape, fps = out.params, frames.shape, whole.fps
                else:
                    record, shape, errors = _stream_copy(
                        row, job, info, recipe, p, seed, start, temp
                    )
                    fps = info.fps
                    _warn_errors(res, row, errors)
            except VideoReadError as e:
                res.error = str(e)
                return
            except OSError as e:
                if e.errno in SYSTEM_REFUSED:
                    raise
                res.error = f"{row.path}: copy {k}{_seg_name(seg)}: {e}"
                return
            except (VidaugError, VideoWriteError, ValueError, MemoryError) as e:
                res.error = f"{row.path}: copy {k}{_seg_name(seg)}: {e}"
                return
            entry: dict[str, Any] = {"path": dest_rel, "source": row.rel, "label": row.label}
            if row.split is not None:
                entry["split"] = row.split
            entry.update({k: v for k, v in row.carried().items() if k not in entry})
            if seg is not None:
                entry.update(segment=seg, start=round(start / info.fps, 3),
                             end=round((start + n) / info.fps, 3))  # fmt: skip
            entry.update(
                {
                    "copy": k,
                    "seed": seed,
                    "recipe": recipe.name,
                    "frames": int(shape[0]),
                    "height": int(shape[1]),
                    "width": int(shape[2]),
                    "fps": round(float(fps), 6),
                    "params": to_jsonable(record),
                }
            )
            yield entry, temp


def _warn_errors(res: RowResult, row: ManifestRow, errors: int) -> None:
    """A clip that decodes with errors inside the stream (garbled blocks, not a short file)
    is kept, with a warning: the copies show the damage too."""
    if errors and (res.warning is None or "decoder reported" not in res.warning):
        msg = (f"{row.path}: the decoder reported {errors} errors: some frames are damaged "
               "(garbled blocks) and so are their copies")  # fmt: skip
        res.warning = msg if res.warning is None else f"{res.warning}; {msg}"


def _seg_name(seg: int | None) -> str:
    return "" if seg is None else f" of segment {seg}"


def _stream_copy(
    row: ManifestRow,
    job: AugmentJob,
    info: VideoInfo,
    recipe: Recipe,
    p: Plan,
    seed: int,
    start: int,
    dest: Path,
) -> tuple[dict[str, Any], tuple, int]:
    """Write one copy chunk by chunk (or, for a recipe that needs the whole clip, in memory
    within ``job.memory_limit``); returns its params record, shape and decoder errors."""
    for _attempt in range(2):
        try:
            with VideoSource(row.path, start=start, keep=32) as src:
                if not p.streamable:
                    need = _HELD * max(_bytes(p.in_shape), _bytes(p.out_shape))
                    if job.memory_limit and need > job.memory_limit:
                        gb = need / 2**30
                        raise VidaugError(
                            f"needs about {gb:.1f} GB in memory (its recipe has a step that "
                            "must see the whole clip, e.g. Anonymize or an albumentations "
                            "transform): cut the input with --segment SECONDS, or drop that step"
                        )
                    frames = src.read(np.arange(p.in_shape[0]))
                    out = p.transform.replay(frames, p.record).clip
                    out = _even(out)
                    write_clip(dest, out, info.fps)
                    return p.record, out.shape, src.decode_errors
                h, w = p.out_shape[1:3]
                even = (h - h % 2 or h, w - w % 2 or w)
                chunk = max(1, _CHUNK_BYTES // max(1, p.frame_bytes()))
                with ClipWriter(dest, info.fps, even) as wr:
                    for x in iter_chunks(p, src.read, chunk=chunk):
                        wr.write(x[:, : even[0], : even[1]])
                return p.record, (p.out_shape[0], *even), src.decode_errors
        except ShortStream as e:  # fewer frames decode than the container lists
            if e.available < 1:
                raise VideoReadError(
                    row.path, "no frame could be decoded", reason="no_frames"
                ) from None
            claimed = p.in_shape[0]
            if job.damaged == "skip" and is_truncated(e.available, claimed):
                raise VideoReadError(
                    row.path, f"stream is truncated: decoded {e.available} of {claimed} frames",
                    reason="truncated",
                ) from None  # fmt: skip
            p = plan(p.transform, (e.available, *p.in_shape[1:]), seed=seed)
    raise VideoReadError(row.path, "the frame count keeps changing while decoding")


def _even(frames: np.ndarray) -> np.ndarray:
    """Drop the last row / column of odd-sized frames: mp4 (4:2:0) needs even sizes, and
    OpenCV's writer would drop them silently anyway; doing it here keeps the manifest true."""
    t, h, w, _ = frames.shape
    if h % 2 == 0 and w % 2 == 0:
        return frames
    return frames[:, : h - h % 2 or h, : w - w % 2 or w]


def _entry_key(e: dict[str, Any]) -> tuple[str, int, int]:
    """``(source, segment or -1, copy)``: an entry's identity and its place in the manifest."""
    return (e["source"], int(e.get("segment", -1)), int(e["copy"]))


def augment_dataset(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    recipe: RecipeLike = "standard",
    copies: int = 1,
    seed: int = 0,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    clip_frames: int | None = None,
    damaged: Damaged = "keep",
    segment: float | None = None,
    memory_limit: int | None = None,
    stream_above: int = STREAM_ABOVE,
    engine: str = "local",
    ray_address: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_row: Callable[[RowResult], None] | None = None,
) -> AugmentSummary:
    """Augment every clip of ``source`` into ``output``.

    Args:
        source: a video file, a folder (class subfolders become labels) or a CSV/JSONL manifest.
        output: the output folder (not the input folder or inside it); gets
            ``<rel dir>/<stem>__aug<k>.mp4`` files and ``manifest.jsonl`` (path, source, label,
            copy, seed, recipe, params, ...). One run at a time: a second run on the same
            folder is refused while the first holds its lock.
        recipe: a preset name, a YAML path, a :class:`Recipe` or a transform (``as_recipe``).
        copies: augmented copies per clip.
        seed: run seed; same seed → byte-identical outputs, for any ``workers``.
        workers: processes (default: :func:`default_workers`, the usable cores bounded by
            memory; 1 = in this process).
        resume: continue a run in ``output`` (same settings and input): finished copies still
            whole are kept, the rest redone (:class:`~vidaug.datasets.JobDir`).
        overwrite: redo a run in ``output``, first deleting exactly what it wrote.
        clip_frames: read at most this many frames of each clip (of each segment).
        damaged: ``keep`` (default) the decodable frames of a truncated clip with a warning,
            or ``skip`` it as a failure.
        segment: cut each input into clips of this many seconds (long recordings): outputs
            ``<stem>__seg<i>__aug<k>.mp4`` with ``segment``, ``start`` and ``end`` (seconds in
            the source) in the manifest.
        memory_limit: bytes a clip may hold when its recipe cannot stream (default: half the
            memory divided among the workers); larger clips fail with one line, the rest go on.
        stream_above: clips of more decoded bytes than this (in or out) stream chunk by chunk;
            smaller ones are decoded once for all copies. Either way the bytes are the same.
        engine: ``"local"`` (processes on this machine) or ``"ray"`` (Ray Data tasks: a local
            Ray instance, or the cluster at ``ray_address``; OUTPUT must be a path every node
            sees). Same seed, same bytes and manifest with either.
        ray_address: the Ray cluster to join (``auto``, ``ray://host:10001``; None: local).
        on_start: called with the number of clips before work starts.
        on_row: called after each clip with its :class:`RowResult`.

    Returns:
        An :class:`AugmentSummary`; ``summary.ok`` is False when some clips failed.

    Raises:
        ManifestError: the source is missing, empty or malformed (nothing is written).
        RecipeError: the recipe is invalid (nothing is written).
        UsageError: contradictory options; ``output`` is a file, inside the input, held by
            another run, not empty without a vidaug run's mark, or holds another run and
            neither ``resume`` nor ``overwrite`` was given.
        VidaugError: bad settings.
        OSError: the system refused a write (a full disk: ``ENOSPC`` naming the file).
    """
    t0 = time.perf_counter()
    if copies < 1:
        raise VidaugError("copies must be ≥ 1")
    if workers is not None and workers < 1:
        raise VidaugError("workers must be ≥ 1")
    if seed < 0:
        raise VidaugError("seed must be ≥ 0")
    if clip_frames is not None and clip_frames < 1:
        raise VidaugError("clip_frames must be ≥ 1")
    if segment is not None and not segment > 0:
        raise VidaugError("segment must be > 0 seconds")
    JobDir.check_flags(resume, overwrite)
    from vidaug.pipelines._ray import check_engine

    check_engine(engine)
    rec = as_recipe(recipe)
    rows = load_rows(source)
    root = Path(output)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root}: output exists and is not a folder")
    check_output_outside_input(root, source, (r.path for r in rows))
    n_workers = default_workers(len(rows)) if workers is None else workers
    limit = memory_limit if memory_limit is not None else memory_bytes() // (2 * n_workers)
    job = AugmentJob(
        output=str(root), recipe=rec.to_dict(), copies=copies, seed=seed,
        clip_frames=clip_frames, damaged=damaged, segment=segment, memory_limit=int(limit),
        stream_above=int(stream_above),
    )  # fmt: skip
    settings = {**job.settings(), "source": str(Path(source).resolve())}
    with output_lock(root), JobDir.open(root, "augment", settings, resume=resume,
                                        overwrite=overwrite) as out:  # fmt: skip
        summary = _run(job, rows, out, workers=n_workers, rec=rec, on_start=on_start,
                       on_row=on_row, engine=engine, ray_address=ray_address)  # fmt: skip
    summary.seconds = time.perf_counter() - t0
    return summary


Work = list[tuple[ManifestRow, "list[int] | None", set[tuple[int, int]]]]


def _run(
    job: AugmentJob,
    rows: list[ManifestRow],
    out: JobDir,
    *,
    workers: int,
    rec: Recipe,
    on_start: Callable[[int], None] | None,
    on_row: Callable[[RowResult], None] | None,
    engine: str = "local",
    ray_address: str | None = None,
) -> AugmentSummary:
    """The job in a marked OUTPUT (:class:`~vidaug.datasets.JobDir`): the copies ``resume``
    kept are skipped; every other copy is committed as it is finished."""
    entries = []
    for e in out.kept.values():
        try:
            _entry_key(e)
        except (KeyError, TypeError, ValueError):
            continue  # not an augment entry: redone
        entries.append(e)
    seen = {_entry_key(e) for e in entries}
    summary = AugmentSummary(out.root, sources=len(rows), resumed=len(entries), recipe=rec.name)
    work: Work = []
    for row in rows:
        row_done = {(seg, c) for (src, seg, c) in seen if src == row.rel}
        missing = [k for k in range(job.copies) if (-1, k) not in row_done]
        if job.segment is not None or missing:
            work.append((row, missing if job.segment is None else None, row_done))
    if on_start:
        on_start(len(rows))
    queued = {row.rel for row, *_ in work}
    for row in rows:  # rows already complete count as progress
        if on_row and row.rel not in queued:
            on_row(RowResult(row.rel))

    def commit(entry: dict[str, Any], temp: Path) -> None:
        key = _entry_key(entry)
        if key in seen:  # a retried task's copy
            Path(temp).unlink(missing_ok=True)
            return
        seen.add(key)
        out.commit(temp, entry, frames=entry["frames"])
        entries.append(entry)
        summary.written += 1

    def finish(res: RowResult) -> None:
        if res.error:
            summary.failures.append((res.rel, res.error))
        if res.warning:
            summary.warnings.append((res.rel, res.warning))
        if on_row:
            on_row(res)

    if engine == "ray":
        from vidaug.pipelines._ray import quiet_ray_session, ray_augment_rows

        with quiet_ray_session(ray_address):
            for kind, item in ray_augment_rows(work, job, row_copies, RowResult):
                if kind == "copy":
                    commit(*item)
                else:
                    finish(item)
    elif workers == 1 or len(work) <= 1:
        for row, missing, row_done in work:
            finish(augment_row(row, job, missing, row_done, emit=commit))
    else:
        _run_pool(work, job, min(workers, len(work)), commit, finish, out)
    entries.sort(key=_entry_key)
    out.finish(entries)
    summary.failures.sort()
    summary.warnings.sort()
    return summary


def _size_desc(item: tuple[ManifestRow, Any, Any]) -> int:
    """Biggest files first: the last clips to finish are then small ones (less idle time)."""
    try:
        return -os.path.getsize(item[0].path)
    except OSError:
        return 0


def _pool_row(row: ManifestRow, job: AugmentJob, missing: Any, done: Any) -> RowResult:
    """A worker's task: :func:`augment_row`, each copy sent to the parent as it is done."""
    return augment_row(row, job, missing, done, emit=lambda e, t: worker_queue().put((e, t)))


def _run_pool(
    work: Work,
    job: AugmentJob,
    workers: int,
    commit: Callable[[dict[str, Any], Path], None],
    finish: Callable[[RowResult], None],
    out: JobDir,
) -> None:
    """Map :func:`augment_row` over worker processes; each finished copy comes back through a
    queue at once and is committed here (one journal, one writer). On an interruption (Ctrl-C,
    SIGTERM) or an error the workers are stopped at once and their temporary files removed;
    committed clips stay."""
    pool = WorkerPool(workers)
    todo = iter(sorted(work, key=_size_desc))
    pending: set[Future] = set()
    try:
        while True:
            while len(pending) < 2 * workers and (item := next(todo, None)) is not None:
                row, missing, done = item
                pending.add(pool.submit(_pool_row, row, job, missing, done))
                if len(pending) == 1 and (scratch := pool.scratch_dir()) is not None:
                    out.note_scratch(scratch)
            if not pending:
                break
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for copy in pool.results():  # a finished task's copies are all queued by now
                commit(*copy)
            for fut in finished:
                finish(fut.result())
    except BaseException:
        pool.kill()
        remove_temp_files(out.root)
        raise
    pool.close()
