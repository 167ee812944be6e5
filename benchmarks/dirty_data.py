"""Does curation repair a dirty dataset? (issue 19 §2)

From the 139 fight / noFight surveillance clips of ``../shared/data`` (22 source videos):

* **copies**: ``--copies`` clips (seeded) are re-cut into a copy each (half a 75 % crop
  re-encoded, half a trim to the first 60 % of the frames); a copy carries its source's label,
  except ``--copy-flip`` of them which carry the other one (one video uploaded twice, tagged
  differently);
* **label flips**: per noise level, that share of each class (stratified) gets the other label;
* the ``group`` column is hidden from label-error finding (what curate sees has none); the true
  source groups only build the evaluation folds.

Per noise level and seed (0 1 2; the seed draws the flips, the mislabelled copies, the folds and
the heads):

1. label errors found by :func:`vidaug.pipelines.find_dataset_label_errors` (the recommended
   workflow's out-of-fold probabilities, 5 folds, copies kept together as duplicate groups:
   what ``vidaug curate --dedup`` hands it) over the whole dirty dataset, with precision and
   recall against the clips whose label is wrong;
2. accuracy on held-out source videos (group 5-fold on the true groups, tested on the
   originals with their true labels) of the recommended model trained on (a) the dirty data,
   (b) curated with ``drop`` (copies dropped, label errors dropped), (c) curated with
   ``relabel`` (copies dropped, label errors relabelled), (d) the clean originals;
3. paired differences clip by clip with 95 % bootstrap intervals over source videos, and the
   share of what the dirt cost that curation recovers, ``(b − a) / (d − a)``.

The backbone embeds every clip once; every model after that is heads on cached features.

    .venv/bin/python benchmarks/dirty_data.py [--noise 0.1 0.25 0.4] [--seeds 0 1 2] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import HERE, SHARED, WEIGHTS, publish  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
WORKFLOW = "model=motion"


def fight_rows() -> list:
    from vidaug.datasets import load_rows

    rows = load_rows(SHARED / "data" / "manifest.jsonl")
    return [r for r in rows if r.label in ("fight", "noFight")]


def make_copies(rows: list, n: int, cache: Path, seed: int = 0) -> list:
    """``n`` copies (75 % crop re-encoded, or the first 60 % of the frames), cached on disk."""
    from vidaug.datasets import ManifestRow, read_clip, write_clip

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(rows), size=n, replace=False)
    out = []
    for j, i in enumerate(sorted(picks)):
        src = rows[int(i)]
        kind = "crop" if j % 2 == 0 else "trim"
        dest = cache / f"{Path(src.rel).stem}__{kind}.mp4"
        if not dest.is_file():
            clip = read_clip(src.path)
            f = clip.frames
            if kind == "crop":
                t, h, w, _ = f.shape
                ch, cw = int(h * 0.75) // 2 * 2, int(w * 0.75) // 2 * 2
                y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
                f = f[:, y0 : y0 + ch, x0 : x0 + cw]
            else:
                f = f[: max(8, int(len(f) * 0.6))]
            write_clip(dest, np.ascontiguousarray(f), clip.fps)
        rel = f"copies/{dest.name}"
        out.append(ManifestRow(str(dest), rel, src.label, None, {"copy_of": src.rel,
                                                                "group": src.extra["group"]}))  # fmt: skip
    return out


def dirty_labels(rows: list, noise: float, copy_flip: float, seed: int) -> list[str]:
    """Stratified flips of the originals; copies take their source's dirty label, a share of
    them the other one."""
    rng = np.random.default_rng(1000 + seed)
    other = {"fight": "noFight", "noFight": "fight"}
    labels = [str(r.label) for r in rows]
    originals = [i for i, r in enumerate(rows) if "copy_of" not in r.extra]
    for cls in ("fight", "noFight"):
        members = [i for i in originals if labels[i] == cls]
        for i in rng.choice(members, size=round(noise * len(members)), replace=False):
            labels[int(i)] = other[cls]
    pos = {r.rel: i for i, r in enumerate(rows)}
    for i, r in enumerate(rows):
        if "copy_of" in r.extra:
            labels[i] = labels[pos[r.extra["copy_of"]]]
            if rng.random() < copy_flip:
                labels[i] = other[labels[i]]
    return labels


def accuracy_runs(model, head, feats, rows, train_sets, folds, seed, cfg, names) -> dict:
    """Per variant, whether each original is classified right (true labels) by heads trained
    on that variant's clips of the other folds."""
    from vidaug.training import init_head, train_model

    y_true = np.array([names.index(str(r.label)) for r in rows])
    orig = np.array(["copy_of" not in r.extra for r in rows])
    correct = {v: np.full(len(rows), np.nan) for v in train_sets}
    for te in folds:
        test = te[orig[te]]
        in_test = np.zeros(len(rows), bool)
        in_test[te] = True
        for variant, labels in train_sets.items():
            tr = np.array([i for i in range(len(rows)) if labels[i] is not None and not in_test[i]])
            init_head(head, seed)
            fit = cfg.fit_kwargs()
            if variant.endswith("+hook"):  # the hard-sample hook (label suspects drawn less)
                fit.update(hook=True, hook_warmup=5)
            train_model(model, [replace(rows[i], label=labels[i]) for i in tr], class_names=names,
                        seed=seed, precomputed=feats[:1][:, tr], **fit)  # fmt: skip
            p = np.asarray(head.predict_on_batch(feats[0][test]))
            correct[variant][test] = p.argmax(1) == y_true[test]
    return correct


