"""Overhead of ``HardSampleMiningCallback`` at ``every=1`` (issue 5 §3; target ≤ 10 %).

Trains the same model on the same clips twice per repeat, with and without the hook, and
reports the median epoch time of each and the hook's own time (measured inside the callback).
Epoch 1 (decoding and caching the clips) is left out.

    .venv/bin/python benchmarks/hook_overhead.py --model seed --clips 48 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
BEGIN, END = "<!-- hook_overhead:begin -->", "<!-- hook_overhead:end -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="seed", choices=["seed", "mobilenet_v2"])
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--recipe", default="light")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not (SHARED / "data" / "manifest.jsonl").is_file():
        print(f"needs {SHARED}/data", file=sys.stderr)
        return 2
    import keras

    from vidaug.augment import load_recipe
    from vidaug.datasets import load_rows
    from vidaug.training import build_model, train_model

    rows = [json.loads(x) for x in (SHARED / "data" / "manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("label") in ("fight", "noFight")]
    rng = np.random.default_rng(0)
    rows = [rows[i] for i in sorted(rng.choice(len(rows), args.clips, replace=False))]
    work = Path(tempfile.mkdtemp(prefix="vidaug-hook-"))
    (work / "clips").symlink_to(SHARED / "data" / "clips")
    with open(work / "m.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"path": r["path"], "label": r["label"]}) + "\n")
    train = load_rows(work / "m.jsonl")
    recipe = load_recipe(args.recipe).transform if args.model == "seed" else None

    class EpochTimes(keras.callbacks.Callback):
        """Epoch k's time = start of epoch k+1 − start of epoch k (the hook, which runs after
        this callback's on_epoch_end, is inside it); the last one ends at on_train_end."""

        def on_train_begin(self, logs=None):
            self.starts = []

        def on_epoch_begin(self, epoch, logs=None):
            self.starts.append(time.perf_counter())

        def on_train_end(self, logs=None):
            self.starts.append(time.perf_counter())
            self.t = list(np.diff(self.starts))

    results = {"hook": [], "plain": [], "hook_own": []}
    for rep in range(args.repeats):
        for hook in (False, True) if rep % 2 == 0 else (True, False):
            timer = EpochTimes()
            model = build_model(args.model, 2, weights=WEIGHTS, seed=rep)
            res = train_model(model, train, epochs=args.epochs, recipe=recipe, hook=hook,
                              seed=rep, callbacks=[timer])  # fmt: skip
            results["hook" if hook else "plain"].extend(timer.t[1:])
            if hook:  # per firing, the first (Keras traces its predict step) left out too
                results["hook_own"].extend(h["seconds"] for h in res.hook[1:])
    plain = float(np.median(results["plain"]))
    with_hook = float(np.median(results["hook"]))
    own = float(np.median(results["hook_own"]))
    overhead = with_hook / plain - 1
    lines = [
        BEGIN,
        f"## Hard-sample hook overhead (issue 5 §3): model `{args.model}`",
        "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with "
        "other jobs while it ran). vidaug at "
        + subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()  # fmt: skip
        + f". Command: `.venv/bin/python benchmarks/hook_overhead.py {' '.join(sys.argv[1:])}`",
        "",
        f"{args.clips} fight/noFight clips, {args.epochs} epochs × {args.repeats} repeats, "
        f"recipe {args.recipe if recipe else 'none (cached frozen features)'}; epoch 1 left out.",
        "",
        "| | median epoch s | target | result |",
        "|---|---|---|---|",
        f"| without hook | {plain:.2f} | | |",
        f"| with hook (every=1) | {with_hook:.2f} | | |",
        f"| overhead (with / without − 1) | {100 * overhead:+.1f} % | ≤ 10 % | "
        + ("PASS" if overhead <= 0.10 else "FAIL")
        + " |",
        f"| the hook's own time per epoch (timed inside it, median) | {own:.2f} "
        f"({100 * own / plain:.1f} % of an epoch) | ≤ 10 % | "
        + ("PASS" if own / plain <= 0.10 else "FAIL")
        + " |",
        "",
        END,
    ]
    print("\n".join(lines))
    if not args.no_write:
        body = "\n".join(x for x in lines if x not in (BEGIN, END))
        write_marked_section(HERE / "RESULTS.md", "hook_overhead", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
