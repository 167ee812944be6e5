"""Evidence of copies that are not whole-clip copies: a clip inside another, and two cuts of
one recording that share a stretch. Used by :func:`~vidaug.mining.find_duplicates`.

* **Regional** (picture-in-picture): each clip's region windows
  (:mod:`vidaug.mining._regions`) are averaged over its region frames into one vector per
  window. Clip ``x`` is *inside* clip ``c`` when a window of ``c`` matches ``x``'s clip
  embedding (``region_sim``) and the window's change over time matches ``x``'s
  (``region_motion``: the motion-signature cosine of the window's frame sequence and ``x``'s
  frames, as in :func:`~vidaug.mining.motion_signatures`).
* **Alignment** (partial overlaps, in the spirit of video copy detection's matching track,
  e.g. Meta's VSC 2022): the two clips' frame embeddings, minus their common mean (what the
  shared camera and scene contribute), are compared frame by frame; a time map
  ``t_b = speed · t_a + offset`` (speeds from :data:`SPEEDS`, offsets from the frame pairs)
  picks the frames that should show the same moment; the map with the largest total
  ``Σ (cosine − 0.5)`` over at least ``min_frames`` frames wins (more good matches beat a few
  better ones; poor matches do not buy length), and ``align_sim`` is its mean cosine. The matched stretch is reported
  in seconds in both clips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vidaug.mining._regions import REGION_GRID, region_boxes
from vidaug.mining._vectors import _pair_codes, sequence_signature

__all__ = [
    "SPEEDS",
    "align_pairs",
    "frame_times",
    "no_region_evidence",
    "region_candidates",
    "region_pairs",
    "window_means",
]

#: Speed factors tried when aligning two clips (``b`` plays ``speed`` × as fast as ``a``).
SPEEDS = (0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0)
#: Frame pairs below this residual cosine do not propose an alignment.
_PROPOSE = 0.3
#: An aligned frame pair adds ``cosine − _GAIN`` to its alignment's total.
_GAIN = 0.5


def window_means(region_emb: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """``(n, G, D)`` float32 L2-normalised mean over the region frames of each window, for
    clips ``lo:hi`` of an index's ``region_emb`` (``(N, F·G, D)``)."""
    g = REGION_GRID**2
    r = np.asarray(region_emb[lo:hi], dtype=np.float32)
    n, m, d = r.shape
    w = r.reshape(n, m // g, g, d).mean(axis=1)
    return w / np.maximum(np.linalg.norm(w, axis=2, keepdims=True), 1e-12)


def region_candidates(region_emb: np.ndarray, clip_emb: np.ndarray, k: int) -> np.ndarray:
    """Pair codes (``lo * N + hi``, :func:`~vidaug.mining._vectors._pair_codes`) of clips
    where one clip's embedding is among the ``k`` nearest windows of the other (exact search,
    windows in chunks of 4096 clips)."""
    import faiss

    n = len(clip_emb)
    g = REGION_GRID**2
    q = np.ascontiguousarray(clip_emb, dtype=np.float32)
    best_s = np.full((n, 0), -np.inf, np.float32)
    best_c = np.zeros((n, 0), np.int64)
    kk = min(n * g, k + g)  # a clip's own windows may take up to g of the slots
    for lo in range(0, n, 4096):
        w = window_means(region_emb, lo, lo + 4096).reshape(-1, q.shape[1])
        s, i = faiss.knn(
            q, np.ascontiguousarray(w), min(kk, len(w)), metric=faiss.METRIC_INNER_PRODUCT
        )
        best_s = np.concatenate([best_s, s], axis=1)
        best_c = np.concatenate([best_c, np.where(i >= 0, lo + i // g, -1)], axis=1)
        if best_s.shape[1] > kk:
            top = np.argsort(-best_s, axis=1, kind="stable")[:, :kk]
            best_s = np.take_along_axis(best_s, top, axis=1)
            best_c = np.take_along_axis(best_c, top, axis=1)
    return _pair_codes(np.repeat(np.arange(n), best_c.shape[1]), best_c.ravel(), n)


def no_region_evidence(p: int) -> dict[str, np.ndarray]:
    """The regional evidence of ``p`` pairs with none (the fields of :func:`region_pairs`)."""
    return {"region_sim": np.zeros(p), "region_motion": np.zeros(p),
            "inner": np.zeros(p, np.int8), "window": np.zeros(p, np.int64),
            "window_agreement": np.zeros(p)}  # fmt: skip


def region_pairs(
    region_emb: np.ndarray,
    clip_emb: np.ndarray,
    sig: np.ndarray | None,
    lo: np.ndarray,
    hi: np.ndarray,
    proj: np.ndarray | None,
    steps: int,
    floor: float = -1.0,
) -> dict[str, np.ndarray]:
    """Regional evidence of the pairs ``(lo, hi)``, the better of the two directions
    (``region_motion`` is only measured where ``region_sim`` reaches ``floor``; 0 elsewhere).

    Returns:
        ``region_sim`` (window ↔ clip cosine), ``region_motion`` (window ↔ clip motion
        cosine; 0 without motion signatures), ``inner`` (1: ``hi`` is inside ``lo``, 2: ``lo``
        is inside ``hi``), ``window`` (index into :func:`~vidaug.mining._regions.region_boxes`
        of the outer clip) and ``window_agreement``: the best cosine between a window of
        one clip and a window of the other. A clip shown whole inside another matches a
        window better than any part of it matches a part of the other; a copy of the same
        scene (or the background a composite was drawn over) shares parts that match
        better.
    """
    g = REGION_GRID**2
    p = len(lo)
    out = no_region_evidence(p)
    if not p:
        return out
    d = clip_emb.shape[1]
    used = np.unique(np.concatenate([lo, hi]))
    slot = {int(c): i for i, c in enumerate(used)}
    wins = np.empty((len(used), g, d), np.float32)  # each involved clip's windows, once
    for lo_ in range(0, len(used), 1024):
        part = used[lo_ : lo_ + 1024]
        wins[lo_ : lo_ + len(part)] = window_means(region_emb[part])
    for j, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        wa, wb = wins[slot[a]], wins[slot[b]]
        sa, sb = wa @ clip_emb[b], wb @ clip_emb[a]  # b inside a / a inside b
        ka, kb = int(np.argmax(sa)), int(np.argmax(sb))
        outer, inner, k, code = (a, b, ka, 1) if sa[ka] >= sb[kb] else (b, a, kb, 2)
        mot = 0.0
        if sig is not None and max(sa[ka], sb[kb]) >= floor and sig[inner].any():
            seq = np.asarray(region_emb[outer], np.float32).reshape(-1, g, d)[:, k]
            seq /= np.maximum(np.linalg.norm(seq, axis=1, keepdims=True), 1e-12)
            got = sequence_signature(seq, proj, steps)
            mot = float(got @ sig[inner]) if got is not None else 0.0
        out["region_sim"][j] = float(max(sa[ka], sb[kb]))
        out["region_motion"][j], out["inner"][j], out["window"][j] = mot, code, k
        out["window_agreement"][j] = float((wa @ wb.T).max())
    return out


def frame_times(clip: Mapping[str, Any], m: int) -> np.ndarray:
    """Seconds of a clip's ``m`` embedded frames (frame indices / fps; evenly spaced over a
    second per frame when the index lacks them)."""
    idx = clip.get("frame_indices")
    fps = clip.get("fps")
    if isinstance(idx, Sequence) and len(idx) == m and isinstance(fps, (int, float)) and fps > 0:
        return np.asarray(idx, np.float64) / float(fps)
    return np.arange(m, dtype=np.float64)


def align_pairs(
    frame_rows: Sequence[np.ndarray],
    clips: Sequence[Mapping[str, Any]],
    lo: np.ndarray,
    hi: np.ndarray,
    min_frames: int,
    floor: float = 0.0,
) -> dict[str, np.ndarray]:
    """Best time alignment of each pair ``(lo, hi)``.

    Args:
        frame_rows: each clip's frame embeddings in time order.
        clips: the clip table (``frame_indices`` and ``fps`` give the frame times).
        lo, hi: the pairs.
        min_frames: fewest aligned frames (of each clip) that count as an overlap.
        floor: pairs whose best frame pair is below this cosine are not aligned (an
            alignment's mean cannot reach it).

    Returns:
        ``align_sim`` (mean residual cosine of the aligned frames, 0 when no alignment of
        ``min_frames`` frames exists), ``align_frames``, ``speed``, ``seg_a`` / ``seg_b``
        (``(P, 2)`` seconds of the matched stretch in each clip, NaN without alignment) and
        ``cover_a`` / ``cover_b`` (share of each clip's embedded span inside the stretch).
    """
    p = len(lo)
    out = {"align_sim": np.zeros(p), "align_frames": np.zeros(p, np.int64),
           "speed": np.ones(p), "seg_a": np.full((p, 2), np.nan),
           "seg_b": np.full((p, 2), np.nan), "cover_a": np.zeros(p),
           "cover_b": np.zeros(p)}  # fmt: skip
    for j, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        fa, fb = frame_rows[a], frame_rows[b]
        if len(fa) < min_frames or len(fb) < min_frames:
            continue
        ta, tb = frame_times(clips[a], len(fa)), frame_times(clips[b], len(fb))
        mu = np.concatenate([fa, fb]).mean(axis=0)
        ra, rb = fa - mu, fb - mu
        ra /= np.maximum(np.linalg.norm(ra, axis=1, keepdims=True), 1e-12)
        rb /= np.maximum(np.linalg.norm(rb, axis=1, keepdims=True), 1e-12)
        s = ra @ rb.T
        if s.max() < floor:
            continue
        ii, jj = np.nonzero(s >= _PROPOSE)
        if len(ii) < min_frames:
            continue
        dtb = float(np.median(np.diff(tb))) if len(tb) > 1 else 1.0
        dta = float(np.median(np.diff(ta))) if len(ta) > 1 else 1.0
        best, best_total = (0.0, 0, 1.0, None, None), -np.inf
        for speed in SPEEDS:
            tol = 0.5 * max(dtb, speed * dta) + 1e-6
            offsets = np.unique(np.round((tb[jj] - speed * ta[ii]) / (tol / 2)) * (tol / 2))
            mapped = speed * ta[None, :] + offsets[:, None]  # (O, Fa)
            near = np.clip(np.searchsorted(tb, mapped), 1, len(tb) - 1)
            left = np.where(mapped - tb[near - 1] <= tb[near] - mapped, near - 1, near)
            ok = np.abs(tb[left] - mapped) <= tol
            cos = np.where(ok, s[np.arange(len(ta))[None, :], left], 0.0)
            n = ok.sum(axis=1)
            distinct = np.array([len(np.unique(left[o][ok[o]])) for o in range(len(offsets))])
            valid = (n >= min_frames) & (distinct >= min_frames)
            if not valid.any():
                continue
            # each frame pair adds what it beats _GAIN by: more good matches beat a few
            # better ones, but poor matches do not buy length
            total = np.where(valid, np.where(ok, cos - _GAIN, 0.0).sum(axis=1), -np.inf)
            o = int(np.argmax(total))
            if total[o] > best_total:
                sel = np.flatnonzero(ok[o])
                best_total = float(total[o])
                mean = float(cos[o].sum() / n[o])
                best = (mean, int(n[o]), speed, ta[sel], tb[left[o][sel]])
        if best[3] is not None:
            out["align_sim"][j], out["align_frames"][j], out["speed"][j] = best[:3]
            out["seg_a"][j] = (best[3].min(), best[3].max())
            out["seg_b"][j] = (best[4].min(), best[4].max())
            for side, t, seg, step in (("a", ta, best[3], dta), ("b", tb, best[4], dtb)):
                span = t[-1] - t[0] + step
                out[f"cover_{side}"][j] = min(1.0, (seg.max() - seg.min() + step) / span)
    return out


def window_box(window: int) -> list[float]:
    """``[x0, y0, x1, y1]`` (shares of the frame) of a window index."""
    return [round(float(v), 4) for v in region_boxes()[window]]
