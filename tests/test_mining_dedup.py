"""find_duplicates on constructed embeddings: copies, trims, speed changes, thresholds, leakage."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from vidaug.mining._dedup import DEFAULT, DedupConfig, find_duplicates
from vidaug.mining._index import EmbeddingIndex

D = 64


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def scene_frames(
    rng: np.random.Generator, base: np.ndarray, t: int, jitter: float = 1.5
) -> np.ndarray:
    """``t`` frames around a scene direction; frames of one clip differ a lot (cos ≈ 0.3)."""
    return unit(base + jitter * rng.normal(size=(t, D)) / np.sqrt(D))


def small_noise(rng: np.random.Generator, frames: np.ndarray, sigma: float = 0.05) -> np.ndarray:
    """A re-encode: every frame moves a little (cos ≈ 0.999)."""
    return unit(frames + sigma * rng.normal(size=frames.shape) / np.sqrt(D))


def build(entries: list[tuple[dict, np.ndarray]]) -> EmbeddingIndex:
    clips = [c for c, _ in entries]
    fe = np.concatenate([f for _, f in entries])
    fc = np.concatenate([np.full(len(f), i) for i, (_, f) in enumerate(entries)])
    return EmbeddingIndex.build(clips, fe, fc, model_id="test")


@pytest.fixture(scope="module")
def scenario() -> EmbeddingIndex:
    rng = np.random.default_rng(0)
    orig = scene_frames(rng, unit(rng.normal(size=D)), 12)
    entries = [
        (
            {"id": "dup/orig.mp4", "split": "train", "duration": 12.5, "width": 320, "height": 240},
            orig,
        ),
        (
            {"id": "dup/hires.mp4", "split": "val", "duration": 12.0, "width": 1280, "height": 720},
            small_noise(rng, orig),
        ),
        ({"id": "dup/trim.mp4", "split": "train", "duration": 4.0}, small_noise(rng, orig[2:6])),
        ({"id": "dup/fast.mp4", "split": "train", "duration": 6.0}, small_noise(rng, orig[::2])),
    ]
    centroids = unit(rng.normal(size=(2, D)))
    for i in range(8):  # same-class but distinct clips: class centroid + large per-clip noise
        base = unit(centroids[i % 2] + unit(rng.normal(size=D)))
        entries.append(
            (
                {"id": f"cls{i % 2}/x{i}.mp4", "split": "train" if i < 6 else "test"},
                scene_frames(rng, base, int(rng.integers(5, 10))),
            )
        )
    return build(entries)


def test_copies_trims_and_speed_changes_form_one_group(scenario: EmbeddingIndex) -> None:
    res = find_duplicates(scenario)
    # keep="original" (default): the 1280x720 full-length member has the most picture
    assert res.groups == [["dup/hires.mp4", "dup/fast.mp4", "dup/orig.mp4", "dup/trim.mp4"]]
    longest = find_duplicates(scenario, replace(DEFAULT, keep="longest"))
    assert longest.groups == [["dup/orig.mp4", "dup/fast.mp4", "dup/hires.mp4", "dup/trim.mp4"]]
    assert {p["relation"] for p in res.pairs} == {"copy_of"}
    pairs = {(p["a"], p["b"]): p for p in res.pairs}
    assert all(a.startswith("dup/") and b.startswith("dup/") for a, b in pairs)
    copy = pairs[("dup/orig.mp4", "dup/hires.mp4")]
    assert copy["clip_sim"] >= 0.999 and copy["frac_ab"] == copy["frac_ba"] == 1.0
    assert "whole-frame" in copy["evidence"]
    trim = pairs[("dup/orig.mp4", "dup/trim.mp4")]
    assert trim["clip_sim"] < DEFAULT.clip_threshold  # found through its frames, not its mean
    assert trim["frac_ba"] == 1.0 and "whole-frame" in trim["evidence"]
    assert trim["frac_ba"] == 1.0 and trim["frac_ab"] == pytest.approx(4 / 12)
    fast = pairs[("dup/orig.mp4", "dup/fast.mp4")]
    assert fast["frac_ba"] == 1.0 and fast["frac_ab"] == pytest.approx(6 / 12)
    for p in res.pairs:
        if p["via"] is None:  # evidence of its own; implied pairs carry their chain's score
            assert p["score"] == pytest.approx(
                max(max(p["clip_sim"], 0), p["frac_ab"], p["frac_ba"])
            )


def test_distinct_clips_of_one_class_are_not_duplicates(scenario: EmbeddingIndex) -> None:
    rows = {r["id"]: r for r in find_duplicates(scenario).table()}
    for cid, r in rows.items():
        if cid.startswith("cls"):
            assert r["group"] is None and not r["is_duplicate"] and not r["representative"]
            assert r["duplicate_score"] < 0.9 and not r["is_leak"]


@pytest.mark.parametrize(
    "keep, rep",
    [
        ("longest", "dup/orig.mp4"),
        ("highest_resolution", "dup/hires.mp4"),
        ("first", "dup/fast.mp4"),
    ],
)
def test_representative_policy(scenario: EmbeddingIndex, keep: str, rep: str) -> None:
    res = find_duplicates(scenario, DedupConfig(0.95, 0.90, 0.5, keep=keep))
    assert res.groups[0][0] == rep
    assert res.groups[0][1:] == sorted(set(res.groups[0]) - {rep})
    rows = {r["id"]: r for r in res.table()}
    assert [i for i, r in rows.items() if r["representative"]] == [rep]
    assert sorted(i for i, r in rows.items() if r["is_duplicate"]) == sorted(
        set(res.groups[0]) - {rep}
    )


def test_longest_falls_back_to_frame_counts() -> None:
    rng = np.random.default_rng(3)
    f = scene_frames(rng, unit(rng.normal(size=D)), 8)
    entries = [
        ({"id": "a", "frames": 4}, small_noise(rng, f[:4])),
        ({"id": "b", "frames": 8, "duration": 8.0}, f),  # not every member has a duration
        ({"id": "c", "frames": 8}, small_noise(rng, f)),
    ]
    assert find_duplicates(build(entries)).groups == [["b", "a", "c"]]  # 8 frames, tie → "b" < "c"


def test_leakage_across_splits(scenario: EmbeddingIndex) -> None:
    res = find_duplicates(scenario)
    rows = {r["id"]: r for r in res.table()}
    assert rows["dup/hires.mp4"]["is_leak"]
    assert rows["dup/hires.mp4"]["leak_with"] == ["dup/fast.mp4", "dup/orig.mp4", "dup/trim.mp4"]
    assert rows["dup/orig.mp4"]["leak_with"] == ["dup/hires.mp4"]
    leaks = [p for p in res.pairs if p["is_leak"]]
    assert len(leaks) == 3 and all("dup/hires.mp4" in (p["a"], p["b"]) for p in leaks)
    s = res.summary()
    assert s["leaks"] == 3 and s["leaking_clips"] == 4 and s["groups"] == 1 and s["duplicates"] == 3
    assert s["clips"] == 12 and s["pairs"] == len(res.pairs)
    assert s["candidates"] >= s["pairs"] - s["implied"]
    assert s["config"] == {
        "clip_threshold": DEFAULT.clip_threshold,
        "frame_threshold": DEFAULT.frame_threshold,
        "match_fraction": DEFAULT.match_fraction,
        "motion_threshold": DEFAULT.motion_threshold,
        "motion_clip_floor": DEFAULT.motion_clip_floor,
        "motion_pixel_floor": DEFAULT.motion_pixel_floor,
        "k": 32,
        "keep": "original",
        "region_threshold": DEFAULT.region_threshold,
        "region_motion_floor": DEFAULT.region_motion_floor,
        "region_moving_motion": DEFAULT.region_moving_motion,
        "region_moving_threshold": DEFAULT.region_moving_threshold,
        "contain_margin": DEFAULT.contain_margin,
        "align_threshold": DEFAULT.align_threshold,
        "align_min_frames": DEFAULT.align_min_frames,
        "gray_threshold": DEFAULT.gray_threshold,
        "warp_threshold": DEFAULT.warp_threshold,
        "warp_clip_floor": DEFAULT.warp_clip_floor,
        "implied": True,
    }
    assert s["relations"] == {"copy_of": len(res.pairs)} and s["backgrounds"] == 0


def test_no_split_means_no_leak() -> None:
    rng = np.random.default_rng(4)
    f = scene_frames(rng, unit(rng.normal(size=D)), 6)
    res = find_duplicates(
        build([({"id": "a", "split": "train"}, f), ({"id": "b"}, small_noise(rng, f))])
    )
    assert len(res.pairs) == 1 and not res.pairs[0]["is_leak"]
    assert not any(r["is_leak"] for r in res.table())


def test_table_contract(scenario: EmbeddingIndex, tmp_path) -> None:
    res = find_duplicates(scenario)
    table = res.table()
    assert [r["id"] for r in table] == scenario.ids  # one row per clip, table order
    keys = [
        "id",
        "is_duplicate",
        "duplicate_score",
        "group",
        "representative",
        "nearest",
        "similarity",
        "is_leak",
        "leak_with",
        "relation",
        "related_to",
        "evidence",
        "segment",
        "region",
    ]
    for r in table:
        assert list(r) == keys
        assert type(r["is_duplicate"]) is bool and type(r["representative"]) is bool
        assert type(r["is_leak"]) is bool and isinstance(r["leak_with"], list)
        assert isinstance(r["duplicate_score"], float) and 0.0 <= r["duplicate_score"] <= 1.0
        assert r["group"] is None or type(r["group"]) is int
        assert r["nearest"] in scenario.ids and r["nearest"] != r["id"]
        assert -1.0 <= r["similarity"] <= 1.0
    rows = {r["id"]: r for r in table}
    assert rows["dup/orig.mp4"]["nearest"] == "dup/hires.mp4"
    ce = scenario.clip_emb
    assert rows["dup/orig.mp4"]["similarity"] == pytest.approx(float(ce[0] @ ce[1]), abs=1e-6)
    out = res.to_jsonl(tmp_path / "dups.jsonl")
    assert [json.loads(line) for line in out.read_text().splitlines()] == table
    assert [p.name for p in tmp_path.iterdir()] == ["dups.jsonl"]


def test_small_k_still_finds_the_group(scenario: EmbeddingIndex) -> None:
    res = find_duplicates(scenario, DedupConfig(0.95, 0.90, 0.5, k=1))
    assert sorted(res.groups[0]) == sorted(find_duplicates(scenario).groups[0])


def test_single_clip() -> None:
    res = find_duplicates(build([({"id": "only"}, unit(np.ones((3, D))))]))
    assert res.pairs == [] and res.groups == []
    assert res.table() == [
        {
            "id": "only",
            "is_duplicate": False,
            "duplicate_score": 0.0,
            "group": None,
            "representative": False,
            "nearest": None,
            "similarity": None,
            "is_leak": False,
            "leak_with": [],
            "relation": None,
            "related_to": None,
            "evidence": [],
            "segment": None,
            "region": None,
        }
    ]


# --- thresholds: a pair just above / just below each one ------------------------------------

E = np.eye(8, dtype=np.float32)


def rotated(t: float, u: np.ndarray = E[0], w: np.ndarray = E[7]) -> np.ndarray:
    """A unit vector at cosine ``t`` from ``u``."""
    return unit(t * u + np.sqrt(1 - t * t) * w)


@pytest.mark.parametrize("offset, dup", [(-0.005, True), (0.0, True), (0.005, False)])
def test_clip_threshold(offset: float, dup: bool) -> None:
    t = 0.9
    index = build([({"id": "a"}, E[:1]), ({"id": "b"}, rotated(t)[None])])
    cfg = DedupConfig(clip_threshold=t + offset, frame_threshold=0.999, match_fraction=0.5)
    res = find_duplicates(index, cfg)
    assert bool(res.pairs) is dup
    if dup:
        assert res.pairs[0]["frac_ab"] == 0.0 and res.pairs[0]["clip_sim"] == pytest.approx(
            t, abs=1e-6
        )


@pytest.mark.parametrize("offset, dup", [(-0.005, True), (0.0, True), (0.005, False)])
def test_frame_threshold(offset: float, dup: bool) -> None:
    t = 0.9  # one frame of each clip matches at cosine t, the others match nothing
    index = build([({"id": "a"}, E[[0, 1]]), ({"id": "b"}, np.stack([rotated(t), E[2]]))])
    cfg = DedupConfig(clip_threshold=0.95, frame_threshold=t + offset, match_fraction=0.5)
    res = find_duplicates(index, cfg)
    assert bool(res.pairs) is dup
    if dup:
        p = res.pairs[0]
        assert p["frac_ab"] == p["frac_ba"] == 0.5 and p["clip_sim"] < 0.95


@pytest.mark.parametrize("fraction, dup", [(0.49, True), (0.5, True), (0.51, False)])
def test_match_fraction(fraction: float, dup: bool) -> None:
    index = build([({"id": "a"}, E[[0, 1, 2, 3]]), ({"id": "b"}, E[[0, 1, 4, 5]])])
    res = find_duplicates(index, DedupConfig(0.95, 0.9, fraction))
    assert bool(res.pairs) is dup
    assert res.table()[0]["duplicate_score"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"match_fraction": 0.0}, "match_fraction"),
        ({"match_fraction": 1.5}, "match_fraction"),
        ({"k": 0}, r"\nk\n  Input should be greater than or equal to 1"),
        ({"keep": "newest"}, "keep\n  Input should be 'original', 'longest', 'highest_resolution'"),
        ({"clip_threshold": float("nan")}, "clip_threshold"),
    ],
)
def test_config_validation(kwargs: dict, match: str) -> None:
    base = {"clip_threshold": 0.95, "frame_threshold": 0.9, "match_fraction": 0.5}
    with pytest.raises(ValueError, match=match):
        DedupConfig(**{**base, **kwargs})


def test_motion_evidence_separates_copies_from_the_same_camera() -> None:
    """A static camera: every clip is mostly background B. Another moment of that camera is
    closer by clip cosine than a perturbed copy, so only the motion signature (frames minus
    their mean over time) tells them apart; the same motion over another scene is no copy."""
    from dataclasses import replace

    rng = np.random.default_rng(7)
    t = 8
    b = unit(rng.normal(size=D))
    shift = unit(rng.normal(size=D))  # what a crop / brightening does to every frame

    def clip(base: np.ndarray, motion: np.ndarray, extra: float = 0.0) -> np.ndarray:
        return unit(base + extra * shift + 0.5 * motion)

    m1, m2 = rng.normal(size=(t, D)) / np.sqrt(D), rng.normal(size=(t, D)) / np.sqrt(D)
    other_scene = unit(b + 1.2 * unit(rng.normal(size=D)))
    idx = build([
        ({"id": "cam/moment1"}, clip(b, m1)),
        ({"id": "cam/moment2"}, clip(b, m2)),
        ({"id": "cam/moment1_copy"}, small_noise(rng, clip(b, m1, extra=0.45))),
        ({"id": "elsewhere/same_motion"}, clip(other_scene, m1)),
    ])  # fmt: skip
    ce = idx.clip_emb
    assert ce[0] @ ce[1] > ce[0] @ ce[2]  # by clip cosine the other moment looks closer

    def pairs(cfg: DedupConfig) -> set[frozenset[str]]:
        return {frozenset((p["a"], p["b"])) for p in find_duplicates(idx, cfg).pairs}

    assert pairs(DEFAULT) == {frozenset(("cam/moment1", "cam/moment1_copy"))}
    # without motion, only the time alignment (frames minus the pair's common mean) sees it
    assert pairs(replace(DEFAULT, motion_threshold=None, align_threshold=None)) == set()
    assert pairs(replace(DEFAULT, motion_threshold=None)) == pairs(DEFAULT)
    pair = next(p for p in find_duplicates(idx).pairs)
    assert pair["motion_sim"] >= DEFAULT.motion_threshold and pair["score"] >= 0.5
    # the same motion over another scene: motion alone would call it a copy, the floor does not
    loose = replace(DEFAULT, motion_clip_floor=-1.0)
    assert frozenset(("cam/moment1", "elsewhere/same_motion")) in pairs(loose)


# --- keep="original" (issue 13 §3) -------------------------------------------------------------


def test_keep_original_picks_the_source_over_every_kind_of_copy() -> None:
    """`--keep longest` kept slowed-down, half-fps or cropped copies; "original" keeps the full
    frame at native rate, colour and quality, whatever the names or the copies' lengths."""
    rng = np.random.default_rng(3)
    orig = scene_frames(rng, unit(rng.normal(size=D)), 10)
    spread = lambda n: [int(i) for i in np.linspace(0, n - 1, 10)]  # noqa: E731 - 10 frames
    base = {"width": 640, "height": 360, "fps": 30.0, "source_frames": 300, "size": 4_000_000,
            "border": 0.0, "chroma": 40.0, "frame_indices": spread(300)}  # fmt: skip
    copies = {
        # slowed down: longer, same picture, the same frames twice as far apart
        "a_slow.mp4": {"source_frames": 600, "frame_indices": spread(600)},
        "b_half_fps.mp4": {
            "fps": 15.0,
            "source_frames": 150,
            "size": 2_100_000,
            "frame_indices": spread(150),
        },  # fmt: skip
        "c_letterbox.mp4": {"border": 0.25},
        "d_gray_small.mp4": {"width": 320, "height": 180, "chroma": 0.4, "size": 600_000},
        "e_recompressed.mp4": {"size": 1_000_000},
        "f_crop.mp4": {"width": 480, "height": 270, "size": 2_500_000},
    }
    entries = [({"id": "z_source.mp4", **base}, orig)]
    entries += [({"id": k, **base, **v}, small_noise(rng, orig)) for k, v in copies.items()]
    cfg = DedupConfig(0.95, 0.9, 0.5, keep="original")
    res = find_duplicates(build(entries), cfg)
    assert len(res.groups) == 1 and res.groups[0][0] == "z_source.mp4"
    longest = find_duplicates(build(entries), DedupConfig(0.95, 0.9, 0.5, keep="longest"))
    assert longest.groups[0][0] == "a_slow.mp4"  # what longest did


