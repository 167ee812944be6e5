"""Grayscale evidence: tiny gray thumbnails of each clip's sampled frames, and how they change.

A grayscale copy (colour dropped, often shrunk and heavily recompressed too) embeds far from its
colour original: MobileNetV2 sees colour, and JPEG blocks at a third of the size. The issue 23
calibration found 16 % of such copies (22 of 139). What survives loss of colour and detail is the
coarse picture and how it changes: the embedding step keeps, for every clip, gray thumbnails of
:data:`THUMB_SIDE` × :data:`THUMB_SIDE` pixels of its sampled frames as the model gets them
(black bars cropped, at the model's input size; at most :data:`THUMB_FRAMES`, spread over
them; :func:`encode_thumbnails`: 342 bytes of the clip table a frame, well under a
millisecond a clip, no model pass), and :func:`~vidaug.mining.find_duplicates` compares their
*pixel motion signatures* (:func:`thumbnail_signatures`: each thumbnail minus its mean
brightness, resampled to the motion evidence's time steps, minus their mean over time, flattened,
normalised) for pairs where one clip is grayscale (:func:`gray_clips`).

Why pixels and not a grayscale embedding: measured on the 648 clips of the calibration cache
(36 originals, 17 copy kinds), MobileNetV2 embeddings of grayscale frames of both sides (112 or
224 px, 2 or 8 frames, clip means or per-frame minima) put 32-44 % of the original ↔ gray copy
pairs above the best false pair (other moments of the same camera reach 0.90-0.97: a static
camera's scene is what the model sees), no better than the colour embeddings (40 %); the pixel
motion signature of 16-pixel thumbnails put all 36 above it (originals ↔ gray copies 0.88-1.0,
34 of them ≥ 0.95; other moments of the same camera at most 0.20, other clips 0.29, a
picture-in-picture composite ↔ the gray copy of its background 0.80, which the regional
evidence sets apart when it finds the inset). The mean over time (the static scene) is what it
removes; what is left is where the picture changes, which grayscale, JPEG and resizing keep.
Crops, flips and rotations do not keep it (other evidence finds those): the signature is
only compared when one side is grayscale. On all 2502 calibration clips: originals ↔ gray
copies 0.68-1.0 (median 0.99, 138 of 139 ≥ 0.725), the best false pair between two clips of
one camera 0.68, composites ↔ the gray copy of their background up to 0.98. That camera's two
moments agree in a corner or two of the picture, a copy everywhere:
:func:`~vidaug.mining.find_duplicates` counts the cosine without the 2 blocks (of 16, 4 × 4
pixels each) that agree most
(:data:`~vidaug.mining._dedup.GRAY_DROP_BLOCKS`, :func:`~vidaug.mining._warp.robust_pairs`),
which puts that pair at 0.33 and keeps 1569 of the true pairs with a gray clip at 0.5 or more.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from vidaug.mining._vectors import _pair_codes, sequence_signature

__all__ = [
    "COLOUR",
    "THUMB_FRAMES",
    "THUMB_SIDE",
    "decode_thumbnails",
    "encode_thumbnails",
    "gray_candidates",
    "gray_clips",
    "thumbnail_signatures",
]

#: Thumbnail side in pixels (16 × 16: 256 bytes a frame).
THUMB_SIDE = 16
#: Most thumbnails a clip keeps (spread over its sampled frames): an index sampled at a frame
#: rate keeps its clip table small; the signature resamples to 8 time steps anyway.
THUMB_FRAMES = 16
#: Colourfulness (:func:`~vidaug.mining._embed.chroma`, 0-510) above which a clip is in colour.
#: Measured on the 648 clips of the calibration cache: grayscale JPEG copies 0-0.9, the
#: grayscale originals of ../shared/data 0.04-2.3, the least colourful colour clip 3.2.
COLOUR = 3.0
#: A clip whose thumbnails barely change (residual norm below this share of theirs) has no
#: signature.
_STATIC = 1e-3


def encode_thumbnails(frames: np.ndarray) -> str:
    """Gray :data:`THUMB_SIDE`-pixel thumbnails of ``(T, H, W, 3)`` RGB frames (at most
    :data:`THUMB_FRAMES`, spread evenly), as the clip table stores them: base64 of the
    ``(t, side, side)`` uint8 array."""
    t = len(frames)
    at = np.unique(np.round(np.linspace(0, t - 1, min(t, THUMB_FRAMES))).astype(np.int64))
    side = (THUMB_SIDE, THUMB_SIDE)
    gray = [cv2.cvtColor(cv2.resize(frames[i], side, interpolation=cv2.INTER_AREA),
                         cv2.COLOR_RGB2GRAY) for i in at]  # fmt: skip
    return base64.b64encode(np.stack(gray).astype(np.uint8).tobytes()).decode("ascii")


def decode_thumbnails(clip: Mapping[str, Any]) -> np.ndarray | None:
    """A clip table entry's thumbnails as ``(t, side²)`` float32, or None when it has none
    (an index embedded before they existed) or they cannot be read."""
    text = clip.get("thumbs")
    if not isinstance(text, str) or not text:
        return None
    try:
        raw = np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
    except ValueError:
        return None
    size = THUMB_SIDE * THUMB_SIDE
    if not len(raw) or len(raw) % size:
        return None
    return raw.reshape(-1, size).astype(np.float32)


def thumbnail_signatures(clips: Sequence[Mapping[str, Any]], steps: int) -> np.ndarray:
    """Pixel motion signatures of the clips (see the module docstring): ``(N, steps × side²)``
    float32, L2-normalised; zero rows for clips without thumbnails, with fewer than 2, or
    whose thumbnails do not change."""
    out = np.zeros((len(clips), steps * THUMB_SIDE * THUMB_SIDE), np.float32)
    for i, c in enumerate(clips):
        x = decode_thumbnails(c)
        if x is None:
            continue
        x = x - x.mean(axis=1, keepdims=True)  # each frame's brightness: a brightened copy
        got = sequence_signature(x, None, steps, _STATIC)
        if got is not None:
            out[i] = got
    return out


def gray_clips(clips: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(N,)`` bool: clips whose ``chroma`` is known and at most :data:`COLOUR`."""
    out = np.zeros(len(clips), bool)
    for i, c in enumerate(clips):
        v = c.get("chroma")
        out[i] = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= COLOUR
    return out


def gray_candidates(sig: np.ndarray, gray: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Codes (``a · N + b``, see :func:`~vidaug.mining._vectors._pair_codes`) of each grayscale
    clip's ``k`` nearest clips by pixel motion signature (exact products; clips without a
    signature take no part)."""
    n = len(sig)
    has = np.flatnonzero(np.abs(sig).sum(axis=1) > 0)
    queries = has[gray[has]]
    if not len(queries) or len(has) < 2:
        return np.zeros(0, np.int64)
    kc = min(len(has), k + 1)
    out = []
    for lo in range(0, len(queries), chunk):
        q = queries[lo : lo + chunk]
        sims = sig[q] @ sig[has].T
        top = np.argpartition(-sims, kc - 1, axis=1)[:, :kc]
        out.append(_pair_codes(np.repeat(q, kc), has[top.ravel()], n))
    return np.concatenate(out)
