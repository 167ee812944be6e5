"""Files written atomically: a temporary file in the same folder, flushed and synced, then
``os.replace`` (docs/ARCHITECTURE.md), so an interrupted run never leaves a half-written file."""

from __future__ import annotations

import errno
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "final_path",
    "fsync_path",
    "is_temp_name",
    "temp_path",
]


_tmp_counter = itertools.count()
#: vidaug's temporary files: ``.<name>.<pid>-<n>.tmp<suffix>`` (see :func:`temp_path`).
_TEMP = re.compile(r"\.(?P<name>.+)\.\d+-\d+\.tmp[^/]*")
#: fsync errors that mean the data did not reach the disk (others: the filesystem cannot sync).
_LOST = frozenset({errno.EIO, errno.ENOSPC, errno.EDQUOT})


def temp_path(path: str | os.PathLike) -> Path:
    """A fresh temporary name next to ``path``: ``.<name>.<pid>-<n>.tmp<suffix>``.

    It keeps the real suffix (not a plain ``<name>.tmp``) because OpenCV picks the container
    from the extension; the leading dot hides it from directory scans.
    """
    dest = Path(path)
    return dest.with_name(f".{dest.name}.{os.getpid()}-{next(_tmp_counter)}.tmp{dest.suffix}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of :func:`temp_path`'s."""
    return _TEMP.fullmatch(name) is not None


def final_path(path: str | os.PathLike) -> Path:
    """The file a temporary file of :func:`temp_path` stands for (``path`` itself otherwise):
    the name to show in messages."""
    p = Path(path)
    while (m := _TEMP.fullmatch(p.name)) is not None:
        p = p.with_name(m["name"])
    return p


def fsync_path(path: Path, directory: bool = False) -> None:
    """Flush ``path`` (a file, or with ``directory=True`` a folder's entries) to disk.

    A filesystem that cannot sync is skipped silently.

    Raises:
        OSError: the sync reported lost data (``EIO``, ``ENOSPC``, ``EDQUOT``), naming ``path``.
    """
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno in _LOST:
            raise OSError(e.errno, e.strerror, os.fspath(path)) from None
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    The temporary file is :func:`temp_path`'s, in the same directory (created if needed). On
    success the file is fsync'ed and ``os.replace``'d onto ``path``; on an exception it is
    removed. A system error that names no file (a ``write`` that ran out of space) is given
    ``path`` as its file name.

    Args:
        path: the destination file.

    Yields:
        The temporary path to write to (nothing is created there yet).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(dest)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, dest)
    except BaseException as e:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename is None:
            e.filename = os.fspath(final_path(dest))
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
