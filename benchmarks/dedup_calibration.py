"""Calibrate the near-duplicate thresholds of ``vidaug.mining.find_duplicates`` (issue 4 §3,
issue 13's copy kinds).

    .venv/bin/python benchmarks/dedup_calibration.py            # full run, updates RESULTS.md
    .venv/bin/python benchmarks/dedup_calibration.py --limit 24 # a few originals, prints only

The fight / noFight clips of ``../shared/data`` (surveillance footage, 22 source-video groups)
get perturbed copies (``_copies.py``: the 7 kinds of issue 4 — re-encode, crop, resize, trim,
brighten, flip, speed — and the kinds of issue 13's evaluation set — burned-in clock + logo,
half fps, 60-75 % crop, rotation, mirror + crop + speed, letterbox / pillarbox, grayscale JPEG
⅓ size, picture-in-picture over another clip, two overlapping cuts), written as mp4 to a cache
folder. Originals and copies are embedded with MobileNetV2 (8 frames a clip; the embedding
index in the cache folder is reused by later runs).

The source groups are split into two folds first (so that both clips of a picture-in-picture
composite lie in one fold). Thresholds are chosen on one fold and measured on the other:
stages 1-2 (clip, frame, fraction, motion) on an exhaustive grid of the pair evidence; stages
3-7 (``region_threshold``, ``align_threshold``, ``gray_threshold``, ``region_moving_motion``,
``warp_threshold`` of ``DedupConfig``, when it has them) by 1-D sweeps run through ``find_duplicates`` itself. Held-out precision / recall are always measured
with ``find_duplicates`` on an index of the fold's clips. README.md describes the method.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (first: pins the thread pools before numpy / cv2 load)
import _copies as K  # noqa: E402
import numpy as np  # noqa: E402
from _results import write_marked_section  # noqa: E402

from vidaug.datasets import ClipWriter, read_clip, write_jsonl  # noqa: E402

SEED = 0
FRAMES = 8
#: Change when the copies change (kinds, params, file layout): the cache is then rebuilt.
COPIES_VERSION = "4"
# Threshold grid. match_fraction in eighths: clips are embedded with 8 frames.
CLIP_GRID = np.round(np.arange(0.80, 1.0001, 0.01), 2)
FRAME_GRID = np.round(np.arange(0.70, 0.9801, 0.01), 2)
FRACTION_GRID = np.arange(1, 9) / 8
MOTION_GRID = np.round(np.arange(0.16, 0.8001, 0.02), 2)
#: Stages 3-7: 1-D sweeps through find_duplicates (DedupConfig field → grid).
SWEEPS = {
    "region_threshold": np.round(np.arange(0.50, 0.9501, 0.025), 3),
    "align_threshold": np.round(np.arange(0.30, 0.9501, 0.025), 3),
    "gray_threshold": np.round(np.arange(0.30, 0.9751, 0.025), 3),
    # a window that moves as the inner clip does, from a window cosine of
    # region_moving_threshold (0.75) up
    "region_moving_motion": np.round(np.arange(0.20, 0.8001, 0.025), 3),
    # pixel motion of gray thumbnails under the best crop / rotation / mirror (issue 23)
    # from 0.30: on the 2502 clips both folds chose 0.40 when the grid started there
    "warp_threshold": np.round(np.arange(0.30, 0.9501, 0.025), 3),
}
#: Short names of the swept thresholds in table headers.
SHORT = {"region_threshold": "region", "align_threshold": "align", "gray_threshold": "gray",
         "region_moving_motion": "moving region", "warp_threshold": "warped"}  # fmt: skip
#: Held-out targets of issue 23 (picture-in-picture has its own, lower one).
T_PRECISION, T_RECALL, T_KIND, T_PIP, T_KEPT = 0.98, 0.90, 0.90, 0.80, 0.90
PLACEHOLDER = (0.95, 0.90, 0.5)

#: Labels of positive pairs: original ↔ copy of each single-clip kind, then the composite
#: and overlap kinds, copy ↔ copy of one original, and real overlaps (≥ 50 %) of distinct
#: originals from times.json.
POS_LABELS = (*K.KINDS, "pip", "overlap", "overlap_trim", "copy↔copy", "real_overlap")
NEG_LABELS = ("same_group", "pip_background", "other")
SHARE_BUCKETS = (("< 25 %", 0.0, 0.25), ("25–50 %", 0.25, 0.5), ("≥ 50 %", 0.5, 1.01))
_CLIP_KINDS = ("orig", *K.ALL_KINDS)


# -------------------------------------------------------------------------------------------
# perturbed copies (kinds in _copies.py)
# -------------------------------------------------------------------------------------------
def reset_cache(cache: Path) -> None:
    """Delete this script's copies and indexes in ``cache`` when they were made with other
    settings (``cache/VERSION``); only the folders this script writes are removed."""
    stamp = cache / "VERSION"
    if stamp.is_file() and stamp.read_text() == COPIES_VERSION:
        return
    for p in [cache / "clips", *cache.glob("index*"), cache / "timings.json"]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(COPIES_VERSION)


def _background(
    orig: dict, originals: list[dict], fold_of: dict[str, str], rng: np.random.Generator
) -> dict | None:
    """A picture-in-picture background for ``orig``: another original of the same fold from a
    different source group (None when the fold has no other group)."""
    cands = [
        o for o in originals
        if fold_of[o["group"]] == fold_of[orig["group"]] and o["group"] != orig["group"]
    ]  # fmt: skip
    return cands[int(rng.integers(0, len(cands)))] if cands else None


def make_copies(
    originals: list[dict], fold_of: dict[str, str], folder: Path, seed: int
) -> tuple[list[dict], dict[str, Any]]:
    """Write every copy that is not in ``folder`` yet; return one row per copy and what was
    written (``written``, ``frames``, ``seconds``, ``per_kind`` seconds).

    Each original is decoded once (a ``pip`` background: only its first T frames); copies are
    streamed frame by frame into their writer. Each copy gets a JSON sidecar (kind, original,
    background, params); a copy without one is written again.
    """
    rows: list[dict] = []
    stats: dict[str, Any] = {"written": 0, "frames": 0, "seconds": 0.0, "per_kind": Counter()}
    seqs = np.random.SeedSequence(seed).spawn(len(originals))
    for orig, ss in zip(originals, seqs, strict=True):
        stem = Path(orig["id"]).stem
        kids = ss.spawn(len(K.KINDS) + 1)
        plan: list[tuple[str, str, np.random.Generator | None, dict | None]] = [
            (k, f"{stem}__{k}", np.random.default_rng(s), None)
            for k, s in zip(K.KINDS, kids, strict=False)
        ]
        pip_rng = np.random.default_rng(kids[-1])
        bg = _background(orig, originals, fold_of, pip_rng)
        if bg is not None:
            plan.append((K.PIP, f"{stem}__pip__{Path(bg['id']).stem}", pip_rng, bg))
        plan += [(k, f"{stem}__{k}", None, None) for k in K.OVERLAP]
        clip = bg_frames = None
        for kind, name, rng, bgr in plan:
            dest = folder / orig["label"] / f"{name}.mp4"
            side = dest.with_suffix(".json")
            if not (dest.is_file() and side.is_file()):
                t0 = time.perf_counter()
                if clip is None:
                    clip = read_clip(orig["abs"])
                if bgr is not None and bg_frames is None:
                    bg_frames = read_clip(bgr["abs"], max_frames=len(clip.frames)).frames
                params = K.sample(kind, rng or np.random.default_rng(0), clip.frames.shape,
                                  clip.fps)  # fmt: skip
                gen, fps, size, n = K.render(kind, clip.frames, clip.fps, params,
                                             bg_frames if bgr is not None else None)  # fmt: skip
                with ClipWriter(dest, fps, size) as w:
                    for f in gen:
                        w.write(np.ascontiguousarray(f))
                info = {"kind": kind, "orig": orig["id"], "background": bgr and bgr["id"],
                        "fps": fps, "frames": n, "height": size[0], "width": size[1],
                        "params": params}  # fmt: skip
                tmp = side.with_suffix(".json.tmp")
                tmp.write_text(json.dumps(info), encoding="utf-8")
                os.replace(tmp, side)
                dt = time.perf_counter() - t0
                stats["written"] += 1
                stats["frames"] += n
                stats["seconds"] += dt
                stats["per_kind"][kind] += dt
            rows.append({**orig, "abs": str(dest), "pert": kind, "orig": orig["id"],
                         "bg": bgr and bgr["id"]})  # fmt: skip
    return rows, stats


# -------------------------------------------------------------------------------------------
# ground truth
# -------------------------------------------------------------------------------------------
def overlap_shares(times: dict) -> dict[frozenset[str], float]:
    """Pairs of clip stems of one source video whose time ranges overlap → the overlap's share
    of the shorter clip's range."""
    out = {}
    for a, b in itertools.combinations(sorted(times), 2):
        ta, tb = times[a], times[b]
        if ta["video"] == tb["video"] and ta["start"] < tb["end"] and tb["start"] < ta["end"]:
            inter = min(ta["end"], tb["end"]) - max(ta["start"], tb["start"])
            shorter = min(ta["end"] - ta["start"], tb["end"] - tb["start"])
            out[frozenset((a, b))] = inter / shorter if shorter > 0 else 1.0
    return out


