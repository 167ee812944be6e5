"""Checks a job makes before any work: the files and folders it will write can be written,
and the shares and seeds it was given as text are valid."""

from __future__ import annotations

import os
from pathlib import Path

from vidaug.errors import UsageError

__all__ = ["check_output_dir", "check_output_file", "seed_list", "split_shares"]


def check_output_file(path: Path | None, what: str, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse an output file that cannot be written: a directory, a wrong suffix, a parent
    that is a file or a folder without write permission (``what`` names it in the message).

    Raises:
        UsageError: one line naming ``what``, ``path`` and the reason.
    """
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{what} {path}: is a directory; give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(f"{what} {path}: must end in {', '.join(suffixes)}")
    _check_writable_parent(path, what)


def check_output_dir(path: Path, what: str) -> None:
    """Refuse an output folder that cannot be made or written.

    Raises:
        UsageError: one line naming ``what``, ``path`` and the reason.
    """
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path}: exists and is not a folder")
    _check_writable_parent(path, what, folder=path.absolute())


def _check_writable_parent(path: Path, what: str, folder: Path | None = None) -> None:
    """``folder`` (default: ``path``'s parent), or its nearest existing parent, must be a
    folder this process may write in; the message names ``path`` and the folder refused."""
    parent = path.absolute().parent if folder is None else folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            read_only = False
        why = "read-only file system" if read_only else "permission denied"
        raise UsageError(f"{what} {path}: cannot write in {parent} ({why})")


def split_shares(text: str, what: str) -> list[float]:
    """``text`` (``what``, named in the message) as 2 or 3 shares in [0, 1] that add up to 1,
    the first (train) above 0: ``"0.7,0.15,0.15"`` → ``[0.7, 0.15, 0.15]``.

    Raises:
        UsageError: anything else.
    """
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) not in (2, 3) or not all(0 <= x <= 1 for x in shares) or shares[0] <= 0:
        raise UsageError(
            f"{what} {text!r}: expected 2 or 3 shares (train, val[, test]) like 0.7,0.15,0.15"
        )
    if abs(sum(shares) - 1) > 1e-6:
        raise UsageError(f"{what} {text!r}: the shares add up to {sum(shares):g}, not 1")
    return shares


def seed_list(text: str, what: str) -> list[int]:
    """``text`` (``what``, named in the message) as comma-separated integers ≥ 0.

    Raises:
        UsageError: anything else.
    """
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{what} {text!r}: expected integers like 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise UsageError(f"{what} {text!r}: expected integers ≥ 0 like 0,1,2")
    return seeds
