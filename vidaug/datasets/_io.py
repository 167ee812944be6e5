"""Reading clips: the video decode edge of vidaug (writing: :mod:`vidaug.datasets._stream`,
atomic files: ``_atomic``).

A clip in memory is ``np.ndarray`` ``(T, H, W, 3)`` uint8 **RGB**. :func:`read_clip` (and the
streaming :class:`~vidaug.datasets.VideoSource`) convert OpenCV's BGR frames to RGB, and
:class:`~vidaug.datasets.ClipWriter` converts them back. The capture helpers here
(:func:`open_capture`, :func:`capture_fps`, :func:`capture_count`, :func:`is_truncated`) are
the one home of what every reader asks of a file.

FFmpeg's and OpenCV's logs never reach the terminal (see :mod:`vidaug.datasets._quiet`, which
imports ``cv2`` for this module); capture always uses ``cv2.CAP_FFMPEG``: with ``CAP_ANY`` a file
FFmpeg rejects goes on to OpenCV's own AVI parser, which prints ``Unexpected element …``
straight to stderr.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidaug.datasets._quiet import (
    count_decode_errors,
    cv2,
    decode_errors,
    maybe_quiet,
    quiet_ffmpeg,
)  # cv2, with its logs set up
from vidaug.errors import VideoReadError

__all__ = [
    "COUNTED_CONTAINERS",
    "DEFAULT_FPS",
    "VIDEO_EXTENSIONS",
    "Clip",
    "capture_count",
    "capture_fps",
    "check_fps",
    "check_video_file",
    "container_defect",
    "grab_count",
    "is_truncated",
    "open_capture",
    "quiet_ffmpeg",
    "read_clip",
    "unopenable_error",
]

VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".avi",
    ".mkv",
    ".mov",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
)

#: The frame rate of a file whose container reports none (0 or NaN).
DEFAULT_FPS = 30.0

# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """A decoded clip and where it came from.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 RGB, C-contiguous.
        fps: frame rate of ``frames`` (after ``stride`` / ``fps`` resampling).
        source_fps: the container's frame rate (30.0 when it reports 0 or NaN).
        source_size: ``(height, width)`` of the file's frames.
        frame_count: frames decoded from the file before stopping (counted, not the container's
            claim).
        path: the file read.
        indices: ``(T,)`` int64 source frame index of each returned frame.
        truncated: decoding stopped early on a damaged stream (only with ``allow_truncated``).
        decode_errors: errors the decoder reported while reading (damaged frames inside the
            stream decode as garbled blocks; 0 for a clean file).
    """

    frames: np.ndarray
    fps: float
    source_fps: float
    source_size: tuple[int, int]
    frame_count: int
    path: str
    indices: np.ndarray
    truncated: bool = False
    decode_errors: int = 0


def _target_size(size: int | tuple[int, int] | None, h: int, w: int) -> tuple[int, int]:
    if size is None:
        return h, w
    if isinstance(size, (int, np.integer)):
        scale = int(size) / min(h, w)
        if h <= w:
            return int(size), max(1, round(w * scale))
        return max(1, round(h * scale)), int(size)
    return int(size[0]), int(size[1])


def _check_size(size) -> None:
    if size is None:
        return
    if isinstance(size, bool):
        raise ValueError(f"size must be an int or (height, width), got {size!r}")
    if isinstance(size, (int, np.integer)):
        if size < 1:
            raise ValueError(f"size must be ≥ 1, got {size}")
        return
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        if min(size) < 1:
            raise ValueError(f"size must be ≥ 1, got {tuple(size)}")
        return
    raise ValueError(f"size must be an int (shorter side) or (height, width), got {size!r}")


def _resize(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    if (h, w) == hw:
        return frame
    shrink = hw[0] <= h and hw[1] <= w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(frame, (hw[1], hw[0]), interpolation=interp)


def check_video_file(shown: str) -> Path:
    """The checks before OpenCV opens a file: it exists, is a file and is not empty.

    Raises:
        VideoReadError: ``missing`` or ``not_a_video`` (0 bytes).
    """
    p = Path(shown)
    if not p.exists():
        raise VideoReadError(shown, "file not found", reason="missing")
    if p.is_dir():
        raise VideoReadError(shown, "is a directory, not a video file", reason="missing")
    if p.stat().st_size == 0:
        raise VideoReadError(shown, "empty file (0 bytes), not a video", reason="not_a_video")
    return p


def _iso_defect(f, size: int) -> tuple[str, str] | None:
    """Walk an MP4/MOV file's top-level boxes: one running past the end of the file, or no
    ``moov`` index box at all, is a defect."""
    boxes: list[str] = []
    pos = 0
    while pos + 8 <= size:
        f.seek(pos)
        hdr = f.read(16)
        box_size, kind = struct.unpack(">I4s", hdr[:8])
        # a damaged file's bytes, shown as printable ASCII (\xNN for the others)
        name = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in kind)
        if box_size == 1 and len(hdr) == 16:
            box_size = struct.unpack(">Q", hdr[8:16])[0]
        elif box_size == 0:
            box_size = size - pos
        if box_size < 8:
            break
        boxes.append(name)
        if pos + box_size > size:
            return (
                f"stream is truncated: the file ends inside its '{name}' box "
                f"({size - pos} of {box_size} bytes)",
                "truncated",
            )
        pos += box_size
    if "moov" not in boxes:
        return "MP4/MOV file without its 'moov' index box", "unreadable"
    return None


def container_defect(path: Path) -> tuple[str, str] | None:
    """What is wrong with a file's container, seen without decoding: an MP4/MOV whose boxes run
    past the end of the file or that lacks its ``moov`` index box, or an AVI shorter than its
    RIFF header says. A file cut short (a full disk, an interrupted copy) shows here, for the
    cost of a few small reads.

    Returns:
        ``(message, reason)`` (a :class:`~vidaug.errors.VideoReadError` reason: ``truncated``
        or ``unreadable``), or None when the structure is whole or the container is another.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
            if head[4:8] == b"ftyp":  # ISO base media (mp4/mov/m4v)
                return _iso_defect(f, size)
    except OSError as e:
        return f"cannot read the file ({e.strerror})", "unreadable"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        declared = struct.unpack("<I", head[4:8])[0] + 8
        if declared > size:
            return f"stream is truncated: the AVI file has {size} of {declared} bytes", "truncated"
    return None


