"""Keeping FFmpeg's and OpenCV's logs off the terminal; imports ``cv2`` for the package.

FFmpeg's decoder log (``[h264 @ 0x…] error while decoding MB …``, ``moov atom not found``) and
OpenCV's own log lines (``[ERROR:0@0.2] global cap_ffmpeg_impl.hpp:1430 open Could not find
decoder for codec_id=0``: vidaug says what is wrong with the file itself) never reach the
terminal. What works with the OpenCV 4.x wheels:

* ``OPENCV_FFMPEG_LOGLEVEL=-8`` (``AV_LOG_QUIET``) and ``OPENCV_LOG_LEVEL=SILENT`` are set (with
  ``os.environ.setdefault``, so a value you set wins) before this module imports ``cv2``. OpenCV
  reads the first one when it initialises FFmpeg (the first open in the process) and the second
  when its logger starts, so both are too late once ``cv2`` has been imported and used.
* Hence, on first use, the FFmpeg log level is also set directly in the ``libavutil`` that ``cv2``
  loaded (``av_log_set_level(AV_LOG_QUIET)`` through ctypes) and OpenCV's logger is silenced,
  which works whatever was imported or opened before.
* Only when neither route can be confirmed (no libavutil found, and ``cv2`` imported before
  vidaug), :func:`~vidaug.datasets.read_clip` falls back to :func:`quiet_ffmpeg`, which points file
  descriptor 2 at ``/dev/null`` while it decodes. That fallback is not the default because it also swallows what
  other threads write to stderr meanwhile (progress bars, warnings).

If you set ``OPENCV_FFMPEG_LOGLEVEL`` yourself (to debug a file), vidaug leaves it alone.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_CV2_IMPORTED_BEFORE = "cv2" in sys.modules
_USER_LOG_LEVEL = "OPENCV_LOG_LEVEL" in os.environ
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

import cv2  # noqa: E402  (the environment above must be set first)

__all__ = [
    "count_decode_errors",
    "cv2",
    "decode_errors",
    "maybe_quiet",
    "native_stderr_muted",
    "quiet_ffmpeg",
]

_AV_LOG_QUIET = -8


_quiet_lock = threading.Lock()
_quiet_state: bool | None = None  # None: not checked yet; True: logs are quiet; False: use fd 2


def _libavutil_candidates() -> list[str]:
    """Paths of the libavutil that ``cv2`` loaded (Linux: from the process map; else: globbed)."""
    cv2_dir = Path(cv2.__file__).resolve().parent

    def bundled(lib: Path) -> bool:  # cv2/…, or the wheel's opencv_*.libs next to it
        parent = lib.parent
        return cv2_dir in lib.parents or (
            parent.parent == cv2_dir.parent and parent.name.startswith("opencv")
        )

    loaded: list[Path] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                name = line.rsplit(None, 1)[-1]
                if "libavutil" in name and Path(name) not in loaded:
                    loaded.append(Path(name))
    except OSError:
        pass
    found = [lib for lib in loaded if bundled(lib)]
    if not found and len(loaded) == 1:  # a cv2 built against the system's FFmpeg
        found = loaded
    if not found and not loaded:  # no /proc (macOS): the wheel keeps its dylibs in cv2/.dylibs
        found = sorted(cv2_dir.glob(".dylibs/libavutil*"))
        found += sorted(cv2_dir.parent.glob("opencv*.libs/libavutil*"))
    return [str(lib) for lib in found]


def _set_av_log_quiet() -> bool:
    """``av_log_set_level(AV_LOG_QUIET)`` in the libavutil used by cv2; True when it took."""
    ok = False
    for path in _libavutil_candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.av_log_set_level(ctypes.c_int(_AV_LOG_QUIET))
            ok = lib.av_log_get_level() == _AV_LOG_QUIET or ok
        except (OSError, AttributeError):
            continue
    return ok


def _ensure_quiet() -> bool:
    """Silence FFmpeg and OpenCV logs once per process; False when only fd 2 can help."""
    global _quiet_state
    if _quiet_state is not None:
        return _quiet_state
    with _quiet_lock:
        if _quiet_state is None:
            if not _USER_LOG_LEVEL:
                try:
                    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
                except AttributeError:
                    pass
            if os.environ.get("OPENCV_FFMPEG_LOGLEVEL") != str(_AV_LOG_QUIET):
                _quiet_state = True  # the user asked for FFmpeg's log: leave it alone
            else:
                _quiet_state = _set_av_log_quiet() or not _CV2_IMPORTED_BEFORE
    return _quiet_state


# -- decoder errors: counted, never printed -----------------------------------------------------
_AV_LOG_ERROR = 16
_errors = 0
_LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def _on_av_log(avcl: object, level: int, fmt: object, vl: object) -> None:
    global _errors
    if level <= _AV_LOG_ERROR:
        _errors += 1


_callback = _LOG_CB(_on_av_log)  # kept alive for the process: FFmpeg holds the pointer
_avutil: list[ctypes.CDLL] | None = None


def count_decode_errors() -> bool:
    """Route FFmpeg's error messages to a counter instead of the terminal; call it after a
    capture is opened (OpenCV installs its own log settings on its first open). Decoder errors
    (``error while decoding MB``: damaged frames that decode as garbled blocks) are then
    counted by :func:`decode_errors`. Nothing happens when you set ``OPENCV_FFMPEG_LOGLEVEL``
    yourself. Returns whether counting is on."""
    global _avutil
    if os.environ.get("OPENCV_FFMPEG_LOGLEVEL") != str(_AV_LOG_QUIET):
        return False
    if _avutil is None:
        libs = []
        for path in _libavutil_candidates():
            try:
                lib = ctypes.CDLL(path)
                lib.av_log_set_callback, lib.av_log_set_level  # noqa: B018 - both must exist
                libs.append(lib)
            except (OSError, AttributeError):
                continue
        _avutil = libs
    for lib in _avutil:
        lib.av_log_set_callback(_callback)
        lib.av_log_set_level(ctypes.c_int(_AV_LOG_ERROR))
    return bool(_avutil)


def decode_errors() -> int:
    """FFmpeg error messages counted in this process so far (see :func:`count_decode_errors`);
    compare before and after decoding a file."""
    return _errors


_fd_lock = threading.Lock()
_fd_depth = 0
_fd_saved: int | None = None


@contextmanager
def quiet_ffmpeg() -> Iterator[None]:
    """Point file descriptor 2 (the C-level stderr) at ``/dev/null`` inside the block.

    This catches everything native code prints, FFmpeg's ``[h264 @ 0x…]`` lines included, and
    is restored in ``finally``. It is process-wide: whatever other threads write to stderr
    meanwhile is lost too, so :func:`read_clip` uses it only as a fallback (see the module
    docstring). Nested and concurrent use is safe (the redirection is reference-counted).
    """
    global _fd_depth, _fd_saved
    with _fd_lock:
        if _fd_depth == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError, OSError):
                pass
            try:
                saved = os.dup(2)
            except OSError:
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, 2)
                finally:
                    os.close(devnull)
            _fd_saved = saved
        _fd_depth += 1
    try:
        yield
    finally:
        with _fd_lock:
            _fd_depth -= 1
            if _fd_depth == 0 and _fd_saved is not None:
                os.dup2(_fd_saved, 2)
                os.close(_fd_saved)
                _fd_saved = None


@contextmanager
def maybe_quiet() -> Iterator[None]:
    """Decode quietly: nothing to do when the log levels are set, else :func:`quiet_ffmpeg`."""
    if _ensure_quiet():
        yield
    else:
        with quiet_ffmpeg():
            yield


@contextmanager
def native_stderr_muted() -> Iterator[None]:
    """Mute what native code (C/C++ libraries: Ray's core worker, TensorFlow) writes to file
    descriptor 2, while Python's ``sys.stderr`` (vidaug's messages and progress bar) keeps
    going to the terminal: :func:`quiet_ffmpeg` points fd 2 at ``/dev/null`` and
    ``sys.stderr`` writes to a copy of the terminal's descriptor until the block ends."""
    with quiet_ffmpeg():
        if _fd_saved is None:  # no fd 2 at all: nothing to keep
            yield
            return
        old = sys.stderr
        py = os.fdopen(os.dup(_fd_saved), "w", buffering=1, encoding="utf-8", errors="replace")
        sys.stderr = py
        try:
            yield
        finally:
            try:
                py.flush()
            except (ValueError, OSError):
                pass
            sys.stderr = old
            py.close()
