"""Video files frame by frame: probe, read any frames, write chunk by chunk (or whole).

The streaming side of :mod:`vidaug.datasets._io` for recordings that do not fit in memory:
:func:`probe_video` reads a file's size and frame count without decoding it,
:class:`VideoSource` decodes just the frames asked for (sequentially, keeping a few recent ones,
seeking back when an index map goes backwards), and :class:`ClipWriter` writes frames as they
come, atomically; :func:`write_clip` writes a whole clip through it, so a streamed clip has the
same bytes as one written whole.
"""

from __future__ import annotations

import errno
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from vidaug.datasets._atomic import atomic_path, final_path, fsync_path
from vidaug.datasets._io import (
    COUNTED_CONTAINERS,
    capture_count,
    capture_fps,
    check_fps,
    container_defect,
    grab_count,
    open_capture,
)
from vidaug.datasets._quiet import cv2, decode_errors, maybe_quiet
from vidaug.errors import VideoReadError, VideoWriteError

__all__ = [
    "ClipWriter",
    "VideoInfo",
    "VideoSource",
    "container_frames",
    "probe_video",
    "write_clip",
    "write_failure",
]

# Containers write_clip produces, with their fourcc. Matroska/WebM are left out on purpose: the
# muxer writes a random segment UID, so the same frames would not give the same bytes.
_WRITE_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}

#: A write that fails verification while the disk has less free space than this is reported as
#: a full disk (``ENOSPC``): OpenCV's writer does not report failed writes itself.
FULL_BELOW = 16 * 2**20