def unopenable_error(path: Path, shown: str) -> VideoReadError:
    """Why OpenCV could not open an existing, non-empty file (cheap container checks)."""
    defect = container_defect(path)
    if defect is not None:
        msg, reason = defect
        if not msg.startswith("cannot read"):
            msg += (
                " and OpenCV could not open it"
                if reason == "truncated"
                else "; OpenCV could not open it"
            )
        return VideoReadError(shown, msg, reason=reason)
    with open(path, "rb") as f:
        head = f.read(12)
    if head[4:8] == b"ftyp":
        return VideoReadError(
            shown, "damaged MP4/MOV file (OpenCV could not open it)", reason="unreadable"
        )
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return VideoReadError(
            shown, "damaged AVI file (OpenCV could not open it)", reason="unreadable"
        )
    return VideoReadError(
        shown, "not a readable video (OpenCV could not open it)", reason="not_a_video"
    )


#: Containers whose frame count (``CAP_PROP_FRAME_COUNT``) is stored, not estimated
#: (Matroska / WebM estimate it from the duration, often off by a few frames).
COUNTED_CONTAINERS = frozenset({".mp4", ".m4v", ".mov", ".avi"})

#: Frames a stream may fall short of its container's count before it counts as truncated: 2, or
#: 2% of the count for long clips (containers round their duration, so a whole file can decode
#: a frame or two fewer than it claims).
TRUNCATION_SLACK_FRAMES = 2
TRUNCATION_SLACK_SHARE = 0.02


def is_truncated(decoded: int, claimed: int) -> bool:
    """Whether a stream that decoded ``decoded`` frames of the ``claimed`` ones (the
    container's count; 0: unknown) stopped clearly early: the one truncation rule of vidaug."""
    slack = max(TRUNCATION_SLACK_FRAMES, TRUNCATION_SLACK_SHARE * claimed)
    return bool(claimed) and decoded < claimed - slack


