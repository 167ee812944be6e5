"""Calibrate the near-duplicate thresholds of ``vidaug.mining.find_duplicates`` (issue 4 §3).

    .venv/bin/python benchmarks/dedup_calibration.py            # full run, updates RESULTS.md
    .venv/bin/python benchmarks/dedup_calibration.py --limit 20 # a few originals, prints only

The fight / noFight clips of ``../shared/data`` (surveillance footage, 22 source-video groups)
get perturbed copies (low-quality re-encode, crop, resize, temporal trim, brightening,
horizontal flip, speed change), written as mp4 to a cache folder. Originals and copies are
embedded with MobileNetV2 (8 frames a clip; the embedding index in the cache folder is reused
by later runs), and every pair of clips is judged over a grid of
``(clip_threshold, frame_threshold, match_fraction)``.

Ground truth: a copy and its original, and two copies of one original, are duplicate pairs;
two distinct original clips (or their copies) are not, except clips of one source video whose
``times.json`` time ranges overlap (partial duplicates): those pairs are reported on their own
and left out of the false-pair count. Thresholds are chosen on half of the source groups and
precision / recall reported on the other half (and swapped); the shipped DEFAULT is the same
rule applied to all groups. README.md describes the method.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (first: pins the thread pools before numpy / cv2 load)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _results import write_marked_section  # noqa: E402

from vidaug.datasets import read_clip, write_clip, write_jsonl  # noqa: E402

SEED = 0
FRAMES = 8
#: Change when perturb() changes: cached copies made with other settings are then rewritten.
COPIES_VERSION = "2"
PERTURBATIONS = ("reencode", "crop", "resize", "trim", "bright", "flip", "speed")
# Threshold grid. match_fraction in eighths: clips are embedded with 8 frames.
CLIP_GRID = np.round(np.arange(0.80, 1.0001, 0.01), 2)
FRAME_GRID = np.round(np.arange(0.70, 0.9801, 0.01), 2)
FRACTION_GRID = np.arange(1, 9) / 8
MOTION_GRID = np.round(np.arange(0.16, 0.8001, 0.02), 2)
T_PRECISION, T_RECALL = 0.95, 0.95
PLACEHOLDER = (0.95, 0.90, 0.5)


# -------------------------------------------------------------------------------------------
# perturbed copies (pure functions of frames + rng; RGB uint8 (T, H, W, 3) in and out)
# -------------------------------------------------------------------------------------------
def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def perturb(
    frames: np.ndarray, fps: float, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, float, dict]:
    """One perturbed copy of a clip: ``(frames, fps, params)``; sizes are made even."""
    t, h, w = frames.shape[:3]
    if kind == "reencode":  # downscale-upscale + strong per-frame JPEG (then mp4 on write)
        s, q = float(rng.uniform(0.4, 0.6)), int(rng.integers(20, 36))
        small = (_even(w * s), _even(h * s))
        out = []
        for f in frames:
            f = cv2.resize(cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h))
            ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, q])
            out.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
        return np.stack(out)[:, : h // 2 * 2, : w // 2 * 2], fps, {"scale": s, "quality": q}
    if kind == "crop":  # keep 80-90 % of each side, random position, no resize
        f = float(rng.uniform(0.80, 0.90))
        ch, cw = _even(h * f), _even(w * f)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        return frames[:, y : y + ch, x : x + cw].copy(), fps, {"fraction": f, "y": y, "x": x}
    if kind == "resize":  # another size and aspect ratio
        sx, sy = rng.uniform(0.45, 0.8, size=2)
        size = (_even(w * sx), _even(h * sy))
        out = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        return out, fps, {"width": size[0], "height": size[1]}
    if kind == "trim":  # drop 10-30 % of the frames, split between start and end
        drop = int(round(t * rng.uniform(0.10, 0.30)))
        a = int(rng.integers(0, drop + 1))
        return (
            frames[a : t - (drop - a), : h // 2 * 2, : w // 2 * 2],
            fps,
            {"start": a, "drop": drop},
        )
    if kind == "bright":
        alpha, beta = float(rng.uniform(1.1, 1.3)), float(rng.uniform(20, 40))
        out = cv2.convertScaleAbs(frames.reshape(-1, w, 3), alpha=alpha, beta=beta)
        return (
            out.reshape(frames.shape)[:, : h // 2 * 2, : w // 2 * 2],
            fps,
            {"alpha": alpha, "beta": beta},
        )
    if kind == "flip":
        return frames[:, : h // 2 * 2, ::-1][:, :, : w // 2 * 2].copy(), fps, {}
    if kind == "speed":  # resample the frames (0.5× repeats frames, 1.5× / 2× drops them)
        factor = float(rng.choice([0.5, 1.5, 2.0]))
        idx = np.minimum(np.round(np.arange(0, t, factor)).astype(int), t - 1)
        return frames[idx, : h // 2 * 2, : w // 2 * 2], fps, {"factor": factor}
    raise ValueError(kind)


def make_copies(originals: list[dict], folder: Path, seed: int) -> list[dict]:
    """Write every perturbed copy that is not in ``folder`` yet; return one row per copy.

    ``folder/VERSION`` records the perturbation settings: copies made with others are deleted.
    """
    stamp = folder / "VERSION"
    if folder.is_dir() and (not stamp.is_file() or stamp.read_text() != COPIES_VERSION):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(COPIES_VERSION)
    rows = []
    seqs = np.random.SeedSequence(seed).spawn(len(originals))
    for orig, ss in zip(originals, seqs, strict=True):
        stem = Path(orig["id"]).stem
        todo = [
            (k, folder / orig["label"] / f"{stem}__{k}.mp4", np.random.default_rng(s))
            for k, s in zip(PERTURBATIONS, ss.spawn(len(PERTURBATIONS)), strict=True)
        ]
        missing = [x for x in todo if not x[1].is_file()]
        if missing:
            clip = read_clip(orig["abs"])
            for kind, dest, rng in missing:
                frames, fps, _ = perturb(clip.frames, clip.fps, kind, rng)
                write_clip(dest, np.ascontiguousarray(frames), fps)
        for kind, dest, _ in todo:
            rows.append({**orig, "abs": str(dest), "pert": kind, "orig": orig["id"]})
    return rows


# -------------------------------------------------------------------------------------------
# ground truth
# -------------------------------------------------------------------------------------------
def overlapping(times: dict) -> set[frozenset[str]]:
    """Pairs of clip stems of one source video whose time ranges overlap."""
    out = set()
    for a, b in itertools.combinations(sorted(times), 2):
        ta, tb = times[a], times[b]
        if ta["video"] == tb["video"] and ta["start"] < tb["end"] and tb["start"] < ta["end"]:
            out.add(frozenset((a, b)))
    return out


@dataclass
class Truth:
    """Pair categories over the upper triangle of an ``n × n`` clip matrix."""

    pos: np.ndarray  # same original
    partial: np.ndarray  # distinct originals with overlapping time ranges
    neg: np.ndarray  # everything else
    same_group: np.ndarray  # distinct originals of one source video (within neg)
    pert_pair: np.ndarray  # for pos pairs original ↔ copy: the copy's perturbation, else ""


def truth(meta: list[dict], partial_pairs: set[frozenset[str]]) -> Truth:
    orig = np.array([m["orig"] for m in meta])
    stem = np.array([Path(m["orig"]).stem for m in meta])
    group = np.array([m["group"] for m in meta])
    pert = np.array([m["pert"] for m in meta])
    iu = np.triu_indices(len(meta), 1)
    a, b = iu
    pos = orig[a] == orig[b]
    partial = ~pos & np.array(
        [frozenset((x, y)) in partial_pairs for x, y in zip(stem[a], stem[b], strict=True)]
    )
    neg = ~pos & ~partial
    same_group = neg & (group[a] == group[b])
    kind = np.where(
        pos & (pert[a] == "orig"), pert[b], np.where(pos & (pert[b] == "orig"), pert[a], "")
    )
    return Truth(pos, partial, neg, same_group, kind)


# -------------------------------------------------------------------------------------------
# evidence over the grid
# -------------------------------------------------------------------------------------------
def evidence(frame_emb: np.ndarray, frame_clip: np.ndarray, clip_emb: np.ndarray):
    """Clip cosines (upper triangle), per frame threshold max(frac_ab, frac_ba), and the
    motion-signature cosines (upper triangle)."""
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
    return clip_sim, frac, (sig @ sig.T)[iu]


def counts_at(clip_sim, frac_t, tr: Truth, ct: float, mf: float, motion=None, mt=None) -> dict:
    dup = (clip_sim >= ct - 1e-6) | (frac_t >= mf)
    if mt is not None:
        dup |= motion >= mt - 1e-6
    tp, fp = int((dup & tr.pos).sum()), int((dup & tr.neg).sum())
    return {
        "tp": tp,
        "fp": fp,
        "p": int(tr.pos.sum()),
        "same_group_fp": int((dup & tr.same_group).sum()),
        "partial_hit": int((dup & tr.partial).sum()),
        "partial": int(tr.partial.sum()),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / tr.pos.sum() if tr.pos.sum() else 1.0,
        "per_pert": {
            k: (int((dup & (tr.pert_pair == k)).sum()), int((tr.pert_pair == k).sum()))
            for k in PERTURBATIONS
        },
    }


def grid_tables(clip_sim, frac, tr: Truth) -> tuple[np.ndarray, np.ndarray]:
    """Recall and false-pair count for every grid point, shape (clip, frame, fraction)."""
    shape = (len(CLIP_GRID), len(FRAME_GRID), len(FRACTION_GRID))
    rec, fp = np.zeros(shape), np.zeros(shape, np.int64)
    cs_pos, cs_neg = clip_sim[tr.pos], clip_sim[tr.neg]
    for j, t in enumerate(FRAME_GRID):
        fpos, fneg = frac[float(t)][tr.pos], frac[float(t)][tr.neg]
        for i, ct in enumerate(CLIP_GRID):
            for k, mf in enumerate(FRACTION_GRID):
                rec[i, j, k] = ((cs_pos >= ct - 1e-6) | (fpos >= mf)).mean()
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


def choose_motion(data, cfg: tuple[float, float, float]) -> float:
    """Stage 2: with the clip / frame thresholds fixed, the lowest motion threshold whose
    ±1-step neighbourhood adds no false pair (the same margin rule as :func:`choose`)."""
    ct, ft, mf = cfg
    tr = data[3]
    base = (data[1] >= ct - 1e-6) | (data[2][ft] >= mf)
    fp = np.array([int(((base | (data[4] >= mt - 1e-6)) & tr.neg).sum()) for mt in MOTION_GRID])
    ok = [
        i for i in range(len(MOTION_GRID))
        if fp[max(i - 1, 0) : i + 2].max() == fp.min() and fp.min() == int((base & tr.neg).sum())
    ]  # fmt: skip
    return float(MOTION_GRID[ok[0]] if ok else MOTION_GRID[-1])


# -------------------------------------------------------------------------------------------
# embedding (cached in an index directory)
# -------------------------------------------------------------------------------------------
def embed_all(rows: list[dict], cache: Path, weights: str | None):
    from vidaug.mining import load_embedder
    from vidaug.pipelines import embed_to_index

    root = cache / "clips"
    manifest = []
    for r in rows:
        link = (
            root / ("orig" if r["pert"] == "orig" else "copies") / r["label"] / Path(r["abs"]).name
        )
        if r["pert"] == "orig" and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(r["abs"])
        r["id"] = link.relative_to(root).as_posix()
        manifest.append({"path": r["id"], "label": r["label"], "group": r["group"]})
    write_jsonl(root / "manifest.jsonl", manifest)
    emb = load_embedder(weights=weights)
    t0 = time.perf_counter()
    rep = embed_to_index(root / "manifest.jsonl", emb, out=cache / "index", frames=FRAMES, batch=32)
    if rep.failures:
        raise SystemExit(f"unreadable clips: {rep.failures[:3]}")
    return rep, time.perf_counter() - t0


def subset(index, positions: np.ndarray):
    """Frame / clip arrays of some clips of an index, renumbered 0..m-1."""
    remap = np.full(len(index), -1)
    remap[positions] = np.arange(len(positions))
    rows = np.flatnonzero(remap[index.frame_clip] >= 0)
    return index.frame_emb[rows], remap[index.frame_clip[rows]], index.clip_emb[positions]


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


def write_section(path: Path, body: str) -> None:
    """This script's section of RESULTS.md (between its markers)."""
    write_marked_section(path, "dedup_calibration", body)


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

    manifest = C.load_manifest()
    if not manifest:
        print(f"{C.SHARED_DATA}: no manifest.jsonl; nothing to calibrate on", file=sys.stderr)
        return 1
    times = json.loads((C.SHARED_DATA / "times.json").read_text(encoding="utf-8"))
    originals = [
        {"id": r["path"], "abs": str(C.SHARED_DATA / r["path"]), "label": r["label"],
         "group": r["group"], "pert": "orig", "orig": r["path"]}
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
    t0 = time.perf_counter()
    copies = make_copies(originals, args.cache / "clips" / "copies", args.seed)
    t_copy = time.perf_counter() - t0
    rows = [dict(r) for r in originals] + copies
    with C.OtherLoad() as load:
        rep, t_embed = embed_all(rows, args.cache, args.weights)
    index = rep.index
    pos_of = {cid: i for i, cid in enumerate(index.ids)}
    meta = [{**r, "pos": pos_of[r["id"]]} for r in rows]
    partial_pairs = overlapping(times)
    groups = Counter(r["group"] for r in originals)
    fold_a, fold_b = split_groups(groups, args.seed)

    def evaluate(group_set: set[str]):
        ms = [m for m in meta if m["group"] in group_set]
        fe, fc, ce = subset(index, np.array([m["pos"] for m in ms], dtype=np.int64))
        cs, fr, mo = evidence(fe, fc, ce)
        return ms, cs, fr, truth(ms, partial_pairs), mo

    folds = {"A": evaluate(set(fold_a)), "B": evaluate(set(fold_b))}
    full = evaluate(set(groups))
    tables = {k: grid_tables(v[1], v[2], v[3]) for k, v in folds.items()}
    stage1 = {k: choose(*tables[k]) for k in folds}
    chosen = {k: (*stage1[k], choose_motion(folds[k], stage1[k])) for k in folds}
    final1 = choose(*grid_tables(full[1], full[2], full[3]))
    final = (*final1, choose_motion(full, final1))

    def at(data, cfg):
        ct, ft, mf, *mt = cfg
        return counts_at(data[1], data[2][ft], data[3], ct, mf, data[4], mt[0] if mt else None)

    # cross-check the grid evaluation against find_duplicates itself, on the whole set
    from vidaug.mining import DedupConfig, EmbeddingIndex, find_duplicates

    ms = full[0]
    fe, fc, ce = subset(index, np.array([m["pos"] for m in ms], dtype=np.int64))
    sub = EmbeddingIndex.build(
        [{"id": m["id"]} for m in ms], fe, fc, model_id=index.model_id, clip_emb=ce
    )
    res = find_duplicates(sub, DedupConfig(*final))
    posn = {m["id"]: i for i, m in enumerate(ms)}
    n = len(ms)
    found = {(min(posn[p["a"]], posn[p["b"]]), max(posn[p["a"]], posn[p["b"]])) for p in res.pairs}
    ct, ft, mf, mt = final
    grid_dup = (full[1] >= ct - 1e-6) | (full[2][ft] >= mf) | (full[4] >= mt - 1e-6)
    iu = np.triu_indices(n, 1)
    grid_pairs = {(int(a), int(b)) for a, b, d in zip(*iu, grid_dup, strict=True) if d}
    agree = found == grid_pairs

    # ---------------------------------------------------------------- report
    info = C.machine_info()
    lines = [
        "## Near-duplicate threshold calibration (issue 4 §3)",
        "",
        f"Date: {info['date']} (UTC). Machine: {info['cpu']}, {info['cores']} cores, {info['os']}. "
        f"Python {info['python']}, numpy {info['numpy']}, OpenCV {info['opencv']}. "
        f"vidaug at commit {info['vidaug']}. Command: "
        f"`.venv/bin/python benchmarks/dedup_calibration.py{f' --limit {args.limit}' if args.limit else ''}` "
        f"(VIDAUG_WEIGHTS = MobileNetV2 1.0/224 no-top ImageNet weights; model id `{index.model_id}`).",
        "",
        f"Data: {len(originals)} fight/noFight clips of `../shared/data` from {len(groups)} source "
        f"groups, each with {len(PERTURBATIONS)} perturbed copies ({', '.join(PERTURBATIONS)}; "
        f"see README.md), {len(rows)} clips in all, {FRAMES} frames a clip "
        f"({rep.embedded} embedded in this run in {t_embed:.0f} s, {rep.reused} reused from the "
        f"cache of an earlier run; copies written in {t_copy:.0f} s; a first run on this machine "
        "took about 200 s for the copies and 230 s for the embeddings, with another process "
        "busy on one of the 2 cores). "
        f"{load.describe('embedding')}.",
        "",
        "Pairs: duplicate = same original (original ↔ copy, copy ↔ copy); partial duplicate = "
        "distinct clips of one source video whose `times.json` ranges overlap (left out of the "
        "false-pair count, reported on their own); every other pair of distinct clips is a "
        "false pair when flagged. Thresholds are chosen on one fold of source groups and "
        "measured on the other. Rule, stage 1: highest recall among grid points whose ±1-step "
        "grid neighbourhood has no false pair on the calibration fold (ties: best neighbourhood "
        f"recall, then highest thresholds). Grid: clip_threshold {CLIP_GRID[0]:.2f}–"
        f"{CLIP_GRID[-1]:.2f}, frame_threshold {FRAME_GRID[0]:.2f}–{FRAME_GRID[-1]:.2f} "
        "(steps 0.01), match_fraction 1/8–8/8. Stage 2, with those fixed: the lowest "
        f"motion_threshold ({MOTION_GRID[0]:.2f}–{MOTION_GRID[-1]:.2f}, step 0.02) whose ±1-step "
        "neighbourhood adds no false pair on the calibration fold.",
        "",
        f"Fold A groups ({sum(groups[g] for g in fold_a)} originals): {', '.join(fold_a)}.  ",
        f"Fold B groups ({sum(groups[g] for g in fold_b)} originals): {', '.join(fold_b)}.",
        "",
        "### Held-out precision / recall",
        "",
    ]
    hdr = ["calibrated on", "thresholds (clip, frame, fraction, motion)", "measured on", "clips",
           "dup pairs", "precision", "recall", "false pairs", "same-group false pairs",
           "partial dups caught", "target P, R ≥ 0.95"]  # fmt: skip
    trs = []
    for cal, ev in (("A", "B"), ("B", "A")):
        c = at(folds[ev], chosen[cal])
        ok = c["precision"] >= T_PRECISION and c["recall"] >= T_RECALL and c["same_group_fp"] == 0
        trs.append([f"fold {cal}", "{:.2f}, {:.2f}, {:.3f}, {:.2f}".format(*chosen[cal]), f"fold {ev} (held out)",
                    len(folds[ev][0]), c["p"], pct(c["precision"]), pct(c["recall"]), c["fp"],
                    c["same_group_fp"], f"{c['partial_hit']}/{c['partial']}",
                    "PASS" if ok else "FAIL"])  # fmt: skip
    for name, cfg, where in (("all groups (= DEFAULT)", final, "all (in-sample)"),
                             ("stage 1 only (no motion evidence)", final1, "all (in-sample)"),
                             ("placeholder", PLACEHOLDER, "all")):  # fmt: skip
        c = at(full, cfg)
        fmt = "{:.2f}, {:.2f}, {:.3f}, {:.2f}" if len(cfg) == 4 else "{:.2f}, {:.2f}, {:.3f}, off"
        trs.append([name, fmt.format(*cfg), where, len(full[0]), c["p"],
                    pct(c["precision"]), pct(c["recall"]), c["fp"], c["same_group_fp"],
                    f"{c['partial_hit']}/{c['partial']}", "info"])  # fmt: skip
    lines += [C.md_table(hdr, trs), ""]

    lines += ["### Recall per perturbation (original ↔ copy pairs)", ""]
    ph = ["perturbation"] + [
        f"fold {ev} at fold {cal}'s thresholds" for cal, ev in (("A", "B"), ("B", "A"))
    ]
    ph += ["all at DEFAULT", "all, stage 1 only", "all at placeholder"]
    prow = []
    per = [
        at(folds["B"], chosen["A"]),
        at(folds["A"], chosen["B"]),
        at(full, final),
        at(full, final1),
        at(full, PLACEHOLDER),
    ]
    for k in PERTURBATIONS:
        prow.append(
            [k]
            + [
                f"{c['per_pert'][k][0]}/{c['per_pert'][k][1]} ({pct(c['per_pert'][k][0] / max(c['per_pert'][k][1], 1))})"
                for c in per
            ]
        )
    lines += [C.md_table(ph, prow), ""]

    # margins at DEFAULT: strongest negative evidence, weakest positive evidence
    ct, ft, mf, mt = final
    tr = full[3]
    fr = full[2][ft]
    neg_motion = float(full[4][tr.neg].max()) if tr.neg.any() else float("nan")
    neg_clip = float(full[1][tr.neg].max()) if tr.neg.any() else float("nan")
    neg_frac = float(fr[tr.neg].max()) if tr.neg.any() else float("nan")
    sg_clip = float(full[1][tr.same_group].max()) if tr.same_group.any() else float("nan")
    missed = tr.pos & ~((full[1] >= ct - 1e-6) | (fr >= mf) | (full[4] >= mt - 1e-6))
    lines += [
        "### Notes",
        "",
        f"- Chosen DEFAULT: clip_threshold={ct:.2f}, frame_threshold={ft:.2f}, "
        f"match_fraction={mf:.3f}, motion_threshold={mt:.2f} (fold A chose {chosen['A']}, "
        f"fold B chose {chosen['B']}).",
        f"- Highest motion-signature cosine between distinct clips (all groups): {neg_motion:.3f}.",
        f"- Hardest negatives at DEFAULT (all groups): highest clip cosine between distinct clips "
        f"{neg_clip:.3f} (same source group: {sg_clip:.3f}); highest matched-frame fraction "
        f"between distinct clips {neg_frac:.3f} at frame_threshold {ft:.2f}.",
        f"- Missed duplicate pairs at DEFAULT: {int(missed.sum())} of {int(tr.pos.sum())}.",
        f"- `find_duplicates` run on the whole set at DEFAULT (FAISS candidates, k=32) "
        f"{'returns exactly' if agree else 'DIFFERS from'} the pairs of the exhaustive grid "
        f"evaluation ({len(found)} vs {len(grid_pairs)} pairs).",
    ]
    held = [at(folds["B"], chosen["A"]), at(folds["A"], chosen["B"])]
    met = all(c["precision"] >= T_PRECISION and c["recall"] >= T_RECALL for c in held)
    lines.append(
        "- Targets (held-out precision and recall ≥ 0.95, no same-group false pair): "
        + (
            "met."
            if met and all(c["same_group_fp"] == 0 for c in held)
            else "NOT met on both folds (see the table)."
        )  # fmt: skip
        + " Clip-mean and frame-match cosines alone cannot separate copies from other moments "
        "of one static camera (stage 1 row: high precision, low recall; placeholder row: the "
        "other way round); the motion signature (frame embeddings minus their mean over time) "
        "removes what the camera's background contributes and is what recovers recall."
    )
    body = "\n".join(lines)
    print(body)
    summary = {"chosen": chosen, "default": final, "agree": agree}
    print(json.dumps(summary), file=sys.stderr)
    if not args.limit or args.write:
        write_section(args.results, body)
        print(f"updated {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
