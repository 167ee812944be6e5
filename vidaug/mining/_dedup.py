"""Near-duplicate clips and train/val/test leakage from an :class:`EmbeddingIndex`.

Two clips are near-duplicates when their clip embeddings are almost the same, or when a large
enough share of one clip's frames has a close match among the other's frames. The frame test is
what catches trimmed, cropped, re-encoded, resized and speed-changed copies, whose mean
embedding may drift.

Algorithm:

1. Candidate pairs from FAISS: each clip's ``k`` nearest clips, each frame's ``k`` nearest
   frames of *other* clips whose cosine is ≥ ``frame_threshold``, and each clip's ``k``
   nearest clips by motion signature (below).
2. For every candidate pair ``(a, b)`` the evidence is computed exactly from the stored
   embeddings (small ``Fa × Fb`` matrices, so kNN truncation loses nothing):

   * ``clip_sim`` = cos(clip_emb[a], clip_emb[b]);
   * ``frac_ab`` = share of a's frames whose best match among b's frames has cosine
     ≥ ``frame_threshold`` (``frac_ba`` the other way round);
   * ``motion_sim`` = cosine of the clips' *motion signatures*: each clip's frame embeddings,
     resampled to ``MOTION_STEPS`` evenly spaced times, minus their mean over time, flattened
     (a fixed random projection first shrinks each frame vector to ``MOTION_DIMS``). The mean
     over time is what a static camera's background contributes; what is left is how the
     content changes, which a crop, flip, re-encode, resize, brightening or speed change of the
     same footage keeps and a different moment of the same camera does not;
   * duplicate ⇔ ``clip_sim ≥ clip_threshold`` or ``max(frac_ab, frac_ba) ≥ match_fraction``
     or ``motion_sim ≥ motion_threshold`` with ``clip_sim ≥ motion_clip_floor`` (cosines are
     float32: within 1e-6 of a threshold counts as reaching it);
   * ``score`` = max(clip01(clip_sim), frac_ab, frac_ba, motion01(motion_sim)), with clip01
     clipping to [0, 1] (a negative cosine is no duplicate evidence) and motion01 mapping
     ``motion_threshold`` to 0.5 and 1 to 1 (linear, clipped).

3. Groups are the connected components of duplicate pairs (scipy.sparse.csgraph). Each group keeps one
   representative chosen by :attr:`DedupConfig.keep`; the other members are ``is_duplicate``.
4. Leakage: a duplicate pair whose clips both have a ``split`` and the splits differ is a leak;
   both clips get ``is_leak`` and list each other in ``leak_with``. Leakage is judged on direct
   pairs, not on whole groups (a long chain of near-duplicates can drift to unrelated content).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from vidaug.mining._index import EmbeddingIndex
from vidaug.mining._result import CheckResult

__all__ = [
    "DEFAULT",
    "KEEP_POLICIES",
    "DedupConfig",
    "DedupResult",
    "find_duplicates",
    "motion_signatures",
]

#: Similarities are float32: a cosine within this of a threshold counts as reaching it.
_EPS = 1e-6

#: Representative policies of :attr:`DedupConfig.keep`.
KeepPolicy = Literal["original", "longest", "highest_resolution", "first"]
KEEP_POLICIES: tuple[str, ...] = get_args(KeepPolicy)
_Share = Annotated[float, Field(gt=0, le=1)]


@pydantic_dataclass(frozen=True, config=ConfigDict(allow_inf_nan=False))
class DedupConfig:
    """Thresholds of :func:`find_duplicates` (validated by pydantic: a bad value raises a
    ``ValueError`` naming the field).

    Attributes:
        clip_threshold: clip-embedding cosine at or above which two clips are duplicates.
        frame_threshold: frame cosine at or above which two frames match.
        match_fraction: share of one clip's frames that must match frames of the other clip
            for the pair to be duplicates (in ``(0, 1]``).
        motion_threshold: motion-signature cosine at or above which two clips are
            duplicates (in ``(0, 1]``); None turns the motion evidence off.
        motion_clip_floor: motion counts only for clips whose clip cosine is at least this:
            the same motion over a different scene is not a copy (perturbed copies in the
            calibration had clip cosines ≥ 0.77; unrelated clips a median of 0.56).
        k: neighbours searched per clip and per frame (candidate generation only; ≥ 1).
        keep: representative of each group: ``"original"`` (what a person would call the
            original: :func:`original_key`), ``"longest"`` (duration, else source frames / fps,
            else frame counts), ``"highest_resolution"`` (width × height) or ``"first"``
            (smallest clip id). Ties go to the smallest clip id (string order).
    """

    clip_threshold: float
    frame_threshold: float
    match_fraction: _Share
    motion_threshold: _Share | None = None
    motion_clip_floor: float = 0.7
    k: Annotated[int, Field(ge=1)] = 32
    keep: KeepPolicy = "longest"


#: Default thresholds, calibrated on MobileNetV2 (8 frames a clip) embeddings of the 139
#: surveillance clips of ../shared/data and 7 perturbed copies of each (re-encode, crop,
#: resize, trim, brighten, flip, speed), group-held-out (benchmarks/dedup_calibration.py;
#: numbers in benchmarks/RESULTS.md, 2026-11-26). Held out: precision 100 % / 99.9 %, recall
#: 89 % / 84 % (crop copies 78 %, flip 92 %, the others 96-100 %); no false pair between
#: distinct clips of one camera on either fold. Clip and frame cosines alone reach 17 % recall
#: at that precision (a static camera's other moments score as high as copies); the motion
#: evidence is what finds crop, flip, re-encode and brightened copies.
DEFAULT = DedupConfig(
    clip_threshold=0.99, frame_threshold=0.98, match_fraction=1.0, motion_threshold=0.28
)


@dataclass
class DedupResult(CheckResult):
    """Output of :func:`find_duplicates` (the :class:`~vidaug.mining.CheckResult` shape).

    :meth:`table` has one row per clip in clip-table order: ``id``; ``is_duplicate`` (a
    non-representative member of a group); ``duplicate_score`` in [0, 1] (the strongest evidence
    over the clip's candidate pairs: max of clip01(clip_sim), frac_ab, frac_ba); ``group`` (index
    into :attr:`groups` or None); ``representative`` (the kept member of a group; False for clips
    in no group); ``nearest`` (id of the most similar other clip by clip embedding, None if
    alone) and ``similarity`` (its cosine); ``is_leak``; ``leak_with`` (ids of duplicates in
    another split). :meth:`summary`: ``clips``, ``candidates``, ``pairs``, ``groups``,
    ``duplicates``, ``leaks``, ``leaking_clips``, ``config``.

    Attributes:
        pairs: the duplicate pairs, dicts with ``a``, ``b`` (clip ids, ``a`` before ``b`` in the
            clip table), ``clip_sim``, ``frac_ab``, ``frac_ba``, ``motion_sim`` (0 when the
            motion evidence is off or the clip cosine is below ``motion_clip_floor``), ``score``, ``is_leak``.
        groups: lists of clip ids, representative first, then the others in id order.
        config: the :class:`DedupConfig` that ran.
        candidates: number of candidate pairs evaluated.
    """

    kind: ClassVar[str] = "dedup"
    pairs: list[dict[str, Any]]
    groups: list[list[str]]
    config: DedupConfig
    candidates: int = 0
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "pairs": len(self.pairs),
            "groups": len(self.groups),
            "duplicates": sum(r["is_duplicate"] for r in self._rows),
            "leaks": sum(p["is_leak"] for p in self.pairs),
            "leaking_clips": sum(r["is_leak"] for r in self._rows),
        }


# ---------------------------------------------------------------------------------------------
# Candidates and exact evidence
# ---------------------------------------------------------------------------------------------


def _clip_candidates(index: EmbeddingIndex, k: int) -> np.ndarray:
    n = len(index)
    kc = min(n, k + 1)
    _, nb = index.search_clips(index.clip_emb, kc)
    a = np.repeat(np.arange(n), kc)
    b = nb.ravel()
    ok = (b >= 0) & (b != a)
    lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
    return lo * n + hi


#: Motion signatures: time steps and per-frame dimensions (after a fixed random projection).
MOTION_STEPS = 8
MOTION_DIMS = 128
#: A clip whose frames barely change (residual norm below this share of the frames' norm)
#: has no motion signature: it neither matches nor is matched by motion.
_STATIC = 1e-3


def motion_signatures(frame_emb: np.ndarray, frame_clip: np.ndarray, n: int) -> np.ndarray:
    """Motion signatures of ``n`` clips from their frame embeddings (rows in time order per
    clip; ``frame_clip`` gives each row's clip).

    Returns:
        ``(n, MOTION_STEPS × MOTION_DIMS)`` float32, L2-normalised; zero rows for clips with
        fewer than 2 frames or no change over time.
    """
    fe, fc = frame_emb, frame_clip
    d = fe.shape[1]
    if d > MOTION_DIMS:  # same projection for every index: a fixed seed
        proj = np.random.default_rng(0x4D07).standard_normal((d, MOTION_DIMS)).astype(np.float32)
        proj /= np.sqrt(MOTION_DIMS)
    else:
        proj = None
    order = np.argsort(fc, kind="stable")
    counts = np.bincount(fc, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    steps = MOTION_STEPS
    out = np.zeros((n, steps * (MOTION_DIMS if proj is not None else d)), np.float32)
    for c in range(n):
        m = int(counts[c])
        if m < 2:
            continue
        seq = fe[order[starts[c] : starts[c] + m]].astype(np.float32)
        t = np.linspace(0, m - 1, steps)
        i0 = np.floor(t).astype(int)
        i1 = np.minimum(i0 + 1, m - 1)
        w = (t - i0)[:, None].astype(np.float32)
        seq = seq[i0] * (1 - w) + seq[i1] * w
        if proj is not None:
            seq = seq @ proj
        res = seq - seq.mean(axis=0)
        norm = float(np.linalg.norm(res))
        if norm > _STATIC * float(np.linalg.norm(seq)):
            out[c] = res.ravel() / norm
    return out


def _motion_candidates(sig: np.ndarray, k: int) -> np.ndarray:
    import faiss

    n = len(sig)
    has = np.flatnonzero(np.abs(sig).sum(axis=1) > 0)
    if len(has) < 2:
        return np.zeros(0, np.int64)
    ix = faiss.IndexFlatIP(sig.shape[1])
    ix.add(np.ascontiguousarray(sig[has]))
    kc = min(len(has), k + 1)
    _, nb = ix.search(np.ascontiguousarray(sig[has]), kc)
    a = np.repeat(has, kc)
    b = np.where(nb.ravel() >= 0, has[np.maximum(nb.ravel(), 0)], -1)
    ok = (b >= 0) & (b != a)
    lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
    return lo * n + hi


def _frame_candidates(
    index: EmbeddingIndex, k: int, threshold: float, chunk: int = 8192
) -> np.ndarray:
    n, fc = len(index), index.frame_clip
    kf = min(index.n_frames, k + int(np.bincount(fc, minlength=n).max()))
    out = []
    for lo in range(0, index.n_frames, chunk):
        q = np.arange(lo, min(lo + chunk, index.n_frames))
        sims, rows = index.search_frames(index.frame_emb[q], kf)
        own = fc[q][:, None]
        other = (rows >= 0) & (fc[np.maximum(rows, 0)] != own)
        keep = other & (np.cumsum(other, axis=1) <= k) & (sims >= threshold)
        a = np.broadcast_to(own, rows.shape)[keep]
        b = fc[rows[keep]]
        out.append(np.minimum(a, b) * n + np.maximum(a, b))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _evidence(
    index: EmbeddingIndex, lo: np.ndarray, hi: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``frac_ab`` and ``frac_ba`` for pairs sorted by ``lo``."""
    n, fe, fc = len(index), index.frame_emb, index.frame_clip
    counts = np.bincount(fc, minlength=n)
    order = np.argsort(fc, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    frac_ab = np.zeros(len(lo))
    frac_ba = np.zeros(len(lo))
    if not len(lo):
        return frac_ab, frac_ba
    firsts = np.flatnonzero(np.r_[True, lo[1:] != lo[:-1]])
    for s, e in zip(firsts, np.r_[firsts[1:], len(lo)], strict=True):
        a, bs = lo[s], hi[s:e]
        rows_a = fe[order[starts[a] : starts[a] + counts[a]]]
        cols = np.concatenate([order[starts[b] : starts[b] + counts[b]] for b in bs])
        sim = rows_a @ fe[cols].T  # (Fa, ΣFb)
        seg = np.concatenate([[0], np.cumsum(counts[bs])[:-1]])
        frac_ab[s:e] = (np.maximum.reduceat(sim, seg, axis=1) >= threshold).mean(axis=0)
        hits = (sim.max(axis=0) >= threshold).astype(np.float64)
        frac_ba[s:e] = np.add.reduceat(hits, seg) / counts[bs]
    return frac_ab, frac_ba


# ---------------------------------------------------------------------------------------------
# Groups and representatives
# ---------------------------------------------------------------------------------------------


def _components(n: int, lo: np.ndarray, hi: np.ndarray) -> list[list[int]]:
    """Groups of ≥ 2 clips linked by the pairs ``(lo[i], hi[i])`` (scipy's connected
    components), each in clip order, ordered by their first clip."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(lo)), (np.asarray(lo), np.asarray(hi))), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    comps: dict[int, list[int]] = {}
    for i, c in enumerate(label.tolist()):
        comps.setdefault(c, []).append(i)
    return [c for c in comps.values() if len(c) > 1]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    v = float(v)
    return v if np.isfinite(v) and v >= 0 else None


def _lengths(
    clips: Sequence[Mapping[str, Any]], members: list[int], rows: np.ndarray
) -> list[float]:
    """Clip lengths by the first measure every member has: duration, source_frames / fps,
    source_frames, frames, embedded frame rows."""

    def by_fps(c: Mapping[str, Any]) -> float | None:
        sf, fps = _number(c.get("source_frames")), _number(c.get("fps"))
        return sf / fps if sf is not None and fps else None

    measures = [
        lambda c: _number(c.get("duration")),
        by_fps,
        lambda c: _number(c.get("source_frames")),
        lambda c: _number(c.get("frames")),
    ]
    for measure in measures:
        vals = [measure(clips[m]) for m in members]
        if all(v is not None for v in vals):
            return vals  # type: ignore[return-value]
    return [float(rows[m]) for m in members]


def _bucket(v: float | None, rel: float) -> int:
    """``v`` on a log scale in steps of ``rel`` (values within ``rel`` of each other tie)."""
    return int(np.floor(np.log(max(v, 1e-9)) / np.log1p(rel))) if v else -(10**9)


def original_key(c: Mapping[str, Any], length: float | None = None) -> tuple:
    """Sort key (higher first) of the member of a duplicate group that a person would call
    the original: the full frame (no black bars), the most picture (content pixels), the
    native frame rate, colour, the most bits per pixel (least re-compressed), then the
    longest. Each step compares within a tolerance, so noise does not decide; fields an
    index lacks (older indexes) count as equal."""
    w, h = _number(c.get("width")) or 0.0, _number(c.get("height")) or 0.0
    border = _number(c.get("border")) or 0.0
    chroma = _number(c.get("chroma"))
    fps = _number(c.get("fps"))
    size, frames = _number(c.get("size")), _number(c.get("source_frames"))
    bpp = size * 8 / (frames * w * h) if size and frames and w and h else None
    return (
        -int(border > 0.03),  # letterbox / pillarbox: a copy made for another screen
        _bucket(w * h * (1 - border), 0.05),
        _bucket(fps, 0.03),
        int(chroma is None or chroma > 3.0),  # a grayscale copy of a colour original
        _bucket(bpp, 0.35),
        _bucket(length, 0.02),
    )


def _representative(
    clips: Sequence[Mapping[str, Any]], members: list[int], keep: str, rows: np.ndarray
) -> int:
    ids = [clips[m]["id"] for m in members]
    if keep == "original":
        lengths = _lengths(clips, members, rows)
        keys = [original_key(clips[m], lengths[i]) for i, m in enumerate(members)]
        best = min(range(len(members)), key=lambda i: (tuple(-k for k in keys[i]), ids[i]))
        return members[best]
    if keep == "longest":
        key = _lengths(clips, members, rows)
    elif keep == "highest_resolution":
        key = [
            (_number(clips[m].get("width")) or 0.0) * (_number(clips[m].get("height")) or 0.0)
            for m in members
        ]
    else:
        key = [0.0] * len(members)
    best = min(range(len(members)), key=lambda i: (-key[i], ids[i]))
    return members[best]


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def find_duplicates(index: EmbeddingIndex, config: DedupConfig = DEFAULT) -> DedupResult:
    """Find near-duplicate clips and cross-split leaks.

    Steps: candidate pairs from clip, frame and motion neighbours (:func:`_candidate_pairs`);
    evidence and the duplicate decision per pair (:func:`_pair_evidence`); cross-split leaks
    (:func:`_leaks`); groups with their kept clip (:func:`_groups`); the per-clip table
    (:func:`_clip_table`).

    Args:
        index: frame and clip embeddings of the clips (their table may carry ``split`` and the
            ``duration`` / ``source_frames`` / ``fps`` / ``frames`` / ``width`` / ``height``
            used by the ``keep`` policy).
        config: thresholds and policy (default :data:`DEFAULT`).

    Returns:
        A :class:`DedupResult` (pairs, groups, per-clip table).
    """
    clips, n = index.clips, len(index)
    ids = [c["id"] for c in clips]
    sig = None
    if n >= 2 and config.motion_threshold is not None:
        sig = motion_signatures(index.frame_emb, index.frame_clip, n)
    lo, hi, n_candidates = _candidate_pairs(index, config, sig)
    ev = _pair_evidence(index, config, sig, lo, hi)
    is_leak = _leaks(clips, lo, hi, ev["is_dup"])
    groups, group_of, reps = _groups(index, config, lo[ev["is_dup"]], hi[ev["is_dup"]])
    rows = _clip_table(ids, lo, hi, ev, is_leak, group_of, reps)
    pairs = [
        {"a": ids[a], "b": ids[b], "clip_sim": float(cs), "frac_ab": float(fa),
         "frac_ba": float(fb), "motion_sim": float(ms), "score": float(s), "is_leak": bool(lk)}
        for a, b, cs, fa, fb, ms, s, lk, d in zip(
            lo.tolist(), hi.tolist(), ev["clip_sim"], ev["frac_ab"], ev["frac_ba"],
            ev["motion_sim"], ev["score"], is_leak, ev["is_dup"], strict=True,
        )
        if d
    ]  # fmt: skip
    return DedupResult(pairs=pairs, groups=groups, config=config, candidates=n_candidates,
                       _rows=rows)  # fmt: skip


def _candidate_pairs(
    index: EmbeddingIndex, config: DedupConfig, sig: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(lo, hi, count)``: the clip pairs worth checking (``lo < hi``), from clip, frame and
    motion neighbours."""
    n = len(index)
    if n < 2:
        codes = np.zeros(0, np.int64)
    else:
        codes = np.unique(
            np.concatenate(
                [
                    _clip_candidates(index, config.k),
                    _frame_candidates(index, config.k, config.frame_threshold - _EPS),
                    _motion_candidates(sig, config.k) if sig is not None else [],
                ]
            ).astype(np.int64)
        )
    return codes // max(n, 1), codes % max(n, 1), len(codes)


def _pair_evidence(
    index: EmbeddingIndex,
    config: DedupConfig,
    sig: np.ndarray | None,
    lo: np.ndarray,
    hi: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per pair: ``clip_sim``, ``frac_ab`` / ``frac_ba`` (matching frames), ``motion_sim``,
    ``score`` in [0, 1] and the decision ``is_dup``."""
    clip_sim = np.einsum("pd,pd->p", index.clip_emb[lo], index.clip_emb[hi]).astype(np.float64)
    frac_ab, frac_ba = _evidence(index, lo, hi, config.frame_threshold - _EPS)
    score = np.maximum(np.clip(clip_sim, 0.0, 1.0), np.maximum(frac_ab, frac_ba))
    is_dup = (clip_sim >= config.clip_threshold - _EPS) | (
        np.maximum(frac_ab, frac_ba) >= config.match_fraction
    )
    motion_sim = np.zeros(len(lo))
    if sig is not None and config.motion_threshold is not None:
        mt = config.motion_threshold
        motion_sim = np.einsum("pd,pd->p", sig[lo], sig[hi]).astype(np.float64)
        motion_sim = np.where(clip_sim >= config.motion_clip_floor - _EPS, motion_sim, 0.0)
        is_dup |= motion_sim >= mt - _EPS
        motion01 = np.clip(0.5 + 0.5 * (motion_sim - mt) / max(1.0 - mt, 1e-9), 0.0, 1.0)
        score = np.maximum(score, np.where(motion_sim > 0, motion01, 0.0))
    return {"clip_sim": clip_sim, "frac_ab": frac_ab, "frac_ba": frac_ba,
            "motion_sim": motion_sim, "score": score, "is_dup": is_dup}  # fmt: skip


def _leaks(clips: Sequence[Mapping[str, Any]], lo, hi, is_dup) -> np.ndarray:
    """Duplicate pairs whose clips sit in two different splits."""
    splits = [c.get("split") for c in clips]
    return np.array(
        [
            bool(d) and splits[a] is not None and splits[b] is not None and splits[a] != splits[b]
            for a, b, d in zip(lo.tolist(), hi.tolist(), is_dup.tolist(), strict=True)
        ],
        dtype=bool,
    )


def _groups(
    index: EmbeddingIndex, config: DedupConfig, lo: np.ndarray, hi: np.ndarray
) -> tuple[list[list[str]], dict[int, int], set[int]]:
    """Duplicate groups (kept clip first, then the others by id), each clip's group and the
    kept clips, from the duplicate pairs ``(lo, hi)``."""
    clips, n = index.clips, len(index)
    ids = [c["id"] for c in clips]
    rows_per_clip = np.bincount(index.frame_clip, minlength=n)
    groups: list[list[str]] = []
    group_of: dict[int, int] = {}
    reps: set[int] = set()
    comps = _components(n, lo, hi)
    comps.sort(key=lambda m: min(ids[i] for i in m))
    for g, members in enumerate(comps):
        rep = _representative(clips, members, config.keep, rows_per_clip)
        reps.add(rep)
        others = sorted((m for m in members if m != rep), key=lambda m: ids[m])
        groups.append([ids[rep]] + [ids[m] for m in others])
        for m in members:
            group_of[m] = g
    return groups, group_of, reps


def _clip_table(
    ids: list[str],
    lo: np.ndarray,
    hi: np.ndarray,
    ev: dict[str, np.ndarray],
    is_leak: np.ndarray,
    group_of: dict[int, int],
    reps: set[int],
) -> list[dict[str, Any]]:
    """One row per clip (STYLE §6): its best evidence over all candidate pairs, nearest clip,
    group and leaks."""
    n = len(ids)
    best_score = np.zeros(n)
    nearest = np.full(n, -1)
    near_sim = np.full(n, -np.inf)
    for a, b, s, cs in zip(
        lo.tolist(), hi.tolist(), ev["score"].tolist(), ev["clip_sim"].tolist(), strict=True
    ):
        for x, y in ((a, b), (b, a)):
            best_score[x] = max(best_score[x], s)
            if cs > near_sim[x] or (cs == near_sim[x] and ids[y] < ids[nearest[x]]):
                near_sim[x], nearest[x] = cs, y
    leak_with: list[set[str]] = [set() for _ in range(n)]
    for a, b in zip(lo[is_leak].tolist(), hi[is_leak].tolist(), strict=True):
        leak_with[a].add(ids[b])
        leak_with[b].add(ids[a])
    rows = []
    for i in range(n):
        g = group_of.get(i)
        rows.append(
            {
                "id": ids[i],
                "is_duplicate": g is not None and i not in reps,
                "duplicate_score": float(best_score[i]),
                "group": g,
                "representative": g is not None and i in reps,
                "nearest": ids[nearest[i]] if nearest[i] >= 0 else None,
                "similarity": float(near_sim[i]) if nearest[i] >= 0 else None,
                "is_leak": bool(leak_with[i]),
                "leak_with": sorted(leak_with[i]),
            }
        )
    return rows
