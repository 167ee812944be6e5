"""Which frames of a clip to use: the one frame-sampling function of vidaug (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["frame_indices"]


def frame_indices(
    n: int,
    k: int | None = 8,
    *,
    spread: Literal["centres", "ends"] = "centres",
    repeat: bool = False,
    fps: float | None = None,
    source_fps: float = 30.0,
) -> np.ndarray:
    """Indices of the frames to use out of ``n``, ascending, int64.

    Args:
        n: frames in the clip (0 gives none).
        k: how many (default 8).
        spread: ``centres``: the centres of ``k`` equal segments (what a model samples: no
            frame near the ends is favoured); ``ends``: evenly from the first frame to the
            last, both included (what a preview shows; one frame: the middle one).
        repeat: with ``k > n``, repeat frames so there are exactly ``k`` (a model's fixed
            input); otherwise at most ``n`` distinct frames.
        fps: instead of ``k``, one frame every ``1 / fps`` seconds of a ``source_fps`` clip
            (at most every frame).
        source_fps: the clip's frame rate (with ``fps``).

    Raises:
        ValueError: ``n < 0`` or ``k < 1``.
    """
    if n < 0 or (k is not None and k < 1 and fps is None):
        raise ValueError(f"need n ≥ 0 and k ≥ 1, got {n}, {k}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if fps is not None:
        step = max(source_fps / fps, 1.0)
        return np.unique(np.minimum(np.round(np.arange(0, n, step)).astype(np.int64), n - 1))
    k = int(k or 8)
    if not repeat:
        k = min(k, n)
    if spread == "ends":
        if k == 1:
            return np.array([n // 2], dtype=np.int64)
        return np.round(np.arange(k) * (n - 1) / (k - 1)).astype(np.int64)
    return np.minimum(((np.arange(k) + 0.5) * n / k).astype(np.int64), n - 1)
