"""Shared pytest fixtures: tiny synthetic clips and the optional ../shared corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDAUG_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"


def make_clip(t: int = 8, h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A small textured RGB uint8 clip `(t, h, w, 3)` with a moving square (so frames differ)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
    base = np.repeat(np.repeat(base, 4, axis=0), 4, axis=1)[:h, :w]
    clip = np.empty((t, h, w, 3), dtype=np.uint8)
    for i in range(t):
        frame = base.copy()
        x = (i * 3) % max(1, w - 8)
        frame[h // 3 : h // 3 + 8, x : x + 8] = (255, 0, 0)
        clip[i] = frame
    return clip


def make_static_clip(t: int = 6, h: int = 40, w: int = 56, seed: int = 1) -> np.ndarray:
    """A clip whose frames are all identical (to check that params are shared over time)."""
    frame = make_clip(1, h, w, seed)[0]
    return np.repeat(frame[None], t, axis=0)


@pytest.fixture
def clip() -> np.ndarray:
    return make_clip()


@pytest.fixture
def static_clip() -> np.ndarray:
    return make_static_clip()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test cleanly when it is absent."""
    if not (SHARED_DATA / "manifest.jsonl").is_file():
        pytest.skip("../shared/data is not present (fresh clone without the shared corpus)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_manifest(shared_data: Path) -> list[dict]:
    with open(shared_data / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
