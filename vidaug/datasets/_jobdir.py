"""A job's OUTPUT folder: its mark, its journals, ``resume`` and ``overwrite``; one mechanism
for every job that writes a dataset folder (``augment``, ``curate``).

Before it writes anything, a job marks its OUTPUT, and it journals every file as it goes:

* ``.vidaug-run.json``, the mark: the job's kind, settings and vidaug version, and the fixed
  outputs it writes (``manifest.jsonl``, ``curation.json``);
* ``.vidaug-files``: one JSON line per file the job puts in place (its path, size and container
  frame count), synced *before* the file is renamed into place: the exact list of what the job
  wrote, even when it was killed between the two;
* ``manifest.jsonl``, the journal: one JSON line per file once it is in place, synced; written
  whole (in the job's order) when the job ends.

A file is first written whole under a temporary name next to its destination
(:func:`~vidaug.datasets.temp_path`) and verified there (:class:`~vidaug.datasets.ClipWriter`
checks what it encodes, :func:`copy_verified` compares sizes); :meth:`JobDir.commit` then
journals it, renames it into place and adds its manifest line. A process killed between the
steps leaves a temporary file (the next run removes it) or a file listed in ``.vidaug-files``
(``overwrite`` removes it, ``resume`` re-checks it), never a file nobody listed.

:meth:`JobDir.open` refuses (:class:`~vidaug.errors.UsageError`, nothing touched) an OUTPUT that
is not empty and has no mark: no vidaug job wrote it. A marked OUTPUT needs ``resume`` or
``overwrite``. ``overwrite`` removes exactly what the mark lists (and the folders that leaves
empty); ``resume`` (the same kind and settings only) keeps each journalled file that is still
the file verified then (the same size; its container opens with the same frame count) and
removes the others, which the job then redoes; a torn or unparsable journal line is skipped,
so its file is redone. Hidden ``.vidaug*`` entries (the lock, the mark, caches) and temporary
files do not make a folder non-empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from vidaug._json import to_jsonable  # the one JSON encoder (as write_jsonl)
from vidaug._version import __version__
from vidaug.datasets._atomic import (
    atomic_path,
    atomic_write_text,
    final_path,
    fsync_path,
    is_temp_name,
)
from vidaug.datasets._manifest import write_jsonl
from vidaug.datasets._stream import container_frames, write_failure
from vidaug.errors import UsageError, VidaugError, VideoReadError

__all__ = ["FILES", "MARK", "JobDir", "copy_verified", "inside", "remove_temp_files"]

MARK = ".vidaug-run.json"
FILES = ".vidaug-files"
MANIFEST = "manifest.jsonl"


def inside(root: str | os.PathLike, rel: str) -> Path:
    """``root / rel``, refusing a path that would land outside ``root`` (or on it).

    Raises:
        VidaugError: naming ``rel``.
    """
    root_r = Path(root).resolve()
    dest = (root_r / rel).resolve()
    if dest == root_r or not dest.is_relative_to(root_r):
        raise VidaugError(f"{rel}: output path would leave the output folder; refused")
    return dest


def remove_temp_files(root: str | os.PathLike) -> int:
    """Delete the temporary files (:func:`~vidaug.datasets.temp_path` names) under ``root``
    that an interrupted run left; the caller holds the output lock. Returns how many."""
    n = 0
    for tmp in Path(root).rglob(".*.tmp*"):
        if is_temp_name(tmp.name) and tmp.is_file():
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def copy_verified(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy a file atomically: ``dest`` appears only once synced with the size of ``src``.

    Raises:
        OSError: the copy failed (``ENOSPC`` naming ``dest`` when the disk is full).
        VideoWriteError: the copy came out short on a disk with room.
    """
    dest = Path(dest)
    try:
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
            fsync_path(tmp)
            want, got = os.path.getsize(src), tmp.stat().st_size
            if got != want:
                raise write_failure(dest, f"the copy has {got} of {want} bytes")
    except OSError as e:
        where = e.filename2 if e.filename2 is not None else e.filename
        if where is not None and final_path(os.fsdecode(where)) != final_path(dest):
            raise  # about the source
        raise OSError(e.errno, e.strerror, os.fspath(final_path(dest))) from None
    return dest


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(to_jsonable(obj), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False) + "\n"  # fmt: skip


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a journal; a torn or unparsable line is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict):
            out.append(v)
    return out


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` as they read back from JSON (tuples become lists, others strings)."""
    return json.loads(json.dumps(settings, sort_keys=True, default=str))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _results(root: Path) -> list[Path]:
    """What OUTPUT holds besides vidaug's hidden entries and temporary files."""
    if not root.is_dir():
        return []
    return [p for p in root.iterdir()
            if not p.name.startswith(".vidaug") and not is_temp_name(p.name)]  # fmt: skip


class JobDir:
    """OUTPUT of one job run (see the module doc); open with :meth:`open`, use as a context
    manager (the journals close, and an interrupted run's temporary files go, on exit).

    Attributes:
        root: the folder.
        kind: the job (``augment``, ``curate``).
        kept: ``{path: manifest row}`` of the earlier run's files that ``resume`` kept.
    """

    def __init__(self, root: Path, kind: str, settings: dict[str, Any], outputs: tuple) -> None:
        self.root, self.kind, self.settings, self.outputs = root, kind, settings, outputs
        self.kept: dict[str, dict[str, Any]] = {}
        self._kept_facts: list[dict[str, Any]] = []
        self._fds: dict[str, int] = {}  # the journals' file descriptors, once opened

    @classmethod
    def open(
        cls,
        root: str | os.PathLike,
        kind: str,
        settings: dict[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
        outputs: tuple[str, ...] = (MANIFEST,),
    ) -> JobDir:
        """Check OUTPUT against an earlier run, act on it, mark it for this one; the caller
        holds its lock (:func:`~vidaug.datasets.output_lock`).

        Args:
            root: OUTPUT.
            kind: the job's name.
            settings: what must match for ``resume`` (JSON-able).
            resume: keep the earlier run's verified files (same kind and settings only).
            overwrite: remove what the earlier run wrote first.
            outputs: the fixed files this job writes besides the files it commits.

        Raises:
            UsageError: OUTPUT is not empty and unmarked; marked without ``resume`` or
                ``overwrite``; ``resume`` of a run of another kind or other settings.
        """
        job = cls(Path(root), kind, _plain(settings), tuple(outputs))
        mark = job._read_mark()
        if _results(job.root):
            job._refuse(mark, resume, overwrite)
        if mark is not None:
            job._remove_scratch()
        remove_temp_files(job.root)
        if resume and mark is not None and _results(job.root):
            job.kept = job._recheck()
        elif mark is not None:
            job._remove_listed(mark)
        job._start()
        return job

    @staticmethod
    def check_flags(resume: bool, overwrite: bool) -> None:
        """Refuse ``resume`` with ``overwrite`` (one message for every job).

        Raises:
            UsageError: both given.
        """
        if resume and overwrite:
            raise UsageError("--resume continues a run and --overwrite redoes it: choose one")

    def _read_mark(self) -> dict[str, Any] | None:
        """The mark (``{}`` when it exists but does not parse), None without one."""
        p = self.root / MARK
        if not p.is_file():
            return None
        try:
            mark = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return mark if isinstance(mark, dict) else {}

    def _refuse(self, mark: dict[str, Any] | None, resume: bool, overwrite: bool) -> None:
        if mark is None:
            raise UsageError(
                f"{self.root}: is not empty and no vidaug run wrote it (no {MARK}); nothing "
                "in it was changed: choose an empty or new output folder"
            )
        if not (resume or overwrite):
            raise UsageError(
                f"{self.root}: is not empty: it holds an earlier vidaug {mark.get('kind', '')} "
                "run; resume it (--resume), overwrite it (--overwrite) or choose a new output "
                "folder"
            )
        if resume and (mark.get("kind"), mark.get("settings")) != (self.kind, self.settings):
            earlier = mark.get("settings") if isinstance(mark.get("settings"), dict) else {}
            diff = sorted(k for k in {*earlier, *self.settings}
                          if earlier.get(k) != self.settings.get(k))  # fmt: skip
            what = f"vidaug {mark.get('kind')}" if mark.get("kind") != self.kind else None
            raise UsageError(
                f"{self.root}: was made with other settings ({what or ', '.join(diff)}); use "
                "another output folder or overwrite it (--overwrite)"
            )

    def _listed(self) -> dict[str, dict[str, Any]]:
        """``{path: facts}`` of ``.vidaug-files`` (the last line of a path wins)."""
        return {e["path"]: e for e in _read_lines(self.root / FILES)
                if isinstance(e.get("path"), str)}  # fmt: skip

    def _remove(self, rel: str) -> None:
        """Delete one listed file (only inside OUTPUT) and the folders it leaves empty."""
        try:
            inside(self.root, rel)
        except VidaugError:
            return
        f = self.root.resolve() / rel  # a link listed as a file goes, not what it points to
        if f.is_symlink() or f.is_file():
            f.unlink()
        folder, top = f.parent, self.root.resolve()
        while folder != top and folder.is_relative_to(top):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def _remove_listed(self, mark: dict[str, Any]) -> None:
        """``overwrite``: delete every file the earlier run listed, then its fixed outputs."""
        for rel in sorted(self._listed()):
            self._remove(rel)
        for name in mark.get("outputs") or ():
            if isinstance(name, str) and name == Path(name).name and name not in ("", ".", ".."):
                (self.root / name).unlink(missing_ok=True)

    def _remove_scratch(self) -> None:
        """Delete the scratch folders (multiprocessing's ``pymp-*``) of a killed run."""
        for e in _read_lines(self.root / FILES):
            p = Path(str(e.get("scratch", "")))
            if p.name.startswith("pymp-") and p.is_dir() and not _alive(e.get("pid")):
                shutil.rmtree(p, ignore_errors=True)

    def _intact(self, rel: str, facts: dict[str, Any]) -> bool:
        """Whether the file at ``rel`` is still the file committed: the same size, and its
        container opens with the same frame count (a header read, no decoding)."""
        p = self.root / rel
        try:
            st = p.stat()
            if not stat.S_ISREG(st.st_mode) or st.st_size != facts.get("bytes"):
                return False
            return container_frames(p) == facts.get("frames")
        except (OSError, VideoReadError):
            return False

    def _recheck(self) -> dict[str, dict[str, Any]]:
        """``resume``: the earlier run's manifest rows whose files are intact; every other
        listed file is removed (it is redone)."""
        listed = self._listed()
        kept: dict[str, dict[str, Any]] = {}
        for row in _read_lines(self.root / MANIFEST):
            rel = row.get("path")
            if isinstance(rel, str) and rel in listed and rel not in kept:
                if self._intact(rel, listed[rel]):
                    kept[rel] = row
        for rel in listed:
            if rel not in kept:
                self._remove(rel)
        self._kept_facts = [listed[rel] for rel in kept]
        return kept

    def _start(self) -> None:
        """Journals holding what was kept (a torn line dropped), then the mark. The manifest
        journal appears with the first file (a run that fails before leaves OUTPUT empty)."""
        atomic_write_text(self.root / FILES, "".join(_line(f) for f in self._kept_facts))
        if self.kept or (self.root / MANIFEST).exists():
            atomic_write_text(self.root / MANIFEST, "".join(_line(r) for r in self.kept.values()))
        mark = {"kind": self.kind, "vidaug": __version__, "settings": self.settings,
                "outputs": list(self.outputs)}  # fmt: skip
        atomic_write_text(self.root / MARK, json.dumps(mark, indent=1, sort_keys=True) + "\n")

    def _append(self, name: str, obj: dict[str, Any]) -> None:
        """One line on the journal ``name`` (``FILES`` or ``MANIFEST``; opened on first use),
        synced. A failed write (a full disk) is cut off again, so no torn line is left, and
        raised naming the journal."""
        path = self.root / name
        try:
            if name not in self._fds:
                self._fds[name] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            fd = self._fds[name]
            data = memoryview(_line(obj).encode("utf-8"))
            start = os.fstat(fd).st_size
            try:
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise
        except OSError as e:
            raise OSError(e.errno, e.strerror, os.fspath(path)) from None

    def commit(self, staged: str | os.PathLike, row: dict[str, Any], frames: int | None = None):
        """Put a verified file in place: list it in ``.vidaug-files``, rename ``staged`` onto
        ``row["path"]`` (relative to OUTPUT), add ``row`` to the manifest journal.

        Args:
            staged: the written, verified file (a temporary name in the destination folder).
            row: its manifest row (``path`` relative to OUTPUT).
            frames: its frame count as written; default: read from its container.
        """
        rel = row["path"]
        dest = inside(self.root, rel)
        staged = Path(staged)
        if frames is None:
            frames = container_frames(staged)
        self._append(FILES, {"path": rel, "bytes": staged.stat().st_size, "frames": int(frames)})
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, dest)
        fsync_path(dest.parent, directory=True)
        self._append(MANIFEST, row)

    def note_scratch(self, folder: str | os.PathLike) -> None:
        """List a scratch folder outside OUTPUT (multiprocessing's ``pymp-*``) that a killed
        run would leave behind: the next ``resume`` / ``overwrite`` removes it."""
        self._append(FILES, {"scratch": os.fspath(folder), "pid": os.getpid()})

    def close(self) -> None:
        """Close the journals (idempotent)."""
        while self._fds:
            os.close(self._fds.popitem()[1])

    def finish(self, rows: list[dict[str, Any]]) -> None:
        """The job is done: the manifest written whole as ``rows``, temporary files removed."""
        self.close()
        write_jsonl(self.root / MANIFEST, rows)
        remove_temp_files(self.root)

    def __enter__(self) -> JobDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the journals; on an error, remove the temporary files (what was committed
        stays, for ``resume``)."""
        self.close()
        if exc_info[1] is not None:
            remove_temp_files(self.root)
