"""The batch job behind ``vidaug augment``: files in, augmented copies + a manifest out.

Per-clip work is a pure function of (manifest row, job settings): :func:`augment_row` reads one
clip, writes its copies and returns their manifest entries. The seed of copy ``k`` of a clip is
derived from ``(seed, clip's relative path, k)`` with ``np.random.SeedSequence``, never from
processing order, so the same seed gives byte-identical outputs and manifest for any number of
workers (and the function can be mapped by a distributed engine as is).

Crash safety: every clip file is written atomically; the manifest grows one fsync'ed line per
finished clip while the job runs (``--resume`` reads it back) and is rewritten, sorted, once the
job ends.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np

from vidaug._version import __version__
from vidaug.augment import Recipe, RecipeLike, as_recipe, parse_recipe, to_jsonable
from vidaug.datasets import (
    ManifestRow,
    atomic_write_text,
    clip_seed,
    load_rows,
    read_clip,
    write_clip,
)
from vidaug.errors import VidaugError, VideoReadError, VideoWriteError

__all__ = ["AugmentJob", "AugmentSummary", "augment_dataset", "augment_row"]

MANIFEST = "manifest.jsonl"
JOB_FILE = ".vidaug-augment.json"
Damaged = Literal["keep", "skip"]


@dataclass(frozen=True)
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
    """

    output: str
    recipe: dict[str, Any]
    copies: int = 1
    seed: int = 0
    clip_frames: int | None = None
    damaged: Damaged = "keep"

    def settings(self) -> dict[str, Any]:
        """What must match for ``--resume`` to continue an earlier run."""
        return {
            "vidaug": __version__,
            "recipe": self.recipe,
            "copies": self.copies,
            "seed": self.seed,
            "clip_frames": self.clip_frames,
            "damaged": self.damaged,
        }


@dataclass
class RowResult:
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


def output_relpath(rel: str, copy: int) -> str:
    """``a/b/clip.avi`` → ``a/b/clip__aug<copy>.mp4`` (POSIX, relative to the output root)."""
    p = PurePosixPath(rel)
    return str(p.with_name(f"{p.stem}__aug{copy}.mp4"))


def _inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing anything that would land outside ``root``."""
    root_r = root.resolve()
    dest = (root_r / rel).resolve()
    if not dest.is_relative_to(root_r):
        raise VidaugError(f"{rel}: output path would leave the output folder; refused")
    return dest


_RECIPES: dict[str, Recipe] = {}


def _recipe(d: dict[str, Any]) -> Recipe:
    key = json.dumps(d, sort_keys=True)
    if key not in _RECIPES:
        _RECIPES[key] = parse_recipe(d, source="recipe", default_name=d.get("name", "recipe"))
    return _RECIPES[key]


def augment_row(row: ManifestRow, job: AugmentJob, copies: list[int] | None = None) -> RowResult:
    """Read one clip, write its augmented copies, return their manifest entries.

    Never raises for a bad clip: the error is returned in ``RowResult.error``.
    """
    res = RowResult(row.rel)
    todo = list(range(job.copies)) if copies is None else copies
    try:
        clip = read_clip(
            row.path, max_frames=job.clip_frames, allow_truncated=job.damaged == "keep"
        )
    except VideoReadError as e:
        res.error = str(e)
        return res
    except Exception as e:  # noqa: BLE001 - a decoder surprise must not stop the batch
        res.error = f"{row.path}: unreadable ({type(e).__name__}: {e})"
        return res
    if clip.truncated:
        res.warning = f"{row.path}: damaged stream, kept the {len(clip.frames)} frames that decode"
    recipe = _recipe(job.recipe)
    root = Path(job.output)
    for k in todo:
        seed = clip_seed(job.seed, row.rel, k)
        try:
            out = recipe.transform.augment(clip.frames, seed=seed)
            frames = _even(out.clip)
            rel_out = output_relpath(row.rel, k)
            dest = _inside(root, rel_out)
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_clip(dest, frames, clip.fps)
        except (VidaugError, VideoWriteError, ValueError, OSError) as e:
            res.error = f"{row.path}: copy {k}: {e}"
            return res
        entry: dict[str, Any] = {
            "path": rel_out,
            "source": row.rel,
            "label": row.label,
        }
        if row.split is not None:
            entry["split"] = row.split
        if row.extra.get("group") is not None:
            entry["group"] = row.extra["group"]
        entry.update(
            {
                "copy": k,
                "seed": seed,
                "recipe": recipe.name,
                "frames": int(frames.shape[0]),
                "height": int(frames.shape[1]),
                "width": int(frames.shape[2]),
                "fps": round(float(clip.fps), 6),
                "params": to_jsonable(out.params),
            }
        )
        res.entries.append(entry)
    return res


def _even(frames: np.ndarray) -> np.ndarray:
    """Drop the last row / column of odd-sized frames: mp4 (4:2:0) needs even sizes, and
    OpenCV's writer would drop them silently anyway; doing it here keeps the manifest true."""
    t, h, w, _ = frames.shape
    if h % 2 == 0 and w % 2 == 0:
        return frames
    return frames[:, : h - h % 2 or h, : w - w % 2 or w]


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already


