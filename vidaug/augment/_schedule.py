"""Smooth per-frame schedules for transforms that vary over time on purpose.

A schedule is drawn once per clip in ``sample`` (a few random control points spread over the
clip) and interpolated to every frame with cosine easing, so values change smoothly, never
overshoot the allowed range and hold still at the control points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["interpolate_schedule", "smooth_schedule", "uniform"]


def uniform(rng: np.random.Generator, low_high: tuple[float, float]) -> float:
    """One value uniform in ``[low, high]`` as a Python float (JSON-friendly)."""
    lo, hi = low_high
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def interpolate_schedule(points: np.ndarray | list[float], t: int) -> np.ndarray:
    """Cosine-interpolate control ``points`` (evenly spread over the clip) to ``t`` frames."""
    pts = np.asarray(points, dtype=np.float64)
    if t <= 0:
        return np.zeros(0)
    if len(pts) == 1 or t == 1:
        return np.full(t, pts[0])
    pos = np.linspace(0.0, len(pts) - 1.0, t)
    i0 = np.minimum(np.floor(pos).astype(np.int64), len(pts) - 2)
    frac = pos - i0
    w = (1.0 - np.cos(np.pi * frac)) / 2.0
    return pts[i0] * (1.0 - w) + pts[i0 + 1] * w


def smooth_schedule(
    rng: np.random.Generator,
    t: int,
    low_high: tuple[float, float],
    *,
    period: float = 8.0,
    min_points: int = 2,
) -> list[float]:
    """A smooth per-frame schedule with values in ``[low, high]``.

    Args:
        rng: the clip's generator.
        t: number of frames.
        low_high: the allowed range.
        period: frames between control points (smaller = faster changes).
        min_points: at least this many control points.

    Returns:
        ``t`` floats (a list, so it can go into a JSON params record).
    """
    n = max(min_points, int(np.ceil(max(t - 1, 1) / max(period, 1.0))) + 1)
    lo, hi = low_high
    pts = rng.uniform(lo, hi, size=n) if hi > lo else np.full(n, float(lo))
    return [float(v) for v in interpolate_schedule(pts, t)]