@dataclass
class Truth:
    """Pair categories over the upper triangle of an ``n × n`` clip matrix (pair ``i``
    = ``(a[i], b[i])`` of ``np.triu_indices(n, 1)``)."""

    pos: np.ndarray  # counted duplicates: same original, or real overlap ≥ 50 % of 2 originals
    neg: np.ndarray  # counted non-duplicates
    excluded: np.ndarray  # partial overlaps out of both counts
    kind: np.ndarray  # int8: 1 + index into POS_LABELS for positive pairs, else 0
    cat: np.ndarray  # int8: 1 + index into NEG_LABELS for negative pairs, else 0
    real: np.ndarray  # distinct originals with overlapping time ranges (any clips of them)
    both_orig: np.ndarray  # both clips are originals
    share: np.ndarray  # float32 overlap share for ``real`` pairs, else 0


def truth(meta: list[dict], shares: dict[frozenset[str], float]) -> Truth:
    n = len(meta)
    origs = sorted({m["orig"] for m in meta})
    oc = {o: i for i, o in enumerate(origs)}
    o = np.array([oc[m["orig"]] for m in meta], dtype=np.int64)
    bgc = np.array([oc.get(m.get("bg") or "", -1) for m in meta], dtype=np.int64)
    gc = {g: i for i, g in enumerate(sorted({m["group"] for m in meta}))}
    g = np.array([gc[m["group"]] for m in meta], dtype=np.int64)
    kc = np.array([_CLIP_KINDS.index(m["pert"]) for m in meta], dtype=np.int64)
    stems = [Path(x).stem for x in origs]
    S = np.zeros((len(origs), len(origs)), np.float32)
    for i, j in itertools.combinations(range(len(origs)), 2):
        s = shares.get(frozenset((stems[i], stems[j])), 0.0)
        S[i, j] = S[j, i] = s
    a, b = np.triu_indices(n, 1)
    same = o[a] == o[b]
    share = S[o[a], o[b]]
    real = ~same & (share > 0)
    both_orig = (kc[a] == 0) & (kc[b] == 0)
    real_counted = real & both_orig & (share >= 0.5)
    pos = same | real_counted
    excluded = real & ~real_counted
    neg = ~pos & ~excluded
    # positive kinds: original ↔ copy by the copy's kind, then pip / overlap / copy ↔ copy
    lab = {k: POS_LABELS.index(k) + 1 for k in POS_LABELS}
    clip_lab = np.array(
        [0] + [lab.get(k, lab["overlap_trim"] if k in K.OVERLAP else 0) for k in K.ALL_KINDS]
    )
    ka, kb = kc[a], kc[b]
    pip, oa, ob = (_CLIP_KINDS.index(k) for k in (K.PIP, *K.OVERLAP))
    kind = np.where(same & (ka == 0), clip_lab[kb], np.where(same & (kb == 0), clip_lab[ka], 0))
    # pip: a composite ↔ its inset's original (composite ↔ the original's other copies are
    # copy ↔ copy pairs)
    kind = np.where(same & (((ka == pip) & (kb == 0)) | ((kb == pip) & (ka == 0))),
                    lab["pip"], kind)  # fmt: skip
    kind = np.where(same & (((ka == oa) & (kb == ob)) | ((ka == ob) & (kb == oa))),
                    lab["overlap"], kind)  # fmt: skip
    kind = np.where(same & (kind == 0), lab["copy↔copy"], kind)
    kind = np.where(real_counted, lab["real_overlap"], kind).astype(np.int8)
    # negative categories (exclusive, in this order)
    pip_bg = (bgc[a] == o[b]) | (bgc[b] == o[a]) | ((bgc[a] >= 0) & (bgc[a] == bgc[b]))
    cat = np.where(pip_bg, 2, np.where(g[a] == g[b], 1, 3))
    cat = np.where(neg, cat, 0).astype(np.int8)
    return Truth(pos, neg, excluded, kind, cat, real, both_orig, share.astype(np.float32))


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def score(dup: np.ndarray, tr: Truth) -> dict[str, Any]:
    """Counts of a duplicate decision ``dup`` (bool, upper triangle) against ``tr``."""
    tp, fp, p = int((dup & tr.pos).sum()), int((dup & tr.neg).sum()), int(tr.pos.sum())
    per_kind = {
        lab: (int((dup & (tr.kind == i + 1)).sum()), int((tr.kind == i + 1).sum()))
        for i, lab in enumerate(POS_LABELS)
    }
    fp_cat = {lab: int((dup & (tr.cat == i + 1)).sum()) for i, lab in enumerate(NEG_LABELS)}
    buckets = {}
    for name, lo, hi in SHARE_BUCKETS:
        inb = tr.real & (tr.share >= lo) & (tr.share < hi)
        oo, vc = inb & tr.both_orig, inb & ~tr.both_orig
        buckets[name] = ((int((dup & oo).sum()), int(oo.sum())),
                         (int((dup & vc).sum()), int(vc.sum())))  # fmt: skip
    return {"tp": tp, "fp": fp, "p": p, "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / p if p else 1.0, "per_kind": per_kind, "fp_cat": fp_cat,
            "buckets": buckets, "flagged": int(dup.sum())}  # fmt: skip


