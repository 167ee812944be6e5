"""Which training workflow transfers to cameras it has never seen? (issue 9)

On the 139 fight / noFight surveillance clips of ``../shared/data`` (22 source videos):
group 5-fold cross-validation (a source video is never on both sides; every clip is tested
once per seed by a model that never saw its camera) × 3 seeds, for each workflow below, and
every workflow compared with its baseline clip by clip (same folds, same seeds) with a 95 %
bootstrap interval over source groups (:func:`vidaug.training.compare_cv`, what ``vidaug
compare`` prints). Results go to RESULTS.md (section between ``training_cv`` markers).

    .venv/bin/python benchmarks/training_cv.py [--seeds 0 1 2] [--only motion,motion_camera]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import HERE, SHARED, WEIGHTS, write_marked_section  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: name → (workflow, baseline name or None, what it asks)
WORKFLOWS: dict[str, tuple[str, str | None, str]] = {
    # the named workflows (`vidaug workflows`), issue 20
    "plain": ("plain", None, "the plain baseline (appearance, one head)"),
    "recommended_no_aug": ("recommended-no-aug", "plain", "the recommended model, no augmentation"),
    "recommended": (
        "recommended",
        "recommended_no_aug",
        "the motion recipe: 4 views + 4 TTA views",
    ),
    "finetune": ("recommended-no-aug finetune=1", "recommended_no_aug", "last block fine-tuned"),
    "finetune_aug": ("recommended finetune=1", "finetune", "last block fine-tuned, motion recipe"),
    # the rows of issue 9
    "mobilenet_v2": ("model=mobilenet_v2 members=1", None, "today's plain model (appearance)"),
    "motion_1": ("model=motion members=1", "mobilenet_v2", "motion instead of appearance"),
    "motion": ("model=motion", "motion_1", "5 averaged heads instead of 1"),
    "motion_camera": ("model=motion recipe=camera views=4", "motion", "camera views in training"),
    "motion_camera_tta": (
        "model=motion recipe=camera views=4 tta=4",
        "motion",
        "camera views + 4-view TTA",
    ),
    "motion_light_tta": (
        "model=motion recipe=light views=4 tta=4",
        "motion",
        "light views + 4-view TTA",
    ),
    "two_stream": ("model=motion streams=rgb,diff", "motion", "appearance added to motion"),
    "motion_hook": ("model=motion hook=true hook_warmup=5", "motion", "hard-sample hook"),
    "motion_camera_worst": (
        "model=motion recipe=camera views=4 hook=true hook_warmup=5 hook_views=worst",
        "motion_camera",
        "hook with worst-of-K views",
    ),
    "seed": ("model=seed", None, "the seed CNN, plain"),
    "seed_light": ("model=seed recipe=light", "seed", "seed CNN + light recipe on the fly"),
    "seed_camera": ("model=seed recipe=camera", "seed", "seed CNN + camera recipe on the fly"),
    "seed_diff": ("model=seed streams=diff", None, "seed CNN on RGB differences"),
    "seed_diff_light": (
        "model=seed streams=diff recipe=light",
        "seed_diff",
        "seed CNN on RGB differences + light recipe",
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--only", default=None, help="comma-separated workflow names")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--json", type=Path, default=None, help="also write every result here")
    ap.add_argument(
        "--section",
        default=None,
        help="RESULTS.md section name (default: training_cv; with --only, none)",
    )
    args = ap.parse_args()
    os.environ.setdefault("VIDAUG_WEIGHTS", str(WEIGHTS))
    if not (SHARED / "data" / "manifest.jsonl").is_file():
        sys.exit(f"needs {SHARED}/data (the shared clip corpus)")

    from vidaug.datasets import load_rows
    from vidaug.pipelines import compare_cv, cross_validate
    from vidaug.training import TrainConfig

    rows = [r for r in load_rows(SHARED / "data" / "manifest.jsonl")
            if r.label in ("fight", "noFight")]  # fmt: skip
    names = [n for n in WORKFLOWS if args.only is None or n in args.only.split(",")]
    for n in list(names):  # a comparison needs its baseline
        base = WORKFLOWS[n][1]
        if base and base not in names:
            names.insert(0, base)
    names = list(dict.fromkeys(names))
    results, banks = {}, {}
    t_all = time.perf_counter()
    for n in names:
        cfg = TrainConfig.parse(WORKFLOWS[n][0])
        print(f"== {n}: {cfg.describe()}", flush=True)
        results[n] = cross_validate(rows, cfg, k=args.k, seeds=args.seeds, weights=str(WEIGHTS),
                                    _banks=banks)  # fmt: skip
        s = results[n].summary()
        print(f"   accuracy {s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f} "
              f"{s['accuracy']['per_seed']} ({s['seconds']:.0f} s)", flush=True)  # fmt: skip

    lines = [
        "## Training workflows on unseen cameras (`benchmarks/training_cv.py"
        + (f" --only {args.only}" if args.only else "")
        + "`)",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {len(rows)} fight_surv clips of ../shared, "
        f"{len(set(r.extra.get('group') for r in rows))} source videos, group {args.k}-fold "
        f"(same folds for every workflow), seeds {args.seeds}; {time.perf_counter() - t_all:.0f} s "
        "in all. Accuracy is mean ± std over seeds (each seed tests every clip once); "
        "'ens' is the accuracy of the seeds' averaged probabilities; '1-model seed std' (points) "
        "is how far one model's accuracy on a held-out fold moves with the seed (std over seeds, "
        "mean over folds). Δ is the paired "
        "difference to the baseline, 95 % CI from a bootstrap over source videos.",
        "",
        "| workflow | config | accuracy | macro F1 | ens | 1-model seed std | vs | Δ accuracy [95 % CI] | P(better) | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    dump = {}
    for n in names:
        s = results[n].summary()
        base = WORKFLOWS[n][1]
        cmp = compare_cv(results[base], results[n]) if base in results else None
        dump[n] = {"summary": s, "vs": base, "diff": cmp["diff"] if cmp else None}
        delta = (
            f"{cmp['diff']['mean'] * 100:+.1f} [{cmp['diff']['ci95'][0] * 100:+.1f}, "
            f"{cmp['diff']['ci95'][1] * 100:+.1f}]"
            if cmp
            else "—"
        )
        lines.append(
            f"| {n} | `{s['config']}` | {s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f} "
            f"| {s['macro_f1']['mean']:.3f} | {s['seed_ensemble_accuracy']:.3f} "
            f"| {s['model_seed_std'] * 100:.1f} | {base or '—'} "
            f"| {delta} | {cmp['diff']['p_b_better']:.2f} | {s['seconds']:.0f} |"
            if cmp
            else f"| {n} | `{s['config']}` | {s['accuracy']['mean']:.3f} ± "
            f"{s['accuracy']['std']:.3f} | {s['macro_f1']['mean']:.3f} | "
            f"{s['seed_ensemble_accuracy']:.3f} | {s['model_seed_std'] * 100:.1f} | — | — | — | "
            f"{s['seconds']:.0f} |"
        )
    body = "\n".join(lines)
    print(body)
    section = args.section or (None if args.only else "training_cv")
    if section:
        write_marked_section(args.out, section, body)
    if args.json:
        args.json.write_text(json.dumps(dump, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
