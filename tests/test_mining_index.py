"""EmbeddingIndex: FAISS search vs brute force, save/load, mismatch refusal, append, IVF, atomicity."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from vidaug._version import __version__
from vidaug.errors import IndexMismatchError, VidaugError
from vidaug.mining import _faiss, _store
from vidaug.mining._index import EmbeddingIndex


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_data(n: int = 30, d: int = 16, seed: int = 0, prefix: str = "c"):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 6, size=n)
    frame_clip = np.repeat(np.arange(n), counts)
    frame_emb = unit(rng.normal(size=(len(frame_clip), d)))
    clips = [
        {"id": f"{prefix}{i:03d}.mp4", "label": "ab"[i % 2], "split": "train", "frames": int(c)}
        for i, c in enumerate(counts)
    ]
    return clips, frame_emb, frame_clip


def brute(query: np.ndarray, base: np.ndarray, k: int):
    sims = query @ base.T
    ids = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, ids, axis=1), ids


@pytest.fixture
def index() -> EmbeddingIndex:
    clips, fe, fc = make_data()
    return EmbeddingIndex.build(clips, fe, fc, model_id="mobilenet_v2")


def test_build_flat_search_matches_brute_force(index: EmbeddingIndex) -> None:
    assert index.kind == "flat" and index.clip_kind == "flat"
    assert index.dims == 16 and len(index) == 30
    rng = np.random.default_rng(1)
    q = unit(rng.normal(size=(7, 16)))
    sims, ids = index.search_clips(q, 5)
    bs, bi = brute(q, index.clip_emb, 5)
    assert sims.dtype == np.float32 and ids.dtype == np.int64 and ids.shape == (7, 5)
    np.testing.assert_array_equal(ids, bi)
    np.testing.assert_allclose(sims, bs, atol=1e-5)
    sims, rows = index.search_frames(q, 4)
    bs, bi = brute(q, index.frame_emb, 4)
    np.testing.assert_array_equal(rows, bi)
    np.testing.assert_allclose(sims, bs, atol=1e-5)


def test_clip_emb_is_normalised_frame_mean() -> None:
    clips, fe, fc = make_data(n=5)
    index = EmbeddingIndex.build(clips, fe, fc, model_id="m")
    for c in range(5):
        m = fe[fc == c].mean(axis=0)
        np.testing.assert_allclose(index.clip_emb[c], m / np.linalg.norm(m), atol=1e-6)
        np.testing.assert_array_equal(index.frames_of(c), np.flatnonzero(fc == c))
    assert index.position("c003.mp4") == 3
    assert index.ids[:2] == ["c000.mp4", "c001.mp4"]


def test_search_pads_missing_neighbours(index: EmbeddingIndex) -> None:
    sims, ids = index.search_clips(index.clip_emb[0], 40)  # 1-D query is one query
    assert ids.shape == (1, 40)
    assert (ids[0, :30] >= 0).all() and (ids[0, 30:] == -1).all()
    assert np.isneginf(sims[0, 30:]).all()
    assert ids[0, 0] == 0 and sims[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_query_of_other_dimension_is_refused(index: EmbeddingIndex) -> None:
    with pytest.raises(IndexMismatchError, match="8-dimensional.*16-dimensional"):
        index.search_clips(np.ones((2, 8), np.float32), 3)
    with pytest.raises(ValueError, match="k must be"):
        index.search_frames(index.frame_emb[:1], 0)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda c, fe, fc: (c[:-1] + [dict(c[0])], fe, fc), "duplicate clip id"),
        (lambda c, fe, fc: (c, fe, np.where(fc == 0, 99, fc)), r"clip positions in \[0, 30\)"),
        (lambda c, fe, fc: (c, fe, np.where(fc == 3, 2, fc)), "position 3 has no frames"),
        (lambda c, fe, fc: (c, fe[:, None], fc), r"must be \(F, D\)"),
        (lambda c, fe, fc: ([{"label": "x"}] + c[1:], fe, fc), "non-empty str 'id'"),
    ],
)
def test_build_validates_inputs(mutate, match) -> None:
    clips, fe, fc = mutate(*make_data())
    with pytest.raises(ValueError, match=match):
        EmbeddingIndex.build(clips, fe, fc, model_id="m")


def test_save_load_round_trip(index: EmbeddingIndex, tmp_path) -> None:
    out = index.save(tmp_path / "idx")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "index.json",  # flat FAISS indexes are not written: built from the arrays on load
            "frame_emb.npy",
            "frame_clip.npy",
            "clip_emb.npy",
        ]
    )
    meta = json.loads((out / "index.json").read_text())
    assert meta["format"] == 3 and meta["vidaug"] == __version__
    assert (
        meta["model"] == "mobilenet_v2" and meta["dims"] == 16 and meta["frames"] == index.n_frames
    )
    assert meta["metric"] == "inner_product" and meta["kind"] == "flat" and meta["nprobe"] == 16
    assert meta["created"].endswith("+00:00") and meta["clips"] == index.clips
    loaded = EmbeddingIndex.load(out, model_id="mobilenet_v2", dims=16)
    assert loaded.clips == index.clips and loaded.kind == "flat"
    np.testing.assert_array_equal(loaded.frame_clip, index.frame_clip)
    q = index.clip_emb[:5]
    for a, b in zip(loaded.search_clips(q, 6), index.search_clips(q, 6), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(loaded.search_frames(q, 6), index.search_frames(q, 6), strict=True):
        np.testing.assert_array_equal(a, b)
    # numpy scalars in the clip table are stored as plain JSON numbers
    clips, fe, fc = make_data(n=3)
    clips[0]["width"] = np.int64(640)
    EmbeddingIndex.build(clips, fe, fc, model_id="m").save(tmp_path / "np")
    assert EmbeddingIndex.load(tmp_path / "np").clips[0]["width"] == 640


def test_load_refuses_other_model_or_dims(index: EmbeddingIndex, tmp_path) -> None:
    index.save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError, match="'mobilenet_v2'.*'efficientnet'"):
        EmbeddingIndex.load(tmp_path / "idx", model_id="efficientnet")
    with pytest.raises(IndexMismatchError, match="16-dimensional.*1280"):
        EmbeddingIndex.load(tmp_path / "idx", dims=1280)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and type(exc.value) is VidaugError
    return msg


def test_load_missing_or_corrupt_is_one_line_error(index: EmbeddingIndex, tmp_path) -> None:
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(tmp_path / "nope")
    assert "directory not found" in _one_line(e)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(tmp_path / "empty")
    assert "index.json missing" in _one_line(e)

    def fresh(name: str):
        return index.save(tmp_path / name)

    d = fresh("badjson")
    (d / "index.json").write_text("{not json")
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "corrupt index metadata" in _one_line(e)

    d = fresh("format")
    meta = json.loads((d / "index.json").read_text())
    (d / "index.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "format 99 is not supported" in _one_line(e)

    d = fresh("nokey")
    (d / "index.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "dims"}))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "'dims' missing" in _one_line(e)

    d = fresh("badtype")  # validated by a pydantic model (IndexMeta), one line naming the field
    (d / "index.json").write_text(json.dumps({**meta, "nprobe": "16", "metric": "l2"}))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "corrupt index metadata ('metric'" in _one_line(e) or "'nprobe'" in _one_line(e)
    (d / "index.json").write_text(json.dumps({**meta, "clips": [1, 2]}))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "corrupt index metadata ('clips.0'" in _one_line(e)

    d = fresh("missing")
    (d / "clip_emb.npy").unlink()
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "clip_emb.npy: missing" in _one_line(e)

    d = fresh("garbage")
    (d / "frame_emb.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "frame_emb.npy: corrupt array" in _one_line(e)

    d = fresh("pickled")  # an object array would need allow_pickle: refused
    np.save(d / "frame_clip.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "frame_clip.npy: corrupt array" in _one_line(e)

    d = fresh("shape")
    np.save(d / "clip_emb.npy", np.zeros((3, 16), np.float32))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "does not match index.json" in _one_line(e)

    d = fresh("faiss")  # a FAISS file that is there is read (format 2 wrote flat ones too)
    raw = faiss.serialize_index(index._frames).tobytes()
    (d / "frames.faiss").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "frames.faiss: corrupt FAISS index" in _one_line(e)

    d = fresh("ivf")  # an IVF index is its training: without its file the index is incomplete
    meta_ivf = json.loads((d / "index.json").read_text())
    (d / "index.json").write_text(json.dumps({**meta_ivf, "kind": "ivf"}))
    with pytest.raises(VidaugError) as e:
        EmbeddingIndex.load(d)
    assert "frames.faiss: missing" in _one_line(e)


def test_append_then_search_finds_new_clips(index: EmbeddingIndex, tmp_path) -> None:
    clips, fe, fc = make_data(n=4, seed=7, prefix="new")
    n0, f0 = len(index), index.n_frames
    index.append(clips, fe, fc)
    assert len(index) == n0 + 4 and index.n_frames == f0 + len(fe)
    assert index.position("new002.mp4") == n0 + 2
    np.testing.assert_array_equal(index.frame_clip[f0:], fc + n0)
    _, ids = index.search_clips(index.clip_emb[n0:], 1)
    np.testing.assert_array_equal(ids[:, 0], np.arange(n0, n0 + 4))
    _, rows = index.search_frames(fe, 1)
    np.testing.assert_array_equal(index.frame_clip[rows[:, 0]], fc + n0)
    loaded = EmbeddingIndex.load(index.save(tmp_path / "idx"))
    assert loaded.ids == index.ids
    with pytest.raises(ValueError, match="duplicate clip id 'new000.mp4'"):
        index.append(clips[:1], fe[fc == 0], np.zeros((fc == 0).sum(), np.int64))
    with pytest.raises(IndexMismatchError):
        index.append([{"id": "x"}], np.ones((1, 8), np.float32), np.zeros(1, np.int64))
    assert len(index) == n0 + 4  # failed appends change nothing


def _clustered(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, d))
    return unit(centres[rng.integers(0, 64, n)] + 0.5 * rng.normal(size=(n, d)))


def test_ivf_recall_and_append(tmp_path) -> None:
    n, d = 20_000, 32
    x = _clustered(n, d, 0)
    clips = [{"id": f"v{i}"} for i in range(n)]
    index = EmbeddingIndex.build(clips, x, np.arange(n), model_id="m", flat_threshold=1_000)
    assert index.kind == "ivf" and index.clip_kind == "ivf" and index.nprobe == 16
    rng = np.random.default_rng(1)
    q = unit(x[:400] + 0.05 * rng.normal(size=(400, d)))
    truth = np.argmax(q @ x.T, axis=1)
    sims, ids = index.search_clips(q, 5)
    assert (ids[:, 0] == truth).mean() >= 0.95
    np.testing.assert_allclose(sims[:, 0], np.einsum("qd,qd->q", q, x[ids[:, 0]]), atol=1e-5)
    # append goes into the trained lists; new vectors are found
    extra = _clustered(50, d, 2)
    index.append([{"id": f"w{i}"} for i in range(50)], extra, np.arange(50))
    _, ids = index.search_frames(extra, 1)
    assert (ids[:, 0] == np.arange(n, n + 50)).mean() >= 0.95
    index.nprobe = 4
    loaded = EmbeddingIndex.load(index.save(tmp_path / "ivf"))
    assert loaded.kind == "ivf" and loaded.nprobe == 4
    for a, b in zip(loaded.search_clips(q[:20], 3), index.search_clips(q[:20], 3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ivf_is_deterministic_and_kind_auto_splits() -> None:
    x = _clustered(3_000, 16, 3)
    clips = [{"id": f"c{i // 3}"} for i in range(0, 3_000, 3)]
    fc = np.arange(3_000) // 3
    a = EmbeddingIndex.build(clips, x, fc, model_id="m", flat_threshold=2_000, seed=5)
    b = EmbeddingIndex.build(clips, x, fc, model_id="m", flat_threshold=2_000, seed=5)
    assert (a.kind, a.clip_kind) == ("ivf", "flat")  # 3000 frames, 1000 clips
    for u, v in zip(a.search_frames(x[:50], 4), b.search_frames(x[:50], 4), strict=True):
        np.testing.assert_array_equal(u, v)


def test_ivfpq_reranks_exactly() -> None:
    x = _clustered(1_000, 16, 4)
    index = EmbeddingIndex.build(
        [{"id": str(i)} for i in range(1_000)], x, np.arange(1_000), model_id="m", kind="ivfpq"
    )
    assert index.kind == "ivfpq"
    sims, ids = index.search_frames(x[:100], 3)
    assert (ids[:, 0] == np.arange(100)).mean() >= 0.9
    np.testing.assert_allclose(sims[:, 0], np.einsum("qd,qd->q", x[:100], x[ids[:, 0]]), atol=1e-5)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "rename-aside"])
def test_save_is_atomic(index: EmbeddingIndex, tmp_path, monkeypatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(_store, "_exchange", lambda a, b: False)
    dest = index.save(tmp_path / "idx")
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    clips, fe, fc = make_data(n=5, seed=9, prefix="other")
    other = EmbeddingIndex.build(clips, fe, fc, model_id="other")
    real = np.save
    calls = []

    def flaky(file, arr, *a, **k):  # the second array written fails
        calls.append(file)
        if len(calls) == 2:
            raise OSError("disk full")
        real(file, arr, *a, **k)

    monkeypatch.setattr(np, "save", flaky)
    with pytest.raises(OSError, match="disk full"):
        other.save(dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]  # no temp dirs left behind
    assert EmbeddingIndex.load(dest).ids == index.ids
    calls.clear()
    with pytest.raises(OSError):
        other.save(tmp_path / "fresh")
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]
    monkeypatch.setattr(np, "save", real)
    other.save(dest)  # a successful save replaces the old index
    assert EmbeddingIndex.load(dest, model_id="other").ids == other.ids
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]


def test_save_refuses_to_clobber_non_index(index: EmbeddingIndex, tmp_path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(VidaugError, match="not a vidaug index"):
        index.save(tmp_path / "photos")
    (tmp_path / "file").write_text("x")
    with pytest.raises(VidaugError, match="not a directory"):
        index.save(tmp_path / "file")
    assert (tmp_path / "photos" / "a.jpg").exists()


def test_ivf_batched_search_matches_per_query(monkeypatch) -> None:
    """Large query batches are searched list by list: same lists, exact similarities."""
    n, d = 6_000, 16
    x = _clustered(n, d, 7)
    index = EmbeddingIndex.build(
        [{"id": str(i)} for i in range(n)], x, np.arange(n), model_id="m", flat_threshold=1_000
    )
    assert index.kind == "ivf" and index._frames is index._clips  # one frame a clip: shared
    sims, ids = index.search_clips(index.clip_emb, 4)  # 6000 queries ≥ _BATCH_QUERIES
    assert (ids[:, 0] == np.arange(n)).all()
    np.testing.assert_allclose(sims, np.einsum("qd,qkd->qk", x, x[np.maximum(ids, 0)]), atol=1e-5)
    monkeypatch.setattr(_faiss, "_BATCH_QUERIES", 10**9)  # per-query FAISS search + re-rank
    s2, i2 = index.search_clips(index.clip_emb[:500], 4)
    assert (i2 == ids[:500]).mean() >= 0.99
