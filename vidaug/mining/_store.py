"""The on-disk store of an :class:`~vidaug.mining.EmbeddingIndex` (atomic files, see docs/ARCHITECTURE.md).

A directory holds::

    index.json      sidecar (:class:`IndexMeta`): format, vidaug version, model, dims, metric,
                    kind, clip_kind, nprobe, seed, created (UTC), frames, clips (the clip table)
    frames.faiss    faiss.write_index of the frame index (IVF kinds only: a flat index is the
                    embeddings themselves, built again from frame_emb.npy on load; format 3)
    clips.faiss     faiss.write_index of the clip index (the same)
    frame_emb.npy   (F, D) float32
    frame_clip.npy  (F,) int64, the clip position of each frame row
    clip_emb.npy    (N, D) float32
    region_emb.npy  (N, M, D) float16, each clip's region windows (only when embedded with
                    regions; ``regions`` in the sidecar is ``M``): 4 frames × 9 windows, and
                    with the probe stage (format 2) a last row, the clip's probe query; the
                    clip table's ``windows`` lists a clip's verified windows
                    (:mod:`vidaug.mining._regions`)

:func:`write_index_dir` writes a temporary directory beside the destination and swaps it in, so
readers see the old index or the new one, never a mix. :func:`read_index_dir` checks every file
against the sidecar and fails with one line naming the file. An embedding row that is NaN
(or infinite) or all zero is damage: it is never written (:func:`write_index_dir` refuses it)
and an index that holds one is refused on load (:func:`damaged_clips`).

Files are written through Python file objects (numpy's chunked writer, FAISS through a
callback), so a full disk raises :class:`OSError` with its ``errno`` (numpy's ``tofile`` raises
one without: ``N requested and M written``); the error names the index directory.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from vidaug._json import to_jsonable
from vidaug._version import __version__
from vidaug.datasets import fsync_path as _fsync
from vidaug.errors import IndexMismatchError, VidaugError
from vidaug.mining._faiss import _kind_of, _make_faiss
from vidaug.mining._vectors import _CHUNK

__all__ = [
    "FORMAT",
    "META",
    "IndexFiles",
    "IndexMeta",
    "damaged_clips",
    "read_index_dir",
    "write_index_dir",
]

#: Version of the on-disk layout written to ``index.json``: 2 since region rows may end with a
#: probe query row (issue 23), which a reader of format 1 would take for a window; 3 since a
#: flat FAISS index is not written (it held a second copy of the embeddings: a fifth of the
#: index), which a reader of format 2 would call an incomplete index.
FORMAT = 3
#: Layouts this version reads: format 1 indexes (every region window verified) and format 2
#: ones (flat FAISS files written) still load.
READABLE = (1, 2, 3)
#: The sidecar's file name.
META = "index.json"
_ARRAYS = {"frame_emb.npy": (np.float32, 2), "frame_clip.npy": (np.int64, 1),
           "clip_emb.npy": (np.float32, 2)}  # fmt: skip
_FAISS = ("frames.faiss", "clips.faiss")
_REGIONS = "region_emb.npy"
_tmp_counter = itertools.count()


class IndexMeta(BaseModel):
    """The ``index.json`` sidecar, validated (unknown keys are kept)."""

    model_config = ConfigDict(extra="allow")

    format: StrictInt
    vidaug: str | None = None
    model: StrictStr
    dims: StrictInt
    metric: Literal["inner_product"] = "inner_product"
    kind: str | None = None
    clip_kind: str | None = None
    nprobe: StrictInt
    seed: StrictInt = 0
    created: str | None = None
    frames: StrictInt
    regions: StrictInt = 0
    clips: list[dict[str, Any]]


@dataclass
class IndexFiles:
    """What :func:`read_index_dir` read: the sidecar, the arrays and the FAISS indexes."""

    meta: IndexMeta
    frame_emb: np.ndarray
    frame_clip: np.ndarray
    clip_emb: np.ndarray
    frame_index: faiss.Index
    clip_index: faiss.Index
    region_emb: np.ndarray | None = None


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


def _hidden_files(d: Path) -> list[Path]:
    """Hidden regular files of ``d`` (a run's ``.vidaug.lock``): not part of the index."""
    return [p for p in d.iterdir() if p.name.startswith(".") and p.is_file()] if d.is_dir() else []


def _visible(d: Path) -> bool:
    """True when ``d`` holds anything but hidden regular files."""
    hidden = set(_hidden_files(d))
    return any(p not in hidden for p in d.iterdir())


def _carry_hidden(dest: Path, tmp: Path) -> None:
    """Hard-link ``dest``'s hidden files into the new index directory ``tmp`` (same inode: a
    lock held on ``dest/.vidaug.lock`` stays held after the swap); copied when links fail."""
    for p in _hidden_files(dest):
        try:
            os.link(p, tmp / p.name)
        except OSError:
            shutil.copy2(p, tmp / p.name)


def _short(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _bad_rows(x: np.ndarray, zero: bool) -> np.ndarray:
    """Rows of the 2-D ``x`` holding a NaN or infinity (or, with ``zero``, only zeros), block
    by block (no full-size temporary)."""
    bad = [np.zeros(0, np.int64)]
    for lo in range(0, len(x), _CHUNK):
        b = x[lo : lo + _CHUNK]
        sq = np.einsum("ij,ij->i", b, b, dtype=np.float32)
        hit = ~np.isfinite(sq) | (sq == 0) if zero else ~np.isfinite(sq)
        bad.append(np.flatnonzero(hit) + lo)
    return np.concatenate(bad)


def damaged_clips(
    frame_emb: np.ndarray,
    frame_clip: np.ndarray,
    clip_emb: np.ndarray,
    region_emb: np.ndarray | None = None,
) -> np.ndarray:
    """Positions (sorted) of the clips with a damaged embedding: a frame or clip row that holds
    a NaN or infinity or is all zero, or a region-window row with a NaN or infinity (a window
    may be blank). Searches, duplicates and hardness would silently change with them.

    Args:
        frame_emb: ``(F, D)`` frame embeddings.
        frame_clip: ``(F,)`` clip position of each frame row.
        clip_emb: ``(N, D)`` clip embeddings.
        region_emb: ``(N, M, D)`` region-window embeddings, or None.
    """
    bad = [frame_clip[_bad_rows(frame_emb, True)], _bad_rows(clip_emb, True)]
    if region_emb is not None and region_emb.size:
        m = region_emb.shape[1]
        bad.append(_bad_rows(region_emb.reshape(-1, region_emb.shape[2]), False) // m)
    return np.unique(np.concatenate(bad).astype(np.int64))


def _clips_have(clips: list[dict[str, Any]], positions: np.ndarray) -> str:
    """``clip 'a' has`` or ``clips 'a' and 3 more have``: which clips, in a message."""
    first = repr(clips[int(positions[0])].get("id"))
    if len(positions) == 1:
        return f"clip {first} has"
    return f"clips {first} and {len(positions) - 1} more have"


class _Writer:
    """Only a file's ``write``: numpy then writes an array in chunks through Python (a full
    disk raises :class:`OSError` with its errno, where numpy's ``tofile`` raises one without)."""

    def __init__(self, f: Any) -> None:
        self.write = f.write


def _write_files(tmp: Path, frame_index: faiss.Index, clip_index: faiss.Index,
                 arrays: dict[str, np.ndarray], text: str) -> list[str]:  # fmt: skip
    """Write the index files into ``tmp`` (metadata last; a flat FAISS index is not written:
    :func:`read_index_dir` builds it from the embeddings); returns the file names."""
    names = [*_ARRAYS, *([_REGIONS] if "region_emb" in arrays else [])]
    written = []
    for name, index in zip(_FAISS, (frame_index, clip_index), strict=True):
        if _kind_of(index) == "flat":
            continue
        with open(tmp / name, "wb") as f:
            faiss.write_index(index, faiss.PyCallbackIOWriter(f.write))
        written.append(name)
    for name in names:
        with open(tmp / name, "wb") as f:
            np.save(_Writer(f), arrays[name.removesuffix(".npy")], allow_pickle=False)
    with open(tmp / META, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return [*written, *names, META]


def _naming(exc: OSError, dest: Path) -> OSError:
    """``exc`` naming ``dest``, the index asked for (a failed write names no file, or one of
    the temporary directory)."""
    why = exc.strerror or str(exc) or type(exc).__name__
    return OSError(exc.errno if exc.errno is not None else errno.EIO, why, str(dest))


def write_index_dir(
    directory: str | os.PathLike,
    meta: dict[str, Any],
    frame_index: faiss.Index,
    clip_index: faiss.Index,
    arrays: dict[str, np.ndarray],
) -> Path:
    """Write an index directory atomically.

    Everything goes into a hidden temporary directory beside ``directory`` first (metadata
    last); the finished directory is then swapped in (``renameat2(RENAME_EXCHANGE)`` on Linux,
    else rename-aside + rename). On any error the temporary directory is removed and an
    existing index is left as it was.

    Args:
        directory: where the index lives; an existing index there is replaced.
        meta: the sidecar (``format`` is set here).
        frame_index, clip_index: the FAISS indexes.
        arrays: ``frame_emb``, ``frame_clip``, ``clip_emb`` and optionally ``region_emb``.

    Raises:
        VidaugError: ``directory`` is a file, or a non-empty directory that is not an index;
            a clip's embedding is damaged (:func:`damaged_clips`).
        OSError: a failed write (a full disk), naming ``directory``.
    """
    dest = Path(directory)
    if dest.exists() and not dest.is_dir():
        raise VidaugError(f"{dest}: exists and is not a directory; cannot save an index there")
    if dest.is_dir() and _visible(dest) and not (dest / META).is_file():
        raise VidaugError(f"{dest}: refusing to replace a directory that is not a vidaug index")
    bad = damaged_clips(arrays["frame_emb"], arrays["frame_clip"], arrays["clip_emb"],
                        arrays.get("region_emb"))  # fmt: skip
    if len(bad):
        raise VidaugError(
            f"{dest}: not saved: {_clips_have(meta['clips'], bad)} NaN/zero embedding rows "
            "(leave them out or embed them again)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable({"format": FORMAT, **meta}), ensure_ascii=False, indent=1)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{next(_tmp_counter)}.tmp")
    try:
        tmp.mkdir()
        for name in _write_files(tmp, frame_index, clip_index, arrays, text):
            _fsync(tmp / name)
        _carry_hidden(dest, tmp)
        _fsync(tmp, directory=True)
        _swap_in(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _naming(exc, dest) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(dest.parent, directory=True)
    return dest


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


def _load_faiss(path: Path, d: int, ntotal: int, kind: str | None, emb: np.ndarray) -> faiss.Index:
    """The FAISS index in ``path``; a flat one not written (format 3) is built from ``emb``."""
    if not path.is_file() and kind == "flat":  # a flat index holds nothing to train
        return _make_faiss(np.ascontiguousarray(emb, dtype=np.float32), "flat", nprobe=1, seed=0)
    if not path.is_file():
        raise VidaugError(f"{path}: missing (the index directory is incomplete; rebuild it)")
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as exc:
        raise VidaugError(f"{path}: corrupt FAISS index ({_short(exc)})") from None
    if index.d != d or index.ntotal != ntotal or index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise VidaugError(
            f"{path}: FAISS index does not match {META} ({index.ntotal} vectors of dim "
            f"{index.d}, expected {ntotal} of dim {d}, inner product); rebuild the index"
        )
    return index


def read_meta(path: Path) -> IndexMeta:
    """Read and validate ``index.json``; one-line :class:`VidaugError` naming the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VidaugError(f"{path}: corrupt index metadata ({_short(exc)})") from None
    if not isinstance(raw, dict):
        raise VidaugError(f"{path}: corrupt index metadata (not a JSON object)")
    if raw.get("format") not in READABLE:
        raise VidaugError(
            f"{path}: index format {raw.get('format')!r} is not supported by vidaug "
            f"{__version__} (expected {' or '.join(map(str, READABLE))}); rebuild the index"
        )
    try:
        return IndexMeta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        what = "missing" if err["type"] == "missing" else err["msg"].lower()
        raise VidaugError(f"{path}: corrupt index metadata ('{field}' {what})") from None


def model_mismatch(where: str | os.PathLike, built: str, asked: str) -> IndexMismatchError:
    return IndexMismatchError(
        f"{where}: index was built with model {built!r} but {asked!r} was asked for; rebuild "
        "the index with that model"
    )


def _refuse_damaged(
    d: Path, meta: IndexMeta, arrays: dict[str, np.ndarray], regions: np.ndarray | None
) -> None:
    fc = arrays["frame_clip.npy"]
    if len(fc) and (fc.min() < 0 or fc.max() >= len(meta.clips)):
        return  # not a damaged embedding: EmbeddingIndex.load reports the inconsistency
    bad = damaged_clips(arrays["frame_emb.npy"], fc, arrays["clip_emb.npy"], regions)
    if len(bad):
        raise VidaugError(
            f"{d}: index damaged: {_clips_have(meta.clips, bad)} NaN/zero embedding rows; "
            f"re-embed (vidaug embed INPUT --out {d} --overwrite)"
        )


def read_index_dir(
    directory: str | os.PathLike, *, model_id: str | None = None, dims: int | None = None
) -> IndexFiles:
    """Read and check an index directory written by :func:`write_index_dir`.

    Raises:
        IndexMismatchError: ``model_id`` or ``dims`` differ from the index's (both named).
        VidaugError: missing directory or files, corrupt or inconsistent files, a damaged
            embedding (NaN or all-zero rows, :func:`damaged_clips`).
    """
    d = Path(directory)
    if not d.is_dir():
        raise VidaugError(f"{d}: no embedding index here (directory not found)")
    if not (d / META).is_file():
        raise VidaugError(f"{d}: not an embedding index ({META} missing)")
    meta = read_meta(d / META)
    if model_id is not None and meta.model != model_id:
        raise model_mismatch(d, meta.model, model_id)
    if dims is not None and meta.dims != dims:
        raise IndexMismatchError(
            f"{d}: index holds {meta.dims}-dimensional embeddings but {dims} were asked "
            f"for; rebuild the index with that model"
        )
    n, f, dd = len(meta.clips), meta.frames, meta.dims
    shapes = {"frame_emb.npy": (f, dd), "frame_clip.npy": (f,), "clip_emb.npy": (n, dd)}
    arrays = {}
    for name, (dtype, ndim) in _ARRAYS.items():
        arr = _load_array(d / name, dtype, ndim)
        if arr.shape != shapes[name]:
            raise VidaugError(
                f"{d / name}: shape {arr.shape} does not match {META} (expected {shapes[name]})"
            )
        arrays[name] = arr
    regions = None
    if meta.regions:
        regions = _load_array(d / _REGIONS, np.float16, 3)
        if regions.shape != (n, meta.regions, dd):
            raise VidaugError(
                f"{d / _REGIONS}: shape {regions.shape} does not match {META} (expected "
                f"{(n, meta.regions, dd)})"
            )
    _refuse_damaged(d, meta, arrays, regions)
    return IndexFiles(
        meta,
        arrays["frame_emb.npy"],
        arrays["frame_clip.npy"],
        arrays["clip_emb.npy"],
        _load_faiss(d / "frames.faiss", dd, f, meta.kind, arrays["frame_emb.npy"]),
        _load_faiss(d / "clips.faiss", dd, n, meta.clip_kind or meta.kind, arrays["clip_emb.npy"]),
        regions,
    )