def test_keep_original_with_bars_of_its_own_over_copies_that_lost_them() -> None:
    """Footage with black bars: a brightened, stamped or rotated-and-zoomed copy loses them.
    The typical bars of the group (its lower median), not the least, are the reference, so the
    source does not look letterboxed beside such copies (issue 23: 12 rotated, 10 stamped and
    9 brightened copies were kept over their source)."""
    rng = np.random.default_rng(5)
    orig = scene_frames(rng, unit(rng.normal(size=D)), 10)
    base = {"width": 640, "height": 480, "fps": 25.0, "source_frames": 250, "border": 0.2,
            "chroma": 30.0}  # fmt: skip
    copies = {"a_bright.mp4": 0.0, "b_rotate.mp4": 0.0, "c_flip.mp4": 0.2, "d_reencode.mp4": 0.2,
              "e_letterbox.mp4": 0.35}  # fmt: skip
    entries = [({"id": "z_source.mp4", **base}, orig)]
    entries += [({"id": k, **base, "border": b}, small_noise(rng, orig)) for k, b in copies.items()]
    res = find_duplicates(build(entries), DedupConfig(0.95, 0.9, 0.5, keep="original"))
    assert len(res.groups) == 1 and res.groups[0][0] == "z_source.mp4"


def test_content_box_finds_bars_and_colour() -> None:
    from vidaug.mining._embed import chroma
    from vidaug.mining._regions import content_box

    rng = np.random.default_rng(0)
    frames = rng.integers(40, 220, (4, 120, 160, 3), dtype=np.uint8)
    assert content_box(frames) == (0, 120, 0, 160) and chroma(frames) > 10
    boxed = frames.copy()
    boxed[:, :15], boxed[:, -15:] = 0, 0  # letterbox: 30 of 120 rows
    assert content_box(boxed) == (15, 105, 0, 160)
    pillar = frames.copy()
    pillar[:, :, :20], pillar[:, :, -24:] = 3, 5  # pillarbox, not quite black
    assert content_box(pillar) == (0, 120, 20, 136)
    dark = (frames // 12).astype(np.uint8)  # a dark scene is not a letterbox
    assert content_box(dark) == (0, 120, 0, 160)
    grey = np.repeat(frames[..., :1], 3, axis=3)
    assert chroma(grey) == 0.0
