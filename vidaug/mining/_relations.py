"""Evidence of copies that are not whole-clip copies: a clip inside another, and two cuts of
one recording that share a stretch. Used by :func:`~vidaug.mining.find_duplicates`.

* **Regional** (picture-in-picture): each clip's region windows
  (:mod:`vidaug.mining._regions`) are averaged over its region frames into one vector per
  window; only *verified* windows count (:func:`verified_windows`: those re-embedded at the
  model's input size because the probe stage proposed them, :func:`region_proposals`; every
  window of an index embedded before issue 23). Clip ``x`` is *inside* clip ``c`` when a window of ``c`` matches ``x``'s clip
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
    "PROPOSE_FLOOR",
    "PROPOSE_K",
    "PROPOSE_MARGIN",
    "SPEEDS",
    "align_pairs",
    "frame_times",
    "no_region_evidence",
    "region_candidates",
    "region_pairs",
    "region_proposals",
    "verified_windows",
    "window_means",
]

# The probe stage's proposals (:func:`region_proposals`), set for issue 23 on 167 clips of the
# dedup calibration cache (33 picture-in-picture composites, their insets' originals, and
# crop, 60 % crop and rotated copies of them; probe cosines are lower than full-size ones, and
# the margin compares like with like: the probe against the two clips' probe queries): of the
# 30 insets whose composite window matches them at a cosine ≥ 0.8 at full size, these values
# propose the composite for 28 (93 %; all of those at ≥ 0.875; a margin over the 224-px clip
# cosines instead found 83 %), at 0.16 windows a clip that is no composite. Floor 0.6 found
# the same insets but verified 0.38 windows a clip of embed_bench's 24 clips (no composite:
# each window costs REGION_FRAMES model images), 0.65 verified 0.12 (benchmarks/RESULTS.md).
#: Windows proposed per clip (its best ones).
PROPOSE_K = 2
#: Lowest probe cosine proposed.
PROPOSE_FLOOR = 0.65
#: How much better than the other clip's whole frames (both probe queries) a proposed window
#: must match.
PROPOSE_MARGIN = 0.03

#: Speed factors tried when aligning two clips (``b`` plays ``speed`` × as fast as ``a``).
SPEEDS = (0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0)
#: Frame pairs below this residual cosine do not propose an alignment.
_PROPOSE = 0.3
#: An aligned frame pair adds ``cosine − _GAIN`` to its alignment's total.
_GAIN = 0.5


def verified_windows(clips: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(N, G)`` bool: which windows of each clip were embedded at the model's input size
    (the clip table's ``windows``, a list of window indices; a clip without it, embedded before
    the probe stage existed, has all of them)."""
    g = REGION_GRID**2
    out = np.ones((len(clips), g), bool)
    for i, c in enumerate(clips):
        w = c.get("windows")
        if isinstance(w, Sequence) and not isinstance(w, str):
            out[i] = False
            out[i, [int(x) for x in w if 0 <= int(x) < g]] = True
    return out


def window_means(
    region_emb: np.ndarray, lo: int = 0, hi: int | None = None, keep: np.ndarray | None = None
) -> np.ndarray:
    """``(n, G, D)`` float32 L2-normalised mean over the region frames of each window, for
    clips ``lo:hi`` of an index's ``region_emb`` (``(N, F·G, D)``); windows where ``keep``
    (``(n, G)`` bool, the same clips) is False are zero (frame rows that are zero, such as the
    probe stage's frames left out, do not count)."""
    g = REGION_GRID**2
    r = np.asarray(region_emb[lo:hi], dtype=np.float32)
    n, m, d = r.shape
    f = m // g  # whole frames of windows; a last row beyond them is the probe query
    w = r[:, : f * g].reshape(n, f, g, d).mean(axis=1)
    w /= np.maximum(np.linalg.norm(w, axis=2, keepdims=True), 1e-12)
    if keep is not None:
        w[~np.asarray(keep, bool)] = 0.0
    return w


