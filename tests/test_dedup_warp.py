"""Warped evidence (issue 23 §2): a cropped, rotated or mirrored copy of a near-static camera is
found by its gray thumbnails' pixel motion under the best warp of its source; another moment
of the same camera is not, even when a burned-in clock changes alike in both."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from vidaug.mining import DEFAULT_DEDUP, DedupConfig, EmbeddingIndex, find_duplicates
from vidaug.mining._gray import THUMB_SIDE, encode_thumbnails
from vidaug.mining._warp import (
    WARP_ANGLES,
    WARP_SCALES,
    clip_aspects,
    pixel_agreement,
    pixel_motion,
    robust_pairs,
    warp_bank,
    warped_pairs,
)

H, W = 96, 160  # 5:3, near the 16:9 of surveillance footage


def scene(
    path: int, t: int = 16, clock: bool = False, side: int = 20, movers: int = 1
) -> np.ndarray:
    """A static camera (fine random texture) and ``movers`` bright squares (``side`` pixels)
    moving along random paths drawn from ``path``; ``clock``: a burned-in clock's digits in the
    top-left corner as the thumbnails see them (a patch whose brightness changes every frame,
    alike in every clip of the camera)."""
    bg = cv2.resize(np.random.default_rng(0).integers(40, 200, (24, 40, 3), dtype=np.uint8),
                    (W, H), interpolation=cv2.INTER_NEAREST)  # fmt: skip
    p = np.random.default_rng(path)
    out = np.repeat(bg[None], t, 0)
    for _ in range(movers):
        x0, y0 = p.integers(0, W - side), p.integers(0, H - side)
        xs = np.clip(np.cumsum(p.integers(-9, 10, t)) + x0, 0, W - side)
        ys = np.clip(np.cumsum(p.integers(-6, 7, t)) + y0, 0, H - side)
        for i in range(t):
            out[i, ys[i] : ys[i] + side, xs[i] : xs[i] + side] = 250
    if clock:  # a corner that changes every frame, alike in every clip of the camera
        for i in range(t):
            out[i, :24, :40] = i * 97 % 256
    return out


def crop(clip: np.ndarray, fx: float, fy: float, x0: float, y0: float) -> np.ndarray:
    y, x = int(round(y0 * H)), int(round(x0 * W))
    return clip[:, y : y + int(round(fy * H)), x : x + int(round(fx * W))]


def rotate(clip: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(abs(degrees))
    zoom = np.cos(a) + W / H * np.sin(a)
    m = cv2.getRotationMatrix2D((W / 2, H / 2), degrees, zoom)
    return np.stack([cv2.warpAffine(f, m, (W, H), flags=cv2.INTER_LINEAR) for f in clip])


def table(*clips: np.ndarray) -> list[dict]:
    """Clip-table entries as the embedding step writes them (thumbnails of the model's images:
    every frame resized to one square input)."""
    out = []
    for i, c in enumerate(clips):
        frames = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in c])
        out.append({"id": f"c{i}", "thumbs": encode_thumbnails(frames), "width": c.shape[2],
                    "height": c.shape[1], "content_box": [0, 1, 0, 1]})  # fmt: skip
    return out


def sims(clips: list[dict], pairs: list[tuple[int, int]]) -> np.ndarray:
    lo, hi = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return warped_pairs(clips, lo, hi, 8)


def test_the_bank_has_every_crop_mirror_and_rotation_as_a_bilinear_map() -> None:
    bank, names = warp_bank(16 / 9)
    per_axis = sum(len(np.arange(0, 1 - s + 1e-9, 1 / THUMB_SIDE)) for s in WARP_SCALES)
    assert len(names) == 2 * per_axis**2 + 2 * len(WARP_ANGLES)
    assert bank.shape == (len(names) * THUMB_SIDE**2, THUMB_SIDE**2)
    np.testing.assert_allclose(np.asarray(bank.sum(axis=1)).ravel(), 1.0, atol=1e-5)
    assert sum(n.startswith("mirror") for n in names) == per_axis**2
    assert warp_bank(16 / 9)[0] is bank  # cached


def test_crops_rotations_and_mirrors_match_their_source_and_other_moments_do_not() -> None:
    orig = scene(1, movers=2)
    clips = table(orig, crop(orig, 0.78, 0.8, 0.1, 0.12), rotate(orig, 7.0),
                  crop(orig[:, :, ::-1], 0.86, 0.86, 0.05, 0.1), scene(2, movers=2), scene(3, movers=2))  # fmt: skip
    got = sims(clips, [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 4), (2, 5)])
    copies, others = got[:3], got[3:]
    assert copies.min() >= 0.75, got
    assert others.max() < 0.3, got
    # either clip of a pair may be the copy
    assert sims(clips, [(1, 0)])[0] == pytest.approx(copies[0], abs=1e-6)


def test_a_clock_both_moments_show_is_left_out() -> None:
    a, b = (scene(k, clock=True, movers=2) for k in (4, 5))
    clips = table(a, b, crop(a, 0.8, 0.8, 0.2, 0.2), crop(a, 0.8, 0.8, 0.0, 0.0))
    res, _ = pixel_motion(clips, 8)
    x = res - res.mean(axis=2, keepdims=True)
    plain = float((x[0] * x[1]).sum() / np.linalg.norm(x[0]) / np.linalg.norm(x[1]))
    got = sims(clips, [(0, 1), (0, 2), (0, 3)])
    assert plain > 0.45, plain  # the clock makes two moments agree (a warp search sees this)...
    assert got[0] < 0.3, got  # ...not once its blocks are left out
    assert got[1:].min() >= 0.75, got  # while crops of one moment, clock or not, still match


def test_clips_without_thumbnails_or_motion_give_zero() -> None:
    still = np.repeat(scene(1)[:1], 8, 0)
    clips = [*table(scene(1), still), {"id": "old"}]  # "old": an index from before thumbnails
    res, has = pixel_motion(clips, 8)
    assert has.tolist() == [True, False, False]
    assert sims(clips, [(0, 1), (0, 2)]).tolist() == [0.0, 0.0]
    assert clip_aspects([{"width": 100, "height": 50}, {"width": None}]).tolist() == [2.0, 16 / 9]


def _still(i: int, t: int) -> np.ndarray:
    """A near-static camera as a model sees it: every frame of every clip much alike (clip
    cosines 0.86, above warp_clip_floor, below the whole-frame thresholds)."""
    e = np.eye(1, 16, 0, dtype=np.float32) + 0.4 * np.eye(1, 16, 1 + i, dtype=np.float32)
    return np.tile(e, (t, 1))


def _index(clips: list[np.ndarray | None], embed=_still) -> EmbeddingIndex:
    """An index of ``clips`` whose frame embeddings are ``embed(i, t)`` (unnormalised);
    ``None``: a clip without thumbnails (an index from before them), 16 frames."""
    rows = table(*[c if c is not None else scene(1) for c in clips])
    frame_emb, frame_clip = [], []
    for i, c in enumerate(clips):
        t = len(c) if c is not None else 16
        rows[i].update({"frames": t, "frame_indices": list(range(t)), "fps": 8.0,
                        "source_frames": t, "path": f"c{i}.mp4"})  # fmt: skip
        if c is None:
            del rows[i]["thumbs"]
        e = embed(i, t)
        frame_emb.append(e / np.linalg.norm(e, axis=1, keepdims=True))
        frame_clip.append(np.full(t, i))
    return EmbeddingIndex.build(rows, np.concatenate(frame_emb), np.concatenate(frame_clip),
                                model_id="fixed")  # fmt: skip


def test_find_duplicates_lists_a_warped_copy_and_not_another_moment() -> None:
    orig = scene(1, movers=2)
    ix = _index([orig, crop(orig, 0.78, 0.8, 0.1, 0.12), scene(2, movers=2)])
    cfg = DedupConfig(clip_threshold=1.0, frame_threshold=0.98, match_fraction=1.0,
                      warp_threshold=DEFAULT_DEDUP.warp_threshold)  # fmt: skip
    res = find_duplicates(ix, cfg)
    pairs = {frozenset((p["a"], p["b"])): p for p in res.pairs}
    found = pairs.get(frozenset(("c0", "c1")))
    assert found is not None and "warped" in found["evidence"], res.pairs
    assert found["warp_sim"] >= cfg.warp_threshold and found["relation"] == "copy_of"
    assert frozenset(("c0", "c2")) not in pairs and frozenset(("c1", "c2")) not in pairs
    off = find_duplicates(ix, replace(cfg, warp_threshold=None))
    assert all("warped" not in p["evidence"] for p in off.pairs)
    assert all(p["warp_sim"] == 0.0 for p in off.pairs)


def _alike_over_time(i: int, t: int) -> np.ndarray:
    """Embeddings that change alike over time in every clip (motion signatures agree, clip
    cosines about 0.8, no frame matches)."""
    e = np.zeros((t, 16), np.float32)
    e[:, 0], e[:, 1 + i] = 1.0, 0.5
    e[:, 12] = np.sin(np.linspace(0, 3, t))
    e[:, 13] = np.linspace(-0.5, 0.5, t) ** 2
    return e


def test_motion_evidence_needs_pixels_that_change_together() -> None:
    orig = scene(1, movers=2)
    other = scene(7, movers=2)  # another moment of the camera
    clips = table(orig, crop(orig, 0.78, 0.8, 0.1, 0.12), other, rotate(orig, 7.0))
    lo, hi = np.array([0, 0, 1, 0]), np.array([1, 2, 2, 3])
    agree = pixel_agreement(clips, lo, hi, 8, DEFAULT_DEDUP.motion_pixel_floor)
    assert agree[[0, 3]].min() >= 0.6 and agree[[1, 2]].max() < 0.1, agree
    assert np.isnan(pixel_agreement([*clips, {"id": "old"}], np.array([0]), np.array([4]), 8, 0.15))

    ix = _index([orig, crop(orig, 0.78, 0.8, 0.1, 0.12), other, None], _alike_over_time)
    cfg = DedupConfig(clip_threshold=1.0, frame_threshold=0.98, match_fraction=1.0,
                      motion_threshold=DEFAULT_DEDUP.motion_threshold, implied=False)  # fmt: skip
    pairs = {frozenset((p["a"], p["b"])): p for p in find_duplicates(ix, cfg).pairs}
    assert frozenset(("c0", "c1")) in pairs and pairs[frozenset(("c0", "c1"))]["evidence"] == [
        "motion"
    ]
    assert frozenset(("c0", "c2")) not in pairs and frozenset(("c1", "c2")) not in pairs
    assert frozenset(("c0", "c3")) in pairs  # no thumbnails: nothing to check, motion decides
    off = find_duplicates(ix, replace(cfg, motion_pixel_floor=None)).pairs
    assert {frozenset((p["a"], p["b"])) for p in off} >= {frozenset(("c0", "c2"))}


def _gray(clip: np.ndarray) -> np.ndarray:
    return np.stack([cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
                     for f in clip])  # fmt: skip


def test_grayscale_evidence_leaves_out_the_blocks_a_clock_shares() -> None:
    from vidaug.mining._dedup import GRAY_DROP_BLOCKS

    a, b = (scene(k, clock=True, movers=2) for k in (4, 5))  # two moments of a camera
    ix = _index([a, _gray(b), _gray(a)])
    for i in (1, 2):
        ix.clips[i]["chroma"] = 0.5
    lo, hi = np.array([0, 0, 1]), np.array([1, 2, 2])
    plain = robust_pairs(ix.clips, lo, hi, 8, 0)
    robust = robust_pairs(ix.clips, lo, hi, 8, GRAY_DROP_BLOCKS)
    assert plain[0] > 0.45 and robust[0] < 0.3, (plain, robust)  # the clock made them agree
    assert robust[1] > 0.95, robust  # the gray copy agrees everywhere
    # a threshold the clock's plain cosine (about 0.55) would pass
    cfg = DedupConfig(clip_threshold=1.0, frame_threshold=0.98, match_fraction=1.0,
                      gray_threshold=0.45)  # fmt: skip
    pairs = {frozenset((p["a"], p["b"])): p for p in find_duplicates(ix, cfg).pairs}
    assert set(pairs) == {frozenset(("c0", "c2"))}, pairs
    assert pairs[frozenset(("c0", "c2"))]["evidence"] == ["grayscale"]
    assert pairs[frozenset(("c0", "c2"))]["gray_sim"] == pytest.approx(robust[1])
