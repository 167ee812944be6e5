"""Render HTML reports of the bundled real clips in headless Chromium.

Skipped cleanly when Debian's ``chromium`` is not installed (``apt-get install -y chromium``).
Embeddings are centred, pooled pixels (no TensorFlow), enough to find an exact copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidaug.datasets import read_clip, sample_clips_dir
from vidaug.mining import EmbeddingIndex, find_duplicates, score_hardness
from vidaug.report import PAGE_SIZE, check_results, write_report

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

EVIL = "<script>alert(1)</script>"


def _chromium(tmp: Path, url: str, *extra: str) -> str:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        *extra,
        url,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> EmbeddingIndex:
    """The 6 sample clips plus an exact copy of one (put in ``val``), one label made hostile."""
    root = tmp_path_factory.mktemp("clips")
    src = sample_clips_dir()
    paths = sorted(src.rglob("*.mp4"))
    clips, frames = [], []
    for p in paths + [src / "fight" / "fi028.mp4"]:
        rel = p.relative_to(src).as_posix()
        split = "train"
        if len(clips) == len(paths):
            rel, split = "fight/fi028_copy.mp4", "val"
            shutil.copy(p, root / "fi028_copy.mp4")
            p = root / "fi028_copy.mp4"
        label = rel.split("/")[0]
        if rel == "noFight/nofi148.mp4":
            label = EVIL
        clip = read_clip(p)
        idx = np.linspace(0, len(clip.frames) - 1, 6).round().astype(int)
        small = np.stack([cv2.resize(clip.frames[i], (16, 12)) for i in idx]).astype(np.float32)
        frames.append((small - small.mean()).reshape(len(idx), -1))
        clips.append({"id": rel, "path": str(p), "label": label, "split": split})
    fe = np.concatenate(frames)
    fe /= np.linalg.norm(fe, axis=1, keepdims=True)
    clip_of = np.repeat(np.arange(len(clips)), 6)
    return EmbeddingIndex.build(clips, fe, clip_of, model_id="pooled-pixels")


def test_dedup_report_renders(index, tmp_path):
    res = find_duplicates(index)
    assert res.groups and any(p["is_leak"] for p in res.pairs)
    out = write_report(tmp_path / "dups.html", check_results(res, index, elapsed_s=0.5))
    shot = tmp_path / "dups.png"
    _chromium(tmp_path, out.as_uri(), f"--screenshot={shot}", "--window-size=1200,900")
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (900, 1200)
    assert float(img.std()) > 20  # not a blank page: text, histograms and thumbnails
    dom = _chromium(tmp_path, out.as_uri(), "--dump-dom")
    assert len(re.findall(r'<div class="group[ "]', dom)) == len(res.groups)
    assert len(re.findall(r'<div class="group leak"', dom)) >= 1
    assert len(re.findall(r'<img class="strip"', dom)) == sum(len(g) for g in res.groups)
    assert f"of {len(res.groups)} groups" in dom


def test_hard_report_renders_and_escapes(index, tmp_path):
    rows = score_hardness(
        index.clip_emb, [c["label"] for c in index.clips], k=3, ids=index.ids, index=index
    )
    out = write_report(tmp_path / "hard.html", check_results(rows, index))
    dom = _chromium(tmp_path, out.as_uri(), "--dump-dom")
    assert len(re.findall(r'<div class="hard-row[ "]', dom)) == min(len(rows), PAGE_SIZE)
    assert EVIL not in dom  # the hostile label is text, not a script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert len(re.findall(r'<figure class="nbr', dom)) == 3 * len(rows)
