"""Copies that are not whole-clip copies (issue 13): a clip inside another (regional evidence),
two cuts sharing a stretch (alignment), letterbox bars, the kept original, the relations."""

from __future__ import annotations

import numpy as np
import pytest

from vidaug.mining import DEFAULT_DEDUP, EmbeddingIndex, FrameEmbedder, find_duplicates
from vidaug.mining._regions import REGION_FRAMES, REGION_GRID, region_boxes

D = 48
G = REGION_GRID**2


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def camera(rng: np.random.Generator, n: int, scene: np.ndarray, motion: float = 1.0) -> np.ndarray:
    """``n`` successive moments of one static camera: a shared scene direction plus what
    moves (a random walk, so nearby moments look alike and far ones do not)."""
    walk = np.cumsum(rng.normal(size=(n, D)), axis=0) * motion / np.sqrt(D)
    return unit(scene + 0.35 * walk)


def clip(cid: str, frames: np.ndarray, fps: float = 4.0, **extra) -> dict:
    return {"id": cid, "frame_indices": list(range(len(frames))), "fps": fps, **extra}, frames


def build(entries, regions: list[np.ndarray] | None = None) -> EmbeddingIndex:
    clips = [c for c, _ in entries]
    fe = np.concatenate([f for _, f in entries])
    fc = np.concatenate([np.full(len(f), i) for i, (_, f) in enumerate(entries)])
    re_ = None if regions is None else np.stack(regions)
    return EmbeddingIndex.build(clips, fe, fc, model_id="test", region_emb=re_)


# ---------------------------------------------------------------------------------------------
# partial overlaps
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording():
    rng = np.random.default_rng(3)
    scene = unit(rng.normal(size=D))
    moments = camera(rng, 120, scene)  # one camera, 30 s at 4 samples a second
    noise = lambda f: unit(f + 0.03 * rng.normal(size=f.shape) / np.sqrt(D))  # noqa: E731
    entries = [
        clip("cut_a.mp4", noise(moments[0:24])),  # 0-6 s
        clip("cut_b.mp4", noise(moments[12:36])),  # 3-9 s: shares 3-6 s with cut_a
        clip("later.mp4", noise(moments[80:104])),  # the same camera 20 s later
    ]
    return build(entries)


def test_two_cuts_sharing_a_stretch_overlap_with_their_segments(recording) -> None:
    res = find_duplicates(recording)
    pairs = {(p["a"], p["b"]): p for p in res.pairs}
    assert set(pairs) == {("cut_a.mp4", "cut_b.mp4")}  # later.mp4: same camera, no copy
    p = pairs[("cut_a.mp4", "cut_b.mp4")]
    assert p["relation"] == "overlaps" and "alignment" in p["evidence"]
    assert p["segment_a"] == pytest.approx([3.0, 5.75], abs=0.26)
    assert p["segment_b"] == pytest.approx([0.0, 2.75], abs=0.26)
    assert p["speed"] == 1.0
    rows = {r["id"]: r for r in res.table()}
    assert rows["cut_b.mp4"]["relation"] == "overlaps" and rows["cut_b.mp4"]["segment"]
    assert rows["later.mp4"]["group"] is None


def test_alignment_off_misses_the_overlap(recording) -> None:
    from dataclasses import replace

    res = find_duplicates(recording, replace(DEFAULT_DEDUP, align_threshold=None))
    assert res.pairs == []


def test_a_slowed_cut_aligns_at_its_speed() -> None:
    rng = np.random.default_rng(5)
    moments = camera(rng, 200, unit(rng.normal(size=D)))
    a = moments[0:40]  # 10 s at 4 samples a second
    b = np.repeat(moments[20:40], 2, axis=0)  # 5-10 s played at half speed
    res = find_duplicates(build([clip("a.mp4", a), clip("b.mp4", b)]))
    (p,) = res.pairs
    assert p["speed"] in (2.0, 0.5) or p["relation"] == "copy_of"


