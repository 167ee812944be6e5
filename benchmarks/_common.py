"""Shared helpers of the vidaug benchmarks (benchmarks are not tests: docs/ARCHITECTURE.md).

Import this module *first* in a benchmark script: it pins every thread pool to one thread
before numpy / OpenCV are imported, so that all rows of a table measure single-threaded work.
"""

from __future__ import annotations

import os

THREADS = 1
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    # OpenCV's FFmpeg backend decodes with one thread per CPU by default, whatever
    # cv2.setNumThreads says; this pins it (inherited by spawned worker processes too).
    "OPENCV_FFMPEG_THREADS",
    # OpenCV's own thread pool (parallel_for in warpAffine, cvtColor, ...) for processes that
    # never call cv2.setNumThreads, e.g. the `vidaug augment` CLI with --workers 1.
    "OPENCV_FOR_THREADS_NUM",
)
for _v in _THREAD_VARS:
    os.environ[_v] = str(THREADS)
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(THREADS)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDAUG_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"


# -------------------------------------------------------------------------------------------
# timing
# -------------------------------------------------------------------------------------------
def measure(
    cases: dict[str, Callable[[], object]], *, reps: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Time every case ``reps`` times (seconds), after ``warmup`` untimed calls each.

    Cases are interleaved (round robin: a, b, c, a, b, c, ...) so that slow drifts of the
    machine (frequency, other load) hit every case alike; the garbage collector is off while
    a call is timed.
    """
    for _ in range(warmup):
        for f in cases.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(reps):
        for name, f in cases.items():
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t0)
            finally:
                gc.enable()
    return times


def _busy_and_own() -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, CPU seconds of this process + its
    waited-for children)."""
    import resource

    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    own = sum(
        r.ru_utime + r.ru_stime
        for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    return busy, own


class OtherLoad:
    """CPU time used by *other* processes while a block runs (machine busy time minus ours)."""

    def __enter__(self) -> OtherLoad:
        self.t0 = time.perf_counter()
        try:
            self.b0, self.o0 = _busy_and_own()
        except OSError:
            self.b0 = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.other = None
        if self.b0 is not None:
            b1, o1 = _busy_and_own()
            self.other = max(0.0, (b1 - self.b0) - (o1 - self.o0))

    def describe(self, what: str) -> str:
        if self.other is None:
            return f"{what}: CPU use of other processes unknown"
        return (
            f"{what}: other processes used {self.other:.1f} CPU-s in {self.wall:.0f} s wall "
            f"({self.other / self.wall:.0%} of one core)"
        )


def median(xs: Sequence[float]) -> float:
    return float(np.median(np.asarray(xs, dtype=np.float64)))


def spread(xs: Sequence[float]) -> float:
    """Relative spread of the repeats: (max - min) / median."""
    m = median(xs)
    return (max(xs) - min(xs)) / m if m > 0 else 0.0


# -------------------------------------------------------------------------------------------
# clips
# -------------------------------------------------------------------------------------------
def read_rgb(path: Path | str, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video with OpenCV (independently of vidaug.datasets): (T,H,W,3) RGB, fps."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise OSError(f"{path}: cannot open")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    frames = []
    try:
        while max_frames is None or len(frames) < max_frames:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise OSError(f"{path}: no frame decoded")
    return np.stack(frames), fps


def synthetic_clip(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A textured RGB clip with camera-like motion (the fallback when ../shared is absent)."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, size=(h // 8 + 8, w // 8 + 8, 3), dtype=np.uint8)
    big = cv2.resize(big, (big.shape[1] * 8, big.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = ((xx + yy) * 255 // (h + w)).astype(np.uint8)[..., None]
    clip = np.empty((t, h, w, 3), dtype=np.uint8)
    for i in range(t):
        dy, dx = i % 32, (2 * i) % 32
        clip[i] = cv2.addWeighted(big[dy : dy + h, dx : dx + w], 0.7, np.repeat(ramp, 3, 2), 0.3, 0)
    return clip


def load_manifest() -> list[dict]:
    path = SHARED_DATA / "manifest.jsonl"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# -------------------------------------------------------------------------------------------
# machine, tables, RESULTS.md
# -------------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
        m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
        if m:
            return f"{m.group(1)} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def _utc_date() -> str:
    try:
        return subprocess.run(
            ["date", "-u", "+%F"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return time.strftime("%Y-%m-%d", time.gmtime())


def vidaug_revision() -> str:
    """The commit the vidaug code was measured at, plus "+ local changes" when tracked files of vidaug/ differ."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "-uno", "--", "vidaug"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + local changes in vidaug/" if dirty else "")


def machine_info() -> dict[str, str]:
    import albumentations

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "date": _utc_date(),
        "cpu": _cpu_model(),
        "cores": str(cores),
        "os": _os_name(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "albumentations": albumentations.__version__,
        "vidaug": vidaug_revision(),
    }


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def update_results(path: Path, title: str, body: str) -> None:
    """Replace the ``## {title}`` section of ``path`` (up to the next ``## ``) or append it."""
    head = "# Benchmark results\n\nWritten by the scripts in `benchmarks/`; see README.md.\n"
    text = path.read_text(encoding="utf-8") if path.exists() else head
    section = f"## {title}\n\n{body.strip()}\n"
    pat = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        text = pat.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def python_exe() -> str:
    return sys.executable
