"""Guards for commands that write a dataset or an index: one run per OUTPUT, and OUTPUT never
inside INPUT.

:func:`output_lock` holds an advisory ``fcntl.flock`` on ``OUTPUT/.vidaug.lock`` for the whole
run. The kernel releases it when the process dies (even on SIGKILL), so a crashed run never
leaves a stale lock behind, and a second run on the same OUTPUT (a new one, ``--overwrite`` or
``--resume``) is refused at once with :class:`~vidaug.errors.UsageError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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
        yield lock  # the file stays empty: outputs of two identical runs stay byte-identical
    finally:
        os.close(fd)  # releases the flock; the file stays (removing it would race a waiter)


def check_output_outside_input(
    output: str | os.PathLike,
    source: str | os.PathLike,
    clips: Iterable[str | os.PathLike] = (),
) -> None:
    """Refuse an OUTPUT that would mix with its input: equal to or inside an input folder
    (a later run would read the outputs back as a new class), equal to a manifest's folder
    (its manifest.jsonl would be replaced), or holding any input clip.

    Args:
        output: the folder a command writes.
        source: the input: a folder, a manifest or a video.
        clips: the input clips' paths (checked for a manifest).

    Raises:
        UsageError: naming OUTPUT and the input.
    """
    src, out = Path(source).resolve(), Path(output).resolve()

    def refuse(why: str) -> UsageError:
        return UsageError(
            f"{output}: the output {why} {source}; choose a folder outside it "
            "(a later run would read the outputs as inputs)"
        )

    if src.is_dir():
        if out == src:
            raise refuse("is the input folder")
        if src in out.parents:
            raise refuse("is inside the input folder")
        return
    if out == src.parent and src.suffix.lower() in (".csv", ".jsonl"):
        raise refuse("is the folder of the manifest")
    for c in clips:
        if out in Path(c).resolve().parents:
            raise refuse(f"holds input clip {c} of")
