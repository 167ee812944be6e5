"""Grayscale evidence (issue 23 §2): a grayscale, shrunk, JPEG-recompressed copy of a colour
clip is found by the pixel motion signature of gray thumbnails; a gray clip of another moment
of the same camera, or of another scene, is not; indexes without thumbnails still work."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidaug.mining import DEFAULT_DEDUP, EmbeddingIndex, FrameEmbedder, embed_rows, find_duplicates
from vidaug.mining._embed import chroma
from vidaug.mining._gray import (
    THUMB_FRAMES,
    THUMB_SIDE,
    decode_thumbnails,
    encode_thumbnails,
    gray_clips,
    thumbnail_signatures,
)


class _MeanColour:
    """A stand-in model: a frame's embedding is its mean colour per 4 × 4 block, centred."""

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        n, h, w, _ = x.shape
        return x.reshape(n, 4, h // 4, 4, w // 4, 3).mean(axis=(2, 4)).reshape(n, -1) - 127.0


def _embedder() -> FrameEmbedder:
    return FrameEmbedder(_MeanColour(), "mean", (32, 32), lambda x: x, 48)


def scene(background: int, path: int, t: int = 24) -> np.ndarray:
    """A static camera (blocky colour background ``background``) and a yellow square moving
    along random path ``path``: same background, other path = another moment of the camera."""
    r = np.random.default_rng(background)
    bg = np.repeat(np.repeat(r.integers(30, 230, (12, 16, 3), dtype=np.uint8), 8, 0), 8, 1)
    p = np.random.default_rng(path)
    xs, ys = np.cumsum(p.integers(-6, 7, t)) % 100, np.cumsum(p.integers(-6, 7, t)) % 70
    out = np.repeat(bg[None], t, 0)
    for i in range(t):
        out[i, ys[i] : ys[i] + 24, xs[i] : xs[i] + 24] = (250, 240, 20)
    return out


def gray_jpeg(clip: np.ndarray) -> np.ndarray:
    """Like the calibration's ``gray_jpeg`` copy: ⅓ size, grayscale, JPEG quality 15."""
    out = []
    for f in clip:
        g = cv2.cvtColor(cv2.resize(f, (42, 32), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        ok, buf = cv2.imencode(".jpg", g, [cv2.IMWRITE_JPEG_QUALITY, 15])
        assert ok
        out.append(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB))
    return np.stack(out)


@pytest.fixture(scope="module")
def gray_index(tmp_path_factory) -> EmbeddingIndex:
    from vidaug.datasets import load_rows, write_clip

    d = tmp_path_factory.mktemp("gray") / "data"
    orig, moment2, far = scene(1, 10), scene(1, 11), scene(2, 12)
    for name, clip in (("orig", orig), ("orig_gray", gray_jpeg(orig)),
                       ("moment2_gray", gray_jpeg(moment2)), ("far_gray", gray_jpeg(far))):  # fmt: skip
        write_clip(d / f"{name}.mp4", clip, 8.0)
    e = embed_rows(load_rows(d), _embedder(), frames=8)
    return EmbeddingIndex.build(e.clips, e.frame_emb, e.frame_clip, model_id="mean")


def _pairs(res) -> dict[frozenset[str], dict]:
    return {frozenset((p["a"], p["b"])): p for p in res.pairs}


def test_a_grayscale_copy_is_found_and_other_gray_clips_are_not(gray_index) -> None:
    ix = gray_index
    assert gray_clips(ix.clips).tolist() == [i.endswith("_gray.mp4") for i in ix.ids]
    pairs = _pairs(find_duplicates(ix, DEFAULT_DEDUP))
    copy = pairs.get(frozenset(("orig.mp4", "orig_gray.mp4")))
    assert copy is not None and "grayscale" in copy["evidence"]
    assert copy["gray_sim"] >= DEFAULT_DEDUP.gray_threshold and copy["score"] > 0.5
    # another moment of the same camera, and another scene, stay apart from both
    assert set(pairs) == {frozenset(("orig.mp4", "orig_gray.mp4"))}
    off = _pairs(find_duplicates(ix, replace(DEFAULT_DEDUP, gray_threshold=None)))
    assert frozenset(("orig.mp4", "orig_gray.mp4")) not in off  # what the evidence adds
    assert all(p["gray_sim"] == 0.0 for p in off.values())


def test_an_index_without_thumbnails_has_no_grayscale_evidence(gray_index, tmp_path) -> None:
    gray_index.save(tmp_path / "ix")
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    assert all(decode_thumbnails(c) is not None for c in meta["clips"])  # saved with the index
    for c in meta["clips"]:  # an index embedded before the grayscale evidence
        del c["thumbs"]
    (tmp_path / "ix" / "index.json").write_text(json.dumps(meta))
    old = EmbeddingIndex.load(tmp_path / "ix")
    assert not np.abs(thumbnail_signatures(old.clips, 8)).any()
    res = find_duplicates(old, DEFAULT_DEDUP)
    assert all("grayscale" not in p["evidence"] for p in res.pairs)


def test_thumbnails_round_trip_and_bad_entries() -> None:
    clip = scene(3, 4, t=40)
    x = decode_thumbnails({"thumbs": encode_thumbnails(clip)})
    assert x is not None and x.shape == (THUMB_FRAMES, THUMB_SIDE * THUMB_SIDE)
    short = decode_thumbnails({"thumbs": encode_thumbnails(clip[:5])})
    assert short is not None and short.shape[0] == 5
    for bad in ({}, {"thumbs": None}, {"thumbs": "%%%"}, {"thumbs": "AAAA"}):
        assert decode_thumbnails(bad) is None
    still = np.repeat(clip[:1], 8, axis=0)  # no change over time: no signature
    sig = thumbnail_signatures([{"thumbs": encode_thumbnails(still)}, {}], 8)
    assert not sig.any()


def test_chroma_ignores_an_encoder_tint() -> None:
    rng = np.random.default_rng(0)
    colour = rng.integers(40, 220, (4, 60, 80, 3), dtype=np.uint8)
    gray = np.repeat(colour[..., :1], 3, axis=3).astype(np.int16)
    tinted = np.clip(gray + np.array([3, 0, -2]), 0, 255).astype(np.uint8)  # R-G 3, G-B 2
    assert chroma(colour) > 10 and chroma(tinted) == 0.0
    assert gray_clips([{"chroma": 0.0}, {"chroma": 12.0}, {}, {"chroma": True}]).tolist() == [
        True, False, False, False,
    ]  # fmt: skip


def test_embed_to_index_embeds_again_clips_cached_without_thumbnails(tmp_path: Path) -> None:
    from vidaug.datasets import write_clip
    from vidaug.pipelines import embed_to_index

    d = tmp_path / "data"
    for name, seed in (("a", 1), ("b", 2)):
        write_clip(d / f"{name}.mp4", scene(seed, seed), 8.0)
    out = tmp_path / "ix"
    assert embed_to_index(d, _embedder(), out=out, regions=False).embedded == 2
    meta = json.loads((out / "index.json").read_text())
    del meta["clips"][0]["thumbs"]
    (out / "index.json").write_text(json.dumps(meta))
    rep = embed_to_index(d, _embedder(), out=out, regions=False)
    assert (rep.embedded, rep.reused) == (1, 1)
    assert all("thumbs" in c for c in rep.index.clips)
