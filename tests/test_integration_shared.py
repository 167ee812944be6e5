"""Integration tests on the real clips in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json

import numpy as np

from vidaug.augment import Anonymize, load_recipe
from vidaug.datasets import load_rows, read_clip, write_jsonl
from vidaug.pipelines import augment_dataset


def test_augment_real_clips_from_the_shared_manifest(shared_data, shared_manifest, tmp_path):
    # two clips from each of three different sources (fight CCTV, ARID dark, ASL mkv)
    picked = []
    for prefix in ("clips/fight_surv/fight/", "clips/arid/", "clips/asl/"):
        picked += [r for r in shared_manifest if r["path"].startswith(prefix)][:2]
    m = tmp_path / "m.jsonl"
    write_jsonl(m, [{**r, "path": str(shared_data / r["path"])} for r in picked])
    out = tmp_path / "out"
    s = augment_dataset(m, out, recipe="surveillance", copies=1, seed=1, clip_frames=40)
    assert s.ok and s.written == 6, s.failures
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    by_source = {r["path"]: r for r in picked}
    for e in rows:
        frames = read_clip(out / e["path"]).frames
        assert frames.shape == (e["frames"], e["height"], e["width"], 3)
        src = next(r for p, r in by_source.items() if p.endswith(e["source"].split("/")[-1]))
        assert e["label"] == src["label"] and e.get("group") == src["group"]


def test_all_presets_on_a_real_clip(shared_data):
    clip = read_clip(shared_data / "clips/fight_surv/noFight/nofi012.mp4", max_frames=24).frames
    for name in ("light", "standard", "strong", "surveillance"):
        out = load_recipe(name).transform(clip, seed=0)
        assert out.dtype == np.uint8 and out.shape[1:] == clip.shape[1:]
        assert not np.array_equal(out[: len(clip)], clip[: len(out)])


def test_anonymize_blurs_the_face_on_every_frame(shared_data):
    """ASL clips show one signer facing the camera: every frame gets a masked face region,
    also the frames where the detector misses (held detections), and pixels change there."""
    clip = read_clip(shared_data / "clips/asl/yes.mkv", max_frames=40).frames
    t = Anonymize()
    boxes = t.face_boxes(clip)
    assert all(len(b) for b in boxes)
    out = t(clip)
    for i in (0, 20, 39):
        x1, y1, x2, y2 = boxes[i][0]
        region = np.abs(out[i, y1:y2, x1:x2].astype(int) - clip[i, y1:y2, x1:x2].astype(int))
        assert region.mean() > 2.0
    # far from any face (bottom-left corner) nothing changes
    np.testing.assert_array_equal(out[:, -40:, :40], clip[:, -40:, :40])


def test_shared_manifest_loads_with_groups(shared_data):
    rows = load_rows(shared_data / "manifest.jsonl")
    assert len(rows) == 172
    assert {r.label for r in rows if r.rel.startswith("clips/fight_surv/")} == {"fight", "noFight"}
    assert all(r.extra.get("group") for r in rows if r.rel.startswith("clips/fight_surv/"))