# ---------------------------------------------------------------------------------------------
# picture-in-picture
# ---------------------------------------------------------------------------------------------


def _windows_of(frames: np.ndarray, rng) -> np.ndarray:
    """Region rows of a plain clip: each window is a zoomed part, i.e. like the whole frame
    but not the same (REGION_FRAMES frames × G windows)."""
    picked = frames[np.round(np.linspace(0, len(frames) - 1, REGION_FRAMES)).astype(int)]
    parts = rng.normal(size=(G, D))
    return unit(picked[:, None, :] + 0.6 * unit(parts)[None]).reshape(-1, D)


def test_clip_inside_another_is_contained_not_a_copy_of_the_background() -> None:
    rng = np.random.default_rng(7)
    inset = camera(rng, 16, unit(rng.normal(size=D)))
    back = camera(rng, 16, unit(rng.normal(size=D)))
    other = camera(rng, 16, unit(rng.normal(size=D)))
    # the composite: mostly the background; one window (the inset's) shows the inset clip
    comp = unit(0.8 * back + 0.45 * inset)
    comp_regions = _windows_of(back, rng).reshape(REGION_FRAMES, G, D)
    picked = np.round(np.linspace(0, 15, REGION_FRAMES)).astype(int)
    comp_regions[:, 4] = unit(inset[picked] + 0.05 * rng.normal(size=(REGION_FRAMES, D)))
    back_regions = comp_regions.copy()
    back_regions[:, 4] = _windows_of(back, rng).reshape(REGION_FRAMES, G, D)[:, 4]
    entries = [
        clip("back.mp4", back, width=640, height=360),
        clip("comp.mp4", comp, width=640, height=360),
        clip("inset.mp4", inset, width=640, height=360),
        clip("other.mp4", other, width=640, height=360),
    ]
    regions = [back_regions.reshape(-1, D), comp_regions.reshape(-1, D),
               _windows_of(inset, rng), _windows_of(other, rng)]  # fmt: skip
    res = find_duplicates(build(entries, regions))
    pairs = {(p["a"], p["b"]): p for p in res.pairs}
    assert ("comp.mp4", "inset.mp4") in pairs
    p = pairs[("comp.mp4", "inset.mp4")]
    assert p["relation"] == "contains" and p["inside"] == "inset.mp4"
    assert "regional" in p["evidence"] and p["region"] == [round(v, 4) for v in region_boxes()[4]]
    assert ("back.mp4", "comp.mp4") not in pairs  # the composite is not a copy of its background
    assert [(r["composite"], r["background"]) for r in res.related] in (
        [("comp.mp4", "back.mp4")],
        [],  # or never linked at all
    )
    assert res.groups == [["inset.mp4", "comp.mp4"]]  # the composite is never the one kept
    rows = {r["id"]: r for r in res.table()}
    assert rows["inset.mp4"]["relation"] == "inside" and rows["comp.mp4"]["relation"] == "contains"
    assert rows["comp.mp4"]["is_duplicate"] and not rows["inset.mp4"]["is_duplicate"]


def test_regions_off_or_missing_find_no_inset() -> None:
    rng = np.random.default_rng(8)
    a = camera(rng, 8, unit(rng.normal(size=D)))
    b = camera(rng, 8, unit(rng.normal(size=D)))
    res = find_duplicates(build([clip("a.mp4", a), clip("b.mp4", b)]))  # no region_emb
    assert res.pairs == []


# ---------------------------------------------------------------------------------------------
# the index keeps region embeddings
# ---------------------------------------------------------------------------------------------


