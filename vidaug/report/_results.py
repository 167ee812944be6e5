"""Saved mining results: the per-clip JSONL table plus a ``.meta.json`` sidecar.

``vidaug dedup --out dups.jsonl`` writes the check table (docs/ARCHITECTURE.md) (one row per clip) to
``dups.jsonl`` exactly as before, and beside it ``dups.meta.json``: what ran (kind, thresholds,
model, index type, time taken), the summary counts, the duplicate pairs and groups, and the clip
table (id, path, label, split, size) that a report needs for labels and thumbnails. Keeping the
metadata out of the JSONL keeps the table one-row-per-clip for every other consumer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vidaug._json import to_jsonable
from vidaug._version import __version__
from vidaug.errors import VidaugError

__all__ = [
    "RESULTS_FORMAT",
    "Results",
    "check_results",
    "load_results",
    "meta_path",
    "save_results",
]

RESULTS_FORMAT = 1
KINDS = ("dedup", "hard", "label_errors")

#: Clip-table keys carried into the sidecar (the index has more: sizes, mtimes, sampling).
_CLIP_KEYS = ("id", "path", "label", "split", "group", "source_frames", "width", "height", "fps")


def meta_path(results: str | os.PathLike) -> Path:
    """The sidecar of a results file: ``dups.jsonl`` → ``dups.meta.json``."""
    p = Path(results)
    return p.with_name(p.stem + ".meta.json") if p.suffix else p.with_name(p.name + ".meta.json")


@dataclass
class Results:
    """Rows of one mining check and what produced them.

    Attributes:
        kind: ``"dedup"``, ``"hard"`` or ``"label_errors"``.
        rows: the per-clip table in clip order (:meth:`~vidaug.mining.CheckResult.table`).
        meta: ``format``, ``kind``, ``vidaug``, ``created``, ``source``, ``model``,
            ``index_kind``, ``elapsed_s``, ``summary`` (counts), ``thresholds`` (the config that
            ran, whole), ``clips`` (id, path, label, split, …); dedup adds ``pairs`` and
            ``groups``. Missing keys are unknown (e.g. results saved without a sidecar).
    """

    kind: str
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def clips(self) -> list[dict[str, Any]]:
        return list(self.meta.get("clips") or [])


def _clip_table(index: Any) -> list[dict[str, Any]]:
    if index is None:
        return []
    return [{k: c.get(k) for k in _CLIP_KEYS if c.get(k) is not None} for c in index.clips]


def _base(kind: str, index: Any, source: Any, elapsed_s: float | None) -> dict[str, Any]:
    return {
        "format": RESULTS_FORMAT,
        "kind": kind,
        "vidaug": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": None if source is None else str(source),
        "model": getattr(index, "model_id", None),
        "index_kind": getattr(index, "kind", None),
        "dims": getattr(index, "dims", None),
        "elapsed_s": None if elapsed_s is None else round(float(elapsed_s), 3),
        "clips": _clip_table(index),
    }


def check_results(
    result: Any, index: Any = None, *, source: Any = None, elapsed_s: float | None = None
) -> Results:
    """Wrap a mining check's result (:class:`~vidaug.mining.CheckResult`: a
    :class:`~vidaug.mining.DedupResult` or :class:`~vidaug.mining.HardnessResult`) and the index
    it came from as :class:`Results`: its clip-order table, summary counts, the config that ran
    (``thresholds``), and for dedup its pairs and groups."""
    meta = _base(result.kind, index, source, elapsed_s)
    summary = result.summary()
    meta.update(thresholds=summary.pop("config"), summary=summary)
    if result.kind == "dedup":
        meta.update(pairs=list(result.pairs), groups=[list(g) for g in result.groups])
    return Results(result.kind, result.table(), meta)


def save_results(path: str | os.PathLike, results: Results) -> tuple[Path, Path]:
    """Write the rows (JSONL) and the sidecar (:func:`meta_path`), each atomically.

    Returns:
        ``(rows_path, meta_path)``.
    """
    from vidaug.datasets import atomic_write_text, write_jsonl

    rows_path = write_jsonl(path, results.rows)
    side = meta_path(rows_path)
    text = json.dumps(to_jsonable(results.meta), ensure_ascii=False, indent=1, default=str)
    atomic_write_text(side, text + "\n")
    return rows_path, side


def _infer_kind(rows: list[dict[str, Any]], where: Path) -> str:
    if rows and all("is_duplicate" in r for r in rows):
        return "dedup"
    if rows and all("hard_score" in r for r in rows):
        return "hard"
    if rows and all("label_error_score" in r for r in rows):
        return "label_errors"
    raise VidaugError(
        f"{where}: not a `vidaug dedup`, `vidaug mine-hard` or `vidaug curate` label-error "
        "results file (rows need 'is_duplicate', 'hard_score' or 'label_error_score')"
    )


def load_results(path: str | os.PathLike) -> Results:
    """Read results written by ``vidaug dedup / mine-hard --out`` (with their sidecar if any).

    Without a sidecar the kind is inferred from the rows, and the report lacks the model,
    thresholds, pairs and clip paths (give ``clips=`` to :func:`write_report` for thumbnails).

    Raises:
        VidaugError: missing, empty or malformed file, or rows of another kind.
    """
    from vidaug.datasets import read_jsonl
    from vidaug.errors import ManifestError

    p = Path(path)
    if not p.is_file():
        raise VidaugError(f"{p}: results file not found")
    try:
        rows = read_jsonl(p)
    except ManifestError as e:
        raise VidaugError(str(e)) from None
    if not rows:
        raise VidaugError(f"{p}: no rows")
    if not all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in rows):
        raise VidaugError(f"{p}: every row needs a string 'id'")
    kind = _infer_kind(rows, p)
    meta: dict[str, Any] = {}
    side = meta_path(p)
    if side.is_file():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise VidaugError(f"{side}: unreadable results metadata ({e})") from None
        if not isinstance(meta, dict) or meta.get("kind") != kind:
            raise VidaugError(f"{side}: metadata of another kind of results than {p}")
    meta.setdefault("kind", kind)
    meta.setdefault("source", str(p))
    return Results(kind, rows, meta)
