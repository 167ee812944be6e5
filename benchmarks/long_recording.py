"""Long recordings in bounded memory (issue 11 §1): peak memory of `vidaug augment` on
synthetic 1080p surveillance-like recordings of growing length.

A recording is made with OpenCV (a static textured background, people-sized blobs walking
across, sensor noise; mp4v, 30 fps), then `vidaug augment REC OUT --recipe R` runs in a
subprocess while this script samples the resident memory (RSS) of its whole process tree every
0.1 s. Peak memory must not grow with the length (≤ 1.5 GB for one hour of 1080p). Timings are
wall-clock on this machine, single input (one worker).

    .venv/bin/python benchmarks/long_recording.py --seconds 60 300 3600 --write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (pins thread pools first)
import cv2
import numpy as np
from _common import _THREAD_VARS, machine_info, md_table
from _results import publish


def make_recording(path: Path, seconds: float, fps: float = 30.0, size=(1080, 1920)) -> Path:
    """A synthetic surveillance recording: textured static scene, moving blobs, noise."""
    if path.exists():
        return path
    h, w = size
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(40, 200, (h // 8, w // 8, 3), dtype=np.uint8), (5, 5), 0)
    base = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    tmp = path.with_suffix(".tmp.mp4")
    vw = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    noise = rng.integers(-6, 7, (8, h, w, 3), dtype=np.int16)
    n = int(round(seconds * fps))
    for i in range(n):
        frame = base.copy()
        for k in range(4):  # walkers
            x = int((i * (3 + k) + k * 400) % (w + 200)) - 100
            y = h // 2 + int(200 * np.sin(i / (40 + 10 * k) + k))
            cv2.rectangle(frame, (x, y - 120), (x + 60, y + 120), (30 + 50 * k, 80, 160), -1)
        frame = np.clip(frame.astype(np.int16) + noise[i % 8], 0, 255).astype(np.uint8)
        vw.write(frame)
    vw.release()
    os.replace(tmp, path)
    return path


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        todo.extend(kids.get(p, []))
    return total


def run_augment(rec: Path, out: Path, recipe: str, segment: float | None) -> tuple[float, int, int]:
    """(seconds, peak tree RSS bytes, exit code) of one `vidaug augment` run."""
    cmd = [sys.executable, "-c", "from vidaug.cli import main; main()", "augment", str(rec),
           str(out), "--recipe", recipe, "--overwrite", "--seed", "0"]  # fmt: skip
    if segment:
        cmd += ["--segment", f"{segment:g}", "--workers", "2"]
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}  # as a user runs it
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak, last = 0, t0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
        if time.perf_counter() - last > 300:  # a sign of life on long runs
            last = time.perf_counter()
            print(f"  {rec.name}: {last - t0:.0f} s, peak so far {peak / 2**30:.2f} GB", flush=True)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        print(err, file=sys.stderr)
    return time.perf_counter() - t0, peak, proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, nargs="+", default=[30, 120])
    ap.add_argument("--recipe", default="surveillance")
    ap.add_argument(
        "--segment",
        type=float,
        default=None,
        help="cut into clips of this many seconds, 2 workers (else one stream)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "vidaug-long",
        help="recordings and the rows measured so far (one table across runs)",
    )
    ap.add_argument("--write", action="store_true", help="record the table in RESULTS.md")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    a = ap.parse_args(argv)
    a.cache.mkdir(parents=True, exist_ok=True)
    cache_rows = a.cache / "rows.json"  # earlier lengths measured by this script (same machine)
    done = json.loads(cache_rows.read_text()) if cache_rows.exists() else {}
    for sec in a.seconds:
        t0 = time.perf_counter()
        rec = make_recording(a.cache / f"rec_{int(sec)}s.mp4", sec)
        made = time.perf_counter() - t0
        secs, peak, rc = run_augment(rec, a.cache / f"out_{int(sec)}s", a.recipe, a.segment)
        frames = int(round(sec * 30))
        how = f"--segment {a.segment:g} (2 workers)" if a.segment else "one stream"
        key = f"{sec}{'s' if a.segment else ''}"
        done[key] = [f"{sec / 60:g} min", how, frames, f"{rec.stat().st_size / 2**20:.0f} MB",
                          f"{made:.0f} s", f"{secs:.0f} s", f"{frames / secs:.1f}",
                          f"{peak / 2**30:.2f} GB", rc]  # fmt: skip
        cache_rows.write_text(json.dumps(done))
        print(done[key], flush=True)
    rows = [done[k] for k in sorted(done, key=lambda k: (float(k.rstrip("s")), k))]
    m = machine_info()
    cmd = "benchmarks/long_recording.py --seconds S [--segment 600] --write (a run per row)"
    body = f"""## Long recordings: peak memory of `vidaug augment` (issue 11)

Date: {m["date"]}. Machine: {m["cpu"]}, {m["cores"]} cores. vidaug {m["vidaug"]}.
Command: `.venv/bin/python {cmd}` (recipe `{a.recipe}`, one input, so one worker).
Synthetic 1080p30 mp4v recordings (textured static scene, moving blobs, sensor noise);
peak = largest resident memory of the `vidaug augment` process tree, sampled every 0.1 s.
A 1080p frame is 6.2 MB decoded: one hour (108 000 frames) would be 670 GB in memory; vidaug
streams it decoder → recipe → encoder in chunks of about 64 MB.

{md_table(["length", "how", "frames", "file", "made in", "augment", "frames/s", "peak RSS", "exit"], rows)}
"""
    publish(a.results, "long_recording", body, write=a.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
