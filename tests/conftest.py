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


def find_weights() -> Path:
    """The MobileNetV2 no-top weights (VIDAUG_WEIGHTS or ../shared/models); skips without."""
    env = os.environ.get("VIDAUG_WEIGHTS")
    for p in (Path(env) if env else None, SHARED / "models/mobilenet_v2/"
              "mobilenet_v2_1.0_224_notop.h5"):  # fmt: skip
        if p is not None and p.is_file():
            return p
    pytest.skip("MobileNetV2 no-top weights not found (VIDAUG_WEIGHTS or ../shared/models)")


@pytest.fixture(scope="session")
def mobilenet_weights() -> Path:
    return find_weights()


@pytest.fixture(scope="session")
def shared_manifest(shared_data: Path) -> list[dict]:
    with open(shared_data / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def save_tiny_embedder(path: Path, pool: int = 8, seed: int = 0) -> Path:
    """A tiny Keras image model whose penultimate layer is centred, pooled pixels: different
    random textures land far apart, copies of a clip on top of each other (offline, instant)."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    x = keras.layers.AveragePooling2D(pool)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    keras.Model(inp, out).save(path)
    return path


def write_labelled_clips(root: Path, per_class: int = 4, classes=("a", "b"), t: int = 10) -> Path:
    """``root/<class>/<i>.mp4`` tiny clips; class ``b`` is the negative of a texture so the two
    classes are easy to tell apart. Each clip gets its own ``group`` only via its file."""
    from vidaug.datasets import write_clip

    for c_i, c in enumerate(classes):
        for i in range(per_class):
            clip = make_clip(t, 48, 64, seed=100 * c_i + i)
            if c_i % 2:
                clip = 255 - clip
            p = root / c / f"{c}{i}.mp4"
            p.parent.mkdir(parents=True, exist_ok=True)
            write_clip(p, clip, fps=10.0)
    return root