@dataclass(frozen=True)
class VideoInfo:
    """What a file holds, read from its container (nothing decoded unless ``counted``).

    Attributes:
        frames: frame count (the container's for MP4/MOV/AVI, else counted by a grab pass).
        fps: frame rate (30 when the container reports none).
        height, width: frame size.
        counted: the count comes from a grab pass (exact) rather than the container.
    """

    path: str
    frames: int
    fps: float
    height: int
    width: int
    counted: bool = False

    @property
    def frame_bytes(self) -> int:
        return self.height * self.width * 3


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, rate and size of a video file, without decoding it where the container
    stores its count (MP4, MOV, AVI); other containers are counted by a grab-only pass.

    Raises:
        VideoReadError: missing, empty or unopenable file.
    """
    shown = os.fspath(path)
    with maybe_quiet():
        cap = open_capture(shown)
        try:
            fps, n = capture_fps(cap), capture_count(cap)
            h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            counted = not n or Path(shown).suffix.lower() not in COUNTED_CONTAINERS
            if counted:
                n = grab_count(cap)
        finally:
            cap.release()
    if n < 1 or h < 1 or w < 1:
        raise VideoReadError(shown, "no frame could be decoded", reason="no_frames")
    return VideoInfo(shown, n, fps, h, w, counted)


def container_frames(path: str | os.PathLike) -> int:
    """The frame count a video file's container states (0 when it states none), read from its
    header without decoding: a cheap check that a file still opens as the video it was.

    Raises:
        VideoReadError: missing, empty or unopenable file.
    """
    with maybe_quiet():
        cap = open_capture(os.fspath(path))
        try:
            return capture_count(cap)
        finally:
            cap.release()


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Bytes this process may still write in ``folder``'s filesystem (None when unknown)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def write_failure(path: str | os.PathLike, why: str) -> Exception:
    """The error of a write that did not come out whole: a full disk (``OSError`` ``ENOSPC``)
    when the filesystem has (almost) no room left, else :class:`VideoWriteError` saying
    ``why``. Both name the destination, never a temporary file."""
    shown = final_path(path)
    free = free_bytes(Path(path).parent)
    if free is not None and free < FULL_BELOW:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(shown))
    return VideoWriteError(f"{shown}: {why}")


class ShortStream(Exception):  # noqa: N818 - a signal, not an error the user sees
    """The stream ended before a requested frame: ``available`` frames decode."""

    def __init__(self, available: int) -> None:
        super().__init__(f"the stream ends after {available} frames")
        self.available = available


class VideoSource:
    """Decode frames of one file by index, in memory bounded by ``keep`` frames.

    ``read(indices)`` returns the frames ``start + i`` (RGB) for ``i`` in ``indices``, which may
    repeat and go backwards. Frames are decoded in order; the last ``keep`` decoded frames are
    kept, so small steps back (jitter) cost nothing, and a bigger step back re-positions the
    decoder (``CAP_PROP_POS_FRAMES``; if the file cannot seek, it is reopened and read forward).

    Raises (from ``read``):
        ShortStream: the stream ends before a requested frame (a damaged or mis-counted file).
    """

    def __init__(self, path: str | os.PathLike, *, start: int = 0, keep: int = 64) -> None:
        self.path = os.fspath(path)
        self.start = int(start)
        self.keep = max(1, int(keep))
        self._cap: cv2.VideoCapture | None = None
        self._next = 0  # absolute index of the frame the next read() decodes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.decoded = 0  # frames decoded (for the caller's statistics)
        self._errors0 = decode_errors()

    @property
    def decode_errors(self) -> int:
        """Errors the decoder reported since this source was made (damaged frames)."""
        return decode_errors() - self._errors0

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._cache.clear()

    def _seek(self, index: int) -> None:
        if self._cap is None:
            self._cap = open_capture(self.path)
            self._next = 0
        if index == self._next:
            return
        if index > self._next and index - self._next <= 2 * self.keep:
            while self._next < index:  # a short way forward: grab (decode, no conversion)
                if not self._cap.grab():
                    raise ShortStream(self._next - self.start)
                self._next += 1
            return
        if (
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            and int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == index
        ):
            self._next = index
            return
        self._cap.release()  # no reliable seek: reopen and read forward
        self._cap = open_capture(self.path)
        self._next = 0
        while self._next < index:
            if not self._cap.grab():
                raise ShortStream(self._next - self.start)
            self._next += 1

    def _frame(self, index: int) -> np.ndarray:
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        with maybe_quiet():
            self._seek(index)
            assert self._cap is not None
            ok, bgr = self._cap.read()
        if not ok or bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ShortStream(index - self.start)
        self._next = index + 1
        self.decoded += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self._cache[index] = rgb
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return rgb

    def read(self, indices: np.ndarray) -> np.ndarray:
        """The frames ``start + indices`` as one ``(n, H, W, 3)`` uint8 RGB array."""
        idx = np.asarray(indices, dtype=np.int64) + self.start
        order = np.unique(idx)  # decode each wanted frame once, in file order
        got = {int(i): self._frame(int(i)) for i in order}
        return np.stack([got[int(i)] for i in idx])


class ClipWriter:
    """Write an RGB clip frame by frame, atomically: the file appears only once it is verified.

    The same container / codec / settings as :func:`~vidaug.datasets.write_clip`: the same
    frames give the same bytes whether written whole or streamed.

    OpenCV's writer reports no failed write (a full disk leaves an MP4 without its index), so
    on exit the temporary file is synced and checked before it is renamed into place: its
    container structure must be whole (:func:`container_defect`: an MP4's boxes end with the
    file, an AVI is as long as its header says) and its header must count the frames written.
    No truncated file passes; the check costs about 0.2 ms, where decoding the last frame of a
    64-frame 480p clip costs 12 ms and decoding all of it 22 ms (its write: 88 ms). A file that
    fails is removed: ``OSError`` ``ENOSPC`` naming the file when the disk is (nearly) full,
    else :class:`~vidaug.errors.VideoWriteError`.

    Example:
        >>> with ClipWriter("out.mp4", fps=25.0, size=(720, 1280)) as w:
        ...     for chunk in chunks:
        ...         w.write(chunk)
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]) -> None:
        dest = Path(path)
        if dest.suffix == "":
            dest = dest.with_name(dest.name + ".mp4")
        fourcc = _WRITE_FOURCC.get(dest.suffix.lower())
        if fourcc is None:
            raise ValueError(
                f"{dest}: cannot write '{dest.suffix}' videos; use one of "
                + ", ".join(_WRITE_FOURCC)
            )
        check_fps(fps)
        h, w = int(size[0]), int(size[1])
        if h < 1 or w < 1:
            raise ValueError(f"frame size must be ≥ 1, got {h}x{w}")
        if h % 2 or w % 2:
            raise ValueError(
                f"frame height and width must be even to be written as video, got {h}x{w} "
                "(OpenCV's encoder would silently drop the last row/column): crop or pad first"
            )
        self.path, self.fps, self.size, self.fourcc = dest, float(fps), (h, w), fourcc
        self.frames = 0
        self._atomic = None
        self._writer = None

    def __enter__(self) -> ClipWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        h, w = self.size
        with maybe_quiet():
            self._writer = cv2.VideoWriter(
                str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h)
            )
        self._tmp = tmp
        if not self._writer.isOpened():
            self._writer.release()
            err = write_failure(
                self.path, f"OpenCV could not open a video writer ({self.fourcc}, {w}x{h})"
            )
            self._atomic.__exit__(type(err), err, None)
            raise err
        return self

    def _check(self) -> Exception | None:
        """Why the temporary file is not the whole clip written (None when it is)."""
        if self.frames == 0:
            return ValueError(f"{final_path(self.path)}: no frames were written")
        if not self._tmp.exists() or self._tmp.stat().st_size == 0:
            return write_failure(self.path, "OpenCV wrote no data")
        try:
            fsync_path(self._tmp)
            defect = container_defect(self._tmp)
            counted = container_frames(self._tmp) if defect is None else 0
        except OSError as e:
            return OSError(e.errno, e.strerror, os.fspath(final_path(self.path)))
        except VideoReadError:
            defect = ("the written file does not open", "unreadable")
        if defect is not None:
            return write_failure(self.path, f"{defect[0]} (the write failed; nothing was kept)")
        if counted != self.frames:
            return write_failure(
                self.path,
                f"the written file holds {counted} of {self.frames} frames (the write failed; "
                "nothing was kept)",
            )
        return None

    def write(self, frames: np.ndarray) -> None:
        """Append ``(n, H, W, 3)`` uint8 RGB frames (or one ``(H, W, 3)`` frame)."""
        if frames.ndim == 3:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (*self.size, 3):
            raise ValueError(
                f"frames must be uint8 (n, {self.size[0]}, {self.size[1]}, 3), got "
                f"{frames.dtype} {frames.shape}"
            )
        assert self._writer is not None
        with maybe_quiet():
            for frame in frames:
                # RGB in, BGR to OpenCV (the mirror of read_clip's conversion)
                self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.frames += len(frames)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._writer is not None and self._atomic is not None
        self._writer.release()
        if exc is None:
            exc = self._check()
        if exc is not None:
            self._atomic.__exit__(type(exc), exc, tb)
            if exc_type is None:
                raise exc
            return
        self._atomic.__exit__(None, None, None)


def write_clip(path: str | os.PathLike, frames: np.ndarray, fps: float) -> Path:
    """Write an RGB clip as a video file, atomically (a :class:`ClipWriter` given the whole
    clip: whole clips and streams share one writer).

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
    return w.path