def open_capture(shown: str) -> cv2.VideoCapture:
    """An opened FFmpeg capture of a video file, decoder errors counted from here on.

    Raises:
        VideoReadError: missing, empty or unopenable file (why, from :func:`container_defect`).
    """
    p = check_video_file(shown)
    cap = cv2.VideoCapture(shown, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise unopenable_error(p, shown)
    count_decode_errors()
    return cap


def capture_fps(cap: cv2.VideoCapture) -> float:
    """The capture's frame rate (``DEFAULT_FPS`` when the container reports 0 or NaN)."""
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    return fps if math.isfinite(fps) and fps > 0 else DEFAULT_FPS


def capture_count(cap: cv2.VideoCapture) -> int:
    """The frame count the container states (0 when it states none)."""
    claimed = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(claimed) if math.isfinite(claimed) and claimed > 0 else 0


def grab_count(cap: cv2.VideoCapture) -> int:
    """Frames left in the capture, counted by grabbing (decoding, never converting) them."""
    n = 0
    while cap.grab():
        n += 1
    return n


def _selected(select: Callable[[int, float], Sequence[int]], n: int, fps: float) -> np.ndarray:
    idx = np.unique(np.asarray(select(n, fps), dtype=np.int64)) if n > 0 else np.zeros(0, int)
    return idx[(idx >= 0) & (idx < n)]


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int ≥ 1, got {value!r}")


def check_fps(fps) -> None:
    """Refuse a frame rate that is not a finite number > 0 (``ValueError`` naming ``fps``)."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)):
        raise ValueError(f"fps must be a number > 0, got {fps!r}")
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps!r}")


def _check_read_args(max_frames, stride, fps, size, select) -> None:
    """:func:`read_clip`'s argument checks (``ValueError`` naming the argument)."""
    _check_count("stride", stride)
    if max_frames is not None:
        _check_count("max_frames", max_frames)
    if fps is not None:
        check_fps(fps)
        if stride != 1:
            raise ValueError("stride and fps are mutually exclusive: give one of them")
    _check_size(size)
    if select is not None and (stride != 1 or fps is not None or max_frames is not None):
        raise ValueError("select is exclusive with stride, fps and max_frames")


@dataclass(frozen=True)
class _Want:
    """Which frames one decoding pass keeps: ``indices`` (sorted source indices) when given,
    else every ``step``-th frame (``stride``, or the ``fps`` resampling), at most
    ``max_frames``; ``size`` as :func:`read_clip` takes it."""

    indices: np.ndarray | None
    step: float
    max_frames: int | None
    size: int | tuple[int, int] | None

    def first(self) -> int:
        if self.indices is None:
            return 0
        return int(self.indices[0]) if len(self.indices) else -1

    def after(self, kept: int) -> int:
        """The source index to keep once ``kept`` frames are kept (-1: none)."""
        if self.indices is None:
            return math.floor(kept * self.step + 0.5)
        return int(self.indices[kept]) if kept < len(self.indices) else -1


@dataclass
class _Pass:
    """What one decoding pass over a file gave."""

    frames: list[np.ndarray] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    decoded: int = 0  # frames read from the file
    stopped_on_purpose: bool = False
    source_size: tuple[int, int] | None = None
    source_fps: float = DEFAULT_FPS
    claimed: int = 0
    step: float = 1.0
    wanted: np.ndarray | None = None
    errors: int = 0


def _keep_frames(cap: cv2.VideoCapture, want: _Want, out: _Pass) -> None:
    """Decode the capture to its end (or ``want.max_frames``), keeping the frames of ``want``
    in ``out``; the others are grabbed, never converted."""
    out_size: tuple[int, int] | None = None
    next_keep = want.first()
    while True:
        if want.max_frames is not None and len(out.frames) >= want.max_frames:
            out.stopped_on_purpose = True
            return
        keep = out.decoded == next_keep
        if keep:
            ok, bgr = cap.read()
        else:
            ok = cap.grab()  # skipped frames are decoded but never converted
        if not ok:
            return
        out.decoded += 1
        if not keep:
            continue
        if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            return
        if out.source_size is None:
            out.source_size = (int(bgr.shape[0]), int(bgr.shape[1]))
            out_size = _target_size(want.size, *out.source_size)
        # OpenCV decodes to BGR; this is the one place vidaug converts it to RGB.
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        out.frames.append(_resize(rgb, out_size))
        out.indices.append(out.decoded - 1)
        next_keep = want.after(len(out.frames))


def _decode(shown: str, wanted: np.ndarray | None, select, kw: dict) -> _Pass:
    """One pass over the file: keep the frames of ``wanted`` (sorted source indices), those
    ``select`` names (from the frame count) or the stride / fps / max_frames sample of ``kw``
    (:func:`read_clip`'s arguments)."""
    out = _Pass()
    with maybe_quiet():
        cap = open_capture(shown)
        try:
            errors_before = decode_errors()
            out.source_fps, out.claimed = capture_fps(cap), capture_count(cap)
            if wanted is None and select is not None:  # the sample needs the frame count
                n = out.claimed if Path(shown).suffix.lower() in COUNTED_CONTAINERS else 0
                if not n:
                    n = grab_count(cap)
                    cap.release()
                    cap = open_capture(shown)
                    errors_before = decode_errors()
                wanted = _selected(select, n, out.source_fps)
            fps, stride = kw["fps"], kw["stride"]
            slower = fps is not None and fps < out.source_fps
            out.step = out.source_fps / fps if slower else float(stride)
            out.wanted = wanted
            _keep_frames(cap, _Want(wanted, out.step, kw["max_frames"], kw["size"]), out)
        finally:
            cap.release()
    out.errors = decode_errors() - errors_before
    return out


def _to_clip(shown: str, got: _Pass, allow_truncated: bool) -> Clip:
    """The clip of a decoding pass, or why it is none (no frame, a truncated stream)."""
    if not got.frames:
        listed = f" (the container lists {got.claimed})" if got.claimed else ""
        raise VideoReadError(shown, f"no frame could be decoded{listed}", reason="no_frames")
    truncated = not got.stopped_on_purpose and is_truncated(got.decoded, got.claimed)
    if truncated and not allow_truncated:
        raise VideoReadError(
            shown,
            f"stream is truncated: decoded {got.decoded} of {got.claimed} frames",
            reason="truncated",
        )
    return Clip(
        frames=np.ascontiguousarray(np.stack(got.frames)),
        fps=float(got.source_fps / got.step),
        source_fps=got.source_fps,
        source_size=got.source_size,
        frame_count=got.decoded,
        path=shown,
        indices=np.asarray(got.indices, dtype=np.int64),
        truncated=truncated,
        decode_errors=got.errors,
    )


def read_clip(
    path: str | os.PathLike,
    *,
    max_frames: int | None = None,
    stride: int = 1,
    fps: float | None = None,
    size: int | tuple[int, int] | None = None,
    allow_truncated: bool = False,
    select: Callable[[int, float], Sequence[int]] | None = None,
) -> Clip:
    """Decode a video file into an RGB clip.

    Args:
        path: the video file.
        max_frames: keep at most this many frames (decoding stops there).
        stride: keep every ``stride``-th frame (0, k, 2k, …). Exclusive with ``fps``.
        fps: resample to this frame rate by keeping the source frames nearest to the times
            ``i / fps``. A rate at or above the source's keeps every frame (none duplicated).
        size: an int resizes the shorter side to it (aspect kept, the other side rounded);
            ``(height, width)`` resizes to exactly that. INTER_AREA when shrinking, INTER_LINEAR
            otherwise.
        allow_truncated: return the frames of a damaged stream that stops early (with
            ``truncated=True``) instead of raising.
        select: decode only some frames: ``select(frame_count, fps)`` names them (source
            indices). The count is the container's where it stores one (MP4, MOV, AVI), else
            counted by a grab-only pass; when decoding shows the count was wrong, the frames
            are selected again from the real count. The others are grabbed, never converted,
            so memory holds only the selected frames. Exclusive with ``stride``, ``fps`` and
            ``max_frames``.

    Returns:
        A :class:`Clip` (``indices``: the source index of each frame; ``frame_count``: the
        frames decoded from the file).

    Raises:
        ValueError: invalid arguments.
        VideoReadError: ``reason`` is ``missing`` (no such file, or a directory),
            ``not_a_video`` (empty, or OpenCV cannot open it), ``no_frames`` (opens but no frame
            decodes), ``truncated`` (decoding stops clearly before the container's frame count,
            or the file is cut short so it cannot open at all — then even with
            ``allow_truncated``) or ``unreadable`` (a damaged container).
    """
    _check_read_args(max_frames, stride, fps, size, select)
    shown = os.fspath(path)
    check_video_file(shown)
    kw = {"max_frames": max_frames, "stride": stride, "fps": fps, "size": size}
    got = _decode(shown, None, select, kw)
    if select is not None and got.decoded:
        again = _selected(select, got.decoded, got.source_fps)
    else:
        again = None
    if again is not None and not np.array_equal(got.wanted, again):
        # the container's frame count was wrong: sample the frames that are really there
        got = _decode(shown, again, select, kw)
    return _to_clip(shown, got, allow_truncated)
