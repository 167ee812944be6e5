"""Streaming (issue 11 §1): every chunkable transform gives, chunk by chunk, exactly the frames
of the in-memory path, for any chunk size, and the params record is the same."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_clip
from test_transforms import CASES, build

from vidaug.augment import PRESETS, Compose, iter_chunks, load_recipe, plan


def _stream(t, clip, seed, chunk):
    p = plan(t, clip.shape, seed=seed)
    reads = []

    def read(idx):
        reads.append(np.asarray(idx).copy())
        return clip[idx]

    out = np.concatenate(list(iter_chunks(p, read, chunk=chunk)))
    return p, out, reads


CHUNKABLE = sorted(n for n in CASES if build(n).chunkable and "albumentations" not in n)


@pytest.mark.parametrize("name", CHUNKABLE)
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_stream_equals_in_memory(name, chunk):
    t = build(name)
    clip = make_clip(11, 48, 64)
    for seed in range(3):
        want = t.augment(clip, seed=seed)
        p, got, reads = _stream(t, clip, seed, chunk)
        assert p.record == want.params
        assert p.out_shape == want.clip.shape
        np.testing.assert_array_equal(got, want.clip)
        assert max(len(r) for r in reads) <= chunk  # never more than a chunk in memory


@pytest.mark.parametrize("name", PRESETS)
def test_presets_stream(name):
    t = load_recipe(name).transform
    clip = make_clip(20, 48, 64)
    for seed in range(4):
        want = t.augment(clip, seed=seed)
        p, got, _ = _stream(t, clip, seed, 7)
        assert p.streamable
        np.testing.assert_array_equal(got, want.clip)


def test_temporal_chains_stream():
    """Temporal maps compose backwards: padding, reversal, speed and time-varying steps before
    and after them."""
    spec = {
        "name": "Compose",
        "transforms": [
            {"name": "SensorNoise", "sigma": [5, 10]},
            {"name": "Speed", "rate": [0.5, 0.6]},
            {"name": "CameraShake", "max_shift": 0.05},
            {"name": "Reverse"},
            {"name": "ColorJitter", "temporal": "smooth"},
            {"name": "TemporalCrop", "length": 40, "pad": "zeros"},
            {"name": "FrameDrop", "rate": [0.2, 0.4]},
            {"name": "Affine", "rotate": [-10, 10], "temporal": "smooth"},
        ],
    }
    from vidaug.augment import from_dict

    t = from_dict(spec)
    clip = make_clip(9, 32, 48)
    assert isinstance(t, Compose)
    for seed in range(5):
        want = t.augment(clip, seed=seed).clip
        _, got, _ = _stream(t, clip, seed, 4)
        np.testing.assert_array_equal(got, want)


def test_whole_clip_transforms_refuse_to_stream():
    from vidaug.augment import Anonymize

    p = plan(Compose([Anonymize()]), (5, 32, 32, 3), seed=0)
    assert not p.streamable
    with pytest.raises(NotImplementedError, match="cannot stream"):
        next(iter_chunks(p, lambda i: np.zeros((len(i), 32, 32, 3), np.uint8)))


def test_long_padding_needs_no_memory():
    """`TemporalCrop length: 100000` on a short clip died with MemoryError in memory; planned,
    it is 100000 frames of output produced a chunk at a time."""
    from vidaug.augment import TemporalCrop

    p = plan(TemporalCrop(length=100_000, pad="loop"), (10, 16, 16, 3), seed=0)
    assert p.out_shape == (100_000, 16, 16, 3)
    clip = make_clip(10, 16, 16)
    it = iter_chunks(p, lambda i: clip[i], chunk=8)
    first = next(it)
    assert first.shape == (8, 16, 16, 3)


def test_video_source_reads_any_frames_and_writer_matches_write_clip(tmp_path):
    from vidaug.datasets import ClipWriter, VideoSource, probe_video, read_clip, write_clip

    clip = make_clip(40, 32, 48)
    src = write_clip(tmp_path / "a.mp4", clip, 25.0)
    info = probe_video(src)
    assert (info.frames, info.height, info.width, info.fps) == (40, 32, 48, 25.0)
    full = read_clip(src).frames
    with VideoSource(src, keep=4) as vs:
        for idx in ([0, 1, 2], [5, 5, 3], [39, 20, 0], [10, 11, 12], [1]):  # back and forth
            np.testing.assert_array_equal(vs.read(np.array(idx)), full[idx])
    with VideoSource(src, start=30) as vs:  # a segment starting at frame 30
        np.testing.assert_array_equal(vs.read(np.arange(10)), full[30:40])
    with ClipWriter(tmp_path / "b.mp4", 25.0, (32, 48)) as w:
        for a in range(0, 40, 7):
            w.write(full[a : a + 7])
    assert (tmp_path / "b.mp4").read_bytes() == write_clip(
        tmp_path / "c.mp4", full, 25.0
    ).read_bytes()


def test_clip_writer_leaves_nothing_on_failure(tmp_path):
    from vidaug.datasets import ClipWriter

    with pytest.raises(RuntimeError), ClipWriter(tmp_path / "x.mp4", 25.0, (16, 16)) as w:
        w.write(np.zeros((3, 16, 16, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