def _dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def _read_done(manifest: Path, root: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Entries of an earlier (maybe interrupted) run whose files exist; torn lines are ignored."""
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if not manifest.is_file():
        return done
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            try:
                e = json.loads(line)
                key = (e["source"], int(e["copy"]))
                ok = (root / e["path"]).is_file()
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by the interruption
            if ok:
                done[key] = e
    return done


def augment_dataset(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    recipe: RecipeLike = "standard",
    copies: int = 1,
    seed: int = 0,
    workers: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    clip_frames: int | None = None,
    damaged: Damaged = "keep",
    on_start: Callable[[int], None] | None = None,
    on_row: Callable[[RowResult], None] | None = None,
) -> AugmentSummary:
    """Augment every clip of ``source`` into ``output``.

    Args:
        source: a video file, a folder (class subfolders become labels) or a CSV/JSONL manifest.
        output: the output folder; gets ``<rel dir>/<stem>__aug<k>.mp4`` files and
            ``manifest.jsonl`` (path, source, label, copy, seed, recipe, params, ...).
        recipe: a preset name, a YAML path, a :class:`Recipe` or a transform
            (:func:`~vidaug.augment.as_recipe`).
        copies: augmented copies per clip.
        seed: run seed; same seed → byte-identical outputs, for any ``workers``.
        workers: processes (1 = in this process).
        resume: continue a run in ``output`` made with the same settings; finished copies are
            kept as they are.
        overwrite: redo a finished or interrupted run in ``output`` from scratch.
        clip_frames: read at most this many frames of each clip.
        damaged: ``keep`` (default) the decodable frames of a truncated clip with a warning,
            or ``skip`` it as a failure.
        on_start: called with the number of clips before work starts.
        on_row: called after each clip with its :class:`RowResult`.

    Returns:
        An :class:`AugmentSummary`; ``summary.ok`` is False when some clips failed.

    Raises:
        ManifestError: the source is missing, empty or malformed (nothing is written).
        RecipeError: the recipe is invalid (nothing is written).
        VidaugError: bad settings, or ``output`` holds another run and neither ``resume``
            nor ``overwrite`` was given.
    """
    t0 = time.perf_counter()
    if copies < 1:
        raise VidaugError("copies must be ≥ 1")
    if workers < 1:
        raise VidaugError("workers must be ≥ 1")
    if seed < 0:
        raise VidaugError("seed must be ≥ 0")
    if clip_frames is not None and clip_frames < 1:
        raise VidaugError("clip_frames must be ≥ 1")
    rec = as_recipe(recipe)
    rows = load_rows(source)
    root = Path(output)
    if root.exists() and not root.is_dir():
        raise VidaugError(f"{root}: output exists and is not a folder")
    job = AugmentJob(str(root), rec.to_dict(), copies, seed, clip_frames, damaged)
    manifest = root / MANIFEST
    job_file = root / JOB_FILE
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if manifest.exists() or job_file.exists():
        if resume:
            try:
                earlier = json.loads(job_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                earlier = None
            if earlier != job.settings():
                raise VidaugError(
                    f"{root}: was made with other settings (recipe, seed, copies, clip frames "
                    "or version); use another output folder or overwrite (--overwrite)"
                )
            done = _read_done(manifest, root)
        elif not overwrite:
            raise VidaugError(
                f"{root}: already holds a vidaug run; resume it (--resume) or "
                "overwrite it (--overwrite)"
            )
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(job_file, json.dumps(job.settings(), indent=1, sort_keys=True) + "\n")
    # start the journal from the entries kept (drops a torn last line)
    kept = [done[k] for k in sorted(done)]
    atomic_write_text(manifest, "".join(_dumps(e) + "\n" for e in kept))

    summary = AugmentSummary(root, sources=len(rows), resumed=len(kept), recipe=rec.name)
    work = []
    for row in rows:
        missing = [k for k in range(copies) if (row.rel, k) not in done]
        if missing:
            work.append((row, missing))
    if on_start:
        on_start(len(rows))
    queued = {row.rel for row, _ in work}
    for row in rows:  # rows already complete count as progress
        if on_row and row.rel not in queued:
            on_row(RowResult(row.rel))
    entries = list(kept)
    with open(manifest, "a", encoding="utf-8") as journal:

        def finish(res: RowResult) -> None:
            if res.entries:
                journal.write("".join(_dumps(e) + "\n" for e in res.entries))
                journal.flush()
                os.fsync(journal.fileno())
                entries.extend(res.entries)
                summary.written += len(res.entries)
            if res.error:
                summary.failures.append((res.rel, res.error))
            if res.warning:
                summary.warnings.append((res.rel, res.warning))
            if on_row:
                on_row(res)

        if workers == 1 or len(work) <= 1:
            for row, missing in work:
                finish(augment_row(row, job, missing))
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
                pending = {pool.submit(augment_row, row, job, missing) for row, missing in work}
                try:
                    while pending:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            finish(fut.result())
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    entries.sort(key=lambda e: (e["source"], e["copy"]))
    atomic_write_text(manifest, "".join(_dumps(e) + "\n" for e in entries))
    summary.failures.sort()
    summary.warnings.sort()
    summary.seconds = time.perf_counter() - t0
    return summary
