"""Guards for commands that write a dataset or an index: one run per OUTPUT, and OUTPUT never
inside INPUT.

:func:`output_lock` holds an advisory ``fcntl.flock`` on ``OUTPUT/.vidaug.lock`` for the whole
run. The kernel releases it when the process dies (even on SIGKILL), so a crashed run never
leaves a stale lock behind, and a second run on the same OUTPUT (a new one, ``--overwrite`` or
``--resume``) is refused at once with :class:`~vidaug.errors.UsageError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidaug.errors import UsageError

try:  # POSIX; elsewhere an O_EXCL lock file stands in (removed on a clean exit)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "check_output_outside_input", "output_lock"]

#: The lock file inside OUTPUT (hidden; dataset listings skip dot files).
LOCK_NAME = ".vidaug.lock"


@contextmanager
def output_lock(output: str | os.PathLike, *, name: str = LOCK_NAME) -> Iterator[Path]:
    """Hold OUTPUT for this run (creating the folder).

    Args:
        output: the folder the run writes (a dataset folder or an index directory's parent
            lock: pass the directory itself).
        name: the lock file's name inside ``output``.

    Yields:
        The lock file's path.

    Raises:
        UsageError: another vidaug run holds OUTPUT, or OUTPUT exists and is not a folder.
    """
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    lock = out / name
    busy = UsageError(f"another vidaug run is using {out} (wait for it to finish)")
    if fcntl is None:  # pragma: no cover
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise busy from None
        try:
            yield lock
        finally:
            os.close(fd)
            lock.unlink(missing_ok=True)
        return
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise busy from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield lock
    finally:
        os.close(fd)  # releases the flock; the file stays (removing it would race a waiter)


def check_output_outside_input(output: str | os.PathLike, source: str | os.PathLike) -> None:
    """Refuse an OUTPUT equal to or inside the input folder (a manifest's folder for a
    manifest): a later run would read the outputs back as inputs.

    Raises:
        UsageError: OUTPUT is INPUT or lies inside it.
    """
    src = Path(source)
    root = src if src.is_dir() else src.parent if src.suffix.lower() in (".csv", ".jsonl") else None
    if root is None:
        return
    out, root = Path(output).resolve(), root.resolve()
    if out == root or root in out.parents:
        raise UsageError(
            f"{output}: the output is {'the input folder' if out == root else 'inside the input'} "
            f"{source}; choose a folder outside it (a later run would read the outputs as inputs)"
        )