def merge(*scores: dict[str, Any]) -> dict[str, Any]:
    """Pool counts (e.g. the two held-out folds)."""
    tp, fp, p = (sum(s[k] for s in scores) for k in ("tp", "fp", "p"))

    def add(xs):
        return tuple(map(sum, zip(*xs, strict=True)))

    return {
        "tp": tp, "fp": fp, "p": p, "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / p if p else 1.0, "flagged": sum(s["flagged"] for s in scores),
        "per_kind": {k: add([s["per_kind"][k] for s in scores]) for k in POS_LABELS},
        "fp_cat": {k: sum(s["fp_cat"][k] for s in scores) for k in NEG_LABELS},
        "buckets": {b: tuple(add([s["buckets"][b][j] for s in scores]) for j in range(2))
                    for b, _, _ in SHARE_BUCKETS},
    }  # fmt: skip


# -------------------------------------------------------------------------------------------
# stages 1-2: evidence over the grid
# -------------------------------------------------------------------------------------------
def evidence(frame_emb: np.ndarray, frame_clip: np.ndarray, clip_emb: np.ndarray, floor: float):
    """Clip cosines (upper triangle), per frame threshold max(frac_ab, frac_ba), and the
    motion-signature cosines (upper triangle; 0 where the clip cosine is below ``floor``, as
    in find_duplicates)."""
    from vidaug.mining._dedup import motion_signatures

    n = len(clip_emb)
    order = np.argsort(frame_clip, kind="stable")
    fe, fc = frame_emb[order], frame_clip[order]
    starts = np.flatnonzero(np.r_[True, fc[1:] != fc[:-1]])
    counts = np.diff(np.r_[starts, len(fc)])
    best = np.empty((len(fe), n), np.float32)  # best cosine of each frame among each clip's frames
    for lo in range(0, len(fe), 2048):
        s = fe[lo : lo + 2048] @ fe.T
        best[lo : lo + 2048] = np.maximum.reduceat(s, starts, axis=1)
    iu = np.triu_indices(n, 1)
    clip_sim = (clip_emb @ clip_emb.T)[iu]
    frac = {}
    for t in FRAME_GRID:
        hits = (
            np.add.reduceat((best >= t - 1e-6).astype(np.float32), starts, axis=0) / counts[:, None]
        )
        frac[float(t)] = np.maximum(hits, hits.T)[iu]
    sig = motion_signatures(frame_emb, frame_clip, n)
    motion = (sig @ sig.T)[iu]
    return clip_sim, frac, np.where(clip_sim >= floor - 1e-6, motion, 0.0)


def grid_tables(clip_sim, frac, tr: Truth) -> tuple[np.ndarray, np.ndarray]:
    """Recall and false-pair count for every grid point, shape (clip, frame, fraction)."""
    shape = (len(CLIP_GRID), len(FRAME_GRID), len(FRACTION_GRID))
    rec, fp = np.zeros(shape), np.zeros(shape, np.int64)
    cs_pos, cs_neg = clip_sim[tr.pos], clip_sim[tr.neg]
    for j, t in enumerate(FRAME_GRID):
        fpos, fneg = frac[float(t)][tr.pos], frac[float(t)][tr.neg]
        for i, ct in enumerate(CLIP_GRID):
            for k, mf in enumerate(FRACTION_GRID):
                rec[i, j, k] = ((cs_pos >= ct - 1e-6) | (fpos >= mf)).mean() if len(cs_pos) else 1
                fp[i, j, k] = ((cs_neg >= ct - 1e-6) | (fneg >= mf)).sum()
    return rec, fp


def choose(rec: np.ndarray, fp: np.ndarray) -> tuple[float, float, float]:
    """The selection rule: highest recall among grid points whose whole ±1-step neighbourhood
    has no false pair (a margin of one grid step against the nearest false pair); ties go to
    the best neighbourhood-mean recall, then to the highest thresholds."""
    pad = np.pad(fp, 1, mode="edge")
    worst = np.zeros_like(fp)
    nb_rec = np.zeros_like(rec)
    rpad = np.pad(rec, 1, mode="edge")
    for di, dj, dk in itertools.product(range(3), repeat=3):
        sl = (slice(di, di + fp.shape[0]), slice(dj, dj + fp.shape[1]), slice(dk, dk + fp.shape[2]))
        worst = np.maximum(worst, pad[sl])
        nb_rec += rpad[sl] / 27
    ok = worst == 0
    if not ok.any():  # no margin possible: fewest false pairs, then recall
        ok = fp == fp.min()
    cand = np.argwhere(ok)
    key = [(-rec[tuple(c)], -nb_rec[tuple(c)], -c[1], -c[0], -c[2]) for c in cand]
    i, j, k = cand[min(range(len(cand)), key=key.__getitem__)]
    return float(CLIP_GRID[i]), float(FRAME_GRID[j]), float(FRACTION_GRID[k])


def choose_motion(ev, tr: Truth, cfg: tuple[float, float, float]) -> float:
    """Stage 2: with the clip / frame thresholds fixed, the lowest motion threshold whose
    ±1-step neighbourhood adds no false pair (the same margin rule as :func:`choose`)."""
    ct, ft, mf = cfg
    clip_sim, frac, motion = ev
    base = (clip_sim >= ct - 1e-6) | (frac[ft] >= mf)
    fp = np.array([int(((base | (motion >= mt - 1e-6)) & tr.neg).sum()) for mt in MOTION_GRID])
    ok = [
        i for i in range(len(MOTION_GRID))
        if fp[max(i - 1, 0) : i + 2].max() == fp.min() and fp.min() == int((base & tr.neg).sum())
    ]  # fmt: skip
    return float(MOTION_GRID[ok[0]] if ok else MOTION_GRID[-1])


def grid_dup(ev, cfg: tuple) -> np.ndarray:
    ct, ft, mf, *mt = cfg
    clip_sim, frac, motion = ev
    dup = (clip_sim >= ct - 1e-6) | (frac[ft] >= mf)
    if mt and mt[0] is not None:
        dup |= motion >= mt[0] - 1e-6
    return dup


# -------------------------------------------------------------------------------------------
# find_duplicates on one set of clips (a fold, or all)
# -------------------------------------------------------------------------------------------
def dedup_fields() -> dict[str, Any]:
    """``DedupConfig``'s fields → defaults (the optional evidence of issue 13 may be absent)."""
    from vidaug.mining import DedupConfig

    return {f.name: f.default for f in dataclasses.fields(DedupConfig)}


def make_config(cfg: dict[str, Any], keep: str = "original"):
    """A ``DedupConfig`` from ``cfg`` (field → value; fields the class lacks are dropped)."""
    from vidaug.mining import DedupConfig

    have = dedup_fields()
    return DedupConfig(**{k: v for k, v in {**cfg, "keep": keep}.items() if k in have})


def base_config(cfg4: tuple) -> dict[str, Any]:
    ct, ft, mf, *mt = cfg4
    return {"clip_threshold": ct, "frame_threshold": ft, "match_fraction": mf,
            "motion_threshold": mt[0] if mt else None}  # fmt: skip


def fmt_config(cfg: dict[str, Any]) -> str:
    def f(k: str, d: int = 2) -> str:
        v = cfg.get(k)
        return "off" if v is None else f"{v:.{d}f}"

    s = f"{f('clip_threshold')}, {f('frame_threshold')}, {f('match_fraction', 3)}, "
    s += f"{f('motion_threshold')}"
    for k in SWEEPS:
        if k in dedup_fields():
            s += f", {f(k, 3)}"
    return s


