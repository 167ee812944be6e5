"""Photometric transforms: colour jitter, gamma, grayscale, CLAHE, low light, blur, noise,
compression artefacts.

Constant-over-time transforms work on the whole clip at once where OpenCV allows it (a clip
``(T, H, W, 3)`` is viewed as one tall ``(T*H, W, 3)`` image for per-pixel ops such as lookup
tables and colour conversions), which is exact and avoids a Python loop over frames.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from vidaug.augment._core import Transform, register
from vidaug.augment._schedule import smooth_schedule, uniform
from vidaug.augment._types import FloatRange, IntRange, Period

__all__ = [
    "CLAHE",
    "ColorJitter",
    "Compression",
    "GaussianBlur",
    "Grayscale",
    "Identity",
    "LowLight",
    "MotionBlur",
    "RandomGamma",
    "SensorNoise",
]

Temporal = Literal["constant", "smooth"]
_ARANGE = np.arange(256, dtype=np.float64)


def _tall(clip: np.ndarray) -> np.ndarray:
    t, h, w, c = clip.shape
    return np.ascontiguousarray(clip).reshape(t * h, w, c)


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


@register
class Identity(Transform):
    """Leave the clip as it is (useful inside ``OneOf``)."""

    def apply(self, clip, params):
        return clip


@register
class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue: factors in ``[1 - x, 1 + x]`` (as in
    torchvision / albumentations) and a hue rotation in ``[-hue, hue]`` of the colour circle.

    Contrast pulls towards each frame's mean grey (as torchvision's ``adjust_contrast`` does
    per image, so identical frames stay identical and a frame needs no other frame: long
    recordings stream); saturation blends with luma; hue rotates chroma in YIQ space. All four
    fold into one 3×4 colour matrix applied in a single pass, which is why this is several
    times faster than HSV round trips. ``temporal="smooth"`` lets every factor drift smoothly.
    """

    frame_params: ClassVar[tuple[str, ...]] = ("brightness", "contrast", "saturation", "hue")

    brightness: float = Field(0.2, ge=0.0, le=1.0)
    contrast: float = Field(0.2, ge=0.0, le=1.0)
    saturation: float = Field(0.2, ge=0.0, le=1.0)
    hue: float = Field(0.02, ge=0.0, le=0.5)
    temporal: Temporal = "constant"
    period: Period = Field(8.0, description="frames between control points (smooth)")

    def is_consistent(self) -> bool:
        return self.temporal == "constant"

    def _ranges(self) -> dict[str, tuple[float, float]]:
        return {
            "brightness": (max(0.0, 1 - self.brightness), 1 + self.brightness),
            "contrast": (max(0.0, 1 - self.contrast), 1 + self.contrast),
            "saturation": (max(0.0, 1 - self.saturation), 1 + self.saturation),
            "hue": (-self.hue, self.hue),
        }

    def sample(self, rng, shape):
        r = self._ranges()
        if self.temporal == "constant":
            return {k: uniform(rng, v) for k, v in r.items()}
        return {k: smooth_schedule(rng, shape[0], v, period=self.period) for k, v in r.items()}

    def apply(self, clip, params):
        t = clip.shape[0]
        grey = cv2.cvtColor(_tall(clip[:, ::4, ::4]), cv2.COLOR_RGB2GRAY).reshape(t, -1)
        means = grey.mean(axis=1, dtype=np.float64)
        out = np.empty_like(clip)
        keys = ("brightness", "contrast", "saturation", "hue")
        for i in range(t):
            kw = {k: params[k] if self.temporal == "constant" else params[k][i] for k in keys}
            out[i] = _jitter(clip[i : i + 1], float(means[i]), **kw)[0]
        return out


# RGB → YIQ (NTSC). Hue rotation = rotating the I/Q plane; Y (and so grey) is unchanged.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_INV = np.linalg.inv(_YIQ)
_LUMA = _YIQ[0]


def jitter_matrix(
    mean: float, brightness: float, contrast: float, saturation: float, hue: float
) -> np.ndarray:
    """The 3×4 affine RGB map of brightness → contrast → saturation → hue.

    All four are linear in RGB: brightness scales, contrast blends with the (brightened) mean
    grey, saturation blends with the pixel's luma, hue rotates chroma about the grey axis in
    YIQ space (the classic linear hue rotation). Grey stays grey under saturation and hue, so
    the offset is the contrast term alone. One ``cv2.transform`` applies it with SIMD.
    """
    sat = saturation * np.eye(3) + (1.0 - saturation) * np.outer(np.ones(3), _LUMA)
    th = 2.0 * np.pi * hue
    rot = np.array([[1, 0, 0], [0, np.cos(th), -np.sin(th)], [0, np.sin(th), np.cos(th)]])
    lin = _YIQ_INV @ rot @ _YIQ @ sat * (brightness * contrast)
    offset = (1.0 - contrast) * brightness * mean
    return np.concatenate([lin, np.full((3, 1), offset)], axis=1).astype(np.float32)


