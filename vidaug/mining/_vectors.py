"""Row vectors: the one L2 normalisation, the one grouping of frame rows by clip, the one
per-clip mean of frame embeddings, the one motion signature of a frame sequence, and the one
code of an unordered clip pair."""

from __future__ import annotations

import numpy as np

__all__ = [
    "clip_means",
    "clip_slices",
    "l2_normalize",
    "motion_projection",
    "resample_steps",
    "rows_by_clip",
    "sequence_signature",
]

_CHUNK = 65536  # rows per block where a full-size temporary would double the memory


def _row_norms(x: np.ndarray) -> np.ndarray:
    """L2 norms of the rows, block by block (no full-size temporary)."""
    out = np.empty(len(x), dtype=np.float32)
    for lo in range(0, len(x), _CHUNK):
        b = x[lo : lo + _CHUNK]
        out[lo : lo + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", b, b))
    return out


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows (float32, C-contiguous); already-normalised input is returned as is."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        return x
    norms = _row_norms(x)
    if np.all((np.abs(norms - 1) < 1e-4) | (norms == 0)):
        return x
    out = np.empty_like(x)
    for lo in range(0, len(x), _CHUNK):
        out[lo : lo + _CHUNK] = (
            x[lo : lo + _CHUNK] / np.maximum(norms[lo : lo + _CHUNK], 1e-12)[:, None]
        )
    return out


def _one_frame_each(frame_clip: np.ndarray, n: int) -> bool:
    """True when frame row ``i`` is the only frame of clip ``i`` (clip = frame embeddings)."""
    return len(frame_clip) == n and bool(np.array_equal(frame_clip, np.arange(n)))


def clip_slices(frame_clip: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame rows grouped by clip: ``(order, starts, counts)``, where clip ``c``'s rows, in row
    (time) order, are ``order[starts[c] : starts[c] + counts[c]]``."""
    order = np.argsort(frame_clip, kind="stable")
    counts = np.bincount(frame_clip, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return order, starts, counts


def rows_by_clip(frame_clip: np.ndarray, n: int) -> list[np.ndarray]:
    """Each of the ``n`` clips' frame rows, in row (time) order (:func:`clip_slices` split)."""
    if not n:
        return []
    order, starts, _ = clip_slices(frame_clip, n)
    return np.split(order, starts[1:])


def _pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Codes ``lo * n + hi`` of the unordered clip pairs ``(a[i], b[i])`` of ``n`` clips, with
    ``lo < hi``; entries where ``b`` is missing (``-1``) or equals ``a`` are dropped. Decode
    with ``code // n``, ``code % n``."""
    ok = (b >= 0) & (b != a)
    return np.minimum(a[ok], b[ok]) * n + np.maximum(a[ok], b[ok])


def clip_means(frame_emb: np.ndarray, frame_clip: np.ndarray, n: int) -> np.ndarray:
    """Normalised mean frame embedding of each clip (every clip has ≥ 1 frame); ``frame_emb``
    itself when every clip is one frame (no copy)."""
    if _one_frame_each(frame_clip, n):
        return frame_emb
    order, starts, counts = clip_slices(frame_clip, n)
    out = np.empty((n, frame_emb.shape[1]), dtype=np.float32)
    step = 4096
    for c0 in range(0, n, step):
        c1 = min(n, c0 + step)
        r0, r1 = starts[c0], starts[c1 - 1] + counts[c1 - 1]
        sums = np.add.reduceat(frame_emb[order[r0:r1]].astype(np.float64), starts[c0:c1] - r0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[c0:c1] = sums / np.maximum(norms, 1e-12)
    return out


def motion_projection(d: int, dims: int) -> np.ndarray | None:
    """The fixed random projection of motion signatures to ``dims`` (the same for every
    index: a fixed seed); None when ``d`` is at most ``dims``."""
    if d <= dims:
        return None
    proj = np.random.default_rng(0x4D07).standard_normal((d, dims)).astype(np.float32)
    proj /= np.sqrt(dims)  # in place: stays float32
    return proj


def resample_steps(seq: np.ndarray, steps: int) -> np.ndarray:
    """The rows of ``seq`` (at least one) at ``steps`` evenly spaced times, linearly
    interpolated between neighbouring rows."""
    m = len(seq)
    t = np.linspace(0, m - 1, steps)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, m - 1)
    w = (t - i0)[:, None].astype(np.float32)
    return seq[i0] * (1 - w) + seq[i1] * w


def sequence_signature(
    seq: np.ndarray, proj: np.ndarray | None, steps: int, static: float = 1e-3
) -> np.ndarray | None:
    """How a sequence of embeddings changes over time: resampled to ``steps`` evenly spaced
    times (linear), projected, minus its mean over time, flattened, L2-normalised. None for
    fewer than 2 rows or a sequence that barely changes (residual norm below ``static`` of
    the sequence's)."""
    if len(seq) < 2:
        return None
    x = resample_steps(seq, steps)
    if proj is not None:
        x = x @ proj
    res = x - x.mean(axis=0)
    norm = float(np.linalg.norm(res))
    return res.ravel() / norm if norm > static * float(np.linalg.norm(x)) else None
