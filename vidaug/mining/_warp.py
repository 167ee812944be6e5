"""Warped evidence: pixel motion that matches once a crop, a rotation or a mirror is undone.

A copy cropped to 60-75 % of the picture, rotated a few degrees or mirrored and cropped shows
the same moment as its source, but a static camera's other moments look just as much alike to
MobileNetV2 (clip cosines 0.81-0.91 for such copies the other evidence missed on the issue 23
calibration set; other moments of one camera reach 0.88 and beyond), and the motion signature
of a near-static scene is mostly noise. What the copy keeps is *where and when the picture
changes*, seen through the edit: the gray thumbnails the index already stores
(:mod:`vidaug.mining._gray`, 16 × 16 pixels of each sampled frame, no model pass) of the source,
warped by the right crop / rotation / mirror, change as the copy's do.

For a candidate pair (clip cosine at least :attr:`~vidaug.mining.DedupConfig.warp_clip_floor`,
not already a duplicate by other evidence), :func:`warped_pairs`:

1. **Search** the warps (:func:`warp_bank`: axis-aligned crops keeping 70-94 % of each side at
   positions a sixteenth of the frame apart, the same mirrored, and rotations by 5-10° either
   way zoomed so that no corner shows: 344 warps), each clip of the pair warped in turn (the
   other is the copy): the cosine between the copy's pixel motion (each thumbnail minus its
   brightness, resampled to 8 time steps, minus the mean over time) and the warped source's.
   Each warp is a sparse bilinear map of the 256 thumbnail pixels, so a clip's 344 warped
   signatures cost one sparse product.
2. **Verify** the best warp robustly: the cosine again with the :data:`DROP_BLOCKS` 4 × 4-pixel
   blocks (of 16) that contribute most to it left out. A burned-in clock changes every frame in
   every clip of one camera, always in the same corner: it makes two moments of one camera
   agree in a block or two. Measured on the 2502 calibration clips, over the 59 075 pairs with
   a clip cosine ≥ 0.8 that the other evidence leaves apart (50 748 of them two moments of one
   camera): the search alone put about 180 such pairs at 0.60 or more, 173 of them between two
   clips of a camera whose clock runs in a corner. Left out two blocks, the clock's pairs still
   reached 0.58 (other cameras' 0.46), so a threshold chosen on cameras without a clock let
   them in (322 false pairs held out at 0.475); left out three, 0.45 and 0.42; left out four
   (the default), the clock's pairs reach 0.30, other cameras' 0.39 (other scenes 0.25), while
   115 of the 157 original ↔ crop, 60 % crop, rotated and mirror + crop copies there reach 0.40
   (121 and 93 of them at 0.45 and 0.60 with three blocks left out). About 0.7-0.9 ms a pair
   on 2 cores.

The verified cosine is ``warp_sim``; ``warp_sim ≥ warp_threshold`` makes the pair a duplicate
(evidence ``warped``, relation ``copy_of``). Indexes without thumbnails have no such evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from vidaug.mining._gray import THUMB_SIDE, decode_thumbnails
from vidaug.mining._vectors import resample_steps

__all__ = ["DROP_BLOCKS", "WARP_ANGLES", "WARP_SCALES", "clip_aspects", "pixel_agreement",
           "pixel_motion", "robust_pairs", "warp_bank", "warped_pairs"]  # fmt: skip

#: Shares of each side the crop warps keep (width and height independently).
WARP_SCALES = (0.70, 0.78, 0.86, 0.94)
#: Step of the crop warps' positions, as a share of the side (one thumbnail pixel).
WARP_STEP = 1 / THUMB_SIDE
#: Rotation warps (degrees, each either way), zoomed so the rotated picture fills the frame.
WARP_ANGLES = (5.0, 7.5, 10.0)
#: Side of the blocks of the robust check, in thumbnail pixels (4 × 4 blocks of 4 × 4 pixels).
BLOCK = 4
#: Blocks left out of the robust check: those contributing most to the best warp's cosine.
DROP_BLOCKS = 4
_PIX = THUMB_SIDE * THUMB_SIDE


def _bilinear(mapping) -> sp.csr_matrix:
    """The ``(256, 256)`` sparse map from a thumbnail's pixels to a warped one's: output pixel
    centres (shares of the frame) go through ``mapping`` to source shares, read bilinearly
    (clamped at the edges)."""
    c = (np.arange(THUMB_SIDE) + 0.5) / THUMB_SIDE
    u, v = np.meshgrid(c, c)
    x, y = mapping(u.ravel(), v.ravel())
    px = np.clip(x * THUMB_SIDE - 0.5, 0, THUMB_SIDE - 1)
    py = np.clip(y * THUMB_SIDE - 0.5, 0, THUMB_SIDE - 1)
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, THUMB_SIDE - 1), np.minimum(y0 + 1, THUMB_SIDE - 1)
    wx, wy = px - x0, py - y0
    rows = np.tile(np.arange(_PIX), 4)
    cols = np.concatenate([y0 * THUMB_SIDE + x0, y0 * THUMB_SIDE + x1,
                           y1 * THUMB_SIDE + x0, y1 * THUMB_SIDE + x1])  # fmt: skip
    w = np.concatenate([(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy])
    return sp.csr_matrix((w.astype(np.float32), (rows, cols)), shape=(_PIX, _PIX))


def _crop(sx: float, sy: float, x0: float, y0: float, mirror: bool):
    def mapping(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x0 + sx * (1 - u if mirror else u), y0 + sy * v

    return mapping


def _rotation(degrees: float, aspect: float):
    a = math.radians(degrees)
    zoom = math.cos(abs(a)) + max(aspect, 1 / aspect) * math.sin(abs(a))

    def mapping(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = (u - 0.5) * aspect, v - 0.5  # pixels of a frame 1 high, centred
        xs = (math.cos(a) * x - math.sin(a) * y) / zoom
        ys = (math.sin(a) * x + math.cos(a) * y) / zoom
        return xs / aspect + 0.5, ys + 0.5

    return mapping


@lru_cache(maxsize=1)
def _crop_bank() -> tuple[sp.csr_matrix, tuple[str, ...]]:
    maps, names = [], []
    for mirror in (False, True):
        for sx in WARP_SCALES:
            for sy in WARP_SCALES:
                for x0 in np.arange(0, 1 - sx + 1e-9, WARP_STEP):
                    for y0 in np.arange(0, 1 - sy + 1e-9, WARP_STEP):
                        maps.append(_bilinear(_crop(sx, sy, float(x0), float(y0), mirror)))
                        names.append(f"{'mirror+' if mirror else ''}crop {sx:.2f}×{sy:.2f} "
                                     f"at {x0:.2f},{y0:.2f}")  # fmt: skip
    return sp.vstack(maps, format="csr"), tuple(names)


@lru_cache(maxsize=64)
def warp_bank(aspect: float = 16 / 9) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """All warps of a source whose picture is ``aspect`` (width / height; rotations depend on
    it) wide: ``(W · 256, 256)`` sparse rows, warp by warp, and a name for each warp."""
    crops, names = _crop_bank()
    rot = [(_rotation(s * a, aspect), f"rotate {s * a:+.1f}°")
           for a in WARP_ANGLES for s in (-1, 1)]  # fmt: skip
    bank = sp.vstack([crops, *(_bilinear(m) for m, _ in rot)], format="csr")
    return bank, names + tuple(n for _, n in rot)


def pixel_motion(clips: Sequence[Mapping[str, Any]], steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(residuals, has)``: each clip's thumbnails resampled to ``steps`` evenly spaced times,
    minus their mean over time, ``(N, steps, 256)`` float32 (not yet centred per frame nor
    normalised: warps act on them first); ``has`` flags clips with at least 2 thumbnails that
    change."""
    out = np.zeros((len(clips), steps, _PIX), np.float32)
    has = np.zeros(len(clips), bool)
    for i, c in enumerate(clips):
        x = decode_thumbnails(c)
        if x is None or len(x) < 2:
            continue
        z = resample_steps(x, steps)
        z -= z.mean(axis=0)
        if float(np.abs(z - z.mean(axis=1, keepdims=True)).max()) > 1e-3:
            out[i], has[i] = z, True
    return out, has