def _jitter(
    clip: np.ndarray,
    mean: float,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
) -> np.ndarray:
    if brightness == 1.0 and contrast == 1.0 and saturation == 1.0 and hue == 0.0:
        return clip.copy()
    m = jitter_matrix(mean, brightness, contrast, saturation, hue)
    return cv2.transform(_tall(clip), m).reshape(clip.shape)


@register
class RandomGamma(Transform):
    """Gamma curve ``255 * (x / 255) ** gamma``; gamma > 1 darkens mid-tones."""

    frame_params: ClassVar[tuple[str, ...]] = ("gamma",)

    gamma: FloatRange(ge=0.05, le=20.0) = Field((0.8, 1.25))
    temporal: Temporal = "constant"
    period: Period = Field(8.0, description="frames between control points (smooth)")

    def is_consistent(self) -> bool:
        return self.temporal == "constant"

    def sample(self, rng, shape):
        if self.temporal == "constant":
            return {"gamma": uniform(rng, self.gamma)}
        return {"gamma": smooth_schedule(rng, shape[0], self.gamma, period=self.period)}

    def apply(self, clip, params):
        g = params["gamma"]
        if not isinstance(g, list):
            return cv2.LUT(_tall(clip), _lut(255.0 * (_ARANGE / 255.0) ** g)).reshape(clip.shape)
        out = np.empty_like(clip)
        for i, gi in enumerate(g):
            out[i] = cv2.LUT(clip[i], _lut(255.0 * (_ARANGE / 255.0) ** gi))
        return out


@register
class Grayscale(Transform):
    """Convert to grey (kept as 3 channels)."""

    def apply(self, clip, params):
        gray = cv2.cvtColor(_tall(clip), cv2.COLOR_RGB2GRAY)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB).reshape(clip.shape)


@register
class CLAHE(Transform):
    """Contrast-limited adaptive histogram equalisation on the lightness channel, per frame,
    with one clip limit for the whole clip (brings out detail in dark footage)."""

    clip_limit: FloatRange(ge=0.1, le=100.0) = Field((1.0, 4.0))
    tile_grid_size: IntRange(ge=1, le=64) = Field((8, 8), description="[rows, cols] of tiles")

    def sample(self, rng, shape):
        return {"clip_limit": uniform(rng, self.clip_limit)}

    def apply(self, clip, params):
        ty, tx = self.tile_grid_size
        clahe = cv2.createCLAHE(clipLimit=params["clip_limit"], tileGridSize=(tx, ty))
        out = np.empty_like(clip)
        for i in range(clip.shape[0]):
            lab = cv2.cvtColor(clip[i], cv2.COLOR_RGB2LAB)
            lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
            out[i] = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        return out


def _noisy_frames(src: np.ndarray, dst: np.ndarray, params, sigma: float) -> np.ndarray:
    """``dst[j]`` = frame ``j`` of ``src`` with its own noise, drawn from ``noise_seed`` and the
    frame's index in the clip (``params["_frames"]`` for a chunk), so a streamed clip gets the
    same noise as one augmented whole."""
    for j, i in enumerate(params.get("_frames", range(src.shape[0]))):
        dst[j] = _add_noise(src[j], params["noise_seed"], i, sigma)
    return dst


def _add_noise(frame: np.ndarray, seed: int, index: int, sigma: float) -> np.ndarray:
    """``frame`` plus Gaussian noise drawn from ``(seed, index)``: each frame's noise is its
    own, whatever frames are processed with it (chunks, any order)."""
    rng = np.random.default_rng([seed, int(index)])
    noise = rng.standard_normal(frame.shape, dtype=np.float32)
    noise *= sigma
    noise += frame
    return np.clip(noise, 0, 255, out=noise).astype(np.uint8)


