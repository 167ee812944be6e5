"""Speed benchmark of vidaug's augmentation (issue 3).

    .venv/bin/python benchmarks/augment_bench.py            # full run, updates RESULTS.md
    .venv/bin/python benchmarks/augment_bench.py --quick    # fewer repeats, prints only

Part 1 (in memory): vidaug ``Compose`` against albumentations (batch call and a per-frame
ReplayCompose loop) and against the same OpenCV calls made directly, one frame at a time,
with fixed params ("raw cv2", the yardstick). Part 2 (end to end): ``augment_dataset`` (the
job behind ``vidaug augment``) against a plain OpenCV decode + encode loop, and its speed-up
from 1 to 2 worker processes. Everything runs on one thread per process (see _common.py).
README.md says what every row means.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (first: pins the thread pools before numpy / cv2 load)
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from vidaug.augment import (  # noqa: E402
    Affine,
    ColorJitter,
    Compose,
    HorizontalFlip,
    RandomResizedCrop,
)

if TYPE_CHECKING:
    import albumentations as A

# albumentations is imported where it is used, not here: worker processes of the end-to-end
# part are spawned and re-import this module, and albumentations alone adds ~0.5 s to each
# worker's start-up, which the `vidaug augment` CLI does not pay.

SECTION = "Augmentation (issue 3)"
SEED = 0
# The four ops, with the same ranges everywhere.
CROP_SCALE = (0.5, 1.0)
ROTATE = (-10.0, 10.0)
ZOOM = (0.9, 1.1)
SHIFT = (-0.05, 0.05)
JITTER = {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.05}
# Targets (issue 3)
T_ALBU = 2.0  # vidaug ≥ 2× faster than the albumentations batch call
T_REPLAY = 4.0  # vidaug ≥ 4× faster than a per-frame ReplayCompose loop
T_RAW = 1.3  # vidaug time ≤ 1.3 × raw cv2 time
T_IO = 0.8  # decode+encode time / vidaug augment time ≥ 0.8
T_WORKERS = 1.7  # workers=1 time / workers=2 time ≥ 1.7 (2 cores)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -------------------------------------------------------------------------------------------
# clips
# -------------------------------------------------------------------------------------------
@dataclass
class Clip:
    name: str
    frames: np.ndarray
    source: str


def small_clip(manifest: list[dict]) -> Clip:
    """16×240×320 from a real fight clip of fight_surv (4:3 source resized to 320×240)."""
    rows = [
        r
        for r in manifest
        if r["path"].startswith("clips/fight_surv/fight/")
        and r["frames"] >= 16
        and r["width"] * 3 == r["height"] * 4
    ]
    rows.sort(key=lambda r: (r["width"] != 320, r["path"]))  # native 320×240 first, if any
    if rows:
        path = C.SHARED_DATA / rows[0]["path"]
        frames, _ = C.read_rgb(path, 16)
        note = rows[0]["path"]
        if frames.shape[1:3] != (240, 320):
            frames = np.stack(
                [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in frames]
            )
            note += f" ({rows[0]['width']}×{rows[0]['height']} resized to 320×240)"
        if len(frames) == 16:
            return Clip("16×240×320", frames, note)
    return Clip("16×240×320", C.synthetic_clip(16, 240, 320, 1), "SYNTHETIC (no ../shared/data)")


def big_clip(manifest: list[dict]) -> Clip:
    """64 frames of a real 480p clip (640×480 or 854×480) when ../shared/data has one."""
    rows = [
        r for r in manifest if r["height"] == 480 and r["width"] in (640, 854) and r["frames"] >= 64
    ]
    rows.sort(key=lambda r: r["path"])
    for r in rows:
        frames, _ = C.read_rgb(C.SHARED_DATA / r["path"], 64)
        if len(frames) == 64:
            h, w = frames.shape[1:3]
            return Clip(f"64×{h}×{w}", frames, f"{r['path']} ({w}×{h}, first 64 frames)")
    return Clip("64×480×640", C.synthetic_clip(64, 480, 640, 2), "SYNTHETIC (no real 480p clip)")


# -------------------------------------------------------------------------------------------
# the pipelines
# -------------------------------------------------------------------------------------------
def vidaug_pipelines(h: int, w: int) -> tuple[Compose, Compose]:
    """(benchmark order crop → flip → affine → jitter, literal order crop → flip → jitter →
    affine). Same ops, same ranges; only the order differs."""
    crop = RandomResizedCrop(size=(h, w), scale=CROP_SCALE)
    flip = HorizontalFlip(p=1.0)
    jitter = ColorJitter(**JITTER)
    affine = Affine(rotate=ROTATE, scale=ZOOM, translate_x=SHIFT, translate_y=SHIFT)
    return Compose([crop, flip, affine, jitter]), Compose([crop, flip, jitter, affine])


def albu_ops(h: int, w: int) -> list:
    import albumentations as A

    return [
        A.RandomResizedCrop(size=(h, w), scale=CROP_SCALE, p=1.0),
        A.HorizontalFlip(p=1.0),
        A.Affine(
            rotate=ROTATE,
            scale=ZOOM,
            translate_percent={"x": SHIFT, "y": SHIFT},
            border_mode=cv2.BORDER_REFLECT_101,  # vidaug's default border, like for like
            p=1.0,
        ),
        A.ColorJitter(**JITTER, p=1.0),
    ]


def albu_replay_loop(rc: A.ReplayCompose, clip: np.ndarray) -> np.ndarray:
    """The pre-2.0 way to get one param set per clip: sample on frame 0, replay on the rest."""
    import albumentations as A

    first = rc(image=clip[0])
    saved = first["replay"]
    frames = [first["image"]]
    frames += [A.ReplayCompose.replay(saved, image=f)["image"] for f in clip[1:]]
    return np.stack(frames)


@dataclass
class RawParams:
    """Everything the raw cv2 reference needs, taken from a vidaug params record."""

    x: int
    y: int
    w: int
    h: int
    rotate: float
    zoom: float
    tx: float
    ty: float
    brightness: float
    contrast: float
    saturation: float
    hue: float

    @classmethod
    def from_record(cls, record: dict) -> RawParams:
        p = {t["name"]: t["params"] for t in record["params"]["transforms"]}
        c, a, j = p["RandomResizedCrop"], p["Affine"], p["ColorJitter"]
        assert p["HorizontalFlip"] is not None and a["shear_x"] == a["shear_y"] == 0.0
        return cls(
            c["x"], c["y"], c["w"], c["h"],
            a["rotate"], a["scale"], a["translate_x"], a["translate_y"],
            j["brightness"], j["contrast"], j["saturation"], j["hue"],
        )  # fmt: skip


_ARANGE = np.arange(256, dtype=np.float64)


def _u8(v: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


# RGB → YIQ (NTSC); a hue rotation turns the I/Q plane and leaves Y (grey) alone.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def colour_matrix(p: RawParams, mean: float) -> np.ndarray:
    """brightness → contrast (towards the brightened mean grey) → saturation (blend with luma)
    → hue (rotation in YIQ) as one 3×4 affine RGB map, written independently of vidaug."""
    s = p.saturation
    sat = s * np.eye(3) + (1.0 - s) * np.outer(np.ones(3), _YIQ[0])
    a = 2.0 * np.pi * p.hue
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    lin = np.linalg.inv(_YIQ) @ rot @ _YIQ @ sat * (p.brightness * p.contrast)
    offset = (1.0 - p.contrast) * p.brightness * mean
    return np.concatenate([lin, np.full((3, 1), offset)], axis=1).astype(np.float32)


def raw_cv2(
    clip: np.ndarray, p: RawParams, out_hw: tuple[int, int], colour: str = "hsv"
) -> np.ndarray:
    """The yardstick: OpenCV functions called directly, one frame at a time, fixed params.

    Per frame: slice + cv2.resize (crop), cv2.flip, cv2.warpAffine (rotate/scale/translate
    about the centre). Then per frame, ``colour="hsv"`` (as issue 3 specifies the reference):
    cv2.LUT (brightness + contrast), RGB→HSV, one 3-channel LUT (hue + saturation), HSV→RGB;
    ``colour="matrix"`` (what vidaug's ColorJitter does since a26035e): one cv2.transform with
    the 3×4 colour matrix. Scratch buffers are allocated once and reused; outputs are written
    in place. Contrast pulls towards the mean grey of the geometric output (clip level, 4
    frames subsampled 4×4), as vidaug does, hence the two passes (measured: a single pass
    that takes the mean from the input is not faster).
    """
    t = clip.shape[0]
    oh, ow = out_hw
    out = np.empty((t, oh, ow, 3), dtype=np.uint8)
    resized = np.empty((oh, ow, 3), dtype=np.uint8)
    flipped = np.empty_like(resized)
    scratch = np.empty_like(resized)
    m = cv2.getRotationMatrix2D((ow / 2 - 0.5, oh / 2 - 0.5), p.rotate, p.zoom)
    m[0, 2] += p.tx * ow
    m[1, 2] += p.ty * oh
    y0, y1, x0, x1 = p.y, p.y + p.h, p.x, p.x + p.w
    for i in range(t):
        cv2.resize(clip[i, y0:y1, x0:x1], (ow, oh), dst=resized, interpolation=cv2.INTER_LINEAR)
        cv2.flip(resized, 1, dst=flipped)
        cv2.warpAffine(
            flipped, m, (ow, oh), dst=out[i], flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )  # fmt: skip
    sub = np.ascontiguousarray(out[:: max(1, t // 4), ::4, ::4])
    mean = float(cv2.cvtColor(sub.reshape(-1, sub.shape[2], 3), cv2.COLOR_RGB2GRAY).mean())
    if colour == "matrix":
        cm = colour_matrix(p, mean)
        for i in range(t):
            cv2.transform(out[i], cm, dst=out[i])  # pixel-wise: in place is safe
        return out
    b, c = p.brightness, p.contrast
    lut_bc = _u8(_ARANGE * b * c + (1.0 - c) * b * mean)
    lut_h = ((_ARANGE + p.hue * 180.0) % 180.0).astype(np.uint8)
    lut_hsv = np.stack([lut_h, _u8(_ARANGE * p.saturation), _ARANGE.astype(np.uint8)], -1)
    lut_hsv = lut_hsv.reshape(256, 1, 3)
    for i in range(t):
        cv2.LUT(out[i], lut_bc, dst=scratch)
        cv2.cvtColor(scratch, cv2.COLOR_RGB2HSV, dst=scratch)
        cv2.LUT(scratch, lut_hsv, dst=scratch)
        cv2.cvtColor(scratch, cv2.COLOR_HSV2RGB, dst=out[i])
    return out


# -------------------------------------------------------------------------------------------
# part 1: in memory
# -------------------------------------------------------------------------------------------
def equivalence(
    clip: np.ndarray, fused: Compose, literal: Compose, out_hw: tuple[int, int]
) -> list[str]:
    """vidaug vs the raw cv2 reference with the same params (and fused vs literal order)."""
    t = clip.shape[0]
    h, w = out_hw
    res = fused.augment(clip, seed=SEED)
    p = RawParams.from_record(res.params)
    ref = raw_cv2(clip, p, (h, w), "matrix")
    d = np.abs(res.clip.astype(np.int16) - ref.astype(np.int16))
    hsv = raw_cv2(clip, p, (h, w), "hsv")
    dh = np.abs(hsv.astype(np.int16) - ref.astype(np.int16))

    # interior: output pixels whose affine source lies ≥ 1 px inside the cropped frame, i.e.
    # where neither pipeline samples outside the crop window
    recs = res.params["params"]["transforms"]
    affine = fused.transforms[2]
    m_aff, _ = affine.matrices(recs[2]["params"], (t, h, w, 3))
    inv = np.linalg.inv(m_aff)
    vv, uu = np.mgrid[0:h, 0:w]
    pts = np.stack([uu + 0.5, vv + 0.5, np.ones_like(uu, dtype=np.float64)], -1) @ inv.T
    sx, sy = pts[..., 0], pts[..., 1]
    inner = (sx >= 1.5) & (sx <= w - 1.5) & (sy >= 1.5) & (sy <= h - 1.5)

    def psnr(x: np.ndarray) -> float:
        mse = float((x.astype(np.float64) ** 2).mean())
        return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)

    di = d[:, inner]
    lines = [
        f"vidaug vs raw cv2 (colour matrix), same params: mean |diff| {d.mean():.2f}, "
        f"p99 {np.percentile(d, 99):.0f}, max {d.max()}, PSNR {psnr(d):.1f} dB (0-255 scale)",
        f"  interior ({inner.mean():.0%} of pixels, source inside the crop window): mean |diff| "
        f"{di.mean():.2f}, p99 {np.percentile(di, 99):.0f}, PSNR {psnr(di):.1f} dB",
        f"  border band ({1 - inner.mean():.0%}): mean |diff| {d[:, ~inner].mean():.2f} "
        "(fused warp samples real pixels beyond the crop window; the sequential reference "
        "reflects the cropped frame)"
        if (~inner).any()
        else "  border band: none",
        f"raw cv2 HSV colour path vs raw cv2 colour matrix, same params and geometry: mean "
        f"|diff| {dh.mean():.2f}, p99 {np.percentile(dh, 99):.0f}, PSNR {psnr(dh):.1f} dB (HSV "
        "hue shift and S scaling vs YIQ hue rotation and luma-blend saturation)",
    ]
    # literal order (crop → flip → jitter → affine) with the same params, via replay
    lit_rec = {
        "name": "Compose",
        "params": {"transforms": [recs[0], recs[1], recs[3], recs[2]]},
    }
    lit = literal.replay(clip, lit_rec).clip
    dl = np.abs(lit.astype(np.int16) - res.clip.astype(np.int16))
    lines.append(
        f"vidaug literal order vs benchmark order, same params: mean |diff| {dl.mean():.2f}, "
        f"interior {dl[:, inner].mean():.2f} (order of jitter/affine and the contrast mean differ)"
    )
    return lines


def memory_cases(frames: np.ndarray, size: tuple[int, int] | None) -> dict[str, Callable]:
    """The rows of part 1 as zero-argument callables (after one checked call each)."""
    t = frames.shape[0]
    h, w = size or frames.shape[1:3]
    fused, literal = vidaug_pipelines(h, w)
    import albumentations as A

    albu = A.Compose(albu_ops(h, w), seed=SEED)
    rc = A.ReplayCompose(albu_ops(h, w))
    rc.set_random_seed(SEED)
    raw_p = RawParams.from_record(fused.augment(frames, seed=SEED).params)
    cases = {
        "vidaug (crop → flip → affine → jitter, fused)": lambda: fused(frames, seed=SEED),
        "vidaug (literal order crop → flip → jitter → affine)": lambda: literal(frames, seed=SEED),
        "albumentations Compose(images=clip)": lambda: albu(images=frames)["images"],
        "albumentations ReplayCompose, per-frame loop": lambda: albu_replay_loop(rc, frames),
        "raw cv2 per frame, colour LUT + HSV (as specified)": lambda: raw_cv2(
            frames, raw_p, (h, w), "hsv"
        ),
        "raw cv2 per frame, colour matrix (vidaug's algorithm)": lambda: raw_cv2(
            frames, raw_p, (h, w), "matrix"
        ),
    }
    for k, f in cases.items():
        o = np.asarray(f())
        assert o.shape == (t, h, w, 3) and o.dtype == np.uint8, (k, o.shape, o.dtype)
    return cases


CLIPS = {"small": small_clip, "big": big_clip}


def child_main(spec: str, reps: int, warmup: int, size: tuple[int, int] | None) -> int:
    """``--child CLIP:INDEX``: time one row in this (fresh) process, print the times as JSON."""
    clip_id, idx = spec.split(":")
    clip = CLIPS[clip_id](C.load_manifest())
    cases = memory_cases(clip.frames, size)
    name = list(cases)[int(idx)]
    times = C.measure({name: cases[name]}, reps=reps, warmup=warmup)[name]
    print("BENCH_TIMES " + json.dumps(times))
    return 0


def isolated_times(
    clip_id: str, names: list[str], reps: int, warmup: int, size_arg: str
) -> dict[str, list[float]]:
    """Time every row in its own fresh process, in two passes (forward, then backward order)
    of about reps/2 repeats each, so that one row's memory churn cannot tax the next row and
    slow drifts hit every row alike."""
    per_pass = max(1, -(-reps // 2))
    times: dict[str, list[float]] = {n: [] for n in names}
    order = list(enumerate(names))
    for pass_order in (order, order[::-1]):
        for i, name in pass_order:
            cmd = [
                sys.executable, __file__, "--child", f"{clip_id}:{i}", "--reps", str(per_pass),
                "--warmup", str(warmup), "--size", size_arg,
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_TIMES ")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"row {name!r} failed:\n{proc.stderr[-2000:]}")
            times[name] += json.loads(lines[-1].split(" ", 1)[1])
        if reps == 1:
            break
    return times


def bench_memory(
    clip: Clip,
    clip_id: str,
    reps: int,
    warmup: int,
    profile: bool,
    size: tuple[int, int] | None,
    size_arg: str,
    isolate: bool,
) -> tuple[list, list[str]]:
    frames = clip.frames
    t = frames.shape[0]
    h, w = size or frames.shape[1:3]
    fused, literal = vidaug_pipelines(h, w)
    if isolate:
        names = list(memory_cases(frames, size))
        times = isolated_times(clip_id, names, reps, warmup, size_arg)
    else:
        cases = memory_cases(frames, size)
        times = C.measure(cases, reps=reps, warmup=warmup)
    med = {k: C.median(v) for k, v in times.items()}
    names = list(times)
    tv = med[names[0]]
    rows = []
    for k in names:
        ms = med[k] * 1e3
        label = clip.name if size is None else f"{clip.name} → {h}×{w}"
        lo = min(times[k]) * 1e3
        base = [
            label,
            k,
            f"{ms:.1f}",
            f"{lo:.1f}",
            f"{t / med[k]:.0f}",
            f"{C.spread(times[k]):.0%}",
        ]
        if k == names[0]:
            rows.append(base + ["1.00 (reference row)", "", ""])
        elif k == names[1]:
            rows.append(base + [f"{med[k] / tv:.2f}× vidaug fused", "info", ""])
        elif k == names[2]:
            r = med[k] / tv
            rows.append(base + [f"{r:.2f}× (albu / vidaug)", f"≥ {T_ALBU}×", verdict(r >= T_ALBU)])
        elif k == names[3]:
            r = med[k] / tv
            rows.append(
                base + [f"{r:.2f}× (replay / vidaug)", f"≥ {T_REPLAY}×", verdict(r >= T_REPLAY)]
            )
        else:
            r = tv / med[k]
            rows.append(base + [f"{r:.2f} (vidaug / raw)", f"≤ {T_RAW}", verdict(r <= T_RAW)])

    notes = [f"{clip.name}: {clip.source}"]
    notes += ["  " + s for s in equivalence(frames, fused, literal, (h, w))]
    if profile:
        notes += ["  " + s for s in vidaug_profile(frames, fused, reps, warmup)]
    return rows, notes


def vidaug_profile(frames: np.ndarray, fused: Compose, reps: int, warmup: int) -> list[str]:
    """Where vidaug's time goes: the fused warp alone, the jitter alone, and what a fresh
    output buffer of the clip's size costs (allocation + first touch = page faults)."""
    geo = Compose(fused.transforms[:3])
    jitter = fused.transforms[3]
    rec = fused.augment(frames, seed=SEED).params["params"]["transforms"]
    geo_rec = {"name": "Compose", "params": {"transforms": rec[:3]}}
    warped = geo.replay(frames, geo_rec).clip
    jp = rec[3]["params"]
    reused = np.empty_like(warped)

    def fresh() -> None:
        np.empty_like(warped).fill(0)

    cases = {
        "total (Compose.__call__)": lambda: fused(frames, seed=SEED),
        "fused warp (geometric Compose replay)": lambda: geo.replay(frames, geo_rec),
        "ColorJitter.apply on the warped clip": lambda: jitter.apply(warped, jp),
        "fill a fresh clip-sized buffer": fresh,
        "fill a reused clip-sized buffer": lambda: reused.fill(0),
    }
    times = C.measure(cases, reps=reps, warmup=warmup)
    return ["profile: " + ", ".join(f"{k} {C.median(v) * 1e3:.2f} ms" for k, v in times.items())]


# -------------------------------------------------------------------------------------------
# part 2: end to end
# -------------------------------------------------------------------------------------------
E2E_CLIPS_PER_LABEL = 6


def e2e_sources(manifest: list[dict]) -> list[dict]:
    """6 fight + 6 noFight clips of fight_surv, 480×360, 50–72 frames (small, real)."""
    picked = []
    for label in ("fight", "noFight"):
        rows = [
            r
            for r in manifest
            if r["path"].startswith(f"clips/fight_surv/{label}/")
            and (r["width"], r["height"]) == (480, 360)
            and 50 <= r["frames"] <= 72
        ]
        rows.sort(key=lambda r: r["path"])
        picked += rows[:E2E_CLIPS_PER_LABEL]
    return picked


def copy_clips(rows: list[dict], dest: Path, n: int | None = None) -> list[Path]:
    """Copy manifest clips into ``dest/<label>/``; with ``n``, top up with copies under other
    names until there are ``n``. Returns the copied files."""
    out: list[Path] = []
    while rows and len(out) < (n or len(rows)):
        for r in rows:
            name = Path(r["path"]).name
            if len(out) >= len(rows):
                name = f"dup{len(out)}_{name}"
            d = dest / (r.get("label") or "unlabeled")
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy2(C.SHARED_DATA / r["path"], d / name)
            out.append(d / name)
            if len(out) >= (n or len(rows)):
                break
    return out


def decode_encode(src: Path, dst: Path) -> int:
    """The plain OpenCV loop: VideoCapture read every frame → VideoWriter (mp4v) write."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    writer = None
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
        n += 1
    cap.release()
    if writer is not None:
        writer.release()
    return n


def import_datasets(wait_s: float):
    """``vidaug.datasets.augment_dataset`` / read_clip, polling for up to ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            from vidaug.datasets import read_clip, write_clip  # noqa: F401
            from vidaug.pipelines import augment_dataset

            return augment_dataset
        except ImportError as e:
            if time.monotonic() >= deadline:
                print(f"vidaug.datasets not importable ({e}); end-to-end part skipped")
                return None
            for m in [m for m in sys.modules if m.startswith("vidaug.datasets")]:
                del sys.modules[m]
            time.sleep(min(60.0, max(1.0, deadline - time.monotonic())))


def bench_e2e(
    manifest: list[dict], reps: int, warmup: int, copies: int, wait_s: float
) -> tuple[list, list[str]]:
    augment_dataset = import_datasets(wait_s)
    if augment_dataset is None:
        return [], ["end to end: skipped (vidaug.datasets not importable)"]
    rows_in = e2e_sources(manifest)
    if len(rows_in) < 2:
        return [], ["end to end: skipped (no fight_surv clips in ../shared/data)"]
    tmp = Path(tempfile.mkdtemp(prefix="vidaug-bench-"))
    try:
        src = tmp / "src"
        files = sorted(copy_clips(rows_in, src))
        n_frames = sum(r["frames"] for r in rows_in)
        plain = tmp / "plain"
        plain.mkdir()

        def plain_loop() -> None:
            for f in files:
                decode_encode(f, plain / f.name)

        def job(out: str, w: int, n: int) -> None:
            s = augment_dataset(
                src, tmp / out, recipe="light", copies=n, seed=SEED, workers=w, overwrite=True
            )
            if not s.ok or s.written != len(files) * n:
                raise RuntimeError(f"augment_dataset failed: {s.to_dict()}")

        cases = {
            "decode+encode": plain_loop,
            "vidaug w1": lambda: job("v1", 1, 1),
        }
        times = C.measure(cases, reps=reps, warmup=warmup)
        scale_cases = {
            "w1": lambda: job("s1", 1, copies),
            "w2": lambda: job("s2", 2, copies),
        }
        stimes = C.measure(scale_cases, reps=reps, warmup=min(warmup, 1))
        # the CLI itself, once, as a subprocess (interpreter start-up and imports included)
        exe = Path(sys.executable).with_name("vidaug")
        cli_s, cli_err = None, ""
        if exe.exists():
            t0 = time.perf_counter()
            proc = subprocess.run(
                [str(exe), "augment", str(src), str(tmp / "cli"), "--recipe", "light",
                 "--copies", "1", "--seed", str(SEED), "--workers", "1", "--overwrite"],
                capture_output=True, text=True,
            )  # fmt: skip
            if proc.returncode == 0:
                cli_s = time.perf_counter() - t0
            else:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
                cli_err = f"CLI run failed (exit {proc.returncode}): {' '.join(tail)}"
        out_probe = sorted((tmp / "v1").rglob("*.mp4"))
        probe = cv2.VideoCapture(str(out_probe[0])) if out_probe else None
        fourcc = ""
        if probe is not None:
            code = int(probe.get(cv2.CAP_PROP_FOURCC))
            fourcc = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))
            probe.release()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    de, v1 = C.median(times["decode+encode"]), C.median(times["vidaug w1"])
    s1, s2 = C.median(stimes["w1"]), C.median(stimes["w2"])
    nclip = f"{len(files)} clips"
    rows = [
        [
            "decode+encode loop (cv2 VideoCapture → VideoWriter mp4v)",
            nclip, f"{de:.2f}", f"{n_frames / de:.0f}", f"{C.spread(times['decode+encode']):.0%}",
            "reference row", "", "",
        ],
        [
            "vidaug augment, light, copies=1, workers=1 (in-process augment_dataset)",
            nclip, f"{v1:.2f}", f"{n_frames / v1:.0f}", f"{C.spread(times['vidaug w1']):.0%}",
            f"{de / v1:.2f} (decode+encode / vidaug)", f"≥ {T_IO}", verdict(de / v1 >= T_IO),
        ],
    ]  # fmt: skip
    if cli_s is not None:
        rows.append(
            [
                "`vidaug augment` CLI subprocess, same job (1 run, start-up included)",
                nclip, f"{cli_s:.2f}", f"{n_frames / cli_s:.0f}", "1 run",
                f"{de / cli_s:.2f} (decode+encode / CLI)", "info", "",
            ]
        )  # fmt: skip
    rows += [
        [
            f"vidaug augment, light, copies={copies}, workers=1",
            f"{nclip} × {copies}", f"{s1:.2f}", f"{n_frames * copies / s1:.0f}",
            f"{C.spread(stimes['w1']):.0%}", "reference row", "", "",
        ],
        [
            f"vidaug augment, light, copies={copies}, workers=2 (spawn)",
            f"{nclip} × {copies}", f"{s2:.2f}", f"{n_frames * copies / s2:.0f}",
            f"{C.spread(stimes['w2']):.0%}", f"{s1 / s2:.2f}× (workers 1 → 2)",
            f"≥ {T_WORKERS}×", verdict(s1 / s2 >= T_WORKERS),
        ],
    ]  # fmt: skip
    notes = [cli_err] if cli_err else []
    notes += [
        f"end to end: {nclip} of fight_surv (6 fight + 6 noFight, 480×360, {n_frames} frames in "
        f"all) copied into fight/ and noFight/ of a temp folder; vidaug output fourcc {fourcc!r}",
        "the CLI row runs with OPENCV_FOR_THREADS_NUM=1: with --workers 1 vidaug itself does not "
        "call cv2.setNumThreads(1), so unpinned OpenCV would use every core there",
    ]
    return rows, notes


