"""Small OpenCV drawing helpers shared by previews and report thumbnails (pure numpy in/out).

OpenCV's drawing functions treat channels positionally, so colours here are RGB triples drawn
on RGB frames; only :func:`encode_image` converts to OpenCV's BGR, for its encoders.
"""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
BACKGROUND = (24, 24, 28)
TEXT = (235, 235, 235)
DIM = (150, 150, 160)

# Distinct, readable track colours (RGB), cycled by track id.
_PALETTE = (
    (255, 99, 71),
    (60, 180, 255),
    (255, 200, 40),
    (120, 220, 100),
    (230, 110, 230),
    (64, 224, 208),
    (255, 150, 60),
    (170, 140, 255),
)


def ascii_text(text: str) -> str:
    """``text`` with characters OpenCV's Hershey fonts cannot draw replaced (they show as ``?``)."""
    table = {"→": "->", "↔": "<->", "×": "x", "·": "|", "…": "...", "≥": ">=", "≤": "<="}
    out = "".join(table.get(ch, ch) for ch in text)
    return out.encode("ascii", "replace").decode("ascii")


def text_width(text: str, scale: float, thickness: int = 1) -> int:
    (w, _), _ = cv2.getTextSize(text, FONT, scale, thickness)
    return int(w)


def line_height(scale: float) -> int:
    """Pixel height of one text line (with spacing) at ``scale``."""
    (_, h), base = cv2.getTextSize("Ag", FONT, scale, 1)
    return int(h + base + max(3, round(6 * scale)))


def wrap(text: str, width: int, scale: float, max_lines: int | None = None) -> list[str]:
    """Greedy word wrap of ``text`` into lines at most ``width`` pixels wide.

    Words longer than a line are cut; with ``max_lines`` the last kept line ends in ``...``.
    """
    text = ascii_text(text)
    lines: list[str] = []
    cur = ""
    for word in text.split():
        while text_width(word, scale) > width and len(word) > 1:  # cut over-long words
            cut = len(word)
            while cut > 1 and text_width(word[:cut], scale) > width:
                cut -= 1
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:cut])
            word = word[cut:]
        cand = f"{cur} {word}" if cur else word
        if text_width(cand, scale) <= width:
            cur = cand
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    if max_lines is not None and len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(last + "...", scale) > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last + "..."]
    return lines or [""]


def put_lines(
    img: np.ndarray,
    lines: list[str],
    x: int,
    y: int,
    scale: float,
    colour: tuple[int, int, int] = TEXT,
) -> int:
    """Draw ``lines`` from top-left ``(x, y)``; returns the y below the last line."""
    lh = line_height(scale)
    (_, h), _ = cv2.getTextSize("Ag", FONT, scale, 1)
    for line in lines:
        cv2.putText(img, ascii_text(line), (x, y + h + 2), FONT, scale, colour, 1, cv2.LINE_AA)
        y += lh
    return y


def label(img: np.ndarray, text: str, x: int, y: int, scale: float = 0.4) -> None:
    """A small text label with a dark backing box, top-left at ``(x, y)`` (clipped to ``img``)."""
    text = ascii_text(text)
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(img.shape[1], x0 + w + 6), min(img.shape[0], y0 + h + base + 4)
    if x1 <= x0 or y1 <= y0:
        return
    img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * 0.35).astype(np.uint8)
    cv2.putText(img, text, (x0 + 3, y0 + h + 2), FONT, scale, TEXT, 1, cv2.LINE_AA)


def fit(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """``frame`` scaled (aspect kept) to fit ``height × width``, centred on a dark background.

    Returns:
        ``(height, width, 3)`` uint8 and the ``(scale, x_offset, y_offset)`` applied, for boxes.
    """
    h, w = frame.shape[:2]
    s = min(height / h, width / w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(frame, (nw, nh), interpolation=interp)
    out = np.full((height, width, 3), BACKGROUND, np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out, (s, x0, y0)


def track_colour(track_id: int) -> tuple[int, int, int]:
    return _PALETTE[int(track_id) % len(_PALETTE)]


def draw_boxes(
    img: np.ndarray,
    boxes: np.ndarray,
    transform: tuple[float, int, int] = (1.0, 0, 0),
    trails: dict[int, list[tuple[int, int]]] | None = None,
) -> None:
    """Draw ``(N, 6)`` rows ``frame, track_id, x1, y1, x2, y2`` onto ``img`` in place.

    Args:
        img: the (resized) frame.
        boxes: rows for this frame, in the coordinates of the frame before :func:`fit`.
        transform: ``(scale, x_offset, y_offset)`` returned by :func:`fit`.
        trails: past box centres per track (drawn as a fading path, then extended).
    """
    s, ox, oy = transform
    thick = 1 if img.shape[0] < 200 else 2
    for row in boxes:
        tid = int(row[1])
        x1, y1, x2, y2 = (float(v) for v in row[2:6])
        p1 = (round(x1 * s + ox), round(y1 * s + oy))
        p2 = (round(x2 * s + ox), round(y2 * s + oy))
        colour = track_colour(tid)
        if trails is not None:
            path = trails.setdefault(tid, [])
            path.append(((p1[0] + p2[0]) // 2, (p1[1] + p2[1]) // 2))
            del path[:-12]
            for a, b in zip(path[:-1], path[1:], strict=False):
                cv2.line(img, a, b, colour, 1, cv2.LINE_AA)
        cv2.rectangle(img, p1, p2, colour, thick, cv2.LINE_AA)
        label(img, f"{tid}", p1[0], p1[1] - 13, 0.35)


def encode_image(rgb: np.ndarray, ext: str, quality: int = 80) -> bytes:
    """Encode an RGB image as ``.png`` / ``.jpg`` bytes (OpenCV's encoders take BGR)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {rgb.shape} image as {ext}")
    return buf.tobytes()


def encode_animation(frames: list[np.ndarray], ext: str, fps: float) -> bytes:
    """Encode RGB frames as an animated ``.gif`` / ``.webp`` (``cv2.imencodeanimation``)."""
    anim = cv2.Animation()
    anim.frames = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
    anim.durations = [max(20, round(1000 / fps))] * len(frames)  # ms; browsers clamp < 20
    anim.loop_count = 0
    ok, buf = cv2.imencodeanimation(ext, anim)
    if not ok:
        raise ValueError(f"OpenCV could not encode {len(frames)} frames as {ext}")
    return buf.tobytes()
