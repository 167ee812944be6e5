"""Reading boxes / tracks files: rows ``frame, track_id, x1, y1, x2, y2`` of a clip."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.errors import VidaugError

__all__ = ["load_boxes"]

_BOX_KEYS = ("frame", "track_id", "x1", "y1", "x2", "y2")


def _box_row(values: Any, where: str) -> list[float]:
    if isinstance(values, Mapping):
        missing = [k for k in _BOX_KEYS if k not in values]
        if missing:
            raise VidaugError(
                f"{where}: missing {', '.join(missing)} (need {', '.join(_BOX_KEYS)})"
            )
        values = [values[k] for k in _BOX_KEYS]
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != 6:
        raise VidaugError(f"{where}: a box needs 6 values {', '.join(_BOX_KEYS)}, got {values!r}")
    try:
        row = [float(v) for v in values]
    except (TypeError, ValueError):
        raise VidaugError(f"{where}: box values must be numbers, got {values!r}") from None
    if not all(math.isfinite(v) for v in row):
        raise VidaugError(f"{where}: box values must be finite, got {values!r}")
    if row[0] < 0 or row[0] != int(row[0]):
        raise VidaugError(f"{where}: frame must be an integer ≥ 0, got {values[0]!r}")
    if row[4] < row[2] or row[5] < row[3]:
        raise VidaugError(f"{where}: need x1 ≤ x2 and y1 ≤ y2, got {values!r}")
    return row


def load_boxes(path: str | os.PathLike) -> np.ndarray:
    """Read boxes / tracks: rows ``frame, track_id, x1, y1, x2, y2`` in pixels of the clip.

    Formats by suffix: ``.csv`` (header optional), ``.json`` (a list of 6-number lists or of
    objects with those keys, or ``{"boxes": [...]}``) or ``.jsonl`` (one row or object a line).

    Returns:
        ``(N, 6)`` float64.

    Raises:
        VidaugError: missing or unreadable file, or a malformed row (the message names it).
    """
    p = Path(path)
    if not p.is_file():
        raise VidaugError(f"{p}: boxes file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise VidaugError(f"{p}: cannot read boxes: {e}") from None
    suffix = p.suffix.lower()
    rows: list[list[float]] = []
    if suffix == ".csv":
        for i, rec in enumerate(csv.reader(text.splitlines()), 1):
            if not rec or all(not c.strip() for c in rec):
                continue
            if i == 1 and rec[0].strip().lower() == "frame":
                cols = [c.strip().lower() for c in rec]
                if tuple(cols[:6]) != _BOX_KEYS:
                    raise VidaugError(f"{p}: header must start with {','.join(_BOX_KEYS)}")
                continue
            rows.append(_box_row(rec[:6] if len(rec) >= 6 else rec, f"{p}: line {i}"))
    elif suffix in (".json", ".jsonl"):
        try:
            if suffix == ".json":
                data = json.loads(text)
                if isinstance(data, Mapping):
                    data = data.get("boxes")
                if not isinstance(data, list):
                    raise VidaugError(f"{p}: expected a list of boxes (or {{'boxes': [...]}})")
                items = [(f"{p}: boxes[{i}]", r) for i, r in enumerate(data)]
            else:
                items = [
                    (f"{p}: line {i}", json.loads(line))
                    for i, line in enumerate(text.splitlines(), 1)
                    if line.strip()
                ]
        except json.JSONDecodeError as e:
            raise VidaugError(f"{p}: invalid JSON (line {e.lineno}: {e.msg})") from None
        rows = [_box_row(r, where) for where, r in items]
    else:
        raise VidaugError(f"{p}: boxes must be a .csv, .json or .jsonl file")
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)