# -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few repeats; prints, writes nothing")
    ap.add_argument("--reps", type=int, help="timed repeats (default 15; --quick 3)")
    ap.add_argument("--e2e-reps", type=int, help="end-to-end repeats (default 5; --quick 1)")
    ap.add_argument("--copies", type=int, help="copies for the workers job (default 4)")
    ap.add_argument(
        "--size",
        default="input",
        help="random resized crop output: 'input' (default: the input frame size) or HxW",
    )
    ap.add_argument("--warmup", type=int, help="untimed calls per row first (default 3; --quick 1)")
    ap.add_argument(
        "--in-process",
        action="store_true",
        help="time part 1 in this process, rows interleaved (default: each row in its own process)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end part")
    ap.add_argument("--profile", action="store_true", help="also time vidaug's steps")
    ap.add_argument("--wait-io", type=float, default=0.0, help="poll this long for vidaug.datasets")
    ap.add_argument("--write", action="store_true", help="update RESULTS.md even with --quick")
    ap.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = ap.parse_args(argv)
    reps = args.reps or (3 if args.quick else 15)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    e2e_reps = args.e2e_reps or (1 if args.quick else 5)
    copies = args.copies or (2 if args.quick else 4)
    size = None if args.size == "input" else tuple(int(v) for v in args.size.lower().split("x"))
    size_txt = "the input frame size" if size is None else f"{size[0]}×{size[1]}"
    if args.child:
        return child_main(args.child, reps, warmup, size)

    info = C.machine_info()
    print(
        f"{info['date']}  {info['cpu']}, {info['cores']} cores, {info['os']}, Python "
        f"{info['python']}, numpy {info['numpy']}, OpenCV {info['opencv']}, albumentations "
        f"{info['albumentations']}, vidaug at {info['vidaug']}; threads pinned to {C.THREADS} (cv2.getNumThreads() = "
        f"{cv2.getNumThreads()}, OMP/OpenBLAS/MKL/OPENCV_FFMPEG_THREADS = {C.THREADS})"
    )
    manifest = C.load_manifest()
    if not manifest:
        print(f"NOTE: {C.SHARED_DATA} is absent: synthetic textured clips are used in part 1")

    mem_rows, notes = [], []
    load0 = os.getloadavg()[0]
    if load0 > 0.5:
        print(f"WARNING: load average {load0:.2f} before starting: other work is running")
    others = []
    for clip_id, load in CLIPS.items():
        clip = load(manifest)
        print(f"part 1: {clip.name} ({clip.source}), {reps} reps ...", flush=True)
        with C.OtherLoad() as ol:
            r, n = bench_memory(
                clip, clip_id, reps, warmup, args.profile, size, args.size, not args.in_process
            )
        others.append(ol.describe(f"part 1, {clip.name}"))
        mem_rows += r
        notes += n
    e2e_rows: list = []
    if not args.no_e2e:
        print(f"part 2: end to end, {e2e_reps} reps ...", flush=True)
        with C.OtherLoad() as ol:
            e2e_rows, n = bench_e2e(
                manifest, e2e_reps, 0 if args.quick else 1, copies, args.wait_io
            )
        others.append(ol.describe("part 2"))
        notes += n

    notes.append("machine load (should be near 0 for trustworthy numbers): " + "; ".join(others))
    mem_table = C.md_table(
        ["Clip", "Pipeline", "median ms/clip", "min ms", "frames/s", "spread", "ratio", "target"]
        + ["result"],
        mem_rows,
    )
    e2e_table = (
        C.md_table(
            ["Job", "clips", "median s", "frames/s", "spread", "ratio", "target", "result"],
            e2e_rows,
        )
        if e2e_rows
        else "(end-to-end part not run)"
    )
    print()
    print(mem_table)
    print()
    print(e2e_table)
    print()
    for s in notes:
        print(s)

    if args.write or not args.quick:
        body = "\n".join(
            [
                f"Date: {info['date']} (UTC). Machine: {info['cpu']}, {info['cores']} cores, "
                f"{info['os']}. Python {info['python']}, numpy {info['numpy']}, OpenCV "
                f"{info['opencv']}, albumentations {info['albumentations']}. vidaug at commit "
                f"{info['vidaug']}.",
                "",
                "One thread everywhere (OMP/OpenBLAS/MKL/OPENCV_FFMPEG_THREADS/"
                "OPENCV_FOR_THREADS_NUM=1, cv2.setNumThreads(1)). "
                + (
                    f"Part 1: rows interleaved in one process, {warmup} warm-up calls, "
                    f"{reps} timed repeats per row. "
                    if args.in_process
                    else f"Part 1: every row timed in its own fresh process ({warmup} warm-up "
                    f"calls, then {-(-reps // 2)} timed repeats), in two passes (rows forward, "
                    "then backward), so one row's memory churn cannot slow the next. "
                )
                + "Median reported (ratios are between medians), min for information; "
                "spread = (max − min) / median. "
                + f"Random resized crop outputs {size_txt}. Command: "
                f"`.venv/bin/python benchmarks/augment_bench.py"
                f"{' --quick' if args.quick else ''}"
                f"{'' if size is None else ' --size ' + args.size}"
                f"{' --in-process' if args.in_process else ''}`.",
                "",
                "### In memory",
                "",
                mem_table,
                "",
                "### End to end",
                "",
                f"{e2e_reps} timed repeats (median); `augment_dataset` called in-process.",
                "",
                e2e_table,
                "",
                "### Notes",
                "",
                *[
                    f"- {s.strip()}" if not s.startswith("  ") else f"  - {s.strip()}"
                    for s in notes
                ],
            ]
        )
        C.update_results(args.results, SECTION, body)
        print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
