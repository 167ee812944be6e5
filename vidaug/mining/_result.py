"""One output shape for the mining checks (docs/ARCHITECTURE.md), as cleanlab's issue managers have.

Every check (:func:`~vidaug.mining.find_duplicates`, :func:`~vidaug.mining.score_hardness`)
returns a :class:`CheckResult`: a per-clip :meth:`~CheckResult.table` in clip order with
``is_<check>`` / ``<check>_score`` / evidence columns, a :meth:`~CheckResult.summary` of counts,
and the frozen config object that ran (:attr:`config`). The report, ``curate`` and the CLI read
this shape only.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["CheckResult"]


class CheckResult:
    """Base of the mining checks' results; subclasses are dataclasses with ``config`` and ``_rows``.

    Attributes:
        kind: the check's name (``"dedup"``, ``"hard"``); the saved results' kind.
        config: the frozen dataclass of settings that ran, whole.
    """

    kind: ClassVar[str]
    config: Any
    _rows: list[dict[str, Any]]

    def table(self) -> list[dict[str, Any]]:
        """One row per clip, in clip order (a copy: editing it leaves the result intact)."""
        return copy.deepcopy(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def counts(self) -> dict[str, Any]:
        """The check's counts (subclasses); :meth:`summary` adds the config."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Counts (``clips`` first) and ``config``: the settings that ran, as a dict."""
        return {"clips": len(self._rows), **self.counts(), "config": asdict(self.config)}

    def to_jsonl(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` as JSON lines, atomically (temp file + ``os.replace``).

        Returns:
            ``path`` as a :class:`~pathlib.Path`.
        """
        from vidaug.datasets import write_jsonl

        return write_jsonl(path, self._rows)
