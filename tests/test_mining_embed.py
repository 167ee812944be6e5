"""Frame embeddings: sampling, the decode/model pipeline with a tiny Keras model, weights lookup."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED, make_clip

from vidaug.datasets import frame_indices, load_rows, write_clip
from vidaug.errors import VidaugError
from vidaug.mining._embed import (
    KERAS_CACHE_NAME,
    WeightsNotFoundError,
    embed_rows,
    load_embedder,
    resolve_mobilenet_weights,
)


@pytest.mark.parametrize(
    ("n", "k", "expected"),
    [(8, 8, list(range(8))), (16, 4, [2, 6, 10, 14]), (3, 8, [0, 1, 2]), (1, 8, [0]), (0, 8, [])],
)
def test_uniform_frame_sampling(n, k, expected):
    assert frame_indices(n, k).tolist() == expected


def test_fps_frame_sampling():
    idx = frame_indices(60, fps=2.0, source_fps=30.0)
    assert idx.tolist() == [0, 15, 30, 45]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import keras

    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    path = tmp_path_factory.mktemp("m") / "tiny.keras"
    keras.Model(inp, out).save(path)
    return path


@pytest.fixture
def clips_dir(tmp_path):
    for i, rel in enumerate(["a/x.mp4", "a/y.mp4", "b/z.mp4"]):
        p = tmp_path / "d" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(10, 48, 64, seed=i), fps=10.0)
    (tmp_path / "d" / "b" / "bad.mp4").write_text("no video")
    return tmp_path / "d"


@pytest.mark.slow
def test_embed_rows_with_a_user_model(tiny_model, clips_dir):
    emb = load_embedder(tiny_model)
    assert emb.input_size == (32, 32) and emb.dims == 4 and "features" in emb.model_id
    seen = []
    res = embed_rows(load_rows(clips_dir), emb, frames=4, batch=3, on_clip=seen.append)
    assert len(seen) == 4
    assert [c["id"] for c in res.clips] == ["a/x.mp4", "a/y.mp4", "b/z.mp4"]
    assert [c["label"] for c in res.clips] == ["a", "a", "b"]
    assert res.failures and res.failures[0][0] == "b/bad.mp4"
    assert res.frame_emb.shape == (12, 4) and res.frame_emb.dtype == np.float32
    assert res.frame_clip.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    np.testing.assert_allclose(np.linalg.norm(res.frame_emb, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(res.clip_emb, axis=1), 1.0, rtol=1e-5)
    # batching (and the padded last batch) does not change the numbers
    again = embed_rows(load_rows(clips_dir), emb, frames=4, batch=32)
    np.testing.assert_allclose(again.frame_emb, res.frame_emb, atol=1e-5)


@pytest.mark.slow
def test_named_layer_and_bad_model(tiny_model, tmp_path):
    emb = load_embedder(tiny_model, layer="features")
    assert emb.dims == 4
    with pytest.raises(VidaugError, match="no layer named"):
        load_embedder(tiny_model, layer="nope")
    with pytest.raises(VidaugError, match="no such model file"):
        load_embedder(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    with pytest.raises(VidaugError, match="not a loadable Keras model"):
        load_embedder(bad)


def test_weights_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.delenv("VIDAUG_WEIGHTS", raising=False)
    assert resolve_mobilenet_weights() == "imagenet"
    cache = tmp_path / "kh" / "models" / KERAS_CACHE_NAME
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"x")
    assert resolve_mobilenet_weights() == str(cache)
    w = tmp_path / "w.h5"
    w.write_bytes(b"x")
    monkeypatch.setenv("VIDAUG_WEIGHTS", str(w))
    assert resolve_mobilenet_weights() == str(w)
    with pytest.raises(WeightsNotFoundError, match="no such weights file .*--weights PATH"):
        resolve_mobilenet_weights(tmp_path / "missing.h5")


@pytest.mark.slow
def test_mobilenet_v2_offline_from_shared_weights():
    weights = SHARED / "models" / "mobilenet_v2" / "mobilenet_v2_1.0_224_notop.h5"
    if not weights.is_file():
        pytest.skip("../shared/models is not present")
    emb = load_embedder("mobilenet_v2", weights=weights)
    assert emb.dims == 1280 and emb.input_size == (224, 224)
    frames = np.stack([np.full((224, 224, 3), v, np.uint8) for v in (0, 128)])
    frames[1, :112] = 255
    y = emb(frames)
    assert y.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, rtol=1e-5)
    assert float(y[0] @ y[1]) < 0.99
    # the probe stage's twin (issue 23): the same weights at 112 px, the same 1280-d space
    assert emb.probe is not None and emb.probe.input_size == (112, 112) and emb.probe.dims == 1280
    small = np.stack([f[::2, ::2] for f in frames])
    z = emb.probe(small)
    assert z.shape == (2, 1280) and float(z[0] @ z[1]) < 0.99
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    w = emb.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(w, emb.probe.model.get_weights(), strict=True))


@pytest.mark.parametrize(("k", "fps"), [(8, None), (None, 10.0)])
@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_sampled_decode_matches_full_decode(tmp_path, k, fps, ext) -> None:
    """Decoding only the sampled frames (``read_clip(select=)``, one decode path for mining and
    everything else) gives what decoding the whole clip and sampling it gives; MKV has no
    stored frame count and is counted first."""
    from vidaug.datasets import ManifestRow, read_clip
    from vidaug.mining import _embed

    path = write_clip(tmp_path / "c.mp4", make_clip(t=37, h=48, w=64, seed=3), fps=25.0)
    if ext != ".mp4":  # the same stream under a suffix whose frame count is not trusted
        path = path.rename(tmp_path / f"c{ext}")

    def sel(n, f):
        return frame_indices(n, k, fps=fps, source_fps=f)

    part = read_clip(path, select=sel)
    full = read_clip(path)
    idx = frame_indices(len(full.frames), k, fps=fps, source_fps=full.fps)
    assert part.indices.tolist() == idx.tolist() and part.frame_count == full.frame_count == 37
    np.testing.assert_array_equal(part.frames, full.frames[idx])
    row = ManifestRow(path=str(path), rel=f"c{ext}", label=None, split=None, extra={})
    got = _embed.load_clip_frames(row, (32, 32), k, fps)
    assert got.info["frame_indices"] == idx.tolist() and got.frames.shape == (len(idx), 32, 32, 3)
    with pytest.raises(ValueError, match="exclusive"):
        read_clip(path, select=sel, stride=2)


def test_select_resamples_when_the_container_count_is_wrong(tmp_path, monkeypatch) -> None:
    """A stored frame count that is off: the frames are selected again from the real count."""
    import cv2

    from vidaug.datasets import read_clip

    path = write_clip(tmp_path / "c.mp4", make_clip(t=20, h=32, w=32, seed=1), fps=10.0)
    real = cv2.VideoCapture

    class Lying:  # claims 40 frames for a 20-frame file
        def __init__(self, *args):
            self._cap = real(*args)

        def get(self, prop):
            return 40.0 if prop == cv2.CAP_PROP_FRAME_COUNT else self._cap.get(prop)

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", Lying)
    seen = []

    def sel(n, f):
        seen.append(n)
        return [0, n // 2, n - 1]

    clip = read_clip(path, select=sel, allow_truncated=True)
    assert seen == [40, 20] and clip.indices.tolist() == [0, 10, 19]
