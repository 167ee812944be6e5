"""``vidaug preview``: a contact sheet or a side-by-side animation of augmented copies of a clip.

Pure rendering (:func:`contact_sheet`, :func:`side_by_side`; labels from
:func:`vidaug.augment.describe_params`) takes and
returns numpy arrays; :func:`write_preview` reads the clip and writes the file (atomically).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.augment import Augmented, RecipeLike, Transform, as_recipe, describe_params
from vidaug.datasets import frame_indices, load_boxes
from vidaug.report._draw import (
    BACKGROUND,
    DIM,
    TEXT,
    draw_boxes,
    encode_animation,
    encode_image,
    fit,
    label,
    line_height,
    put_lines,
    wrap,
)

__all__ = [
    "ANIMATION_SUFFIXES",
    "PREVIEW_SUFFIXES",
    "SHEET_SUFFIXES",
    "VIDEO_SUFFIXES",
    "PreviewResult",
    "augment_copies",
    "contact_sheet",
    "side_by_side",
    "write_preview",
]

SHEET_SUFFIXES = (".png", ".jpg", ".jpeg")
ANIMATION_SUFFIXES = (".gif", ".webp")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi")
PREVIEW_SUFFIXES = SHEET_SUFFIXES + ANIMATION_SUFFIXES + VIDEO_SUFFIXES


def _boxes_by_frame(boxes: np.ndarray | None, t: int) -> list[np.ndarray]:
    empty = np.zeros((0, 6))
    if boxes is None or len(boxes) == 0:
        return [empty] * t
    f = boxes[:, 0].astype(np.int64)
    return [boxes[f == i] for i in range(t)]


# ---------------------------------------------------------------------------------------------
# Rendering (pure)
# ---------------------------------------------------------------------------------------------


@dataclass
class Copy:
    """One augmented copy: what :func:`augment_copies` returns."""

    seed: int
    result: Augmented

    @property
    def applied(self) -> list[str]:
        return describe_params(self.result.params)


def augment_copies(
    frames: np.ndarray,
    transform: Transform,
    n: int,
    seed: int = 0,
    boxes: np.ndarray | None = None,
) -> list[Copy]:
    """``n`` augmented copies of ``frames``; copy ``k`` uses its own seed from
    ``SeedSequence(seed).spawn(n)[k]`` (shown in the preview, so one copy can be replayed with
    ``transform(frames, seed=copy.seed)``).
    """
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]
    return [Copy(s, transform.augment(frames, seed=s, boxes=boxes)) for s in seeds]


def _row_strip(
    clip: np.ndarray,
    boxes: np.ndarray | None,
    cols: int,
    cell_h: int,
    cell_w: int,
    gap: int,
) -> np.ndarray:
    t = len(clip)
    per_frame = _boxes_by_frame(boxes, t)
    strip = np.full((cell_h, cols * cell_w + (cols - 1) * gap, 3), BACKGROUND, np.uint8)
    for j, i in enumerate(frame_indices(t, cols, spread="ends").tolist()):
        cell, tr = fit(clip[i], cell_h, cell_w)
        draw_boxes(cell, per_frame[i], tr)
        label(cell, f"f{i}/{t}", 2, cell_h - 16, 0.35)
        x = j * (cell_w + gap)
        strip[:, x : x + cell_w] = cell
    return strip


def contact_sheet(
    original: np.ndarray,
    copies: Sequence[Copy],
    *,
    columns: int = 5,
    height: int = 120,
    title: str = "",
    boxes: np.ndarray | None = None,
) -> np.ndarray:
    """A PNG-ready contact sheet: the original row, then one row per augmented copy.

    Each row shows ``columns`` frames spread over that clip's own length (temporal transforms
    change it), labelled ``f<index>/<frames>``; above each row, the copy's seed and the
    transforms and params applied. Boxes (original and moved ones) are drawn per track.

    Args:
        original: ``(T, H, W, 3)`` uint8 RGB.
        copies: from :func:`augment_copies`.
        columns: frames per row.
        height: height of one frame cell in pixels (cell width follows the original's aspect).
        title: first line of the sheet (e.g. the file and recipe).
        boxes: the original's boxes ``(N, 6)``.

    Returns:
        ``(H', W', 3)`` uint8 RGB.
    """
    t, h, w = original.shape[:3]
    cell_h = int(height)
    cell_w = max(16, round(w * cell_h / h))
    gap, pad, scale = 4, 8, 0.42
    width = columns * cell_w + (columns - 1) * gap + 2 * pad
    lh = line_height(scale)
    blocks: list[np.ndarray] = []

    def text_block(lines: list[str], colour=TEXT) -> np.ndarray:
        img = np.full((len(lines) * lh + 4, width, 3), BACKGROUND, np.uint8)
        put_lines(img, lines, pad, 2, scale, colour)
        return img

    def padded(strip: np.ndarray) -> np.ndarray:
        img = np.full((strip.shape[0] + gap, width, 3), BACKGROUND, np.uint8)
        img[:-gap, pad : pad + strip.shape[1]] = strip
        return img

    if title:
        blocks.append(text_block(wrap(title, width - 2 * pad, scale), DIM))
    blocks.append(text_block([f"original: {t} frames, {w}x{h}"]))
    blocks.append(padded(_row_strip(original, boxes, columns, cell_h, cell_w, gap)))
    for k, c in enumerate(copies, 1):
        ct, ch, cw = c.result.clip.shape[:3]
        applied = " | ".join(c.applied) or "nothing applied (all skipped by their p)"
        head = f"#{k} seed {c.seed}: {ct} frames, {cw}x{ch}: {applied}"
        blocks.append(text_block(wrap(head, width - 2 * pad, scale, max_lines=4)))
        blocks.append(
            padded(_row_strip(c.result.clip, c.result.boxes, columns, cell_h, cell_w, gap))
        )
    sheet = np.concatenate(blocks, axis=0)
    out = np.full((sheet.shape[0] + pad, width, 3), BACKGROUND, np.uint8)
    out[pad // 2 : pad // 2 + sheet.shape[0]] = sheet
    return out


def side_by_side(
    original: np.ndarray,
    copies: Sequence[Copy],
    *,
    height: int = 160,
    columns: int | None = None,
    boxes: np.ndarray | None = None,
) -> np.ndarray:
    """Frames of an animation showing the original and its copies in a grid, in sync.

    Every tile plays at the clip's frame rate from frame 0; a copy that is shorter (temporal
    transforms) holds its last frame, dimmed, until the longest one ends, so speed changes,
    drops and reversal are visible as such. Boxes are drawn with a short track trail.

    Args:
        original: ``(T, H, W, 3)`` uint8 RGB.
        copies: from :func:`augment_copies`.
        height: tile height (tile width follows the original's aspect).
        columns: tiles per row (default: up to 3).
        boxes: the original's boxes ``(N, 6)``.

    Returns:
        ``(T', H', W', 3)`` uint8 RGB with even ``H'`` and ``W'`` (video encoders need them).
    """
    clips = [(original, boxes, "original")] + [
        (c.result.clip, c.result.boxes, f"#{k} seed {c.seed}") for k, c in enumerate(copies, 1)
    ]
    captions = ["original"] + [" + ".join(a.split("(")[0] for a in c.applied) for c in copies]
    n = len(clips)
    cols = columns or min(n, 3)
    rows = math.ceil(n / cols)
    h, w = original.shape[1:3]
    tile_h = int(height)
    tile_w = max(16, round(w * tile_h / h))
    scale, gap = 0.38, 4
    lh = line_height(scale)
    cap_h = 2 * lh + 4
    total_w = cols * tile_w + (cols + 1) * gap
    total_h = rows * (tile_h + cap_h) + (rows + 1) * gap
    total_w += total_w % 2
    total_h += total_h % 2
    t_max = max(len(c[0]) for c in clips)
    per_frame = [_boxes_by_frame(b, len(c)) for c, b, _ in clips]
    trails: list[dict[int, list[tuple[int, int]]]] = [{} for _ in clips]

    base = np.full((total_h, total_w, 3), BACKGROUND, np.uint8)
    for k, ((_, _, name), cap) in enumerate(zip(clips, captions, strict=True)):
        r, c = divmod(k, cols)
        x, y = gap + c * (tile_w + gap), gap + r * (tile_h + cap_h + gap)
        lines = [name] + wrap(cap, tile_w - 4, scale, max_lines=1) if k else [name, ""]
        put_lines(base[y : y + cap_h, x : x + tile_w], lines, 2, 0, scale, TEXT)

    out = np.empty((t_max, total_h, total_w, 3), np.uint8)
    for i in range(t_max):
        frame = base.copy()
        for k, (clip, _, _) in enumerate(clips):
            r, c = divmod(k, cols)
            x, y = gap + c * (tile_w + gap), gap + r * (tile_h + cap_h + gap) + cap_h
            j = min(i, len(clip) - 1)
            tile, tr = fit(clip[j], tile_h, tile_w)
            draw_boxes(
                tile, per_frame[k][j] if i < len(clip) else per_frame[k][j][:0], tr, trails[k]
            )
            if i >= len(clip):
                tile = (tile * 0.45).astype(np.uint8)
                label(tile, "ended", 2, 2, 0.38)
            label(tile, f"f{j}/{len(clip)}", 2, tile_h - 16, 0.35)
            frame[y : y + tile_h, x : x + tile_w] = tile
        out[i] = frame
    return out


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


@dataclass
class PreviewResult:
    """What :func:`write_preview` wrote."""

    path: Path
    kind: str  # "sheet", "animation" or "video"
    width: int
    height: int
    frames: int
    source_frames: int
    recipe: str
    copies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "source_frames": self.source_frames,
            "recipe": self.recipe,
            "copies": self.copies,
        }


def write_preview(
    clip_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    recipe: RecipeLike = "standard",
    n: int = 4,
    seed: int = 0,
    boxes: str | os.PathLike | np.ndarray | None = None,
    max_frames: int = 64,
    height: int | None = None,
    columns: int = 5,
) -> PreviewResult:
    """Read a clip, make ``n`` augmented copies and write a preview of them, atomically.

    The format follows ``out``'s suffix: ``.png`` / ``.jpg`` a contact sheet
    (:func:`contact_sheet`), ``.gif`` / ``.webp`` an animation and ``.mp4`` / ``.m4v`` /
    ``.mov`` / ``.avi`` a video of :func:`side_by_side`.

    Args:
        clip_path: any video OpenCV decodes (a damaged one is previewed up to where it breaks).
        out: the file to write.
        recipe: a preset name, a recipe YAML file, a :class:`~vidaug.augment.Recipe` or a
            transform (see :func:`~vidaug.augment.as_recipe`).
        n: augmented copies (≥ 1).
        seed: base seed (copy ``k`` gets its own derived seed, shown in the preview).
        boxes: ``(N, 6)`` rows ``frame, track_id, x1, y1, x2, y2`` or a file for
            :func:`vidaug.datasets.load_boxes`; drawn on the original and, moved by the transforms, on the copies.
        max_frames: preview the first this many frames.
        height: frame cell / tile height in pixels (default 120 for sheets, 160 animated).
        columns: frames per row of a sheet.

    Returns:
        A :class:`PreviewResult`.

    Raises:
        ValueError: unsupported suffix or bad numbers.
        VideoReadError: the clip cannot be read.
        RecipeError: bad recipe.
        VidaugError: a bad boxes file.
    """
    from vidaug.datasets import atomic_write_bytes, read_clip, write_clip

    dest = Path(out)
    suffix = dest.suffix.lower()
    if suffix not in PREVIEW_SUFFIXES:
        raise ValueError(
            f"{dest}: preview format must be one of {', '.join(PREVIEW_SUFFIXES)} (by suffix)"
        )
    if n < 1 or max_frames < 1 or columns < 1 or (height is not None and height < 16):
        raise ValueError("n, max_frames and columns must be ≥ 1 and height ≥ 16")
    r = as_recipe(recipe)
    transform, recipe_name = r.transform, r.name
    box_rows = load_boxes(boxes) if isinstance(boxes, (str, os.PathLike)) else boxes
    clip = read_clip(clip_path, max_frames=max_frames, allow_truncated=True)
    frames = clip.frames
    if box_rows is not None:
        box_rows = np.asarray(box_rows, dtype=np.float64).reshape(-1, 6)
        box_rows = box_rows[box_rows[:, 0] < len(frames)]
    copies = augment_copies(frames, transform, n, seed, box_rows)
    name = Path(os.fspath(clip_path)).name
    info = [
        {"seed": c.seed, "frames": int(len(c.result.clip)), "applied": c.applied} for c in copies
    ]
    if suffix in SHEET_SUFFIXES:
        title = f"{name} | recipe {recipe_name} | seed {seed} | vidaug preview"
        img = contact_sheet(
            frames, copies, columns=columns, height=height or 120, title=title, boxes=box_rows
        )
        atomic_write_bytes(dest, encode_image(img, suffix))
        return PreviewResult(
            dest, "sheet", img.shape[1], img.shape[0], 1, len(frames), recipe_name, info
        )
    anim = side_by_side(frames, copies, height=height or 160, boxes=box_rows)
    if suffix in ANIMATION_SUFFIXES:
        atomic_write_bytes(dest, encode_animation(list(anim), suffix, clip.fps))
        kind = "animation"
    else:
        write_clip(dest, anim, clip.fps)
        kind = "video"
    return PreviewResult(
        dest, kind, anim.shape[2], anim.shape[1], len(anim), len(frames), recipe_name, info
    )
