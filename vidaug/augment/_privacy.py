"""Privacy: blur or pixelate faces, with detections held over time so nothing flickers."""

from __future__ import annotations

import functools
from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vidaug.augment._core import Transform, register

__all__ = ["Anonymize", "detect_faces"]


@functools.lru_cache(maxsize=4)
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + name  # bundled with OpenCV: works offline
    c = cv2.CascadeClassifier(path)
    if c.empty():
        raise RuntimeError(f"could not load OpenCV's Haar cascade {path}")
    return c


def detect_faces(
    frame: np.ndarray,
    *,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: float = 0.04,
    profiles: bool = False,
    detect_size: int = 480,
) -> np.ndarray:
    """Faces in one RGB frame as ``(N, 4)`` ``x1, y1, x2, y2`` boxes (OpenCV Haar cascades).

    The frame is shrunk so its longer side is at most ``detect_size`` before detection (speed);
    boxes are returned in the frame's own pixels.
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    f = min(1.0, detect_size / max(gray.shape))
    if f < 1.0:
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    side = max(12, int(min_size * min(gray.shape)))
    kw = {"scaleFactor": scale_factor, "minNeighbors": min_neighbors, "minSize": (side, side)}
    found = [
        np.asarray(_cascade("haarcascade_frontalface_default.xml").detectMultiScale(gray, **kw))
    ]
    if profiles:
        prof = _cascade("haarcascade_profileface.xml")
        found.append(np.asarray(prof.detectMultiScale(gray, **kw)))
        flipped = np.asarray(prof.detectMultiScale(np.ascontiguousarray(gray[:, ::-1]), **kw))
        if len(flipped):
            flipped[:, 0] = gray.shape[1] - flipped[:, 0] - flipped[:, 2]
        found.append(flipped)
    boxes = [b.reshape(-1, 4) for b in found if len(b)]
    if not boxes:
        return np.zeros((0, 4), dtype=np.int64)
    xywh = np.concatenate(boxes).astype(np.float64) / f
    xyxy = np.stack([xywh[:, 0], xywh[:, 1], xywh[:, 0] + xywh[:, 2], xywh[:, 1] + xywh[:, 3]], 1)
    return np.rint(xyxy).astype(np.int64)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` xyxy boxes."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


@register
class Anonymize(Transform):
    """Blur, pixelate or black out faces found by OpenCV's bundled Haar cascade (offline).

    Detections are smoothed over time: a detection counts only when another frame within
    ``hold`` frames confirms it (IoU ≥ 0.3), which drops one-frame false alarms, and a confirmed
    face stays masked for ``hold`` frames before and after each hit, so a missed detection in
    between does not let it flicker back into view. Boxes grow by ``expand`` on each side.
    Deterministic: no random params.
    """

    kind: ClassVar[str] = "privacy"
    chunkable: ClassVar[bool] = False  # detections are confirmed and held across frames
    mode: Literal["blur", "pixelate", "black"] = "blur"
    hold: int = Field(5, ge=0, le=300, description="frames a detection is held before/after")
    expand: float = Field(0.2, ge=0.0, le=2.0, description="grow boxes by this share")
    detect_every: int = Field(1, ge=1, le=100, description="run the detector every N frames")
    min_neighbors: int = Field(5, ge=1, le=50, description="detector strictness")
    min_size: float = Field(0.04, gt=0.0, le=1.0, description="smallest face, share of frame")
    confirm: bool = Field(True, description="drop detections no nearby frame confirms")
    profiles: bool = Field(False, description="also look for faces in profile (slower)")
    detect_size: int = Field(480, ge=64, le=4096, description="detect on frames this big")

    def face_boxes(self, clip: np.ndarray) -> list[np.ndarray]:
        """The boxes masked on each frame, after confirming and holding detections."""
        t, h, w = clip.shape[:3]
        none = np.zeros((0, 4), dtype=np.int64)
        hits: list[np.ndarray] = [none] * t
        for i in range(0, t, self.detect_every):
            hits[i] = detect_faces(
                clip[i],
                min_neighbors=self.min_neighbors,
                min_size=self.min_size,
                profiles=self.profiles,
                detect_size=self.detect_size,
            )
        reach = self.hold + self.detect_every - 1
        window = max(reach, self.detect_every)
        kept: list[np.ndarray] = []
        for i in range(t):
            b = hits[i]
            if len(b) and self.confirm:
                others = [
                    hits[j]
                    for j in range(max(0, i - window), min(t, i + window + 1))
                    if j != i and len(hits[j])
                ]
                if others:
                    b = b[(_iou(b, np.concatenate(others)) >= 0.3).any(axis=1)]
                else:
                    b = none
            kept.append(b)
        out = []
        for i in range(t):
            near = [
                kept[j] for j in range(max(0, i - reach), min(t, i + reach + 1)) if len(kept[j])
            ]
            if not near:
                out.append(none)
                continue
            b = np.concatenate(near).astype(np.float64)
            gx = (b[:, 2] - b[:, 0]) * self.expand
            gy = (b[:, 3] - b[:, 1]) * self.expand
            b = np.stack([b[:, 0] - gx, b[:, 1] - gy, b[:, 2] + gx, b[:, 3] + gy], 1)
            out.append(np.clip(np.rint(b), 0, [w, h, w, h]).astype(np.int64))
        return out

    def apply(self, clip, params):
        out = clip.copy()
        for i, boxes in enumerate(self.face_boxes(clip)):
            for x1, y1, x2, y2 in boxes:
                if x2 - x1 < 2 or y2 - y1 < 2:
                    continue
                roi = out[i, y1:y2, x1:x2]
                if self.mode == "black":
                    roi[:] = 0
                elif self.mode == "pixelate":
                    small = cv2.resize(
                        roi,
                        (max(1, (x2 - x1) // 12), max(1, (y2 - y1) // 12)),
                        interpolation=cv2.INTER_AREA,
                    )
                    roi[:] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
                else:
                    k = max(3, ((min(x2 - x1, y2 - y1) // 3) | 1))
                    roi[:] = cv2.GaussianBlur(roi, (k, k), 0)
        return out
