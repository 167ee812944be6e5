"""Embedding throughput: vidaug's decode + embed pipeline vs ``model.predict`` on frames already
decoded and resized in memory (the ceiling), issue 4 §5.

    VIDAUG_WEIGHTS=/path/to/mobilenet_v2_1.0_224_notop.h5 .venv/bin/python benchmarks/embed_bench.py
    .venv/bin/python benchmarks/embed_bench.py --quick     # 8 clips, 1 repeat, prints only

Rows (same clips, same images, same model, same batch size):

* ``vidaug embed_rows``: ``vidaug.mining.embed_rows(rows, embedder, frames=8 | fps=F,
  batch=B, regions=R)``: decode threads (``decode_workers=2``) read, crop black bars,
  resize and cut region windows while the model runs.
* ``model.predict (ceiling)``: the frames ``embed_rows`` would embed, decoded and resized
  beforehand (untimed), preprocessed, then ``model.predict(x, batch_size=B)``.
"""

from __future__ import annotations

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import _common as C  # noqa: E402  (first: pins the thread pools before numpy / cv2 / TF load)
import numpy as np  # noqa: E402
from _results import publish  # noqa: E402

TARGET = 0.8


def pick_rows(n: int) -> list:
    from vidaug.datasets import load_rows

    rows = load_rows(str(C.SHARED_DATA / "manifest.jsonl"))
    fight = [r for r in rows if "fight_surv" in r.path and r.label == "fight"]
    nofight = [r for r in rows if "fight_surv" in r.path and r.label == "noFight"]
    half = n // 2
    return fight[:half] + nofight[: n - half]