@register
class LowLight(Transform):
    """Night / dark-scene simulation for surveillance: darken (a gain and a gamma, the same for
    the whole clip), tint slightly blue, then add sensor noise that differs every frame."""

    consistent: ClassVar[bool] = False
    brightness: FloatRange(ge=0.01, le=1.0) = Field((0.25, 0.6), description="gain kept")
    gamma: FloatRange(ge=0.5, le=5.0) = Field((1.0, 1.8), description="mid-tone darkening")
    noise: FloatRange(ge=0.0, le=50.0) = Field((2.0, 8.0), description="noise sigma, 0–255")
    blue_tint: FloatRange(ge=0.0, le=0.5) = Field((0.0, 0.1), description="red/green cut")

    def sample(self, rng, shape):
        return {
            "brightness": uniform(rng, self.brightness),
            "gamma": uniform(rng, self.gamma),
            "noise": uniform(rng, self.noise),
            "blue_tint": uniform(rng, self.blue_tint),
            "noise_seed": int(rng.integers(2**31)),
        }

    def apply(self, clip, params):
        dark = params["brightness"] * 255.0 * (_ARANGE / 255.0) ** params["gamma"]
        tint = 1.0 - params["blue_tint"]
        lut = np.stack([_lut(dark * tint), _lut(dark * tint), _lut(dark)], -1).reshape(256, 1, 3)
        out = cv2.LUT(_tall(clip), lut).reshape(clip.shape)
        if params["noise"] > 0:
            _noisy_frames(out, out, params, params["noise"])
        return out

    def apply_chunk(self, chunk, params, frames, shape):
        return self.apply(chunk, {**params, "_frames": frames})


@register
class SensorNoise(Transform):
    """Gaussian sensor noise, drawn independently for every frame (as a real sensor does)."""

    consistent: ClassVar[bool] = False
    sigma: FloatRange(ge=0.0, le=100.0) = Field((2.0, 10.0), description="std dev, 0–255 scale")

    def sample(self, rng, shape):
        return {"sigma": uniform(rng, self.sigma), "noise_seed": int(rng.integers(2**31))}

    def apply(self, clip, params):
        return _noisy_frames(clip, np.empty_like(clip), params, params["sigma"])

    def apply_chunk(self, chunk, params, frames, shape):
        return self.apply(chunk, {**params, "_frames": frames})


@register
class GaussianBlur(Transform):
    """Gaussian blur with one sigma for the whole clip (defocus)."""

    sigma: FloatRange(ge=0.0, le=50.0) = Field((0.1, 2.0))

    def sample(self, rng, shape):
        return {"sigma": uniform(rng, self.sigma)}

    def apply(self, clip, params):
        s = params["sigma"]
        if s <= 0:
            return clip.copy()
        k = 2 * int(math.ceil(3 * s)) + 1
        out = np.empty_like(clip)
        for i in range(clip.shape[0]):
            cv2.GaussianBlur(clip[i], (k, k), s, dst=out[i], borderType=cv2.BORDER_REFLECT_101)
        return out


@register
class MotionBlur(Transform):
    """Linear motion blur: a line kernel of random length and angle, the same for every frame."""

    kernel_size: IntRange(ge=3, le=99) = Field((3, 9), description="line length in pixels")
    angle: FloatRange(ge=-360, le=360) = Field((0.0, 180.0), description="degrees")

    def sample(self, rng, shape):
        lo, hi = self.kernel_size
        return {"kernel_size": int(rng.integers(lo, hi + 1)), "angle": uniform(rng, self.angle)}

    def apply(self, clip, params):
        k = params["kernel_size"] | 1  # odd, so the kernel has a centre
        kernel = np.zeros((k, k), dtype=np.float32)
        kernel[k // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D(((k - 1) / 2.0, (k - 1) / 2.0), params["angle"], 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        kernel /= max(float(kernel.sum()), 1e-6)
        out = np.empty_like(clip)
        for i in range(clip.shape[0]):
            cv2.filter2D(clip[i], -1, kernel, dst=out[i], borderType=cv2.BORDER_REFLECT_101)
        return out


@register
class Compression(Transform):
    """JPEG compression artefacts at one random quality for the whole clip."""

    quality: IntRange(ge=1, le=100) = Field((20, 60), description="JPEG quality")

    def sample(self, rng, shape):
        lo, hi = self.quality
        return {"quality": int(rng.integers(lo, hi + 1))}

    def apply(self, clip, params):
        flags = [cv2.IMWRITE_JPEG_QUALITY, params["quality"]]
        out = np.empty_like(clip)
        for i in range(clip.shape[0]):
            # JPEG's YCbCr conversion expects OpenCV's BGR order
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(clip[i], cv2.COLOR_RGB2BGR), flags)
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            out[i] = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return out
