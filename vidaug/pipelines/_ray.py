"""The Ray Data engine: the same per-clip work as the local engine, on a Ray cluster.

``augment`` and ``embed`` are maps over manifest rows whose per-row work is a pure function of
(row, settings): :func:`~vidaug.pipelines.augment_row` and, for embeddings, decoding
(:func:`~vidaug.mining.load_clip_frames`) followed by the model. Here they become Ray Data
pipelines: rows → ``ray.data.from_items`` → ``map_batches``. Augmentation runs as CPU tasks
that write each copy, verified, under a temporary name in OUTPUT (OUTPUT must be a path every
node sees, e.g. a shared filesystem) and yield it at once; the driver commits each copy (lists,
renames, journals it) exactly as the local engine does, so ``--resume`` works the same and a
retried task cannot add a row twice. Embedding decodes in CPU tasks and runs the model in an
actor pool (each actor loads Keras and the weights once; ``num_gpus`` per actor with GPUs);
the driver assembles the same :class:`~vidaug.mining.Embedded` the local path builds.

Ray is an optional dependency (``pip install "vidaug-kit[ray]"``). Without ``address`` a local
Ray instance starts in this process (and stops at the end); with one (``auto``,
``ray://host:10001``) the job joins that cluster. Ray's and Ray Data's own log lines and
progress bars are turned off: vidaug shows one progress bar, fed from completed rows.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.datasets import ManifestRow, native_stderr_muted
from vidaug.errors import UsageError, VidaugError
from vidaug.mining import (
    ClipFrames,
    Embedded,
    FrameEmbedder,
    assemble_clip_rows,
    load_clip_frames,
    load_embedder,
)
from vidaug.pipelines._workers import worker_setup

__all__ = ["RAY_MISSING", "ray_augment_rows", "ray_embed_rows", "ray_session"]

RAY_MISSING = 'the ray engine needs Ray, an optional extra: pip install "vidaug-kit[ray]"'
ENGINES = ("local", "ray")


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError(RAY_MISSING) from None
    return ray


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, and ``ray`` when Ray is not installed (one line, exit 2)."""
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "ray":
        _import_ray()


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """A connected, quiet Ray: joins ``address`` (``auto``, ``ray://host:port``), or starts a
    local instance in this process when None (stopped again on exit). An instance already
    started by the caller is used as it is.

    Yields:
        The ``ray`` module.
    """
    ray = _import_ray()
    for name in ("ray", "ray.data", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        kw: dict[str, Any] = dict(
            include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
        )
        if address is None:
            kw["num_cpus"] = num_cpus
        try:
            ray.init(address=address, **kw)
        except ConnectionError as e:  # Ray's, not an OSError with an errno: say where and why
            reason = str(e).split(". ")[0].rstrip(".") or type(e).__name__
            raise VidaugError(f"cannot connect to Ray at {address!r}: {reason}") from None
        started = True
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


@contextmanager
def quiet_ray_session(address: str | None = None) -> Iterator[Any]:
    """:func:`ray_session` with the native stderr of this process muted: Ray's C++ core logs
    about its own internals (e.g. that Ray Data's actors keep their constructor in the object
    store) would reach the terminal otherwise; vidaug's messages and progress bar still do."""
    with native_stderr_muted(), ray_session(address) as ray:
        yield ray


def _one_thread() -> None:
    """A Ray task holds one CPU: set its worker up as the local engine's workers are (OpenCV
    and FFmpeg on one thread, freed clip buffers kept for reuse); once per worker process."""
    global _ready
    if _ready:
        return
    worker_setup()
    _ready = True


_ready = False


def _row_dict(row: ManifestRow) -> dict[str, Any]:
    return {"path": row.path, "rel": row.rel, "label": row.label, "split": row.split,
            "extra": row.extra}  # fmt: skip


def _row(d: dict[str, Any]) -> ManifestRow:
    return ManifestRow(d["path"], d["rel"], d["label"], d["split"], d["extra"])


def ray_augment_rows(
    work: Sequence[tuple[ManifestRow, list[int] | None, set[tuple[int, int]]]],
    job: Any,
    row_copies: Callable[..., Iterator[tuple[dict[str, Any], Path]]],
    result_type: Callable[..., Any],
) -> Iterator[tuple[str, Any]]:
    """Run :func:`~vidaug.pipelines.augment_row`'s work for every ``(row, copies, done)`` of
    ``work`` as Ray tasks (one row a task); yield ``("copy", (entry, temp))`` for each copy as
    it is written (verified, under a temporary name, for the driver to commit) and
    ``("row", result)`` when a row is done. Needs a :func:`ray_session`.

    Args:
        work: ``(row, copies to make or None for all, (segment, copy) pairs done)``.
        job: the job settings (an ``AugmentJob``).
        row_copies: the per-row work, ``row_copies(row, job, result, copies, done)``: yields
            ``(entry, temp)`` per copy and records the row's error / warning in ``result``.
        result_type: the row result dataclass (``RowResult``): ``result_type(rel)`` starts
            one, and the driver rebuilds it from its fields.

    Raises:
        OSError: a task's write was refused by the system (a full disk).
    """
    import ray

    items = [
        {"w": json.dumps([_row_dict(row), missing, sorted(done)], default=str)}
        for row, missing, done in work
    ]

    def task(batch: dict[str, Any]) -> Iterator[dict[str, list[str]]]:
        _one_thread()
        for w in batch["w"]:
            rd, missing, done = json.loads(w)
            res = result_type(rd["rel"])
            try:
                for entry, temp in row_copies(_row(rd), job, res, missing,
                                              {tuple(x) for x in done}):  # fmt: skip
                    yield {"event": [json.dumps(["copy", entry, str(temp)], default=str)]}
            except OSError as e:
                yield {"event": [json.dumps(["oserror", e.errno, e.strerror, e.filename])]}
                return
            yield {"event": [json.dumps(["row", asdict(res)], default=str)]}

    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = ds.map_batches(task, batch_size=1, num_cpus=1)  # Ray retries a task whose worker dies
    for r in ds.iter_rows():
        kind, *rest = json.loads(r["event"])
        if kind == "oserror":
            raise OSError(*rest)
        if kind == "copy":
            yield "copy", (rest[0], Path(rest[1]))
        else:
            yield "row", result_type(**rest[0])


class _EmbedActor:
    """One model per actor: loads the embedder from its spec once, embeds batches of clips."""

    def __init__(self, spec: dict[str, Any], batch: int) -> None:
        self.embedder = load_embedder(**spec)
        self.batch = batch

    def __call__(self, b: dict[str, Any]) -> dict[str, Any]:
        clips = [np.frombuffer(f, np.uint8).reshape(s) if s[0] else None
                 for f, s in zip(b["frames"], b["shape"], strict=True)]  # fmt: skip
        frames = [c for c in clips if c is not None]
        emb = self.embedder.embed_batched(np.concatenate(frames), self.batch) if frames else None
        out, at = [], 0
        for c in clips:
            n = 0 if c is None else len(c)
            out.append(b"" if c is None else emb[at : at + n].tobytes())
            at += n
        return {"i": b["i"], "emb": out, "info": b["info"], "error": b["error"]}


def ray_embed_rows(
    rows: Sequence[ManifestRow],
    embedder: FrameEmbedder,
    *,
    frames: int | None = 8,
    fps: float | None = None,
    batch: int = 32,
    actors: int = 1,
    gpus: float = 0.0,
    regions: bool = False,
    on_clip: Callable[[ClipFrames], None] | None = None,
) -> Embedded:
    """:func:`~vidaug.mining.embed_rows` on Ray: decoding in CPU tasks, the model in an actor
    pool of ``actors`` (each with ``gpus`` GPUs), the result in row order as locally (the same
    clips; embeddings equal within float tolerance). Needs a :func:`ray_session`.

    Raises:
        UsageError: the embedder was not made by :func:`~vidaug.mining.load_embedder` (an actor
            must be able to load it again).
    """
    import ray

    if not embedder.spec:
        raise UsageError("the ray engine needs an embedder made by vidaug.mining.load_embedder")
    size = embedder.input_size
    items = [{"i": i, "row": json.dumps(_row_dict(r), default=str)} for i, r in enumerate(rows)]

    def decode(b: dict[str, Any]) -> dict[str, list[Any]]:
        _one_thread()
        out: dict[str, list[Any]] = {"i": [], "frames": [], "shape": [], "info": [], "error": []}
        for i, rd in zip(b["i"], b["row"], strict=True):
            cf = load_clip_frames(_row(json.loads(rd)), size, frames, fps, regions)
            x = cf.frames if cf.frames is not None else np.zeros((0, *size, 3), np.uint8)
            out["i"].append(int(i))
            out["frames"].append(np.ascontiguousarray(x).tobytes())
            out["shape"].append(list(x.shape))
            out["info"].append(json.dumps(cf.info, default=str))
            out["error"].append(cf.error or "")
        return out

    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 256)))
    # decode tasks ask for less than the actor so Ray Data does not fuse them into it (fused,
    # the actor would decode and embed in turn instead of side by side)
    ds = ds.map_batches(decode, batch_size=1, num_cpus=0.5)
    spec = dict(embedder.spec)

    class EmbedActor(_EmbedActor):  # the settings travel with the class, not as arguments
        def __init__(self) -> None:  # kept in the object store (Ray warns about those)
            super().__init__(spec, batch)

    ds = ds.map_batches(
        EmbedActor, batch_size=4, concurrency=max(1, actors), num_gpus=gpus or None, num_cpus=1
    )
    got: dict[int, tuple[np.ndarray | None, dict[str, Any], str]] = {}
    for r in ds.iter_rows():
        i = int(r["i"])
        emb = np.frombuffer(r["emb"], np.float32).reshape(-1, embedder.dims) if r["emb"] else None
        got[i] = (emb, json.loads(r["info"]), r["error"])
        if on_clip:
            on_clip(ClipFrames(rows[i], error=r["error"] or None))
    clips, failures, parts, owners = [], [], [], []
    for i, row in enumerate(rows):
        emb, info, error = got[i]
        if error or emb is None:
            failures.append((row.rel, error or f"{row.path}: no frames"))
            continue
        clips.append({"id": row.rel, "path": row.path, "label": row.label, "split": row.split,
                      "group": row.extra.get("group"), **info})  # fmt: skip
        parts.append(emb)
        owners.append(np.full(len(emb), len(clips) - 1, np.int64))
    d = embedder.dims
    every = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, d), np.float32)
    owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    return assemble_clip_rows(clips, every, owner, d, failures)