def test_index_saves_appends_and_removes_region_embeddings(tmp_path) -> None:
    rng = np.random.default_rng(9)
    entries = [clip(f"c{i}.mp4", camera(rng, 6, unit(rng.normal(size=D)))) for i in range(3)]
    regions = [_windows_of(f, rng) for _, f in entries]
    ix = build(entries[:2], regions[:2])
    ix.save(tmp_path / "ix")
    back = EmbeddingIndex.load(tmp_path / "ix")
    assert back.region_emb.dtype == np.float16 and back.region_emb.shape == (
        2,
        REGION_FRAMES * G,
        D,
    )
    np.testing.assert_allclose(back.region_emb, np.stack(regions[:2]), atol=2e-3)
    c, f = entries[2]
    back.append([c], f, np.zeros(len(f), int), region_emb=regions[2][None])
    back.remove(["c0.mp4"])
    assert back.ids == ["c1.mp4", "c2.mp4"] and back.region_emb.shape[0] == 2
    np.testing.assert_allclose(back.region_emb[1], regions[2], atol=2e-3)
    with pytest.raises(ValueError, match="region"):
        back.append([{"id": "x.mp4"}], f, np.zeros(len(f), int))  # no regions for it
    plain = build(entries[:1])
    plain.save(tmp_path / "plain")
    assert EmbeddingIndex.load(tmp_path / "plain").region_emb is None


# ---------------------------------------------------------------------------------------------
# embedding: bars cropped, windows embedded
# ---------------------------------------------------------------------------------------------


class _MeanColour:
    """A stand-in model: a frame's embedding is its mean colour per 4 × 4 block."""

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        n, h, w, _ = x.shape
        return x.reshape(n, 4, h // 4, 4, w // 4, 3).mean(axis=(2, 4)).reshape(n, -1) + 1.0


def test_letterboxed_copy_embeds_like_its_source_and_windows_come_along(tmp_path) -> None:
    from vidaug.datasets import ManifestRow, write_clip
    from vidaug.mining import embed_rows

    rng = np.random.default_rng(0)
    frames = rng.integers(40, 220, (6, 96, 128, 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(frames[:, ::8, ::8], 8, axis=1), 8, axis=2)  # blocky: codec-safe
    boxed = np.zeros((6, 144, 128, 3), np.uint8)
    boxed[:, 24:120] = frames  # letterbox into a taller frame
    write_clip(tmp_path / "src.mp4", frames, 6.0)
    write_clip(tmp_path / "box.mp4", boxed, 6.0)
    emb = FrameEmbedder(_MeanColour(), "mean", (32, 32), lambda x: x, 48)
    rows = [ManifestRow(path=str(tmp_path / n), rel=n) for n in ("src.mp4", "box.mp4")]
    e = embed_rows(rows, emb, frames=4, regions=True)
    assert e.region_emb is not None and e.region_emb.shape == (2, REGION_FRAMES * G, 48)
    assert e.clips[1]["border"] == pytest.approx(1 / 3, abs=0.02) and e.clips[0]["border"] == 0
    assert e.clips[1]["content_box"] == pytest.approx([1 / 6, 5 / 6, 0.0, 1.0], abs=0.01)
    assert float(e.clip_emb[0] @ e.clip_emb[1]) > 0.995  # the bars do not reach the model
    plain = embed_rows(rows, emb, frames=4)
    assert plain.region_emb is None and len(plain.frame_emb) == len(e.frame_emb)
    np.testing.assert_allclose(plain.frame_emb, e.frame_emb, atol=1e-6)


def test_report_shows_the_relation_region_and_segment(recording, tmp_path) -> None:
    from vidaug.report import check_results
    from vidaug.report._html import relation_text, report_data

    res = find_duplicates(recording)
    data = report_data(check_results(res, recording))
    (group,) = data["groups"]
    texts = [m["rel"] for m in group["m"]]
    assert any(t and t.startswith("overlaps cut_") and " s of this clip" in t for t in texts)
    assert all(m["box"] is None for m in group["m"])
    row = {"relation": "contains", "related_to": "x.mp4", "region": [0.5, 0.25, 1.0, 0.75],
           "evidence": ["regional"]}  # fmt: skip
    assert relation_text(row) == "contains x.mp4 at x 50%-100%, y 25%-75% (regional)"
    assert relation_text({"relation": None}) is None