@dataclass
class ClipSet:
    """The clips of one fold (or all), their index, ground truth and (lazily) grid evidence."""

    name: str
    index: Any  # EmbeddingIndex
    meta: list[dict]  # in index order
    tr: Truth
    ev: tuple | None = None
    runs: dict = field(default_factory=dict)  # (config items) → (result, dup, seconds)

    def evidence(self, floor: float):
        if self.ev is None:
            ix = self.index
            self.ev = evidence(ix.frame_emb, ix.frame_clip, ix.clip_emb, floor)
        return self.ev

    def tri(self, pairs: list[dict], direct: bool = False) -> np.ndarray:
        """The upper-triangle flags of ``pairs`` (dicts with clip ids ``a``, ``b``); ``direct``:
        only the pairs with evidence of their own (not those other pairs imply, ``via``)."""
        n = len(self.meta)
        dup = np.zeros(n * (n - 1) // 2, bool)
        for p in pairs:
            if direct and p.get("via") is not None:
                continue
            i, j = sorted((self.index.position(p["a"]), self.index.position(p["b"])))
            dup[i * (2 * n - i - 1) // 2 + (j - i - 1)] = True
        return dup

    def run(self, cfg: dict[str, Any], keep: str = "original"):
        """``find_duplicates`` at ``cfg``: (result, upper-triangle flags, seconds); cached."""
        from vidaug.mining import find_duplicates

        key = (tuple(sorted(cfg.items())), keep)
        if key not in self.runs:
            t0 = time.perf_counter()
            res = find_duplicates(self.index, make_config(cfg, keep))
            dt = time.perf_counter() - t0
            self.runs[key] = (res, self.tri(res.pairs), dt)
        return self.runs[key]


def clip_set(name: str, index_dir: Path, ids: set[str], meta_of: dict[str, dict]) -> ClipSet:
    """An index of some clips of the saved index: loaded, then the others removed, so that
    everything the index stores per clip (the clip table's fps, frame_indices, width, height,
    border, chroma, size, source_frames; any per-frame arrays) stays in step."""
    from vidaug.mining import EmbeddingIndex

    ix = EmbeddingIndex.load(index_dir)
    drop = [i for i in ix.ids if i not in ids]
    if drop:
        ix.remove(drop)
    if set(ix.ids) != ids:
        raise SystemExit(f"{index_dir}: {len(ids - set(ix.ids))} clips missing from the index")
    meta = [meta_of[i] for i in ix.ids]
    return ClipSet(name, ix, meta, truth(meta, SHARES))


SHARES: dict[frozenset[str], float] = {}


def sweep(cs: ClipSet, cfg: dict[str, Any], name: str) -> tuple[float | None, dict]:
    """Stages 3-7: the lowest value of ``SWEEPS[name]`` whose ±1-step neighbourhood adds no
    false pair to ``cfg`` on ``cs``, net (``find_duplicates`` runs; None when every value adds
    some; "added" = the run's false pairs minus those of the run without this evidence, so
    the pairs the evidence removes count too: the regional evidence sets composites apart
    from their background; plus every new false pair that is not a composite ↔ background
    one, so that no same-camera pair pays for it; the categories list the new false
    pairs). Assumes
    fewer pairs at higher thresholds to bisect, then checks the neighbourhood of the value
    found. Returns the value and the points run: value → (added false pairs, recall, added
    false pairs by category)."""
    grid = SWEEPS[name]
    # each evidence is judged by its own pairs: implied pairs (find_duplicates' default, which
    # every measurement keeps) would count one false pair once for each copy it reaches
    direct = {"implied": False} if "implied" in dedup_fields() else {}
    base_false = cs.run({**cfg, name: None, **direct})[1] & cs.tr.neg
    points: dict[float, tuple[int, float, dict[str, int]]] = {}

    def added(i: int) -> int:
        v = float(grid[i])
        if v not in points:
            dup = cs.run({**cfg, name: v, **direct})[1]
            new = dup & cs.tr.neg & ~base_false
            cats = {
                lab: int((new & (cs.tr.cat == i + 1)).sum()) for i, lab in enumerate(NEG_LABELS)
            }
            # net: false pairs this evidence adds minus those it removes (a composite found
            # to contain its inset is no longer a copy of its background)
            # and no new false pair of another kind: a composite set apart from its background
            # must not be paid for with two moments of one camera
            net = int((dup & cs.tr.neg).sum()) - int(base_false.sum())
            other = sum(v for k, v in cats.items() if k != "pip_background")
            points[v] = (max(0, net) + other, score(dup, cs.tr)["recall"], cats)
        return points[v][0]

    top = len(grid) - 1
    if added(top) > 0:
        return None, points
    lo, hi = 0, top  # lowest index without added false pairs, by bisection
    if added(0) == 0:
        hi = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if added(mid) > 0:
            lo = mid
        else:
            hi = mid
    i = hi + 1 if hi > 0 else 0
    while i <= top:
        if all(added(j) == 0 for j in range(max(i - 1, 0), min(i + 2, top + 1))):
            return float(grid[i]), points
        i += 1
    return float(grid[top]), points


def calibrate(cs: ClipSet, floor: float, timing: dict[str, float]) -> dict[str, Any]:
    """Stages 1-5 on ``cs``: the chosen config (field → value) and the sweep points."""
    t0 = time.perf_counter()
    ev = cs.evidence(floor)
    # a composite and its background share most of the picture, so whole-frame evidence links
    # them; telling them apart is the regional evidence's job (find_duplicates sets such
    # pairs apart once it sees the inset): the grid stages leave those pairs out, the
    # find_duplicates stages and every held-out measurement count them
    tr = dataclasses.replace(
        cs.tr, neg=cs.tr.neg & (cs.tr.cat != 1 + NEG_LABELS.index("pip_background"))
    )
    cfg3 = choose(*grid_tables(ev[0], ev[1], tr))
    cfg = base_config((*cfg3, choose_motion(ev, tr, cfg3)))
    timing[f"stages 1-2 (grid) on {cs.name}"] = time.perf_counter() - t0
    out: dict[str, Any] = {"stage1": cfg3, "base": dict(cfg), "sweeps": {}}
    for name in SWEEPS:
        if name not in dedup_fields():
            continue
        t0 = time.perf_counter()
        v, pts = sweep(cs, cfg, name)
        cfg[name] = v
        out["sweeps"][name] = pts
        timing[f"stage {3 + list(SWEEPS).index(name)} ({name}) on {cs.name}"] = (
            time.perf_counter() - t0
        )
    out["cfg"] = cfg
    return out


def kept_original(groups: list[list[str]], meta_of: dict[str, dict]) -> tuple[int, int, Counter]:
    """(groups holding an original, of which the kept member is an original, the kinds kept
    instead)."""
    n = ok = 0
    instead: Counter = Counter()
    for g in groups:
        if any(meta_of[i]["pert"] == "orig" for i in g):
            n += 1
            kind = meta_of[g[0]]["pert"]
            ok += kind == "orig"
            if kind != "orig":
                instead[kind] += 1
    return n, ok, instead


def bpp_ratios(index, meta_of: dict[str, dict]) -> dict[str, float]:
    """Median bits per pixel of each kind's copies ÷ their original's (file size · 8 /
    (source frames · width · height), from the clip table)."""

    def bpp(c: dict) -> float | None:
        try:
            return c["size"] * 8 / (c["source_frames"] * c["width"] * c["height"])
        except (KeyError, TypeError, ZeroDivisionError):
            return None

    of = {c["id"]: bpp(c) for c in index.clips}
    orig_id = {m["orig"]: cid for cid, m in meta_of.items() if m["pert"] == "orig"}
    ratios: dict[str, list[float]] = {}
    for cid, v in of.items():
        m = meta_of[cid]
        o = of.get(orig_id.get(m["orig"], "")) if m["pert"] != "orig" else None
        if v and o:
            ratios.setdefault(m["pert"], []).append(v / o)
    return {k: float(np.median(v)) for k, v in ratios.items()}


def pair_label(cs: ClipSet, p: dict) -> str:
    n = len(cs.meta)
    i, j = sorted((cs.index.position(p["a"]), cs.index.position(p["b"])))
    k = i * (2 * n - i - 1) // 2 + (j - i - 1)
    if cs.tr.kind[k]:
        return POS_LABELS[cs.tr.kind[k] - 1]
    if cs.tr.cat[k]:
        return f"false: {NEG_LABELS[cs.tr.cat[k] - 1]}"
    return "excluded overlap"


def _evidence_names(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [str(k) for k, x in v.items() if x]
    if isinstance(v, (list, tuple, set)):
        return [str(x) for x in v]
    return [str(v)]


# -------------------------------------------------------------------------------------------
# embedding (cached in an index directory)
# -------------------------------------------------------------------------------------------
def embed_all(rows: list[dict], cache: Path, index_dir: Path, weights: str | None):
    from vidaug.mining import load_embedder
    from vidaug.pipelines import embed_to_index

    root = cache / "clips"
    manifest = []
    for r in rows:
        # originals (linked) and copies side by side: <label>/<stem>.mp4, <label>/<stem>__<kind>.mp4
        link = root / r["label"] / Path(r["abs"]).name
        if r["pert"] == "orig" and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(r["abs"])
        r["id"] = link.relative_to(root).as_posix()
        manifest.append({"path": r["id"], "label": r["label"], "group": r["group"]})
    mpath = root / f"manifest-{index_dir.name}.jsonl"
    write_jsonl(mpath, manifest)
    emb = load_embedder(weights=weights)
    t0 = time.perf_counter()
    rep = embed_to_index(mpath, emb, out=index_dir, frames=FRAMES, batch=32)
    if rep.failures:
        raise SystemExit(f"unreadable clips: {rep.failures[:3]}")
    return rep, time.perf_counter() - t0


def region_note(index, rep) -> str:
    """What the probe and verify stages did for the index (``windows`` of the clip table)."""
    if index.region_emb is None:
        return "none (embedded without regions)"
    ws = [c.get("windows") for c in index.clips]
    if all(w is None for w in ws):
        return "every window of every clip embedded at 224 px (an index from before issue 23)"
    n = len(ws)
    got = [len(w or []) for w in ws]
    kinds = Counter()
    for c, k in zip(index.clips, got, strict=True):
        if k:
            kinds[c["id"].split("__")[1] if "__" in c["id"] else "orig"] += 1
    return (
        f"probe stage for all {n} clips; {sum(got)} windows verified ({sum(got) / n:.2f} a "
        f"clip, {rep.verified} of them in this run) in {sum(1 for k in got if k)} clips ("
        + ", ".join(f"{k} {v}" for k, v in kinds.most_common())
        + ")"
    )


def index_files(index_dir: Path) -> dict[str, int]:
    return {
        p.name: p.stat().st_size
        for p in sorted(index_dir.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


# -------------------------------------------------------------------------------------------
# report
# -------------------------------------------------------------------------------------------
def split_groups(groups: Counter, seed: int) -> tuple[list[str], list[str]]:
    """Two halves of the source groups with about the same number of clips (seeded)."""
    rng = np.random.default_rng(seed)
    names = sorted(groups)
    rng.shuffle(names)
    names.sort(key=lambda g: -groups[g])  # stable: shuffled order among equal sizes
    halves: tuple[list[str], list[str]] = ([], [])
    for g in names:
        min(halves, key=lambda h: sum(groups[x] for x in h)).append(g)
    return sorted(halves[0]), sorted(halves[1])


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def frac_ci(k: int, n: int) -> str:
    """``k/n (p %, 95 % CI lo–hi)``."""
    if not n:
        return "0/0"
    lo, hi = _wilson(k, n)
    return f"{k}/{n} ({100 * k / n:.1f} %, {100 * lo:.1f}–{100 * hi:.1f})"


def frac(k: int, n: int) -> str:
    return f"{k}/{n} ({pct(k / n)})" if n else "0/0"


def write_section(path: Path, body: str) -> None:
    """This script's section of RESULTS.md (between its markers)."""
    write_marked_section(path, "dedup_calibration", body)


def _timings_record(cache: Path, key: str, value: dict[str, float], count: str) -> dict:
    """The largest piece of ``key`` work recorded in ``cache/timings.json`` (this run's when
    it did at least as much); a rerun that reuses the cache still reports the first run's
    cost."""
    path = cache / "timings.json"
    rec = json.loads(path.read_text()) if path.is_file() else {}
    if value[count] and value[count] >= rec.get(key, {}).get(count, 0):
        rec[key] = value
        path.write_text(json.dumps(rec, indent=1))
    return rec.get(key, {})


class Timing(dict):
    """Stage → seconds; each stage is logged to stderr as it ends (a long run shows progress)."""

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        print(f"[{time.strftime('%H:%M:%S')}] {key}: {value:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "vidaug-dedup-calibration",
        help="perturbed copies and the embedding index (reused by later runs)",
    )
    ap.add_argument(
        "--limit", type=int, default=0, help="use the first N originals only (prints only)"
    )
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--weights", default=None, help="MobileNetV2 weights (default: VIDAUG_WEIGHTS)")
    ap.add_argument("--write", action="store_true", help="update RESULTS.md even with --limit")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    timing = Timing()

    manifest = C.load_manifest()
    if not manifest:
        print(f"{C.SHARED_DATA}: no manifest.jsonl; nothing to calibrate on", file=sys.stderr)
        return 1
    times = json.loads((C.SHARED_DATA / "times.json").read_text(encoding="utf-8"))
    SHARES.update(overlap_shares(times))
    originals = [
        {"id": r["path"], "abs": str(C.SHARED_DATA / r["path"]), "label": r["label"],
         "group": r["group"], "pert": "orig", "orig": r["path"], "bg": None}
        for r in manifest if r.get("label") in ("fight", "noFight")
    ]  # fmt: skip
    originals.sort(key=lambda r: r["id"])
    if args.limit:  # round robin over the source groups, so that both folds get clips
        rank = Counter()
        for r in originals:
            r["_rank"] = rank[r["group"]]
            rank[r["group"]] += 1
        originals = sorted(originals, key=lambda r: (r.pop("_rank"), r["id"]))[: args.limit]
        originals.sort(key=lambda r: r["id"])
    # folds first: both clips of a picture-in-picture composite must lie in one fold
    groups = Counter(r["group"] for r in originals)
    fold_a, fold_b = split_groups(groups, args.seed)
    fold_of = {g: "A" for g in fold_a} | {g: "B" for g in fold_b}

    reset_cache(args.cache)
    t0 = time.perf_counter()
    copies, wrote = make_copies(originals, fold_of, args.cache / "clips", args.seed)
    timing["copies"] = t_copy = time.perf_counter() - t0
    rows = [dict(r) for r in originals] + copies
    index_dir = args.cache / ("index" if not args.limit else f"index-limit{args.limit}")
    t0 = time.perf_counter()
    with C.OtherLoad() as load:
        rep, t_embed = embed_all(rows, args.cache, index_dir, args.weights)
    timing["embedding (incl. model load)"] = time.perf_counter() - t0
    meta_of = {r["id"]: r for r in rows}
    floor = float(dedup_fields()["motion_clip_floor"])
    have_sweeps = [k for k in SWEEPS if k in dedup_fields()]
    copy_rec = _timings_record(
        args.cache, f"copies-{index_dir.name}",
        {"written": wrote["written"], "frames": wrote["frames"], "seconds": round(wrote["seconds"], 1)},
        "written",
    )  # fmt: skip
    embed_rec = _timings_record(
        args.cache, f"embed-{index_dir.name}",
        {"embedded": rep.embedded, "seconds": round(t_embed, 1)}, "embedded",
    )  # fmt: skip

    t0 = time.perf_counter()
    ids_of = {f: {r["id"] for r in rows if fold_of[r["group"]] == f} for f in "AB"}
    sets = {f: clip_set(f"fold {f}", index_dir, ids_of[f], meta_of) for f in "AB"}
    full = clip_set("all", index_dir, set(meta_of), meta_of)
    timing["fold indexes + ground truth"] = time.perf_counter() - t0

    cal = {f: calibrate(sets[f], floor, timing) for f in "AB"}
    held: dict[str, dict] = {}
    for c, e in (("A", "B"), ("B", "A")):
        t0 = time.perf_counter()
        cs, cfg = sets[e], cal[c]["cfg"]
        res, dup, dt = cs.run(cfg, "original")
        res_long, _, dt_long = cs.run(cfg, "longest")
        base_res, base_dup, dt_base = cs.run(cal[c]["base"], "original")
        held[e] = {"cal": c, "cfg": cfg, "res": res, "s": score(dup, cs.tr), "seconds": dt,
                   "kept": kept_original(res.groups, meta_of),
                   "kept_longest": kept_original(res_long.groups, meta_of),
                   "base": score(base_dup, cs.tr), "base_seconds": dt_base,
                   "direct": score(cs.tri(res.pairs, direct=True), cs.tr)}  # fmt: skip
        timing[f"held-out find_duplicates on fold {e}"] = time.perf_counter() - t0
    final_cal = calibrate(full, floor, timing)
    final = final_cal["cfg"]
    t0 = time.perf_counter()
    all_runs = {
        "all groups (= DEFAULT)": final,
        "stages 1-2 only": final_cal["base"],
        "stage 1 only (no motion evidence)": base_config(final_cal["stage1"]),
        "placeholder": base_config(PLACEHOLDER),
    }
    all_scores = {k: score(full.run(v)[1], full.tr) for k, v in all_runs.items()}
    full_seconds = full.run(final)[2]
    kept_all = kept_original(full.run(final)[0].groups, meta_of)
    # cross-check: find_duplicates at the stage 1-2 thresholds vs the exhaustive grid
    grid_pairs = grid_dup(full.evidence(floor), tuple(final_cal["base"].values()))
    fd_pairs = full.tri(full.run(final_cal["base"])[0].pairs, direct=True)
    agree = bool(np.array_equal(grid_pairs, fd_pairs))
    timing["all groups: find_duplicates runs"] = time.perf_counter() - t0

    # ---------------------------------------------------------------- report
    info = C.machine_info()
    kinds_n = Counter(r["pert"] for r in copies)
    folds_h = (held["B"], held["A"])
    pooled = merge(*(h["s"] for h in folds_h))
    files = index_files(index_dir)
    region_files = {k: v for k, v in files.items() if "region" in k.lower()}
    total_bytes = sum(files.values())
    n_frames = full.index.n_frames
    lines = [
        "## Near-duplicate threshold calibration (issue 4 §3, issue 13)",
        "",
        f"Date: {info['date']} (UTC). Machine: {info['cpu']}, {info['cores']} cores, {info['os']}. "
        f"Python {info['python']}, numpy {info['numpy']}, OpenCV {info['opencv']}. "
        f"vidaug at commit {info['vidaug']}. Command: "
        f"`.venv/bin/python benchmarks/dedup_calibration.py{f' --limit {args.limit}' if args.limit else ''}` "
        f"(VIDAUG_WEIGHTS = MobileNetV2 1.0/224 no-top ImageNet weights; model id "
        f"`{full.index.model_id}`). Total run time {time.perf_counter() - t_start:.0f} s.",
        "",
        f"Data: {len(originals)} fight/noFight clips of `../shared/data` from {len(groups)} source "
        f"groups and {len(copies)} copies ({len(K.ALL_KINDS)} kinds, `benchmarks/_copies.py`: "
        + ", ".join(f"{k} {kinds_n[k]}" for k in K.ALL_KINDS)
        + f"), {len(rows)} clips in all, {FRAMES} frames a clip. {load.describe('embedding')}.",
        "",
        "Pairs (upper triangle): **duplicates** = same original (original ↔ copy, copy ↔ copy; a "
        "`pip` composite ↔ its inset's original and that original's other copies, kind `pip`; "
        "`overlap_a` ↔ `overlap_b` kind `overlap`; a cut ↔ its original kind `overlap_trim`), "
        "and distinct originals of one source video whose `times.json` ranges overlap by ≥ 50 % "
        "of the shorter one (kind `real_overlap`). Real overlaps below 50 %, and every pair "
        "of copies of two overlapping originals, are out of both counts (reported by share "
        "below). Every other pair is a **false pair** when flagged, split into `pip_background` "
        "(a composite ↔ its background original or that original's copies, or two composites "
        "on one background), `same_group` (distinct originals of one source video, or their "
        "copies) and `other`. The source groups are split into two folds before the copies "
        "are made (a composite's background comes from another group of the inset's fold).",
        "",
        "Thresholds are chosen on one fold and measured on the other with `find_duplicates` "
        "itself (an index of the fold's clips: the saved index with the other clips removed). "
        "They are chosen on the pairs each evidence finds itself (`implied=False`); every "
        "measurement lists the pairs those imply as well (`find_duplicates`' default), and one "
        "row gives the direct pairs alone. "
        "Stage 1: highest recall among grid points whose ±1-step grid neighbourhood has no "
        "false pair on the calibration fold (ties: best neighbourhood recall, then highest "
        f"thresholds). Grid: clip_threshold {CLIP_GRID[0]:.2f}–{CLIP_GRID[-1]:.2f}, "
        f"frame_threshold {FRAME_GRID[0]:.2f}–{FRAME_GRID[-1]:.2f} (steps 0.01), match_fraction "
        "1/8–8/8. Stage 2, with those fixed: the lowest motion_threshold "
        f"({MOTION_GRID[0]:.2f}–{MOTION_GRID[-1]:.2f}, step 0.02) whose ±1-step neighbourhood "
        f"adds no false pair (motion counted where the clip cosine is ≥ motion_clip_floor = "
        f"{floor:.2f}, as in find_duplicates). "
        + " ".join(
            f"Stage {3 + i}: the lowest `{k}` ({SWEEPS[k][0]:.3f}–{SWEEPS[k][-1]:.3f}, step "
            f"0.025) whose ±1-step neighbourhood adds no false pair on the calibration fold, "
            "net of the false pairs it removes (a composite found to contain its inset stops "
            "being a copy of its background) and with no new false pair of another kind, by "
            "`find_duplicates` runs (bisection, then the "
            "neighbourhood checked); off when every value adds one. The grid stages leave "
            "composite ↔ background pairs to this stage."
            + ("" if k in have_sweeps else f" **Skipped: `DedupConfig` has no `{k}` field.**")
            for i, k in enumerate(SWEEPS)
        ),
        "",
        f"Fold A groups ({sum(groups[g] for g in fold_a)} originals): {', '.join(fold_a)}.  ",
        f"Fold B groups ({sum(groups[g] for g in fold_b)} originals): {', '.join(fold_b)}.",
        "",
        "### Held-out precision / recall (find_duplicates)",
        "",
    ]
    thr = "thresholds (clip, frame, fraction, motion" + "".join(
        f", {SHORT[k]}" for k in have_sweeps
    ) + ")"  # fmt: skip
    hdr = ["calibrated on", thr, "measured on", "clips", "dup pairs", "precision (95 % CI)",
           "recall (95 % CI)", "false pairs", "same_group", "pip_background", "other",
           "real overlaps ≥ 50 %"]  # fmt: skip

    def row(name, cfg, where, n_clips, s):
        rb = s["buckets"]["≥ 50 %"][0]
        return [name, fmt_config(cfg), where, n_clips, s["p"],
                frac_ci(s["tp"], s["tp"] + s["fp"]), frac_ci(s["tp"], s["p"]), s["fp"],
                s["fp_cat"]["same_group"], s["fp_cat"]["pip_background"], s["fp_cat"]["other"],
                f"{rb[0]}/{rb[1]}"]  # fmt: skip

    trs = [row(f"fold {h['cal']}", h["cfg"], f"fold {e} (held out)", len(sets[e].meta), h["s"])
           for e, h in (("B", held["B"]), ("A", held["A"]))]  # fmt: skip
    trs.append(row("each fold by the other", {}, "A + B (held out, pooled)",
                   len(full.meta), pooled))  # fmt: skip
    trs[-1][1] = "as above"
    direct_pooled = merge(*(h["direct"] for h in folds_h))
    trs.append(row("each fold by the other, direct pairs only (no `implied`)", {},
                   "A + B (held out, pooled)", len(full.meta), direct_pooled))  # fmt: skip
    trs[-1][1] = "as above"
    for name, cfg in all_runs.items():
        where = "all (in-sample)" if name != "placeholder" else "all"
        trs.append(row(name, cfg, where, len(full.meta), all_scores[name]))
    lines += [C.md_table(hdr, trs), ""]

    lines += ["### Recall per kind", ""]
    kh = ["kind"] + [f"fold {e} at fold {h['cal']}'s thresholds" for e, h in
                     (("B", held["B"]), ("A", held["A"]))]  # fmt: skip
    kh += [
        "held out, pooled",
        "held out, pooled, direct pairs only",
        "all at DEFAULT (in-sample)",
        "all, stages 1-2 only",
    ]
    per = [held["B"]["s"], held["A"]["s"], pooled, direct_pooled,
           all_scores["all groups (= DEFAULT)"], all_scores["stages 1-2 only"]]  # fmt: skip
    lines += [C.md_table(kh, [[k] + [frac(*s["per_kind"][k]) for s in per] for k in POS_LABELS]),
              ""]  # fmt: skip
    lines += [
        "Kinds are original ↔ copy pairs, except `pip` (composite ↔ its inset's original; "
        "composite ↔ the original's other copies count as copy↔copy), `overlap` (cut A ↔ cut B), `overlap_trim` (each cut ↔ its "
        "original), `copy↔copy` (two copies of one original, other than those) and "
        "`real_overlap` (distinct originals overlapping by ≥ 50 %).",
        "",
        "### Real partial overlaps (times.json) by overlap share",
        "",
        C.md_table(
            [
                "share of the shorter clip",
                "originals, held out (pooled)",
                "originals, all at DEFAULT",
                "copies of them, held out (pooled)",
                "counted",
            ],
            [
                [
                    b,
                    frac(*pooled["buckets"][b][0]),
                    frac(*all_scores["all groups (= DEFAULT)"]["buckets"][b][0]),
                    frac(*pooled["buckets"][b][1]),
                    "yes (positives)" if lo >= 0.5 else "no",
                ]
                for b, lo, _ in SHARE_BUCKETS
            ],
        ),  # fmt: skip
        "",
        "Only original ↔ original pairs of the ≥ 50 % bucket count (as positives); pairs "
        "involving copies of overlapping originals are out of both counts in every bucket.",
        "",
    ]

    # relations / evidence of the new pair fields, when find_duplicates gives them
    found = [(sets[e], p) for e in "BA" for p in held[e]["res"].pairs]
    if any("relation" in p for _, p in found):
        rel = Counter((pair_label(cs, p), str(p.get("relation"))) for cs, p in found)
        rels = sorted({r for _, r in rel})
        labels = [x for x in (*POS_LABELS, *(f"false: {n}" for n in NEG_LABELS), "excluded overlap")
                  if any(k[0] == x for k in rel)]  # fmt: skip
        lines += ["### Relation of the pairs found (held out, pooled)", "",
                  C.md_table(["kind"] + rels, [[x] + [rel[(x, r)] for r in rels] for x in labels]),
                  ""]  # fmt: skip
    if any("evidence" in p for _, p in found):
        evc = Counter((pair_label(cs, p), e) for cs, p in found
                      for e in _evidence_names(p.get("evidence")))  # fmt: skip
        evs = sorted({e for _, e in evc})
        labels = sorted({x for x, _ in evc}, key=lambda x: (x not in POS_LABELS, x))
        lines += ["### Evidence of the pairs found (held out, pooled; a pair may have several)",
                  "", C.md_table(["kind"] + evs, [[x] + [evc[(x, e)] for e in evs]
                                                  for x in labels]), ""]  # fmt: skip
    extra = sorted({k for _, p in found for k in p} - {"a", "b", "clip_sim", "frac_ab", "frac_ba",
                                                      "motion_sim", "score", "is_leak"})  # fmt: skip

    lines += ["### Duplicate groups: is the original kept?", ""]
    gh = ["measured on", "groups with an original", 'kept = original (keep="original")',
          'kept = original (keep="longest")', 'kept instead (keep="original")']  # fmt: skip
    grows = []
    for e, h in (("B", held["B"]), ("A", held["A"])):
        n, ok, inst = h["kept"]
        nl, okl, _ = h["kept_longest"]
        grows.append([f"fold {e} (held out)", n, frac(ok, n), frac(okl, nl),
                      ", ".join(f"{k} {v}" for k, v in inst.most_common()) or "–"])  # fmt: skip
    n = sum(h["kept"][0] for h in folds_h)
    ok = sum(h["kept"][1] for h in folds_h)
    nl = sum(h["kept_longest"][0] for h in folds_h)
    okl = sum(h["kept_longest"][1] for h in folds_h)
    inst = sum((h["kept"][2] for h in folds_h), Counter())
    grows.append(["held out, pooled", n, frac(ok, n), frac(okl, nl),
                  ", ".join(f"{k} {v}" for k, v in inst.most_common()) or "–"])  # fmt: skip
    grows.append(["all at DEFAULT (in-sample)", kept_all[0], frac(kept_all[1], kept_all[0]), "",
                  ", ".join(f"{k} {v}" for k, v in kept_all[2].most_common()) or "–"])  # fmt: skip
    ratios = bpp_ratios(full.index, meta_of)
    lines += [
        C.md_table(gh, grows),
        "",
        "Clip ids: an original is `<label>/<stem>.mp4`, its copies `<label>/<stem>__<kind>.mp4` "
        "(ties of every `keep` key go to the smaller id). Copies are written by OpenCV (mp4v); "
        "their bits per pixel ÷ their original's (median): "
        + ", ".join(f"{k} {ratios[k]:.2f}" for k in K.ALL_KINDS if k in ratios)
        + ".",
        "",
    ]
    kept_rate = ok / n if n else float("nan")

    if have_sweeps:
        last = 2 + len(have_sweeps)
        lines += [
            f"### Stages 3-{last}: find_duplicates runs on the calibration folds",
            "",
            "Direct pairs only (`implied=False`), as the thresholds are chosen.",
            "",
        ]
        for k in have_sweeps:
            sh = ["calibration set",
                  f"{k} → net added false pairs (new ones: same_group / pip_background / "
                  "other) / recall (the points run)", "chosen"]  # fmt: skip
            srows = []
            for name, c in (("fold A", cal["A"]), ("fold B", cal["B"]), ("all", final_cal)):
                pts = c["sweeps"].get(k, {})
                srows.append([name, "; ".join(f"{v:.3f}: +{a} ({'/'.join(str(x) for x in cats.values())}) / {pct(r)}"
                                              for v, (a, r, cats) in sorted(pts.items())),
                              "off" if c["cfg"].get(k) is None else f"{c['cfg'][k]:.3f}"])  # fmt: skip
            lines += [C.md_table(sh, srows), ""]

    # ---------------------------------------------------------------- costs
    emb_s, emb_n = embed_rec.get("seconds"), embed_rec.get("embedded")
    cp_s, cp_n, cp_f = copy_rec.get("seconds"), copy_rec.get("written"), copy_rec.get("frames")
    per_kind_s = ", ".join(f"{k} {v:.0f} s" for k, v in wrote["per_kind"].most_common())
    lines += [
        "### Costs",
        "",
        C.md_table(
            ["what", "value"],
            [
                [
                    "copies written",
                    f"this run: {wrote['written']} copies, {wrote['frames']} frames "
                    f"in {t_copy:.0f} s"
                    + (f" ({per_kind_s})" if per_kind_s else "")
                    + (
                        f"; when the cache was filled: {cp_n} copies, {cp_f} frames in {cp_s:.0f} s "
                        f"({cp_n / max(cp_s, 1e-9):.1f} copies/s)"
                        if cp_n
                        else ""
                    ),
                ],
                [
                    "embedding",
                    f"this run: {rep.embedded} clips embedded in {t_embed:.0f} s, "
                    f"{rep.reused} reused"
                    + (f" ({rep.embedded / t_embed:.2f} clips/s)" if rep.embedded else "")
                    + (
                        f"; when the index was filled: {emb_n} clips in {emb_s:.0f} s "
                        f"({emb_n / max(emb_s, 1e-9):.2f} clips/s)"
                        if emb_n
                        else ""
                    ),
                ],
                [
                    "region windows (two stages, issue 23)",
                    region_note(full.index, rep),
                ],
                [
                    "frames embedded",
                    f"{n_frames} ({n_frames / len(full.meta):.2f} a clip), {full.index.dims} dims",
                ],
                [
                    "index on disk",
                    f"{total_bytes / 2**20:.1f} MiB, {total_bytes / n_frames:.0f} "
                    "bytes per frame ("
                    + ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in files.items())
                    + ")",
                ],
                [
                    "region vectors",
                    (
                        ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in region_files.items())
                        + f": {sum(region_files.values()) / n_frames:.0f} bytes per frame"
                    )
                    if region_files
                    else "none in the index (no file named *region*)",
                ],
            ]
            + [
                [
                    f"find_duplicates on fold {e} ({len(sets[e].meta)} clips)",
                    f"{h['seconds']:.1f} s at the chosen thresholds; {h['base_seconds']:.1f} s at "
                    "stages 1-2 only",
                ]
                for e, h in (("A", held["A"]), ("B", held["B"]))
            ]
            + [[f"find_duplicates on all ({len(full.meta)} clips)", f"{full_seconds:.1f} s"]],
        ),  # fmt: skip
        "",
        "Stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timing.items()) + ".",
        "",
    ]

    # ---------------------------------------------------------------- notes and targets
    ev = full.evidence(floor)
    tr = full.tr
    neg_motion = float(ev[2][tr.neg].max()) if tr.neg.any() else float("nan")
    neg_clip = float(ev[0][tr.neg].max()) if tr.neg.any() else float("nan")
    sg = tr.cat == 1
    sg_clip = float(ev[0][sg].max()) if sg.any() else float("nan")
    pk = pooled["per_kind"]
    checks = [
        ("precision ≥ 0.98", pooled["precision"] >= T_PRECISION, pct(pooled["precision"])),
        ("recall ≥ 0.90", pooled["recall"] >= T_RECALL, pct(pooled["recall"])),
        ("pip recall ≥ 0.8", pk["pip"][1] > 0 and pk["pip"][0] / pk["pip"][1] >= T_PIP,
         frac(*pk["pip"])),
        ("every other kind ≥ 0.9", all(k / m >= T_KIND for lab, (k, m) in pk.items()
                                      if m and lab not in ("pip", "copy↔copy")),
         ", ".join(f"{lab} {frac(k, m)}" for lab, (k, m) in pk.items()
                   if m and lab not in ("pip", "copy↔copy") and k / m < T_KIND) or "all"),
        ("0 same-group false pairs", pooled["fp_cat"]["same_group"] == 0,
         str(pooled["fp_cat"]["same_group"])),
        ("0 pip-background false pairs", pooled["fp_cat"]["pip_background"] == 0,
         str(pooled["fp_cat"]["pip_background"])),
        ("original kept ≥ 90 %", n > 0 and kept_rate >= T_KEPT, frac(ok, n)),
    ]  # fmt: skip
    lines += [
        "### Notes",
        "",
        f"- Chosen DEFAULT (all groups): {', '.join(f'{k}={v}' for k, v in final.items())}; "
        f"fold A chose {fmt_config(cal['A']['cfg'])}, fold B chose {fmt_config(cal['B']['cfg'])}.",
        f"- Highest motion-signature cosine between clips of a false pair (all groups, clip "
        f"cosine ≥ floor): {neg_motion:.3f} ("
        + ", ".join(
            f"{lab} {float(ev[2][tr.cat == i + 1].max()):.3f}"
            for i, lab in enumerate(NEG_LABELS)
            if (tr.cat == i + 1).any()
        )
        + "); the grid stages leave the composite ↔ background pairs out (`find_duplicates` "
        "sets them apart once the regional evidence finds the inset; every measurement counts "
        "them). Highest "
        f"clip cosine of a false pair {neg_clip:.3f} (same source group: {sg_clip:.3f}).",
        f"- `find_duplicates` on all clips at the stage 1-2 thresholds (FAISS candidates, k=32) "
        f"{'returns exactly' if agree else 'DIFFERS from'} the pairs of the exhaustive grid "
        f"evaluation ({int(fd_pairs.sum())} vs {int(grid_pairs.sum())} pairs).",
        "- Pair fields beyond the issue 4 ones: "
        + (", ".join(f"`{k}`" for k in extra) or "none")
        + ".",
        "- Targets on the held-out folds (pooled): "
        + "; ".join(f"{name}: {'met' if good else 'NOT met'} ({val})" for name, good, val in checks)
        + ".",
    ]
    body = "\n".join(lines)
    print(body)
    summary = {"chosen": {f: cal[f]["cfg"] for f in "AB"}, "default": final, "agree": agree,
               "timing_s": {k: round(v, 1) for k, v in timing.items()}}  # fmt: skip
    print(json.dumps(summary), file=sys.stderr)
    if not args.limit or args.write:
        write_section(args.results, body)
        print(f"updated {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
