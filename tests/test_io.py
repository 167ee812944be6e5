"""Clip reading/writing, atomic files and FFmpeg log silencing (vidaug.datasets._io)."""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, make_clip

from vidaug.datasets import (
    Clip,
    _io,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    load_rows,
    quiet_ffmpeg,
    read_clip,
    sample_clips_dir,
    write_clip,
)
from vidaug.errors import VideoReadError, VideoWriteError

T, H, W, FPS = 12, 48, 64, 25.0
_RealWriter, _RealCapture = cv2.VideoWriter, cv2.VideoCapture  # before any monkeypatch


@pytest.fixture
def frames() -> np.ndarray:
    return make_clip(T, H, W)


@pytest.fixture
def mp4(tmp_path: Path, frames: np.ndarray) -> Path:
    return write_clip(tmp_path / "clip.mp4", frames, FPS)


@pytest.fixture
def avi60(tmp_path: Path) -> Path:
    """A 60-frame Motion-JPEG AVI (every frame decodes on its own)."""
    return write_clip(tmp_path / "long.avi", make_clip(60, H, W, seed=3), FPS)


def sample(name: str) -> Path:
    return next(sample_clips_dir().glob(f"*/{name}"))


def boxes(data: bytes) -> list[tuple[str, int, int]]:
    """Top-level ISO-BMFF boxes: (type, start, end)."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        out.append((kind.decode("latin-1"), pos, pos + size))
        pos += size
    return out


def garbled(src: Path, dst: Path) -> Path:
    """A copy of ``src`` whose middle third is overwritten with seeded random bytes."""
    data = bytearray(src.read_bytes())
    n = len(data)
    data[n // 3 : 2 * n // 3] = np.random.default_rng(0).bytes(2 * n // 3 - n // 3)
    dst.write_bytes(bytes(data))
    return dst


def without_box(src: Path, dst: Path, kind: str) -> Path:
    data = src.read_bytes()
    dst.write_bytes(b"".join(data[a:b] for k, a, b in boxes(data) if k != kind))
    return dst


def zeroed_mdat(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    for k, a, b in boxes(bytes(data)):
        if k == "mdat":
            data[a + 8 : b] = bytes(b - a - 8)
    dst.write_bytes(bytes(data))
    return dst


def cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


# ---------------------------------------------------------------------------------------------
# write_clip
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "max_err"), [(".mp4", 6.0), (".m4v", 6.0), (".mov", 6.0), (".avi", 9.0)]
)
def test_round_trip_keeps_shape_fps_and_pixels(tmp_path, frames, suffix, max_err):
    out = write_clip(tmp_path / f"rt{suffix}", frames, FPS)
    clip = read_clip(out)
    assert clip.frames.shape == frames.shape
    assert clip.fps == pytest.approx(FPS)
    err = np.abs(clip.frames.astype(np.int16) - frames).mean()
    assert err < max_err  # mp4v ≈ 3.5, MJPG ≈ 6.5 on this noisy texture


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".avi"])
def test_write_is_byte_deterministic(tmp_path, frames, suffix):
    a = write_clip(tmp_path / f"a{suffix}", frames, 29.97)
    b = write_clip(tmp_path / "other" / f"b{suffix}", frames, 29.97)
    assert a.read_bytes() == b.read_bytes()


def test_write_converts_rgb_to_bgr_and_back(tmp_path):
    red = np.zeros((4, 32, 32, 3), np.uint8)
    red[..., 0] = 220
    clip = read_clip(write_clip(tmp_path / "red.mp4", red, 10))
    means = clip.frames.reshape(-1, 3).mean(axis=0)
    assert means[0] > 180 and means[1] < 40 and means[2] < 40


def test_write_leaves_only_the_destination(tmp_path, frames):
    out = write_clip(tmp_path / "sub" / "x.mp4", frames, FPS)
    assert out == tmp_path / "sub" / "x.mp4"
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.mp4"]


def test_write_without_suffix_writes_mp4(tmp_path, frames):
    out = write_clip(tmp_path / "noext", frames, FPS)
    assert out.name == "noext.mp4" and out.is_file()
    assert read_clip(out).frames.shape == frames.shape


def test_write_accepts_non_contiguous_frames(tmp_path, frames):
    flipped = frames[:, ::-1]
    clip = read_clip(write_clip(tmp_path / "f.mp4", flipped, FPS))
    assert np.abs(clip.frames.astype(np.int16) - flipped).mean() < 6.0


@pytest.mark.parametrize(
    ("name", "arr", "fps", "match"),
    [
        ("x.mp4", make_clip(2, 48, 64).astype(np.float32), 25, "uint8"),
        ("x.mp4", make_clip(2, 48, 64)[0], 25, "shape"),
        ("x.mp4", np.zeros((2, 48, 64, 4), np.uint8), 25, "shape"),
        ("x.mp4", np.zeros((0, 48, 64, 3), np.uint8), 25, "empty"),
        ("x.mp4", make_clip(2, 47, 64), 25, "even"),
        ("x.mp4", make_clip(2, 48, 63), 25, "even"),
        ("x.mp4", make_clip(2, 48, 64), 0, "fps"),
        ("x.mp4", make_clip(2, 48, 64), float("nan"), "fps"),
        ("x.mp4", make_clip(2, 48, 64).tolist(), 25, "numpy"),
        ("x.mkv", make_clip(2, 48, 64), 25, "cannot write"),
        ("x.webm", make_clip(2, 48, 64), 25, "cannot write"),
        ("x.txt", make_clip(2, 48, 64), 25, "cannot write"),
    ],
)
def test_write_rejects_bad_input(tmp_path, name, arr, fps, match):
    with pytest.raises(ValueError, match=match):
        write_clip(tmp_path / name, arr, fps)
    assert list(tmp_path.iterdir()) == []


class _FailingWriter:
    """Wraps a real cv2.VideoWriter; ``write`` raises after ``ok`` frames."""

    def __init__(self, *args, ok: int = 2):
        self._w = _RealWriter(*args)
        self._left = ok

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self._w.isOpened()

    def write(self, frame):
        if self._left == 0:
            raise OSError("disk full (simulated)")
        self._left -= 1
        self._w.write(frame)

    def release(self):
        self._w.release()


def test_failure_mid_write_leaves_no_file(tmp_path, frames, monkeypatch):
    dest = tmp_path / "x.mp4"
    monkeypatch.setattr(_io.cv2, "VideoWriter", _FailingWriter)
    with pytest.raises(OSError, match="disk full"):
        write_clip(dest, frames, FPS)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_keeps_the_old_file(tmp_path, frames, monkeypatch):
    dest = write_clip(tmp_path / "x.mp4", frames, FPS)
    before = dest.read_bytes()
    monkeypatch.setattr(_io.cv2, "VideoWriter", _FailingWriter)
    with pytest.raises(OSError):
        write_clip(dest, frames[::-1].copy(), FPS)
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_writer_that_cannot_open_raises_video_write_error(tmp_path, frames, monkeypatch):
    class Closed:
        def __init__(self, *args):
            pass

        def isOpened(self):  # noqa: N802
            return False

        def release(self):
            pass

    monkeypatch.setattr(_io.cv2, "VideoWriter", Closed)
    dest = tmp_path / "x.mp4"
    with pytest.raises(VideoWriteError, match=re.escape(str(dest))):
        write_clip(dest, frames, FPS)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# read_clip options
# ---------------------------------------------------------------------------------------------


def test_read_default(mp4, frames):
    clip = read_clip(mp4)
    assert isinstance(clip, Clip)
    assert clip.frames.dtype == np.uint8 and clip.frames.flags["C_CONTIGUOUS"]
    assert clip.frames.shape == (T, H, W, 3)
    assert clip.fps == clip.source_fps == pytest.approx(FPS)
    assert clip.source_size == (H, W)
    assert clip.frame_count == T
    assert clip.path == str(mp4)
    assert clip.indices.dtype == np.int64 and clip.indices.tolist() == list(range(T))
    assert clip.truncated is False


@pytest.mark.parametrize("stride", [1, 2, 3, 5, 20])
def test_read_stride(mp4, stride):
    full = read_clip(mp4)
    clip = read_clip(mp4, stride=stride)
    assert clip.indices.tolist() == list(range(0, T, stride))
    np.testing.assert_array_equal(clip.frames, full.frames[::stride])
    assert clip.fps == pytest.approx(FPS / stride)
    assert clip.frame_count == T  # skipped frames are still read to the end


@pytest.mark.parametrize("target", [10.0, 12.5, 24.0, 3.0])
def test_read_fps_picks_nearest_source_frames(mp4, target):
    full = read_clip(mp4)
    clip = read_clip(mp4, fps=target)
    step = FPS / target
    expected = [i for i in (math.floor(k * step + 0.5) for k in range(T)) if i < T]
    assert clip.indices.tolist() == expected
    assert len(clip.frames) == math.ceil(T * target / FPS - 1e-9)
    for t, i in enumerate(clip.indices):  # each kept frame is the one nearest to t / fps
        assert abs(i / FPS - t / target) <= 0.5 / FPS + 1e-9
    np.testing.assert_array_equal(clip.frames, full.frames[clip.indices])
    assert clip.fps == pytest.approx(target)


@pytest.mark.parametrize("target", [FPS, 30.0, 120.0])
def test_read_fps_at_or_above_source_keeps_every_frame_once(mp4, target):
    clip = read_clip(mp4, fps=target)
    assert clip.indices.tolist() == list(range(T))
    assert clip.fps == pytest.approx(FPS)


@pytest.mark.parametrize(
    ("kwargs", "indices", "decoded"),
    [
        ({"max_frames": 5}, [0, 1, 2, 3, 4], 5),
        ({"max_frames": 1}, [0], 1),
        ({"max_frames": 500}, list(range(T)), T),
        ({"max_frames": 3, "stride": 4}, [0, 4, 8], 9),
        ({"max_frames": 2, "fps": 10.0}, [0, 3], 4),
    ],
)
def test_read_max_frames_stops_decoding(mp4, kwargs, indices, decoded):
    clip = read_clip(mp4, **kwargs)
    assert clip.indices.tolist() == indices
    assert len(clip.frames) == len(indices)
    assert clip.frame_count == decoded
    assert clip.truncated is False


@pytest.mark.parametrize(
    ("size", "shape", "interp"),
    [
        (24, (24, 32), cv2.INTER_AREA),
        (25, (25, 33), cv2.INTER_AREA),  # 64 * 25 / 48 = 33.3 → 33
        (96, (96, 128), cv2.INTER_LINEAR),
        ((30, 40), (30, 40), cv2.INTER_AREA),
        ((60, 100), (60, 100), cv2.INTER_LINEAR),
        ((H, W), (H, W), None),
    ],
)
def test_read_size(mp4, size, shape, interp):
    full = read_clip(mp4)
    clip = read_clip(mp4, size=size)
    assert clip.frames.shape == (T, *shape, 3)
    assert clip.source_size == (H, W)
    if interp is None:
        np.testing.assert_array_equal(clip.frames, full.frames)
    else:
        want = cv2.resize(full.frames[3], shape[::-1], interpolation=interp)
        np.testing.assert_array_equal(clip.frames[3], want)


def test_read_size_shorter_side_of_portrait_clip(tmp_path):
    path = write_clip(tmp_path / "tall.mp4", make_clip(3, 64, 48), FPS)
    assert read_clip(path, size=24).frames.shape == (3, 32, 24, 3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stride": 0},
        {"stride": -1},
        {"stride": 1.5},
        {"max_frames": 0},
        {"max_frames": 2.0},
        {"fps": 0},
        {"fps": -5.0},
        {"fps": float("nan")},
        {"fps": "10"},
        {"stride": 2, "fps": 10.0},
        {"size": 0},
        {"size": (0, 10)},
        {"size": (10,)},
        {"size": "big"},
        {"size": True},
    ],
)
def test_read_rejects_bad_arguments(mp4, kwargs):
    with pytest.raises(ValueError):
        read_clip(mp4, **kwargs)


class _LyingCapture:
    """A cv2.VideoCapture whose container claims (fps, frame count) are overridden."""

    fps: float = 0.0
    count: float | None = None

    def __init__(self, *args):
        self._cap = _RealCapture(*args)

    def get(self, prop):
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT and self.count is not None:
            return self.count
        return self._cap.get(prop)

    def __getattr__(self, name):
        return getattr(self._cap, name)


@pytest.mark.parametrize("claimed_fps", [0.0, float("nan"), -1.0])
def test_read_falls_back_to_30_fps(mp4, monkeypatch, claimed_fps):
    monkeypatch.setattr(_LyingCapture, "fps", claimed_fps)
    monkeypatch.setattr(_io.cv2, "VideoCapture", _LyingCapture)
    clip = read_clip(mp4, stride=2)
    assert clip.source_fps == 30.0 and clip.fps == 15.0


@pytest.mark.parametrize(
    ("claimed", "truncated"),
    [(T + 2, False), (0, False), (-1, False), (float("nan"), False), (T + 3, True), (200, True)],
)
def test_truncation_threshold_on_container_count(mp4, monkeypatch, claimed, truncated):
    monkeypatch.setattr(_LyingCapture, "fps", FPS)
    monkeypatch.setattr(_LyingCapture, "count", claimed)
    monkeypatch.setattr(_io.cv2, "VideoCapture", _LyingCapture)
    if truncated:
        with pytest.raises(VideoReadError, match=f"decoded {T} of {int(claimed)} frames"):
            read_clip(mp4)
        assert read_clip(mp4, allow_truncated=True).truncated
        assert not read_clip(mp4, max_frames=4).truncated  # stopping on purpose is not damage
    else:
        assert len(read_clip(mp4).frames) == T


# ---------------------------------------------------------------------------------------------
# read_clip errors and damaged files
# ---------------------------------------------------------------------------------------------


def _missing(d: Path, mp4: Path, avi: Path) -> Path:
    return d / "nope.mp4"


def _directory(d: Path, mp4: Path, avi: Path) -> Path:
    (d / "folder.mp4").mkdir()
    return d / "folder.mp4"


def _text(d: Path, mp4: Path, avi: Path) -> Path:
    (d / "notes.mp4").write_text("this is not a video\n" * 20)
    return d / "notes.mp4"


def _empty(d: Path, mp4: Path, avi: Path) -> Path:
    (d / "empty.mp4").write_bytes(b"")
    return d / "empty.mp4"


def _cut_mp4(d: Path, mp4: Path, avi: Path) -> Path:
    return cut(mp4, d / "cut.mp4", 0.5)  # our mp4s keep their index (moov) at the end


def _no_moov(d: Path, mp4: Path, avi: Path) -> Path:
    return without_box(mp4, d / "nomoov.mp4", "moov")


def _zero_mdat(d: Path, mp4: Path, avi: Path) -> Path:
    return zeroed_mdat(mp4, d / "zero.mp4")


def _avi_header_only(d: Path, mp4: Path, avi: Path) -> Path:
    data = avi.read_bytes()
    (d / "head.avi").write_bytes(data[: data.index(b"movi") + 4])
    return d / "head.avi"


def _cut_avi(d: Path, mp4: Path, avi: Path) -> Path:
    return cut(avi, d / "half.avi", 0.5)


def _cut_avi_tiny(d: Path, mp4: Path, avi: Path) -> Path:
    return cut(avi, d / "tiny.avi", 0.02)


@pytest.mark.parametrize(
    ("make", "reason", "message"),
    [
        (_missing, "missing", "file not found"),
        (_directory, "missing", "is a directory"),
        (_text, "not_a_video", r"not a readable video \(OpenCV could not open it\)$"),
        (_empty, "not_a_video", "empty file"),
        (_cut_mp4, "truncated", "the file ends inside its 'mdat' box"),
        (_no_moov, "unreadable", "'moov' index"),
        (_zero_mdat, "no_frames", rf"no frame could be decoded \(the container lists {T}\)"),
        (_avi_header_only, "no_frames", r"no frame could be decoded \(the container lists 60\)"),
        (_cut_avi, "truncated", r"stream is truncated: decoded \d+ of 60 frames"),
        (_cut_avi_tiny, "truncated", "AVI file has"),
    ],
)
def test_read_errors(tmp_path, mp4, avi60, make, reason, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    path = make(bad, mp4, avi60)
    with pytest.raises(VideoReadError) as info:
        read_clip(path)
    err = info.value
    assert err.reason == reason
    assert err.path == str(path)
    assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
    assert re.search(message, str(err))


@pytest.mark.parametrize("make", [_missing, _text, _empty, _cut_mp4, _zero_mdat])
def test_allow_truncated_does_not_hide_other_errors(tmp_path, mp4, avi60, make):
    with pytest.raises(VideoReadError):
        read_clip(make(tmp_path, mp4, avi60), allow_truncated=True)


def test_allow_truncated_keeps_the_frames_that_decode(tmp_path, avi60):
    full = read_clip(avi60)
    half = cut(avi60, tmp_path / "half.avi", 0.5)
    clip = read_clip(half, allow_truncated=True)
    assert clip.truncated is True
    n = len(clip.frames)
    assert 20 <= n <= 40 and clip.frame_count == n
    # intact frames decode exactly; the one the cut runs through may be partly decoded
    np.testing.assert_array_equal(clip.frames[:-1], full.frames[: n - 1])
    # a cap below what decodes is a deliberate stop, not damage
    assert read_clip(half, max_frames=10).truncated is False


def test_garbled_h264_stream_is_truncated(tmp_path):
    bad = garbled(sample("nofi148.mp4"), tmp_path / "garbled.mp4")
    with pytest.raises(VideoReadError, match=r"truncated: decoded \d+ of 60 frames") as info:
        read_clip(bad)
    assert info.value.reason == "truncated"
    clip = read_clip(bad, allow_truncated=True)
    assert clip.truncated and 0 < len(clip.frames) < 58


def test_read_accepts_path_like_and_odd_names(tmp_path, frames):
    path = write_clip(tmp_path / "100% fun #1 (é).mp4", frames, FPS)
    assert read_clip(path).frames.shape == frames.shape
    assert read_clip(str(path)).path == str(path)


# ---------------------------------------------------------------------------------------------
# FFmpeg / OpenCV logs never reach stderr
# ---------------------------------------------------------------------------------------------

NOISE = re.compile(r"@ 0x|moov atom|Invalid data|error while decoding|WARN|Unexpected element")

_SCRIPT = """
import sys
bad = sys.argv[1:]
mode = "{mode}"
if mode in ("raw", "cv2_used_first", "fd_fallback"):
    import cv2  # FFmpeg gets initialised with its default (noisy) log level
    for p in bad if mode == "raw" else bad[:1]:
        cap = cv2.VideoCapture(p)
        while cap.isOpened() and cap.read()[0]:
            pass
        cap.release()  # joins the decoder threads, which may still be logging