def boot_diff(d: np.ndarray, groups: np.ndarray, seed: int = 0, n: int = 5000) -> list[float]:
    ok = ~np.isnan(d)
    d, groups = d[ok], groups[ok]
    uniq, g = np.unique(groups, return_inverse=True)
    s, c = np.bincount(g, weights=d), np.bincount(g).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(uniq), (n, len(uniq)))
    b = s[draws].sum(1) / c[draws].sum(1)
    return [float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))]


def curated(labels, found, rows, how: str) -> list:
    """Copies dropped (dedup keeps the original), label errors dropped or relabelled."""
    out = []
    for i, r in enumerate(rows):
        if "copy_of" in r.extra:
            out.append(None)
        elif r.rel in found:
            out.append(None if how == "drop" else found[r.rel])
        else:
            out.append(labels[i])
    return out


def run_one(noise, seed, rows, feats, model, head, cfg, names, args, cache) -> dict:
    from vidaug.pipelines import find_dataset_label_errors
    from vidaug.training import group_kfold

    labels = dirty_labels(rows, noise, args.copy_flip, seed)
    seen = [replace(r, label=labels[i], extra={}) for i, r in enumerate(rows)]  # no group
    dups = [[r.extra["copy_of"], r.rel] for r in rows if "copy_of" in r.extra]
    t0 = time.perf_counter()
    res = find_dataset_label_errors(seen, workflow=cfg, folds=5, duplicate_groups=dups,
                                    seed=seed, feature_cache=cache)  # fmt: skip
    found = {e["id"]: e["suggested"] for e in res.errors()}
    wrong = {r.rel for i, r in enumerate(rows) if labels[i] != r.label}
    tp = len(wrong & set(found))
    truth = [str(r.label) if "copy_of" not in r.extra else None for r in rows]
    sets = {"dirty": labels, "drop": curated(labels, found, rows, "drop"),
            "relabel": curated(labels, found, rows, "relabel"), "clean": truth}  # fmt: skip
    if args.hook:
        sets["dirty+hook"] = labels
    groups = [str(r.extra["group"]) for r in rows]
    folds = group_kfold([r.label for r in rows], groups, 5, seed=seed)
    correct = accuracy_runs(model, head, feats, rows, sets, folds, seed, cfg, names)
    return {
        "noise": noise, "seed": seed, "found": len(found), "wrong": len(wrong), "tp": tp,
        "precision": tp / max(len(found), 1), "recall": tp / max(len(wrong), 1),
        "correct": {k: v.tolist() for k, v in correct.items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip


def summarize(runs: list[dict], rows: list) -> str:
    groups = np.array([str(r.extra["group"]) for r in rows])
    lines = [
        "| noise | label errors P | R | dirty (a) | drop (b) | relabel (c) | clean (d) "
        "| b − a, 95 % CI | c − a, 95 % CI | recovered (b−a)/(d−a) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    hook: list[str] = []
    for noise in sorted({r["noise"] for r in runs}):
        rs = [r for r in runs if r["noise"] == noise]
        tp, fo, wr = (sum(r[k] for r in rs) for k in ("tp", "found", "wrong"))
        acc = {v: np.array([np.nanmean(r["correct"][v]) for r in rs]) for v in rs[0]["correct"]}
        per_clip = {v: np.nanmean([r["correct"][v] for r in rs], axis=0) for v in acc}
        cell = {v: f"{acc[v].mean():.3f} ± {acc[v].std():.3f}" for v in acc}
        diffs = {}
        for v in ("drop", "relabel"):
            d = per_clip[v] - per_clip["dirty"]
            lo, hi = boot_diff(d, groups)
            diffs[v] = f"{100 * np.nanmean(d):+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        cost = acc["clean"].mean() - acc["dirty"].mean()
        rec = (acc["drop"].mean() - acc["dirty"].mean()) / cost if cost > 0 else float("nan")
        lines.append(
            f"| {noise:.0%} | {tp / max(fo, 1):.2f} ({tp}/{fo}) | {tp / max(wr, 1):.2f} "
            f"({tp}/{wr}) | {cell['dirty']} | {cell['drop']} | {cell['relabel']} | "
            f"{cell['clean']} | {diffs['drop']} | {diffs['relabel']} | {rec:.0%} |"
        )
        if "dirty+hook" in acc:
            d = per_clip["dirty+hook"] - per_clip["dirty"]
            lo, hi = boot_diff(d, groups)
            hook.append(f"| {noise:.0%} | {cell['dirty']} | {cell['dirty+hook']} | "
                        f"{100 * np.nanmean(d):+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] |")  # fmt: skip
    if hook:
        lines += ["", "The hard-sample hook (`hook=true hook_warmup=5`) on the same dirty data:", "",
                  "| noise | dirty | dirty + hook | hook − dirty, 95 % CI |", "|---|---|---|---|",
                  *hook]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.25, 0.4])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--copies", type=int, default=30, help="clips re-cut into a copy")
    ap.add_argument("--copy-flip", type=float, default=0.3, help="share of mislabelled copies")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/vidaug-dirty-copies"))
    ap.add_argument("--hook", action="store_true", help="also: the dirty data with the hook")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    ap.add_argument("--section", default="dirty_data", help="RESULTS.md section to write")
    args = ap.parse_args()
    os.environ.setdefault("VIDAUG_WEIGHTS", str(WEIGHTS))
    if not (SHARED / "data" / "manifest.jsonl").is_file():
        sys.exit(f"needs {SHARED}/data (the shared clip corpus)")
    from vidaug.pipelines import feature_bank
    from vidaug.training import TrainConfig, build_model

    args.cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    originals = fight_rows()
    rows = originals + make_copies(originals, args.copies, args.cache)
    names = ["fight", "noFight"]
    cfg = TrainConfig.parse(WORKFLOW)
    model = build_model(cfg.model, 2, seed=0, weights=os.environ["VIDAUG_WEIGHTS"],
                        **cfg.model_kwargs())  # fmt: skip
    head = model.get_layer("head")
    from vidaug.pipelines._cross_validate import _bank_key

    bank = feature_bank(model, rows, names, cfg)
    cache = {_bank_key(cfg): bank}
    print(f"embedded {len(rows)} clips in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = []
    for noise in args.noise:
        for seed in args.seeds:
            r = run_one(noise, seed, rows, bank[0], model, head, cfg, names, args, cache)
            runs.append(r)
            print(f"noise {noise:.0%} seed {seed}: P {r['precision']:.2f} R {r['recall']:.2f} "
                  + " ".join(f"{k} {np.nanmean(v):.3f}" for k, v in r["correct"].items()),
                  flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(runs))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    body = (
        f"### Dirty data: label errors and curation (`benchmarks/dirty_data.py`)\n\n"
        f"{when}, {platform.machine()} {os.cpu_count()} cores, {len(originals)} fight_surv clips "
        f"+ {args.copies} copies ({args.copy_flip:.0%} of them mislabelled), seeds "
        f"{args.seeds}, workflow `{WORKFLOW}`, {time.perf_counter() - t0:.0f} s in all. "
        "Accuracy on held-out source videos (true labels), mean ± std over seeds.\n\n"
        + summarize(runs, rows)
    )
    publish(HERE / "RESULTS.md", args.section, body, args.write)


if __name__ == "__main__":
    main()
