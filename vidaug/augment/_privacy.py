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
    min_neighbors: int = 4,
    min_size: float = 0.04,
    profiles: bool = True,
) -> np.ndarray:
    """Faces in one RGB frame as ``(N, 4)`` ``x1, y1, x2, y2`` boxes (OpenCV Haar cascades)."""
    gray = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
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
    boxes = [f.reshape(-1, 4) for f in found if len(f)]
    if not boxes:
        return np.zeros((0, 4), dtype=np.int64)
    xywh = np.concatenate(boxes).astype(np.int64)
    return np.stack([xywh[:, 0], xywh[:, 1], xywh[:, 0] + xywh[:, 2], xywh[:, 1] + xywh[:, 3]], 1)


@register
class Anonymize(Transform):
    """Blur, pixelate or black out faces found by OpenCV's bundled Haar cascades (offline).

    A face detected on frame ``t`` is masked on frames ``t - hold`` … ``t + hold`` too, so a
    missed detection between two hits does not let the face flicker back into view. Boxes are
    grown by ``expand`` on each side. Deterministic: no random params.
    """

    kind: ClassVar[str] = "privacy"
    mode: Literal["blur", "pixelate", "black"] = "blur"
    hold: int = Field(5, ge=0, le=300, description="frames a detection is held before/after")
    expand: float = Field(0.25, ge=0.0, le=2.0, description="grow boxes by this share")
    detect_every: int = Field(1, ge=1, le=100, description="run the detector every N frames")
    min_neighbors: int = Field(4, ge=1, le=50)
    min_size: float = Field(0.04, gt=0.0, le=1.0, description="smallest face, share of frame")
    profiles: bool = True

    def face_boxes(self, clip: np.ndarray) -> list[np.ndarray]:
        """Per-frame masked boxes after holding detections over time."""
        t, h, w = clip.shape[:3]
        hits: list[np.ndarray] = [np.zeros((0, 4), dtype=np.int64)] * t
        for i in range(0, t, self.detect_every):
            hits[i] = detect_faces(
                clip[i],
                min_neighbors=self.min_neighbors,
                min_size=self.min_size,
                profiles=self.profiles,
            )
        reach = self.hold + self.detect_every - 1
        out = []
        for i in range(t):
            near = [
                hits[j] for j in range(max(0, i - reach), min(t, i + reach + 1)) if len(hits[j])
            ]
            if not near:
                out.append(np.zeros((0, 4), dtype=np.int64))
                continue
            b = np.concatenate(near).astype(np.float64)
            gx = (b[:, 2] - b[:, 0]) * self.expand
            gy = (b[:, 3] - b[:, 1]) * self.expand
            b = np.stack([b[:, 0] - gx, b[:, 1] - gy, b[:, 2] + gx, b[:, 3] + gy], 1)
            b = np.clip(np.rint(b), 0, [w, h, w, h]).astype(np.int64)
            out.append(b)
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
