"""Spatial transforms: crops, resize, flips, affine, perspective, camera shake, zoom over time.

All of them are :class:`GeometricTransform`s: a matrix per clip (or per frame, for the ones that
move over time) in corner coordinates, so ``Compose`` can fuse a run of them into a single warp
per frame. Sizes are ``(height, width)``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vidaug.augment._core import (
    _CV2_INTERP,
    BorderMode,
    GeometricTransform,
    Interpolation,
    register,
    scale,
    translate,
    warp_clip,
)
from vidaug.augment._schedule import smooth_schedule, uniform
from vidaug.augment._types import FloatRange, Period, Side, Size

__all__ = [
    "Affine",
    "CameraShake",
    "CenterCrop",
    "HorizontalFlip",
    "Perspective",
    "RandomCrop",
    "RandomResizedCrop",
    "Resize",
    "VerticalFlip",
    "ZoomOverTime",
]

Temporal = Literal["constant", "smooth"]


def _crop_apply(clip: np.ndarray, x: int, y: int, h: int, w: int) -> np.ndarray:
    """Crop by slicing when the window is inside the frame, else pad with black."""
    _, hh, ww, _ = clip.shape
    if x >= 0 and y >= 0 and x + w <= ww and y + h <= hh:
        return clip[:, y : y + h, x : x + w]
    return warp_clip(clip, translate(-x, -y), (h, w), "nearest", "constant", 0)


class _Crop(GeometricTransform):
    resamples: ClassVar[bool] = False

    def matrices(self, params, shape):
        return translate(-params["x"], -params["y"]), (params["h"], params["w"])

    def apply(self, clip, params):
        return _crop_apply(clip, params["x"], params["y"], params["h"], params["w"])


@register
class CenterCrop(_Crop):
    """Crop the centre ``size`` window (frames smaller than it are padded with black)."""

    size: Size = Field((224, 224), description="output [height, width]")

    def sample(self, rng, shape):
        h, w = self.size
        return {"x": (shape[2] - w) // 2, "y": (shape[1] - h) // 2, "h": h, "w": w}


@register
class RandomCrop(_Crop):
    """Crop a ``size`` window at one random position for the whole clip."""

    size: Size = Field((224, 224), description="output [height, width]")

    def sample(self, rng, shape):
        h, w = self.size
        x = int(rng.integers(0, shape[2] - w + 1)) if shape[2] > w else (shape[2] - w) // 2
        y = int(rng.integers(0, shape[1] - h + 1)) if shape[1] > h else (shape[1] - h) // 2
        return {"x": x, "y": y, "h": h, "w": w}


@register
class RandomResizedCrop(GeometricTransform):
    """Crop a random window (area share ``scale``, aspect ``ratio``) and resize it to ``size``.

    The window is drawn once per clip (torchvision's sampling: 10 tries, then a centre crop).
    ``size=None`` keeps the input frame size.
    """

    size: Size | None = Field(None, description="output [height, width] (default: input size)")
    scale: FloatRange(ge=0.0, le=1.0) = Field((0.08, 1.0), description="window area share")
    ratio: FloatRange(ge=0.01, le=100.0) = Field((3 / 4, 4 / 3), description="window aspect w/h")
    interpolation: Interpolation = "linear"

    def sample(self, rng, shape):
        _, hh, ww, _ = shape
        area = hh * ww
        log_r = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * uniform(rng, self.scale)
            ar = math.exp(uniform(rng, log_r))
            w = int(round(math.sqrt(target * ar)))
            h = int(round(math.sqrt(target / ar)))
            if 0 < w <= ww and 0 < h <= hh:
                x = int(rng.integers(0, ww - w + 1))
                y = int(rng.integers(0, hh - h + 1))
                return {"x": x, "y": y, "w": w, "h": h}
        in_ratio = ww / hh  # fallback: centre crop at the closest allowed aspect
        if in_ratio < self.ratio[0]:
            w, h = ww, int(round(ww / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = hh, int(round(hh * self.ratio[1]))
        else:
            w, h = ww, hh
        return {"x": (ww - w) // 2, "y": (hh - h) // 2, "w": w, "h": h}

    def matrices(self, params, shape):
        oh, ow = self.size or shape[1:3]
        m = scale(ow / params["w"], oh / params["h"]) @ translate(-params["x"], -params["y"])
        return m, (oh, ow)

    def apply(self, clip, params):
        x, y, w, h = params["x"], params["y"], params["w"], params["h"]
        oh, ow = self.size or clip.shape[1:3]
        interp = _CV2_INTERP[self.interpolation]
        out = np.empty((clip.shape[0], oh, ow, 3), dtype=np.uint8)
        for i in range(clip.shape[0]):
            cv2.resize(clip[i, y : y + h, x : x + w], (ow, oh), dst=out[i], interpolation=interp)
        return out


def _resize_hw(size: int | tuple[int, int], h: int, w: int) -> tuple[int, int]:
    if isinstance(size, int):
        s = size / min(h, w)
        return max(1, int(round(h * s))), max(1, int(round(w * s)))
    return int(size[0]), int(size[1])


@register
class Resize(GeometricTransform):
    """Resize every frame: ``size`` is ``[height, width]`` or an int for the shorter side."""

    size: Side | Size = Field(224, description="[height, width], or the shorter side")
    interpolation: Interpolation = "area"

    def sample(self, rng, shape):
        oh, ow = _resize_hw(self.size, shape[1], shape[2])
        return {"h": oh, "w": ow}

    def matrices(self, params, shape):
        oh, ow = params["h"], params["w"]
        return scale(ow / shape[2], oh / shape[1]), (oh, ow)

    def apply(self, clip, params):
        oh, ow = params["h"], params["w"]
        interp = _CV2_INTERP[self.interpolation]
        if interp == cv2.INTER_AREA and (oh > clip.shape[1] or ow > clip.shape[2]):
            interp = cv2.INTER_LINEAR  # area is for shrinking
        out = np.empty((clip.shape[0], oh, ow, 3), dtype=np.uint8)
        for i in range(clip.shape[0]):
            cv2.resize(clip[i], (ow, oh), dst=out[i], interpolation=interp)
        return out


@register
class HorizontalFlip(GeometricTransform):
    """Mirror left–right (the whole clip, with probability ``p``)."""

    resamples: ClassVar[bool] = False
    p: float = Field(0.5, ge=0.0, le=1.0, description="probability of applying the transform")

    def matrices(self, params, shape):
        return np.array([[-1.0, 0.0, shape[2]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), shape[1:3]

    def apply(self, clip, params):
        return np.ascontiguousarray(clip[:, :, ::-1])


@register
class VerticalFlip(GeometricTransform):
    """Mirror top–bottom (the whole clip, with probability ``p``)."""

    resamples: ClassVar[bool] = False
    p: float = Field(0.5, ge=0.0, le=1.0, description="probability of applying the transform")

    def matrices(self, params, shape):
        return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, shape[1]], [0.0, 0.0, 1.0]]), shape[1:3]

    def apply(self, clip, params):
        return np.ascontiguousarray(clip[:, ::-1])


def _affine_about_center(
    w: int,
    h: int,
    angle: np.ndarray,
    zoom: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    shx: np.ndarray,
    shy: np.ndarray,
) -> np.ndarray:
    """Per-frame (T,3,3) matrices: rotate/scale/shear about the centre, then translate.

    Angles in degrees (positive = counter-clockwise on screen), translations in pixels.
    """
    n = len(angle)
    a = np.deg2rad(angle)
    cos, sin = np.cos(a), np.sin(a)
    sx, sy = np.tan(np.deg2rad(shx)), np.tan(np.deg2rad(shy))
    # R(-a) because image y points down: counter-clockwise on screen
    rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)
    shear = np.stack([np.stack([np.ones(n), sx], -1), np.stack([sy, np.ones(n)], -1)], 1)
    lin = rot @ shear * zoom[:, None, None]
    cx, cy = w / 2.0, h / 2.0
    m = np.zeros((n, 3, 3))
    m[:, :2, :2] = lin
    c = np.array([cx, cy])
    m[:, :2, 2] = c - lin @ c + np.stack([tx, ty], -1)
    m[:, 2, 2] = 1.0
    return m


class _Warp(GeometricTransform):
    border: BorderMode = Field("reflect", description="how pixels outside the frame are filled")
    fill: int = Field(0, ge=0, le=255, description="fill value for border='constant'")
    interpolation: Interpolation = "linear"


@register
class Affine(_Warp):
    """Rotate, scale, translate and shear about the frame centre.

    ``temporal="constant"`` (default) uses one set of params for every frame; ``"smooth"`` draws
    each parameter as a smooth per-frame schedule inside its range (a slow, natural drift).
    Translations are fractions of the frame width / height.
    """

    rotate: FloatRange(ge=-180, le=180) = Field((-10.0, 10.0), description="degrees")
    scale: FloatRange(ge=0.01, le=100) = Field((0.9, 1.1), description="zoom factor")
    translate_x: FloatRange(ge=-1, le=1) = Field((-0.05, 0.05), description="share of width")
    translate_y: FloatRange(ge=-1, le=1) = Field((-0.05, 0.05), description="share of height")
    shear_x: FloatRange(ge=-80, le=80) = Field((0.0, 0.0), description="degrees")
    shear_y: FloatRange(ge=-80, le=80) = Field((0.0, 0.0), description="degrees")
    temporal: Temporal = "constant"
    period: Period = Field(8.0, description="frames between control points (smooth)")

    def is_consistent(self) -> bool:
        return self.temporal == "constant"

    _KEYS: ClassVar[tuple[str, ...]] = (
        "rotate",
        "scale",
        "translate_x",
        "translate_y",
        "shear_x",
        "shear_y",
    )

    def sample(self, rng, shape):
        if self.temporal == "constant":
            return {k: uniform(rng, getattr(self, k)) for k in self._KEYS}
        t = shape[0]
        return {
            k: smooth_schedule(rng, t, getattr(self, k), period=self.period) for k in self._KEYS
        }

    def matrices(self, params, shape):
        t, h, w = shape[:3]
        v = {k: np.broadcast_to(np.asarray(params[k], dtype=np.float64), (t,)) for k in self._KEYS}
        m = _affine_about_center(
            w,
            h,
            v["rotate"],
            v["scale"],
            v["translate_x"] * w,
            v["translate_y"] * h,
            v["shear_x"],
            v["shear_y"],
        )
        return (m[0] if self.temporal == "constant" else m), (h, w)


@register
class Perspective(_Warp):
    """A random perspective (keystone) change: each corner moves by up to ``scale`` of the
    frame size, the same for every frame; the output keeps the frame size."""

    scale: FloatRange(ge=0.0, le=0.5) = Field((0.02, 0.08), description="corner shift share")
    border: BorderMode = Field("constant", description="how pixels outside the frame are filled")

    def sample(self, rng, shape):
        h, w = shape[1], shape[2]
        s = uniform(rng, self.scale)
        jitter = rng.uniform(-s, s, size=(4, 2)) * np.array([w, h])
        return {"corners": jitter.round(4).tolist()}

    def matrices(self, params, shape):
        h, w = shape[1], shape[2]
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        dst = (src + np.asarray(params["corners"], dtype=np.float32)).astype(np.float32)
        return cv2.getPerspectiveTransform(src, dst).astype(np.float64), (h, w)


@register
class CameraShake(_Warp):
    """Hand-held camera shake: a smooth random per-frame jitter of position and angle.

    ``max_shift`` is a share of the frame size, ``max_rotate`` degrees and ``period`` the frames
    between jitter control points (smaller = faster shake). With ``crop_border`` the frame is
    zoomed just enough to keep the borders out of view.
    """

    consistent: ClassVar[bool] = False
    max_shift: float = Field(0.02, ge=0.0, le=0.5, description="share of frame size")
    max_rotate: float = Field(1.0, ge=0.0, le=45.0, description="degrees")
    period: Period = Field(3.0, description="frames between jitter control points")
    crop_border: bool = True

    def sample(self, rng, shape):
        t = shape[0]
        s, r = self.max_shift, self.max_rotate
        return {
            "dx": smooth_schedule(rng, t, (-s, s), period=self.period),
            "dy": smooth_schedule(rng, t, (-s, s), period=self.period),
            "angle": smooth_schedule(rng, t, (-r, r), period=self.period),
        }

    def matrices(self, params, shape):
        t, h, w = shape[:3]
        z = 1.0 + 2.0 * self.max_shift + math.sin(math.radians(self.max_rotate))
        zoom = np.full(t, z if self.crop_border else 1.0)
        zeros = np.zeros(t)
        m = _affine_about_center(
            w,
            h,
            np.asarray(params["angle"]),
            zoom,
            np.asarray(params["dx"]) * w,
            np.asarray(params["dy"]) * h,
            zeros,
            zeros,
        )
        return m, (h, w)


@register
class ZoomOverTime(_Warp):
    """Zoom in or out smoothly over the clip: the zoom goes from one value drawn in ``zoom``
    to another (eased), about a centre jittered by up to ``center_jitter`` of the frame size."""

    consistent: ClassVar[bool] = False
    zoom: FloatRange(ge=0.1, le=10.0) = Field((1.0, 1.3), description="zoom factor range")
    center_jitter: float = Field(0.1, ge=0.0, le=0.5, description="share of frame size")

    def sample(self, rng, shape):
        j = self.center_jitter
        return {
            "start": uniform(rng, self.zoom),
            "end": uniform(rng, self.zoom),
            "cx": uniform(rng, (-j, j)),
            "cy": uniform(rng, (-j, j)),
        }

    def matrices(self, params, shape):
        t, h, w = shape[:3]
        ease = (1.0 - np.cos(np.pi * np.linspace(0.0, 1.0, t))) / 2.0 if t > 1 else np.zeros(1)
        z = params["start"] + (params["end"] - params["start"]) * ease
        cx, cy = w * (0.5 + params["cx"]), h * (0.5 + params["cy"])
        m = np.zeros((t, 3, 3))
        m[:, 0, 0] = z
        m[:, 1, 1] = z
        # zoom about the jittered centre, which stays put (no border for zoom ≥ 1)
        m[:, 0, 2] = cx - z * cx
        m[:, 1, 2] = cy - z * cy
        m[:, 2, 2] = 1.0
        return m, (h, w)
