"""Near-duplicate clips and train/val/test leakage from an :class:`EmbeddingIndex`.

Two clips are near-duplicates when their clip embeddings are almost the same, or when a large
enough share of one clip's frames has a close match among the other's frames. The frame test is
what catches trimmed, cropped, re-encoded, resized and speed-changed copies, whose mean
embedding may drift.

Algorithm:

1. Candidate pairs from FAISS: each clip's ``k`` nearest clips, plus each frame's ``k`` nearest
   frames of *other* clips whose cosine is ≥ ``frame_threshold``.
2. For every candidate pair ``(a, b)`` the evidence is computed exactly from the stored
   embeddings (small ``Fa × Fb`` matrices, so kNN truncation loses nothing):

   * ``clip_sim`` = cos(clip_emb[a], clip_emb[b]);
   * ``frac_ab`` = share of a's frames whose best match among b's frames has cosine
     ≥ ``frame_threshold`` (``frac_ba`` the other way round);
   * duplicate ⇔ ``clip_sim ≥ clip_threshold`` or ``max(frac_ab, frac_ba) ≥ match_fraction``
     (cosines are float32: within 1e-6 of a threshold counts as reaching it);
   * ``score`` = max(clip01(clip_sim), frac_ab, frac_ba), with clip01 clipping to [0, 1]
     (a negative cosine is no duplicate evidence).

3. Groups are the connected components of duplicate pairs (union-find). Each group keeps one
   representative chosen by :attr:`DedupConfig.keep`; the other members are ``is_duplicate``.
4. Leakage: a duplicate pair whose clips both have a ``split`` and the splits differ is a leak;
   both clips get ``is_leak`` and list each other in ``leak_with``. Leakage is judged on direct
   pairs, not on whole groups (a long chain of near-duplicates can drift to unrelated content).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.mining._index import EmbeddingIndex

__all__ = ["DEFAULT", "KEEP_POLICIES", "DedupConfig", "DedupResult", "find_duplicates"]

#: Similarities are float32: a cosine within this of a threshold counts as reaching it.
_EPS = 1e-6

#: Representative policies of :attr:`DedupConfig.keep`.
KEEP_POLICIES = ("longest", "highest_resolution", "first")


@dataclass(frozen=True)
class DedupConfig:
    """Thresholds of :func:`find_duplicates`.

    Attributes:
        clip_threshold: clip-embedding cosine at or above which two clips are duplicates.
        frame_threshold: frame cosine at or above which two frames match.
        match_fraction: share of one clip's frames that must match frames of the other clip
            for the pair to be duplicates (in ``(0, 1]``).
        k: neighbours searched per clip and per frame (candidate generation only).
        keep: representative of each group: ``"longest"`` (duration, else source frames / fps,
            else frame counts), ``"highest_resolution"`` (width × height) or ``"first"``
            (smallest clip id). Ties go to the smallest clip id (string order).
    """

    clip_threshold: float
    frame_threshold: float
    match_fraction: float
    k: int = 32
    keep: str = "longest"

    def __post_init__(self) -> None:
        for name in ("clip_threshold", "frame_threshold"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ValueError(f"DedupConfig.{name} must be a finite number, got {v!r}")
        if not 0 < self.match_fraction <= 1:
            raise ValueError(
                f"DedupConfig.match_fraction must be in (0, 1], got {self.match_fraction}"
            )
        if int(self.k) != self.k or self.k < 1:
            raise ValueError(f"DedupConfig.k must be an integer ≥ 1, got {self.k}")
        if self.keep not in KEEP_POLICIES:
            raise ValueError(f"DedupConfig.keep must be one of {KEEP_POLICIES}, got {self.keep!r}")


#: Default thresholds, calibrated on MobileNetV2 (8 frames a clip) embeddings of the 139
#: surveillance clips of ../shared/data and 7 perturbed copies of each, group-held-out
#: (benchmarks/dedup_calibration.py; numbers in benchmarks/RESULTS.md, 2026-11-26). They are
#: the most recall reachable with no false pair: distinct clips of one static camera score as
#: high as perturbed copies (clip cosine up to 0.977), so the issue's targets are NOT met: at
#: these values precision 100 %, recall 16.8 % (copies that drop / resample frames are found;
#: crop, flip, re-encode, brighten copies are not); the old placeholder (0.95, 0.90, 0.5) had
#: recall 74.8 % but precision 63 % (1709 false pairs, all between clips of one camera).
DEFAULT = DedupConfig(clip_threshold=0.99, frame_threshold=0.98, match_fraction=1.0)


@dataclass
class DedupResult:
    """Output of :func:`find_duplicates`.

    Attributes:
        pairs: the duplicate pairs, dicts with ``a``, ``b`` (clip ids, ``a`` before ``b`` in the
            clip table), ``clip_sim``, ``frac_ab``, ``frac_ba``, ``score``, ``is_leak``.
        groups: lists of clip ids, representative first, then the others in id order.
        config: the thresholds used.
        candidates: number of candidate pairs evaluated.
    """

    pairs: list[dict[str, Any]]
    groups: list[list[str]]
    config: DedupConfig
    candidates: int = 0
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def table(self) -> list[dict[str, Any]]:
        """One row per clip, in clip-table order (STYLE §6).

        Keys: ``id``; ``is_duplicate`` (a non-representative member of a group);
        ``duplicate_score`` in [0, 1] (the strongest evidence over the clip's candidate pairs:
        max of clip01(clip_sim), frac_ab, frac_ba); ``group`` (index into :attr:`groups` or
        None); ``representative`` (the kept member of a group; False for clips in no group);
        ``nearest`` (id of the most similar other clip by clip embedding, None if alone) and
        ``similarity`` (its cosine); ``is_leak``; ``leak_with`` (ids of duplicates in another
        split).
        """
        return [{**r, "leak_with": list(r["leak_with"])} for r in self._rows]

    def to_jsonl(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` as JSON lines, atomically (temp file + ``os.replace``).

        Returns:
            ``path`` as a :class:`~pathlib.Path`.
        """
        from vidaug.datasets import write_jsonl

        return write_jsonl(path, self.table())

    def summary(self) -> dict[str, Any]:
        """Counts: clips, candidate pairs, duplicate pairs, groups, duplicates, leaks."""
        return {
            "clips": len(self._rows),
            "candidates": self.candidates,
            "pairs": len(self.pairs),
            "groups": len(self.groups),
            "duplicates": sum(r["is_duplicate"] for r in self._rows),
            "leaks": sum(p["is_leak"] for p in self.pairs),
            "leaking_clips": sum(r["is_leak"] for r in self._rows),
            "thresholds": asdict(self.config),
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
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
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


def _representative(
    clips: Sequence[Mapping[str, Any]], members: list[int], keep: str, rows: np.ndarray
) -> int:
    ids = [clips[m]["id"] for m in members]
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
    if n >= 2:
        codes = np.unique(
            np.concatenate(
                [
                    _clip_candidates(index, config.k),
                    _frame_candidates(index, config.k, config.frame_threshold - _EPS),
                ]
            )
        )
    else:
        codes = np.zeros(0, np.int64)
    lo, hi = codes // max(n, 1), codes % max(n, 1)
    clip_sim = np.einsum("pd,pd->p", index.clip_emb[lo], index.clip_emb[hi]).astype(np.float64)
    frac_ab, frac_ba = _evidence(index, lo, hi, config.frame_threshold - _EPS)
    score = np.maximum(np.clip(clip_sim, 0.0, 1.0), np.maximum(frac_ab, frac_ba))
    is_dup = (clip_sim >= config.clip_threshold - _EPS) | (
        np.maximum(frac_ab, frac_ba) >= config.match_fraction
    )
    splits = [c.get("split") for c in clips]
    is_leak = np.array(
        [
            bool(d) and splits[a] is not None and splits[b] is not None and splits[a] != splits[b]
            for a, b, d in zip(lo.tolist(), hi.tolist(), is_dup.tolist(), strict=True)
        ],
        dtype=bool,
    )

    # per-clip evidence over all candidate pairs
    best_score = np.zeros(n)
    nearest = np.full(n, -1)
    near_sim = np.full(n, -np.inf)
    for a, b, s, cs in zip(
        lo.tolist(), hi.tolist(), score.tolist(), clip_sim.tolist(), strict=True
    ):
        for x, y in ((a, b), (b, a)):
            best_score[x] = max(best_score[x], s)
            if cs > near_sim[x] or (cs == near_sim[x] and ids[y] < ids[nearest[x]]):
                near_sim[x], nearest[x] = cs, y
    leak_with: list[set[str]] = [set() for _ in range(n)]
    for a, b in zip(lo[is_leak].tolist(), hi[is_leak].tolist(), strict=True):
        leak_with[a].add(ids[b])
        leak_with[b].add(ids[a])

    rows_per_clip = np.bincount(index.frame_clip, minlength=n)
    groups: list[list[str]] = []
    group_of: dict[int, int] = {}
    reps: set[int] = set()
    comps = _components(n, lo[is_dup], hi[is_dup])
    comps.sort(key=lambda m: min(ids[i] for i in m))
    for g, members in enumerate(comps):
        rep = _representative(clips, members, config.keep, rows_per_clip)
        reps.add(rep)
        others = sorted((m for m in members if m != rep), key=lambda m: ids[m])
        groups.append([ids[rep]] + [ids[m] for m in others])
        for m in members:
            group_of[m] = g

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
    pairs = [
        {
            "a": ids[a],
            "b": ids[b],
            "clip_sim": float(cs),
            "frac_ab": float(fa),
            "frac_ba": float(fb),
            "score": float(s),
            "is_leak": bool(lk),
        }
        for a, b, cs, fa, fb, s, lk, d in zip(
            lo.tolist(),
            hi.tolist(),
            clip_sim,
            frac_ab,
            frac_ba,
            score,
            is_leak,
            is_dup,
            strict=True,
        )
        if d
    ]
    return DedupResult(pairs=pairs, groups=groups, config=config, candidates=len(codes), _rows=rows)
