"""Reading and writing clips: the video I/O edge of vidaug (atomic files: ``_atomic``).

A clip in memory is ``np.ndarray`` ``(T, H, W, 3)`` uint8 **RGB**. :func:`read_clip` is the one
place where OpenCV's BGR frames are converted to RGB, and :func:`write_clip` the one place where
they are converted back.

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
from dataclasses import dataclass
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
    "VIDEO_EXTENSIONS",
    "Clip",
    "quiet_ffmpeg",
    "read_clip",
    "write_clip",
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

# Containers write_clip produces, with their fourcc. Matroska/WebM are left out on purpose: the
# muxer writes a random segment UID, so the same frames would not give the same bytes.
_WRITE_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}
_DEFAULT_FPS = 30.0

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


def _sniff_unopenable(path: Path, shown: str) -> VideoReadError:
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
_COUNTED = frozenset({".mp4", ".m4v", ".mov", ".avi"})


def _selected(select: Callable[[int, float], Sequence[int]], n: int, fps: float) -> np.ndarray:
    idx = np.unique(np.asarray(select(n, fps), dtype=np.int64)) if n > 0 else np.zeros(0, int)
    return idx[(idx >= 0) & (idx < n)]


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
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an int ≥ 1, got {stride!r}")
    if max_frames is not None and (
        isinstance(max_frames, bool)
        or not isinstance(max_frames, (int, np.integer))
        or max_frames < 1
    ):
        raise ValueError(f"max_frames must be an int ≥ 1, got {max_frames!r}")
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)):
            raise ValueError(f"fps must be a number > 0, got {fps!r}")
        if not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        if stride != 1:
            raise ValueError("stride and fps are mutually exclusive: give one of them")
    _check_size(size)
    if select is not None and (stride != 1 or fps is not None or max_frames is not None):
        raise ValueError("select is exclusive with stride, fps and max_frames")

    shown = os.fspath(path)
    p = check_video_file(shown)

    def decode(wanted: np.ndarray | None):
        """One pass over the file: keep the frames of ``wanted`` (sorted source indices), or
        the stride / fps / max_frames sample when it is None; grab (never convert) the rest."""
        with maybe_quiet():
            cap = cv2.VideoCapture(shown, cv2.CAP_FFMPEG)
            try:
                if not cap.isOpened():
                    raise _sniff_unopenable(p, shown)
                count_decode_errors()
                errors_before = decode_errors()
                source_fps = float(cap.get(cv2.CAP_PROP_FPS))
                if not math.isfinite(source_fps) or source_fps <= 0:
                    source_fps = _DEFAULT_FPS
                claimed = cap.get(cv2.CAP_PROP_FRAME_COUNT)
                claimed = int(claimed) if math.isfinite(claimed) and claimed > 0 else 0
                if wanted is None and select is not None:  # the sample needs the frame count
                    n = claimed if p.suffix.lower() in _COUNTED else 0
                    if not n:
                        while cap.grab():
                            n += 1
                        cap.release()
                        cap = cv2.VideoCapture(shown, cv2.CAP_FFMPEG)
                        errors_before = decode_errors()
                    wanted = _selected(select, n, source_fps)
                step = source_fps / fps if fps is not None and fps < source_fps else float(stride)
                frames: list[np.ndarray] = []
                indices: list[int] = []
                decoded = 0  # frames read from the file
                next_keep = 0 if wanted is None else (int(wanted[0]) if len(wanted) else -1)
                stopped_on_purpose = False
                source_size: tuple[int, int] | None = None
                out_size: tuple[int, int] | None = None
                while True:
                    if max_frames is not None and len(frames) >= max_frames:
                        stopped_on_purpose = True
                        break
                    keep = decoded == next_keep
                    if keep:
                        ok, bgr = cap.read()
                    else:
                        ok = cap.grab()  # skipped frames are decoded but never converted
                    if not ok:
                        break
                    decoded += 1
                    if not keep:
                        continue
                    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
                        break
                    if source_size is None:
                        source_size = (int(bgr.shape[0]), int(bgr.shape[1]))
                        out_size = _target_size(size, *source_size)
                    # OpenCV decodes to BGR; this is the one place vidaug converts it to RGB.
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    frames.append(_resize(rgb, out_size))
                    indices.append(decoded - 1)
                    if wanted is None:
                        next_keep = math.floor(len(frames) * step + 0.5)
                    else:
                        next_keep = int(wanted[len(frames)]) if len(frames) < len(wanted) else -1
            finally:
                cap.release()
        errors = decode_errors() - errors_before
        return (frames, indices, decoded, stopped_on_purpose, source_size, source_fps,
                claimed, step, wanted, errors)  # fmt: skip

    (frames, indices, decoded, stopped_on_purpose, source_size, source_fps, claimed, step,
     wanted, errors) = decode(None)  # fmt: skip
    again = _selected(select, decoded, source_fps) if select is not None and decoded else None
    if again is not None and not np.array_equal(wanted, again):
        # the container's frame count was wrong: sample the frames that are really there
        (frames, indices, decoded, stopped_on_purpose, source_size, source_fps, claimed, step,
         wanted, errors) = decode(again)  # fmt: skip
    out_fps = source_fps / step
    if not frames:
        listed = f" (the container lists {claimed})" if claimed else ""
        raise VideoReadError(shown, f"no frame could be decoded{listed}", reason="no_frames")
    truncated = False
    if not stopped_on_purpose and claimed and decoded < claimed - max(2, 0.02 * claimed):
        if not allow_truncated:
            raise VideoReadError(
                shown,
                f"stream is truncated: decoded {decoded} of {claimed} frames",
                reason="truncated",
            )
        truncated = True
    return Clip(
        frames=np.ascontiguousarray(np.stack(frames)),
        fps=float(out_fps),
        source_fps=source_fps,
        source_size=source_size,
        frame_count=decoded,
        path=shown,
        indices=np.asarray(indices, dtype=np.int64),
        truncated=truncated,
        decode_errors=errors,
    )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def write_clip(path: str | os.PathLike, frames: np.ndarray, fps: float) -> Path:
    """Write an RGB clip as a video file, atomically.

    The container follows the suffix: ``.mp4`` / ``.m4v`` / ``.mov`` (MPEG-4 Part 2, ``mp4v``)
    or ``.avi`` (Motion JPEG); a path without a suffix gets ``.mp4``. The same frames and fps
    give byte-identical files (with the same OpenCV build).

    Args:
        path: destination file; its directory is created if needed.
        frames: ``(T, H, W, 3)`` uint8 RGB with ``T ≥ 1`` and even ``H`` and ``W``.
        fps: frames per second, > 0.

    Returns:
        The path written.

    Raises:
        ValueError: bad frames (shape, dtype, empty, odd height/width), fps or suffix.
            OpenCV's FFmpeg writer silently drops the last row/column of an odd-sized frame,
            so odd sizes are refused instead of written wrong.
        VideoWriteError: OpenCV could not open a writer or wrote nothing.
    """
    from vidaug.datasets._stream import ClipWriter  # one writer: whole clips and streams

    if not isinstance(frames, np.ndarray):
        raise ValueError(f"frames must be a numpy array, got {type(frames).__name__}")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    if min(frames.shape[:3]) == 0:
        raise ValueError(f"frames must not be empty, got shape {frames.shape}")
    with ClipWriter(path, fps, frames.shape[1:3]) as w:
        w.write(frames)
    dest = w.path
    return dest