def predecode(
    rows: list, size: tuple[int, int], frames: int | None, fps: float | None, regions: bool = False
):
    """Every image the model sees for ``rows``: the sampled frames, then (``regions``) the
    region windows of :mod:`vidaug.mining._regions`."""
    from vidaug.mining import load_clip_frames

    out = [load_clip_frames(r, size, frames, fps, regions) for r in rows]
    bad = [c.error for c in out if c.error]
    if bad:
        raise RuntimeError(bad[0])
    return np.concatenate([c.frames for c in out])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--fps", type=float, default=10.0, help="the 'all frames at fps' case")
    ap.add_argument("--batches", default="16,32,64", help="batch sizes (32 = vidaug's default)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "RESULTS.md")
    a = ap.parse_args(argv)
    if a.quick:
        a.clips, a.reps, a.batches = 8, 1, "32"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(C.THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(C.THREADS)
    from vidaug.mining import embed_rows, load_embedder

    emb = load_embedder("mobilenet_v2", weights=a.weights)
    rows = pick_rows(a.clips)
    batches = [int(b) for b in a.batches.split(",")]
    cases = [
        ("8 frames a clip", 8, None, False),
        ("8 frames a clip + regions", 8, None, True),
        (f"all frames at {a.fps:g} fps", None, a.fps, False),
    ]
    table, notes, per_clip = [], [], {}
    for label, k, fps, regions in cases:
        x = predecode(rows, emb.input_size, k, fps, regions)
        n = len(x)
        td = []
        for _ in range(a.reps):  # what the pipeline's decode threads do, serially
            t0 = time.perf_counter()
            predecode(rows, emb.input_size, k, fps, regions)
            td.append(time.perf_counter() - t0)
        table.append(
            [label, f"{len(rows)} clips, {n} frames", "–", "decode + resize only (serial, informational)",
             f"{C.median(td):.2f}", f"{n / C.median(td):.1f}", f"{C.spread(td):.0%}", "", "info", ""]
        )  # fmt: skip
        for b in batches:

            def pipeline(b=b, k=k, fps=fps, regions=regions):
                return embed_rows(rows, emb, frames=k, fps=fps, batch=b, regions=regions)

            def ceiling(b=b, x=x):
                xp = emb.preprocess(x.astype(np.float32))
                return emb.model.predict(xp, batch_size=b, verbose=0)

            pipeline()  # warm-up (traces the model for this batch size)
            ceiling()
            tp, tc, cp, cc = [], [], [], []
            with C.OtherLoad() as load:
                for _ in range(a.reps):  # round robin
                    c0, t0 = time.process_time(), time.perf_counter()
                    pipeline()
                    tp.append(time.perf_counter() - t0)
                    cp.append(time.process_time() - c0)
                    c0, t0 = time.process_time(), time.perf_counter()
                    ceiling()
                    tc.append(time.perf_counter() - t0)
                    cc.append(time.process_time() - c0)
            fp, fc = n / C.median(tp), n / C.median(tc)
            ratio = fp / fc
            if b == 32:
                per_clip[label] = len(rows) / C.median(tp)
            mark = " (default)" if b == 32 else ""
            table.append(
                [label, f"{len(rows)} clips, {n} frames", f"{b}{mark}", "model.predict (ceiling)",
                 f"{C.median(tc):.2f}", f"{fc:.1f}", f"{C.spread(tc):.0%}", "reference row", "", ""]
            )  # fmt: skip
            table.append(
                [label, f"{len(rows)} clips, {n} frames", f"{b}{mark}", "vidaug embed_rows",
                 f"{C.median(tp):.2f}", f"{fp:.1f}", f"{C.spread(tp):.0%}",
                 f"{ratio:.2f} (vidaug / predict)", f"≥ {TARGET}",
                 "PASS" if ratio >= TARGET else "FAIL"]
            )  # fmt: skip
            print(f"{label} batch {b}: pipeline {fp:.1f} f/s, predict {fc:.1f} f/s, {ratio:.2f}")
            notes.append(
                load.describe(f"{label}, batch {b}")
                + f"; CPU time of this process: pipeline {C.median(cp):.2f} s, predict "
                f"{C.median(cc):.2f} s (median)"
            )
    info = C.machine_info()
    clip_rates = "; ".join(f"{k}: {v:.2f} clips/s" for k, v in per_clip.items())

    def n_images(regions: bool) -> int:
        from vidaug.mining._regions import REGION_FRAMES, REGION_GRID

        return 8 + (REGION_FRAMES * REGION_GRID**2 if regions else 0)

    argv_s = " ".join(sys.argv[1:] if argv is None else argv)
    body = f"""## Embedding throughput (issue 4 §5)

Date: {info["date"]} (UTC). Machine: {info["cpu"]}, {info["cores"]} cores, {info["os"]}. Python {info["python"]}, numpy {info["numpy"]}, OpenCV {info["opencv"]}, TensorFlow {tf.__version__}. vidaug at commit {info["vidaug"]}. Model: MobileNetV2 1.0/224 ImageNet no-top, average-pooled (1280-d), `{emb.model_id}`.

Command: `.venv/bin/python benchmarks/embed_bench.py{(" " + argv_s) if argv_s else ""}`. TensorFlow intra/inter-op threads = 1 and OpenCV / FFmpeg pinned to 1 thread (the second core is left to the decode thread(s) of the pipeline). Clips: the first {len(rows) // 2} `fight` and {len(rows) - len(rows) // 2} `noFight` clips of `fight_surv` in `../shared/data` (480×360). One warm-up call per row, then {a.reps} repeats round robin (pipeline, predict, ...); median time; frames/s = frames / median; spread = (max − min) / median. Rows: see README.md.

{C.md_table(["Frames", "Data", "batch", "Row", "median s", "frames/s", "spread", "ratio", "target", "result"], table)}

### Notes

- The pipeline needs the decode CPU time on top of the inference (the decode row): on two
  free cores it can hide it (time ≈ max(predict, decode)); with the second core busy it
  cannot (time → predict + decode). Check the machine load below before reading the ratio.
- Images are what the model sees: with regions each clip adds 4 frames × 9 windows (a
  window is embedded like a frame), so a clip costs {n_images(True)} model images instead of
  {n_images(False)}. Clips per second of the pipeline at batch 32: {clip_rates}.
- machine load: {"; ".join(notes)}
"""
    publish(a.results, "embed_bench", body, write=not a.quick or a.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