def _centred(z: np.ndarray) -> np.ndarray:
    """Each frame minus its brightness (the last axis' mean)."""
    return z - z.mean(axis=-1, keepdims=True)


def _unit(z: np.ndarray) -> np.ndarray:
    flat = z.reshape(*z.shape[:-2], -1)
    return z / np.maximum(np.linalg.norm(flat, axis=-1), 1e-9)[..., None, None]


_BLOCK_OF = (np.arange(_PIX) // THUMB_SIDE // BLOCK) * (THUMB_SIDE // BLOCK) + (
    np.arange(_PIX) % THUMB_SIDE
) // BLOCK


def _robust(x: np.ndarray, y: np.ndarray, drop: int = DROP_BLOCKS) -> float:
    """Cosine of ``(steps, 256)`` centred signals ``x`` and ``y`` without the ``drop`` blocks
    contributing most to it."""
    nb = (THUMB_SIDE // BLOCK) ** 2
    part = np.bincount(_BLOCK_OF, weights=(x * y).sum(axis=0), minlength=nb)
    keep = np.ones(nb, bool)
    keep[np.argsort(-part)[:drop]] = False
    px = keep[_BLOCK_OF]
    xs, ys = x[:, px], y[:, px]
    den = float(np.linalg.norm(xs) * np.linalg.norm(ys))
    return float((xs * ys).sum() / den) if den > 0 else 0.0


def _pair_rows(
    clips: Sequence[Mapping[str, Any]], lo: np.ndarray, hi: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pixel motion (:func:`pixel_motion`) of the clips of the pairs ``(lo[i], hi[i])``
    only, read once: ``(need, res, a, b, ok)``, ``need`` the clips read (sorted), ``a`` /
    ``b`` each pair's rows of ``res`` and ``ok`` the pairs whose clips both have pixel
    motion."""
    need = np.union1d(lo, hi).astype(np.int64)
    res, has = pixel_motion([clips[i] for i in need], steps)
    a, b = np.searchsorted(need, lo), np.searchsorted(need, hi)
    return need, res, a, b, np.flatnonzero(has[a] & has[b])


def _best_warp(
    clips: Sequence[Mapping[str, Any]],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    pick: np.ndarray,
    steps: int,
    drop: int,
) -> np.ndarray:
    """For the pairs ``pick`` (indices into ``ok`` of :func:`_pair_rows`' ``rows``): the robust
    cosine (:func:`_robust`, ``drop`` blocks left out) at the best warp (:func:`warp_bank`) of
    either clip against the other."""
    need, res, a, b, _ = rows
    sim = np.zeros(len(pick))
    if not len(pick):
        return sim
    centred = _centred(res)  # the other clip of a pair, as it is
    unit = _unit(centred)
    # every pair both ways (one clip warped, the other as it is), grouped by the warped clip
    src, dst = np.concatenate([a[pick], b[pick]]), np.concatenate([b[pick], a[pick]])
    pair = np.tile(np.arange(len(pick)), 2)
    order = np.argsort(src, kind="stable")
    for run in np.split(order, np.flatnonzero(np.diff(src[order])) + 1):
        s = int(src[run[0]])
        bank, _ = warp_bank(_aspect_key(clip_aspects([clips[int(need[s])]])[0]))
        warped = _centred((bank @ res[s].T).T.reshape(steps, -1, _PIX).transpose(1, 0, 2))
        cos = unit[dst[run]].reshape(len(run), -1) @ _unit(warped).reshape(len(warped), -1).T
        for r, k in zip(run, cos.argmax(axis=1), strict=True):
            sim[pair[r]] = max(sim[pair[r]], _robust(warped[k], centred[dst[r]], drop))
    return sim


def warped_pairs(
    clips: Sequence[Mapping[str, Any]], lo: np.ndarray, hi: np.ndarray, steps: int
) -> np.ndarray:
    """``warp_sim`` of each pair ``(lo[i], hi[i])`` of clip-table entries ``clips``: the robust
    cosine (:func:`_robust`, :data:`DROP_BLOCKS` left out) at the best warp
    (:func:`warp_bank`) of either clip against the other, from their pixel motion at
    ``steps`` time steps (:func:`pixel_motion`, read for the pairs' clips only); 0 where a
    clip has no pixel motion."""
    sim = np.zeros(len(lo))
    if len(lo):
        rows = _pair_rows(clips, lo, hi, steps)
        ok = rows[4]
        sim[ok] = _best_warp(clips, rows, ok, steps, DROP_BLOCKS)
    return sim


def robust_pairs(
    clips: Sequence[Mapping[str, Any]], lo: np.ndarray, hi: np.ndarray, steps: int, drop: int
) -> np.ndarray:
    """The cosine of each pair's pixel motion as it is (no warp) without the ``drop`` blocks
    that agree most (:func:`_robust`); 0 where a clip has no pixel motion."""
    sim = np.zeros(len(lo))
    if len(lo):
        _, res, a, b, ok = _pair_rows(clips, lo, hi, steps)
        centred = _centred(res)
        for k in ok:
            sim[k] = _robust(centred[a[k]], centred[b[k]], drop)
    return sim


def pixel_agreement(
    clips: Sequence[Mapping[str, Any]], lo: np.ndarray, hi: np.ndarray, steps: int, floor: float
) -> np.ndarray:
    """How well the pixels of each pair ``(lo[i], hi[i])`` change together: the cosine of the
    clips' pixel motion as they are, or, where that is below ``floor``, the larger of it and
    the cosine at the best warp (no block left out); NaN where a clip has no pixel motion
    (nothing to tell). A copy moves as its source does (through its crop, rotation or
    mirror); two moments of one camera whose embeddings happen to change alike need not."""
    sim = np.full(len(lo), np.nan)
    if not len(lo):
        return sim
    rows = _pair_rows(clips, lo, hi, steps)
    _, res, a, b, ok = rows
    unit = _unit(_centred(res)).reshape(len(res), -1)
    sim[ok] = np.einsum("pd,pd->p", unit[a[ok]], unit[b[ok]])
    low = ok[sim[ok] < floor]
    sim[low] = np.maximum(sim[low], _best_warp(clips, rows, low, steps, 0))
    return sim


def clip_aspects(clips: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Each clip's picture aspect (width / height inside its black bars, from the clip table's
    ``width``, ``height`` and ``content_box``); 16 / 9 where the table does not say."""
    out = np.full(len(clips), 16 / 9)
    for i, c in enumerate(clips):
        w, h, box = c.get("width"), c.get("height"), c.get("content_box") or [0, 1, 0, 1]
        try:
            a = float(w) * (box[3] - box[2]) / (float(h) * (box[1] - box[0]))
        except (TypeError, ValueError, IndexError, ZeroDivisionError):
            continue
        if np.isfinite(a) and a > 0:
            out[i] = a
    return out


def _aspect_key(aspect: float) -> float:
    """An aspect of :func:`clip_aspects` (finite, positive) rounded to a twentieth within
    [0.25, 4] (rotation banks are cached by aspect)."""
    return round(min(max(float(aspect), 0.25), 4.0) * 20) / 20