def _nearest_windows(
    region_emb: np.ndarray, query: np.ndarray, keep: np.ndarray | None, kk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's ``kk`` nearest windows (of all clips, ``keep`` ones only) by cosine to its
    ``query`` row: ``(sims, window codes = clip · G + window)``, ``(N, kk)`` each, best first
    (exact search, windows in chunks of 4096 clips; missing: -inf, -1)."""
    import faiss

    n = len(query)
    g = REGION_GRID**2
    q = np.ascontiguousarray(query, dtype=np.float32)
    best_s = np.full((n, 0), -np.inf, np.float32)
    best_c = np.zeros((n, 0), np.int64)
    for lo in range(0, n, 4096):
        part = None if keep is None else keep[lo : lo + 4096]
        w = window_means(region_emb, lo, lo + 4096, part).reshape(-1, q.shape[1])
        s, i = faiss.knn(
            q, np.ascontiguousarray(w), min(kk, len(w)), metric=faiss.METRIC_INNER_PRODUCT
        )
        s = np.where(i >= 0, s, -np.inf)
        if part is not None:  # a window left out is a zero vector: never a neighbour
            s = np.where(part.ravel()[np.maximum(i, 0)], s, -np.inf)
        best_s = np.concatenate([best_s, s], axis=1)
        best_c = np.concatenate([best_c, np.where(np.isfinite(s), lo * g + i, -1)], axis=1)
        if best_s.shape[1] > kk:
            top = np.argsort(-best_s, axis=1, kind="stable")[:, :kk]
            best_s = np.take_along_axis(best_s, top, axis=1)
            best_c = np.take_along_axis(best_c, top, axis=1)
    return best_s, best_c


def region_candidates(
    region_emb: np.ndarray, clip_emb: np.ndarray, k: int, keep: np.ndarray | None = None
) -> np.ndarray:
    """Pair codes (``lo * N + hi``, :func:`~vidaug.mining._vectors._pair_codes`) of clips
    where one clip's embedding is among the ``k`` nearest windows of the other (``keep``: the
    windows that count, :func:`verified_windows`)."""
    n = len(clip_emb)
    g = REGION_GRID**2
    _, codes = _nearest_windows(region_emb, clip_emb, keep, min(n * g, k + g))  # own: ≤ g slots
    outer = np.where(codes >= 0, codes // g, -1)
    return _pair_codes(np.repeat(np.arange(n), outer.shape[1]), outer.ravel(), n)


def region_proposals(
    region_emb: np.ndarray,
    clip_emb: np.ndarray,
    verified: np.ndarray,
    *,
    k: int = PROPOSE_K,
    floor: float = PROPOSE_FLOOR,
    margin: float = PROPOSE_MARGIN,
    fresh: np.ndarray | None = None,
) -> dict[int, list[int]]:
    """The probe stage's proposals: clip → windows to verify (not verified yet). For each clip
    ``x``, its ``k`` best windows of other clips (verified ones count, and are not proposed
    again) whose probe (the not verified windows' rows; a verified window's own rows:
    :mod:`vidaug.mining._regions`) matches ``x``'s probe query (the last row of its
    ``region_emb``; its clip embedding when it has none) with a cosine ≥ ``floor`` and by
    ≥ ``margin`` more than that clip's own probe query matches ``x``'s (a clip inside another
    matches a part of it better than all of it). ``fresh`` (bool a clip): only the pairs where
    ``x`` or the window's clip is fresh (clips the proposals have not seen yet; None: all) —
    two clips an earlier run proposed for are not proposed for again, so a second run over
    the same clips verifies nothing new, whatever the windows it verified did to the ranking."""
    n = len(clip_emb)
    g = REGION_GRID**2
    out: dict[int, set[int]] = {}
    if n < 2 or verified.all() or (fresh is not None and not fresh.any()):
        return {}
    m = region_emb.shape[1]
    query = np.asarray(region_emb[:, -1], np.float32) if m % g else np.asarray(clip_emb)
    blank = np.einsum("nd,nd->n", query, query) == 0  # an older clip: no probe query
    query = np.where(blank[:, None], clip_emb, query)
    # every window competes, verified or not, so that verifying the best ones does not let
    # the next best in on the next run (a second `vidaug embed` over the same clips verifies
    # nothing new)
    sims, codes = _nearest_windows(region_emb, query, None, min(n * g, 2 * k + g))
    ce = np.asarray(query, np.float32)
    for x in range(n):
        took = 0
        for s, code in zip(sims[x].tolist(), codes[x].tolist(), strict=True):
            if code < 0 or s < floor or took >= k:
                break
            c, w = divmod(int(code), g)
            if c == x or s - float(ce[c] @ ce[x]) < margin:
                continue
            took += 1
            if not verified[c, w] and (fresh is None or fresh[x] or fresh[c]):
                out.setdefault(c, set()).add(w)
    return {c: sorted(ws) for c, ws in sorted(out.items())}


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
    keep: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Regional evidence of the pairs ``(lo, hi)``, the better of the two directions
    (``region_motion`` is only measured where ``region_sim`` reaches ``floor``; 0 elsewhere;
    ``keep``: the windows that count, :func:`verified_windows`; the others match nothing).

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
    frame_rows = region_emb.shape[1] // g * g  # a last row beyond them is the probe query
    used = np.unique(np.concatenate([lo, hi]))
    slot = {int(c): i for i, c in enumerate(used)}
    wins = np.empty((len(used), g, d), np.float32)  # each involved clip's windows, once
    for lo_ in range(0, len(used), 1024):
        part = used[lo_ : lo_ + 1024]
        wins[lo_ : lo_ + len(part)] = window_means(
            region_emb[part], keep=None if keep is None else keep[part]
        )
    for j, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        wa, wb = wins[slot[a]], wins[slot[b]]
        sa, sb = wa @ clip_emb[b], wb @ clip_emb[a]  # b inside a / a inside b
        ka, kb = int(np.argmax(sa)), int(np.argmax(sb))
        outer, inner, k, code = (a, b, ka, 1) if sa[ka] >= sb[kb] else (b, a, kb, 2)
        mot = 0.0
        if sig is not None and max(sa[ka], sb[kb]) >= floor and sig[inner].any():
            seq = np.asarray(region_emb[outer][:frame_rows], np.float32).reshape(-1, g, d)[:, k]
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