print("MARK", file=sys.stderr, flush=True)
if mode == "raw":
    sys.exit(0)
from vidaug.datasets import _quiet, read_clip
from vidaug.errors import VideoReadError
if mode == "fd_fallback":  # as on a platform where libavutil cannot be found
    _quiet._libavutil_candidates = lambda: []
for p in bad:
    for allow in (False, True):
        try:
            read_clip(p, allow_truncated=allow)
        except VideoReadError as e:
            print(e.reason)
print("log-level" if _quiet._ensure_quiet() else "fd2-redirect")
print("done", file=sys.stderr)
"""


@pytest.fixture(scope="module")
def damaged_files(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("damaged")
    src = sample("nofi148.mp4")
    avi = write_clip(d / "ok.avi", make_clip(30, H, W), FPS)
    return [
        str(garbled(src, d / "garbled.mp4")),
        str(cut(src, d / "cut.mp4", 0.5)),
        str(without_box(src, d / "nomoov.mp4", "moov")),
        str(zeroed_mdat(src, d / "zero.mp4")),
        str(cut(avi, d / "half.avi", 0.5)),
        str(_text(d, src, avi)),
    ]


def _run(mode: str, files: list[str]) -> tuple[str, str, str]:
    """Run the script; return (stderr before vidaug, stderr after, stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SCRIPT.format(mode=mode)), *files],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    before, _, after = res.stderr.partition("MARK\n")
    return before, after, res.stdout


