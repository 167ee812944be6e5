"""End to end (issue 11 §1): the plain `vidaug augment` command against the work it does and
against the script a user would write, on 12 real clips × 4 copies, recipe `light`.

In one run:

* **serial sum**: one thread, one process: decode each clip (`read_clip`), augment it in memory
  4 times (`light`), encode the 4 copies (`write_clip`); the sum of those times is the work.
* **user script**: OpenCV read → albumentations `ReplayCompose` (the light recipe's ops:
  flip, affine, colour jitter), sampled on frame 0 and replayed per frame → OpenCV write, for
  each copy, one process.
* **plain command**: `vidaug augment SRC OUT --recipe light --copies 4` as a user types it (no
  --workers, no thread settings), interpreter start-up included.

Targets: plain ≥ 1.8× faster than the serial sum on 2 cores and ≥ 3× faster than the user
script. Every figure is the median of `--reps` runs.

    .venv/bin/python benchmarks/e2e_bench.py --write
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C
import cv2
from _results import publish
from augment_bench import copy_clips, e2e_sources

COPIES = 4
SEED = 0


def user_ops():
    import albumentations as A

    return A.ReplayCompose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                rotate=(-5, 5),
                scale=(0.95, 1.05),
                translate_percent={"x": (-0.03, 0.03), "y": (-0.03, 0.03)},
                border_mode=cv2.BORDER_REFLECT_101,
                p=1.0,
            ),  # fmt: skip
            A.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.01, p=1.0),
        ]
    )


def user_script(files: list[Path], out: Path) -> None:
    """What a user writes: read with OpenCV, one ReplayCompose per copy, write with OpenCV."""
    import albumentations as A

    rc = user_ops()
    for f in files:
        cap = cv2.VideoCapture(str(f))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        h, w = frames[0].shape[:2]
        for k in range(COPIES):
            first = rc(image=frames[0])
            vw = cv2.VideoWriter(str(out / f"{f.stem}_{k}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                 fps, (w, h))  # fmt: skip
            vw.write(cv2.cvtColor(first["image"], cv2.COLOR_RGB2BGR))
            for fr in frames[1:]:
                img = A.ReplayCompose.replay(first["replay"], image=fr)["image"]
                vw.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            vw.release()


def serial_sum(files: list[Path], out: Path) -> dict[str, float]:
    """Single-thread decode + in-memory augment + encode, each timed."""
    from vidaug.augment import load_recipe
    from vidaug.datasets import clip_seed, read_clip, write_clip

    t = load_recipe("light").transform
    times = {"decode": 0.0, "augment": 0.0, "encode": 0.0}
    for f in files:
        t0 = time.perf_counter()
        clip = read_clip(f)
        times["decode"] += time.perf_counter() - t0
        for k in range(COPIES):
            t0 = time.perf_counter()
            x = t.augment(clip.frames, seed=clip_seed(SEED, f.name, k)).clip
            times["augment"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            write_clip(out / f"{f.stem}_{k}.mp4", x, clip.fps)
            times["encode"] += time.perf_counter() - t0
    return times


def plain_command(src: Path, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in C._THREAD_VARS}  # as a user runs it
    exe = Path(sys.executable).with_name("vidaug")
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "augment", str(src), str(out), "--recipe", "light",
                           "--copies", str(COPIES), "--overwrite"],
                          capture_output=True, text=True, env=env)  # fmt: skip
    dt = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"vidaug augment failed: {proc.stderr[-500:]}")
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    a = ap.parse_args(argv)
    manifest = C.load_manifest()
    rows_in = e2e_sources(manifest)
    if len(rows_in) < 2:
        print("needs the fight_surv clips of ../shared/data")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="vidaug-e2e-"))
    try:
        src = tmp / "src"
        files = sorted(copy_clips(rows_in, src))
        n_frames = sum(r["frames"] for r in rows_in)
        serial, user, plain = [], [], []
        load = C.OtherLoad().__enter__()
        for rep in range(a.reps):
            for name in ("s", "u", "p"):
                out = tmp / f"{name}{rep}"
                out.mkdir()
                t0 = time.perf_counter()
                if name == "s":
                    parts = serial_sum(files, out)
                    serial.append(parts)
                elif name == "u":
                    user_script(files, out)
                    user.append(time.perf_counter() - t0)
                else:
                    shutil.rmtree(out)
                    plain.append(plain_command(src, out))
            print(f"rep {rep}: serial {sum(serial[-1].values()):.2f} s, user {user[-1]:.2f} s, "
                  f"plain {plain[-1]:.2f} s", flush=True)  # fmt: skip
        load.__exit__(None, None, None)
        note = load.describe("the whole run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = C.median
    s_tot = med([sum(p.values()) for p in serial])
    parts = {k: med([p[k] for p in serial]) for k in serial[0]}
    u, p = med(user), med(plain)
    m = C.machine_info()
    from vidaug.pipelines import default_workers

    rows = [
        ["serial sum: decode + in-memory augment + encode, 1 thread",
         f"{s_tot:.2f}", f"{n_frames * COPIES / s_tot:.0f}",
         f"decode {parts['decode']:.2f} + augment {parts['augment']:.2f} + encode "
         f"{parts['encode']:.2f}", "", ""],
        ["user script: OpenCV → albumentations ReplayCompose per frame → OpenCV", f"{u:.2f}",
         f"{n_frames * COPIES / u:.0f}", "", "", ""],
        [f"`vidaug augment SRC OUT --recipe light --copies 4` ({default_workers(12)} workers "
         "by default)", f"{p:.2f}", f"{n_frames * COPIES / p:.0f}",
         f"{s_tot / p:.2f}× the serial sum; {u / p:.2f}× the user script",
         "≥ 1.8× / ≥ 3×", "PASS" if s_tot / p >= 1.8 and u / p >= 3 else "FAIL"],
    ]  # fmt: skip
    body = f"""## End to end: the plain command (issue 11)

Date: {m["date"]}. Machine: {m["cpu"]}, {m["cores"]} cores. vidaug {m["vidaug"]}, OpenCV
{m["opencv"]}, albumentations {m["albumentations"]}. Command: `.venv/bin/python
benchmarks/e2e_bench.py --reps {a.reps}`; medians of {a.reps} runs, interleaved.
12 clips of fight_surv (6 fight + 6 noFight, 480×360, {n_frames} frames) × {COPIES} copies.

{C.md_table(["job", "seconds", "frames/s", "ratio", "target", "result"], rows)}

Machine load while it ran: {note}.
"""
    publish(a.results, "e2e_bench", body, write=a.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
