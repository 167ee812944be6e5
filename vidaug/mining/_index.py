"""Frame and clip embeddings with FAISS search, saved as one directory.

An :class:`EmbeddingIndex` holds the embedding step's arrays (frame embeddings, the clip of each
frame, per-clip mean embeddings), the clip table, and two FAISS indexes over them (frames and
clips). Embeddings are L2-normalised, so cosine similarity is the inner product.

Index kinds:

* ``"flat"``: exact ``IndexFlatIP``.
* ``"ivf"``: an inverted-file index (inner product) with ``nlist ≈ 2·√n`` lists (k-means, 10
  iterations, on a seeded random sample of 40 vectors a list, at most 100k); ``nprobe`` lists
  are scanned per query. The embeddings live once, in :attr:`EmbeddingIndex.frame_emb` /
  :attr:`~EmbeddingIndex.clip_emb`: FAISS holds the lists (``IndexIVFScalarQuantizer``,
  ``QT_4bit_uniform``: ids and the 4-bit codes a FAISS IVF index must store, an eighth of the
  float32 bytes), not a second float32 copy, and every search scores the probed lists'
  members exactly from the stored embeddings (see below). Similarities of the hits are exact, recall is not guaranteed.
  Indexes saved with ``IndexIVFFlat`` (earlier versions) still load and search as before.
* ``"ivfpq"``: ``IndexIVFPQ`` (compressed codes, codebooks trained on ≤ 20k vectors) for very
  large collections; ``4·k`` hits are re-ranked by their exact similarity from the stored
  embeddings.
* ``"auto"`` (default): ``flat`` for an index of at most ``flat_threshold`` vectors, else
  ``ivf``. Frames and clips choose separately (there are many more frames than clips).

Searches of ``"ivf"`` indexes, and large query batches on the other IVF kinds (at least
``_BATCH_QUERIES`` vectors, e.g. every clip against the index in
:func:`~vidaug.mining.find_duplicates`), run list by list: the
queries that probe a list are multiplied with that list's vectors in one BLAS product (the
loop inversion of FAISS' ``contrib.big_batch_search``). Same lists probed, same exact
similarities as a per-query scan, but BLAS products instead of one scan per query. When every clip has exactly one
frame and no separate clip embeddings are given, frames and clips share one array and one
FAISS index.

On disk it is one directory (``index.json`` sidecar, two FAISS files, three ``.npy`` arrays),
written atomically and checked file by file on load: see :mod:`vidaug.mining._store`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vidaug._version import __version__
from vidaug.errors import IndexMismatchError, VidaugError
from vidaug.mining._faiss import (
    _add_reserved,
    _codes_unused,
    _ivf_of,
    _kind_of,
    _make_faiss,
    _resolve_kind,
    _search,
    _set_nprobe,
)
from vidaug.mining._store import (
    FORMAT,
    META,
    _short,
    model_mismatch,
    read_index_dir,
    write_index_dir,
)
from vidaug.mining._vectors import (
    _CHUNK,
    _one_frame_each,
    clip_means,
    l2_normalize,
    rows_by_clip,
)

__all__ = ["FORMAT", "KINDS", "EmbeddingIndex", "is_index_dir"]

#: Index kinds accepted by :meth:`EmbeddingIndex.build` (``"auto"`` resolves to one of the others).
KINDS = ("auto", "flat", "ivf", "ivfpq")


def _validate_clips(
    clips: Iterable[Mapping[str, Any]], taken: set[str] | None = None
) -> list[dict]:
    out: list[dict] = []
    seen = set(taken or ())
    for i, c in enumerate(clips):
        if not isinstance(c, Mapping) or not isinstance(c.get("id"), str) or not c["id"]:
            raise ValueError(f"clip {i}: every clip needs a non-empty str 'id'")
        if c["id"] in seen:
            raise ValueError(f"clip {i}: duplicate clip id {c['id']!r}")
        seen.add(c["id"])
        out.append(dict(c))
    return out


def _validate_frames(
    frame_emb: np.ndarray, frame_clip: np.ndarray, n: int, dims: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    fe = np.asarray(frame_emb)
    fc = np.asarray(frame_clip)
    if fe.ndim != 2:
        raise ValueError(f"frame_emb must be (F, D), got shape {fe.shape}")
    if dims is not None and fe.shape[1] != dims:
        raise IndexMismatchError(
            f"new frame embeddings are {fe.shape[1]}-dimensional but the index holds "
            f"{dims}-dimensional embeddings"
        )
    if fc.ndim != 1 or len(fc) != len(fe) or (len(fc) and not np.issubdtype(fc.dtype, np.integer)):
        raise ValueError(f"frame_clip must be ({len(fe)},) integers, got {fc.dtype} {fc.shape}")
    fc = fc.astype(np.int64, copy=False)
    if len(fc) and (fc.min() < 0 or fc.max() >= n):
        raise ValueError(f"frame_clip values must be clip positions in [0, {n})")
    counts = np.bincount(fc, minlength=n)
    if n and counts.min() == 0:
        raise ValueError(f"clip position {int(np.argmin(counts))} has no frames")
    return l2_normalize(fe), np.ascontiguousarray(fc)


# ---------------------------------------------------------------------------------------------
# The index
# ---------------------------------------------------------------------------------------------


class EmbeddingIndex:
    """Frame + clip embeddings with FAISS search over clips and frames.

    Build one with :meth:`build` (or :meth:`load` a saved one); the constructor takes ready
    arrays. Clip positions (``0..N-1``) index :attr:`clips`, :attr:`clip_emb` and the values of
    :attr:`frame_clip`; frame rows index :attr:`frame_emb`.

    Attributes:
        clips: the clip table, one dict per clip with at least ``id`` (unique str).
        frame_emb: ``(F, D)`` float32 L2-normalised frame embeddings.
        frame_clip: ``(F,)`` int64 clip position of each frame row.
        clip_emb: ``(N, D)`` float32 L2-normalised clip embeddings.
        model_id: the embedding model the vectors came from (checked on :meth:`load`).
        dims: ``D``.
        kind: kind of the frame index: ``"flat"``, ``"ivf"`` or ``"ivfpq"``.
        clip_kind: kind of the clip index.
        created: ISO 8601 UTC time the index was built.
    """

    def __init__(
        self,
        clips: Sequence[Mapping[str, Any]],
        frame_emb: np.ndarray,
        frame_clip: np.ndarray,
        clip_emb: np.ndarray,
        *,
        model_id: str,
        kind: str = "flat",
        clip_kind: str | None = None,
        nprobe: int = 16,
        seed: int = 0,
        frame_index: faiss.Index | None = None,
        clip_index: faiss.Index | None = None,
        created: str | None = None,
        region_emb: np.ndarray | None = None,
    ) -> None:
        """Wrap ready arrays; FAISS indexes of ``kind`` are built unless given.

        Args:
            clips: the clip table.
            frame_emb: ``(F, D)`` frame embeddings (re-normalised here).
            frame_clip: ``(F,)`` clip position of each frame.
            clip_emb: ``(N, D)`` clip embeddings (re-normalised here).
            model_id: the embedding model's id.
            kind: ``"flat"``, ``"ivf"`` or ``"ivfpq"`` for the frame index.
            clip_kind: the same for the clip index (default: ``kind``).
            nprobe: IVF lists scanned per query.
            seed: seed of the IVF training sample and k-means.
            frame_index: a ready FAISS index over ``frame_emb`` (e.g. loaded from disk).
            clip_index: a ready FAISS index over ``clip_emb``.
            created: creation time (default: now, UTC).
            region_emb: ``(N, M, D)`` embeddings of each clip's ``M`` region windows (stored
                as float16), or None.

        Raises:
            ValueError: inconsistent shapes, duplicate ids, unknown kind, clips without frames.
        """
        if not isinstance(model_id, str) or not model_id:
            raise ValueError("model_id must be a non-empty str")
        clip_kind = clip_kind or kind
        for k in (kind, clip_kind):
            if k not in KINDS[1:]:
                raise ValueError(f"kind must be one of {KINDS[1:]}, got {k!r}")
        if nprobe < 1:
            raise ValueError(f"nprobe must be ≥ 1, got {nprobe}")
        self.clips = _validate_clips(clips)
        n = len(self.clips)
        self.frame_emb, self.frame_clip = _validate_frames(frame_emb, frame_clip, n)
        ce = np.asarray(clip_emb)
        if ce.shape != (n, self.frame_emb.shape[1]):
            raise ValueError(f"clip_emb must be ({n}, {self.frame_emb.shape[1]}), got {ce.shape}")
        self.clip_emb = l2_normalize(ce)
        self.region_emb = _validate_regions(region_emb, n, int(self.frame_emb.shape[1]))
        self.model_id = model_id
        self.dims = int(self.frame_emb.shape[1])
        self.kind = kind
        self.clip_kind = clip_kind
        self.seed = seed
        self.created = created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        share = (
            self.clip_emb is self.frame_emb
            and _one_frame_each(self.frame_clip, n)
            and kind == clip_kind
            and frame_index is None
            and clip_index is None
        )
        if frame_index is None:
            frame_index = _make_faiss(self.frame_emb, kind, nprobe=nprobe, seed=seed)
        if share:  # one frame per clip: one array, one FAISS index
            clip_index = frame_index
        elif clip_index is None:
            clip_index = _make_faiss(self.clip_emb, clip_kind, nprobe=nprobe, seed=seed)
        self._frames, self._clips = frame_index, clip_index
        self._nprobe = nprobe
        self.nprobe = nprobe
        self._pos = {c["id"]: i for i, c in enumerate(self.clips)}

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        clips: Sequence[Mapping[str, Any]],
        frame_emb: np.ndarray,
        frame_clip: np.ndarray,
        *,
        model_id: str,
        kind: str = "auto",
        nprobe: int = 16,
        flat_threshold: int = 50_000,
        seed: int = 0,
        clip_emb: np.ndarray | None = None,
        region_emb: np.ndarray | None = None,
    ) -> EmbeddingIndex:
        """Index the embedding step's output.

        Args:
            clips: the clip table (dicts with a unique str ``id``), in clip-position order.
            frame_emb: ``(F, D)`` float32 L2-normalised frame embeddings of all clips.
            frame_clip: ``(F,)`` clip position of each frame row; every clip needs ≥ 1 frame.
            model_id: the embedding model's id, stored and checked by :meth:`load`.
            kind: ``"auto"`` (flat up to ``flat_threshold`` vectors, else IVF; frames and clips
                decide separately), ``"flat"``, ``"ivf"`` or ``"ivfpq"``.
            nprobe: IVF lists scanned per query (recall vs speed).
            flat_threshold: largest index kept exact by ``kind="auto"``.
            seed: seed of the IVF training sample and k-means (same seed → same index).
            clip_emb: ``(N, D)`` clip embeddings; default: the normalised mean of each clip's
                frame embeddings.
            region_emb: ``(N, M, D)`` region-window embeddings (picture-in-picture evidence
                of :func:`~vidaug.mining.find_duplicates`), or None.

        Returns:
            The index.

        Raises:
            ValueError: inconsistent inputs (shapes, duplicate ids, clips without frames).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        clips = list(clips)  # validated (and copied) once, by the constructor
        fe, fc = _validate_frames(frame_emb, frame_clip, len(clips))
        ce = clip_means(fe, fc, len(clips)) if clip_emb is None else clip_emb
        return cls(
            clips,
            fe,
            fc,
            ce,
            model_id=model_id,
            kind=_resolve_kind(kind, len(fe), flat_threshold),
            clip_kind=_resolve_kind(kind, len(clips), flat_threshold),
            nprobe=nprobe,
            seed=seed,
            region_emb=region_emb,
        )

    def append(
        self,
        clips: Sequence[Mapping[str, Any]],
        frame_emb: np.ndarray,
        frame_clip: np.ndarray,
        clip_emb: np.ndarray | None = None,
        region_emb: np.ndarray | None = None,
    ) -> None:
        """Add clips without rebuilding: vectors go into the existing (already trained) indexes.

        An IVF index keeps its lists (trained on the earlier data); a flat index stays flat even
        past ``flat_threshold`` — :meth:`build` again to change kind.

        Args:
            clips: the new clips; their ids must not be in the index yet.
            frame_emb: ``(F', D)`` their frame embeddings.
            frame_clip: ``(F',)`` positions **within** ``clips`` (``0..len(clips)-1``); they
                become ``N + position``.
            clip_emb: their clip embeddings (default: normalised frame means).
            region_emb: their region-window embeddings; needed when the index has them (an
                empty index takes whatever the new clips have).

        Raises:
            ValueError: an id already indexed or repeated, inconsistent shapes, region
                embeddings present on one side only.
            IndexMismatchError: embeddings of another dimension.
        """
        new = _validate_clips(clips, taken=set(self._pos))
        fe, fc = _validate_frames(frame_emb, frame_clip, len(new), dims=self.dims)
        ce = clip_means(fe, fc, len(new)) if clip_emb is None else np.asarray(clip_emb)
        if ce.shape != (len(new), self.dims):
            raise ValueError(f"clip_emb must be ({len(new)}, {self.dims}), got {ce.shape}")
        ce = l2_normalize(ce)
        re_ = _validate_regions(region_emb, len(new), self.dims)
        if not new:
            return
        n0 = len(self.clips)
        if n0 == 0:
            self.region_emb = re_
        elif (self.region_emb is None) != (re_ is None) or (
            re_ is not None and re_.shape[1] != self.region_emb.shape[1]
        ):
            raise ValueError("the new clips were embedded with other region settings")
        else:
            self.region_emb = None if re_ is None else np.concatenate([self.region_emb, re_])
        if self._clips is self._frames:
            if ce is fe:  # still one frame per clip: keep sharing
                self._frames.add(fe)
                self.frame_emb = np.concatenate([self.frame_emb, fe])
                self.frame_clip = np.concatenate([self.frame_clip, fc + n0])
                self.clip_emb = self.frame_emb
                for i, c in enumerate(new):
                    self._pos[c["id"]] = n0 + i
                self.clips.extend(new)
                return
            self._clips = faiss.clone_index(self._frames)
            _set_nprobe(self._clips, self._nprobe)
        if len(fe):
            self._frames.add(fe)
        self._clips.add(ce)
        self.frame_emb = np.concatenate([self.frame_emb, fe])
        self.frame_clip = np.concatenate([self.frame_clip, fc + n0])
        self.clip_emb = np.concatenate([self.clip_emb, ce])
        for i, c in enumerate(new):
            self._pos[c["id"]] = n0 + i
        self.clips.extend(new)

    def remove(self, ids: Iterable[str]) -> None:
        """Drop clips (and their frames) by id, e.g. before :meth:`append`-ing a re-embedded
        version of a changed file.

        The FAISS indexes keep their kind and their training (IVF lists, PQ codebooks): they are
        emptied and refilled with the remaining vectors, not retrained. Later clips move up one
        position per removed clip before them.

        Args:
            ids: clip ids to drop.

        Raises:
            KeyError: an id that is not in the index.
        """
        drop = {self._pos[i] for i in ids}
        if not drop:
            return
        keep = np.ones(len(self.clips), dtype=bool)
        keep[list(drop)] = False
        new_pos = np.cumsum(keep) - 1
        rows = keep[self.frame_clip]
        shared = self._clips is self._frames
        self.frame_emb = np.ascontiguousarray(self.frame_emb[rows])
        self.frame_clip = np.ascontiguousarray(new_pos[self.frame_clip[rows]].astype(np.int64))
        self.clip_emb = self.frame_emb if shared else np.ascontiguousarray(self.clip_emb[keep])
        if self.region_emb is not None:
            self.region_emb = np.ascontiguousarray(self.region_emb[keep])
        _refill(self._frames, self.frame_emb)
        if not shared:
            _refill(self._clips, self.clip_emb)
        self.clips = [c for c, k in zip(self.clips, keep, strict=True) if k]
        self._pos = {c["id"]: i for i, c in enumerate(self.clips)}

    # -- queries -----------------------------------------------------------------------------

    @property
    def nprobe(self) -> int:
        """IVF lists scanned per query (ignored by flat indexes)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if int(value) < 1:
            raise ValueError(f"nprobe must be ≥ 1, got {value}")
        self._nprobe = int(value)
        _set_nprobe(self._frames, self._nprobe)
        _set_nprobe(self._clips, self._nprobe)

    @property
    def ids(self) -> list[str]:
        """Clip ids in position order."""
        return [c["id"] for c in self.clips]

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def n_frames(self) -> int:
        """Number of frame rows ``F``."""
        return int(len(self.frame_emb))

    def position(self, clip_id: str) -> int:
        """The position of the clip with id ``clip_id``.

        Raises:
            KeyError: no such clip.
        """
        return self._pos[clip_id]

    def frames_of(self, position: int) -> np.ndarray:
        """Frame rows (ascending) of the clip at ``position``."""
        return np.flatnonzero(self.frame_clip == position)

    def frame_rows(self) -> list[np.ndarray]:
        """Each clip's frame embeddings in row (time) order, one array a clip in position order
        (gathered here: a copy of :attr:`frame_emb`)."""
        return [self.frame_emb[r] for r in rows_by_clip(self.frame_clip, len(self))]

    def search_clips(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar clips to each query vector (cosine = inner product).

        Args:
            query: ``(Q, D)`` (or ``(D,)``) L2-normalised vectors.
            k: neighbours per query.

        Returns:
            ``(sims, ids)``: ``(Q, k)`` float32 similarities, best first, and ``(Q, k)`` int64
            clip positions; when fewer than ``k`` are found the rest is ``-1`` (sim ``-inf``).

        Raises:
            IndexMismatchError: the query's dimension differs from the index's.
        """
        return _search(self._clips, self.clip_emb, self.clip_kind, query, k)

    def search_frames(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar frames to each query vector (cosine = inner product).

        Args:
            query: ``(Q, D)`` (or ``(D,)``) L2-normalised vectors.
            k: neighbours per query.

        Returns:
            ``(sims, frame_rows)`` as in :meth:`search_clips`; map rows to clips with
            :attr:`frame_clip`.

        Raises:
            IndexMismatchError: the query's dimension differs from the index's.
        """
        return _search(self._frames, self.frame_emb, self.kind, query, k)

    # -- files -------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The ``index.json`` sidecar."""
        return {
            "format": FORMAT,
            "vidaug": __version__,
            "model": self.model_id,
            "dims": self.dims,
            "metric": "inner_product",
            "kind": self.kind,
            "clip_kind": self.clip_kind,
            "nprobe": self.nprobe,
            "seed": self.seed,
            "created": self.created,
            "frames": self.n_frames,
            "regions": 0 if self.region_emb is None else int(self.region_emb.shape[1]),
            "clips": self.clips,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the index directory atomically (a temporary directory beside it, swapped in;
        see :mod:`vidaug.mining._store`): readers see the old index or the new one.

        Args:
            directory: where the index lives; an existing index there is replaced.

        Returns:
            ``directory`` as a :class:`~pathlib.Path`.

        Raises:
            VidaugError: ``directory`` is a file, or a non-empty directory that is not an index.
        """
        arrays = {"frame_emb": self.frame_emb, "frame_clip": self.frame_clip,
                  "clip_emb": self.clip_emb}  # fmt: skip
        if self.region_emb is not None:
            arrays["region_emb"] = self.region_emb
        return write_index_dir(directory, self.metadata(), self._frames, self._clips, arrays)

    def require_model(self, model_id: str, where: str | os.PathLike = "index") -> None:
        """Refuse queries from another model.

        Raises:
            IndexMismatchError: the index was built with another model (both named).
        """
        if self.model_id != model_id:
            raise model_mismatch(where, self.model_id, model_id)

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        *,
        model_id: str | None = None,
        dims: int | None = None,
    ) -> EmbeddingIndex:
        """Read an index saved by :meth:`save`.

        Args:
            directory: the index directory.
            model_id: refuse an index built with another model.
            dims: refuse an index of another dimension.

        Returns:
            The index (FAISS indexes read from disk, not rebuilt).

        Raises:
            IndexMismatchError: ``model_id`` or ``dims`` differ from the index's (both named).
            VidaugError: missing directory or files, corrupt or inconsistent files.
        """
        d = Path(directory)
        st = read_index_dir(d, model_id=model_id, dims=dims)
        fe, fc, ce, fi, ci = st.frame_emb, st.frame_clip, st.clip_emb, st.frame_index, st.clip_index
        n = len(st.meta.clips)
        if _one_frame_each(fc, n) and _kind_of(fi) == _kind_of(ci) and np.array_equal(fe, ce):
            ce, ci = fe, fi  # one frame per clip: share the array and the FAISS index
        try:
            return cls(
                st.meta.clips,
                fe,
                fc,
                ce,
                model_id=st.meta.model,
                kind=_kind_of(fi),
                clip_kind=_kind_of(ci),
                nprobe=st.meta.nprobe,
                seed=st.meta.seed,
                frame_index=fi,
                clip_index=ci,
                created=st.meta.created,
                region_emb=st.region_emb,
            )
        except ValueError as exc:
            raise VidaugError(f"{d}: inconsistent index ({_short(exc)})") from None

    def __repr__(self) -> str:
        return (
            f"EmbeddingIndex(clips={len(self)}, frames={self.n_frames}, dims={self.dims}, "
            f"model={self.model_id!r}, kind={self.kind!r}, clip_kind={self.clip_kind!r})"
        )


def _validate_regions(region_emb: np.ndarray | None, n: int, dims: int) -> np.ndarray | None:
    if region_emb is None:
        return None
    r = np.asarray(region_emb)
    if r.ndim != 3 or r.shape[0] != n or r.shape[2] != dims or r.shape[1] < 1:
        raise ValueError(f"region_emb must be ({n}, M, {dims}), got {r.shape}")
    return np.ascontiguousarray(r, dtype=np.float16)


def _refill(index: faiss.Index, x: np.ndarray) -> None:
    """Empty a trained FAISS index and add ``x`` (the training is kept)."""
    index.reset()
    ivf = _ivf_of(index)
    if ivf is not None and _codes_unused(ivf):  # vidaug's "ivf": lists reserved at full size
        _add_reserved(ivf, np.ascontiguousarray(x))
        return
    for lo in range(0, len(x), _CHUNK):
        index.add(np.ascontiguousarray(x[lo : lo + _CHUNK]))


def is_index_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a saved :class:`EmbeddingIndex` directory."""
    return (Path(path) / META).is_file()