def test_damaged_files_are_noisy_without_vidaug(damaged_files):
    """The control: OpenCV alone prints FFmpeg's decoder log for these files."""
    before, _, _ = _run("raw", damaged_files)
    assert NOISE.search(before)


@pytest.mark.parametrize("mode", ["fresh", "cv2_used_first", "fd_fallback"])
def test_ffmpeg_log_never_reaches_stderr(damaged_files, mode):
    before, after, stdout = _run(mode, damaged_files)
    if mode != "fresh":  # FFmpeg was initialised (and noisy) before vidaug was imported
        assert NOISE.search(before)
    assert after == "done\n"  # nothing but our own line: fd 2 works again afterwards
    assert stdout.split() == [
        "truncated",  # garbled h264; with allow_truncated it returns frames
        "truncated", "truncated",  # mp4 cut in half (index at the end): cannot open
        "unreadable", "unreadable",  # no moov box
        "no_frames", "no_frames",
        "truncated",  # avi cut in half; with allow_truncated it returns frames
        "not_a_video", "not_a_video",
        "fd2-redirect" if mode == "fd_fallback" else "log-level",
    ]  # fmt: skip


def test_quiet_ffmpeg_silences_fd2_and_restores_it(capfd):
    os.write(2, b"before\n")
    with quiet_ffmpeg():
        os.write(2, b"hidden\n")
        with quiet_ffmpeg():
            os.write(2, b"hidden too\n")
        os.write(2, b"still hidden\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_quiet_ffmpeg_restores_fd2_on_error(capfd):
    with pytest.raises(RuntimeError), quiet_ffmpeg():
        raise RuntimeError("boom")
    os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"


# ---------------------------------------------------------------------------------------------
# Atomic files
# ---------------------------------------------------------------------------------------------


def test_atomic_write_text_and_bytes(tmp_path):
    t = atomic_write_text(tmp_path / "a" / "x.json", "héllo\r\nworld\n")
    b = atomic_write_bytes(tmp_path / "a" / "y.bin", b"\x00\xff")
    assert t.read_bytes() == "héllo\r\nworld\n".encode()
    assert b.read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.json", "y.bin"]
    atomic_write_text(t, "new")
    assert t.read_text() == "new"


def test_atomic_path_names_the_temp_file_next_to_the_destination(tmp_path):
    dest = tmp_path / "clip.mp4"
    with atomic_path(dest) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".clip.mp4.") and tmp.name.endswith(".tmp.mp4")
        assert not tmp.exists()
        tmp.write_bytes(b"data")
        assert not dest.exists()
    assert dest.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_atomic_path_cleans_up_and_keeps_the_old_file_on_error(tmp_path):
    dest = tmp_path / "x.txt"
    dest.write_text("old")
    with pytest.raises(KeyError), atomic_path(dest) as tmp:
        tmp.write_text("half-written")
        raise KeyError("crash")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_atomic_temp_files_are_unique(tmp_path):
    with atomic_path(tmp_path / "x.mp4") as a, atomic_path(tmp_path / "x.mp4") as b:
        a.write_text("a")
        b.write_text("b")
        assert a != b
    assert (tmp_path / "x.mp4").read_text() == "a"  # the later replace… of the earlier exit
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


