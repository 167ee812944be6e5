"""Label errors from out-of-fold predicted probabilities (confident learning).

Anchor: Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels" (JAIR 2021) and cleanlab's ``find_label_issues``; written here from the paper's rules,
for the shapes vidaug has (a few thousand clips, a handful of classes).

Inputs are ``probs`` (``N × K``), each clip's probability of every class from a model that did
*not* train on it (nor on its duplicates, nor on its source video: see
:func:`vidaug.pipelines.label_error_probs`), and the given labels.

1. **Per-class thresholds** ``t_j`` = the mean of ``p_j`` over the clips labelled ``j`` (the
   class's average self-confidence).
2. **Confident label** of a clip: among the classes whose probability reaches their threshold
   (``p_j ≥ t_j``), the most probable; none when no class does.
3. A clip is a **label error** when its confident label exists and differs from the given one
   (an off-diagonal entry of the confident joint; cleanlab's ``filter_by="confident_learning"``).
   ``suggested`` is the confident label.
4. **Score** (``label_error_score`` in [0, 1], higher = more likely wrong): ``1 − p(given)``,
   cleanlab's ``self_confidence`` ranking; the gallery and the tables list errors worst first.

**Conflicting duplicates** (one piece of footage under two labels): the probabilities of the
members of a duplicate group are averaged, the group's label is the class of the highest mean
probability, and every member labelled otherwise is a label error (``conflict`` names the
group's first member), whatever its own confidence; copies are resolved by the data, never by
which copy came first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass as pydantic_dataclass

from vidaug.errors import VidaugError
from vidaug.mining._result import CheckResult

__all__ = ["LabelErrorConfig", "LabelErrorResult", "find_label_errors"]


@pydantic_dataclass(frozen=True, config=ConfigDict(allow_inf_nan=False))
class LabelErrorConfig:
    """Settings of :func:`find_label_errors`, recorded with its results.

    Attributes:
        folds: folds of the out-of-fold probabilities (recorded; the caller computed them).
        model: the workflow that gave the probabilities (recorded).
    """

    folds: int = 5
    model: str = ""


@dataclass
class LabelErrorResult(CheckResult):
    """Output of :func:`find_label_errors` (the :class:`~vidaug.mining.CheckResult` shape).

    :meth:`table` has one row per clip in the order given: ``id``, ``label`` (given),
    ``suggested`` (the confident label, or the given one), ``is_label_error``,
    ``label_error_score`` (``1 − p(given)``), ``p_given``, ``p_suggested``, ``conflict``
    (first member of a duplicate group with several labels, or None). :meth:`errors` lists the
    label errors worst first. :meth:`summary`: ``clips``, ``label_errors``, ``conflicts``,
    ``thresholds``, ``config``.

    Attributes:
        thresholds: class → its threshold ``t_j``.
    """

    kind: ClassVar[str] = "label_errors"
    config: LabelErrorConfig
    thresholds: dict[str, float] = field(default_factory=dict)
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def errors(self) -> list[dict[str, Any]]:
        """The label errors, highest ``label_error_score`` first (ties by clip order)."""
        rows = [r for r in self.table() if r["is_label_error"]]
        return sorted(rows, key=lambda r: -r["label_error_score"])

    def counts(self) -> dict[str, Any]:
        return {
            "label_errors": sum(r["is_label_error"] for r in self._rows),
            "conflicts": sum(r["conflict"] is not None for r in self._rows),
            "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
        }


def _check(probs: np.ndarray, labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    if len(set(classes)) < 2:
        raise VidaugError("label errors need at least 2 classes")
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape != (len(labels), len(classes)):
        raise VidaugError(
            f"probs must be (clips, classes) = ({len(labels)}, {len(classes)}), got {p.shape}"
        )
    unknown = sorted({str(x) for x in labels} - {str(c) for c in classes})
    if unknown:
        raise VidaugError(f"labels not among the classes: {unknown}")
    if not np.isfinite(p).all():
        raise VidaugError("probs must be finite (drop the clips that have none)")
    return p


def class_thresholds(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``t_j`` = mean ``p_j`` over the clips labelled ``j`` (∞ for a class with no clip)."""
    k = p.shape[1]
    return np.array([p[y == j, j].mean() if (y == j).any() else np.inf for j in range(k)])


def confident_labels(p: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Each clip's most probable class among those at or above their threshold; -1 for none."""
    above = p >= thresholds[None, :]
    masked = np.where(above, p, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(above.any(axis=1), best, -1)


def _resolve_conflicts(
    p: np.ndarray, y: np.ndarray, groups: Sequence[Sequence[int]]
) -> tuple[np.ndarray, list[int | None]]:
    """Group label per member (``-1`` outside a conflicting group) and the conflict's anchor."""
    forced = np.full(len(y), -1)
    anchor: list[int | None] = [None] * len(y)
    for g in groups:
        members = np.asarray(list(g), dtype=np.int64)
        if len(members) < 2 or len(set(y[members].tolist())) < 2:
            continue
        winner = int(p[members].mean(axis=0).argmax())
        forced[members] = winner
        for m in members:
            anchor[int(m)] = int(members[0])
    return forced, anchor


def find_label_errors(
    probs: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    duplicate_groups: Sequence[Sequence[int]] = (),
    config: LabelErrorConfig | None = None,
) -> LabelErrorResult:
    """Find clips whose given label is likely wrong (see the module doc).

    Args:
        probs: ``(N, K)`` out-of-fold probabilities, columns in ``classes`` order.
        labels: the given label of each clip.
        classes: the class names.
        ids: clip names for the table (default ``"0"``, ``"1"``, …).
        duplicate_groups: positions of clips that show the same footage; a group whose members
            carry different labels is resolved by its mean probabilities.
        config: recorded with the results.

    Returns:
        A :class:`LabelErrorResult`.

    Raises:
        VidaugError: shapes disagree, fewer than 2 classes, an unknown label, non-finite probs.
    """
    cls = [str(c) for c in classes]
    p = _check(probs, labels, cls)
    lookup = {c: i for i, c in enumerate(cls)}
    y = np.array([lookup[str(x)] for x in labels], dtype=np.int64)
    names = [str(i) for i in range(len(y))] if ids is None else [str(i) for i in ids]
    t = class_thresholds(p, y)
    conf = confident_labels(p, t)
    forced, anchor = _resolve_conflicts(p, y, duplicate_groups)
    suggested = np.where(forced >= 0, forced, np.where(conf >= 0, conf, y))
    rows = []
    for i in range(len(y)):
        s = int(suggested[i])
        rows.append({
            "id": names[i],
            "label": cls[y[i]],
            "suggested": cls[s],
            "is_label_error": bool(s != y[i]),
            "label_error_score": round(float(1.0 - p[i, y[i]]), 6),
            "p_given": round(float(p[i, y[i]]), 6),
            "p_suggested": round(float(p[i, s]), 6),
            "conflict": None if anchor[i] is None else names[anchor[i]],
        })  # fmt: skip
    return LabelErrorResult(
        config=config or LabelErrorConfig(),
        thresholds={c: float(t[j]) for j, c in enumerate(cls)},
        _rows=rows,
    )
