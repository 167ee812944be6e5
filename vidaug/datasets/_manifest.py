"""Turning inputs (a video, a folder of videos, a CSV or JSONL manifest) into manifest rows.

Every input becomes a list of :class:`ManifestRow`, sorted by ``rel`` so that the order never
depends on the file system. ``rel`` is a safe POSIX relative path naming the clip inside its
dataset; outputs are placed by it, so it never escapes the output root. The values of
:data:`NAME_COLUMNS` (``label``, ``split``, ``group``) may become folder names, so each must be
a *name* (one path segment); a manifest is strict UTF-8 JSON / CSV, and a file it lists twice
is refused (two labels) or kept once with a :class:`~vidaug.errors.ManifestWarning`.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from vidaug._json import to_jsonable
from vidaug.datasets._atomic import atomic_write_text
from vidaug.datasets._io import VIDEO_EXTENSIONS
from vidaug.errors import ManifestError, ManifestWarning, UsageError, VidaugError

__all__ = [
    "ManifestRow",
    "class_names",
    "load_rows",
    "read_jsonl",
    "require_classes",
    "safe_relpath",
    "write_jsonl",
]

_RESERVED = ("path", "label", "split")
#: The columns vidaug reads; any other is carried along (a near miss of one is refused).
_KNOWN_COLUMNS = ("path", "label", "split", "group")
_DRIVE = re.compile(r"^[A-Za-z]:(?=/|$)")
#: Columns whose values name folders (a split, a class, a source group): each must be a name.
NAME_COLUMNS = ("label", "split", "group")
_NAME_BYTES = 255
_NAME_RULE = (
    "one path segment: no '/', '\\', NUL or other control character, not '.' or '..'; "
    f"at most {_NAME_BYTES} bytes"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ManifestRow:
    """One clip of a dataset.

    Attributes:
        path: absolute path of the video file.
        rel: safe POSIX relative path naming the clip inside its dataset (never absolute, never
            with ``..``); outputs are placed by it.
        label: class label, or None when unlabeled.
        split: e.g. ``train`` / ``val``, or None.
        extra: the other columns (``group``, ``fps``, …), JSON-serialisable.
        given: the path as the input wrote it (a manifest's ``path`` value, a file's path
            relative to the input folder, or the file given); None when unknown. Reports name
            clips by it, so a user finds the row they wrote.
    """

    path: str
    rel: str
    label: str | None = None
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    given: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"path": rel, "label": …, "split": …, **extra}``, leaving out None values."""
        out: dict[str, Any] = {"path": self.rel}
        if self.label is not None:
            out["label"] = self.label
        if self.split is not None:
            out["split"] = self.split
        for key, value in self.extra.items():
            if key not in _RESERVED and value is not None:
                out[key] = value
        return out

    def carried(self) -> dict[str, Any]:
        """The other columns that have a value (``group``, ``camera``, …): what an output
        manifest (augment's, curate's) carries along for this clip."""
        return {k: v for k, v in self.extra.items() if k not in _RESERVED and v is not None}


def safe_relpath(p: str) -> str:
    """A safe POSIX relative path from any path string.

    Backslashes become ``/``; drives (``C:``) at the front, leading slashes and empty, ``.``
    and ``..`` parts are dropped (so the result is its own safe path): ``../../etc/passwd`` → ``etc/passwd``, ``/abs/x.mp4`` → ``abs/x.mp4``,
    ``C:\\x\\y.mp4`` → ``x/y.mp4``.

    Raises:
        ManifestError: nothing is left (``""``, ``..``, ``/``).
    """
    s = _DRIVE.sub("", str(p).replace("\\", "/"))
    parts = [part for part in s.split("/") if part not in ("", ".", "..")]
    while parts and _DRIVE.fullmatch(parts[0]):  # "C:/D:/x": no drive may lead the result
        parts.pop(0)
    if not parts:
        raise ManifestError(f"{p!r}: not a usable relative path (nothing left after sanitising)")
    return "/".join(parts)


