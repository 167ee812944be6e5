"""Does curation + augmentation + the hard-sample hook help? (issue 5 §6)

On the fight / noFight surveillance clips of ``../shared/data``: one fixed, group-held-out
split (no source video on two sides), then for each seed

* (a) baseline: the train split as it is, no augmentation, no curation, no hook;
* (b) curated: ``curate`` on the train split (near-duplicates dropped, hard clips mined and
  given extra augmented copies, ``--copies`` copies of every clip), trained with the recipe on
  the fly (seed model only: the MobileNetV2 model caches frozen features, so it sees the
  curated copies but no on-the-fly augmentation) and the hard-sample hook;

same model and epochs, evaluated on the same held-out test clips. Accuracy and macro F1,
mean ± std over seeds, go to RESULTS.md (section between ``training_gain`` markers).

    .venv/bin/python benchmarks/training_gain.py --model seed --epochs 15 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import HERE, ROOT, SHARED, WEIGHTS, write_marked_section  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BEGIN, END = "<!-- training_gain:begin -->", "<!-- training_gain:end -->"


def fixed_split(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """fight / noFight rows, split 80 / 20 by source group (stratified), fixed."""
    from vidaug.training import group_split

    rows = [json.loads(x) for x in (SHARED / "data" / "manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("label") in ("fight", "noFight")]
    train, test = group_split([r["label"] for r in rows], [r["group"] for r in rows], [0.8, 0.2],
                              seed)  # fmt: skip
    return [rows[i] for i in train], [rows[i] for i in test]


def write_manifest(path: Path, rows: list[dict], split: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"path": r["path"], "label": r["label"], "group": r["group"],
                                "split": split}) + "\n")  # fmt: skip


def run(args: argparse.Namespace) -> dict:
    import keras

    from vidaug.augment import load_recipe
    from vidaug.datasets import load_rows
    from vidaug.mining import load_embedder
    from vidaug.training import build_model, evaluate_model, train_model
    from vidaug.training._curate import curate

    train_rows, test_rows = fixed_split(args.split_seed)
    work = Path(tempfile.mkdtemp(prefix="vidaug-gain-"))
    (work / "clips").symlink_to(SHARED / "data" / "clips")
    write_manifest(work / "train.jsonl", train_rows, "train")
    write_manifest(work / "test.jsonl", test_rows, "test")
    train = load_rows(work / "train.jsonl")
    test = load_rows(work / "test.jsonl")
    names = ["fight", "noFight"]
    out: dict = {"train": len(train), "test": len(test), "runs": []}
    out["groups"] = {
        "train": len({r["group"] for r in train_rows}),
        "test": len({r["group"] for r in test_rows}),
    }
    emb = load_embedder("mobilenet_v2", weights=WEIGHTS)
    recipe = load_recipe(args.recipe)
    for seed in args.seeds:
        cur = work / f"curated{seed}"
        first = work / f"curated{args.seeds[0]}" / ".vidaug-index"
        if first.is_dir() and not (cur / ".vidaug-index").exists():
            shutil.copytree(first, cur / ".vidaug-index")  # same clips: reuse the embeddings
        t0 = time.perf_counter()
        cres = curate(work / "train.jsonl", cur, dedup=True, mine_hard=True, copies=args.copies,
                      hard_copies=args.hard_copies, recipe=args.recipe, seed=seed, embedder=emb)  # fmt: skip
        curate_s = time.perf_counter() - t0
        curated = [r for r in load_rows(cur / "manifest.jsonl") if r.split == "train"]
        on_the_fly = recipe.transform if args.model == "seed" else None

        copies_rows = []
        if "copies" in args.variants:
            aug = work / f"copies{seed}"
            curate(work / "train.jsonl", aug, copies=args.copies, recipe=args.recipe, seed=seed)
            copies_rows = [r for r in load_rows(aug / "manifest.jsonl") if r.split == "train"]
        nohard_rows = []
        if "b2" in args.variants:
            nh = work / f"nohard{seed}"
            if first.is_dir() and not (nh / ".vidaug-index").exists():
                shutil.copytree(first, nh / ".vidaug-index")
            curate(work / "train.jsonl", nh, dedup=True, copies=args.copies, recipe=args.recipe,
                   seed=seed, embedder=emb)  # fmt: skip
            nohard_rows = [r for r in load_rows(nh / "manifest.jsonl") if r.split == "train"]
        variants = {  # name: (rows, on-the-fly recipe, hook)
            "a": (train, None, False),
            "b": (curated, on_the_fly, True),
            "hook": (train, None, True),
            "copies": (copies_rows, on_the_fly, False),
            "curated": (curated, on_the_fly, False),
            "b2": (nohard_rows, on_the_fly, True),
        }
        for name in args.variants:
            rows, rec, hook = variants[name]
            model = build_model(args.model, 2, frames=args.frames, weights=WEIGHTS, seed=seed)
            t0 = time.perf_counter()
            res = train_model(model, rows, class_names=names, epochs=args.epochs,
                              batch_size=args.batch, recipe=rec, hook=hook, seed=seed,
                              fps=args.fps)  # fmt: skip
            rep = evaluate_model(res.model, test, names, fps=args.fps)
            run = {
                "config": name, "seed": seed, "train_clips": len(rows),
                "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"],
                "recall": {c: rep["per_class"][c]["recall"] for c in names},
                "fit_s": round(res.seconds, 1), "hook_s": round(res.hook_seconds, 2),
                "total_s": round(time.perf_counter() - t0, 1),
                "final_train_acc": res.history["accuracy"][-1],
            }  # fmt: skip
            if name == "b":
                run["curation"] = {"dropped": len(cres.dropped), "added": len(cres.added),
                                   "conflicts": len(cres.label_conflicts),
                                   "suspects": len(cres.label_suspects),
                                   "curate_s": round(curate_s, 1)}  # fmt: skip
            run["peak_rss_gb"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2
            )
            print(json.dumps(run), flush=True)
            out["runs"].append(run)
            del res, model
            keras.backend.clear_session()  # nothing of this run stays in memory
            gc.collect()
    return out


def summary_table(out: dict) -> list[str]:
    lines = [
        "| config | train clips | accuracy (mean ± std) | macro F1 (mean ± std) | per seed acc |",
        "|---|---|---|---|---|",
    ]
    stats = {}
    labels = {
        "a": "(a) baseline",
        "b": "(b) curated + augmented + hook",
        "hook": "ablation: (a) + hook",
        "copies": "ablation: augmented copies only",
        "curated": "ablation: (b) without the hook",
        "b2": "(b2) dedup + copies + hook, no hard-clip copies",
    }
    present = list(dict.fromkeys(r["config"] for r in out["runs"]))
    for cfg in present:
        runs = [r for r in out["runs"] if r["config"] == cfg]
        acc = np.array([r["accuracy"] for r in runs])
        f1 = np.array([r["macro_f1"] for r in runs])
        stats[cfg] = acc.mean()
        n = sorted({r["train_clips"] for r in runs})
        sd = (lambda v: f"{v.std(ddof=1):.3f}") if len(runs) > 1 else (lambda v: "n/a")
        lines.append(
            f"| {labels[cfg]} | {', '.join(map(str, n))} | {acc.mean():.3f} ± {sd(acc)} | "
            f"{f1.mean():.3f} ± {sd(f1)} | " + ", ".join(f"{a:.3f}" for a in acc) + " |"
        )
    if "a" in stats and "b" in stats:
        gain = 100 * (stats["b"] - stats["a"])
        lines.append("")
        lines.append(
            f"Gain (b) − (a): {gain:+.1f} accuracy points (target ≥ +3): "
            + ("PASS" if gain >= 3 else "FAIL")
        )
    return lines


def write_results(out: dict, args: argparse.Namespace, seconds: float) -> None:
    import keras

    import vidaug

    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    body = [
        BEGIN,
        f"## Training gain (issue 5 §6): model `{args.model}`, split seed {args.split_seed}",
        "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other jobs while it ran). vidaug {vidaug.__version__} "
        f"at {rev}, Keras {keras.__version__}. Wall time {seconds / 60:.1f} min.",
        "",
        f"Command: `.venv/bin/python benchmarks/training_gain.py {' '.join(sys.argv[1:])}`",
        "",
        f"Data: fight / noFight clips of `../shared/data`, split once by source group "
        f"(stratified, seed {args.split_seed}): {out['train']} train clips from "
        f"{out['groups']['train']} groups, {out['test']} test clips from {out['groups']['test']} "
        f"other groups. Same model, {args.epochs} epochs, {args.frames} frames per clip, batch "
        f"{args.batch}; seeds {', '.join(map(str, args.seeds))}.",
        f"(b): `curate --dedup --mine-hard --copies {args.copies} --hard-copies "
        f"{args.hard_copies} --recipe {args.recipe}` on the train split, then training"
        + (f" with `--recipe {args.recipe}` on the fly" if args.model == "seed" else "")
        + " and the hard-sample hook (every epoch).",
        "",
        *summary_table(out),
        "",
        "| config | seed | train clips | accuracy | macro F1 | recall fight | recall noFight | fit s | hook s |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['config']} | {r['seed']} | {r['train_clips']} | {r['accuracy']:.3f} | "
            f"{r['macro_f1']:.3f} | {r['recall']['fight']:.3f} | {r['recall']['noFight']:.3f} | "
            f"{r['fit_s']} | {r['hook_s']} |"
            for r in out["runs"]
        ],
        "",
        END,
    ]
    name = f"training_gain_{args.model}" + (f"_split{args.split_seed}" if args.split_seed else "")
    body = "\n".join(x for x in body if x not in (BEGIN, END))
    write_marked_section(HERE / "RESULTS.md", name, body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="seed", choices=["seed", "mobilenet_v2"])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--hard-copies", type=int, default=2)
    ap.add_argument("--recipe", default="light")
    ap.add_argument("--fps", type=float, default=None)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--variants", nargs="+", default=["a", "b"],
        choices=["a", "b", "hook", "copies", "curated", "b2"],
        help="a: baseline; b: curated + augmented + hook; ablations: hook (a + hook), copies "
        "(augmented copies only), curated (b without the hook)",
    )  # fmt: skip
    args = ap.parse_args()
    if not (SHARED / "data" / "manifest.jsonl").is_file() or not WEIGHTS.is_file():
        print(f"needs {SHARED}/data and {WEIGHTS}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    out = run(args)
    print("\n".join(summary_table(out)))
    if not args.no_write:
        write_results(out, args, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
