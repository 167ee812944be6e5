"""Ray's overhead on one machine (issue 12): the same jobs with ``engine="local"`` and
``engine="ray"`` on a local Ray instance, and Ray's start-up cost on its own.

* augment: 12 real clips × 4 copies (48 outputs), recipe light; local with ``workers=2`` vs Ray
  Data tasks (2 CPUs).
* embed: ≥ 200 real clips (the shared manifest's clips, topped up with copies under other
  names), MobileNetV2, 8 frames a clip; local (decode threads + one model) vs Ray (decode
  tasks + one model actor).

The Ray instance is started once, before the timed runs (its start-up is reported apart), as on
a cluster that is already up. Targets: Ray's overhead ≤ 15 % of the local engine's time.

    .venv/bin/python benchmarks/ray_bench.py --write
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common as C
from _results import WEIGHTS, publish
from augment_bench import copy_clips, e2e_sources

EMBED_CLIPS = 200


def _median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return C.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    a = ap.parse_args(argv)
    for v in C._THREAD_VARS:  # the engines decide their own parallelism here
        os.environ.pop(v, None)
    import cv2

    cv2.setNumThreads(0)
    import ray

    from vidaug.mining import load_embedder
    from vidaug.pipelines import augment_dataset, embed_to_index

    manifest = C.load_manifest()
    tmp = Path(tempfile.mkdtemp(prefix="vidaug-ray-"))
    rows = []
    with C.OtherLoad() as load:
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)  # fmt: skip
        ray.get(ray.remote(lambda: 1).remote())
        startup = time.perf_counter() - t0
        try:
            src = tmp / "aug"
            copy_clips(e2e_sources(manifest), src)

            def aug(engine: str) -> None:
                s = augment_dataset(src, tmp / f"out_{engine}", recipe="light", copies=4, seed=0,
                                    workers=2, engine=engine, overwrite=True)  # fmt: skip
                assert s.ok and s.written == 48, s.to_dict()

            aug("ray")  # warm-up: workers and imports
            la, ra = (
                _median_time(lambda: aug("local"), a.reps),
                _median_time(lambda: aug("ray"), a.reps),
            )
            rows.append(["augment, 12 clips × 4 copies (48 outputs), light", "local, workers=2",
                         f"{la:.2f}", f"{ra:.2f}", f"{(ra - la) / la:+.0%}",
                         "PASS" if ra <= 1.15 * la else "FAIL"])  # fmt: skip
            if WEIGHTS.is_file():
                esrc = tmp / "emb"
                n = len(copy_clips(manifest, esrc, EMBED_CLIPS))
                emb = load_embedder("mobilenet_v2", weights=WEIGHTS)

                def embed(engine: str) -> None:
                    r = embed_to_index(esrc, emb, out=None, engine=engine)
                    assert len(r.index) >= EMBED_CLIPS - 5, len(r.index)

                embed("ray")  # warm-up: the actor's Keras and weights
                le = _median_time(lambda: embed("local"), a.reps)
                re_ = _median_time(lambda: embed("ray"), a.reps)
                rows.append([f"embed, {n} clips × 8 frames, MobileNetV2", "local (1 process)",
                             f"{le:.2f}", f"{re_:.2f}", f"{(re_ - le) / le:+.0%}",
                             "PASS" if re_ <= 1.15 * le else "FAIL"])  # fmt: skip
        finally:
            ray.shutdown()
            shutil.rmtree(tmp, ignore_errors=True)
    m = C.machine_info()
    body = f"""## Ray Data engine: overhead on one machine (issue 12)

Date: {m["date"]}. Machine: {m["cpu"]}, {m["cores"]} cores. vidaug {m["vidaug"]}, Ray
{ray.__version__}. Command: `.venv/bin/python benchmarks/ray_bench.py --reps {a.reps}`; medians
of {a.reps} runs after one warm-up run. Local Ray instance with 2 CPUs, started once:
**start-up {startup:.1f} s** (`ray.init` + a first task), not included below.

{C.md_table(["job", "local engine", "local s", "ray s", "Ray overhead", "≤ +15 %"], rows)}

{load.describe("machine load")}.
"""
    print(body)
    publish(a.results, "ray_bench", body, write=a.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
