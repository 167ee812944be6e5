"""What a frame shows inside its borders: black bars, and regions a clip may sit in.

Two jobs, both on the decoded frames before the model sees them (pure numpy / OpenCV):

* **Black bars** (letterbox / pillarbox): :func:`content_box` finds them on the sampled frames
  so the embedding step crops them away; a letterboxed copy then embeds like its source.
* **Regions** (picture-in-picture): :func:`region_crops` cuts a grid of windows (half the
  width and half the height, 3 × 3 positions) out of a few of the sampled frames; each window is
  embedded like a whole frame. A clip shown at half size inside another clip then has a window
  whose embedding matches its own whole-frame embedding.

Two stages (issue 23), so that the windows do not cost every clip 36 model images:

1. **Probe** (every clip): the 9 windows of :data:`PROBE_FRAMES` of the region frames, embedded
   by the same model at :data:`PROBE_SIDE` pixels (a quarter of the pixels of 224: the window
   is half the frame, so the content keeps about its scale). They only *propose* (clip, window)
   pairs where another clip may sit (:func:`~vidaug.mining._relations.region_proposals`).
2. **Verify** (the proposed windows only): the window of all :data:`REGION_FRAMES` region
   frames re-embedded at the model's input size, as before; only verified windows are
   evidence for :func:`~vidaug.mining.find_duplicates`.

Why crops and not pooled regions of the model's last feature map (R-MAC): measured on the
surveillance clips of ``../shared/data`` (40 clips, 20 composites of one clip at half size over
another), the pooled 7 × 7 map regions of MobileNetV2 at 224 px matched the inset no better
than unrelated clips (cosine 0.60-0.79 for the inset, up to 0.81 for others: the last layer's
receptive field spans the whole frame, so a region is mostly the background's context), while
re-embedded crops gave 0.81-0.95 (median 0.90) and a motion-signature cosine of 0.12-0.64
against ≤ 0.14 for other clips. Measured again for issue 23 on 167 clips of the calibration
cache (33 composites, their insets' originals and their crop, 60 % crop and rotated copies):
pooled map regions (mean or GeM, the last layer or the 14 × 14 ``block_13_expand_relu`` map,
the query at 224 or 112 px) put the composite first for its inset in at most 45 % of the insets,
so they cannot propose; window crops can (see :data:`PROBE_SIDE`). Costs: see
``benchmarks/RESULTS.md`` (embed_bench, dedup calibration).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "PROBE_ROWS",
    "REGION_ROWS",
    "REGION_FRAMES",
    "REGION_GRID",
    "REGION_SCALE",
    "PROBE_FRAMES",
    "PROBE_QUERY",
    "PROBE_SIDE",
    "content_box",
    "region_boxes",
    "region_crops",
    "region_frames",
]

#: Windows per side (3 × 3 = 9 windows a frame).
REGION_GRID = 3
#: Window size as a share of the frame's width and height.
REGION_SCALE = 0.5
#: Sampled frames per clip whose windows are embedded (spread over the clip).
REGION_FRAMES = 4
#: Rows of an index's ``region_emb`` a clip has: :data:`REGION_FRAMES` × windows, then (with
#: the probe stage) one row, the clip's probe query (:data:`PROBE_QUERY`).
REGION_ROWS = REGION_FRAMES * REGION_GRID**2
PROBE_ROWS = REGION_ROWS + 1
#: Input side (pixels) of the probe stage (stage 1 above): its window crops, and the clip's own
#: frames it compares them with, at the same scale (a clip shown at half size inside another
#: fills a 112-pixel window crop as it fills its own frame at 112). Measured for issue 23 on
#: 167 clips of the calibration cache (33 composites): window crops at 112 px against the
#: clip's frames at 112 px put the composite among an inset's 2 best windows for 100 % of the
#: insets that today's regional rule finds (76 % of all insets), where the same crops against
#: the frames at 224 px ranked them first for 6 %. A quarter of the pixels of a 224 image.
PROBE_SIDE = 112
#: Which of the :data:`REGION_FRAMES` region frames the probe stage crops (positions among
#: them): one frame (9 crops of a quarter the pixels: 2.25 model images at 224); two frames
#: found no more of those insets in that measurement (95 % vs 89 % with one proposal each,
#: 100 % both with two).
PROBE_FRAMES = (1,)
#: Which region frames, at :data:`PROBE_SIDE`, make the clip's probe query (the mean of their
#: embeddings; 2 × a quarter of a model image).
PROBE_QUERY = (1, 2)
#: A bar is darker than this (mean of 0-255 RGB) in every sampled frame.
_DARK = 24.0
#: Bars thinner than this share of the side are ignored (encoder edge rows, a dark frame line).
_MIN_BAR = 0.02
#: Content narrower than this share of a side is no content: a dark scene, not bars.
_MIN_CONTENT = 0.3


def content_box(frames: np.ndarray) -> tuple[int, int, int, int]:
    """The picture inside black bars: ``(y0, y1, x0, x1)`` of ``(T, H, W, 3)`` frames.

    A bar is a run of edge rows (columns) whose mean brightness stays below 24 in every frame,
    at least 2 % of the side thick; the whole frame is returned when the content would be less
    than 30 % of a side (a dark scene is not a letterbox) or when no bar is found.
    """
    t, h, w = frames.shape[:3]
    step = max(1, min(h, w) // 180)  # ~180 samples a side: enough for a 1 % edge
    x = frames[:, ::step, ::step].astype(np.float32).mean(axis=3)
    dark_rows = (x.mean(axis=2) < _DARK).all(axis=0)
    dark_cols = (x.mean(axis=1) < _DARK).all(axis=0)

    def run(mask: np.ndarray) -> int:
        return int(np.argmin(mask)) if not mask.all() else len(mask)

    def bars(mask: np.ndarray, side: int) -> tuple[int, int]:
        a, b = run(mask) * step, run(mask[::-1]) * step
        a, b = (a if a >= _MIN_BAR * side else 0), (b if b >= _MIN_BAR * side else 0)
        if side - a - b < _MIN_CONTENT * side:
            return 0, side
        return a, side - b

    y0, y1 = bars(dark_rows, h)
    x0, x1 = bars(dark_cols, w)
    return y0, y1, x0, x1


def region_boxes(grid: int = REGION_GRID, scale: float = REGION_SCALE) -> np.ndarray:
    """The windows as ``(grid², 4)`` float ``[x0, y0, x1, y1]`` shares of the frame, row by
    row from the top left."""
    pos = np.linspace(0.0, 1.0 - scale, grid) if grid > 1 else np.array([(1 - scale) / 2])
    return np.array([[x, y, x + scale, y + scale] for y in pos for x in pos], dtype=np.float64)


def region_frames(t: int, count: int = REGION_FRAMES) -> np.ndarray:
    """Positions of the ``count`` region frames among ``t`` sampled frames (spread evenly; a
    clip with fewer frames repeats some, so every clip has the same number of windows)."""
    return np.round(np.linspace(0, t - 1, count)).astype(np.int64) if t else np.zeros(0, int)


def region_crops(
    frames: np.ndarray,
    size: tuple[int, int],
    count: int = REGION_FRAMES,
    *,
    windows: Sequence[int] | None = None,
    among: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``count`` frames spread over ``frames`` (``(T, H, W, 3)``), resized to
    ``size`` = ``(height, width)``.

    Args:
        windows: which windows (indices into :func:`region_boxes`; None: all).
        among: which of the ``count`` region frames (positions among them; None: all).

    Returns:
        ``(crops, picked)``: ``(frames × windows, h, w, 3)`` uint8, frame by frame, windows in
        the order asked; and the positions in ``frames`` of the frames cropped.
    """
    t, h, w = frames.shape[:3]
    picked = region_frames(t, count)
    if among is not None and len(picked):
        picked = picked[np.asarray(among, np.int64)]
    out = []
    boxes = region_boxes()
    boxes = boxes if windows is None else boxes[np.asarray(windows, np.int64)]
    for i in picked:
        for x0, y0, x1, y1 in boxes:
            win = frames[i, int(round(y0 * h)) : int(round(y1 * h)),
                         int(round(x0 * w)) : int(round(x1 * w))]  # fmt: skip
            out.append(cv2.resize(win, (size[1], size[0]), interpolation=cv2.INTER_AREA))
    crops = np.stack(out) if out else np.zeros((0, *size, 3), np.uint8)
    return crops, picked