def _quote(value: str, limit: int = 60) -> str:
    """``repr`` of ``value`` cut to ``limit`` characters: one line, whatever it holds."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _read_text(p: Path) -> str:
    """The whole file as text: UTF-8 (a leading BOM is dropped), else a ManifestError naming
    the line of the first byte that is not UTF-8."""
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{p}: no such file") from None
    except OSError as e:
        raise ManifestError(f"{p}: cannot read ({e.strerror})") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ManifestError(
            f"{p}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the manifest as UTF-8"
        ) from None


class _NotStrict(ValueError):
    """A JSON value Python reads but strict JSON does not have (``NaN``, ``1e999``)."""


def _strict_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotStrict(f"{text[:40]} is beyond the range of a number")
    return value


def _no_constant(name: str) -> Any:
    raise _NotStrict(f"{name} is not strict JSON: write null or a number")


def _iter_jsonl(p: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of each non-blank line. Strict JSON: ``NaN``, ``Infinity``
    and numbers beyond a float (``1e999``) are refused, never read as infinite."""
    for lineno, line in enumerate(io.StringIO(_read_text(p), newline=None), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_float=_strict_float, parse_constant=_no_constant)
        except json.JSONDecodeError as e:
            raise ManifestError(
                f"{p}:{lineno}: invalid JSON ({e.msg} at column {e.colno})"
            ) from None
        except _NotStrict as e:
            raise ManifestError(f"{p}:{lineno}: invalid JSON ({e})") from None
        except ValueError:  # int() refuses more than 4300 digits
            raise ManifestError(
                f"{p}:{lineno}: invalid JSON (a number with too many digits)"
            ) from None
        if not isinstance(obj, dict):
            raise ManifestError(f"{p}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSON Lines file of objects (blank lines are skipped).

    Raises:
        ManifestError: the file is missing or not UTF-8, a line is not strict JSON (``NaN``,
            ``Infinity`` and out-of-range numbers are refused) or not an object; the message
            names ``file:line``.
    """
    return [obj for _, obj in _iter_jsonl(Path(path))]


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Write one compact JSON object per line (keys in their order, UTF-8), atomically.

    Values go through vidaug's one JSON encoder (:func:`vidaug._json.to_jsonable`): numpy
    values become plain ones and a non-finite float becomes ``null``, so the file is strict
    JSON (never ``NaN`` / ``Infinity``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """

    text = "".join(
        json.dumps(to_jsonable(row), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        + "\n"
        for row in rows
    )
    return atomic_write_text(path, text)


def _is_video(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def _rows_from_dir(root: Path) -> list[tuple[str, ManifestRow]]:
    base = Path(os.path.abspath(root))
    found: list[tuple[str, ManifestRow]] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not _is_video(name):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(base).as_posix()
            parts = PurePosixPath(rel).parts
            label = parts[0] if len(parts) > 1 else None
            found.append((rel, ManifestRow(path=str(full), rel=rel, label=label, given=rel)))
    if not found:
        exts = ", ".join(VIDEO_EXTENSIONS)
        raise ManifestError(f"{root}: no video files found (looked recursively for {exts})")
    _warn_nested(root, [rel for rel, _ in found])
    return found


def _warn_nested(root: Path, rels: list[str]) -> None:
    """Warn once when clips sit in nested folders: ``cam1/fight/x.mp4`` is labelled ``cam1``
    (the first folder), which is rarely what was meant."""
    nested = [r for r in rels if len(PurePosixPath(r).parts) > 2]
    if nested:
        first = PurePosixPath(nested[0]).parts[0]
        warnings.warn(
            f"{root}: {len(nested)} clip{'s are' if len(nested) > 1 else ' is'} in nested "
            f"folders (e.g. {nested[0]}), labelled by the first folder ({first!r}); write a "
            "manifest to label them otherwise",
            ManifestWarning,
            stacklevel=3,
        )


def _check_columns(where: str, columns: Iterable[str]) -> None:
    """Refuse a column that looks like a misspelt known one (``lable`` without ``label``):
    it would be carried along and every label left empty."""
    names = set(columns)
    others = sorted(names - set(_KNOWN_COLUMNS))
    for known in _KNOWN_COLUMNS:
        close = [] if known in names else difflib.get_close_matches(known, others, 1, 0.75)
        if close:
            raise ManifestError(f"{where}: column {close[0]!r} is unknown; did you mean {known!r}?")


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _is_name(text: str) -> bool:
    """One path segment on any system: not ``.`` / ``..``, no ``/``, ``\\``, NUL or other
    control character, at most 255 bytes of UTF-8 (valid Unicode)."""
    if text in (".", "..") or "/" in text or "\\" in text or _CONTROL.search(text):
        return False
    try:
        return len(text.encode("utf-8")) <= _NAME_BYTES
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800")
        return False


def _name(where: str, column: str, value: Any) -> str | None:
    """The value of a :data:`NAME_COLUMNS` column as text (None when blank)."""
    if isinstance(value, (dict, list)):
        got = "an object" if isinstance(value, dict) else "an array"
        raise ManifestError(f"{where}: column {column!r}: expected text, got {got}")
    text = _opt_str(value)
    if text is not None and not _is_name(text):
        raise ManifestError(
            f"{where}: column {column!r}: {_quote(text)} is not a name ({_NAME_RULE})"
        )
    return text


def _make_row(manifest: Path, where: str, record: dict[str, Any]) -> tuple[str, ManifestRow]:
    raw = record.get("path")
    if not isinstance(raw, str) or not raw.strip():
        got = "missing" if raw is None else f"{raw!r}"
        raise ManifestError(f"{where}: empty or invalid 'path' ({got})")
    if "\x00" in raw:
        raise ManifestError(f"{where}: 'path' {_quote(raw)} contains a NUL byte")
    try:
        os.fsencode(raw)
    except UnicodeEncodeError:
        raise ManifestError(f"{where}: 'path' {_quote(raw)} is not valid Unicode") from None
    try:
        rel = safe_relpath(raw)
    except ManifestError:
        raise ManifestError(f"{where}: 'path' {_quote(raw)} does not name a file") from None
    fs_path = raw.replace("\\", "/") if os.sep == "/" else raw
    full = os.path.abspath(os.path.join(manifest.parent, fs_path))
    extra = {k: v for k, v in record.items() if k not in _RESERVED}
    if "group" in extra and _name(where, "group", extra["group"]) is None:
        extra["group"] = None  # blank: no group
    row = ManifestRow(
        path=full,
        rel=rel,
        label=_name(where, "label", record.get("label")),
        split=_name(where, "split", record.get("split")),
        extra=extra,
        given=raw,
    )
    return raw, row


#: ``(path as written, row, line number)`` of one manifest line.
_Listed = tuple[str, ManifestRow, int]


def _rows_from_csv(p: Path) -> list[_Listed]:
    out: list[_Listed] = []
    reader = csv.DictReader(io.StringIO(_read_text(p), newline=""))
    try:
        header = reader.fieldnames or []
        if "path" not in header:
            cols = ", ".join(header) if header else "none"
            raise ManifestError(f"{p}: no 'path' column in the header (columns: {cols})")
        _check_columns(f"{p}:1", header)
        for record in reader:
            where = f"{p}:{reader.line_num}"
            if None in record:
                raise ManifestError(f"{where}: more fields than the header has columns")
            clean = {k: (None if v is None or v == "" else v) for k, v in record.items()}
            out.append((*_make_row(p, where, clean), reader.line_num))
    except csv.Error as e:
        raise ManifestError(f"{p}:{reader.line_num}: malformed CSV ({e})") from None
    return out


def _rows_from_jsonl(p: Path) -> list[_Listed]:
    out: list[_Listed] = []
    for lineno, obj in _iter_jsonl(p):
        _check_columns(f"{p}:{lineno}", obj)
        out.append((*_make_row(p, f"{p}:{lineno}", obj), lineno))
    return out


def _same_file_key(path: str, real_dirs: dict[str, str]) -> str:
    """``os.path.realpath(path)``, resolving each folder once (a manifest lists many files of
    few folders) and the file itself only when it is a symlink."""
    folder, name = os.path.split(path)
    if folder not in real_dirs:
        real_dirs[folder] = os.path.realpath(folder)
    full = os.path.join(real_dirs[folder], name)
    return os.path.normcase(os.path.realpath(full) if os.path.islink(full) else full)


def _drop_repeats(p: Path, listed: list[_Listed]) -> list[tuple[str, ManifestRow]]:
    """One row per file (the same file after resolving ``..`` and symlinks). A repeat with
    another label, split or group is an error naming both lines; an identical repeat is
    dropped with a :class:`~vidaug.errors.ManifestWarning`."""
    first: dict[str, _Listed] = {}
    real_dirs: dict[str, str] = {}
    out: list[tuple[str, ManifestRow]] = []
    for raw, row, line in listed:
        key = _same_file_key(row.path, real_dirs)
        if key not in first:
            first[key] = (raw, row, line)
            out.append((raw, row))
            continue
        raw0, row0, line0 = first[key]
        for column in NAME_COLUMNS:
            a, b = (_opt_str(r.extra.get("group") if column == "group" else getattr(r, column))
                    for r in (row0, row))  # fmt: skip
            if a != b:
                show = [_quote(v) if v is not None else f"no {column}" for v in (a, b)]
                raise ManifestError(
                    f"{p}:{line}: {_quote(raw)} is the same file as line {line0} "
                    f"({_quote(raw0)}) with another {column} ({show[1]}, not {show[0]}); "
                    "list each file once"
                )
        warnings.warn(
            f"{p}:{line}: {_quote(raw)} repeats line {line0} (the same file, the same label): "
            "kept once",
            ManifestWarning,
            stacklevel=3,  # the caller of load_rows
        )
    return out


def _shorten_absolute(rows: list[tuple[str, ManifestRow]]) -> list[tuple[str, ManifestRow]]:
    """Rows whose manifest path is absolute get ``rel`` from the deepest folder that holds
    all of them, that folder's name included (``/mnt/x/data/cam1/a.mp4`` and
    ``/mnt/x/data/cam2/b.mp4`` → ``data/cam1/a.mp4``, ``data/cam2/b.mp4``), not the whole
    absolute path, so outputs do not nest it."""
    absolute = [i for i, (raw, _r) in enumerate(rows) if os.path.isabs(raw)]
    if not absolute:
        return rows
    dirs = [os.path.dirname(rows[i][1].path) for i in absolute]
    try:
        common = os.path.dirname(os.path.commonpath(dirs))
    except ValueError:  # different drives: keep the sanitised full paths
        return rows
    out = list(rows)
    for i in absolute:
        raw, row = rows[i]
        rel = safe_relpath(os.path.relpath(row.path, common))
        out[i] = (raw, replace(row, rel=rel))
    return out


def _unique(rows: list[tuple[str, ManifestRow]]) -> list[ManifestRow]:
    """Sort by ``rel`` and make ``rel`` unique: later duplicates get ``__<sha1 of the path>``."""
    rows = sorted(_shorten_absolute(rows), key=lambda item: (item[1].rel, item[0]))
    taken: set[str] = set()
    out: list[ManifestRow] = []
    for raw, row in rows:
        rel = row.rel
        if rel in taken:
            digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()
            pp = PurePosixPath(rel)
            for n in range(8, 41, 4):
                rel = str(pp.with_name(f"{pp.stem}__{digest[:n]}{pp.suffix}"))
                if rel not in taken:
                    break
            else:  # pragma: no cover - a sha1 collision
                raise ManifestError(f"{raw!r}: cannot give this clip a unique name")
            row = replace(row, rel=rel)
        taken.add(rel)
        out.append(row)
    return sorted(out, key=lambda r: r.rel)


def load_rows(source: str | os.PathLike) -> list[ManifestRow]:
    """Turn an input into manifest rows, sorted by ``rel``.

    * a video file → one unlabeled row (``rel`` = its name);
    * a directory → every video below it (hidden files and folders skipped); a file in a
      first-level subfolder is labeled by that folder (class folders → labels), a file in the
      root is unlabeled; ``rel`` is the path relative to the directory;
    * a ``.csv`` (header with ``path``, optional ``label``, ``split``, other columns → ``extra``)
      or ``.jsonl`` manifest (objects with ``path`` …): paths are relative to the manifest's
      folder (absolute ones allowed); ``rel`` is :func:`safe_relpath` of the path as written;
      an empty label is None. A manifest is UTF-8 (a BOM is fine) and a JSONL one is strict
      JSON; ``label``, ``split`` and ``group`` (:data:`NAME_COLUMNS`) may become folder names,
      so each must be a name: one path segment (no ``/``, ``\\``, NUL or other control
      character, not ``.`` or ``..``, at most 255 bytes).

    A listed file that does not exist is not an error here (the reader reports it per clip).
    A file listed twice (the same file after resolving ``..`` and symlinks) with the same
    label, split and group is kept once, with a :class:`~vidaug.errors.ManifestWarning`.
    Two different files with the same ``rel`` are told apart by appending ``__<first 8 hex of
    sha1 of the path as written>`` to the stem of the later ones.

    Raises:
        ManifestError: the source is missing or of an unsupported type, a folder has no video,
            a manifest has no ``path`` column, no rows, an empty ``path`` or one with a NUL
            byte, a value of ``label`` / ``split`` / ``group`` that is not a name, a file listed
            twice with another label, split or group, bytes that are not UTF-8, a line that
            is not strict JSON (``NaN``, ``Infinity``, ``1e999``). The message names
            ``file:line`` and the column.
    """
    p = Path(source)
    if not p.exists():
        raise ManifestError(f"{source}: no such file or directory")
    if p.is_dir():
        return _unique(_rows_from_dir(p))
    suffix = p.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return [ManifestRow(path=os.path.abspath(p), rel=safe_relpath(p.name), given=str(source))]
    if suffix == ".csv":
        listed = _rows_from_csv(p)
    elif suffix == ".jsonl":
        listed = _rows_from_jsonl(p)
    else:
        raise ManifestError(f"{source}: not a video, directory, .csv or .jsonl manifest")
    if not listed:
        raise ManifestError(f"{source}: the manifest has no rows")
    return _unique(_drop_repeats(p, listed))


def require_labels(rows: Sequence[ManifestRow], purpose: str = "training") -> None:
    """Raise one clear error when any row has no label.

    Raises:
        VidaugError: ``N clips have no label (e.g. …): <purpose> needs class subfolders or a
            label column``.
    """
    unlabeled = [r.rel for r in rows if r.label is None]
    if unlabeled:
        raise VidaugError(
            f"{len(unlabeled)} clips have no label (e.g. {unlabeled[0]}): {purpose} needs class "
            "subfolders or a label column"
        )


def class_names(rows: Iterable[ManifestRow]) -> list[str]:
    """The sorted, distinct labels of the labelled ``rows``: the default class order of every
    classifier (an unlabelled row is no class).

    Args:
        rows: manifest rows, labelled or not.

    Returns:
        The classes, sorted.
    """
    return sorted({str(r.label) for r in rows if r.label is not None})


def require_classes(rows: Sequence[ManifestRow]) -> list[str]:
    """The classes of the training ``rows``, when there are at least 2 (checked before any
    model starts).

    Args:
        rows: the labelled training rows.

    Returns:
        :func:`class_names` of ``rows``.

    Raises:
        UsageError: fewer than 2 classes.
    """
    names = class_names(rows)
    if len(names) < 2:
        raise UsageError(f"training needs at least 2 classes, the train split has {names}")
    return names
