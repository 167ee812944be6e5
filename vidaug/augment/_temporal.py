"""Temporal transforms: crop in time, stride, speed, reverse, frame drop / duplicate, jitter.

Each one is an index map (output frame → source frame), so no pixel is ever changed and boxes
follow their frames exactly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from vidaug.augment._core import TemporalTransform, register
from vidaug.augment._schedule import uniform
from vidaug.augment._types import MAX_FRAMES, FloatRange, IntRange

__all__ = [
    "FrameDrop",
    "FrameDuplicate",
    "FrameStride",
    "Reverse",
    "Speed",
    "TemporalCrop",
    "TemporalJitter",
    "TemporalWindow",
    "pad_indices",
]

PadPolicy = Literal["repeat", "loop", "reflect", "zeros"]


def pad_indices(t: int, length: int, policy: str) -> np.ndarray:
    """Indices of ``length`` frames from a clip of ``t < length`` frames under a padding policy:
    ``repeat`` the last frame, ``loop`` from the start, ``reflect`` back and forth (ping-pong) or
    ``zeros`` (black frames, index -1)."""
    base = np.arange(t)
    extra = np.arange(t, length)
    if policy == "repeat":
        tail = np.full(len(extra), t - 1)
    elif policy == "loop":
        tail = extra % t
    elif policy == "reflect":
        if t == 1:
            tail = np.zeros(len(extra), dtype=np.int64)
        else:
            period = 2 * (t - 1)
            k = extra % period
            tail = np.where(k < t, k, period - k)
    else:
        tail = np.full(len(extra), -1)
    return np.concatenate([base, tail]).astype(np.int64)


@register
class TemporalCrop(TemporalTransform):
    """Keep ``length`` consecutive frames (random or centred start). Clips shorter than
    ``length`` are padded by ``pad``: repeat the last frame, loop, reflect or black frames."""

    length: int = Field(16, ge=1, le=MAX_FRAMES, description="output frames")
    mode: Literal["random", "center"] = "random"
    pad: PadPolicy = "repeat"

    def sample(self, rng, shape):
        t = shape[0]
        if t <= self.length:
            return {"start": 0}
        if self.mode == "center":
            return {"start": (t - self.length) // 2}
        return {"start": int(rng.integers(0, t - self.length + 1))}

    def indices(self, params, t):
        if t < self.length:
            return pad_indices(t, self.length, self.pad)
        return np.arange(params["start"], params["start"] + self.length)


@register
class TemporalWindow(TemporalTransform):
    """Keep a random contiguous window of ``scale`` × the clip's length (another moment of the
    same action). Unlike :class:`Speed` or :class:`TemporalJitter`, frames stay consecutive,
    so the motion between two frames is untouched: the augmentation for motion models."""

    scale: FloatRange(ge=0.01, le=1.0) = Field(
        (0.6, 1.0), description="window length as a share of the clip"
    )

    def sample(self, rng, shape):
        t = shape[0]
        length = min(t, max(1, int(round(uniform(rng, self.scale) * t))))
        return {"start": int(rng.integers(0, t - length + 1)), "length": length}

    def indices(self, params, t):
        length = max(1, min(int(params["length"]), t))
        start = min(int(params["start"]), t - length)
        return np.arange(start, start + length, dtype=np.int64)


@register
class FrameStride(TemporalTransform):
    """Keep every ``stride``-th frame (stride drawn per clip), from a random offset."""

    stride: IntRange(ge=1, le=64) = Field((1, 2), description="[low, high] stride")
    random_offset: bool = True

    def sample(self, rng, shape):
        lo, hi = self.stride
        s = int(rng.integers(lo, hi + 1))
        off = int(rng.integers(0, min(s, shape[0]))) if self.random_offset else 0
        return {"stride": s, "offset": off}

    def indices(self, params, t):
        return np.arange(params["offset"], t, params["stride"])


@register
class Speed(TemporalTransform):
    """Play faster (rate > 1, fewer frames) or slower (rate < 1, frames repeated) by resampling
    frame indices at one random rate; the output has ``round(T / rate)`` frames."""

    rate: FloatRange(ge=0.05, le=20.0) = Field((0.8, 1.25), description="speed factor")

    def sample(self, rng, shape):
        return {"rate": uniform(rng, self.rate)}

    def indices(self, params, t):
        n = max(1, int(round(t / params["rate"])))
        return np.minimum(np.floor(np.arange(n) * params["rate"]).astype(np.int64), t - 1)


@register
class Reverse(TemporalTransform):
    """Play the clip backwards (every frame kept)."""

    def indices(self, params, t):
        return np.arange(t - 1, -1, -1)


@register
class FrameDrop(TemporalTransform):
    """Simulated lag: drop a random share of frames. With ``keep_length`` the last shown frame
    freezes in place of each dropped one (what a stalling camera stream looks like); without it
    dropped frames are removed. The first frame is never dropped."""

    rate: FloatRange(ge=0.0, le=0.9) = Field((0.0, 0.15), description="share of frames dropped")
    keep_length: bool = True

    def sample(self, rng, shape):
        t = shape[0]
        r = uniform(rng, self.rate)
        drop = rng.random(t) < r
        drop[0] = False
        return {"dropped": [int(i) for i in np.flatnonzero(drop)]}

    def indices(self, params, t):
        keep = np.ones(t, dtype=bool)
        keep[[i for i in params["dropped"] if i < t]] = False
        if not self.keep_length:
            return np.flatnonzero(keep)
        # each frame shows the latest kept frame at or before it
        return np.maximum.accumulate(np.where(keep, np.arange(t), 0))


@register
class FrameDuplicate(TemporalTransform):
    """Stutter: repeat random frames 1–``max_repeat`` extra times. With ``keep_length`` the clip
    is cut back to its original length."""

    rate: FloatRange(ge=0.0, le=1.0) = Field((0.0, 0.15), description="share of frames repeated")
    max_repeat: int = Field(2, ge=1, le=16)
    keep_length: bool = True

    def sample(self, rng, shape):
        t = shape[0]
        r = uniform(rng, self.rate)
        hit = rng.random(t) < r
        reps = rng.integers(1, self.max_repeat + 1, size=t)
        return {"repeats": [int(x) for x in np.where(hit, reps, 0)]}

    def indices(self, params, t):
        reps = np.asarray(params["repeats"][:t], dtype=np.int64)
        reps = np.pad(reps, (0, t - len(reps)))
        idx = np.repeat(np.arange(t), 1 + reps)
        return idx[:t] if self.keep_length else idx


@register
class TemporalJitter(TemporalTransform):
    """Jitter the sampling time of every frame by up to ``max_shift`` frames, keeping the order
    (a camera with an irregular frame clock)."""

    max_shift: int = Field(1, ge=0, le=16)

    def sample(self, rng, shape):
        j = self.max_shift
        return {"shifts": [int(x) for x in rng.integers(-j, j + 1, size=shape[0])]}

    def indices(self, params, t):
        shifts = np.asarray(params["shifts"][:t], dtype=np.int64)
        shifts = np.pad(shifts, (0, t - len(shifts)))
        return np.sort(np.clip(np.arange(t) + shifts, 0, t - 1))