# ---------------------------------------------------------------------------------------------
# Bundled samples
# ---------------------------------------------------------------------------------------------


def test_sample_clips_are_real_readable_and_match_provenance():
    root = sample_clips_dir()
    provenance = (root / "PROVENANCE.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([\w/]+\.mp4)` \|.*\| `([0-9a-f]{64})` \|$", provenance, re.M))
    clips = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.mp4"))
    assert len(clips) >= 4 and sorted(table) == clips
    assert sum((root / c).stat().st_size for c in clips) < 1_500_000
    assert "MIT License\n\nCopyright (c) 2020" in (root / "LICENSE").read_text(encoding="utf-8")
    for rel in clips:
        path = root / rel
        assert hashlib.sha256(path.read_bytes()).hexdigest() == table[rel]
        frames = int(re.search(rf"`{rel}` \|[^|]*\|[^|]*\|[^|]*\| (\d+) \|", provenance)[1])
        clip = read_clip(path, size=64)
        assert clip.frame_count == frames and not clip.truncated
        assert clip.frames.std() > 5  # real footage, not a blank frame


def test_sample_clips_load_as_a_labeled_dataset():
    rows = load_rows(sample_clips_dir())
    assert {r.label for r in rows} == {"fight", "noFight"}
    assert all(r.rel.startswith(f"{r.label}/") for r in rows)


def test_importing_datasets_is_light():
    code = (
        "import sys, vidaug.datasets as d; "
        "heavy = [m for m in ('tensorflow', 'albumentations', 'keras') if m in sys.modules]; "
        "print(heavy, sorted(d.__all__) == sorted(set(d.__all__)))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["[]", "True"]
