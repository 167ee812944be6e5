"""Files written atomically: a temporary file in the same folder, flushed and synced, then
``os.replace`` (STYLE §5), so an interrupted run never leaves a half-written file."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "fsync_path"]


_tmp_counter = itertools.count()


def fsync_path(path: Path, directory: bool = False) -> None:
    """Flush ``path`` (a file, or with ``directory=True`` a folder's entries) to disk; a
    filesystem that cannot is skipped silently."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    The temporary file is ``.<name>.<pid>-<n>.tmp<suffix>`` in the same directory (created if
    needed). It keeps the real suffix, unlike STYLE's ``<name>.tmp``, because OpenCV picks the
    container from the extension; the leading dot hides it from directory scans. On success the
    file is fsync'ed and ``os.replace``'d onto ``path``; on an exception it is removed.

    Args:
        path: the destination file.

    Yields:
        The temporary path to write to (nothing is created there yet).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{next(_tmp_counter)}.tmp{dest.suffix}")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    fsync_path(dest.parent, directory=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, ``os.replace``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    dest = Path(path)
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return dest


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 (no newline translation) to ``path`` atomically.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))
