"""Frame and clip embeddings with FAISS search, saved as one directory.

An :class:`EmbeddingIndex` holds the embedding step's arrays (frame embeddings, the clip of each
frame, per-clip mean embeddings), the clip table, and two FAISS indexes over them (frames and
clips). Embeddings are L2-normalised, so cosine similarity is the inner product.

Index kinds:

* ``"flat"``: exact ``IndexFlatIP``.
* ``"ivf"``: ``IndexIVFFlat`` (inner product) with ``nlist ≈ 4·√n`` lists, trained on a seeded
  random sample of at most 100k vectors; ``nprobe`` lists are scanned per query. Similarities
  of the hits are exact, recall is not guaranteed.
* ``"ivfpq"``: ``IndexIVFPQ`` (compressed codes, codebooks trained on ≤ 20k vectors) for very
  large collections; ``4·k`` hits are re-ranked by their exact similarity from the stored
  embeddings.
* ``"auto"`` (default): ``flat`` for an index of at most ``flat_threshold`` vectors, else
  ``ivf``. Frames and clips choose separately (there are many more frames than clips).

On disk (STYLE §5) a directory holds::

    index.json      sidecar: format, vidaug version, model, dims, metric, kind, nprobe,
                    created (UTC), frames, clips (the clip table)
    frames.faiss    faiss.write_index of the frame index
    clips.faiss     faiss.write_index of the clip index
    frame_emb.npy   (F, D) float32
    frame_clip.npy  (F,) int64, the clip position of each frame row
    clip_emb.npy    (N, D) float32

:meth:`EmbeddingIndex.save` writes a temporary directory beside the destination and swaps it
in, so readers see the old index or the new one, never a mix.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import math
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vidaug._version import __version__
from vidaug.errors import IndexMismatchError, VidaugError

__all__ = ["FORMAT", "KINDS", "EmbeddingIndex"]

#: Version of the on-disk layout written to ``index.json``.
FORMAT = 1
#: Index kinds accepted by :meth:`EmbeddingIndex.build` (``"auto"`` resolves to one of the others).
KINDS = ("auto", "flat", "ivf", "ivfpq")

_META = "index.json"
_FILES = ("frames.faiss", "clips.faiss", "frame_emb.npy", "frame_clip.npy", "clip_emb.npy")
_MAX_TRAIN = 100_000
_MAX_TRAIN_PQ = 20_000  # PQ codebook training is costly; ~80 points per code is plenty
_tmp_counter = itertools.count()


# ---------------------------------------------------------------------------------------------
# FAISS helpers
# ---------------------------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows (float32, C-contiguous); already-normalised input is returned as is."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.all((np.abs(norms - 1) < 1e-4) | (norms == 0)):
        return x
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def _nlist(n: int) -> int:
    """``round(4·√n)`` lists, at most ``n // 39`` (FAISS wants ≥ 39 training points a list)."""
    return max(1, min(round(4 * math.sqrt(n)), n // 39))


def _pq_shape(d: int, n: int) -> tuple[int, int]:
    """Sub-quantizers (a divisor of ``d``, ≤ 64, ≥ 2 dims each) and bits per code for IVFPQ."""
    m = max([m for m in range(1, min(64, max(1, d // 2)) + 1) if d % m == 0] or [1])
    n = min(n, _MAX_TRAIN_PQ)
    nbits = 8 if n >= 256 * 39 else 6 if n >= 64 * 39 else 4
    return m, nbits


def _resolve_kind(kind: str, n: int, flat_threshold: int) -> str:
    if kind == "auto":
        return "flat" if n <= flat_threshold else "ivf"
    return kind


def _make_faiss(x: np.ndarray, kind: str, *, nprobe: int, seed: int) -> faiss.Index:
    """A trained FAISS inner-product index of ``kind`` holding ``x``."""
    n, d = x.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    else:
        if n == 0:
            raise ValueError(f"cannot train a {kind!r} index on no vectors")
        nlist = _nlist(n)
        if kind == "ivf":
            spec = f"IVF{nlist},Flat"
        else:
            m, nbits = _pq_shape(d, n)
            spec = f"IVF{nlist},PQ{m}x{nbits}"
        index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.seed = seed
        if kind == "ivfpq":
            faiss.downcast_index(ivf).pq.cp.seed = seed
        cap = _MAX_TRAIN if kind == "ivf" else _MAX_TRAIN_PQ
        rng = np.random.default_rng(seed)
        train = x if n <= cap else x[np.sort(rng.choice(n, cap, replace=False))]
        index.train(np.ascontiguousarray(train))
        ivf.nprobe = nprobe
    if n:
        index.add(x)
    return index


def _kind_of(index: faiss.Index) -> str:
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return "flat"
    return "ivfpq" if isinstance(faiss.downcast_index(ivf), faiss.IndexIVFPQ) else "ivf"


def _set_nprobe(index: faiss.Index, nprobe: int) -> None:
    try:
        faiss.extract_index_ivf(index).nprobe = nprobe
    except RuntimeError:  # flat: nothing to probe
        pass


def _search(
    index: faiss.Index, stored: np.ndarray, kind: str, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    q = np.asarray(query, dtype=np.float32)
    if q.ndim == 1:
        q = q[None]
    if q.ndim != 2 or q.shape[1] != index.d:
        raise IndexMismatchError(
            f"query has {q.shape[-1] if q.ndim else 0}-dimensional vectors but the index holds "
            f"{index.d}-dimensional embeddings"
        )
    q = np.ascontiguousarray(q)
    if kind != "ivfpq":
        sims, ids = index.search(q, k)
    else:  # compressed distances: fetch more, re-rank exactly from the stored embeddings
        kk = min(max(4 * k, k + 16), max(index.ntotal, k))
        _, cand = index.search(q, kk)
        sims = np.full(cand.shape, -np.inf, dtype=np.float32)
        for lo in range(0, len(q), 256):
            c = cand[lo : lo + 256]
            ok = c >= 0
            exact = np.einsum("qd,qkd->qk", q[lo : lo + 256], stored[np.where(ok, c, 0)])
            sims[lo : lo + 256] = np.where(ok, exact, -np.inf)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        sims = np.take_along_axis(sims, order, axis=1)
        ids = np.take_along_axis(cand, order, axis=1)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
    ids = ids.astype(np.int64, copy=False)
    sims = np.where(ids >= 0, sims, -np.inf).astype(np.float32, copy=False)
    return sims, ids


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"clip table value of type {type(obj).__name__} is not JSON-serialisable")


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(tmp: Path, dest: Path) -> None:
    """Move the complete directory ``tmp`` onto ``dest``; the old ``dest`` is removed."""
    if not dest.exists():
        os.rename(tmp, dest)
        return
    if _exchange(tmp, dest):  # tmp now holds the old index
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = dest.with_name(f".{dest.name}.{os.getpid()}-{next(_tmp_counter)}.old")
    os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except BaseException:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _short(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _load_array(path: Path, dtype: type, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise VidaugError(f"{path}: missing (the index directory is incomplete; rebuild it)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise VidaugError(f"{path}: corrupt array ({_short(exc)})") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != ndim or arr.dtype != dtype:
        raise VidaugError(
            f"{path}: corrupt array (expected {ndim}-D {np.dtype(dtype).name}, "
            f"got {getattr(arr, 'ndim', '?')}-D {getattr(arr, 'dtype', '?')})"
        )
    return arr


def _load_faiss(path: Path, d: int, ntotal: int) -> faiss.Index:
    if not path.is_file():
        raise VidaugError(f"{path}: missing (the index directory is incomplete; rebuild it)")
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as exc:
        raise VidaugError(f"{path}: corrupt FAISS index ({_short(exc)})") from None
    if index.d != d or index.ntotal != ntotal or index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise VidaugError(
            f"{path}: FAISS index does not match index.json ({index.ntotal} vectors of dim "
            f"{index.d}, expected {ntotal} of dim {d}, inner product); rebuild the index"
        )
    return index


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
    return _normalise(fe), np.ascontiguousarray(fc)


def _clip_means(frame_emb: np.ndarray, frame_clip: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, frame_emb.shape[1]), dtype=np.float64)
    np.add.at(sums, frame_clip, frame_emb)
    return _normalise(sums)


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
        self.clip_emb = _normalise(ce)
        self.model_id = model_id
        self.dims = int(self.frame_emb.shape[1])
        self.kind = kind
        self.clip_kind = clip_kind
        self.seed = seed
        self.created = created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        if frame_index is None:
            frame_index = _make_faiss(self.frame_emb, kind, nprobe=nprobe, seed=seed)
        if clip_index is None:
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

        Returns:
            The index.

        Raises:
            ValueError: inconsistent inputs (shapes, duplicate ids, clips without frames).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        clips = _validate_clips(clips)
        fe, fc = _validate_frames(frame_emb, frame_clip, len(clips))
        ce = _clip_means(fe, fc, len(clips)) if clip_emb is None else clip_emb
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
        )

    def append(
        self,
        clips: Sequence[Mapping[str, Any]],
        frame_emb: np.ndarray,
        frame_clip: np.ndarray,
        clip_emb: np.ndarray | None = None,
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

        Raises:
            ValueError: an id already indexed or repeated, inconsistent shapes.
            IndexMismatchError: embeddings of another dimension.
        """
        new = _validate_clips(clips, taken=set(self._pos))
        fe, fc = _validate_frames(frame_emb, frame_clip, len(new), dims=self.dims)
        ce = _clip_means(fe, fc, len(new)) if clip_emb is None else np.asarray(clip_emb)
        if ce.shape != (len(new), self.dims):
            raise ValueError(f"clip_emb must be ({len(new)}, {self.dims}), got {ce.shape}")
        ce = _normalise(ce)
        if not new:
            return
        n0 = len(self.clips)
        if len(fe):
            self._frames.add(fe)
        self._clips.add(ce)
        self.frame_emb = np.concatenate([self.frame_emb, fe])
        self.frame_clip = np.concatenate([self.frame_clip, fc + n0])
        self.clip_emb = np.concatenate([self.clip_emb, ce])
        for i, c in enumerate(new):
            self._pos[c["id"]] = n0 + i
        self.clips.extend(new)

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
            "clips": self.clips,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the index directory atomically.

        Everything goes into a hidden temporary directory beside ``directory`` first (metadata
        last); the finished directory is then swapped in (``renameat2(RENAME_EXCHANGE)`` on
        Linux, else rename-aside + rename). On any error the temporary directory is removed and
        an existing index is left as it was.

        Args:
            directory: where the index lives; an existing index there is replaced.

        Returns:
            ``directory`` as a :class:`~pathlib.Path`.

        Raises:
            VidaugError: ``directory`` is a file, or a non-empty directory that is not an index.
        """
        dest = Path(directory)
        if dest.exists() and not dest.is_dir():
            raise VidaugError(f"{dest}: exists and is not a directory; cannot save an index there")
        if dest.is_dir() and any(dest.iterdir()) and not (dest / _META).is_file():
            raise VidaugError(f"{dest}: refusing to replace a directory that is not a vidaug index")
        dest.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps(self.metadata(), ensure_ascii=False, indent=1, default=_json_default)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{next(_tmp_counter)}.tmp")
        tmp.mkdir()
        try:
            faiss.write_index(self._frames, str(tmp / "frames.faiss"))
            faiss.write_index(self._clips, str(tmp / "clips.faiss"))
            for name, arr in (
                ("frame_emb.npy", self.frame_emb),
                ("frame_clip.npy", self.frame_clip),
                ("clip_emb.npy", self.clip_emb),
            ):
                with open(tmp / name, "wb") as f:
                    np.save(f, arr, allow_pickle=False)
            (tmp / _META).write_text(meta + "\n", encoding="utf-8")
            for name in (*_FILES, _META):
                _fsync(tmp / name)
            _fsync(tmp, directory=True)
            _swap_in(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync(dest.parent, directory=True)
        return dest

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
        if not d.is_dir():
            raise VidaugError(f"{d}: no embedding index here (directory not found)")
        meta_path = d / _META
        if not meta_path.is_file():
            raise VidaugError(f"{d}: not an embedding index ({_META} missing)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise VidaugError(f"{meta_path}: corrupt index metadata ({_short(exc)})") from None
        meta = _check_meta(meta, meta_path)
        if model_id is not None and meta["model"] != model_id:
            raise IndexMismatchError(
                f"{d}: index was built with model {meta['model']!r} but {model_id!r} was asked "
                f"for; rebuild the index with that model"
            )
        if dims is not None and meta["dims"] != dims:
            raise IndexMismatchError(
                f"{d}: index holds {meta['dims']}-dimensional embeddings but {dims} were asked "
                f"for; rebuild the index with that model"
            )
        n, f, dd = len(meta["clips"]), meta["frames"], meta["dims"]
        fe = _load_array(d / "frame_emb.npy", np.float32, 2)
        fc = _load_array(d / "frame_clip.npy", np.int64, 1)
        ce = _load_array(d / "clip_emb.npy", np.float32, 2)
        for name, arr, shape in (
            ("frame_emb.npy", fe, (f, dd)),
            ("frame_clip.npy", fc, (f,)),
            ("clip_emb.npy", ce, (n, dd)),
        ):
            if arr.shape != shape:
                raise VidaugError(
                    f"{d / name}: shape {arr.shape} does not match {_META} (expected {shape})"
                )
        fi = _load_faiss(d / "frames.faiss", dd, f)
        ci = _load_faiss(d / "clips.faiss", dd, n)
        try:
            return cls(
                meta["clips"],
                fe,
                fc,
                ce,
                model_id=meta["model"],
                kind=_kind_of(fi),
                clip_kind=_kind_of(ci),
                nprobe=meta["nprobe"],
                seed=meta.get("seed", 0),
                frame_index=fi,
                clip_index=ci,
                created=meta.get("created"),
            )
        except ValueError as exc:
            raise VidaugError(f"{d}: inconsistent index ({_short(exc)})") from None

    def __repr__(self) -> str:
        return (
            f"EmbeddingIndex(clips={len(self)}, frames={self.n_frames}, dims={self.dims}, "
            f"model={self.model_id!r}, kind={self.kind!r}, clip_kind={self.clip_kind!r})"
        )


def _check_meta(meta: Any, path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise VidaugError(f"{path}: corrupt index metadata (not a JSON object)")
    fmt = meta.get("format")
    if fmt != FORMAT:
        raise VidaugError(
            f"{path}: index format {fmt!r} is not supported by vidaug {__version__} "
            f"(expected {FORMAT}); rebuild the index"
        )
    expect = {"model": str, "dims": int, "frames": int, "nprobe": int, "clips": list}
    for key, typ in expect.items():
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise VidaugError(
                f"{path}: corrupt index metadata ('{key}' missing or not {typ.__name__})"
            )
    if meta.get("metric", "inner_product") != "inner_product":
        raise VidaugError(f"{path}: unsupported metric {meta['metric']!r} (expected inner_product)")
    return meta
