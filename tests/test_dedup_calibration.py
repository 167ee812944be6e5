"""The calibrated DEFAULT dedup thresholds on real clips with the real MobileNetV2 weights.

A small version of ``benchmarks/dedup_calibration.py``: 8 surveillance clips of ``../shared``
(two distinct clips from each of four source videos: same camera, different moments, the hard
case) and three perturbed copies of each (speed change, temporal trim, horizontal flip),
embedded with 8 frames a clip. Skipped when ``../shared`` or the weights are absent.

The calibration (benchmarks/RESULTS.md) found that clip and frame cosines cannot tell a flipped
copy from another moment of the same camera; the motion evidence can. Here precision, the
same-camera check and recall ≥ 0.85 are all hard assertions (in the calibration, flip copies
were found by the motion evidence only).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, find_weights

from vidaug.datasets import ManifestRow, read_clip, write_clip

pytestmark = [pytest.mark.slow, pytest.mark.shared]

#: Two clips of each source video, time ranges apart (not partial duplicates): among the most
#: similar distinct pairs of the calibration (clip cosine 0.966-0.975).
ORIGINALS = [
    "clips/fight_surv/noFight/nofi084.mp4",  # unlisted:320x240@18
    "clips/fight_surv/noFight/nofi085.mp4",
    "clips/fight_surv/fight/fi047.mp4",  # yt:IZjLv7alWTk
    "clips/fight_surv/fight/fi049.mp4",
    "clips/fight_surv/fight/fi062.mp4",  # yt:BpargJW29Wo
    "clips/fight_surv/fight/fi063.mp4",
    "clips/fight_surv/fight/fi066.mp4",  # yt:V726w0IKCp4
    "clips/fight_surv/fight/fi067.mp4",
]
#: Recall floor on these 48 pairs. The full calibration (benchmarks/RESULTS.md) measures the
#: flip copies' held-out recall at about 92 % (a flip keeps the motion but mirrors where it
#: happens); here 4-6 of the 8 flip ↔ trim / original pairs have a motion-signature cosine of
#: 0.16-0.29, just around the calibrated threshold, so the floor is 0.85, not 0.95.
TARGET = 0.85
KINDS = ("speed", "trim", "flip")


def _weights() -> Path:
    return find_weights()


def _even(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    return np.ascontiguousarray(frames[:, : h // 2 * 2, : w // 2 * 2])


def perturb(frames: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    t = len(frames)
    if kind == "speed":  # ×1.5 or ×2 by dropping frames, ×0.5 by repeating them
        factor = rng.choice([0.5, 1.5, 2.0])
        return _even(frames[np.minimum(np.round(np.arange(0, t, factor)).astype(int), t - 1)])
    if kind == "trim":  # drop 10-30 % of the frames, split between start and end
        drop = int(round(t * rng.uniform(0.10, 0.30)))
        a = int(rng.integers(0, drop + 1))
        return _even(frames[a : t - (drop - a)])
    assert kind == "flip"
    return _even(frames[:, :, ::-1])


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    if not (SHARED_DATA / "manifest.jsonl").is_file():
        pytest.skip("../shared/data is not present")
    missing = [p for p in ORIGINALS if not (SHARED_DATA / p).is_file()]
    if missing:
        pytest.skip(f"../shared/data lacks {missing[0]}")
    weights = _weights()
    from vidaug.mining import EmbeddingIndex, embed_rows, load_embedder

    tmp = tmp_path_factory.mktemp("dedup_cal")
    rows = []
    seqs = np.random.SeedSequence(0).spawn(len(ORIGINALS))
    for rel, ss in zip(ORIGINALS, seqs, strict=True):
        clip = read_clip(SHARED_DATA / rel)
        rows.append(ManifestRow(str(SHARED_DATA / rel), rel))
        for kind, s in zip(KINDS, ss.spawn(3), strict=True):
            dest = tmp / f"{Path(rel).stem}__{kind}.mp4"
            write_clip(dest, perturb(clip.frames, kind, np.random.default_rng(s)), clip.fps)
            rows.append(ManifestRow(str(dest), dest.name))
    e = embed_rows(rows, load_embedder(weights=weights), frames=8)
    assert not e.failures
    index = EmbeddingIndex.build(e.clips, e.frame_emb, e.frame_clip, model_id="mobilenet_v2")
    orig = {r.rel: Path(r.rel).stem.split("__")[0] for r in rows}
    return index, orig


def _score(index, orig):
    from vidaug.mining import DEFAULT_DEDUP, find_duplicates

    found = {frozenset((p["a"], p["b"])) for p in find_duplicates(index, DEFAULT_DEDUP).pairs}
    pairs = itertools.combinations(index.ids, 2)
    positives = {frozenset(ab) for ab in pairs if orig[ab[0]] == orig[ab[1]]}
    assert len(positives) == len(ORIGINALS) * 6
    return found, positives


def test_default_has_no_false_pairs_between_clips_of_one_camera(embedded):
    index, orig = embedded
    found, positives = _score(index, orig)
    tp = len(found & positives)
    false_pairs = sorted(tuple(sorted(p)) for p in found - positives)
    # every original has a sibling from the same source video here: the hard case
    assert not false_pairs, false_pairs
    assert tp / max(len(found), 1) == 1.0
    # the copies that resample frames (speed) are found: the check is not vacuous
    speed = {frozenset((r, f"{Path(r).stem}__speed.mp4")) for r in ORIGINALS}
    assert speed <= found, sorted(tuple(sorted(p)) for p in speed - found)


def test_default_recall_target(embedded):
    index, orig = embedded
    found, positives = _score(index, orig)
    recall = len(found & positives) / len(positives)
    missed = sorted(tuple(sorted(p)) for p in positives - found)
    assert recall >= TARGET, f"recall {recall:.3f}; missed: {missed}"
